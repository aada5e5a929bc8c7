"""What a linked PSA service should bill: the target count, and whether a change is to be planned for it.

Plain facts in, one decision out, no I/O: `bot.sync.planning` reads the links and their open intents, asks
`levelling_choice` for each, and carries out the answer (tests/domain/test_levelling.py has a row per rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.enums import AdjustmentStatus, SubscriptionStatus

LEVEL_TO_ZERO = {SubscriptionStatus.cancelled, SubscriptionStatus.expired}


def target_units(*, marketplace_total: int, subscription_status: SubscriptionStatus, removed: bool = False) -> int:
    """Marketplace total; 0 once the subscription is cancelled or expired, or the resource is gone."""
    if removed or subscription_status in LEVEL_TO_ZERO:
        return 0
    return marketplace_total


@dataclass(frozen=True)
class OpenIntent:
    """The service's open intent (pending, posting, failed or awaiting approval), as planning read it."""

    units_to: int
    status: AdjustmentStatus
    outcome_unknown: bool = False  # its last write may have reached the PSA unheard of
    units_from: int | None = None  # the PSA's units it was planned from (None: not known here)


def goes_the_other_way(intent: OpenIntent, *, psa_units: int) -> bool:
    """The PSA's units now lie past the intent's target (moved by hand while the intent waited for its day, or
    for its contract to run past that day): the change it needs goes the other way, dated and priced as such."""
    return (intent.units_from is not None and psa_units != intent.units_to
            and (intent.units_to > psa_units) != (intent.units_to > intent.units_from))


def may_have_been_sent(intent: OpenIntent) -> bool:
    """Being posted now, or failed after a write whose fate is unknown: it may be in the PSA already, so closing
    it would lose the record of it."""
    return intent.status is AdjustmentStatus.posting or (
        intent.status is AdjustmentStatus.failed and intent.outcome_unknown)


class Levelling(StrEnum):
    DECLINED = "a person rejected (or edited away) this very target: wait for the count to change"
    ALREADY_INTENDED = "the open intent already has this target"
    POSTING = "the open intent is being posted: its outcome is resolved before anything new"
    RESOLVE_NOW = "the open intent may have been sent: make it due at once; the poster reads the PSA, settles it " \
                  "and plans the count of now"
    AT_TARGET = "the PSA already shows the target: nothing to do"
    SUPERSEDE = "the PSA already shows the target: close the open intent unsent"
    PLAN = "record an intent for the target (superseding the open one, if any)"


def levelling_choice(*, target: int, psa_units: int, open_intent: OpenIntent | None,
                     declined_target: int | None) -> Levelling:
    """`declined_target`: the last target a person turned down for this service (None: none)."""
    if declined_target == target:
        return Levelling.DECLINED
    if open_intent is not None:
        if open_intent.units_to == target:
            if open_intent.status is AdjustmentStatus.posting or may_have_been_sent(open_intent) \
                    or not goes_the_other_way(open_intent, psa_units=psa_units):
                return Levelling.ALREADY_INTENDED
            return Levelling.PLAN
        if open_intent.status is AdjustmentStatus.posting:
            return Levelling.POSTING
        if may_have_been_sent(open_intent):
            return Levelling.RESOLVE_NOW
    if psa_units == target:
        return Levelling.AT_TARGET if open_intent is None else Levelling.SUPERSEDE
    return Levelling.PLAN


def abandoned(intent: OpenIntent, *, its_service: int, linked_service: int | None) -> bool:
    """An open intent whose link was removed (`linked_service` None) or now feeds another service: never wanted
    again. One being posted is left to its poster."""
    return intent.status is not AdjustmentStatus.posting and linked_service != its_service
