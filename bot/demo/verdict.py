"""The demo's verdict, read from the simulators (not from SeatSync's database): is every linked
resource billed at its marketplace count, and did any PSA write repeat one already made?

A write is a duplicate when the service already stood at its target when the write landed: posting
+7 twice shows as a second write whose `before` equals the target. A write to a service SeatSync did
not link counts too — SeatSync must never have made it. Services are known by their external ids, as
SeatSync reads them (an Autotask service bundle is "bundle-<id>"), and a logged write is named the same
way by its PSA's `DemoSupport.written_service`: Autotask's bundle 12 is not its contract service 12.

Units are judged *as scheduled*: a PSA that takes future-dated changes (Autotask) holds a decrease dated at the
next period's start at once but bills it only from that day on, so the verdict counts the changes it holds
(`DemoSupport.scheduled_units`, a write's `before_as_scheduled`). With today's units alone, a decrease posted twice
ahead of its day looked like two first writes and a service still to level, never like a repeat.

One difference is not drift: a change SeatSync holds unsent because it is dated after the end of the PSA contract it
would go on (a decrease on an annual term is dated at the term's anniversary, and the contract may end before it:
Autotask refuses an adjustment dated outside its contract, so posting waits until the contract runs past that day,
renewed, or the link moves; bot/sync/posting.py). The run names each such service apart (`Verdict.waiting`), with
the change and the contract's end, and counts it out of `out_of_sync`: the difference is read from the simulators,
its explanation is SeatSync's own open intent (`WaitingChange`), and it explains only a service whose units as
scheduled go exactly to the marketplace's count by that intent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.db.models import SubscriptionStatus
from bot.demo.workspace import demo_support
from bot.domain.levelling import target_units
from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine, WriteRecord

_STATUS = {"active": SubscriptionStatus.active, "suspended": SubscriptionStatus.suspended,
           "cancelled": SubscriptionStatus.cancelled, "expired": SubscriptionStatus.expired}


@dataclass(frozen=True)
class WaitingChange:
    """An open intent SeatSync does not post yet: dated after the end of its service's PSA contract."""

    units_to: int
    effective_date: date
    contract_end: date


@dataclass(frozen=True)
class LinkedPair:
    subscription_external_id: str
    resource_external_id: str
    service_external_id: str
    marketplace: str | None = None  # the source of the linked resource (None: the run's one marketplace)


@dataclass
class TargetBook:
    """The target of every linked service on every business day of the run."""

    by_day: dict[date, dict[str, int]] = field(default_factory=dict)  # day -> service external id -> target

    def record(self, world: SandboxWorld, marketplace: str, pairs: list[LinkedPair]) -> None:
        day: dict[str, int] = {}
        for pair in pairs:
            target = line_target(world, pair.marketplace or marketplace, pair.subscription_external_id,
                                 pair.resource_external_id)
            if target is not None:
                day[pair.service_external_id] = target
        self.by_day[world.today] = day

    def target(self, day: date, service_external_id: str) -> int | None:
        known = [d for d in self.by_day if d <= day]
        return self.by_day[max(known)].get(service_external_id) if known else None


def find_line(world: SandboxWorld, marketplace: str, subscription_id: str,
              resource_id: str) -> tuple[Subscription, SubscriptionLine] | None:
    """The world's line behind a linked resource, by the ids the marketplace shows (its vendor knows how)."""
    return demo_support(marketplace).find_line(world, subscription_id, resource_id)  # type: ignore[misc]


def line_target(world: SandboxWorld, marketplace: str, subscription_id: str, resource_id: str) -> int | None:
    """What the PSA should bill for a linked resource now, by the simulated world (None: not found)."""
    support = demo_support(marketplace)
    if support.line_target is not None:
        return support.line_target(world, subscription_id, resource_id)
    found = find_line(world, marketplace, subscription_id, resource_id)
    if found is None:
        return None
    subscription, line = found
    return target_units(marketplace_total=line.ordered, subscription_status=_STATUS[subscription.status])


def psa_units(world: SandboxWorld, psa: str, service_external_id: str) -> int | None:
    """The units a service bills as scheduled: a PSA holding future-dated changes counts them (see the docstring)."""
    support = demo_support(psa)
    units = support.scheduled_units or support.service_units
    return units(world, service_external_id)  # type: ignore[misc]


def written_service(psa: str, write: WriteRecord) -> str:
    """The external id of the service a logged write landed on."""
    named = demo_support(psa).written_service
    return str(write.service_id) if named is None else named(write)


@dataclass
class Verdict:
    linked: int
    in_sync: bool
    out_of_sync: list[str]
    psa_writes: int
    duplicate_writes: int
    bundle_writes: int = 0  # of psa_writes, those to an Autotask service bundle
    waiting: list[str] = field(default_factory=list)  # differences explained by a change waiting past its contract


def judge(world: SandboxWorld, *, marketplace: str, psa: str, pairs: list[LinkedPair], book: TargetBook,
          first_write: int = 0, waiting: Mapping[str, WaitingChange] | None = None) -> Verdict:
    """`waiting`: SeatSync's open intents dated after their contract's end, by service external id."""
    out: list[str] = []
    explained: list[str] = []
    for pair in pairs:
        target = line_target(world, pair.marketplace or marketplace, pair.subscription_external_id,
                             pair.resource_external_id)
        units = psa_units(world, psa, pair.service_external_id)
        if target is None or units is None:
            out.append(f"{pair}: missing on one side")
            continue
        if units == target:
            continue
        difference = f"service {pair.service_external_id}: PSA {units}, marketplace {target}"
        held = (waiting or {}).get(pair.service_external_id)
        if held is not None and held.units_to == target and held.effective_date > held.contract_end:
            explained.append(f"{difference}: {units} -> {target} is dated {held.effective_date}, after its "
                             f"contract's end ({held.contract_end}); held until the contract runs past that day")
        else:
            out.append(difference)
    simulator = demo_support(psa).simulator
    writes = [w for w in world.write_log[first_write:] if w.system == simulator]
    duplicates = 0
    for write in writes:
        target = book.target(write.day, written_service(psa, write))
        before = write.before if write.before_as_scheduled is None else write.before_as_scheduled
        if target is None or before == target:
            duplicates += 1
    return Verdict(linked=len(pairs), in_sync=not out, out_of_sync=out, psa_writes=len(writes),
                   duplicate_writes=duplicates, bundle_writes=sum(w.kind == "bundle" for w in writes),
                   waiting=explained)
