"""Posting unit changes to Autotask exactly once: a ContractServiceAdjustment plus a keyed ContractNote.

- Units change only through ContractServiceAdjustments, a delta API: create only, no query, no update
  [doc: ContractServiceAdjustmentsEntity][spec: POST and entityInformation only]. We post on the child
  URL POST /V1.0/Contracts/{contractId}/ServiceAdjustments [spec: ContractServiceAdjustmentsChild_CreateEntity].
  The reply is {"itemId": N} with HTTP 200 [client].
- An adjustment has no text field the API lets us read back, so the idempotency key goes into a
  ContractNote on the contract ("[seatsync:<key>] ..."), created on the child URL
  POST /V1.0/Contracts/{contractId}/Notes [spec: ContractNotesChild] right after the adjustment;
  find_posted queries ContractNotes for it. A note that fails after the adjustment landed is logged
  and the post still succeeds (the units are what count; the engine never re-posts a confirmed change).
- When the adjustment's own reply is lost there is no note yet. The engine then reads the units: a
  change effective today or earlier shows in today's units. A future-dated change does not, so for
  those find_posted also reads the units in effect on the effective date: already at the target
  means the change is there, and posting again would overshoot.
- Calls per posted change: the adjustment and its note (two writes: the adjustment has no text field for
  the key, so the note is the floor's second call), plus the posting pass's batched reads: the units before
  (read_units of every due service, 500 a call) and after (`units_after=None`: the pass reads every posted
  service back in one read_units, bot/sync/posting.py), instead of one read-back per post. Nothing in
  exactly-once rests on the read-back: every attempt reads the units (and the key, when in doubt) first.
- effectiveDate is sent as noon UTC of the day: Autotask stores UTC but users have seen adjustment
  dates land a day early when midnight UTC was read in their timezone [issue: ecitsolutions/Autotask#94];
  noon UTC is the same calendar day from UTC-11 to UTC+11.
- Autotask has no per-adjustment proration switch in the API (it prorates by its own rules), so
  `AdjustmentRequest.prorate` is not sent.
- A service bundle ("bundle-<id>", see reads.py) is adjusted the same way through
  POST /V1.0/Contracts/{contractId}/ServiceBundleAdjustments [spec: ContractServiceBundleAdjustments child]
  with serviceBundleID / contractServiceBundleID; the bundle's cost is its catalogue entry's, so no
  adjusted cost is sent. Its note names the ContractServiceBundleAdjustment, and units are read back from
  ContractServiceBundleUnits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from bot.connectors.errors import ConnectorError, MalformedReplyError, NotFoundError
from bot.connectors.psa.autotask.http import SYSTEM
from bot.connectors.psa.autotask.reads import AutotaskReader
from bot.connectors.psa.autotask.records import NOTE_FIELDS, bundle_id, query_body, whole
from bot.connectors.psa.autotask.session import AutotaskSession
from bot.domain.records import AdjustmentRequest, PostResult

log = logging.getLogger(__name__)

NOTE_TITLE = "SeatSync adjustment"
NOTE_LIMIT = 8000  # ContractNote description length [unverified; the simulator's limit]
_ADJUSTMENT_IN_NOTE = re.compile(r"ContractService(?:Bundle)?Adjustment (\d+)")


def note_marker(idempotency_key: str) -> str:
    return f"[seatsync:{idempotency_key}]"


def adjustment_body(request: AdjustmentRequest, *, contract_id: int, service_id: int,
                    contract_service_id: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contractID": contract_id,
        "serviceID": service_id,
        "contractServiceID": contract_service_id,
        "unitChange": request.delta,
        "effectiveDate": f"{request.effective_date.isoformat()}T12:00:00Z",
    }
    if request.unit_price is not None:
        body["adjustedUnitPrice"] = float(request.unit_price)
    if request.unit_cost is not None:
        body["adjustedUnitCost"] = float(request.unit_cost)
    return body


def bundle_adjustment_body(request: AdjustmentRequest, *, contract_id: int, bundle: int,
                           contract_bundle_id: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contractID": contract_id,
        "serviceBundleID": bundle,
        "contractServiceBundleID": contract_bundle_id,
        "unitChange": request.delta,
        "effectiveDate": f"{request.effective_date.isoformat()}T12:00:00Z",
    }
    if request.unit_price is not None:
        body["adjustedUnitPrice"] = float(request.unit_price)
    return body


def note_body(request: AdjustmentRequest, *, contract_id: int, adjustment_id: int) -> dict[str, Any]:
    human = request.description.strip() or f"SeatSync: units {request.units_from} -> {request.units_to}"
    what = ("ContractServiceBundleAdjustment", "contract service bundle") if bundle_id(
        request.service_external_id) is not None else ("ContractServiceAdjustment", "contract service")
    trail = (f" ({what[0]} {adjustment_id}: unitChange {request.delta:+d} on {what[1]} "
             f"{request.service_external_id}, effective {request.effective_date.isoformat()})")
    marker = note_marker(request.idempotency_key)
    room = NOTE_LIMIT - len(marker) - len(trail) - 1
    return {"contractID": contract_id, "title": NOTE_TITLE, "description": f"{marker} {human[:room]}{trail}"}


class AutotaskPoster:
    def __init__(self, session: AutotaskSession, reader: AutotaskReader, *, today: Callable[[], date]) -> None:
        self.session = session
        self.reader = reader
        self.today = today

    async def post_adjustment(self, request: AdjustmentRequest) -> PostResult:
        if request.delta == 0:
            raise ValueError(f"{request.idempotency_key}: units_from equals units_to, nothing to post")
        if bundle_id(request.service_external_id) is not None:
            return await self._post_bundle(request)
        contract_id = _record_id(request.contract_external_id, "contract")
        contract_service_id = _record_id(request.service_external_id, "contract service")
        service_id = await self._catalog_id(request, contract_service_id)
        body = adjustment_body(request, contract_id=contract_id, service_id=service_id,
                               contract_service_id=contract_service_id)
        reply = await self.session.call("POST", "ContractServiceAdjustments",
                                        f"/V1.0/Contracts/{contract_id}/ServiceAdjustments",
                                        operation="ContractServiceAdjustments.create", idempotent=False, json=body)
        adjustment_id = _item_id(reply, "ContractServiceAdjustment")
        await self._leave_note(request, contract_id, adjustment_id)
        return PostResult(psa_reference=str(adjustment_id), units_after=None)  # read back with the pass's others

    async def _post_bundle(self, request: AdjustmentRequest) -> PostResult:
        contract_id = _record_id(request.contract_external_id, "contract")
        contract_bundle_id = bundle_id(request.service_external_id)
        assert contract_bundle_id is not None
        bundle = bundle_id(request.catalog_id or "")
        if bundle is None:
            found = await self.session.query("ContractServiceBundles", query_body(
                [{"op": "eq", "field": "id", "value": contract_bundle_id}], ("id", "serviceBundleID")))
            if not found:
                raise NotFoundError(SYSTEM, f"contract service bundle {contract_bundle_id} does not exist")
            bundle = whole(found[0], "serviceBundleID", "ContractServiceBundle")
        body = bundle_adjustment_body(request, contract_id=contract_id, bundle=bundle,
                                      contract_bundle_id=contract_bundle_id)
        reply = await self.session.call("POST", "ContractServiceBundleAdjustments",
                                        f"/V1.0/Contracts/{contract_id}/ServiceBundleAdjustments",
                                        operation="ContractServiceBundleAdjustments.create", idempotent=False,
                                        json=body)
        adjustment_id = _item_id(reply, "ContractServiceBundleAdjustment")
        await self._leave_note(request, contract_id, adjustment_id)
        return PostResult(psa_reference=str(adjustment_id), units_after=None)  # read back with the pass's others

    async def find_posted(self, request: AdjustmentRequest) -> PostResult | None:
        contract_id = _record_id(request.contract_external_id, "contract")
        bundle = bundle_id(request.service_external_id)
        record_id = bundle if bundle is not None else _record_id(request.service_external_id, "contract service")
        units_on = self.reader.bundle_units_on if bundle is not None else self.reader.units_on
        conditions = [{"op": "eq", "field": "contractID", "value": contract_id},
                      {"op": "contains", "field": "description", "value": note_marker(request.idempotency_key)}]
        notes = await self.session.query("ContractNotes", query_body(conditions, NOTE_FIELDS))
        today = self.today()
        if notes:
            match = _ADJUSTMENT_IN_NOTE.search(str(notes[0].get("description") or ""))
            units = await units_on([record_id], today)
            return PostResult(psa_reference=match.group(1) if match else None, units_after=units.get(record_id, 0))
        if request.effective_date > today:
            ahead = await units_on([record_id], request.effective_date)
            if ahead.get(record_id) == request.units_to:
                units = await units_on([record_id], today)
                return PostResult(psa_reference=None, units_after=units.get(record_id, 0))
        return None

    async def _catalog_id(self, request: AdjustmentRequest, contract_service_id: int) -> int:
        if request.catalog_id and str(request.catalog_id).strip().isdigit():
            return int(str(request.catalog_id).strip())
        found = await self.reader.existing_contract_services([contract_service_id])
        if contract_service_id not in found:
            raise NotFoundError(SYSTEM, f"contract service {contract_service_id} does not exist")
        return whole(found[contract_service_id], "serviceID", "ContractService")

    async def _leave_note(self, request: AdjustmentRequest, contract_id: int, adjustment_id: int) -> None:
        try:
            await self.session.call("POST", "ContractNotes", f"/V1.0/Contracts/{contract_id}/Notes",
                                    operation="ContractNotes.create", idempotent=False,
                                    json=note_body(request, contract_id=contract_id, adjustment_id=adjustment_id))
        except ConnectorError as exc:
            log.warning("autotask: adjustment %s for %s landed but its note did not (%s); the key will not be "
                        "found in Autotask, the units confirm the change", adjustment_id, request.idempotency_key,
                        exc.describe())


def _record_id(external_id: str, what: str) -> int:
    text = str(external_id).strip()
    if not text.isdigit():
        raise NotFoundError(SYSTEM, f"{text!r} is not an Autotask {what} id")
    return int(text)


def _item_id(reply: Any, label: str) -> int:
    item_id = reply.get("itemId") if isinstance(reply, dict) else None
    if isinstance(item_id, bool) or not isinstance(item_id, int):
        # The create answered 200, so it landed; without its id the caller must confirm by reading back.
        raise MalformedReplyError(SYSTEM, f"{label} create answered without an itemId: {str(reply)[:200]!r}",
                                  outcome_unknown=True)
    return item_id
