"""The MSP's Pax8 book: generated per seed, tied to the same PSAs, changed by the days, invoiced from its history."""

from __future__ import annotations

import copy
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from rapidfuzz import fuzz, process

import bot.sandbox.generator as generator
from bot.sandbox.calendar_maths import add_months
from bot.sandbox.generator import advance_day, generate_world
from bot.sandbox.pax8.book import BILLABLE_STATUSES, Pax8Book
from bot.sandbox.pax8.invoices import invoice_lines, released_lines
from tests.sandbox.test_generator import PSA_FIELDS, assert_invariants, normalise

TODAY = date(2026, 11, 16)


@pytest.fixture(scope="module")
def large_book_world():
    return generate_world(seed=7, scale="large", today=TODAY, bill_pax8_in_psas=True)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def book_snapshot(book: Pax8Book) -> dict:
    """The book with every time cut to its day (a day pass stamps changes with the time of day of the real clock)."""
    return {sid: (s.company_id, s.product_id, [(st.updated.date(), st.quantity, st.status, st.price, st.billing_term)
                                              for st in s.history]) for sid, s in book.subscriptions.items()}


# --- generation -----------------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_book_and_another_seed_another() -> None:
    first = generate_world(seed=42, scale="small", today=TODAY).pax8
    again = generate_world(seed=42, scale="small", today=TODAY).pax8
    other = generate_world(seed=43, scale="small", today=TODAY).pax8
    assert first == again
    assert [c.name for c in first.companies.values()] != [c.name for c in other.companies.values()]
    assert list(first.products) == list(other.products)  # Pax8's catalogue is the same for every partner


def test_the_rest_of_the_world_is_the_same_with_or_without_pax8(monkeypatch) -> None:
    with_pax8 = generate_world(seed=9, scale="small", today=TODAY)
    billed = generate_world(seed=9, scale="small", today=TODAY, bill_pax8_in_psas=True)
    monkeypatch.setattr(generator, "build_book", lambda world, profiles, billed_in_psas: None)
    without = generate_world(seed=9, scale="small", today=TODAY)
    assert without.pax8 is None
    with_pax8.pax8 = None
    assert with_pax8 == without  # by default Pax8 only adds its book
    assert billed.customers == without.customers and billed.truth == without.truth
    for name in PSA_FIELDS:  # billing the Pax8 seats only adds PSA records, after the others' ids
        before, after = getattr(without, name), getattr(billed, name)
        assert {k: after[k] for k in before} == before
        assert all(k > max(before, default=0) for k in set(after) - set(before))
    assert len(billed.autotask_contract_services) > len(without.autotask_contract_services)
    assert billed.autotask_companies == without.autotask_companies  # the same PSA companies behind it


def test_the_book_holds_what_a_real_pax8_book_holds(large_book_world) -> None:
    book = large_book_world.pax8
    subs = list(book.subscriptions.values())
    terms = Counter((s.now.billing_term, s.commitment.term if s.commitment else None) for s in subs)
    assert terms[("Annual", "1-Year")] > 0.25 * len(subs)  # annual NCE terms
    assert terms[("Monthly", "1-Year")] and terms[("Monthly", None)]
    for sub in subs:
        if sub.commitment is not None and sub.now.status in BILLABLE_STATUSES:
            assert sub.now.commitment_end > midnight(TODAY)
            assert sub.now.commitment_end.date() in {add_months(sub.billing_start, 12 * n) for n in range(1, 6)}
    same_product = Counter((s.company_id, s.product_id) for s in subs if s.now.status == "Active")
    assert sum(1 for n in same_product.values() if n > 1) > 20  # several subscriptions of one product
    trials = [s for s in subs if s.now.status == "Trial"]
    assert trials and all(s.now.billing_term == "Trial" and s.now.price == 0 and s.now.end_date for s in trials)
    assert any(s.now.status == "Converted" for s in subs)
    statuses = Counter(s.now.status for s in subs)
    assert statuses["Active"] > 0.7 * len(subs)
    assert statuses["Cancelled"] and statuses["PendingCancel"] and statuses["PendingAutomated"]
    assert book.usage_summaries and all(book.products[book.subscriptions[u.subscription_id].product_id].usage_based
                                        for u in book.usage_summaries.values())
    for sub in subs:  # the history runs forward from the order
        assert sub.history[0].status == "PendingAutomated"
        assert [s.updated for s in sub.history] == sorted(s.updated for s in sub.history)
        assert all(s.quantity >= 1 for s in sub.history)


def test_customers_on_both_on_pax8_only_and_names_spelled_a_third_way(large_book_world) -> None:
    world = large_book_world
    book = world.pax8
    shared = [c for c in book.companies.values() if c.account_id is not None]
    only = [c for c in book.companies.values() if c.account_id is None]
    assert 0.35 * len(world.customers) < len(shared) < 0.55 * len(world.customers)
    # the customers only the PSAs knew (managed services, no marketplace account) buy through Pax8 alone
    psa_only = [ids for _, ids in world.truth.psa_only]
    assert only and len(only) > 0.6 * len(psa_only)
    assert all(book.truth.company_for_pax8[c.id] in psa_only for c in only)
    for company in shared:
        if company.account_id in world.truth.company_for_account:
            assert book.truth.company_for_pax8[company.id] == world.truth.company_for_account[company.account_id]
    assert len({c.name.lower() for c in book.companies.values()}) == len(book.companies)
    assert sum(c.name != world.customers[c.account_id].name for c in shared) > 0.9 * len(shared)
    assert sum(bool(re.match(r"^\d{3,4}\b", c.name)) for c in book.companies.values()) > 0.3 * len(book.companies)
    third = 0
    for company_id, psa in book.truth.company_for_pax8.items():
        name = book.companies[company_id].name
        others = {world.autotask_companies[psa["autotask"]].name} if "autotask" in psa else set()
        others |= {world.connectwise_companies[psa["connectwise"]].name} if "connectwise" in psa else set()
        third += name not in others
    assert third == len(book.truth.company_for_pax8)  # never one of the PSAs' spellings
    assert any(c.external_id for c in book.companies.values())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzzy_matching_finds_each_pax8_companys_psa_counterpart(seed: int) -> None:
    world = generate_world(seed=seed, scale="small", today=TODAY)
    book = world.pax8
    for psa, companies in (("autotask", world.autotask_companies), ("connectwise", world.connectwise_companies)):
        choices = {cid: normalise(c.name) for cid, c in companies.items()}
        wanted = [(book.companies[pid].name, ids[psa]) for pid, ids in book.truth.company_for_pax8.items()
                  if psa in ids]
        found = sum(process.extractOne(normalise(re.sub(r"^\d{3,4}( -)? ", "", name)), choices,
                                       scorer=fuzz.token_set_ratio)[2] == cid for name, cid in wanted)
        assert found >= 0.85 * len(wanted), (psa, found, len(wanted))


def test_the_psas_bill_the_pax8_seats_and_the_truth_says_how(large_book_world) -> None:
    world = large_book_world
    book, truth = world.pax8, world.pax8.truth
    assert_invariants(world)  # unique PSA names and identifiers, every record's references hold
    drift = Counter()
    for sub_id, services in truth.service_for_subscription.items():
        sub = book.subscriptions[sub_id]
        contracts = truth.contract_for_subscription[sub_id]
        companies = truth.company_for_pax8[sub.company_id]
        if "autotask" in services:
            service = world.autotask_contract_services[services["autotask"]]
            contract = world.autotask_contracts[contracts["autotask"]]
            assert service.contract_id == contract.id and contract.company_id == companies["autotask"]
            assert contract.contract_type == 7 and contract.status == 1 and contract.end_date > TODAY
            if sub.now.status in BILLABLE_STATUSES:
                drift["equal" if service.units == sub.now.quantity else "zero" if service.units == 0 else "off"] += 1
        if "connectwise" in services:
            addition = world.connectwise_additions[services["connectwise"]]
            assert addition.agreement_id == contracts["connectwise"]
            assert world.connectwise_agreements[addition.agreement_id].company_id == companies["connectwise"]
    assert drift["equal"] > 0.6 * sum(drift.values()) and drift["zero"] and drift["off"]
    # a PSA service is fed by one Pax8 subscription, even where a company has two of a product
    fed = Counter(s["autotask"] for s in truth.service_for_subscription.values() if "autotask" in s)
    assert set(fed.values()) == {1}
    assert set(truth.prelinked) <= set(truth.service_for_subscription)
    assert all(len(truth.service_for_subscription[s]) == 2 for s in truth.prelinked)


# --- invoices agree with the history -------------------------------------------------------------------
def assert_invoice_agrees_with_history(book: Pax8Book, month: date, lines) -> None:
    previous = add_months(month, -1)
    by_sub: dict[str, list] = {}
    for line in lines:
        by_sub.setdefault(line.subscription_id, []).append(line)
    for sub in book.subscriptions.values():
        if book.products[sub.product_id].usage_based:
            continue
        mine = by_sub.get(sub.id, [])
        at_cut = sub.state_at(midnight(month))
        monthly = [ln for ln in mine if ln.type == "subscription" and ln.term == "Monthly"]
        billed = at_cut is not None and at_cut.billing_term == "Monthly" and at_cut.billable_quantity > 0
        assert len(monthly) == (1 if billed else 0), sub.id
        if billed:
            [line] = monthly
            assert (line.quantity, line.price, line.cost) == \
                (at_cut.billable_quantity, at_cut.price, at_cut.partner_cost)
            assert (line.start_period, line.end_period) == (month, add_months(month, 1) - timedelta(days=1))
            assert line.sub_total == line.quantity * line.price
        if sub.now.billing_term == "Monthly":
            # a change at the first instant of a month is in force at its cut, billed by that month's line
            before, after = sub.state_at(midnight(previous)), sub.state_at(midnight(month) - timedelta(microseconds=1))
            start = before.billable_quantity if before is not None else 0
            end = after.billable_quantity if after is not None else 0
            prorated = sum(ln.quantity for ln in mine if ln.type == "prorate")
            assert start + prorated == end, sub.id  # every change of the month is prorated, once
            for line in (ln for ln in mine if ln.type == "prorate"):
                assert previous <= line.start_period <= line.end_period < month
        if sub.now.billing_term == "Annual" and previous <= sub.billing_start < month and sub.state_at(
                datetime.combine(sub.billing_start, time(23, 59, 59), tzinfo=UTC)).billable_quantity:
            # a new annual subscription is billed its whole first year, once, not pro rata
            assert [ln.start_period for ln in mine if ln.term == "Annual" and ln.type == "subscription"] == \
                [sub.billing_start], sub.id
            assert not [ln for ln in mine if ln.type == "prorate" and ln.start_period == sub.billing_start]
        for line in (ln for ln in mine if ln.term == "Annual" and ln.type == "subscription"):
            assert previous <= line.start_period < month
            assert line.end_period == add_months(line.start_period, 12) - timedelta(days=1)
            assert line.price == book.subscriptions[sub.id].state_at(
                datetime.combine(line.start_period, time(23, 59, 59), tzinfo=UTC)).price * 12


def test_released_invoices_agree_with_the_quantities_and_prices_of_their_time(large_book_world) -> None:
    book = large_book_world.pax8
    assert book.invoice_months == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    for month in book.invoice_months:
        lines = released_lines(book, month)
        assert {ln.type for ln in lines} == {"subscription", "prorate"}
        assert any(ln.term == "Annual" for ln in lines) and any(ln.term == "Arrears" for ln in lines)
        assert_invoice_agrees_with_history(book, month, lines)


def test_days_change_the_book_record_history_and_the_next_invoice_agrees(small_world) -> None:
    book = small_world.pax8
    before = {sid: len(s.history) for sid, s in book.subscriptions.items()}
    reports = [advance_day(small_world) for _ in range(25)]  # to 2026-12-11: the December invoice is out
    changes = [change for r in reports for change in r.pax8.seat_changes]
    assert len(changes) > 10
    for report in reports:
        for sid, old, new in report.pax8.seat_changes:
            assert old != new
    for sid, sub in book.subscriptions.items():
        added = sub.history[before.get(sid, 0):]
        assert all(state.updated.date() > TODAY - timedelta(days=1) for state in added)
    changed = {sid for sid, _, _ in changes}
    assert all(len(book.subscriptions[sid].history) > before[sid] for sid in changed if sid in before)
    released = [m for r in reports for m in r.pax8.released_invoices]
    assert released == [date(2026, 12, 1)] and reports[18].day == date(2026, 12, 5)
    assert [r.day for r in reports if r.pax8.released_invoices] == [date(2026, 12, 5)]
    december = released_lines(book, date(2026, 12, 1))
    assert_invoice_agrees_with_history(book, date(2026, 12, 1), december)
    assert sum(1 for ln in december if ln.type == "prorate") >= len({s for s, _, _ in changes
                                                                     if s in before}) // 2
    # the draft of the invoice already released is that invoice
    draft = invoice_lines(book, date(2026, 12, 1), as_of=small_world.now(), drafts=True)
    assert sorted(draft, key=lambda ln: ln.id) == sorted((ln for ln in december if ln.term != "Arrears"),
                                                          key=lambda ln: ln.id)


def test_a_day_keeps_nce_rules_and_kinds_of_events(small_world) -> None:
    book = small_world.pax8
    kinds: Counter = Counter()
    for _ in range(60):
        report = advance_day(small_world)
        kinds.update(kind for kind, _ in report.pax8.events)
        for sid, old, new in report.pax8.seat_changes:
            sub = book.subscriptions[sid]
            if new < old and sub.commitment is not None:
                term_start = add_months(sub.now.commitment_end.date(), -12)
                assert (small_world.today - term_start).days <= 7  # NCE: down only within 7 days of the start
    assert kinds["Change"] and kinds["New"] and kinds["Cancel"] and kinds["Renewal"]
    assert all(s.now.quantity >= 1 for s in book.subscriptions.values())
    assert not [s for s in book.subscriptions.values() if s.now.status == "Trial"
                and s.now.end_date < midnight(small_world.today)]


def test_two_worlds_of_a_seed_go_through_the_same_days() -> None:
    one = generate_world(seed=11, scale="small", today=TODAY)
    two = generate_world(seed=11, scale="small", today=TODAY)
    reports_one = [advance_day(one).pax8.as_dict() for _ in range(8)]
    reports_two = [advance_day(two).pax8.as_dict() for _ in range(8)]
    assert reports_one == reports_two
    assert book_snapshot(one.pax8) == book_snapshot(two.pax8)
    assert copy.deepcopy(one.pax8.invoice_months) == two.pax8.invoice_months
