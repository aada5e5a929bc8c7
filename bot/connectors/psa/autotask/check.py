"""Autotask test_connection: which zone, whether the credentials work, which permissions are missing.

Steps, each with its own verdict: zone discovery (the user name; an unknown user is HTTP 500 there
[client: django-autotask]), ThresholdInformation (the first authenticated call, and the hourly usage
[spec]), then one probe per entity SeatSync needs: a one-record query for each entity it reads, and
entityInformation (canCreate, userAccessForCreate [spec: EntityInformationResultModel]) for each one it
creates, since adjustments cannot be queried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    UnreachableError,
)
from bot.connectors.psa.autotask.http import SYSTEM
from bot.connectors.psa.autotask.records import query_body
from bot.connectors.psa.autotask.session import AutotaskSession, UnknownApiUser, Zone
from bot.domain.records import ConnectionCheck

# service bundles are read and adjusted like contract services (reads.py, posting.py): a user who may not touch
# them finds out here, not at the first post of a bundle's seats
READ_ENTITIES = ("Companies", "Contracts", "Services", "ContractServices", "ContractServiceUnits", "ContractNotes",
                 "ServiceBundles", "ContractServiceBundles", "ContractServiceBundleUnits")
CREATE_ENTITIES = ("ContractServiceAdjustments", "ContractServiceBundleAdjustments", "ContractNotes")
REAL_BASE = "https://webservices.autotask.net/ATServicesRest"


async def check_connection(session: AutotaskSession) -> ConnectionCheck:
    user = session.username
    missing = session.missing_settings()
    if missing:
        return _failed(f"The Autotask connection is incomplete: enter {', '.join(missing)}.")
    try:
        zone = await session.zone()
    except UnknownApiUser as exc:
        return _failed(f"{exc.vendor_message.rstrip('.')}. Check the API user name "
                       "(the API-only user's e-mail address).")
    except UnreachableError as exc:
        return _failed(f"Cannot reach Autotask at {session.base_url}: {exc.vendor_message}. Check the URL and "
                       "that this server can reach it.")
    except (NotFoundError, MalformedReplyError) as exc:
        return _failed(f"{session.base_url} did not answer zone discovery like Autotask's REST API "
                       f"({exc.vendor_message}); the URL should be {REAL_BASE}.")
    except ConnectorError as exc:
        return _failed(f"Zone discovery failed: {exc.describe()}")
    facts = {"zone_url": zone.url, "zone_name": zone.name or "?", "api_user": user}

    try:
        threshold = await session.call("GET", "ThresholdInformation", "/V1.0/ThresholdInformation",
                                       operation="ThresholdInformation", idempotent=True)
    except AuthenticationError as exc:
        return _failed(f"Autotask rejected the credentials of {user} (zone {zone.url}): check the secret and the "
                       f"API integration code (tracking identifier). Autotask said: {exc.vendor_message}", facts)
    except ConnectorError as exc:
        return _failed(f"The first authenticated call failed: {exc.describe()}", facts)
    facts.update(_usage(threshold))

    missing, problems = await _probe_permissions(session)
    if missing:
        return _failed(f"The API user {user} lacks Autotask security permissions to: {', '.join(missing)}. "
                       "Grant them in the API user's security level.", facts)
    if problems:
        return _failed("Some checks failed: " + "; ".join(problems), facts)
    return ConnectionCheck(ok=True, system=SYSTEM, facts=facts, detail=(
        f"Connected to Autotask ({_zone_label(zone)}) as {user}; it can read companies, contracts, services and "
        "units, and create service adjustments and contract notes."))


async def _probe_permissions(session: AutotaskSession) -> tuple[list[str], list[str]]:
    reads = [session.call("POST", entity, f"/V1.0/{entity}/query", operation=f"{entity}.query", idempotent=True,
                          json=query_body([], ("id",), page_size=1)) for entity in READ_ENTITIES]
    creates = [session.call("GET", entity, f"/V1.0/{entity}/entityInformation",
                            operation=f"{entity}.entityInformation", idempotent=True) for entity in CREATE_ENTITIES]
    outcomes = await asyncio.gather(*reads, *creates, return_exceptions=True)
    missing: list[str] = []
    problems: list[str] = []
    steps = [("read", e) for e in READ_ENTITIES] + [("create", e) for e in CREATE_ENTITIES]
    for (action, entity), outcome in zip(steps, outcomes, strict=True):
        if isinstance(outcome, PermissionDeniedError):
            missing.append(f"{action} {entity}")
        elif isinstance(outcome, ConnectorError):
            problems.append(f"{action} {entity}: {outcome.describe()}")
        elif isinstance(outcome, BaseException):
            raise outcome
        elif action == "create" and not _may_create(outcome):
            missing.append(f"create {entity}")
    return missing, problems


def _may_create(reply: Any) -> bool:
    info = reply.get("info") if isinstance(reply, dict) else None
    if not isinstance(info, dict):
        return True  # nothing says otherwise; the first post will tell
    return info.get("canCreate") is not False and str(info.get("userAccessForCreate", "All")).lower() != "none"


def _usage(reply: Any) -> dict[str, str]:
    if not isinstance(reply, dict):
        return {}
    used, limit = reply.get("currentTimeframeRequestCount"), reply.get("externalRequestThreshold")
    minutes = reply.get("requestThresholdTimeframe")
    if used is None or limit is None:
        return {}
    return {"requests_used": f"{used} of {limit} per {minutes or 60} minutes"}


def _zone_label(zone: Zone) -> str:
    return f"{zone.name}, {zone.url}" if zone.name else zone.url


def _failed(detail: str, facts: dict[str, str] | None = None) -> ConnectionCheck:
    return ConnectionCheck(ok=False, system=SYSTEM, detail=detail, facts=facts or {})
