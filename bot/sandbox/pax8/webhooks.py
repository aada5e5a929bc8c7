"""Pax8's Webhooks API (base `/pax8/api/v2`, real `https://api.pax8.com/api/v2`): webhook configurations.

Served (spec paths): `GET|POST /webhooks`, `GET /webhooks/topic-definitions`, `GET|DELETE
/webhooks/{id}`, `POST /webhooks/{id}/configuration` (replaces displayName, url, authorization,
contactEmail, errorThreshold), `POST /webhooks/{id}/status` `{active}`, `POST|PUT /webhooks/{id}/topics`
(add one, 400 if the topic is already there; replace all), `DELETE /webhooks/{id}/topics/{topicId}`,
`POST /webhooks/{id}/topics/{topicId}/configuration` `{filters}`, `POST /webhooks/{id}/topics/{topic}/test`,
`GET /webhooks/{webhookId}/logs[/{id}]` and `POST .../logs/{logId}/retry` (202).

Rules from the spec and devx: `displayName` is required; `active` defaults to false, so a webhook
delivers nothing until it is switched on; `errorThreshold` defaults to 3 and may not exceed 20; "only
1 of each webhook topic can be present in a single webhook". Paging is `page`/`size` with no maximum
in this spec; sort is `field:asc|desc`. Unknown ids are 404, ids that are not UUIDs 400, in the webhooks
API's error shape.

Topics: Pax8 publishes neither its topic strings nor their actions (shared/apis/pax8.md 6). The sandbox
offers `SUBSCRIPTION`, whose actions are the Completed Line Item types (devx
subscription-events-completed-line-items), and `INVOICE` with action `CREATED` (devx's integrator
example); both spelled in capitals like those examples. `GET /webhooks/topic-definitions` says so.
Sandbox rule: a webhook's `url` must be http(s) on a loopback address, since the sandbox calls it.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from bot.sandbox.pax8.errors import webhook_error
from bot.sandbox.pax8.views import stamp

if TYPE_CHECKING:
    from bot.sandbox.pax8.state import Pax8Simulator

MAX_ERROR_THRESHOLD = 20
DEFAULT_ERROR_THRESHOLD = 3
OPERATORS = ("EQUALS", "NOT_EQUALS", "GREATER_THAN", "LESS_THAN", "IN", "NOT_IN", "CONTAINS")
SUBSCRIPTION_ACTIONS = ("New", "Change", "Renewal", "Cancel", "TrialCreate", "TrialConvert", "TrialCancel")
TOPICS: dict[str, dict[str, Any]] = {
    "SUBSCRIPTION": {
        "name": "Billing Subscription Events",
        "description": "A subscription's Completed Line Item: new, changed (seats, price, pending cancellation), "
                       "renewed, cancelled, or a trial created, converted or cancelled. A notification only: read "
                       "the subscription for its state.",
        "actions": SUBSCRIPTION_ACTIONS,
        "fields": (("companyId", "string", "The Pax8 company of the subscription"),
                   ("productId", "string", "The product of the subscription"),
                   ("subscriptionId", "string", "The subscription")),
    },
    "INVOICE": {
        "name": "Invoice Events",
        "description": "An invoice was approved and can be read from the API.",
        "actions": ("CREATED",),
        "fields": (("invoiceId", "string", "The invoice"),),
    },
}


class WebhookRefused(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class WebhookTopic:
    id: str
    topic: str
    filters: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "filters": self.filters}


@dataclass
class Webhook:
    id: str
    account_id: str
    display_name: str
    url: str | None
    authorization: str | None
    active: bool
    contact_email: str | None
    error_threshold: int
    integration_id: str | None
    topics: list[WebhookTopic]
    created_at: datetime
    updated_at: datetime
    last_delivery_status: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "accountId": self.account_id, "displayName": self.display_name}
        if self.url is not None:
            body["url"] = self.url
        if self.authorization is not None:
            body["authorization"] = self.authorization
        body["active"] = self.active
        if self.contact_email is not None:
            body["contactEmail"] = self.contact_email
        body["errorThreshold"] = self.error_threshold
        if self.integration_id is not None:
            body["integrationId"] = self.integration_id
        body["webhookTopics"] = [t.as_json() for t in self.topics]
        if self.last_delivery_status is not None:
            body["lastDeliveryStatus"] = self.last_delivery_status
        body.update({"createdAt": stamp(self.created_at), "updatedAt": stamp(self.updated_at)})
        return body


@dataclass
class WebhookCall:
    id: str
    timestamp: datetime
    status: str  # SUCCESS | FAILED
    payload: dict[str, Any]
    http_status_code: int | None = None
    error_message: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "timestamp": stamp(self.timestamp), "status": self.status}
        if self.error_message is not None:
            body["errorMessage"] = self.error_message
        if self.http_status_code is not None:
            body["httpStatusCode"] = self.http_status_code
        body["payload"] = self.payload
        return body


@dataclass
class WebhookLog:
    id: str
    webhook_id: str
    webhook_name: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    final_status: str = "PENDING"  # PENDING | RETRYING | SUCCESS | FAILED
    calls: list[WebhookCall] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "webhookId": self.webhook_id, "webhookName": self.webhook_name,
                "finalStatus": self.final_status, "callHistory": [c.as_json() for c in self.calls],
                "createdAt": stamp(self.created_at)}


@dataclass
class WebhookStore:
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    logs: dict[str, WebhookLog] = field(default_factory=dict)


# --- validation -------------------------------------------------------------------------------------
def is_loopback_http(url: object) -> bool:
    if not isinstance(url, str):
        return False
    try:
        parsed = URL(url)
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or parsed.user is not None or not parsed.host:
        return False
    if parsed.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(parsed.host).is_loopback
    except ValueError:
        return False


def _text(body: dict, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise WebhookRefused(400, f"{name} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise WebhookRefused(400, f"{name} must be a non-empty string" if required else f"{name} must be a string")
    return value


def _url(body: dict) -> str | None:
    url = _text(body, "url")
    if url is not None and not is_loopback_http(url):
        raise WebhookRefused(400, "url: the sandbox only delivers webhooks to http(s) on a loopback address")
    return url


def _threshold(body: dict) -> int:
    value = body.get("errorThreshold", DEFAULT_ERROR_THRESHOLD)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ERROR_THRESHOLD:
        raise WebhookRefused(400, f"errorThreshold must be a whole number from 0 to {MAX_ERROR_THRESHOLD}")
    return value


def _filters(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise WebhookRefused(400, "filters must be a list")
    filters = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("action"), str) \
                or not isinstance(item.get("conditions"), list):
            raise WebhookRefused(400, "each filter needs an action and a list of conditions")
        conditions = []
        for condition in item["conditions"]:
            if not isinstance(condition, dict) or not isinstance(condition.get("field"), str) \
                    or condition.get("operator") not in OPERATORS or not isinstance(condition.get("value"), list) \
                    or not all(isinstance(v, str) for v in condition["value"]):
                raise WebhookRefused(400, "each condition needs a field, an operator of "
                                          f"{', '.join(OPERATORS)} and a list of string values")
            conditions.append({"field": condition["field"], "operator": condition["operator"],
                               "value": list(condition["value"])})
        filters.append({"action": item["action"], "conditions": conditions})
    return filters


def _topics(raw: object) -> list[WebhookTopic]:
    if not isinstance(raw, list):
        raise WebhookRefused(400, "webhookTopics must be a list")
    topics: list[WebhookTopic] = []
    for item in raw:
        topics.append(_topic(item))
    names = [t.topic for t in topics]
    if len(set(names)) != len(names):
        raise WebhookRefused(400, "Only 1 of each webhook topic can be present in a single webhook")
    return topics


def _topic(item: object) -> WebhookTopic:
    if not isinstance(item, dict) or not isinstance(item.get("topic"), str):
        raise WebhookRefused(400, "a webhook topic needs a topic name")
    if item["topic"] not in TOPICS:
        raise WebhookRefused(400, f"Unknown topic '{item['topic']}'; see GET /webhooks/topic-definitions")
    if "filters" not in item:
        raise WebhookRefused(400, "filters is required (an empty list for every event of the topic)")
    return WebhookTopic(id=str(uuid.uuid4()), topic=item["topic"], filters=_filters(item["filters"]))


def matches(topic: WebhookTopic, action: str, data: dict[str, Any]) -> bool:
    """Whether an event passes a topic's filters (none: every event; else any filter whose action is the
    event's and whose conditions all hold)."""
    if not topic.filters:
        return True
    return any(f["action"].casefold() == action.casefold() and all(_holds(c, data) for c in f["conditions"])
               for f in topic.filters)


def _holds(condition: dict[str, Any], data: dict[str, Any]) -> bool:
    found = data.get(condition["field"])
    if found is None:
        return False
    found, values, operator = str(found), condition["value"], condition["operator"]
    if operator in ("EQUALS", "IN"):
        return found in values
    if operator in ("NOT_EQUALS", "NOT_IN"):
        return found not in values
    if operator == "CONTAINS":
        return any(v.casefold() in found.casefold() for v in values)
    try:
        number, bound = float(found), float(values[0])
    except (ValueError, IndexError):
        return False
    return number > bound if operator == "GREATER_THAN" else number < bound


# --- handlers ---------------------------------------------------------------------------------------
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def webhooks_api(simulator: Pax8Simulator, base: str) -> list[web.RouteDef]:
    store = simulator.webhooks

    def refusing(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except WebhookRefused as exc:
                kind = "INVALID_PARAM" if exc.status == 400 else None
                details = [{"type": kind, "message": str(exc), "status": exc.status}] if kind else []
                return webhook_error(exc.status, str(exc), request.path, details)

        return wrapped

    async def json_body(request: web.Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            raise WebhookRefused(400, "The request body must be JSON") from None
        if not isinstance(body, dict):
            raise WebhookRefused(400, "The request body must be a JSON object")
        return body

    def webhook_of(request: web.Request, name: str = "id") -> Webhook:
        wanted = request.match_info[name]
        try:
            uuid.UUID(wanted)
        except ValueError:
            raise WebhookRefused(400, f"'{wanted}' is not a valid UUID") from None
        webhook = store.webhooks.get(wanted)
        if webhook is None:
            raise WebhookRefused(404, f"Webhook not found: {wanted}")
        return webhook

    def now() -> datetime:
        return simulator.world.now()

    def page_params(request: web.Request) -> tuple[int, int]:
        try:
            page, size = int(request.query.get("page", "0")), int(request.query.get("size", "10"))
        except ValueError:
            raise WebhookRefused(400, "page and size must be whole numbers") from None
        if page < 0 or size < 1:
            raise WebhookRefused(400, "page must be 0 or more and size 1 or more")
        return page, size

    def paged(items: list[dict], page: int, size: int) -> dict[str, Any]:
        total = len(items)
        return {"content": items[page * size:(page + 1) * size],
                "page": {"number": page, "size": size, "totalElements": total, "totalPages": -(-total // size)}}

    def sorted_by(items: list[dict], raw: str | None, allowed: tuple[str, ...], default: str) -> list[dict]:
        name, _, direction = (raw or default).partition(":")
        if name not in allowed or direction.lower() not in ("", "asc", "desc"):
            raise WebhookRefused(400, f"sort must be field:asc or field:desc with field one of {', '.join(allowed)}")
        return sorted(items, key=lambda item: str(item.get(name, "")), reverse=direction.lower() == "desc")

    @refusing
    async def list_webhooks(request: web.Request) -> web.Response:
        page, size = page_params(request)
        query = request.query
        rows = [w.as_json() for w in store.webhooks.values()]
        if text := query.get("query", "").casefold():
            rows = [r for r in rows if text in r["displayName"].casefold() or text in r.get("url", "").casefold()]
        if "active" in query:
            rows = [r for r in rows if str(r["active"]).lower() == query["active"].lower()]
        if topic := query.get("topic"):
            rows = [r for r in rows if any(t["topic"] == topic for t in r["webhookTopics"])]
        if status := query.get("status"):
            rows = [r for r in rows if r.get("lastDeliveryStatus") == status]
        if account := query.get("accountId"):
            rows = [r for r in rows if r["accountId"] == account]
        rows = sorted_by(rows, query.get("sort"), ("displayName", "createdAt", "updatedAt"), "createdAt:asc")
        return web.json_response(paged(rows, page, size))

    @refusing
    async def create_webhook(request: web.Request) -> web.Response:
        body = await json_body(request)
        active = body.get("active", False)
        if not isinstance(active, bool):
            raise WebhookRefused(400, "active must be true or false")
        integration_id = _text(body, "integrationId")
        if integration_id is not None:
            try:
                uuid.UUID(integration_id)
            except ValueError:
                raise WebhookRefused(400, "integrationId must be a UUID") from None
        at = now()
        webhook = Webhook(
            id=str(uuid.uuid4()), account_id=simulator.book.partner_account_id,
            display_name=_text(body, "displayName", required=True) or "", url=_url(body),
            authorization=_text(body, "authorization"), active=active, contact_email=_text(body, "contactEmail"),
            error_threshold=_threshold(body), integration_id=integration_id,
            topics=_topics(body.get("webhookTopics", [])), created_at=at, updated_at=at)
        store.webhooks[webhook.id] = webhook
        return web.json_response(webhook.as_json())

    @refusing
    async def topic_definitions(request: web.Request) -> web.Response:
        page, size = page_params(request)
        query = request.query
        rows = [topic_definition(simulator, name) for name in TOPICS]
        if wanted := query.get("topic"):
            rows = [r for r in rows if r["topic"] == wanted]
        if search := query.get("search", "").casefold():
            rows = [r for r in rows if search in r["topic"].casefold() or search in r["name"].casefold()]
        rows = sorted_by(rows, query.get("sort"), ("topic", "name"), "topic:asc")
        total = len(rows)
        return web.json_response({"content": rows[page * size:(page + 1) * size], "number": page, "size": size,
                                  "totalElements": total, "totalPages": -(-total // size)})

    @refusing
    async def get_webhook(request: web.Request) -> web.Response:
        return web.json_response(webhook_of(request).as_json())

    @refusing
    async def delete_webhook(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        del store.webhooks[webhook.id]
        return web.Response(status=204)

    @refusing
    async def configure(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        body = await json_body(request)
        # "This will replace the configuration details": what is not sent is cleared, but for the name,
        # which a webhook always has
        if body.get("displayName") is not None:
            webhook.display_name = _text(body, "displayName", required=True) or webhook.display_name
        webhook.url = _url(body)
        webhook.authorization = _text(body, "authorization")
        webhook.contact_email = _text(body, "contactEmail")
        webhook.error_threshold = _threshold(body)
        webhook.updated_at = now()
        return web.json_response(webhook.as_json())

    @refusing
    async def set_status(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        body = await json_body(request)
        if not isinstance(body.get("active"), bool):
            raise WebhookRefused(400, "active is required: true or false")
        webhook.active, webhook.updated_at = body["active"], now()
        return web.json_response(webhook.as_json())

    @refusing
    async def add_topic(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        topic = _topic(await json_body(request))
        if any(t.topic == topic.topic for t in webhook.topics):
            raise WebhookRefused(400, f"Topic {topic.topic} already exists on this webhook; only 1 of each "
                                      "webhook topic can be present in a single webhook")
        webhook.topics.append(topic)
        webhook.updated_at = now()
        return web.json_response(webhook.as_json())

    @refusing
    async def replace_topics(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        body = await json_body(request)
        if "webhookTopics" not in body:
            raise WebhookRefused(400, "webhookTopics is required")
        webhook.topics, webhook.updated_at = _topics(body["webhookTopics"]), now()
        return web.json_response(webhook.as_json())

    def topic_of(request: web.Request, webhook: Webhook) -> WebhookTopic:
        wanted = request.match_info["topicId"]
        topic = next((t for t in webhook.topics if t.id == wanted), None)
        if topic is None:
            raise WebhookRefused(404, f"Webhook topic not found: {wanted}")
        return topic

    @refusing
    async def remove_topic(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        webhook.topics.remove(topic_of(request, webhook))
        webhook.updated_at = now()
        return web.Response(status=204)

    @refusing
    async def configure_topic(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        topic = topic_of(request, webhook)
        body = await json_body(request)
        if "filters" not in body:
            raise WebhookRefused(400, "filters is required")
        topic.filters, webhook.updated_at = _filters(body["filters"]), now()
        return web.json_response(webhook.as_json())

    @refusing
    async def test_topic(request: web.Request) -> web.Response:
        webhook = webhook_of(request)
        name = request.match_info["topic"]
        topic = next((t for t in webhook.topics if t.topic == name), None)
        if topic is None:
            raise WebhookRefused(400, f"Topic {name} is not configured on this webhook")
        if webhook.url is None:
            raise WebhookRefused(400, "The webhook has no url to test")
        payload = await simulator.deliveries.send_test(webhook, topic)
        return web.json_response({"url": webhook.url, "webhook": webhook.as_json(), "samplePayload": payload})

    @refusing
    async def list_logs(request: web.Request) -> web.Response:
        webhook = webhook_of(request, "webhookId")
        page, size = page_params(request)
        query = request.query
        logs = [log for log in store.logs.values() if log.webhook_id == webhook.id]
        if topic := query.get("topicName"):
            logs = [log for log in logs if log.topic == topic]
        if status := query.get("status"):
            logs = [log for log in logs if log.final_status == status]
        if start := query.get("startDate"):
            logs = [log for log in logs if stamp(log.created_at) >= start]
        if end := query.get("endDate"):
            logs = [log for log in logs if stamp(log.created_at)[:len(end)] <= end]
        rows = sorted_by([log.as_json() for log in logs], query.get("sort"), ("createdAt", "finalStatus"),
                         "createdAt:desc")
        return web.json_response(paged(rows, page, size))

    def log_of(request: web.Request, webhook: Webhook, name: str) -> WebhookLog:
        wanted = request.match_info[name]
        log = store.logs.get(wanted)
        if log is None or log.webhook_id != webhook.id:
            raise WebhookRefused(404, f"Webhook log not found: {wanted}")
        return log

    @refusing
    async def get_log(request: web.Request) -> web.Response:
        webhook = webhook_of(request, "webhookId")
        return web.json_response(log_of(request, webhook, "id").as_json())

    @refusing
    async def retry_log(request: web.Request) -> web.Response:
        webhook = webhook_of(request, "webhookId")
        log = log_of(request, webhook, "logId")
        simulator.deliveries.retry(webhook, log)
        return web.Response(status=202)

    return [
        web.get(f"{base}/webhooks", list_webhooks),
        web.post(f"{base}/webhooks", create_webhook),
        web.get(f"{base}/webhooks/topic-definitions", topic_definitions),  # before /webhooks/{id}
        web.get(f"{base}/webhooks/{{id}}", get_webhook),
        web.delete(f"{base}/webhooks/{{id}}", delete_webhook),
        web.post(f"{base}/webhooks/{{id}}/configuration", configure),
        web.post(f"{base}/webhooks/{{id}}/status", set_status),
        web.post(f"{base}/webhooks/{{id}}/topics", add_topic),
        web.put(f"{base}/webhooks/{{id}}/topics", replace_topics),
        web.delete(f"{base}/webhooks/{{id}}/topics/{{topicId}}", remove_topic),
        web.post(f"{base}/webhooks/{{id}}/topics/{{topicId}}/configuration", configure_topic),
        web.post(f"{base}/webhooks/{{id}}/topics/{{topic}}/test", test_topic),
        web.get(f"{base}/webhooks/{{webhookId}}/logs", list_logs),
        web.get(f"{base}/webhooks/{{webhookId}}/logs/{{id}}", get_log),
        web.post(f"{base}/webhooks/{{webhookId}}/logs/{{logId}}/retry", retry_log),
    ]


def sample_data(topic: str) -> dict[str, Any]:
    zero = "00000000-0000-0000-0000-000000000000"
    if topic == "INVOICE":
        return {"invoiceId": zero}
    return {"type": "Change", "subscriptionId": zero, "companyId": zero, "productId": zero}


def topic_definition(simulator: Pax8Simulator, name: str) -> dict[str, Any]:
    spec = TOPICS[name]
    conditions = [{"field": f, "operator": ["EQUALS", "NOT_EQUALS", "IN", "NOT_IN"], "dataType": kind,
                   "description": text, "value": "00000000-0000-0000-0000-000000000000"}
                  for f, kind, text in spec["fields"]]
    zero = "00000000-0000-0000-0000-000000000000"
    return {"topic": name, "name": spec["name"], "description": spec["description"],
            "availableFilters": [{"action": action, "actionDisplayName": action, "description": f"{name} {action}",
                                  "conditions": conditions} for action in spec["actions"]],
            "samplePayload": {"accountId": simulator.book.partner_account_id, "url": "https://example.com/webhooks",
                              "webhookId": zero, "sentAt": stamp(simulator.world.now()),
                              "webhookTopic": {"id": zero, "topic": name, "filters": []},
                              "payloadData": sample_data(name)}}
