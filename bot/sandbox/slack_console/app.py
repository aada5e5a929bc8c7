"""The console's aiohttp routes: the page, its static files, the person's state (also as server-sent events)
and one POST route per thing a person does in Slack.

    GET  /                  the page (static/index.html)
    GET  /static/{file}     its script and style, from this package (no CDN: the sandbox runs offline)
    GET  /api/state?user=U  what U sees (surfaces.person_view)
    GET  /api/stream?user=U the same, again each time the workspace changes (text/event-stream)
    POST /api/command       {user, channel, text}                     a slash command (or a plain message)
    POST /api/action        {user, where, action_id, block_id, choice, values}   block_actions
    POST /api/submit        {user, view_id, values}                   view_submission
    POST /api/close         {user, view_id, cleared}                  the modal closes (view_closed)
    POST /api/suggest       {user, where, action_id, block_id, value} block_suggestion, answered with options
    POST /api/home          {user}                                    app_home_opened

`where` is `{"view_id": …}` or `{"channel": …, "ts": …}`; `values` maps block_id -> {action_id: choice} with
choice as Slack puts it in a state (an option object, a list of them, a date, a user id, the text typed).
POST bodies must be JSON, so a page of another origin cannot drive the console (a cross-origin JSON POST
needs a CORS preflight, which is never granted). Every page and file carries a Content-Security-Policy
that allows only this origin's script and style.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from yarl import URL

from bot.sandbox.slack_console.interactions import SLACK_TIMEOUT_S, ConsoleInteractions, Outcome, Refused
from bot.sandbox.slack_console.surfaces import person_view
from bot.sandbox.slack_oauth import SlackDistribution
from bot.sandbox.slack_workspace import SlackRecorder

STATIC = Path(__file__).parent / "static"
HEARTBEAT_S = 15.0
BATCH_S = 0.02
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class SlackConsole:
    """The console's state: the workspace, the interactions, and the streams waiting for a change."""

    def __init__(self, recorder: SlackRecorder, request_url: Callable[[], str | None], *,
                 timeout_s: float = SLACK_TIMEOUT_S, distribution: SlackDistribution | None = None,
                 console_path: Callable[[str], str] | None = None) -> None:
        self.recorder = recorder
        self.request_url = request_url
        self.distribution = distribution
        self.console_path = console_path
        self.interactions = ConsoleInteractions(recorder, request_url, timeout_s=timeout_s)
        self.closing = False
        self.version = 0  # counts the workspace's changes
        self._waiters: set[asyncio.Future[None]] = set()
        recorder.listeners.append(self._on_change)

    def _on_change(self) -> None:
        self.version += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def next_change(self, seen: int, wait_s: float) -> None:
        """Return once the workspace changed after version `seen` (or after `wait_s`, or on shutdown)."""
        if self.version != seen or self.closing:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            async with asyncio.timeout(wait_s):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    def state_for(self, user_id: str) -> dict[str, Any]:
        return person_view(self.recorder, user_id, notes=self.interactions.notes, request_url=self.request_url(),
                           workspaces=self._workspaces(), install_url=self._install_url())

    def _workspaces(self) -> list[dict[str, Any]]:
        if self.distribution is None or self.console_path is None or len(self.distribution.teams) < 2:
            return []
        return [{"id": team_id, "name": recorder.team_name, "path": self.console_path(team_id),
                 "current": recorder is self.recorder} for team_id, recorder in self.distribution.teams.items()]

    def _install_url(self) -> str | None:
        """The app's install page for this workspace, while the app is not in it (a fixed bot token says it is)."""
        request_url = self.request_url()
        team_id = self.recorder.team_id
        if (self.distribution is None or request_url is None or self.recorder.bot_token
                or team_id in self.distribution.installed):
            return None
        return str(URL(request_url).with_path("/slack/install").with_query(team=team_id))

    async def stop_streams(self, app: web.Application) -> None:
        self.closing = True
        self._on_change()

    async def close(self, app: web.Application) -> None:
        if self._on_change in self.recorder.listeners:
            self.recorder.listeners.remove(self._on_change)
        await self.interactions.close()


CONSOLE_KEY = web.AppKey("slack_console", SlackConsole)


def create_console_app(recorder: SlackRecorder, request_url: Callable[[], str | None], *,
                       timeout_s: float = SLACK_TIMEOUT_S, distribution: SlackDistribution | None = None,
                       console_path: Callable[[str], str] | None = None) -> web.Application:
    """`request_url`: where the app's Slack endpoint is now (None: no app connected yet); `distribution` and
    `console_path` (a workspace's console by its team id): the other workspaces, and this one's install link."""
    console = SlackConsole(recorder, request_url, timeout_s=timeout_s, distribution=distribution,
                           console_path=console_path)
    app = web.Application(middlewares=[_refusals])
    app[CONSOLE_KEY] = console
    app.router.add_get("/", _page)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/stream", _stream)
    for name, handler in (("command", _command), ("action", _action), ("submit", _submit), ("close", _close),
                          ("suggest", _suggest), ("home", _home)):
        app.router.add_post(f"/api/{name}", handler)
    app.on_response_prepare.append(_security_headers)
    app.on_shutdown.append(console.stop_streams)
    app.on_cleanup.append(console.close)
    return app


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def _refusals(request: web.Request, handler):
    try:
        return await handler(request)
    except Refused as refused:
        return web.json_response({"ok": False, "error": refused.reason}, status=refused.status)


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html; charset=utf-8"})


def _user(request: web.Request) -> str:
    return request.app[CONSOLE_KEY].interactions.person(request.query.get("user"))


async def _state(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return web.json_response(console.state_for(_user(request)))


async def _stream(request: web.Request) -> web.StreamResponse:
    """The person's state now and after every change; a comment line every HEARTBEAT_S keeps it open."""
    console = request.app[CONSOLE_KEY]
    user = _user(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    last = None
    try:
        while not console.closing:
            seen = console.version
            snapshot = json.dumps(console.state_for(user), separators=(",", ":"))
            if snapshot != last:
                await response.write(f"data: {snapshot}\n\n".encode())
                last = snapshot
            else:
                await response.write(b": still here\n\n")
            await console.next_change(seen, HEARTBEAT_S)
            await asyncio.sleep(BATCH_S)  # one update for a burst of calls
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Refused(415, "send JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError as exc:
        raise Refused(400, "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def _answer(outcome: Outcome) -> web.Response:
    return web.json_response(outcome.as_json())


async def _command(request: web.Request) -> web.Response:
    body = await _body(request)
    console = request.app[CONSOLE_KEY]
    return _answer(await console.interactions.command(body.get("user"), body.get("channel"), body.get("text")))


async def _action(request: web.Request) -> web.Response:
    body = await _body(request)
    console = request.app[CONSOLE_KEY]
    return _answer(await console.interactions.act(body.get("user"), body.get("where"), body.get("action_id"),
                                                  body.get("block_id"), body.get("choice"), body.get("values")))


async def _submit(request: web.Request) -> web.Response:
    body = await _body(request)
    console = request.app[CONSOLE_KEY]
    return _answer(await console.interactions.submit(body.get("user"), body.get("view_id"), body.get("values")))


async def _close(request: web.Request) -> web.Response:
    body = await _body(request)
    console = request.app[CONSOLE_KEY]
    return _answer(await console.interactions.close_modal(body.get("user"), body.get("view_id"),
                                                          cleared=bool(body.get("cleared"))))


async def _suggest(request: web.Request) -> web.Response:
    body = await _body(request)
    console = request.app[CONSOLE_KEY]
    return _answer(await console.interactions.suggest(body.get("user"), body.get("where"), body.get("action_id"),
                                                      body.get("block_id"), body.get("value")))


async def _home(request: web.Request) -> web.Response:
    body = await _body(request)
    console = request.app[CONSOLE_KEY]
    return _answer(await console.interactions.open_home(body.get("user")))
