"""A `large` sandbox in its own process for the benchmarks, with the chosen PSA already level with the
marketplace on every generator-paired line (so the measured cycles start from a settled MSP).

Prints one JSON line — the sandbox config plus `linked_pairs` — then serves until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from datetime import date

from bot.db.models import SubscriptionStatus
from bot.domain.levelling import target_units
from bot.sandbox.app import Sandbox
from bot.sandbox.autotask_units import settle_units


def level_and_pair(sandbox: Sandbox, psa: str, marketplace: str) -> list[dict]:
    world = sandbox.world
    settle_units(world)
    pairs = []
    for (subscription_id, resource_id), services in world.truth.service_for_line.items():
        service_id = services.get(psa)
        line = world.line(subscription_id, resource_id)
        if service_id is None or line is None:
            continue
        subscription = world.subscriptions[subscription_id]
        status = SubscriptionStatus(subscription.status)
        target = target_units(marketplace_total=line.ordered, subscription_status=status)
        if psa == "autotask":
            world.autotask_contract_services[service_id].units = target
        else:
            world.connectwise_additions[service_id].quantity = target
        pairs.append({
            "subscription": str(subscription_id) if marketplace == "odin" else subscription.cmp_id,
            "resource": str(resource_id) if marketplace == "odin" else world.products[resource_id].mpn,
            "service": str(service_id), "subscription_id": subscription_id, "resource_id": resource_id,
        })
    return pairs


async def main(args: argparse.Namespace) -> None:
    sandbox = Sandbox.generate(seed=args.seed, scale="large", today=date.today())
    pairs = level_and_pair(sandbox, args.psa, args.marketplace)
    await sandbox.start()
    print(json.dumps({**sandbox.config(), "linked_pairs": pairs}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await sandbox.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--psa", default="autotask")
    parser.add_argument("--marketplace", default="odin")
    asyncio.run(main(parser.parse_args()))
