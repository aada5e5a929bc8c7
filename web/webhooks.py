"""POST /webhooks/marketplace (and /webhooks/marketplace/{vendor}): a change notification triggers an immediate
sync of one subscription.

Each active marketplace's vendor says whether it sends notifications and how they are proven and read
(`Capabilities.webhooks`, a `bot.connectors.change_notifications.NotificationFormat`): a signature of the body
(the sandbox's format), or the configured Authorization value echoed (Pax8). The route with a vendor key checks
that marketplace's proof only; the bare route checks each active marketplace's in turn and takes the one that
matches. Each proof is compared in constant time, before the body is parsed. Answers: 401 bad or missing proof;
400 malformed body; 404 a vendor that is not an active marketplace; 503 no webhook secret configured, or no
marketplace that sends notifications; 200 a delivery already handled (no second sync), or a genuine notification
that names no subscription (another topic); 202 accepted — with a sync of that subscription (re-read from its
marketplace) started in the background, or with a note when the subscription is not one SeatSync has read yet
(the next sync reads it) or the notification is for another marketplace. With several tenants, the secret that
proves a delivery names its tenant: everything after the proof runs in that tenant's scope. The scheduled sync still
runs: a lost notification delays nothing beyond the next cycle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.app_context import AppContext
from bot.connectors.change_notifications import ChangeEvent, Ignored, MalformedEvent
from bot.connectors.errors import ConnectorError
from bot.connectors.registry import VENDORS
from bot.db.marketplace_webhooks import (
    WebhookConfig,
    every_tenants_webhook_configs,
    remember_delivery,
    subscription_known,
)
from bot.db.tenancy import tenant_scope
from bot.keys import SecretDecryptionError
from bot.sync.engine import SyncEngine
from web import CONTEXT

log = logging.getLogger(__name__)

ROUTE = "/webhooks/marketplace"
VENDOR_ROUTE = ROUTE + "/{vendor}"
MAX_BODY = 64 * 1024
SHUTDOWN_GRACE_S = 10.0
WEBHOOK_TASKS = web.AppKey("seatsync_webhook_tasks", set)


async def _read_body(request: web.Request) -> bytes | None:
    """The whole body, or None past MAX_BODY. One read() returns only what has arrived so far (a chunked
    or slow body comes in pieces), so read until the end."""
    body = bytearray()
    while chunk := await request.content.read(MAX_BODY + 1 - len(body)):
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _answer(status: int, **body) -> web.Response:
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def marketplace_webhook(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, error=f"the body is larger than {MAX_BODY} bytes")
    body = await _read_body(request)
    if body is None:
        return _answer(413, error=f"the body is larger than {MAX_BODY} bytes")
    try:
        configs = await every_tenants_webhook_configs(sessions=context.sessions, box=context.box)
    except SecretDecryptionError:
        log.error("webhook refused: the marketplace connection's secrets cannot be decrypted")
        return _answer(503, error="the webhook secret cannot be read; check SEATSYNC_SECRET_KEY")
    wanted = request.match_info.get("vendor")
    if wanted is not None:
        if VENDORS.find(wanted) is None or VENDORS.get(wanted).kind != "marketplace":
            return _answer(404, error=f"{wanted!r} is not a marketplace SeatSync reads")
        configs = [c for c in configs if c.marketplace == wanted]
    sending = [(c, _format(c)) for c in configs if _format(c) is not None]
    if not configs:
        whose = "the active marketplace's" if wanted is None else f"the {VENDORS.label(wanted)}"
        return _answer(503, error=f"webhooks are not configured: store webhook_secret with {whose} connection")
    if not sending:
        return _answer(503, error=f"{VENDORS.label(configs[0].marketplace)} sends no change notifications")
    matched = _proven(sending, body, request.headers)
    if matched is None:
        headers = sorted({notifications.signature_header for _, notifications in sending})
        return _answer(401, error=f"missing or wrong {' / '.join(headers)}")
    config, notifications = matched
    with tenant_scope(config.tenant_id):
        return await _accept(request, config, notifications, body)


async def _accept(request: web.Request, config: WebhookConfig, notifications, body: bytes) -> web.Response:
    """A proven delivery, in the scope of the tenant whose secret proved it."""
    context = request.app[CONTEXT]
    try:
        event = notifications.parse(body, config.marketplace, VENDORS.keys("marketplace"))
    except MalformedEvent as exc:
        return _answer(400, error=str(exc))
    except Ignored as exc:
        return _answer(200, accepted=True, sync=False, note=str(exc))
    async with context.sessions() as session:
        first = await remember_delivery(session=session, marketplace=event.marketplace,
                                        delivery_id=event.delivery_id, subscription_id=event.subscription_id,
                                        now=context.clock())
        known = await subscription_known(session=session, marketplace=event.marketplace,
                                         external_id=event.subscription_id)
    if not first:
        return _answer(200, duplicate=True, note="this delivery was handled already")
    if event.marketplace != config.marketplace:
        return _answer(202, accepted=True, sync=False,
                       note=f"SeatSync reads {config.marketplace}, not {event.marketplace}; nothing to do")
    if not known:
        return _answer(202, accepted=True, sync=False,
                       note="SeatSync has not read this subscription yet; the next sync reads it")
    task = asyncio.create_task(_sync_subscription(context, event))
    tasks = request.app[WEBHOOK_TASKS]
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return _answer(202, accepted=True, sync=True)


async def _sync_subscription(context: AppContext, event: ChangeEvent) -> None:
    try:
        engine = await (context.engine_source or context.engines.get)()
        if not isinstance(engine, SyncEngine):
            log.info("webhook %s: no sync engine (%s)", event.delivery_id, engine.reason)
            return
        diff, planned, report = await engine.sync_subscription(event.subscription_id, actor="webhook",
                                                               marketplace=event.marketplace)
    except KeyError:
        log.info("webhook %s: %s is not read by the sync engine", event.delivery_id, event.marketplace)
        return
    except ConnectorError as exc:
        log.warning("webhook %s: subscription %s not read: %s", event.delivery_id, event.subscription_id,
                    exc.describe())
        return
    except Exception:
        log.exception("webhook %s: the sync of subscription %s failed", event.delivery_id, event.subscription_id)
        return
    log.info("webhook %s: subscription %s: %d count changes, %d adjustments planned, %d posted, %d failed",
             event.delivery_id, event.subscription_id, len(diff.increases) + len(diff.decreases), len(planned),
             report.posted if report else 0, report.failed if report else 0)


def _format(config: WebhookConfig):
    vendor = VENDORS.find(config.marketplace)
    return vendor.capabilities.webhooks if vendor is not None else None


def _proven(sending: list, body: bytes, headers) -> tuple | None:
    """The (config, format) whose proof the request carries; every one is checked, so the time taken does not
    say which matched."""
    found = None
    for config, notifications in sending:
        if notifications.signed(config.secret, body, headers) and found is None:
            found = (config, notifications)
    return found


async def _tasks_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    tasks = list(app[WEBHOOK_TASKS])
    if not tasks:
        return
    # let a sync that is posting finish (an interrupted post is safe, but a finished one is tidier)
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def register_webhooks(app: web.Application) -> None:
    app[WEBHOOK_TASKS] = set()
    app.router.add_post(ROUTE, marketplace_webhook)
    app.router.add_post(VENDOR_ROUTE, marketplace_webhook)
    app.cleanup_ctx.append(_tasks_lifecycle)
