"""The seeded MSP generator and the "a day passes" mutator."""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot.sandbox import generator
from bot.sandbox.autotask_bundle_seed import BACKUP_PRICE, BUNDLED_PRODUCTS
from bot.sandbox.calendar_maths import TERM_MONTHS, add_months
from bot.sandbox.generator import DayReport, advance_day, generate_world
from bot.sandbox.marketplace_seed import product_spec
from bot.sandbox.names import LEGAL_WORDS
from bot.sandbox.world import SandboxWorld

TODAY = date(2026, 11, 16)
PSA_FIELDS = ("autotask_companies", "autotask_services", "autotask_contracts", "autotask_contract_services",
              "autotask_notes", "connectwise_companies", "connectwise_products", "connectwise_agreements",
              "connectwise_additions")


@pytest.fixture(scope="module")
def large_world() -> SandboxWorld:
    return generate_world(seed=7, scale="large", today=TODAY)


def all_lines(world: SandboxWorld):
    return [(sub, line) for sub in world.subscriptions.values() for line in sub.lines]


def marketplace_snapshot(world: SandboxWorld) -> dict:
    """Everything on the marketplace side, with last_modified cut to its day (its time is the real clock's)."""
    return {
        "products": copy.deepcopy(world.products),
        "customers": copy.deepcopy(world.customers),
        "subscriptions": {
            sid: (s.status, s.start_date, s.expiration_date, s.auto_renew, s.created.date(), s.last_modified.date(),
                  [(ln.resource_id, ln.included, ln.additional, ln.used, ln.unit_price, ln.unit_cost)
                   for ln in s.lines])
            for sid, s in world.subscriptions.items()
        },
    }


def assert_truth_consistent(world: SandboxWorld) -> None:
    truth = world.truth
    for account_id, companies in truth.company_for_account.items():
        assert account_id in world.customers
        assert set(companies) <= {"autotask", "connectwise", "halopsa"} and companies
        if "halopsa" in companies:
            assert companies["halopsa"] in world.halopsa.clients
        if "autotask" in companies:
            assert companies["autotask"] in world.autotask_companies
        if "connectwise" in companies:
            assert companies["connectwise"] in world.connectwise_companies
    for subscription_id, contracts in truth.contract_for_subscription.items():
        sub = world.subscriptions[subscription_id]
        companies = truth.company_for_account[sub.account_id]
        if "autotask" in contracts:
            contract = world.autotask_contracts[contracts["autotask"]]
            assert contract.company_id == companies["autotask"]
            assert contract.contract_type == 7
        if "connectwise" in contracts:
            agreement = world.connectwise_agreements[contracts["connectwise"]]
            assert agreement.company_id == companies["connectwise"]
        if "halopsa" in contracts:
            assert world.halopsa.contracts[contracts["halopsa"]].client_id == companies["halopsa"]
    service_of_product: dict[tuple[str, int], int] = {}
    for (subscription_id, resource_id), services in truth.service_for_line.items():
        assert world.line(subscription_id, resource_id) is not None
        contracts = truth.contract_for_subscription[subscription_id]
        if "autotask" in services:
            contract_service = world.autotask_contract_services[services["autotask"]]
            assert contract_service.contract_id == contracts["autotask"]
            assert contract_service.service_id in world.autotask_services
            # one catalogue service per product
            assert service_of_product.setdefault(("autotask", resource_id), contract_service.service_id) \
                == contract_service.service_id
        if "connectwise" in services:
            addition = world.connectwise_additions[services["connectwise"]]
            assert addition.agreement_id == contracts["connectwise"]
            assert addition.product_id in world.connectwise_products
            assert service_of_product.setdefault(("connectwise", resource_id), addition.product_id) \
                == addition.product_id
        if "halopsa" in services:
            line = world.halopsa.line(services["halopsa"])
            recurring = world.halopsa.recurring_invoices[line.recurring_invoice_id]
            assert recurring.contract_id == contracts["halopsa"] and recurring.id < -1
            assert service_of_product.setdefault(("halopsa", resource_id), line.item_id) == line.item_id
    assert len(set(service_of_product.values())) == len(service_of_product)
    assert set(truth.prelinked) <= set(truth.service_for_line)
    for key, bundle_id in truth.bundle_for_line.items():  # a line billed as a bundle has no contract service
        bundle = world.autotask_contract_service_bundles[bundle_id]
        assert bundle.contract_id == truth.contract_for_subscription[key[0]]["autotask"]
        assert world.autotask_service_bundles[bundle.service_id].name.startswith(world.products[key[1]].name)
        assert "autotask" not in truth.service_for_line.get(key, {}) and key not in truth.prelinked
    planted = set(truth.bundle_for_line.values())
    if world.pax8 is not None:
        planted |= set(world.pax8.truth.bundle_for_subscription.values())
    assert planted == set(world.autotask_contract_service_bundles)
    for contract_service in world.autotask_contract_services.values():
        assert world.autotask_contracts[contract_service.contract_id].contract_type == 7
        assert contract_service.service_id in world.autotask_services
    for contract in world.autotask_contracts.values():
        assert contract.company_id in world.autotask_companies
    for addition in world.connectwise_additions.values():
        assert addition.agreement_id in world.connectwise_agreements
        assert addition.product_id in world.connectwise_products
    for agreement in world.connectwise_agreements.values():
        assert agreement.company_id in world.connectwise_companies


def assert_invariants(world: SandboxWorld, *, fresh: bool = True) -> None:
    """What holds of any world; `fresh`: also what holds until days pass (every line has a unit)."""
    for name in ("products", "customers", "subscriptions", *PSA_FIELDS):
        for key, record in getattr(world, name).items():
            if name == "products":
                own = record.resource_id
            elif name == "customers":
                own = record.account_id
            elif name == "subscriptions":
                own = record.subscription_id
            else:
                own = record.id
            assert key == own, name
    assert len({c.cmp_id for c in world.customers.values()}) == len(world.customers)
    assert all(c.cmp_id == str(c.account_id) for c in world.customers.values())
    assert len({s.cmp_id for s in world.subscriptions.values()}) == len(world.subscriptions)
    assert not set(world.customers) & set(world.subscriptions)
    identifiers = [c.identifier for c in world.connectwise_companies.values()]
    assert len({i.lower() for i in identifiers}) == len(identifiers)
    assert all(0 < len(i) <= 30 and re.fullmatch(r"[A-Za-z0-9]+", i) for i in identifiers)
    assert all(len(c.name) <= 50 for c in world.connectwise_companies.values())
    for companies in (world.autotask_companies, world.connectwise_companies):
        names = [c.name.lower() for c in companies.values()]
        assert len(set(names)) == len(names)
    assert len({p.identifier for p in world.connectwise_products.values()}) == len(world.connectwise_products)
    assert len({p.mpn for p in world.products.values()}) == len(world.products)
    for product in world.products.values():
        assert 100000 <= product.resource_id < 200000
        assert 0 < product.cost < product.price
        assert 0.09 <= float(1 - product.cost / product.price) <= 0.26
    for sub in world.subscriptions.values():
        assert 1 <= len(sub.lines) <= 8
        assert len({ln.resource_id for ln in sub.lines}) == len(sub.lines)
        assert sub.account_id in world.customers
        assert sub.start_date < sub.expiration_date
        assert sub.created <= sub.last_modified
        for line in sub.lines:
            assert line.resource_id in world.products
            assert line.included >= 0 and line.additional >= 0 and line.used >= 0
            assert line.ordered >= (1 if fresh else 0)
    assert world.credentials.odin_sample_account in world.customers
    assert_truth_consistent(world)


# --- generation --------------------------------------------------------------------------------
def test_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    first = generate_world(seed=42, scale="small", today=TODAY)
    again = generate_world(seed=42, scale="small", today=TODAY)
    other = generate_world(seed=43, scale="small", today=TODAY)
    assert first == again
    assert [c.name for c in first.customers.values()] != [c.name for c in other.customers.values()]
    assert first.credentials != other.credentials


def test_generation_leaves_the_global_random_generator_alone() -> None:
    random.seed(1234)
    state = random.getstate()
    generate_world(seed=5, scale="small", today=TODAY)
    assert random.getstate() == state


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_world(seed=1, scale="huge", today=TODAY)  # type: ignore[arg-type]


def test_small_world_size(small_world: SandboxWorld) -> None:
    assert len(small_world.customers) == 50
    assert 150 <= sum(len(s.lines) for s in small_world.subscriptions.values()) <= 350
    assert 25 <= len(small_world.products) <= 40


def test_large_world_size(large_world: SandboxWorld) -> None:
    assert len(large_world.customers) == 2000
    assert 9000 <= sum(len(s.lines) for s in large_world.subscriptions.values()) <= 11500
    assert_invariants(large_world)


def test_dates_follow_term_status_and_today(small_world: SandboxWorld) -> None:
    end_of_today = datetime.combine(TODAY, datetime.max.time(), tzinfo=UTC)
    statuses = Counter(s.status for s in small_world.subscriptions.values())
    assert statuses["active"] > 0.7 * len(small_world.subscriptions)
    assert {s.term for s in small_world.subscriptions.values()} == {"monthly", "annual"}
    for sub in small_world.subscriptions.values():
        assert sub.last_modified <= end_of_today and sub.created <= end_of_today
        months = (sub.expiration_date.year - sub.start_date.year) * 12 + sub.expiration_date.month \
            - sub.start_date.month
        assert months % TERM_MONTHS[sub.term] == 0
        assert add_months(sub.start_date, months) == sub.expiration_date
        if sub.status in ("active", "suspended"):
            assert sub.expiration_date > TODAY
        else:
            assert sub.expiration_date <= TODAY
    for customer in small_world.customers.values():
        assert customer.created <= end_of_today


def test_a_world_dated_in_the_past_holds_nothing_later() -> None:
    past = date(2019, 3, 1)
    world = generate_world(seed=3, scale="small", today=past)
    latest = datetime.combine(past, datetime.max.time(), tzinfo=UTC)
    stamps = [s.last_modified for s in world.subscriptions.values()]
    stamps += [c.last_modified for c in world.autotask_companies.values()]
    stamps += [c.last_modified for c in world.autotask_contracts.values()]
    stamps += [a.last_updated for a in world.connectwise_agreements.values()]
    assert max(stamps) <= latest


def test_included_amounts_are_usually_zero_and_sometimes_not(large_world: SandboxWorld) -> None:
    lines = [line for _, line in all_lines(large_world)]
    with_included = sum(1 for line in lines if line.included > 0)
    assert 0.05 * len(lines) < with_included < 0.25 * len(lines)


# --- names -------------------------------------------------------------------------------------
def normalise(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", name.lower().replace("&", " and "))
    return " ".join(w for w in words if w not in LEGAL_WORDS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_names_differ_between_systems_yet_fuzzy_matching_finds_the_counterpart(seed: int) -> None:
    world = generate_world(seed=seed, scale="small", today=TODAY)
    both = [(acc, psas) for acc, psas in world.truth.company_for_account.items()
            if {"autotask", "connectwise"} <= set(psas)]
    assert len(both) > 0.75 * len(world.customers)
    triples = [(world.customers[acc].name, world.autotask_companies[psas["autotask"]].name,
                world.connectwise_companies[psas["connectwise"]].name) for acc, psas in both]
    assert sum(len(set(names)) == 3 for names in triples) > 0.7 * len(triples)
    assert sum(market != autotask for market, autotask, _ in triples) > 0.9 * len(triples)
    assert sum(market != cw for market, _, cw in triples) > 0.9 * len(triples)
    for psa, companies in (("autotask", world.autotask_companies), ("connectwise", world.connectwise_companies)):
        choices = {company_id: normalise(company.name) for company_id, company in companies.items()}
        wanted = [(acc, psas[psa]) for acc, psas in world.truth.company_for_account.items() if psa in psas]
        for scorer in (fuzz.token_set_ratio, fuzz.WRatio):
            found = sum(
                process.extractOne(normalise(world.customers[acc].name), choices, scorer=scorer)[2] == company_id
                for acc, company_id in wanted
            )
            assert found >= 0.85 * len(wanted), (psa, scorer.__name__, found, len(wanted))


def test_large_world_names_are_unique_per_system(large_world: SandboxWorld) -> None:
    names = [c.name for c in large_world.customers.values()]
    assert len(set(names)) == len(names)
    assert len({normalise(n) for n in names}) > 0.98 * len(names)


# --- PSA side ----------------------------------------------------------------------------------
def test_psa_side_mixes_right_drifted_zero_and_psa_only_records(large_world: SandboxWorld) -> None:
    world, truth = large_world, large_world.truth
    drift = Counter()
    for (subscription_id, resource_id), services in truth.service_for_line.items():
        ordered = world.line(subscription_id, resource_id).ordered
        units = [world.autotask_contract_services[services["autotask"]].units] if "autotask" in services else []
        units += [world.connectwise_additions[services["connectwise"]].quantity] if "connectwise" in services else []
        for u in units:
            drift["zero" if u == 0 and ordered else "equal" if u == ordered else "less" if u < ordered else "more"] += 1
    total = sum(drift.values())
    assert drift["equal"] > 0.6 * total
    assert min(drift["less"], drift["more"], drift["zero"]) > 0.02 * total
    # counterparts for most, not all
    for psa in ("autotask", "connectwise", "halopsa"):
        with_company = sum(psa in companies for companies in truth.company_for_account.values())
        assert 0.8 * len(world.customers) < with_company < len(world.customers), psa
    live = [s for s in world.subscriptions.values() if s.status == "active"]
    with_contract = [s for s in live if "autotask" in truth.contract_for_subscription.get(s.subscription_id, {})]
    assert 0.7 * len(live) < len(with_contract) < len(live)
    # PSA-only companies, contracts and services
    linked_at = {p["autotask"] for p in truth.company_for_account.values() if "autotask" in p}
    assert len(set(world.autotask_companies) - linked_at) > 50
    linked_contracts = {p["autotask"] for p in truth.contract_for_subscription.values() if "autotask" in p}
    assert len(set(world.autotask_contracts) - linked_contracts) > 100
    linked_additions = {p["connectwise"] for p in truth.service_for_line.values() if "connectwise" in p}
    assert len(set(world.connectwise_additions) - linked_additions) > 100
    assert len(world.autotask_services) == len(world.products) + 8
    assert len(world.connectwise_products) == len(world.products) + 8
    # expired and cancelled PSA contracts, agreements without proration, other contract types
    assert any(c.status == 0 and c.end_date < TODAY for c in world.autotask_contracts.values())
    agreements = list(world.connectwise_agreements.values())
    statuses = Counter(a.status for a in agreements)
    assert statuses["Expired"] and statuses["Cancelled"] and statuses["Active"] > 0.8 * len(agreements)
    assert all(a.cancelled == (a.status == "Cancelled") for a in agreements)
    assert 0 < sum(not a.prorate for a in agreements) < 0.2 * len(agreements)
    assert any(c.contract_type != 7 for c in world.autotask_contracts.values())
    # prices mostly the marketplace's, sometimes the MSP's own
    prices = [(world.autotask_contract_services[s["autotask"]].unit_price, world.line(*key).unit_price)
              for key, s in truth.service_for_line.items() if "autotask" in s]
    differing = sum(psa != market for psa, market in prices)
    assert 0.05 * len(prices) < differing < 0.4 * len(prices)
    # about 5 % of the lines were linked by hand before SeatSync, in both PSAs
    lines = len(all_lines(world))
    assert 0.04 * lines < len(truth.prelinked) < 0.06 * lines
    assert all(len(truth.service_for_line[key]) == 3 for key in truth.prelinked)  # in every PSA


def test_some_customers_microsoft_365_seats_are_billed_as_autotask_service_bundles(large_world) -> None:
    world, truth = large_world, large_world.truth
    bundled = Counter(product_spec(world.products[resource_id]).key for _, resource_id in truth.bundle_for_line)
    assert set(bundled) <= BUNDLED_PRODUCTS and len(bundled) >= 5
    suites = [key for key in truth.service_for_line if product_spec(world.products[key[1]]).key in BUNDLED_PRODUCTS]
    suites_in_autotask = [k for k in suites if "autotask" in truth.service_for_line[k]] + list(truth.bundle_for_line)
    # a share of the suites' lines billed in Autotask, not most of them; and a few percent of all lines
    assert 0.1 * len(suites_in_autotask) < len(truth.bundle_for_line) < 0.35 * len(suites_in_autotask)
    assert 0.02 * len(all_lines(world)) < len(truth.bundle_for_line) < 0.1 * len(all_lines(world))
    bundles = [world.autotask_contract_service_bundles[i] for i in truth.bundle_for_line.values()]
    ordered = [world.line(*key).ordered for key in truth.bundle_for_line]
    assert 0.5 * len(bundles) < sum(b.units == o for b, o in zip(bundles, ordered, strict=True)) < len(bundles)
    # on the lines' own contracts, beside their other contract services
    contracts = {b.contract_id for b in bundles}
    assert any(s.contract_id in contracts for s in world.autotask_contract_services.values())


def test_bundles_change_only_autotask_and_swap_a_contract_service_at_most(monkeypatch) -> None:
    world = generate_world(seed=5, scale="small", today=TODAY, bill_pax8_in_psas=True)
    monkeypatch.setattr(generator, "plant_bundles", lambda world: None)
    without = generate_world(seed=5, scale="small", today=TODAY, bill_pax8_in_psas=True)
    assert world.autotask_contract_service_bundles and not without.autotask_contract_service_bundles
    assert marketplace_snapshot(world) == marketplace_snapshot(without) and world.halopsa == without.halopsa
    for name in PSA_FIELDS:
        if name != "autotask_contract_services":
            assert getattr(world, name) == getattr(without, name), name
    swapped = set(without.autotask_contract_services) - set(world.autotask_contract_services)
    assert swapped and set(world.autotask_contract_services) <= set(without.autotask_contract_services)
    assert len(world.autotask_contract_service_bundles) > len(swapped)  # and unbilled lines got one
    for key, bundle_id in world.truth.bundle_for_line.items():
        bundle = world.autotask_contract_service_bundles[bundle_id]
        plain = without.truth.service_for_line.get(key, {}).get("autotask")
        if plain is not None:  # swapped: the same contract and units, the backup on top of the price
            was = without.autotask_contract_services[plain]
            assert plain in swapped and (bundle.contract_id, bundle.units) == (was.contract_id, was.units)
            assert bundle.unit_price == was.unit_price + BACKUP_PRICE
    pax8 = world.pax8.truth.bundle_for_subscription
    assert pax8 and all(without.pax8.truth.service_for_subscription[sub]["autotask"] in swapped for sub in pax8)


def test_active_psa_contracts_run_past_today(small_world: SandboxWorld) -> None:
    for contract in small_world.autotask_contracts.values():
        if contract.status == 1 and contract.contract_type == 7:
            assert contract.end_date > TODAY
        assert contract.start_date <= contract.end_date
    for agreement in small_world.connectwise_agreements.values():
        if agreement.status != "Active":
            assert agreement.end_date is not None and agreement.end_date <= TODAY


def test_ground_truth_is_consistent(small_world: SandboxWorld) -> None:
    assert_invariants(small_world)
    sample = small_world.credentials.odin_sample_account
    assert any(s.account_id == sample and s.status == "active" for s in small_world.subscriptions.values())


# --- a day passes ------------------------------------------------------------------------------
def test_advancing_is_repeatable() -> None:
    one = generate_world(seed=11, scale="small", today=TODAY)
    two = generate_world(seed=11, scale="small", today=TODAY)
    reports_one = [advance_day(one).as_dict() for _ in range(5)]
    reports_two = [advance_day(two).as_dict() for _ in range(5)]
    assert reports_one == reports_two
    assert marketplace_snapshot(one) == marketplace_snapshot(two)
    assert one.today == two.today == date(2026, 11, 21)


def test_a_day_changes_only_the_marketplace(small_world: SandboxWorld) -> None:
    psa_before = {name: copy.deepcopy(getattr(small_world, name)) for name in PSA_FIELDS}
    truth_before = copy.deepcopy(small_world.truth)
    market_before = marketplace_snapshot(small_world)
    reports = [advance_day(small_world) for _ in range(10)]
    assert {name: getattr(small_world, name) for name in PSA_FIELDS} == psa_before
    assert small_world.truth == truth_before
    assert small_world.write_log == []
    assert marketplace_snapshot(small_world) != market_before
    assert all(r.increases or r.decreases for r in reports)


def test_day_report_is_json_and_names_every_changed_subscription(small_world: SandboxWorld) -> None:
    before = {sid: s.last_modified for sid, s in small_world.subscriptions.items()}
    report = advance_day(small_world)
    assert isinstance(report, DayReport) and report.day == small_world.today == date(2026, 11, 17)
    as_json = json.loads(json.dumps(report.as_dict()))
    assert as_json["day"] == "2026-11-17"
    touched = {s for s, *_ in report.increases + report.decreases}
    touched |= set(report.new_subscriptions) | set(report.cancelled_subscriptions)
    assert touched <= set(report.changed_subscriptions)
    for sid, sub in small_world.subscriptions.items():
        if sid in report.changed_subscriptions:
            assert sub.last_modified.date() == small_world.today
        else:
            assert sub.last_modified == before[sid]
    for sid, rid, old, new in report.increases:
        assert new > old and small_world.line(sid, rid).ordered == new
    for sid, rid, old, new in report.decreases:
        assert new < old and small_world.line(sid, rid).ordered == new


def test_counts_never_go_negative_and_included_stays_fixed(small_world: SandboxWorld) -> None:
    included = {(s.subscription_id, ln.resource_id): ln.included for s, ln in all_lines(small_world)}
    for _ in range(90):
        advance_day(small_world)
    for sub, line in all_lines(small_world):
        assert line.additional >= 0 and line.used >= 0 and line.used <= max(line.ordered, line.used)
        if (sub.subscription_id, line.resource_id) in included:
            assert line.included == included[(sub.subscription_id, line.resource_id)]
    assert not [s for s in small_world.subscriptions.values()
                if s.status == "active" and s.expiration_date <= small_world.today]


def test_share_of_lines_changed_per_day(small_world: SandboxWorld) -> None:
    def share(world: SandboxWorld, days: int) -> float:
        changed = live = 0
        for _ in range(days):
            live += sum(len(s.lines) for s in world.subscriptions.values() if s.status == "active")
            report = advance_day(world)
            changed += len(report.increases) + len(report.decreases)
        return changed / live

    assert 0.05 <= share(small_world, 20) <= 0.10
    assert 0.005 <= share(generate_world(seed=8, scale="large", today=TODAY), 2) <= 0.015


def test_a_cancelled_subscription_is_marked_and_touched(small_world: SandboxWorld) -> None:
    for _ in range(60):
        before = {sid: s.last_modified for sid, s in small_world.subscriptions.items()}
        report = advance_day(small_world)
        if report.cancelled_subscriptions:
            break
    else:
        pytest.fail("no cancellation in 60 days")
    for sid in report.cancelled_subscriptions:
        sub = small_world.subscriptions[sid]
        assert sub.status == "cancelled" and not sub.auto_renew
        assert sub.last_modified != before[sid] and sub.last_modified.date() == small_world.today
        assert sid in report.changed_subscriptions


def test_new_subscriptions_belong_to_customers_and_are_unbilled(small_world: SandboxWorld) -> None:
    new: list[int] = []
    for _ in range(30):
        new += advance_day(small_world).new_subscriptions
    assert new
    for sid in new:
        sub = small_world.subscriptions[sid]
        assert sub.account_id in small_world.customers
        assert sub.cmp_id == str(sid) and sub.lines
        assert sid not in small_world.truth.contract_for_subscription


def test_a_price_change_reaches_the_catalogue_and_the_live_lines(small_world: SandboxWorld) -> None:
    for _ in range(200):
        report = advance_day(small_world)
        if report.price_changes:
            break
    else:
        pytest.fail("no price change in 200 days")
    resource_id, old, new = report.price_changes[0]
    product = small_world.products[resource_id]
    assert product.price == new != old and product.cost < product.price
    for sub, line in all_lines(small_world):
        if line.resource_id == resource_id and sub.status in ("active", "suspended"):
            assert line.unit_price == new and line.unit_cost == product.cost
            assert sub.subscription_id in report.changed_subscriptions


def test_term_ends_renew_or_expire(small_world: SandboxWorld) -> None:
    renewed = expired = 0
    for _ in range(40):
        report = advance_day(small_world)
        for sid in report.renewed_subscriptions:
            sub = small_world.subscriptions[sid]
            assert sub.auto_renew or sub.status == "cancelled"
            assert sub.expiration_date > small_world.today and sid in report.changed_subscriptions
        for sid in report.expired_subscriptions:
            sub = small_world.subscriptions[sid]
            assert sub.status == "expired" and not sub.auto_renew and sub.expiration_date <= small_world.today
        renewed += len(report.renewed_subscriptions)
        expired += len(report.expired_subscriptions)
    assert renewed > expired


def test_a_term_end_renews_an_auto_renewing_subscription_and_expires_the_rest(small_world: SandboxWorld) -> None:
    renewing, ending = [s for s in small_world.subscriptions.values() if s.status == "active"][:2]
    tomorrow = date(2026, 11, 17)
    for sub, auto_renew in ((renewing, True), (ending, False)):
        sub.auto_renew, sub.expiration_date = auto_renew, tomorrow
        sub.start_date = add_months(tomorrow, -TERM_MONTHS[sub.term])
    report = advance_day(small_world)
    assert renewing.subscription_id in report.renewed_subscriptions
    assert renewing.status == "active"
    assert renewing.expiration_date == add_months(tomorrow, TERM_MONTHS[renewing.term])
    assert ending.subscription_id in report.expired_subscriptions and ending.status == "expired"
    assert {renewing.subscription_id, ending.subscription_id} <= set(report.changed_subscriptions)


# --- properties over seeds ---------------------------------------------------------------------
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_invariants_hold_for_any_seed(seed: int) -> None:
    world = generate_world(seed=seed, scale="small", today=TODAY)
    assert_invariants(world)
    for _ in range(3):
        advance_day(world)
    assert_invariants(world, fresh=False)
