"""What the poster does next with one claimed intent: plain facts in, one decision out, no I/O.

`bot.sync.posting` holds the claim, does the reads and the write these decisions ask for, and records the outcome;
the rules of exactly once live here, where a table of cases tests them (tests/sync/test_posting_decisions.py):

- An intent an earlier attempt may have sent (left `posting` by a process that died, or tried before) is looked
  for in the PSA by its idempotency key before anything else; found means it landed: record it as posted.
- The service's units decide the rest: gone means the link points nowhere (a failure a person must fix); at the
  target means nothing to send (confirmed when a write of ours may have done it, not needed otherwise).
- No stale targets: an intent planned for a marketplace count that has moved since is superseded unsent and the
  count of now is planned. A person's edit (no planned count) stands as decided.
- Otherwise post the difference from the units read (re-based when someone moved them by hand), unless the units
  read lie past the target, so that the change now goes the other way: its date and amount were worked out for the
  planned direction (an increase is dated today, a decrease as the policy says, often a period later), so it is
  superseded unsent and planned again from the units read. (A cache still holding the day before's units on the day
  a posted Autotask decrease lands, read by a change notification's planning before that day's first cycle, gave
  6 -> 5 dated a period later against 4 in the PSA: re-based, +1 a period late.)
- After a connector error: a write whose outcome is unknown is looked for again before any retry; a refusal that
  cannot succeed by retrying ends the pass's attempts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


@dataclass(frozen=True)
class Doubt:
    """What one poster knows about the intent's earlier writes."""

    look_for_key: bool  # a write may have landed unheard of: look for the key before reading the units
    ever_sent: bool  # a write was sent at some point: the units at the target then confirm it
    in_doubt: bool  # if this attempt fails, record that a write may have landed (planning leaves it to the poster)


def doubt_at_claim(*, was_posting: bool, attempts: int, recorded_outcome_unknown: bool) -> Doubt:
    """`was_posting`: its earlier poster died mid-post (its claim expired); `attempts`: writes tried before;
    `recorded_outcome_unknown`: the last failure may have landed."""
    tried_before = was_posting or attempts > 0
    return Doubt(look_for_key=tried_before, ever_sent=tried_before,
                 in_doubt=was_posting or recorded_outcome_unknown)


def doubt_after_reading(doubt: Doubt) -> Doubt:
    """Looked for (when needed) and read: an earlier write had not landed, or the decision settles it."""
    return replace(doubt, in_doubt=False)


def doubt_when_sending(_: Doubt) -> Doubt:
    return Doubt(look_for_key=True, ever_sent=True, in_doubt=True)


@dataclass(frozen=True)
class AfterError:
    doubt: Doubt
    try_again: bool  # within this pass, reading first; False: fail it now (retried later with backoff)


def after_connector_error(doubt: Doubt, *, sending: bool, outcome_unknown: bool, retryable: bool) -> AfterError:
    """`sending`: the error came from the write (not a read); `outcome_unknown`: the write may have been applied
    (a timeout, a 5xx, a dropped reply); `retryable`: the same request may succeed later."""
    in_doubt = outcome_unknown if sending else doubt.in_doubt  # a refusal or a 429 did not apply it
    if outcome_unknown:
        return AfterError(replace(doubt, look_for_key=True, in_doubt=in_doubt), try_again=True)
    return AfterError(replace(doubt, in_doubt=in_doubt), try_again=retryable)


def planned_for(*, units_to: int, by_a_person: bool) -> int | None:
    """The marketplace count an intent was planned for, or None for a person's edit: its units are the person's
    choice, checked by a person, and stand as decided (levelling follows once the count moves)."""
    return None if by_a_person else units_to


def count_moved(planned: int | None, count_now: int) -> bool:
    """After an intent is resolved without a write: a count that moved meanwhile needs a change of its own."""
    return planned is not None and count_now != planned


class Read(StrEnum):
    """A fact still missing before the poster can decide."""

    KEY = "look for the idempotency key in the PSA"
    UNITS = "read the service's units"
    COUNT = "read the marketplace count SeatSync read last"


class Settle(StrEnum):
    """Resolved without a write."""

    FOUND = "the key is in the PSA: an earlier write landed; record it as posted"
    CONFIRMED = "the PSA shows the target after a write of ours: record it as posted"
    NOT_NEEDED = "the PSA already shows the target: nothing to send"
    SERVICE_GONE = "the PSA service no longer exists: fail it, a person must relink"


@dataclass(frozen=True)
class SupersedeStale:
    """The marketplace count moved since the intent was planned: close it unsent and plan the count of now."""

    planned_for: int
    count_now: int


@dataclass(frozen=True)
class SupersedeReversed:
    """The units read lie past the target: the change goes the other way now. Close it unsent and plan it again
    from the units read (its date and amount follow its direction)."""

    units: int


@dataclass(frozen=True)
class Post:
    """Send the difference from the units read; `rebased`: they are not the intent's `units_from` (moved by hand)."""

    units_from: int
    rebased: bool


Decision = Read | Settle | SupersedeStale | SupersedeReversed | Post


@dataclass(frozen=True)
class PostingFacts:
    """What one attempt knows so far. `units` and `count_now` are meaningful once read."""

    units_from: int  # the intent's: what the PSA showed when it was planned
    units_to: int
    planned_for: int | None  # see `planned_for`
    doubt: Doubt
    key_found: bool | None = None  # None: not looked for in this attempt
    units_read: bool = False  # `units` may be used (read in this attempt, or by the pass when nothing was sent before)
    units: int | None = None  # None once read: the service is gone
    count_now: int | None = None  # the target for the latest marketplace count; None: not read yet


def next_step(facts: PostingFacts) -> Decision:
    """The next read to do, or what to do with the intent."""
    if facts.doubt.look_for_key and facts.key_found is None:
        return Read.KEY
    if facts.key_found:
        return Settle.FOUND
    if not facts.units_read:
        return Read.UNITS
    if facts.units is None:
        return Settle.SERVICE_GONE
    if facts.units == facts.units_to:
        return Settle.CONFIRMED if facts.doubt.ever_sent else Settle.NOT_NEEDED
    if facts.planned_for is not None:
        if facts.count_now is None:
            return Read.COUNT
        if facts.count_now != facts.planned_for:
            return SupersedeStale(planned_for=facts.planned_for, count_now=facts.count_now)
        if (facts.units_to > facts.units) != (facts.units_to > facts.units_from):
            return SupersedeReversed(units=facts.units)
    return Post(units_from=facts.units, rebased=facts.units != facts.units_from)


def first_facts(*, units_from: int, units_to: int, planned: int | None, doubt: Doubt,
                units_hint: int | None) -> PostingFacts:
    """An attempt's start. The pass's bulk read of the units serves only when no earlier write may have landed
    (otherwise the key is looked for first and the units read after it); a service missing from it is read again."""
    usable = units_hint is not None and not doubt.look_for_key
    return PostingFacts(units_from=units_from, units_to=units_to, planned_for=planned, doubt=doubt,
                        units_read=usable, units=units_hint if usable else None)
