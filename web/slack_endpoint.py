"""POST /slack/events: Slack's events, commands, interactivity and options loading, into Bolt.

In this order, so nothing unsigned is parsed and nothing malformed reaches a listener:
0. the bytes must be UTF-8, as Slack sends them (400): the signature is computed over that text;
1. the signature and the 5-minute window, over the exact bytes (401 otherwise), with slack_sdk's verifier,
   the one Bolt uses (Bolt checks again; it is cheap);
2. the body, read as Slack sends it and checked for what the listeners rely on
   (`bot.slack.inbound.read_slack_body`): 400 with the reason when it is not;
3. Bolt, given that parsed body (its own parsing would raise on a bad `payload`, and misreads any
   form body that contains the word "payload").
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_sdk.signature import SignatureVerifier

from bot.db.tenancy import DEFAULT_TENANT_ID, tenant_scope
from bot.slack.inbound import MalformedRequest, read_slack_body
from bot.slack.parsed_request import ParsedBoltRequest
from web import CONTEXT

log = logging.getLogger(__name__)


async def slack_events(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    bolt = context.bolt
    if bolt is None:
        return web.json_response(
            {"error": "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"}, status=503
        )
    try:
        raw = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:  # Slack sends UTF-8; slack_sdk's verifier could not even read it
        return _malformed("the body is not UTF-8")
    if not _signed(raw, request, context.settings.slack_signing_secret or ""):
        return web.json_response({"error": "invalid request"}, status=401)
    try:
        body = read_slack_body(raw, request.headers.get("Content-Type"))
    except MalformedRequest as exc:
        return _malformed(str(exc))
    with tenant_scope(DEFAULT_TENANT_ID):  # Bolt's middleware enters the request's tenant; this scope ends it
        bolt_response = await bolt.async_dispatch(ParsedBoltRequest(raw_body=raw, body=body,
                                                                    query=request.query_string,
                                                                    headers=request.headers))
    return await to_aiohttp_response(bolt_response)


def _signed(raw: str, request: web.Request, signing_secret: str) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not signing_secret or not timestamp.isascii() or not timestamp.isdigit():
        return False  # the verifier raises on a non-numeric timestamp: that is a forged request, not a 500
    return SignatureVerifier(signing_secret).is_valid(body=raw, timestamp=timestamp,
                                                      signature=request.headers.get("X-Slack-Signature"))


def _malformed(reason: str) -> web.Response:
    log.warning("refused a Slack request: %s", reason)
    return web.json_response({"error": f"malformed Slack request: {reason}"}, status=400)
