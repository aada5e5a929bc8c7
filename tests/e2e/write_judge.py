"""The verdict on a run of SeatSync, from the PSA simulator's write log and the marketplace's count history alone
(plus SeatSync's own records, checked against them).

Definitions, per linked service S fed by marketplace line L:
- target(L, t): what S must bill at time t — the line's count, 0 once its subscription is cancelled or expired
  (`bot.domain.levelling.target_units`), as the sandbox's count history says it was at t.
- A write W (service S, before b, after a, at t, key k) is a **duplicate** when
  (a) it repeats an intent: another, earlier write carried the same idempotency key k (each logged write changed
      the units, so the same key applied twice means one intent was sent twice); or
  (b) it was never asked for: a is not target(L, t') for any t' in W's decision window [t0, t] — it moves S away
      from every count the marketplace showed while the write could have been decided. t0 is when the SeatSync
      process that sent W started: a process decides on what it read in its own life (every one here reads the
      marketplace before it posts), and a write may reach the PSA up to `grace` after its sender died, so t0 is the
      start of the earliest process alive in [t - grace, t]. A write planned before a kill and posted at its old
      target after the count moved back is a duplicate by (b): a stale target.
- A write the judge **cannot explain**: to a service nobody linked; not following the previous write of S (b is
  not the units S had: someone else wrote S, or the log is wrong); without a key where every SeatSync write carries
  one (ConnectWise: the addition's description; an Autotask adjustment's key arrives with its note, which a kill
  or a lost reply can keep from landing, so unkeyed Autotask writes are counted, not refused); landing while no
  SeatSync process was alive.
- **Lost**: a linked service whose units at the end differ from its line's target at the end.
- **Records**: every write is one intent SeatSync recorded as posted and every intent recorded as posted is one
  write (keys match where the log has them); SeatSync's adjustments log neither misses a change nor invents one.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.connectors.registry import VENDORS
from bot.db.models import SubscriptionStatus
from bot.domain.levelling import target_units

Record = int | str  # a PSA record as the write log counts it: 12 for service 12, "bundle:12" for Autotask bundle 12


@dataclass(frozen=True)
class Write:
    service_id: int
    before: int
    after: int
    at: datetime
    key: str | None
    kind: str = "service"  # "bundle": an Autotask contract service bundle (numbered apart from the services)

    @property
    def record(self) -> Record:
        return self.service_id if self.kind == "service" else f"{self.kind}:{self.service_id}"


@dataclass(frozen=True)
class CountSet:
    at: datetime
    line: tuple[int, int]  # (subscription id, resource id)
    total: int
    status: str

    @property
    def target(self) -> int:
        return target_units(marketplace_total=self.total, subscription_status=SubscriptionStatus(self.status))


@dataclass(frozen=True)
class Lifetime:
    """One SeatSync process: when it was started and when it was seen dead (None: still alive)."""

    started: datetime
    ended: datetime | None


@dataclass(frozen=True)
class PostedIntent:
    key: str
    service_id: Record
    units_from: int
    units_to: int


@dataclass
class Verdict:
    writes: int = 0
    bundle_writes: int = 0  # of those, to an Autotask service bundle
    unkeyed: int = 0
    repeated_intent: list[str] = field(default_factory=list)  # duplicates (a)
    never_asked_for: list[str] = field(default_factory=list)  # duplicates (b)
    unexplained: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)  # SeatSync's log disagrees with the PSA's

    @property
    def duplicates(self) -> int:
        return len(self.repeated_intent) + len(self.never_asked_for)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.unexplained or self.lost or self.records)

    def problems(self) -> list[str]:
        return ([f"duplicate (a, intent repeated): {p}" for p in self.repeated_intent]
                + [f"duplicate (b, never asked for): {p}" for p in self.never_asked_for]
                + [f"unexplained: {p}" for p in self.unexplained] + [f"lost: {p}" for p in self.lost]
                + [f"records: {p}" for p in self.records])

    def figures(self) -> dict:
        return {"writes": self.writes, "bundle_writes": self.bundle_writes, "unkeyed": self.unkeyed,
                "duplicates": self.duplicates,
                "repeated_intent": len(self.repeated_intent), "never_asked_for": len(self.never_asked_for),
                "unexplained": len(self.unexplained), "lost": len(self.lost), "records": len(self.records)}


class _Timeline:
    """A line's target over time, from its count history (the harness sets every line's count first)."""

    def __init__(self, changes: list[CountSet]) -> None:
        self.at = [c.at for c in changes]
        self.target = [c.target for c in changes]

    def during(self, start: datetime, end: datetime) -> set[int]:
        first = bisect_right(self.at, start) - 1
        last = bisect_right(self.at, end) - 1
        return set(self.target[max(first, 0):last + 1]) if last >= 0 else set()

    @property
    def final(self) -> int:
        return self.target[-1]


def judge(*, psa: str, writes: list[Write], history: list[CountSet], service_lines: dict[Record, tuple[int, int]],
          initial_units: dict[Record, int], lifetimes: list[Lifetime], posted: list[PostedIntent] | None = None,
          grace: timedelta = timedelta(seconds=1)) -> Verdict:
    """`service_lines` and `initial_units` are keyed by the record written (`Write.record`)."""
    verdict = Verdict(writes=len(writes), bundle_writes=sum(1 for write in writes if write.kind == "bundle"))
    trace = VENDORS.get(psa, "psa").capabilities.idempotency_key
    keyed_writes = trace is not None and trace.in_every_write  # else the key lands apart from the write, or not
    timelines = {line: _Timeline(sorted((c for c in history if c.line == line), key=lambda c: c.at))
                 for line in set(service_lines.values())}
    units = dict(initial_units)
    seen_keys: dict[str, Write] = {}
    for write in sorted(writes, key=lambda w: w.at):
        record = write.record
        label = f"service {record} {write.before}->{write.after} at {write.at.isoformat()} key {write.key}"
        line = service_lines.get(record)
        if line is None:
            verdict.unexplained.append(f"{label}: a service SeatSync was not linked to")
            continue
        if units.get(record) != write.before:
            verdict.unexplained.append(f"{label}: the service had {units.get(record)} units")
        units[record] = write.after
        if write.key is None:
            verdict.unkeyed += 1
            if keyed_writes:
                verdict.unexplained.append(f"{label}: no key, and every {psa} write of SeatSync carries one")
        elif write.key in seen_keys:
            verdict.repeated_intent.append(f"{label}: the key was applied at {seen_keys[write.key].at.isoformat()}")
        else:
            seen_keys[write.key] = write
        alive = [p.started for p in lifetimes
                 if p.started <= write.at and (p.ended is None or p.ended >= write.at - grace)]
        if not alive:
            verdict.unexplained.append(f"{label}: no SeatSync process was alive")
            continue
        shown = timelines[line].during(min(alive), write.at)
        if write.after not in shown:
            verdict.never_asked_for.append(
                f"{label}: the marketplace showed {sorted(shown)} from {min(alive).isoformat()} until then")
    for service_id, line in sorted(service_lines.items(), key=lambda item: str(item[0])):
        final = timelines[line].final if timelines[line].target else None
        if units.get(service_id) != final:
            verdict.lost.append(f"service {service_id} ends at {units.get(service_id)}, the marketplace at {final}")
    if posted is not None:
        _check_records(verdict, writes, posted)
    return verdict


def _check_records(verdict: Verdict, writes: list[Write], posted: list[PostedIntent]) -> None:
    by_key = {p.key: p for p in posted}
    keyed = [w for w in writes if w.key is not None]
    for write in keyed:
        intent = by_key.get(write.key)
        if intent is None:
            verdict.records.append(f"write {write.key} to {write.record}: its intent is not recorded as posted")
        elif (intent.service_id, intent.units_from, intent.units_to) != (write.record, write.before, write.after):
            verdict.records.append(f"write {write.key}: {write.before}->{write.after} in the PSA, "
                                   f"{intent.units_from}->{intent.units_to} in SeatSync's log")
    if len(writes) != len(posted):
        written = {w.key for w in keyed}
        silent = [p.key for p in posted if p.key not in written]
        verdict.records.append(f"{len(writes)} writes in the PSA ({len(writes) - len(keyed)} unkeyed), {len(posted)} "
                               f"changes recorded as posted ({len(silent)} without a keyed write)")
