"""GET /slack/install and GET /slack/oauth_redirect: Slack's OAuth install, handed to Bolt's flow (multi-workspace
mode only; `bot.slack.oauth` says what an install does)."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.slack.oauth import INSTALL_PATH, REDIRECT_PATH
from web import CONTEXT


async def slack_install(request: web.Request) -> web.Response:
    flow = request.app[CONTEXT].bolt.oauth_flow
    return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))


async def slack_oauth_redirect(request: web.Request) -> web.Response:
    flow = request.app[CONTEXT].bolt.oauth_flow
    return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))


def register_slack_oauth(app: web.Application) -> None:
    app.router.add_get(INSTALL_PATH, slack_install)
    app.router.add_get(REDIRECT_PATH, slack_oauth_redirect)
