"""Every request AutotaskClient sends, checked against the vendor's (partial) swagger.

The stored swagger copy stops at ContractServiceBundleAdjustments (tests/specs/README.md): it covers
Companies, Contracts, ContractNotes and ContractServiceAdjustments with their child routes, not
ContractServices, ContractServiceUnits, Services, ThresholdInformation or zoneInformation. Requests to
those are listed explicitly; every other request must match a swagger path and method and carry the
operation's required headers, query parameters and body. nextPageUrl cursors are the vendor's own URLs
(followed verbatim), so they are not checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.sandbox.autotask import move_zone
from tests.connectors.psa.autotask.test_autotask import RecordingTransport, client_for, start_sandbox
from tests.connectors.psa.autotask.test_autotask_posting import request_for, running_service

SWAGGER = Path(__file__).parents[3] / "specs" / "autotask-rest-swagger-v1-partial.json"
NOT_IN_THE_PARTIAL_COPY = {
    ("POST", "/V1.0/ContractServices/query"),
    ("POST", "/V1.0/ContractServiceUnits/query"),
    ("POST", "/V1.0/Services/query"),
    ("POST", "/V1.0/ContractServiceBundles/query"),  # the copy stops at ContractServiceBundleAdjustments
    ("POST", "/V1.0/ContractServiceBundleUnits/query"),
    ("POST", "/V1.0/ServiceBundles/query"),
    ("GET", "/V1.0/ThresholdInformation"),
    ("GET", "/v1.0/zoneInformation"),
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    parameters: tuple[dict, ...]


def load_operations() -> list[Operation]:
    spec = json.loads(SWAGGER.read_text())
    assert spec["basePath"] == "/ATServicesRest"
    operations = []
    for template, methods in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[0-9]+", re.escape(template)) + "$")
        for method, operation in methods.items():
            operations.append(Operation(method.upper(), template, pattern, tuple(operation.get("parameters", ()))))
    return operations


def api_path(request: httpx.Request) -> str:
    """The path after the zone's /ATServicesRest (the swagger's basePath)."""
    path = request.url.path
    at = path.lower().index("/atservicesrest")
    return path[at + len("/ATServicesRest"):]


def problems_with(request: httpx.Request, operations: list[Operation]) -> list[str]:
    path, method = api_path(request), request.method
    if (method, path) in NOT_IN_THE_PARTIAL_COPY or path.endswith("/query/next"):
        return []
    matches = [op for op in operations if op.pattern.match(path)]
    if not matches:
        return [f"{method} {path}: no such path in the swagger"]
    operation = next((op for op in matches if op.method == method), None)
    if operation is None:
        return [f"{method} {path}: the swagger allows only {sorted(op.method for op in matches)}"]
    found = []
    for parameter in operation.parameters:
        if not parameter.get("required"):
            continue
        name, where = parameter["name"], parameter["in"]
        if where == "header" and name not in request.headers:
            found.append(f"{method} {operation.template}: header {name} missing")
        if where == "query" and name not in request.url.params:
            found.append(f"{method} {operation.template}: query parameter {name} missing")
        if where == "body" and not isinstance(json.loads(request.content or b"null"), dict):
            found.append(f"{method} {operation.template}: JSON body missing")
    return found


async def test_every_request_follows_the_swagger():
    sandbox = await start_sandbox()
    transport = RecordingTransport()
    try:
        async with client_for(sandbox, transport=transport, page_size=100) as connector:
            assert (await connector.test_connection()).ok
            await connector.list_companies()
            await connector.list_contracts()
            services = await connector.list_services()
            await connector.read_units([s.external_id for s in services])
            service = running_service(sandbox.world)
            request = request_for(sandbox.world, service, to=service.units + 1)
            await connector.find_posted(request)
            await connector.post_adjustment(request)
            move_zone(sandbox.world, "webservices17")
            await connector.find_posted(request)
    finally:
        await sandbox.stop()
    operations = load_operations()
    problems = [p for r in transport.requests for p in problems_with(r, operations)]
    assert problems == []
    checked = {(r.method, api_path(r)) for r in transport.requests}
    assert ("POST", f"/V1.0/Contracts/{service.contract_id}/ServiceAdjustments") in checked
    assert ("POST", f"/V1.0/Contracts/{service.contract_id}/Notes") in checked
    assert {("POST", "/V1.0/Companies/query"), ("POST", "/V1.0/Contracts/query"),
            ("POST", "/V1.0/ContractNotes/query"), ("GET", "/V1.0/ContractServiceAdjustments/entityInformation")
            } <= checked
    zone_calls = [r for r in transport.requests if api_path(r) == "/v1.0/zoneInformation"]
    assert len(zone_calls) == 2 and all("Secret" not in r.headers for r in zone_calls)


def test_the_checker_catches_a_wrong_route():
    operations = load_operations()
    wrong = httpx.Request("POST", "http://h/ATServicesRest/V1.0/ContractServiceAdjustments/query", json={})
    assert problems_with(wrong, operations) == [
        "POST /V1.0/ContractServiceAdjustments/query: no such path in the swagger"]
    unsigned = httpx.Request("POST", "http://h/ATServicesRest/V1.0/Contracts/5/ServiceAdjustments", json={},
                             headers={"UserName": "u"})
    assert problems_with(unsigned, operations) == [
        "POST /V1.0/Contracts/{parentId}/ServiceAdjustments: header ApiIntegrationCode missing",
        "POST /V1.0/Contracts/{parentId}/ServiceAdjustments: header Secret missing"]
