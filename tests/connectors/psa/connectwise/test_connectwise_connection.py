"""test_connection says exactly what is wrong; bad credentials and malformed replies (from a tiny aiohttp
server) give clear typed errors, never a crash, and never a write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.connectors.connection import Connection
from bot.connectors.errors import AuthenticationError, MalformedReplyError, RejectedError, ServerError
from bot.connectors.http import RetryPolicy
from bot.connectors.psa.connectwise.client import ConnectWiseClient
from bot.domain.records import AdjustmentRequest
from bot.sandbox.app import Sandbox
from tests.connectors.psa.connectwise.test_connectwise import TODAY, client_for, connection_for


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    running = await Sandbox.generate(seed=1, scale="small", today=TODAY).start()
    yield running
    await running.stop()


async def check(sandbox: Sandbox, **overrides: str):
    connector = client_for(sandbox, **{f"option_{k}": v for k, v in overrides.items()})
    try:
        return await connector.test_connection()
    finally:
        await connector.aclose()


async def test_a_good_connection_reports_its_facts(sandbox: Sandbox) -> None:
    result = await check(sandbox)
    assert result.ok, result.detail
    assert result.facts["codebase"] == "v4_6_release/"
    assert result.facts["api_current_version"] == "2025.16"
    assert result.facts["api_version_pinned"] == "2025.8"
    assert result.facts["api_base"].endswith("/connectwise/v4_6_release/apis/3.0")
    assert result.facts["companies"] == str(len(sandbox.world.connectwise_companies))
    assert result.facts["agreements"] == str(len(sandbox.world.connectwise_agreements))


async def test_an_unknown_company(sandbox: Sandbox) -> None:
    result = await check(sandbox, company_id="nobodyhere")
    assert not result.ok
    assert result.detail.startswith("ConnectWise does not know company nobodyhere")


async def test_wrong_keys_are_told_apart_from_the_rest(sandbox: Sandbox) -> None:
    result = await check(sandbox, private_key="wrong-private-key")
    assert not result.ok and "rejected the API keys" in result.detail and "HTTP 401" in result.detail
    assert "wrong-private-key" not in result.detail
    connector = client_for(sandbox, option_private_key="wrong-private-key")
    with pytest.raises(AuthenticationError) as refused:
        await connector.list_companies()
    assert refused.value.status == 401 and "wrong-private-key" not in str(refused.value)
    assert connector.stats.by_status["401"] == 1  # not retried
    await connector.aclose()


async def test_an_unregistered_client_id(sandbox: Sandbox) -> None:
    result = await check(sandbox, client_id="00000000-0000-0000-0000-000000000000")
    assert not result.ok
    assert "refused the clientId '00000000-0000-0000-0000-000000000000'" in result.detail
    assert "is not a registered clientId" in result.detail


async def test_a_missing_permission_is_named(sandbox: Sandbox) -> None:
    sandbox.faults["connectwise"].update({"error_rates": {403: 1.0}})
    result = await check(sandbox, codebase="v4_6_release")  # the override skips the companyinfo lookup
    assert not result.ok
    assert "may not read companies (HTTP 403)" in result.detail
    assert "Company Maintenance" in result.detail


async def test_a_wrong_codebase_is_a_missing_api(sandbox: Sandbox) -> None:
    result = await check(sandbox, codebase="v2099_1/")
    assert not result.ok and "no ConnectWise API at" in result.detail and "v2099_1/apis/3.0" in result.detail


async def test_an_unreachable_site() -> None:
    connection = Connection("connectwise", "http://127.0.0.1:9", {"company_id": "x", "public_key": "p",
                                                                  "client_id": "c"}, {"private_key": "k"})
    connector = ConnectWiseClient.from_connection(connection, retry=RetryPolicy(max_attempts=2, base_delay_s=0.001))
    result = await connector.test_connection()
    assert not result.ok and result.detail.startswith("cannot reach the ConnectWise site http://127.0.0.1:9")
    await connector.aclose()


def test_a_connection_without_its_options_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks option client_id, secret private_key"):
        ConnectWiseClient.from_connection(Connection("connectwise", "https://x", {"company_id": "a",
                                                                                  "public_key": "b"}, {}))


async def test_the_login_never_shows_its_private_key(sandbox: Sandbox) -> None:
    connector = client_for(sandbox)
    assert sandbox.world.credentials.connectwise_private_key not in repr(connector.api.login)
    await connector.aclose()


# --- malformed replies -----------------------------------------------------------------------------
class OddServer:
    """A tiny aiohttp server that answers ConnectWise paths with whatever a test sets in `replies`."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], tuple[int, str, str]] = {}
        self.seen: list[tuple[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def answer(self, request: web.Request) -> web.Response:
        key = (request.method, request.path)
        self.seen.append(key)
        status, body, content_type = self.replies.get(key, (404, '{"code":"NotFound","message":"nothing"}',
                                                             "application/json"))
        return web.Response(status=status, text=body, content_type=content_type)

    async def start(self) -> OddServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        self.replies[("GET", "/login/companyinfo/odd")] = (200, '{"Codebase": "v1/"}', "application/json")
        return self

    def client(self) -> ConnectWiseClient:
        connection = Connection("connectwise", self.url, {"company_id": "odd", "public_key": "p", "client_id": "c"},
                                {"private_key": "secret-odd-key"})
        return ConnectWiseClient.from_connection(connection, retry=RetryPolicy(max_attempts=2, base_delay_s=0.001))


@pytest.fixture
async def odd() -> AsyncIterator[OddServer]:
    server = await OddServer().start()
    yield server
    await server.runner.cleanup()  # type: ignore[union-attr]


API = "/v1/apis/3.0"


@pytest.mark.parametrize(("body", "content_type", "fragment"), [
    ("<html><body>Sign in</body></html>", "text/html", "expected JSON, got text/html"),
    ('[{"id": 1, "name": "Ac', "application/json", "expected JSON"),
    ('{"id": 1}', "application/json", "not a list of records"),
    ('[{"name": "no id"}]', "application/json", "not a list of records"),
])
async def test_garbage_lists_are_malformed_replies(odd: OddServer, body: str, content_type: str,
                                                   fragment: str) -> None:
    odd.replies[("GET", f"{API}/company/companies")] = (200, body, content_type)
    connector = odd.client()
    with pytest.raises(MalformedReplyError, match=fragment):
        await connector.list_companies()
    await connector.aclose()


async def test_records_missing_what_we_need_are_malformed(odd: OddServer) -> None:
    odd.replies[("GET", f"{API}/finance/agreements")] = (200, '[{"id": 3, "name": "No company"}]',
                                                         "application/json")
    connector = odd.client()
    with pytest.raises(MalformedReplyError, match="unreadable agreement record"):
        await connector.list_contracts()
    await connector.aclose()


async def test_an_html_error_page_is_a_server_error_with_its_text(odd: OddServer) -> None:
    odd.replies[("GET", f"{API}/company/companies")] = (502, "<html><h1>502 Bad Gateway</h1></html>", "text/html")
    connector = odd.client()
    with pytest.raises(ServerError, match="Bad Gateway") as failed:
        await connector.list_companies()
    assert failed.value.status == 502
    await connector.aclose()


async def test_a_site_that_is_not_connectwise(odd: OddServer) -> None:
    odd.replies[("GET", "/login/companyinfo/odd")] = (200, "<html>Welcome</html>", "text/html")
    connector = odd.client()
    result = await connector.test_connection()
    assert not result.ok and "does not answer like a ConnectWise site" in result.detail
    await connector.aclose()
    odd.replies[("GET", "/login/companyinfo/odd")] = (200, '{"CompanyName": "odd"}', "application/json")
    connector = odd.client()
    with pytest.raises(MalformedReplyError, match="companyinfo has no Codebase"):
        await connector.list_companies()
    await connector.aclose()


def odd_request() -> AdjustmentRequest:
    return AdjustmentRequest(idempotency_key="ss-odd", service_external_id="7", contract_external_id="3",
                             catalog_id=None, units_from=1, units_to=2, effective_date=TODAY, prorate=False)


async def test_a_garbled_addition_means_nothing_is_written(odd: OddServer) -> None:
    odd.replies[("GET", f"{API}/finance/agreements/3/additions/7")] = (200, "not json at all", "text/plain")
    connector = odd.client()
    with pytest.raises(MalformedReplyError):
        await connector.post_adjustment(odd_request())
    assert not [seen for seen in odd.seen if seen[0] == "PATCH"]
    await connector.aclose()


async def test_a_garbled_reply_to_the_patch_is_an_unknown_outcome(odd: OddServer) -> None:
    odd.replies[("GET", f"{API}/finance/agreements/3/additions/7")] = (
        200, '{"id": 7, "quantity": 1, "description": "x"}', "application/json")
    odd.replies[("PATCH", f"{API}/finance/agreements/3/additions/7")] = (200, "<html>OK</html>", "text/html")
    connector = odd.client()
    with pytest.raises(MalformedReplyError) as garbled:
        await connector.post_adjustment(odd_request())
    assert garbled.value.outcome_unknown
    assert odd.seen.count(("PATCH", f"{API}/finance/agreements/3/additions/7")) == 1
    await connector.aclose()


async def test_a_validation_refusal_keeps_every_field_message(odd: OddServer) -> None:
    odd.replies[("GET", f"{API}/finance/agreements/3/additions/7")] = (
        200, '{"id": 7, "quantity": 1}', "application/json")
    odd.replies[("PATCH", f"{API}/finance/agreements/3/additions/7")] = (
        400, '{"code":"InvalidObject","message":"addition object is invalid","errors":['
             '{"code":"InvalidField","message":"quantity is too big","resource":"addition","field":"quantity"},'
             '{"code":"InvalidField","message":"unitPrice is odd","resource":"addition","field":"unitPrice"}]}',
        "application/json")
    connector = odd.client()
    with pytest.raises(RejectedError) as refused:
        await connector.post_adjustment(odd_request())
    assert refused.value.vendor_message == ("addition object is invalid (InvalidObject); quantity: quantity is too "
                                            "big; unitPrice: unitPrice is odd")
    await connector.aclose()


def test_connection_for_keeps_the_secret_apart(sandbox: Sandbox) -> None:
    connection = connection_for(sandbox)
    assert "private_key" not in repr(connection)
