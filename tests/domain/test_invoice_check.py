"""The month-end invoice check, case by case, without a database (bot.domain.invoice_check)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bot.domain.invoice_check import (
    BilledService,
    CheckMonth,
    CheckState,
    FindingKind,
    InvoiceLine,
    LineKind,
    LinkedService,
    PostedAdjustment,
    Side,
    check_invoice,
)

NOVEMBER = CheckMonth(first=date(2026, 11, 1), prorated_first=date(2026, 10, 1), prorated_last=date(2026, 10, 31))
D = Decimal


def seats(sub: str | None, quantity: int, cost: str = "10", *, company: str = "c1", product: str = "p1",
          months: int = 1, line_id: str | None = None) -> InvoiceLine:
    start, end = (date(2026, 11, 1), date(2026, 11, 30)) if months == 1 else (date(2026, 10, 15), date(2027, 10, 14))
    return InvoiceLine(line_id=line_id or f"{sub}:{product}:seats", kind=LineKind.subscription, company_id=company,
                       company_name=f"Company {company}", product_id=product, product_name=f"Product {product}",
                       subscription_id=sub, period_start=start, period_end=end, quantity=D(quantity),
                       unit_cost=D(cost), cost_total=D(cost) * quantity, months=months)


def prorate(sub: str, quantity: int, cost: str = "10", fraction: str = "0.5", *, product: str = "p1") -> InvoiceLine:
    return InvoiceLine(line_id=f"{sub}:{product}:prorate:{quantity}", kind=LineKind.prorate, company_id="c1",
                       company_name="Company c1", product_id=product, product_name=f"Product {product}",
                       subscription_id=sub, period_start=date(2026, 10, 16), period_end=date(2026, 10, 31),
                       quantity=D(quantity), unit_cost=D(cost), cost_total=(D(cost) * quantity * D(fraction)))


def link(sub: str, service: str, *, company: str = "c1", product: str = "p1", annual: bool = False) -> LinkedService:
    return LinkedService(subscription_id=sub, company_id=company, product_id=product, service_id=service,
                         annual=annual)


def billed(service: str, units: int, price: str | None = "15", minimum: str | None = None) -> BilledService:
    return BilledService(service_id=service, company_name="PSA c1", service_name=f"Service {service}", units=units,
                         unit_price=None if price is None else D(price),
                         min_margin_percent=None if minimum is None else D(minimum))


def run(lines, links, services, adjustments=(), known=frozenset()):
    return check_invoice(month=NOVEMBER, lines=list(lines), links=list(links),
                         billed={s.service_id: s for s in services}, adjustments=list(adjustments),
                         known_subscriptions=frozenset(known))


def kinds(result) -> list[tuple[str, str | None, str]]:
    return [(f.kind.value, f.subscription_id, f"{f.money:.2f}") for f in result.findings]


@pytest.mark.parametrize(("lines", "links", "services", "adjustments", "expected"), [
    pytest.param([seats("s1", 10)], [link("s1", "A")], [billed("A", 10)], [], [],
                 id="invoiced = billed, price over cost: clean"),
    pytest.param([seats("s1", 12)], [link("s1", "A")], [billed("A", 10)], [],
                 [("under_billed", "s1", "30.00")], id="2 seats bought, not billed: leakage at the PSA price"),
    pytest.param([seats("s1", 8)], [link("s1", "A")], [billed("A", 10)], [],
                 [("over_billed", "s1", "30.00")], id="2 seats billed, not bought"),
    pytest.param([seats("s1", 12)], [link("s1", "A")], [billed("A", 10, price=None)], [],
                 [("under_billed", "s1", "20.00")], id="no PSA price: leakage at cost"),
    pytest.param([seats("s1", 10, cost="16")], [link("s1", "A")], [billed("A", 10)], [],
                 [("under_cost", "s1", "10.00")], id="billed at 15, costs 16: 1.00 a seat under cost"),
    pytest.param([seats("s1", 10, cost="12")], [link("s1", "A")], [billed("A", 10, minimum="25")], [],
                 [("under_margin", "s1", "10.00")], id="margin 20% under a 25% minimum: 16.00 wanted"),
    pytest.param([seats("s1", 10, cost="11.25")], [link("s1", "A")], [billed("A", 10, minimum="25")], [], [],
                 id="margin exactly at the minimum: fine"),
    pytest.param([seats("s9", 4, product="p9")], [link("s1", "A")], [], [],
                 [("unlinked", "s9", "40.00")], id="a line no link covers: its cost, billed to nobody"),
    pytest.param([seats("s1", 10)], [link("s1", "A"), link("s2", "B", product="p2")],
                 [billed("A", 10), billed("B", 3)], [],
                 [("billing_for_nothing", "s2", "45.00")], id="a PSA line with no invoice line"),
    pytest.param([seats("s1", 10)], [link("s1", "A"), link("s2", "B", company="c2")],
                 [billed("A", 10), billed("B", 0)], [], [],
                 id="a customer with no invoice line and nothing billed: no finding"),
    pytest.param([seats("s1", 10)], [link("s1", "A"), link("s2", "B", annual=True)],
                 [billed("A", 10), billed("B", 5)], [], [],
                 id="an annual link bills monthly; its invoice line came in its term's first month"),
    pytest.param([seats("s1", 10, cost="120", months=12), prorate("s1", 2)], [link("s1", "A", annual=True)],
                 [billed("A", 12, price="11")], [PostedAdjustment("A", 2, date(2026, 10, 16))], [],
                 id="an annual line's seats at its term start, plus the changes prorated since"),
    pytest.param([seats("s1", 10), prorate("s2", -4, product="p2")], [link("s1", "A"), link("s2", "B", product="p2")],
                 [billed("A", 10), billed("B", 4)], [], [("billing_for_nothing", "s2", "60.00")],
                 id="cancelled in the prorated month (a credit only) and still billed: billing for nothing"),
    pytest.param([seats("s1", 10, cost="120", months=12)], [link("s1", "A", annual=True)],
                 [billed("A", 10, price="9")], [],
                 [("under_cost", "s1", "10.00")], id="an annual line compared per month: 10.00 a month against 9"),
    pytest.param([seats("s1", 10), prorate("s1", 2)], [link("s1", "A")], [billed("A", 10)], [],
                 [("under_billed", "s1", "15.00")], id="a missing prorate: half a month of 2 seats at 15"),
    pytest.param([seats("s1", 10), prorate("s1", 2)], [link("s1", "A")], [billed("A", 10)],
                 [PostedAdjustment("A", 2, date(2026, 10, 16))], [], id="the prorate was posted"),
    pytest.param([seats("s1", 10), prorate("s1", 2)], [link("s1", "A")], [billed("A", 10)],
                 [PostedAdjustment("A", 2, date(2026, 11, 2))], [("under_billed", "s1", "15.00")],
                 id="an adjustment of another month does not cover the prorate"),
    pytest.param([seats("s1", 10), prorate("s1", 1)], [link("s1", "A")], [billed("A", 10)],
                 [PostedAdjustment("A", 3, date(2026, 10, 20))], [("over_billed", "s1", "15.00")],
                 id="3 posted against a prorate of 1: two prorated seats billed and not bought"),
    pytest.param([seats("s1", 10)], [link("s1", "A")], [billed("A", 10)],
                 [PostedAdjustment("A", 3, date(2026, 10, 20))], [],
                 id="an adjustment with no invoice prorate: the seat line judges the month"),
    pytest.param([seats("s1", 11), prorate("s1", 2), prorate("s1", -1)], [link("s1", "A")], [billed("A", 11)],
                 [PostedAdjustment("A", 1, date(2026, 10, 16))], [],
                 id="+2 and -1 on one day, SeatSync posted the day's +1: the day's increase is billed"),
    pytest.param([seats("s1", 8), prorate("s1", -2)], [link("s1", "A")], [billed("A", 8)], [], [],
                 id="a credit not passed on mid-month: the decrease waits for the next period on purpose"),
    pytest.param([seats("s1", 12), prorate("s1", 2)], [link("s1", "A")], [billed("A", 10)], [],
                 [("under_billed", "s1", "15.00"), ("under_billed", "s1", "30.00")],
                 id="an unbilled increase: the month's seats and the prorate"),
    pytest.param([seats("s1", 5, line_id="x"), seats("s2", 7, line_id="y")],
                 [link("s1", "A"), link("s2", "B")], [billed("A", 5), billed("B", 4)], [],
                 [("under_billed", "s2", "45.00")], id="two subscriptions of one product kept apart"),
    pytest.param([seats(None, 6)], [link("s1", "A")], [billed("A", 6)], [], [],
                 id="no subscription id: company and product find the one link"),
    pytest.param([seats("x-77", 6)], [link("s1", "A")], [billed("A", 4)], [],
                 [("under_billed", "x-77", "30.00")], id="an unknown subscription id: company and product"),
    pytest.param([seats(None, 6, line_id="x"), seats("other", 2, line_id="y")], [link("s1", "A"), link("s2", "B")],
                 [billed("A", 6), billed("B", 2)], [],
                 [("unlinked", None, "60.00"), ("unlinked", "other", "20.00"),
                  ("billing_for_nothing", "s1", "90.00"), ("billing_for_nothing", "s2", "30.00")],
                 id="two candidates of one product: never guessed between, both sides said"),
    pytest.param([seats("s1", 10, product="p1"), seats("s1", 3, product="p2")],
                 [link("s1", "A", product="p1"), link("s1", "B", product="p2")],
                 [billed("A", 10), billed("B", 2)], [], [("under_billed", "s1", "15.00")],
                 id="two products of one subscription kept apart"),
])
def test_findings(lines, links, services, adjustments, expected):
    result = run(lines, links, services, adjustments)
    assert sorted(kinds(result), key=repr) == sorted(expected, key=repr)
    assert result.state is (CheckState.findings if expected else CheckState.clean)


def test_nothing_to_check_is_never_clean():
    result = run([], [link("s1", "A")], [billed("A", 10)])
    assert result.state is CheckState.not_reconcilable
    assert result.findings == ()
    assert "no lines" in result.reason


def test_other_lines_are_counted_not_checked():
    credit = replace(seats("s1", 1), kind=LineKind.other, line_id="credit")
    result = run([seats("s1", 10), credit], [link("s1", "A")], [billed("A", 10)])
    assert result.state is CheckState.clean
    assert (result.lines, result.compared) == (2, 1)


def test_usage_lines_are_matched_not_compared():
    usage = replace(seats("s1", 1, cost="300"), kind=LineKind.usage)
    assert run([usage], [link("s1", "A")], [billed("A", 0)]).state is CheckState.clean
    unlinked = run([usage], [], [])
    assert kinds(unlinked) == [("unlinked", "s1", "300.00")]


def test_money_sides_and_totals():
    result = run([seats("s1", 12), seats("s9", 4, product="p9")], [link("s1", "A")], [billed("A", 10)])
    by_kind = {f.kind: f for f in result.findings}
    assert by_kind[FindingKind.under_billed].side is Side.price
    assert by_kind[FindingKind.unlinked].side is Side.cost
    assert result.totals["under_billed"] == D("30.00")
    assert result.totals["unlinked"] == D("40.00")
    assert result.totals["over_billed"] == D("0")


def test_finding_keys_are_stable_and_distinct():
    result = run([seats("s1", 12), prorate("s1", 2)], [link("s1", "A")], [billed("A", 10)])
    keys = [f.key for f in result.findings]
    assert len(set(keys)) == 2
    assert keys == [f.key for f in run([seats("s1", 12), prorate("s1", 2)], [link("s1", "A")],
                                       [billed("A", 10)]).findings]


def test_ten_thousand_lines_are_one_pass():
    lines = [seats(f"s{i}", 5, line_id=f"l{i}") for i in range(10_000)]
    links = [link(f"s{i}", f"S{i}") for i in range(10_000)]
    services = [billed(f"S{i}", 5 if i % 100 else 4) for i in range(10_000)]
    result = run(lines, links, services)
    assert len(result.findings) == 100
    assert {f.kind for f in result.findings} == {FindingKind.under_billed}


def test_a_known_unlinked_subscription_is_not_matched_by_company_and_product():
    """A trial linked once, then bought for real under a new subscription nobody linked: the new one is unlinked."""
    result = run([seats("paid", 7)], [link("trial", "A")], [billed("A", 0)], known={"paid", "trial"})
    assert kinds(result) == [("unlinked", "paid", "70.00")]
    guessed = run([seats("paid", 7)], [link("trial", "A")], [billed("A", 0)])  # an id SeatSync never read
    assert kinds(guessed) == [("under_billed", "paid", "105.00")]
