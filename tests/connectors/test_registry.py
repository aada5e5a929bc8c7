"""A vendor is one package plus one registry entry. A fake PSA, registered by this module alone (no other module
knows it), is offered by the config modal through the real Slack endpoint, is a choice of the CLI, and the
scripted demo links, posts and judges against it; once unregistered it is offered nowhere."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from bot.__main__ import main
from bot.clock import ManualClock
from bot.commands.config.views import config_field_block
from bot.connectors import http
from bot.connectors.change_notifications import SIGNED_JSON
from bot.connectors.connection import Connection
from bot.connectors.errors import RejectedError
from bot.connectors.factory import build_psa
from bot.connectors.fields import ConnectionField, ConnectionFields
from bot.connectors.http import CallStats
from bot.connectors.registry import BUNDLED, VENDORS, Registry, UnknownVendor
from bot.connectors.vendor import Capabilities, DemoSupport, IdempotencyKeyTrace, Vendor
from bot.connectors.vendor_loop import unwrapped
from bot.db.app_settings import load_app_settings
from bot.db.connections import load_connection
from bot.domain.proration import business_date
from bot.domain.records import (
    AdjustmentRequest,
    ConnectionCheck,
    PostResult,
    PsaCompanyRecord,
    PsaContractRecord,
    PsaServiceRecord,
)
from bot.sandbox.app import Sandbox
from bot.sandbox.world import SandboxWorld
from bot.slack.ids import ConfigId
from bot.sync.failures import explain_failure
from tests.commands.test_config import open_config, open_modal, pick, press_test, submit
from tests.commands.test_seats_command import DANA, slack, start_app  # noqa: F401 - slack: the simulator fixture
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY

FAKE = "fakepsa"
TOKEN = "open-sesame-4711"


# --- the fake vendor: a PSA in memory ----------------------------------------------------------------

@dataclass
class FakeBook:
    """What the fake PSA bills: companies, contracts and services by id, and the keys of the changes posted."""

    companies: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (company id, name)
    services: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (contract id, name)
    units: dict[str, int] = field(default_factory=dict)
    posted: dict[str, PostResult] = field(default_factory=dict)  # idempotency key -> its post

    def bill(self, number: int, company: str, contract: str, service: str, units: int) -> str:
        key = str(number)
        self.companies[key], self.contracts[key], self.services[key] = company, (key, contract), (key, service)
        self.units[key] = units
        return key


class FakePsaClient:
    system = FAKE
    supports_future_dates = True

    def __init__(self, connection: Connection, book: FakeBook) -> None:
        self.connection, self.book, self.stats = connection, book, CallStats()

    def _call(self, operation: str) -> None:
        self.stats.record(operation, 200)

    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]:
        self._call("companies")
        return [PsaCompanyRecord(external_id=i, name=name) for i, name in self.book.companies.items()]

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]:
        self._call("contracts")
        return [PsaContractRecord(external_id=i, company_external_id=company, name=name, status="active")
                for i, (company, name) in self.book.contracts.items()]

    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]:
        self._call("services")
        return [PsaServiceRecord(external_id=i, contract_external_id=contract, name=name, units=self.book.units[i])
                for i, (contract, name) in self.book.services.items()]

    async def read_units(self, service_external_ids: Sequence[str]) -> dict[str, int]:
        self._call("units")
        return {i: self.book.units[i] for i in service_external_ids if i in self.book.units}

    async def find_posted(self, request: AdjustmentRequest) -> PostResult | None:
        self._call("find")
        return self.book.posted.get(request.idempotency_key)

    async def post_adjustment(self, request: AdjustmentRequest) -> PostResult:
        self._call("post")
        if self.book.units[request.service_external_id] != request.units_from:
            raise RejectedError(FAKE, f"service {request.service_external_id} has moved")
        self.book.units[request.service_external_id] = request.units_to
        result = PostResult(psa_reference=f"change-{len(self.book.posted) + 1}", units_after=request.units_to)
        self.book.posted[request.idempotency_key] = result
        return result

    async def test_connection(self) -> ConnectionCheck:
        self._call("test")
        if self.connection.secrets.get("token") != TOKEN:
            return ConnectionCheck(ok=False, system=FAKE, detail="Fake PSA does not know that token.")
        tenant = self.connection.options["tenant"]
        return ConnectionCheck(ok=True, system=FAKE, detail=f"Connected to Fake PSA as {tenant}.")

    async def aclose(self) -> None:
        pass


def fake_vendor(book: FakeBook) -> Vendor:
    def explain(error) -> str | None:
        return f"Fake PSA moved under us: {error.vendor_message}" if "moved" in error.vendor_message else None

    return Vendor(
        key=FAKE, kind="psa", label="Fake PSA",
        connection=ConnectionFields("Fake PSA URL", "e.g. https://fake.example", (
            ConnectionField("tenant", "Tenant"), ConnectionField("token", "API token", secret=True))),
        build=lambda connection, **options: FakePsaClient(connection, book),
        capabilities=Capabilities(future_dated_changes=True,
                                  idempotency_key=IdempotencyKeyTrace("in its book of posts", in_every_write=True)),
        explain_error=explain,
        demo=DemoSupport(connection=lambda config: ("https://fake.example", {"tenant": "demo"}, {"token": TOKEN}),
                         service_units=lambda world, service_id: book.units.get(str(service_id))),
    )


@pytest.fixture
def fake_book() -> Iterator[FakeBook]:
    book = FakeBook()
    with VENDORS.registered(fake_vendor(book)):
        yield book
    assert FAKE not in VENDORS


# --- offered by the config modal, through the real Slack endpoint ------------------------------------

def psa_choices(modal: dict[str, Any]) -> dict[str, str]:
    block = next(b for b in modal["blocks"] if b.get("block_id") == ConfigId.PSA_BLOCK)
    return {o["value"]: o["text"]["text"] for o in block["element"]["options"]}


async def test_the_config_modal_offers_a_registered_psa_with_its_fields_test_and_save(
        aiohttp_client, slack, tmp_path, database_url, fake_book):  # noqa: F811 - slack is a fixture
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    modal = await open_config(sender, recorder)
    assert psa_choices(modal) == {"autotask": "Autotask", "connectwise": "ConnectWise", "halopsa": "HaloPSA",
                                  FAKE: "Fake PSA"}
    modal = await pick(sender, recorder, "psa", FAKE)
    labels = {b["block_id"]: b["label"]["text"] for b in modal["blocks"] if b["type"] == "input"}
    assert {labels[config_field_block(FAKE, name)] for name in ("base_url", "tenant", "token")} == \
        {"Fake PSA URL", "Tenant", "API token"}
    assert "No Fake PSA connection is saved yet" in json.dumps(modal["blocks"])

    typed = {config_field_block(FAKE, "base_url"): "https://fake.example", config_field_block(FAKE, "tenant"): "msp",
             config_field_block(FAKE, "token"): TOKEN}
    assert await press_test(sender, recorder, "psa", FAKE, typed) == ":white_check_mark: Connected to Fake PSA as msp."
    saved = await submit(sender, recorder, typed)

    assert saved.json["response_action"] == "update", saved.json
    assert "Fake PSA connection saved; secrets replaced: token." in json.dumps(saved.json["view"])
    async with context.sessions() as session:
        stored = await load_connection(session=session, box=context.box, system=FAKE)
        assert (await load_app_settings(session=session)).psa == FAKE
    assert VENDORS.get(stored.system).kind == "psa"
    assert (stored.options, stored.secrets) == ({"tenant": "msp"}, {"token": TOKEN})


async def test_without_the_entry_the_modal_offers_only_the_bundled_psas(
        aiohttp_client, slack, tmp_path, database_url):  # noqa: F811 - slack is a fixture
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)
    assert psa_choices(open_modal(recorder, DANA)) == {"autotask": "Autotask", "connectwise": "ConnectWise",
                                                       "halopsa": "HaloPSA"}


# --- a choice of the CLI, and the demo runs against it ------------------------------------------------

def bill_a_line_of(world: SandboxWorld, book: FakeBook) -> tuple[str, int]:
    """The fake PSA bills one of the world's lines, named as the marketplace names it, 3 units short; returns
    the service's id and the line's count."""
    for subscription in world.subscriptions.values():
        customer = world.customers[subscription.account_id]
        siblings = [s.name for s in world.subscriptions.values() if s.account_id == subscription.account_id]
        names = [world.products[line.resource_id].name for line in subscription.lines]
        if subscription.status != "active" or siblings.count(subscription.name) > 1:
            continue
        for line in subscription.lines:
            product = world.products[line.resource_id].name
            if line.ordered > 3 and names.count(product) == 1:
                service = book.bill(9001, customer.name, subscription.name, product, units=line.ordered - 3)
                return service, line.ordered
    raise AssertionError("the world has no line to bill")


def test_the_cli_offers_it_and_the_demo_links_posts_and_judges_against_it(fake_book, monkeypatch, tmp_path,
                                                                          capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the demo's own temporary database
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEATSYNC_SECRET_KEY", TEST_SECRET_KEY)
    # the world `seatsync demo` generates for seed 1 on the pinned day; the fake PSA bills one of its lines
    world = Sandbox.generate(seed=1, scale="small", today=business_date(PINNED_NOW, "UTC")).world
    service, count = bill_a_line_of(world, fake_book)

    assert main(["demo", "--once", "--psa", FAKE, "--days", "0"], clock=ManualClock(PINNED_NOW)) == 0

    out = capsys.readouterr().out
    assert f"SeatSync demo: odin -> {FAKE}" in out and "and the PSA (1 services)" in out
    result = json.loads(out.strip().splitlines()[-1])
    assert (result["linked"], result["adjustments_posted"], result["failed"], result["in_sync"]) == (1, 1, 0, True)
    assert fake_book.units[service] == count and len(fake_book.posted) == 1


def test_the_cli_refuses_it_once_it_is_gone(capsys):
    assert FAKE not in VENDORS
    with pytest.raises(SystemExit) as refused:
        main(["demo", "--once", "--psa", FAKE])
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --psa: invalid choice: '{FAKE}'" in error and "--psa {autotask,connectwise,halopsa}" in error


# --- what the rest of SeatSync reads from an entry ---------------------------------------------------

def test_the_factory_labels_and_failure_words_come_from_the_entry(fake_book):
    client = build_psa(Connection(FAKE, "https://fake.example", {"tenant": "t"}, {"token": TOKEN}))
    assert isinstance(unwrapped(client), FakePsaClient) and VENDORS.label(FAKE) == "Fake PSA"
    assert explain_failure(RejectedError(FAKE, "service 7 has moved")).startswith("Fake PSA moved under us")
    assert explain_failure(RejectedError(FAKE, "no such contract")) == \
        "Fake PSA refused the change: no such contract"
    with pytest.raises(UnknownVendor, match=r"'fakepsa' is not a marketplace SeatSync can read \(odin, ingram, pax8\)"):
        VENDORS.get(FAKE, "marketplace")


def test_an_entry_is_checked_when_it_is_made_and_registered():
    book = FakeBook()
    registry = Registry([fake_vendor(book)])
    with pytest.raises(ValueError, match="registered already"):
        registry.register(fake_vendor(book))
    with pytest.raises(ValueError, match="lower-case letters"):
        Vendor(key="Fake PSA", kind="psa", label="x", connection=ConnectionFields("URL", "", ()), build=print)
    with pytest.raises(ValueError, match="needs webhook_secret"):
        Vendor(key="pushy", kind="marketplace", label="x", connection=ConnectionFields("URL", "", ()), build=print,
               capabilities=Capabilities(webhooks=SIGNED_JSON))
    with pytest.raises(ValueError, match="the demo's verdict needs DemoSupport.find_line"):
        Vendor(key="market", kind="marketplace", label="x", connection=ConnectionFields("URL", "", ()), build=print,
               demo=DemoSupport(connection=lambda config: ("", {}, {})))
    with pytest.raises(RuntimeError), registry.registered(Vendor(key="brief", kind="psa", label="x",
                                                                 connection=ConnectionFields("URL", "", ()),
                                                                 build=print)):
        raise RuntimeError("the block fails")
    assert "brief" not in registry and registry.label("brief") == "brief"  # a stored key no longer registered


async def test_each_bundled_vendor_builds_the_client_its_entry_describes(today):
    config = Sandbox.generate(seed=1, scale="small", today=today).config()
    assert [v.key for v in BUNDLED] == ["odin", "ingram", "pax8", "autotask", "connectwise", "halopsa"]
    for vendor in BUNDLED:
        base_url, options, secrets = vendor.demo.connection(config)
        client = vendor.build(Connection(vendor.key, base_url, options, secrets))
        try:
            assert client.system == vendor.key
            if vendor.kind == "psa":
                assert client.supports_future_dates is vendor.capabilities.future_dated_changes
        finally:
            await client.aclose()


async def test_vendor_clients_share_one_tls_context(today, monkeypatch):
    """Loading the CA bundle costs about 60 ms of CPU; clients are built per cycle and per Test connection."""
    http.shared_tls_context()  # built at most once per process, perhaps by an earlier test
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    config = Sandbox.generate(seed=1, scale="small", today=today).config()
    for vendor in [*BUNDLED, *BUNDLED]:
        base_url, options, secrets = vendor.demo.connection(config)
        await vendor.build(Connection(vendor.key, base_url, options, secrets)).aclose()
    assert built == []
