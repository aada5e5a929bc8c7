"""Planning's choice for one linked service, case by case, without a database (bot.domain.levelling)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain.enums import AdjustmentStatus, SubscriptionStatus
from bot.domain.levelling import Levelling, OpenIntent, abandoned, levelling_choice, may_have_been_sent, target_units

PENDING_8 = OpenIntent(units_to=8, status=AdjustmentStatus.pending)
AWAITING_8 = OpenIntent(units_to=8, status=AdjustmentStatus.awaiting_approval)
POSTING_8 = OpenIntent(units_to=8, status=AdjustmentStatus.posting)
REFUSED_8 = OpenIntent(units_to=8, status=AdjustmentStatus.failed)  # refused: not applied
UNKNOWN_8 = OpenIntent(units_to=8, status=AdjustmentStatus.failed, outcome_unknown=True)
DECREASE_6_4 = OpenIntent(units_to=4, status=AdjustmentStatus.pending, units_from=6)


@pytest.mark.parametrize(("target", "psa_units", "open_intent", "declined", "expected"), [
    pytest.param(8, 5, None, None, Levelling.PLAN, id="off target, nothing open: plan"),
    pytest.param(5, 5, None, None, Levelling.AT_TARGET, id="at target, nothing open: nothing to do"),
    pytest.param(8, 5, None, 8, Levelling.DECLINED, id="a person rejected 8: not proposed again"),
    pytest.param(9, 5, None, 8, Levelling.PLAN, id="rejected 8, the count moved to 9: plan"),
    pytest.param(8, 5, PENDING_8, 8, Levelling.DECLINED, id="declined wins over an open intent"),
    pytest.param(8, 5, PENDING_8, None, Levelling.ALREADY_INTENDED, id="pending for this target: keep it"),
    pytest.param(8, 5, AWAITING_8, None, Levelling.ALREADY_INTENDED, id="awaiting approval for this target: keep"),
    pytest.param(8, 5, UNKNOWN_8, None, Levelling.ALREADY_INTENDED, id="unknown outcome, same target: the poster"),
    pytest.param(9, 5, PENDING_8, None, Levelling.PLAN, id="pending for 8, count now 9: supersede by a new plan"),
    pytest.param(9, 5, AWAITING_8, None, Levelling.PLAN, id="awaiting approval for 8, count now 9: plan afresh"),
    pytest.param(9, 5, REFUSED_8, None, Levelling.PLAN, id="refused for 8, count now 9: replace it"),
    pytest.param(9, 5, POSTING_8, None, Levelling.POSTING, id="being posted: resolved first"),
    pytest.param(5, 5, POSTING_8, None, Levelling.POSTING, id="being posted, PSA at target: still left alone"),
    pytest.param(9, 5, UNKNOWN_8, None, Levelling.RESOLVE_NOW, id="may have been sent, count moved: due now"),
    pytest.param(5, 5, UNKNOWN_8, None, Levelling.RESOLVE_NOW, id="may have been sent, PSA at target: due now"),
    pytest.param(5, 5, PENDING_8, None, Levelling.SUPERSEDE, id="PSA already at the new target: close unsent"),
    pytest.param(5, 5, REFUSED_8, None, Levelling.SUPERSEDE, id="refused, PSA now at target: close unsent"),
    pytest.param(0, 3, None, None, Levelling.PLAN, id="level to zero"),
    # a decrease 6 -> 4 waiting for its day (or for its contract to run past it), the PSA set to 3 by hand meanwhile
    pytest.param(4, 3, DECREASE_6_4, None, Levelling.PLAN,
                 id="the PSA went below a waiting decrease's target: plan the increase it needs now"),
    pytest.param(4, 5, DECREASE_6_4, None, Levelling.ALREADY_INTENDED, id="part-way down: the decrease still stands"),
    pytest.param(4, 4, DECREASE_6_4, None, Levelling.ALREADY_INTENDED, id="at its target: the poster settles it"),
    pytest.param(4, 3, replace(DECREASE_6_4, status=AdjustmentStatus.posting), None, Levelling.ALREADY_INTENDED,
                 id="past its target while being posted: left to its poster"),
    pytest.param(4, 3, replace(DECREASE_6_4, status=AdjustmentStatus.failed, outcome_unknown=True), None,
                 Levelling.ALREADY_INTENDED, id="past its target, may have been sent: left to its poster"),
])
def test_levelling_choice(target, psa_units, open_intent, declined, expected):
    assert levelling_choice(target=target, psa_units=psa_units, open_intent=open_intent,
                            declined_target=declined) is expected


@pytest.mark.parametrize(("intent", "expected"), [
    pytest.param(PENDING_8, False, id="pending"),
    pytest.param(AWAITING_8, False, id="awaiting approval"),
    pytest.param(REFUSED_8, False, id="refused"),
    pytest.param(POSTING_8, True, id="posting"),
    pytest.param(UNKNOWN_8, True, id="failed, outcome unknown"),
])
def test_may_have_been_sent(intent, expected):
    assert may_have_been_sent(intent) is expected


@pytest.mark.parametrize(("intent", "linked_service", "expected"), [
    pytest.param(PENDING_8, 7, False, id="still linked to its service"),
    pytest.param(PENDING_8, None, True, id="link removed"),
    pytest.param(PENDING_8, 9, True, id="link moved to another service"),
    pytest.param(POSTING_8, None, False, id="being posted: left to its poster"),
])
def test_abandoned(intent, linked_service, expected):
    assert abandoned(intent, its_service=7, linked_service=linked_service) is expected


@pytest.mark.parametrize(("total", "status", "removed", "expected"), [
    pytest.param(12, SubscriptionStatus.active, False, 12, id="active"),
    pytest.param(12, SubscriptionStatus.cancelled, False, 0, id="cancelled"),
    pytest.param(12, SubscriptionStatus.expired, False, 0, id="expired"),
    pytest.param(12, SubscriptionStatus.active, True, 0, id="removed"),
])
def test_target_units(total, status, removed, expected):
    assert target_units(marketplace_total=total, subscription_status=status, removed=removed) == expected
