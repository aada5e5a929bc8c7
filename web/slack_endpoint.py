"""POST /slack/events: Slack's events, commands, interactivity and options loading, into Bolt.

The raw body goes to Bolt untouched (the signature covers the exact bytes); Bolt verifies the
signature and the timestamp (5-minute window) and answers 401 to anything forged or stale.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from web.context import CONTEXT


async def slack_events(request: web.Request) -> web.Response:
    bolt = request.app[CONTEXT].bolt
    if bolt is None:
        return web.json_response(
            {"error": "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"}, status=503
        )
    if not request.headers.get("X-Slack-Request-Timestamp", "").isdigit():
        # slack_sdk's verifier raises on a non-numeric timestamp; that is a forged request, not a 500.
        return web.json_response({"error": "invalid request"}, status=401)
    bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(bolt_response)
