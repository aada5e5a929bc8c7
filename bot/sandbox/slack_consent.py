"""The Slack simulator's OAuth consent screen: `GET /oauth/v2/authorize` and its *Allow* / *Cancel* form.

A person reaches it from the app's `/slack/install` (the install button's link), picks the workspace and presses
*Allow*, as on Slack's screen; a script does the same with one GET and one POST. Everything shown is escaped, and the
page runs no script (its CSP says so).
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from bot.sandbox.slack_oauth import SlackDistribution

AUTHORIZE_PATH = "/oauth/v2/authorize"
_CARRIED = ("client_id", "scope", "user_scope", "state", "redirect_uri", "team")
_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action *"


def add_consent_routes(app: web.Application, distribution: SlackDistribution) -> None:
    async def show(request: web.Request) -> web.Response:
        problem = distribution.authorize_problem(request.query)
        if problem is not None:
            return _page(f"<h1>Something went wrong</h1><p>{escape(problem)}</p>", status=400)
        return _page(_consent_form(distribution, request.query))

    async def decide(request: web.Request) -> web.Response:
        form = await request.post()
        query = {key: str(form[key]) for key in _CARRIED if isinstance(form.get(key), str)}
        problem = distribution.authorize_problem(query)
        if problem is not None:
            return _page(f"<h1>Something went wrong</h1><p>{escape(problem)}</p>", status=400)
        if form.get("decision") != "allow":
            raise web.HTTPFound(distribution.deny(query))
        team_id = query.get("team", "")
        if team_id not in distribution.teams:
            return _page("<h1>Pick a workspace</h1>", status=400)
        raise web.HTTPFound(distribution.allow(query, team_id=team_id))

    app.router.add_get(AUTHORIZE_PATH, show)
    app.router.add_post(AUTHORIZE_PATH, decide)


def _consent_form(distribution: SlackDistribution, query) -> str:
    hidden = "".join(f'<input type="hidden" name="{name}" value="{escape(query[name])}">'
                     for name in _CARRIED if name in query and name != "team")
    chosen = query.get("team")
    options = "".join(
        f'<option value="{escape(team_id)}"{" selected" if team_id == chosen else ""}>'
        f"{escape(recorder.team_name)} ({escape(recorder.team_domain)}.slack.com)</option>"
        for team_id, recorder in distribution.teams.items())
    scopes = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in query.get("scope", "").split(",") if scope)
    return (f"<h1>SeatSync is requesting permission to access a workspace</h1>"
            f'<form method="post">{hidden}'
            f'<label>Workspace <select name="team">{options}</select></label>'
            f"<p>It will be able to:</p><ul>{scopes}</ul>"
            f'<button type="submit" name="decision" value="cancel">Cancel</button> '
            f'<button type="submit" name="decision" value="allow">Allow</button></form>')


def _page(body: str, *, status: int = 200) -> web.Response:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slack</title></head>'
            f'<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">{body}</body></html>')
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Content-Security-Policy": _CSP})
