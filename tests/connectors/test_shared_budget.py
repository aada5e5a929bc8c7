"""While a tenant's queue job runs, every vendor request also takes its turn from the tenant's shared budget, for
each window the client's own limiter keeps (bot.connectors.shared_budget)."""

import httpx

from bot.connectors.http import RequestLimiter, VendorHttp
from bot.connectors.psa.autotask.http import EndpointLimiter, tenant_hour_limiter
from bot.connectors.shared_budget import SHARED_BUDGET


class Budget:
    def __init__(self, sent: list[str]) -> None:
        self.sent = sent
        self.takes: list[tuple[str, int, float]] = []

    async def take(self, *, system: str, per_window: int, window_s: float) -> None:
        self.takes.append((system, per_window, window_s))
        self.sent.append("take")


def vendor_http(sent: list[str], limiter: RequestLimiter) -> VendorHttp:
    async def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={})

    return VendorHttp(system="pax8", client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
                      error_message=lambda r: "", limiter=limiter)


async def test_each_request_takes_a_turn_from_the_shared_budget_before_it_is_sent():
    sent: list[str] = []
    http = vendor_http(sent, RequestLimiter(max_concurrent=4, per_window=1000, window_s=60.0))
    budget = Budget(sent)
    token = SHARED_BUDGET.set(budget)
    try:
        for path in ("/a", "/b"):
            await http.request("GET", f"http://vendor.test{path}", operation="read", idempotent=True)
    finally:
        SHARED_BUDGET.reset(token)
    await http.request("GET", "http://vendor.test/c", operation="read", idempotent=True)  # no job: local pace only
    await http.client.aclose()
    assert sent == ["take", "/a", "take", "/b", "/c"]
    assert budget.takes == [("pax8", 1000, 60.0)] * 2


async def test_a_limiter_without_a_window_takes_nothing():
    sent: list[str] = []
    http = vendor_http(sent, RequestLimiter(max_concurrent=4))
    token = SHARED_BUDGET.set(Budget(sent))
    try:
        await http.request("GET", "http://vendor.test/a", operation="read", idempotent=True)
    finally:
        SHARED_BUDGET.reset(token)
    await http.client.aclose()
    assert sent == ["/a"]


def test_autotasks_endpoint_limiters_share_the_hourly_threshold():
    limiter = EndpointLimiter(max_concurrent=3, tenant_hour=tenant_hour_limiter(10_000))
    assert limiter.windows() == [(10_000, 3600.0)]
