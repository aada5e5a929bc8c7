"""Webhook deliveries as Pax8 makes them: a notification per event, late, sometimes twice, unsigned.

Per event and per active webhook whose topic (and filters) take it, one delivery log; the call is
`POST <url>` with a JSON `WebhookPayload` body (webhooks spec; that the body is exactly this schema is
not confirmed) and, as the only proof of origin, the `Authorization` header set to the value the
partner configured, verbatim (devx: "my_super_secret"; no signature scheme exists). `payloadData` is a
notification, not the state ("call the relevant APIs to receive the full state"): for `SUBSCRIPTION`
`{type, subscriptionId, companyId, productId}`, for `INVOICE` `{invoiceId, invoiceDate}`.

Timing, from the knobs (`state.Pax8Knobs`): a delivery waits a random 0..`delivery_delay_s` before its
first call ("may take up to 5 minutes"), so deliveries arrive late and out of order; a call that gets
no 2xx within `delivery_timeout_s` (10 s) failed, and is retried up to the webhook's `errorThreshold`
times, `retry_delay_s` apart and doubling (the real schedule is unpublished); after the last, the log is
FAILED and an alert goes to `contactEmail` (recorded, not sent). A successful delivery is sent a second
time with probability `duplicate_rate` (a receiver must expect at-least-once). A log's manual retry
sends its payload once more. Deliveries run in the background; `settled()` waits for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.sandbox.pax8.invoices import invoice_id
from bot.sandbox.pax8.views import stamp
from bot.sandbox.pax8.webhooks import Webhook, WebhookCall, WebhookLog, WebhookTopic, matches, sample_data

if TYPE_CHECKING:
    from bot.sandbox.pax8.state import Pax8Simulator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pax8Event:
    topic: str  # SUBSCRIPTION | INVOICE
    action: str  # a Completed Line Item type, or CREATED
    data: dict[str, Any]


@dataclass(frozen=True)
class ContactAlert:
    contact_email: str
    webhook_id: str
    log_id: str
    at: datetime


class Deliveries:
    def __init__(self, simulator: Pax8Simulator) -> None:
        self.simulator = simulator
        self.alerts: list[ContactAlert] = []
        self._tasks: set[asyncio.Task] = set()

    # --- what happened ------------------------------------------------------------------------------
    def subscription_events(self, events: list[tuple[str, str]]) -> list[Pax8Event]:
        book = self.simulator.book
        found = []
        for kind, subscription_id in events:
            sub = book.subscriptions.get(subscription_id)
            if sub is not None:
                found.append(Pax8Event("SUBSCRIPTION", kind, {"type": kind, "subscriptionId": sub.id,
                                                              "companyId": sub.company_id,
                                                              "productId": sub.product_id}))
        return found

    def invoice_events(self, months: list[date]) -> list[Pax8Event]:
        book = self.simulator.book
        return [Pax8Event("INVOICE", "CREATED", {"invoiceId": invoice_id(book, month),
                                                 "invoiceDate": month.isoformat()}) for month in months]

    # --- sending ------------------------------------------------------------------------------------
    def announce(self, events: list[Pax8Event]) -> list[WebhookLog]:
        """Open a delivery log per (event, webhook taking it) and start delivering in the background."""
        store = self.simulator.webhooks
        opened = []
        for event in events:
            for webhook in list(store.webhooks.values()):
                if not webhook.active or webhook.url is None:
                    continue
                topic = next((t for t in webhook.topics if t.topic == event.topic), None)
                if topic is None or not matches(topic, event.action, event.data):
                    continue
                entry = WebhookLog(id=str(uuid.uuid4()), webhook_id=webhook.id, webhook_name=webhook.display_name,
                                   topic=event.topic, payload=dict(event.data), created_at=self.simulator.world.now())
                store.logs[entry.id] = entry
                opened.append(entry)
                self._start(self._deliver(webhook, topic, entry, delay=self.simulator.knobs.delay()))
        return opened

    def retry(self, webhook: Webhook, entry: WebhookLog) -> None:
        topic = next((t for t in webhook.topics if t.topic == entry.topic), None)
        if topic is not None and webhook.url is not None:
            self._start(self._deliver(webhook, topic, entry, delay=0.0, attempts=1))

    async def send_test(self, webhook: Webhook, topic: WebhookTopic) -> dict[str, Any]:
        payload = self._payload(webhook, topic, sample_data(topic.topic))
        await self._call(webhook, payload)
        return payload

    async def settled(self) -> None:
        """Wait until every delivery started so far has finished (retries included)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _payload(self, webhook: Webhook, topic: WebhookTopic, data: dict[str, Any]) -> dict[str, Any]:
        return {"accountId": webhook.account_id, "url": webhook.url, "webhookId": webhook.id,
                "sentAt": stamp(self.simulator.world.now()), "webhookTopic": topic.as_json(), "payloadData": data}

    async def _deliver(self, webhook: Webhook, topic: WebhookTopic, entry: WebhookLog, *, delay: float,
                       attempts: int | None = None) -> None:
        knobs = self.simulator.knobs
        if delay:
            await asyncio.sleep(delay)
        attempts = attempts if attempts is not None else 1 + webhook.error_threshold
        pause = knobs.retry_delay_s
        for attempt in range(attempts):
            call = await self._call(webhook, self._payload(webhook, topic, entry.payload))
            entry.calls.append(call)
            if call.status == "SUCCESS":
                entry.final_status = webhook.last_delivery_status = "SUCCESS"
                if knobs.roll_duplicate():  # at least once: the same event again
                    entry.calls.append(await self._call(webhook, self._payload(webhook, topic, entry.payload)))
                return
            if attempt + 1 < attempts:
                entry.final_status = webhook.last_delivery_status = "RETRYING"
                await asyncio.sleep(pause)
                pause *= 2
        entry.final_status = webhook.last_delivery_status = "FAILED"
        if webhook.contact_email:
            self.alerts.append(ContactAlert(webhook.contact_email, webhook.id, entry.id, self.simulator.world.now()))

    async def _call(self, webhook: Webhook, payload: dict[str, Any]) -> WebhookCall:
        headers = {"Content-Type": "application/json"}
        if webhook.authorization:
            headers["Authorization"] = webhook.authorization
        call = WebhookCall(id=str(uuid.uuid4()), timestamp=self.simulator.world.now(), status="FAILED",
                           payload=payload)
        timeout = aiohttp.ClientTimeout(total=self.simulator.knobs.delivery_timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.post(webhook.url or "", data=json.dumps(payload).encode(), headers=headers) as response:
                call.http_status_code = response.status
                if 200 <= response.status < 300:
                    call.status = "SUCCESS"
                else:
                    call.error_message = f"The webhook answered {response.status}"
        except TimeoutError:
            call.error_message = "No response within the timeout"
        except (aiohttp.ClientError, OSError) as exc:
            call.error_message = f"Could not deliver: {exc.__class__.__name__}"
        if call.status != "SUCCESS":
            log.info("Pax8 webhook %s: delivery to %s failed: %s", webhook.id, webhook.url, call.error_message)
        return call
