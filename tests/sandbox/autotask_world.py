"""A small hand-built world and app builders for the Autotask simulator tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from aiohttp import web

from bot.sandbox.autotask import autotask_error, create_autotask_app
from bot.sandbox.autotask_limits import AutotaskLimits
from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.world import (
    AutotaskCompany,
    AutotaskContract,
    AutotaskContractService,
    AutotaskService,
    AutotaskUnitChange,
    Credentials,
    SandboxWorld,
)

TODAY = date(2024, 5, 15)
BASE = "/autotask/ATServicesRest/V1.0"
EVERYTHING = {"filter": [{"op": "gte", "field": "id", "value": 0}]}

RECURRING = 100  # Acme's Microsoft 365 contract: 5 units of service 10
TIME_AND_MATERIALS = 101
INACTIVE_RECURRING = 102
MID_MONTH = 103  # starts on the 15th; service 11 went from 1 to 2 units on 2024-03-01
M365, EXCHANGE, RETIRED, DEFENDER = 10, 11, 12, 13


def build_world() -> SandboxWorld:
    world = SandboxWorld(seed=7, today=TODAY, credentials=Credentials.for_seed(7))
    for company in (
        AutotaskCompany(1, "Acme Mfg. Inc.", create_date=datetime(2021, 3, 4, 15, 22, 10, 787000, tzinfo=UTC)),
        AutotaskCompany(2, "Beta LLC"),
        AutotaskCompany(3, "Gamma Co.", is_active=False, company_type=2),
    ):
        world.autotask_companies[company.id] = company
    for service in (
        AutotaskService(M365, "Microsoft 365 Business Standard", Decimal("12.50"), Decimal("10.00")),
        AutotaskService(EXCHANGE, "Exchange Online (Plan 1)", Decimal("4.00"), Decimal("3.20")),
        AutotaskService(RETIRED, "Old Backup", Decimal("1"), Decimal("1"), is_active=False),
        AutotaskService(DEFENDER, "Defender for Business", Decimal("3.00"), Decimal("2.40")),
    ):
        world.autotask_services[service.id] = service
    for contract in (
        AutotaskContract(RECURRING, 1, "Acme - Microsoft 365", number="RS-2024-0001",
                         start_date=date(2024, 1, 1), end_date=date(2024, 12, 31)),
        AutotaskContract(TIME_AND_MATERIALS, 2, "Beta T&M", contract_type=1),
        AutotaskContract(INACTIVE_RECURRING, 3, "Gamma (ended)", status=0,
                         start_date=date(2023, 1, 1), end_date=date(2023, 12, 31)),
        AutotaskContract(MID_MONTH, 1, "Acme - Exchange", start_date=date(2024, 1, 15), end_date=date(2025, 1, 14)),
    ):
        world.autotask_contracts[contract.id] = contract
    world.autotask_contract_services[1000] = AutotaskContractService(
        1000, RECURRING, M365, Decimal("12.50"), Decimal("10.00"), units=5)
    exchange = AutotaskContractService(1001, MID_MONTH, EXCHANGE, Decimal("4.00"), Decimal("3.20"), units=2)
    exchange.adjustments.append(AutotaskUnitChange(
        id=1, contract_id=MID_MONTH, service_id=EXCHANGE, contract_service_id=1001, unit_change=1,
        effective_date=date(2024, 3, 1), adjusted_unit_price=Decimal("4.50"), adjusted_unit_cost=None,
        created=datetime(2024, 2, 20, tzinfo=UTC)))
    world.autotask_contract_services[1001] = exchange
    return world


def world_with_companies(count: int) -> SandboxWorld:
    world = SandboxWorld(seed=3, today=TODAY, credentials=Credentials.for_seed(3))
    for number in range(1, count + 1):
        world.autotask_companies[number] = AutotaskCompany(number, f"Customer {number:04d}")
    return world


def make_app(world: SandboxWorld, knobs: FaultKnobs | None = None, limits: AutotaskLimits | None = None,
             **options) -> tuple[web.Application, web.Application]:
    """The facade mounted at /autotask behind the fault middleware, as the sandbox app mounts it."""
    app = web.Application()
    sub = create_autotask_app(world, limits=limits or AutotaskLimits(latency_factor=0), **options)
    sub.middlewares.insert(0, fault_middleware(knobs or FaultKnobs(), autotask_error))
    app.add_subapp("/autotask", sub)
    return app, sub


def auth_headers(world: SandboxWorld, **override: str) -> dict[str, str]:
    creds = world.credentials
    headers = {"ApiIntegrationCode": creds.autotask_integration_code, "UserName": creds.autotask_username,
               "Secret": creds.autotask_secret}
    headers.update(override)
    return headers
