"""Posting a seat change to a ConnectWise agreement addition, exactly once.

Pattern 1 of the notes (shared/apis/connectwise.md B7): one PATCH of the existing addition, absolute, so
the addition keeps one line per subscription and a repeat of the same PATCH changes nothing:
- `replace quantity` = the target seats (`request.units_to`);
- `replace description` = whatever text the MSP had there, then `[seatsync:<key>] <human line>`.
  Everything from the first `[seatsync:` on is SeatSync's and is replaced on the next post; the text
  before it is kept. The description field is what the addition keeps and find_posted reads back.
- `replace unitPrice` / `unitCost` when the request carries them (None keeps ConnectWise's price);
- `replace prorateCurrentPeriodFlag` = request.prorate and the agreement's prorateFlag. Sent as false
  too, so a flag an earlier post left on cannot bill an unwanted prorated amount (and cannot make
  every later PATCH of that addition fail once the agreement stops prorating). With prorateFlag on,
  ConnectWise prorates a mid-period change whatever the flag says; the flag only bills it now.
The addition is read first (its description and cancelledDate), unless the posting pass has just read
it (`current`). The PATCH reply is the addition as ConnectWise stored it (B3: PATCH returns 200 with the record), so its
quantity is the read-back; no second GET. A 400 InvalidObject becomes a RejectedError carrying
ConnectWise's field messages; a timeout or 5xx raises with outcome_unknown and is never retried here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from bot.connectors.errors import NotFoundError, RejectedError
from bot.connectors.psa.connectwise.api import SYSTEM, ConnectWiseApi
from bot.connectors.psa.connectwise.records import POSTING_FIELDS, cw_date, is_cancelled, units_in_effect
from bot.domain.records import AdjustmentRequest, PostResult

_MARKER_START = "[seatsync:"
HUMAN_LINE_LIMIT = 200


def key_marker(key: str) -> str:
    return f"{_MARKER_START}{key}]"


def compose_description(existing: str | None, key: str, human: str) -> str:
    kept = (existing or "").split(_MARKER_START, 1)[0].strip()
    ours = f"{key_marker(key)} {human.strip()[:HUMAN_LINE_LIMIT]}".strip()
    return f"{kept} {ours}" if kept else ours


def patch_operations(request: AdjustmentRequest, existing_description: str | None,
                     prorate_now: bool) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = [
        {"op": "replace", "path": "quantity", "value": request.units_to},
        {"op": "replace", "path": "description",
         "value": compose_description(existing_description, request.idempotency_key, request.description)},
    ]
    if request.unit_price is not None:
        operations.append({"op": "replace", "path": "unitPrice", "value": float(request.unit_price)})
    if request.unit_cost is not None:
        operations.append({"op": "replace", "path": "unitCost", "value": float(request.unit_cost)})
    operations.append({"op": "replace", "path": "prorateCurrentPeriodFlag", "value": prorate_now})
    return operations


def addition_path(request: AdjustmentRequest) -> str:
    return f"finance/agreements/{_id(request.contract_external_id)}/additions/{_id(request.service_external_id)}"


async def post_seat_change(
    api: ConnectWiseApi, request: AdjustmentRequest, *, today: date,
    agreement_prorates: Callable[[int], Awaitable[bool]], current: dict[str, Any] | None = None,
) -> PostResult:
    """`current`: the addition (POSTING_FIELDS) as the posting pass just read it; read here when None."""
    path = addition_path(request)
    if current is None:
        current = await api.get_record(path, operation="additions.get", fields=POSTING_FIELDS)
    if is_cancelled(current, today):
        raise RejectedError(SYSTEM, f"addition {request.service_external_id} on agreement "
                                    f"{request.contract_external_id} was cancelled on "
                                    f"{cw_date(current.get('cancelledDate'))}; link the resource to a live addition")
    prorate_now = request.prorate and await agreement_prorates(_id(request.contract_external_id))
    stored = await api.patch(path, patch_operations(request, current.get("description"), prorate_now),
                             operation="additions.patch")
    return PostResult(psa_reference=str(stored.get("id", request.service_external_id)),
                      units_after=units_in_effect(stored, today))


async def find_seat_change(api: ConnectWiseApi, request: AdjustmentRequest, *, today: date) -> PostResult | None:
    try:
        current = await api.get_record(addition_path(request), operation="additions.get", fields=POSTING_FIELDS)
    except NotFoundError:
        return None  # no addition, so no post of ours landed on it
    carries_key = key_marker(request.idempotency_key) in str(current.get("description") or "")
    if carries_key and current.get("quantity") == request.units_to:
        return PostResult(psa_reference=str(current.get("id", request.service_external_id)),
                          units_after=units_in_effect(current, today))
    return None


def _id(external_id: str) -> int:
    try:
        return int(external_id)
    except ValueError:
        raise NotFoundError(SYSTEM, f"{external_id!r} is not a ConnectWise id") from None
