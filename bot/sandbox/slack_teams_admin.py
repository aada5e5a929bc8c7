"""Admin routes for the Slack simulator's workspaces: list and add them, set the app's OAuth knobs, expire a
workspace's tokens, and uninstall the app from one (Slack's events then sent, signed, to the app)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox.slack_oauth import SlackDistribution
from bot.sandbox.slack_requests import SlackRequestSender


def slack_team_routes(distribution: SlackDistribution, request_url: Callable[[], str | None]
                      ) -> list[web.RouteDef]:
    async def list_teams(request: web.Request) -> web.Response:
        return web.json_response({"teams": [_team(distribution, team_id) for team_id in distribution.teams]})

    async def add_team(request: web.Request) -> web.Response:
        body = await _json(request)
        team_id, name = body.get("team_id"), body.get("name")
        if not (isinstance(team_id, str) and team_id.startswith("T") and team_id[1:].isalnum()
                and isinstance(name, str) and name.strip()):
            return web.json_response({"error": 'body must be {"team_id": "T…", "name": "…"}'}, status=400)
        if team_id in distribution.teams:
            return web.json_response({"error": f"workspace {team_id} exists"}, status=409)
        distribution.add_team(team_id, name.strip(), enterprise_id=body.get("enterprise_id"),
                              enterprise_name=body.get("enterprise_name"),
                              is_enterprise_install=bool(body.get("is_enterprise_install")))
        return web.json_response(_team(distribution, team_id), status=201)

    async def set_oauth(request: web.Request) -> web.Response:
        body = await _json(request)
        if "redirect_uri" in body:
            distribution.redirect_uri = body["redirect_uri"] or None
        if "token_rotation" in body:
            distribution.token_rotation = bool(body["token_rotation"])
        if "token_lifetime_s" in body:
            distribution.token_lifetime_s = max(1, int(body["token_lifetime_s"]))
        return web.json_response({"client_id": distribution.client_id, "redirect_uri": distribution.redirect_uri,
                                  "token_rotation": distribution.token_rotation,
                                  "token_lifetime_s": distribution.token_lifetime_s})

    async def expire_tokens(request: web.Request) -> web.Response:
        team_id = request.match_info["team_id"]
        if team_id not in distribution.teams:
            return web.json_response({"error": f"no workspace {team_id}"}, status=404)
        return web.json_response({"expired": distribution.expire_tokens(team_id)})

    async def uninstall(request: web.Request) -> web.Response:
        team_id = request.match_info["team_id"]
        if team_id not in distribution.teams:
            return web.json_response({"error": f"no workspace {team_id}"}, status=404)
        answers = await send_uninstall(distribution, team_id, request_url())
        return web.json_response({"team_id": team_id, "events": answers})

    return [web.get("/slack/teams", list_teams), web.post("/slack/teams", add_team),
            web.put("/slack/oauth", set_oauth),
            web.post("/slack/teams/{team_id}/expire-tokens", expire_tokens),
            web.post("/slack/teams/{team_id}/uninstall", uninstall)]


async def send_uninstall(distribution: SlackDistribution, team_id: str, events_url: str | None
                         ) -> list[dict[str, Any]]:
    """Uninstall the app from the workspace and deliver Slack's events to the app; what it answered to each."""
    events = distribution.uninstall(team_id)
    if not events or events_url is None:
        return [{"type": event["type"], "status": None} for event in events]
    recorder = distribution.team(team_id)
    async with SlackRequestSender(signing_secret=recorder.signing_secret, events_url=events_url,
                                  recorder=recorder) as sender:
        return [{"type": event["type"], "status": (await sender.event_callback(event)).status} for event in events]


def _team(distribution: SlackDistribution, team_id: str) -> dict[str, Any]:
    recorder = distribution.teams[team_id]
    return {"team_id": team_id, "name": recorder.team_name, "domain": recorder.team_domain,
            "enterprise_id": recorder.enterprise_id, "is_enterprise_install": recorder.is_enterprise_install,
            "installed": team_id in distribution.installed}


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "the body must be JSON"}', content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "the body must be a JSON object"}', content_type="application/json")
    return body
