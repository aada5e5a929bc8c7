from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.models import Adjustment
from bot.reports.catalogue import REPORTS, parse_filters, run_report
from bot.reports.report import DateRange, ReportFilters
from tests.reports.dataset import INJECTION, TODAY, build_dataset


async def rows(session, name, **filters):
    report = await run_report(name, session=session, filters=ReportFilters(today=TODAY, **filters))
    return report, await report.all_rows()


def column(report, rows, title):
    index = report.columns.index(title)
    return [row[index] for row in rows]


async def test_adjustments_are_posted_ones_in_the_last_30_days_by_default(session):
    await build_dataset(session)
    report, found = await rows(session, "adjustments")
    assert len(found) == 1
    row = dict(zip(report.columns, found[0], strict=True))
    assert row["Marketplace company"] == "Acme Mfg. Inc." and row["Resource"] == "Exchange Online (Plan 1)"
    assert row["Service"] == "Exchange Online" and row["Contract"].startswith("M365 contract")
    assert (row["Units before"], row["Units after"], row["Change"]) == (4, 5, 1)
    assert row["Prorated amount"] == Decimal("6.13") and row["Unit price"] == Decimal("9.50")
    assert row["Effective date"] == date(2026, 3, 8) and row["Trigger"] == "sync" and row["By"] == "system"


async def test_adjustments_date_range_and_sort(session):
    await build_dataset(session)
    report, found = await rows(session, "adjustments", date_from=date(2026, 1, 1), sort="posted_at", direction="desc")
    assert column(report, found, "By") == ["system", "U7"]
    report, found = await rows(session, "adjustments", date_from=date(2026, 1, 1), date_to=date(2026, 2, 1))
    assert column(report, found, "By") == ["U7"]
    with pytest.raises(ValueError, match="after"):
        await rows(session, "adjustments", date_from=date(2026, 3, 1), date_to=date(2026, 2, 1))


async def test_failures_carry_attempts_error_and_needs_action(session):
    await build_dataset(session)
    report, found = await rows(session, "failures")
    row = dict(zip(report.columns, found[0], strict=True))
    assert (row["Attempts"], row["PSA message"], row["Needs action"]) == (3, "contract is inactive", "yes")
    assert len((await rows(session, "failures", status="needs_action"))[1]) == 1
    assert (await rows(session, "failures", status="retrying"))[1] == []
    assert len((await rows(session, "failures", text="INACTIVE"))[1]) == 1


async def test_subscriptions_lists_every_resource_linked_or_not(session):
    await build_dataset(session)
    report, found = await rows(session, "subscriptions", sort="total")
    assert column(report, found, "Resource") == ["Defender", "Teams Essentials", "Exchange Online (Plan 1)"]
    assert column(report, found, "Linked") == ["no", "no", "yes"]
    assert column(report, found, "Account ID") == ["E-1", "A-1", "A-1"]
    assert report.columns[:6] == ("Account ID", "Company", "Subscription ID", "Subscription", "Resource ID",
                                  "Resource")
    assert column(report, found, "Total") == [2, 4, 8]


async def test_linked_shows_the_psa_side_drift_and_price_source(session):
    await build_dataset(session)
    report, found = await rows(session, "linked")
    row = dict(zip(report.columns, found[0], strict=True))
    assert len(found) == 1
    assert (row["Marketplace total"], row["PSA units"], row["Drift"]) == (8, 5, 3)
    assert row["Price source"] == "PSA price" and row["Prorates"] == "PSA default" and row["Linked by"] == "U1"
    assert len((await rows(session, "linked", status="drifted"))[1]) == 1
    assert (await rows(session, "linked", status="in_step"))[1] == []


async def test_unlinked_and_psa_unlinked(session):
    await build_dataset(session)
    report, found = await rows(session, "unlinked", sort="resource")
    assert column(report, found, "Resource") == ["Defender", "Teams Essentials"]
    report, found = await rows(session, "psa-unlinked")
    assert column(report, found, "Service") == ["Backup 1TB"]
    assert column(report, found, "Units") == [3]
    assert (await rows(session, "psa-unlinked", status="expired"))[1] == []
    assert len((await rows(session, "psa-unlinked", resource="backup"))[1]) == 1


async def test_unbilled_values_unlinked_and_drifted_seats_per_customer_with_totals(session):
    await build_dataset(session)
    report, found = await rows(session, "unbilled", sort="company")
    by_company = {row[1]: row for row in found}
    # Acme: Teams 4 unlinked at 8.00; Exchange 3 drifted at the PSA's 9.50
    assert by_company["Acme Mfg. Inc."][2:] == ("seats", 4, Decimal("32.00"), 3, Decimal("28.50"), Decimal("60.50"),
                                                "USD")
    assert by_company[INJECTION][2:] == ("seats", 2, Decimal("16.00"), 0, Decimal("0"), Decimal("16.00"), "USD")
    assert report.totals == ("", "Total", "seats", 6, Decimal("48.00"), 3, Decimal("28.50"), Decimal("76.50"), "USD")
    report, found = await rows(session, "unbilled", status="drifted")
    assert [row[1] for row in found] == ["Acme Mfg. Inc."]
    report, found = await rows(session, "unbilled", sort="amount", direction="desc")
    assert [row[1] for row in found] == ["Acme Mfg. Inc.", INJECTION]


@pytest.mark.parametrize("name", sorted(REPORTS))
async def test_company_subscription_resource_and_text_filters(session, name):
    await build_dataset(session)
    report, everything = await rows(session, name)
    report, nothing = await rows(session, name, text="no such thing %_")
    assert nothing == []
    for key in ("company", "subscription", "resource"):
        _, narrowed = await rows(session, name, **{key: "zzz-nothing"})
        assert narrowed == [], key


@pytest.mark.parametrize("name", sorted(REPORTS))
async def test_every_column_sorts_both_ways(session, name):
    await build_dataset(session)
    report, everything = await rows(session, name)
    for key in report.keys:
        for direction in ("asc", "desc"):
            _, ordered = await rows(session, name, sort=key, direction=direction)
            assert sorted(ordered, key=repr) == sorted(everything, key=repr), (key, direction)
    with pytest.raises(ValueError, match="unknown sort column 'nope'"):
        await rows(session, name, sort="nope")
    with pytest.raises(ValueError, match="direction"):
        await rows(session, name, sort=report.keys[0], direction="sideways")


async def test_unknown_or_unsupported_filters_are_clear_errors(session):
    with pytest.raises(ValueError, match="unknown filter 'colour'"):
        parse_filters({"colour": "red"})
    with pytest.raises(ValueError, match="date_from must be a date"):
        parse_filters({"date_from": "yesterday"})
    with pytest.raises(ValueError, match="unknown status 'posted'"):
        await rows(session, "unlinked", status="posted")
    with pytest.raises(ValueError, match=r"unknown status 'pending' for the adjustments report \(known: posted\)"):
        await rows(session, "adjustments", status="pending")
    with pytest.raises(ValueError, match="not a log"):
        await rows(session, "linked", date_from=date(2026, 1, 1))
    assert parse_filters([("company", "Acme"), ("date_to", "2026-03-01")]) == ReportFilters(
        company="Acme", date_to=date(2026, 3, 1))


async def test_an_adjustment_shows_in_the_period_it_was_posted_and_the_one_it_takes_effect(session):
    """A decrease posted on 27 February that takes effect on 1 March belongs to both months' reports."""
    await build_dataset(session)
    later = await session.scalar(select(Adjustment).where(Adjustment.idempotency_key == "k-old"))
    later.posted_at, later.effective_date = datetime(2026, 2, 27, 9, tzinfo=UTC), date(2026, 3, 1)
    await session.commit()

    february = await rows(session, "adjustments", date_from=date(2026, 2, 1), date_to=date(2026, 2, 28))
    march = await rows(session, "adjustments", date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))

    assert column(*february, "By") == ["U7"]
    assert column(*march, "By") == ["system", "U7"]
    assert february[0].date_range == DateRange(date(2026, 2, 1), date(2026, 2, 28), default=False,
                                               applies_to="posted or effective")
    default, _ = await rows(session, "adjustments")
    assert default.date_range == DateRange(date(2026, 2, 8), TODAY, default=True, applies_to="posted or effective")
    assert (await rows(session, "linked"))[0].date_range is None


async def test_rows_say_their_source_and_filter_by_it(session):
    from bot.db.models import MarketplaceCompany, MarketplaceResource, MarketplaceSubscription
    from tests.db.factories import marketplace_resource

    await build_dataset(session)
    company = MarketplaceCompany(marketplace="pax8", external_id="P-1", name="Acme Manufacturing (Pax8)")
    sub = MarketplaceSubscription(company=company, marketplace="pax8", external_id="P-S1",
                                  name="Microsoft 365 Business Premium", term="other", status="active")
    session.add_all([company, sub])
    pax8 = await marketplace_resource(session, subscription=sub, total=7, name="Microsoft 365 Business Premium")
    await session.commit()
    assert pax8.marketplace == "pax8"  # taken from its subscription
    report, found = await rows(session, "subscriptions")
    sources = dict(zip(column(report, found, "Resource ID"), column(report, found, "Source"), strict=True))
    assert sources[pax8.external_id] == "Pax8" and set(sources.values()) == {"Pax8", "Ingram Micro Cloud Marketplace"}
    _, only = await rows(session, "subscriptions", marketplace="pax8")
    assert [row[report.columns.index("Resource ID")] for row in only] == [pax8.external_id]
    assert len((await rows(session, "subscriptions", marketplace="ingram"))[1]) == len(found) - 1
    assert (await rows(session, "unlinked", marketplace="pax8"))[1]
    assert await session.scalar(select(MarketplaceResource.marketplace).where(MarketplaceResource.id == pax8.id)) \
        == "pax8"
