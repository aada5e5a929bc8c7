"""What the poster does with one claimed intent, case by case, without a simulator (bot.sync.posting_decisions).

The simulator tests (test_exactly_once_property, test_claims, test_stale_targets, tests/e2e) keep the edges:
kills, races, lost replies. Here every rule has its row."""

from __future__ import annotations

import pytest

from bot.sync.posting_decisions import (
    AfterError,
    Doubt,
    Post,
    PostingFacts,
    Read,
    Settle,
    SupersedeReversed,
    SupersedeStale,
    after_connector_error,
    count_moved,
    doubt_after_reading,
    doubt_at_claim,
    doubt_when_sending,
    first_facts,
    next_step,
    planned_for,
)

FRESH = Doubt(look_for_key=False, ever_sent=False, in_doubt=False)  # never tried before
TRIED = Doubt(look_for_key=True, ever_sent=True, in_doubt=True)  # an earlier write may have landed
SENT_NOT_LANDED = Doubt(look_for_key=True, ever_sent=True, in_doubt=False)  # looked for and read: it had not


def facts(*, doubt=FRESH, units_from=5, units_to=8, planned=8, key_found=None, units_read=True, units=5,
          count_now=None) -> PostingFacts:
    return PostingFacts(units_from=units_from, units_to=units_to, planned_for=planned, doubt=doubt,
                        key_found=key_found, units_read=units_read, units=units, count_now=count_now)


@pytest.mark.parametrize(("given", "expected"), [
    # the key first, whenever an earlier write may have landed
    pytest.param(facts(doubt=TRIED, units_read=False), Read.KEY, id="tried before: look for the key"),
    pytest.param(facts(doubt=TRIED, key_found=True, units_read=False), Settle.FOUND,
                 id="key found: record as posted, no second write"),
    pytest.param(facts(doubt=TRIED, key_found=False, units_read=False), Read.UNITS,
                 id="key not found: read the units"),
    pytest.param(facts(units_read=False), Read.UNITS, id="never tried, units not in the pass's read: read them"),
    # the units
    pytest.param(facts(units=None), Settle.SERVICE_GONE, id="service gone: fail, a person relinks"),
    pytest.param(facts(units=8), Settle.NOT_NEEDED, id="already at the target (a hand edit): nothing to send"),
    pytest.param(facts(doubt=SENT_NOT_LANDED, key_found=False, units=8), Settle.CONFIRMED,
                 id="at the target after a write of ours: confirmed"),
    pytest.param(facts(units=0, units_to=0, planned=0), Settle.NOT_NEEDED, id="levelled to zero already"),
    # no stale targets
    pytest.param(facts(units=5), Read.COUNT, id="off target: read the marketplace count first"),
    pytest.param(facts(units=5, count_now=8), Post(units_from=5, rebased=False), id="count unchanged: post 5->8"),
    pytest.param(facts(units=5, count_now=6), SupersedeStale(planned_for=8, count_now=6),
                 id="count moved to 6: supersede unsent, plan the count of now"),
    pytest.param(facts(units=5, count_now=5), SupersedeStale(planned_for=8, count_now=5),
                 id="count moved back to the PSA's units: supersede, nothing to post"),
    pytest.param(facts(doubt=SENT_NOT_LANDED, key_found=False, units=5, count_now=3),
                 SupersedeStale(planned_for=8, count_now=3), id="resumed after a kill, count moved: stale"),
    pytest.param(facts(planned=None, units=5), Post(units_from=5, rebased=False),
                 id="a person's edit stands: no count read, posted as decided"),
    pytest.param(facts(planned=None, units=5, count_now=12), Post(units_from=5, rebased=False),
                 id="a person's edit stands even when the count moved"),
    # re-based on the units read
    pytest.param(facts(units=6, count_now=8), Post(units_from=6, rebased=True),
                 id="units moved by hand to 6: post 6->8"),
    pytest.param(facts(units=10, count_now=8), SupersedeReversed(units=10),
                 id="units moved past the target: the increase became a decrease, planned again from 10"),
    pytest.param(facts(units_from=6, units_to=5, planned=5, units=4, count_now=5), SupersedeReversed(units=4),
                 id="a decrease found below its target (a decrease landed on its day): planned again as an increase"),
    pytest.param(facts(units_from=6, units_to=4, planned=4, units=5, count_now=4), Post(units_from=5, rebased=True),
                 id="a decrease found part-way: post 5->4, the same way"),
    pytest.param(facts(planned=None, units=10), Post(units_from=10, rebased=True),
                 id="a person's edit stands even past its target"),
    pytest.param(facts(doubt=SENT_NOT_LANDED, key_found=False, units=5, count_now=8), Post(units_from=5, rebased=False),
                 id="earlier write had not landed, count unchanged: post"),
])
def test_next_step(given, expected):
    assert next_step(given) == expected


def test_reading_in_the_order_the_decisions_ask_then_posting():
    steps, current = [], first_facts(units_from=5, units_to=8, planned=8, doubt=TRIED, units_hint=5)
    answers = {Read.KEY: {"key_found": False}, Read.UNITS: {"units_read": True, "units": 5},
               Read.COUNT: {"count_now": 8}}
    while isinstance(step := next_step(current), Read):
        steps.append(step)
        current = PostingFacts(**{**current.__dict__, **answers[step]})
    assert steps == [Read.KEY, Read.UNITS, Read.COUNT]
    assert step == Post(units_from=5, rebased=False)


@pytest.mark.parametrize(("doubt", "hint", "expected_read", "expected_units"), [
    pytest.param(FRESH, 5, True, 5, id="never tried: the pass's read serves"),
    pytest.param(FRESH, None, False, None, id="missing from the pass's read: read it again"),
    pytest.param(TRIED, 5, False, None, id="tried before: the key first, the units after it"),
])
def test_first_facts(doubt, hint, expected_read, expected_units):
    start = first_facts(units_from=5, units_to=8, planned=8, doubt=doubt, units_hint=hint)
    assert (start.units_read, start.units, start.key_found, start.count_now) == (expected_read, expected_units,
                                                                                 None, None)


@pytest.mark.parametrize(("was_posting", "attempts", "recorded_unknown", "expected"), [
    pytest.param(False, 0, False, FRESH, id="new intent"),
    pytest.param(True, 0, False, Doubt(look_for_key=True, ever_sent=True, in_doubt=True),
                 id="left posting by a dead process"),
    pytest.param(False, 2, True, Doubt(look_for_key=True, ever_sent=True, in_doubt=True),
                 id="failed, outcome unknown"),
    pytest.param(False, 2, False, Doubt(look_for_key=True, ever_sent=True, in_doubt=False),
                 id="failed, refused (not applied): still looked for first"),
])
def test_doubt_at_claim(was_posting, attempts, recorded_unknown, expected):
    assert doubt_at_claim(was_posting=was_posting, attempts=attempts,
                          recorded_outcome_unknown=recorded_unknown) == expected


def test_reading_clears_the_doubt_and_sending_raises_it():
    assert doubt_after_reading(TRIED) == SENT_NOT_LANDED
    assert doubt_when_sending(FRESH) == TRIED


@pytest.mark.parametrize(("doubt", "sending", "unknown", "retryable", "expected"), [
    pytest.param(TRIED, True, True, True, AfterError(TRIED, True), id="write timed out: look for the key, try again"),
    pytest.param(TRIED, True, False, True, AfterError(SENT_NOT_LANDED, True),
                 id="write throttled (429): not applied, try again"),
    pytest.param(TRIED, True, False, False, AfterError(SENT_NOT_LANDED, False),
                 id="write refused (400): not applied, fail now"),
    pytest.param(TRIED, True, True, False, AfterError(TRIED, True),
                 id="write outcome unknown though not retryable: look again before failing"),
    pytest.param(SENT_NOT_LANDED, False, False, True, AfterError(SENT_NOT_LANDED, True),
                 id="a read failed: doubt unchanged, try again"),
    pytest.param(TRIED, False, False, True, AfterError(TRIED, True),
                 id="a read failed before the doubt was cleared: still in doubt"),
    pytest.param(FRESH, False, False, False, AfterError(FRESH, False), id="a read refused: fail now"),
])
def test_after_connector_error(doubt, sending, unknown, retryable, expected):
    assert after_connector_error(doubt, sending=sending, outcome_unknown=unknown, retryable=retryable) == expected


@pytest.mark.parametrize(("by_a_person", "expected"), [
    pytest.param(False, 8, id="planned by levelling: for the count 8"),
    pytest.param(True, None, id="a person's edit: no count"),
])
def test_planned_for(by_a_person, expected):
    assert planned_for(units_to=8, by_a_person=by_a_person) == expected


@pytest.mark.parametrize(("planned", "count_now", "expected"), [
    pytest.param(8, 8, False, id="count unchanged"),
    pytest.param(8, 9, True, id="count moved: plan again"),
    pytest.param(None, 9, False, id="a person's edit: levelling follows on the next cycle"),
])
def test_count_moved(planned, count_now, expected):
    assert count_moved(planned, count_now) is expected
