"""Links export and import: the service functions on real SQL, and the CLI round trip through the engine
against the simulators."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from bot.__main__ import main
from bot.cli_links import describe_import
from bot.clock import ManualClock
from bot.db.links import link_resource
from bot.db.models import (
    Adjustment,
    AdjustmentTrigger,
    AuditEvent,
    CompanyLink,
    MarketplaceCompany,
    PriceSourceKind,
    PriceSourceSetting,
    ResourceLink,
    Scope,
    SubscriptionLink,
)
from bot.db.policies import set_price_source
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from bot.services.links_transfer import (
    COLUMNS,
    LinksFileError,
    export_rows,
    import_links,
    loose_name,
    read_links_csv,
    write_links_csv,
)
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY
from tests.db.factories import marketplace_resource, psa_service
from tests.sync.engine_setup import link_line, pick_lines, unthrottled_odin

FORMULA_NAME = '=HYPERLINK("http://x","click")'


async def exported_csv(session) -> str:
    buffer = io.StringIO()
    write_links_csv(await export_rows(session=session), buffer)
    return buffer.getvalue()


def parsed(text: str) -> list[tuple[int, dict[str, str]]]:
    return read_links_csv(io.StringIO(text))


async def wipe_links(session) -> None:
    await session.execute(delete(PriceSourceSetting).where(PriceSourceSetting.scope == Scope.link))
    for model in (ResourceLink, SubscriptionLink, CompanyLink):
        await session.execute(delete(model))
    await session.commit()


async def link_keys(session) -> set[tuple]:
    links = await session.scalars(select(ResourceLink))
    keys = set()
    for link in links:
        await session.refresh(link, ["resource", "service"])
        keys.add((link.resource.external_id, link.resource.subscription_id, link.service.external_id))
    companies = {(c.marketplace_company_id, c.psa_company_id) for c in await session.scalars(select(CompanyLink))}
    subscriptions = {(s.marketplace_subscription_id, s.psa_contract_id)
                     for s in await session.scalars(select(SubscriptionLink))}
    return {("resource", *k) for k in keys} | {("company", *k) for k in companies} | {
        ("subscription", *k) for k in subscriptions}


@pytest.fixture
async def two_links(session):
    """Acme: Exchange -> Exchange Online (custom price) and Teams -> Teams, on one subscription and contract;
    plus a company whose name is a formula, linked at company level only."""
    exchange = await marketplace_resource(session, total=8)
    teams = await marketplace_resource(session, subscription=exchange.subscription, total=4, name="Teams Essentials")
    exchange_service = await psa_service(session, units=5, name="Exchange Online")
    teams_service = await psa_service(session, contract=exchange_service.contract, units=4, name="Teams")
    first = await link_resource(session=session, resource_id=exchange.id, service_id=exchange_service.id, actor="U1")
    await link_resource(session=session, resource_id=teams.id, service_id=teams_service.id, actor="U1")
    await set_price_source(session=session, scope=Scope.link, link_id=first.id, kind=PriceSourceKind.custom,
                           custom_price=Decimal("11.50"), custom_cost=Decimal("7.00"), actor="U1")
    evil = MarketplaceCompany(marketplace="ingram", external_id="E-1", name=FORMULA_NAME)
    session.add(evil)
    await session.flush()
    from bot.db.links import link_company

    await link_company(session=session, marketplace_company_id=evil.id,
                       psa_company_id=exchange_service.contract.company_id, actor="U1")
    await session.commit()
    return exchange, teams, exchange_service, teams_service


async def test_export_has_every_level_both_ids_and_names_and_the_price_source(session, two_links):
    exchange, teams, exchange_service, _ = two_links
    text = await exported_csv(session)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["level"] for r in rows] == ["company", "company", "subscription", "resource", "resource"]
    resource = rows[3]
    assert (resource["resource_id"], resource["resource"]) == (exchange.external_id, exchange.name)
    assert (resource["service_id"], resource["service"]) == (exchange_service.external_id, "Exchange Online")
    assert resource["subscription_id"] == exchange.subscription.external_id
    assert resource["contract_id"] == exchange_service.contract.external_id
    assert resource["price_source"] == "custom"
    assert (Decimal(resource["custom_price"]), Decimal(resource["custom_cost"])) == (Decimal("11.5"), Decimal(7))
    assert rows[4]["price_source"] == ""  # inherits


async def test_formula_looking_names_are_neutralised_in_the_export(session, two_links):
    text = await exported_csv(session)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + FORMULA_NAME in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert loose_name("'" + FORMULA_NAME) == loose_name(FORMULA_NAME)


async def test_round_trip_export_wipe_import_gives_the_same_links(session, two_links):
    before = await link_keys(session)
    text = await exported_csv(session)
    await wipe_links(session)
    assert await link_keys(session) == set()

    dry = await import_links(session=session, rows=parsed(text), actor="cli", apply=False)
    assert dry.valid and not dry.applied
    assert [o.action for o in dry.outcomes] == ["create"] * 5
    assert await link_keys(session) == set()  # a dry run saves nothing

    result = await import_links(session=session, rows=parsed(text), actor="cli", apply=True)
    assert result.applied and len(result.new_resource_link_ids) == 2
    assert await link_keys(session) == before
    price = await session.scalar(select(PriceSourceSetting).where(PriceSourceSetting.scope == Scope.link))
    assert (price.kind, price.custom_price, price.custom_cost) == (PriceSourceKind.custom, Decimal("11.50"),
                                                                   Decimal("7.00"))

    again = await import_links(session=session, rows=parsed(text), actor="cli", apply=True)
    assert {o.action for o in again.outcomes} == {"already linked"} and again.new_resource_link_ids == []


def edited(text: str, line: int, **cells: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[line - 2].update(cells)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def cell(text: str, line: int, column: str) -> str:
    return list(csv.DictReader(io.StringIO(text)))[line - 2][column]


def appended(text: str, line: int, **cells: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    rows.append({**rows[line - 2], **cells})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize("mutate, line, reason", [
    pytest.param(lambda t: edited(t, 5, service_id="999999"), 5, "there is no PSA service with ID '999999'",
                 id="unknown-service"),
    pytest.param(lambda t: edited(t, 5, resource="Visio Plan 2"), 5, "is called 'Exchange Online (Plan 1)'",
                 id="name-differs"),
    pytest.param(lambda t: edited(t, 5, level="tenant"), 5, "level must be one of", id="bad-level"),
    pytest.param(lambda t: edited(t, 5, price_source="cheap"), 5, "price_source must be one of",
                 id="bad-price-source"),
    pytest.param(lambda t: edited(t, 5, price_source="marketplace_cost_markup", markup_percent=""), 5,
                 "needs a markup percentage", id="incomplete-price-source"),
    pytest.param(lambda t: edited(t, 5, custom_cost="1.00"), 5, "below the PSA's current cost",
                 id="below-cost-unconfirmed"),
    pytest.param(lambda t: edited(t, 5, marketplace="pax9"), 5, "marketplace must be one of", id="bad-system"),
    pytest.param(lambda t: edited(t, 5, contract_id="nope"), 5, "is on contract", id="wrong-contract"),
    pytest.param(lambda t: appended(t, 6), 7, "already in line 6", id="duplicate-row"),
    pytest.param(lambda t: edited(t, 6, service_id=cell(t, 5, "service_id"), service=""), 6,
                 "the same PSA service is already in line 5", id="service-twice"),
])
async def test_an_invalid_row_is_reported_and_apply_changes_nothing(session, two_links, mutate, line, reason):
    text = mutate(await exported_csv(session))
    await wipe_links(session)
    audit_before = await session.scalar(select(func.count()).select_from(AuditEvent))
    result = await import_links(session=session, rows=parsed(text), actor="cli", apply=True)
    assert not result.valid and not result.applied
    invalid = [o for o in result.outcomes if o.action == "invalid"]
    assert [o.line for o in invalid] == [line]
    assert reason in invalid[0].reason
    assert await link_keys(session) == set()
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


ABSURD = ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30"]


@pytest.mark.parametrize("column, value, reason", [
    *[(column, value, f"{column}: {value!r} is not a number") for column in ("custom_price", "custom_cost",
                                                                             "markup_percent") for value in ABSURD],
    ("custom_price", "-1", "custom_price cannot be negative (-1)"),
    ("custom_cost", "-1", "custom_cost cannot be negative (-1)"),
    ("custom_price", "0.0000001", "custom_price has more than 4 decimals (0.0000001)"),
    ("markup_percent", "0.0000001", "markup_percent has more than 4 decimals (0.0000001)"),
    ("custom_price", "10000000000", "custom_price must be below 10,000,000,000 in size"),
    ("markup_percent", "1000.5", "markup_percent must be from -100 up to 1000, not 1000.5"),
    ("markup_percent", "-101", "markup_percent must be from -100 up to 1000, not -101"),
    ("custom_price", "1,000", "custom_price: write '1,000' with a dot for decimals"),
])
@pytest.mark.parametrize("wipe", [True, False], ids=["new-link", "existing-link"])
async def test_a_number_no_one_can_bill_with_makes_its_row_invalid(session, two_links, column, value, reason, wipe):
    kind = "marketplace_cost_markup" if column == "markup_percent" else "custom"
    text = edited(await exported_csv(session), 5, price_source=kind, **{column: value})
    if wipe:
        await wipe_links(session)
    prices_before = [(p.markup_percent, p.custom_price, p.custom_cost) for p in
                     await session.scalars(select(PriceSourceSetting))]
    audit_before = await session.scalar(select(func.count()).select_from(AuditEvent))

    result = await import_links(session=session, rows=parsed(text), actor="cli", apply=True)

    assert not result.applied
    invalid, = [o for o in result.outcomes if o.action == "invalid"]
    assert invalid.line == 5 and reason in invalid.reason, invalid.reason
    assert [(p.markup_percent, p.custom_price, p.custom_cost) for p in
            await session.scalars(select(PriceSourceSetting))] == prices_before
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


async def test_a_row_against_the_links_in_force_is_a_conflict(session, two_links):
    _, teams, exchange_service, teams_service = two_links
    text = edited(await exported_csv(session), 6, service_id=exchange_service.external_id, service="")
    header, *rows = text.splitlines()
    result = await import_links(session=session, rows=parsed("\n".join([header, rows[4]])), actor="cli", apply=True)
    outcome, = result.outcomes
    assert outcome.action == "invalid" and "Teams Essentials already feeds PSA service Teams" in outcome.reason
    assert not result.applied


async def test_names_match_loosely(session, two_links):
    text = edited(await exported_csv(session), 5, resource="exchange online plan 1", company="")
    await wipe_links(session)
    result = await import_links(session=session, rows=parsed(text), actor="cli", apply=False)
    assert result.valid


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n", "not a links file"),
    (",".join(COLUMNS) + "\ncompany" + "," * len(COLUMNS) + "extra\n", "more cells than the header"),
])
def test_a_file_that_is_not_a_links_file_is_refused(text, message):
    with pytest.raises(LinksFileError, match=message):
        parsed(text)


# ---- the CLI, end to end ----------------------------------------------------------------------------------

@pytest.fixture(params=[("odin", "autotask"), ("ingram", "halopsa")], ids=["odin-autotask", "ingram-halopsa"])
async def workspace(request, database_url, monkeypatch, tmp_path, clock, today):
    marketplace, psa = request.param
    sandbox = Sandbox.generate(seed=11, scale="small", today=today)
    vendor_options = unthrottled_odin(sandbox)
    await sandbox.start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace=marketplace, psa=psa, clock=clock, vendor_options=vendor_options)
    workspace.names = (marketplace, psa)
    for name, value in {"DATABASE_URL": database_url, "SEATSYNC_SECRET_KEY": TEST_SECRET_KEY,
                        "SEATSYNC_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield workspace
    root.handlers[:], root.level = handlers, level
    await workspace.close()


async def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`seatsync ARGV` in-process, on the workspace's clock (pinned to PINNED_NOW)."""
    code = await asyncio.to_thread(main, list(argv), clock=ManualClock(PINNED_NOW))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_round_trip_reconciles_each_new_link_through_the_engine(workspace, capsys, tmp_path):
    lines = pick_lines(workspace.sandbox.world, workspace.names[1], 3)
    for line in lines:
        line.set_market_total(6)
        line.set_psa_units(6)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_ids = [await link_line(workspace, line, workspace.names[0]) for line in lines]
    async with workspace.sessions() as session:
        await set_price_source(session=session, scope=Scope.link, link_id=link_ids[0],
                               kind=PriceSourceKind.marketplace_cost_markup, markup_percent=Decimal("20"),
                               actor="U1")
        await session.commit()
        before = await link_keys(session)

    path = tmp_path / "links.csv"
    code, _, err = await cli(capsys, "links", "export", "--output", str(path))
    assert code == 0 and f"wrote {len(before)} links" in err
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, for spreadsheets

    async with workspace.sessions() as session:
        await wipe_links(session)
    lines[1].set_market_total(9)  # bought meanwhile: the import's reconciliation must post it
    await workspace.engine.run_cycle(trigger="test")
    writes_before = len(workspace.sandbox.world.write_log)

    code, out, err = await cli(capsys, "links", "import", str(path))
    assert code == 0, err
    assert "nothing saved (dry run)" in out and f"{len(before)} rows checked" in out
    async with workspace.sessions() as session:
        assert await link_keys(session) == set()

    code, out, err = await cli(capsys, "links", "import", str(path), "--apply")
    assert code == 0, err
    assert f"{len(before)} rows saved: {len(before)} created" in out
    assert "reconciliation of 3 new resource links: 1 change" in out and "posted 1," in out
    assert "6 -> 9 (+3)" in out
    assert lines[1].psa_units == 9
    assert [(w.before, w.after) for w in lines[1].writes()] == [(6, 9)]
    assert len(workspace.sandbox.world.write_log) == writes_before + 1
    async with workspace.sessions() as session:
        assert await link_keys(session) == before
        adjustment = await session.scalar(select(Adjustment))
        assert adjustment.trigger is AdjustmentTrigger.import_ and adjustment.triggered_by == "cli:links-import"
        price = await session.scalar(select(PriceSourceSetting).where(PriceSourceSetting.scope == Scope.link))
        assert (price.kind, price.markup_percent) == (PriceSourceKind.marketplace_cost_markup, Decimal("20"))


async def test_cli_import_with_an_invalid_row_applies_nothing_and_exits_1(workspace, capsys, tmp_path):
    lines = pick_lines(workspace.sandbox.world, workspace.names[1], 2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    for line in lines:
        await link_line(workspace, line, workspace.names[0])
    code, exported, _ = await cli(capsys, "links", "export")
    assert code == 0
    rows = exported.splitlines()
    path = tmp_path / "links.csv"
    bad = rows[-1].replace(f",{lines[1].service_id},", ",424242,")
    assert bad != rows[-1]
    path.write_text("\n".join([*rows[:-1], bad]) + "\n")
    async with workspace.sessions() as session:
        await wipe_links(session)

    code, out, err = await cli(capsys, "links", "import", str(path), "--apply")
    assert code == 1
    assert "invalid resource" in out and "there is no PSA service with ID '424242'" in out
    assert "nothing saved" in err
    async with workspace.sessions() as session:
        assert await link_keys(session) == set()
        assert await session.scalar(select(func.count()).select_from(Adjustment)) == 0
    assert workspace.sandbox.world.write_log == []


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30", "-1", "0.0000001"])
async def test_cli_import_refuses_a_price_no_cycle_can_bill_and_the_next_cycle_runs(workspace, capsys, tmp_path,
                                                                                   value):
    """The reported bug: such a price was saved and every later cycle aborted (NaN: the import crashed)."""
    line, = pick_lines(workspace.sandbox.world, workspace.names[1], 1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, workspace.names[0])
    code, exported, _ = await cli(capsys, "links", "export")
    assert code == 0
    path = tmp_path / "links.csv"
    last = len(exported.splitlines())  # the resource row
    assert cell(exported, last, "level") == "resource"
    path.write_text(edited(exported, last, price_source="custom", custom_price=value))
    async with workspace.sessions() as session:
        await wipe_links(session)

    code, out, err = await cli(capsys, "links", "import", str(path), "--apply")

    assert code == 1 and "Traceback" not in out + err
    assert f"line {last}: invalid resource" in out and "custom_price" in out
    assert "nothing saved" in err
    async with workspace.sessions() as session:
        assert await link_keys(session) == set()
        assert await session.scalar(select(func.count()).select_from(PriceSourceSetting)) == 0
    line.set_market_total(line.psa_units + 2)
    await link_line(workspace, line, workspace.names[0])
    report = await workspace.engine.run_cycle(trigger="test")
    assert report.status.value == "succeeded" and line.psa_units == line.market.included + line.market.additional


async def test_cli_import_says_which_new_link_cannot_be_computed(workspace, capsys, tmp_path):
    """9,999,999,999.99 a seat is a price the file may set; +5 seats of it is an amount no column holds: the link
    is saved, its reconciliation says why nothing was posted, and the other link is levelled."""
    lines = pick_lines(workspace.sandbox.world, workspace.names[1], 2)
    for line in lines:
        line.set_market_total(3)
        line.set_psa_units(3)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    for line in lines:
        await link_line(workspace, line, workspace.names[0])
    code, exported, _ = await cli(capsys, "links", "export")
    last = len(exported.splitlines())
    path = tmp_path / "links.csv"
    path.write_text(edited(exported, last, price_source="custom", custom_price="9999999999.99"))
    async with workspace.sessions() as session:
        await wipe_links(session)
    for line in lines:
        line.set_market_total(8)
    await workspace.engine.run_cycle(trigger="test")  # read while unlinked: the import's reconciliation levels

    code, out, err = await cli(capsys, "links", "import", str(path), "--apply")

    assert code == 0, err
    assert "reconciliation of 2 new resource links: 1 change" in out
    assert "not levelled: the prorated amount must be below 10,000,000,000 in size" in out
    assert sorted(line.psa_units for line in lines) == [3, 8]


async def test_cli_import_of_a_missing_file_exits_2(workspace, capsys, tmp_path):
    code, out, err = await cli(capsys, "links", "import", str(tmp_path / "nope.csv"))
    assert code == 2 and "cannot read" in err and out == ""


async def test_the_printout_names_what_a_row_lacks_and_counts_in_words(session):
    text = (",".join(COLUMNS) + "\n" + ",".join(["widget"] + [""] * (len(COLUMNS) - 1)) + "\n"
            + ",".join(["company", "ingram"] + [""] * (len(COLUMNS) - 2)) + "\n")
    result = await import_links(session=session, rows=parsed(text), actor="U1", apply=False)

    lines = describe_import(result)

    assert lines[0] == "line 2: invalid row: level must be one of company, subscription, resource, not 'widget'"
    assert lines[1] == ("line 3: invalid company (no company ID) -> (no PSA company ID): "
                        "a company row needs company_id, psa, psa_company_id")
    assert lines[2] == "2 rows checked: 0 to create, 0 already linked, 0 price sources to set, 2 invalid"
    one = await import_links(session=session, rows=parsed(text.rsplit("\n", 2)[0] + "\n"), actor="U1", apply=False)
    assert describe_import(one)[-1] == "1 row checked: 0 to create, 0 already linked, 0 price sources to set, 1 invalid"
    assert not any("?" in line for line in lines)


async def test_links_of_two_marketplaces_to_one_psa_company_round_trip_with_their_source(session, two_links):
    """A Pax8 company beside the Ingram one, both linked to the same PSA company; the same external ids in both
    marketplaces stay apart, because each row carries its marketplace."""
    from bot.db.models import MarketplaceSubscription

    _, _, exchange_service, _ = two_links
    company = MarketplaceCompany(marketplace="pax8", external_id="C1", name="Acme Manufacturing")
    sub = MarketplaceSubscription(company=company, marketplace="pax8", external_id="S1", name="M365 Business Premium",
                                  term="other", status="active")
    session.add_all([company, sub])
    seats = await marketplace_resource(session, subscription=sub, total=12, name="M365 Business Premium")
    premium = await psa_service(session, contract=exchange_service.contract, units=10, name="M365 Business Premium")
    await link_resource(session=session, resource_id=seats.id, service_id=premium.id, actor="U1")
    await session.commit()
    before = await link_keys(session)
    rows = list(csv.DictReader(io.StringIO(await exported_csv(session))))
    assert {r["marketplace"] for r in rows} == {"ingram", "pax8"}
    pax8_rows = [r for r in rows if r["marketplace"] == "pax8"]
    assert [r["level"] for r in pax8_rows] == ["company", "subscription", "resource"]
    psa_companies = {r["psa_company_id"] for r in rows if r["level"] == "company"}
    assert len(psa_companies) == 1  # one PSA company, linked to a company of each marketplace

    text = await exported_csv(session)
    await wipe_links(session)
    result = await import_links(session=session, rows=parsed(text), actor="cli", apply=True)
    assert result.applied and len(result.new_resource_link_ids) == 3
    assert await link_keys(session) == before
