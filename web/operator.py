"""Who may read per-tenant health and metrics: the hosting operator, by `SEATSYNC_OPERATOR_TOKEN`.

Sent as `Authorization: Bearer <token>`, the form Prometheus's scrape config (`authorization: credentials_file`) and
uptime checkers send, and never in a URL (so never in an access log or a Referer). One token, chosen over a signed
link per tenant: the readers are the operator's monitoring and support, which hold one credential and cannot renew
expiring links, while each MSP already sees its own state in Slack (App Home, alerts). Changing the variable
revokes it. Compared in constant time; registered with the log redaction (bot.app_factory).
"""

from __future__ import annotations

import hmac

from aiohttp import web

from web import CONTEXT

_SCHEME = "bearer "


def operator_token_set(request: web.Request) -> bool:
    return bool(request.app[CONTEXT].settings.operator_token)


def is_operator(request: web.Request) -> bool:
    """The request carries the operator token (False when none is configured)."""
    token = request.app[CONTEXT].settings.operator_token
    header = request.headers.get("Authorization", "")
    if not token or header[:len(_SCHEME)].lower() != _SCHEME:
        return False
    return hmac.compare_digest(header[len(_SCHEME):].strip().encode(), token.encode())


def refuse(request: web.Request) -> web.Response:
    """401 asking for the token, or 403 when this install has none to give."""
    if not operator_token_set(request):
        return web.json_response({"error": "per-tenant detail is off: set SEATSYNC_OPERATOR_TOKEN on the server"},
                                 status=403, headers={"Cache-Control": "no-store"})
    return web.json_response({"error": "send the operator token: Authorization: Bearer <SEATSYNC_OPERATOR_TOKEN>"},
                             status=401, headers={"Cache-Control": "no-store", "WWW-Authenticate": "Bearer"})
