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
from decimal import Decimal

from bot.db.models import SubscriptionStatus
from bot.domain.levelling import target_units
from bot.sandbox.app import Sandbox
from bot.sandbox.autotask_units import settle_units


def set_units(world, psa: str, service_id: int, units: int) -> None:
    if psa == "autotask":
        world.autotask_contract_services[service_id].units = units
    elif psa == "connectwise":
        world.connectwise_additions[service_id].quantity = units
    else:
        world.halopsa.line(service_id).quantity = Decimal(units)


def level_and_pair(sandbox: Sandbox, psa: str, marketplace: str) -> list[dict]:
    world = sandbox.world
    settle_units(world)
    if marketplace == "pax8":  # a book of its own: the PSAs bill each subscription (autotask, connectwise only)
        book, pairs = world.pax8, []
        for subscription_id, services in book.truth.service_for_subscription.items():
            subscription = book.subscriptions.get(subscription_id)
            if psa not in services or subscription is None:
                continue
            set_units(world, psa, services[psa], subscription.now.billable_quantity)
            pairs.append({"subscription": subscription_id, "resource": subscription.product_id,
                          "service": str(services[psa])})
        return pairs
    pairs = []
    for (subscription_id, resource_id), services in world.truth.service_for_line.items():
        service_id = services.get(psa)
        line = world.line(subscription_id, resource_id)
        if service_id is None or line is None:
            continue
        subscription = world.subscriptions[subscription_id]
        status = SubscriptionStatus(subscription.status)
        target = target_units(marketplace_total=line.ordered, subscription_status=status)
        if psa != "halopsa" or world.halopsa.line(service_id) is not None:
            set_units(world, psa, service_id, target)
        pairs.append({
            "subscription": str(subscription_id) if marketplace == "odin" else subscription.cmp_id,
            "resource": str(resource_id) if marketplace == "odin" else world.products[resource_id].mpn,
            "service": str(service_id), "subscription_id": subscription_id, "resource_id": resource_id,
        })
    return pairs


def world_sizes(world) -> dict[str, int]:
    """What the APIs without a change filter must page through every cycle (their paging floors)."""
    return {"pax8_companies": len(world.pax8.companies), "pax8_subscriptions": len(world.pax8.subscriptions),
            "halopsa_clients": len(world.halopsa.clients), "halopsa_contracts": len(world.halopsa.contracts),
            "halopsa_recurring_invoices": len(world.halopsa.recurring_invoices)}


async def main(args: argparse.Namespace) -> None:
    sandbox = Sandbox.generate(seed=args.seed, scale="large", today=date.today(),
                               bill_pax8_in_psas=args.marketplace == "pax8")
    pairs = level_and_pair(sandbox, args.psa, args.marketplace)
    await sandbox.start()
    print(json.dumps({**sandbox.config(), "linked_pairs": pairs, "world_sizes": world_sizes(sandbox.world)}),
          flush=True)
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
