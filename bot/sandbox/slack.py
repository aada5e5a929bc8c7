"""The Slack Web API simulator: the subset SeatSync calls, plus the response_url endpoint.

Mounted at `/slack`; the Web API base is `http://host:port/slack/api/`, so
`AsyncWebClient(token=..., base_url="http://host:port/slack/api/")` and Bolt's `app.client` work
against it unchanged. response_urls handed to the app are served at `/slack/response/{id}`.

How it speaks (Slack's "Web API basics" and the OpenAPI document in tests/specs):
- `GET` with query parameters or `POST` with `application/x-www-form-urlencoded` /
  `multipart/form-data` (JSON-typed fields such as `blocks` / `view` JSON-encoded in them, as
  slack_sdk sends them) or `application/json` (query parameters are merged in, since slack_sdk sends
  some `params` in the query string of a POST);
- the token as `Authorization: Bearer xoxb-...` or a `token` argument — but with a JSON body only the
  header counts (Slack: JSON bodies must carry the token in the Authorization header): none ->
  `not_authed`, wrong -> `invalid_auth`;
- every reply is HTTP 200 `{"ok": false, "error": "..."}` on failure (plus `response_metadata.messages`
  where Slack gives them), except an unknown method (404 `unknown_method`) and rate limiting
  (429, `Retry-After` in whole seconds, `{"ok": false, "error": "ratelimited"}`);
- bad bodies: invalid JSON -> `invalid_json`, JSON that is not an object -> `json_not_object`,
  a POST body without Content-Type -> `missing_post_type`, another type -> `invalid_post_type`.

Every call is recorded on the `SlackRecorder` (method, parsed arguments, status, reply, time),
including calls answered by an injected fault (arguments unknown then, `fault_injected=True`).
A 429 injected by the fault middleware gets its `Retry-After` rounded up to whole seconds here,
because Slack sends integers and slack_sdk's retry handler does `int(Retry-After)`.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox.faults import mark_write
from bot.sandbox.slack_chat import (
    chat_delete,
    chat_post_ephemeral,
    chat_post_message,
    chat_update,
    post_to_response_url,
)
from bot.sandbox.slack_consent import add_consent_routes
from bot.sandbox.slack_directory import (
    api_test,
    auth_test,
    conversations_info,
    conversations_members,
    usergroups_list,
    usergroups_users_list,
    users_info,
)
from bot.sandbox.slack_files import files_info, serve_download
from bot.sandbox.slack_oauth import SlackDistribution
from bot.sandbox.slack_views import views_open, views_publish, views_push, views_update
from bot.sandbox.slack_workspace import RecordedCall, SlackMethodError, SlackRecorder

__all__ = ["RecordedCall", "SlackRecorder", "create_slack_app", "slack_error"]

Method = Callable[[SlackRecorder, dict[str, Any]], dict[str, Any]]

# name -> (implementation, changes state)
METHODS: dict[str, tuple[Method, bool]] = {
    "api.test": (api_test, False),
    "auth.test": (auth_test, False),
    "chat.postMessage": (chat_post_message, True),
    "chat.postEphemeral": (chat_post_ephemeral, True),
    "chat.update": (chat_update, True),
    "chat.delete": (chat_delete, True),
    "views.open": (views_open, True),
    "views.push": (views_push, True),
    "views.update": (views_update, True),
    "views.publish": (views_publish, True),
    "users.info": (users_info, False),
    "usergroups.list": (usergroups_list, False),
    "usergroups.users.list": (usergroups_users_list, False),
    "conversations.info": (conversations_info, False),
    "conversations.members": (conversations_members, False),
    "files.info": (files_info, False),
}
NO_AUTH = {"api.test"}
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")

RECORDER_KEY = web.AppKey("slack_recorder", SlackRecorder)
DISTRIBUTION_KEY = web.AppKey("slack_distribution", SlackDistribution)
OAUTH_ACCESS = "oauth.v2.access"
_RECORDED = web.RequestKey("seatsync_slack_recorded", bool)

_ERRORS_BY_STATUS = {
    429: "ratelimited",
    500: "internal_error",
    502: "internal_error",
    503: "service_unavailable",
    504: "request_timeout",
    401: "invalid_auth",
    403: "access_denied",
    404: "unknown_method",
}


def slack_error(status: int, message: str) -> web.Response:
    """Slack's error shape for an injected HTTP fault: `{"ok": false, "error": <code for the status>}`.

    Slack's body carries only the error code, so `message` (the fault's reason) is not sent.
    """
    return web.json_response({"ok": False, "error": _ERRORS_BY_STATUS.get(status, "fatal_error")}, status=status)


def create_slack_app(recorder: SlackRecorder, distribution: SlackDistribution | None = None) -> web.Application:
    """The Web API of `recorder`'s workspace; with a `distribution`, of each of its workspaces (a bot token opens
    its own), plus `oauth.v2.access` and the consent screen at `/oauth/v2/authorize`."""
    app = web.Application(middlewares=[_learn_base_url(recorder)])
    app[RECORDER_KEY] = recorder
    if distribution is not None:
        app[DISTRIBUTION_KEY] = distribution
        add_consent_routes(app, distribution)
    app.router.add_route("GET", "/api/{method}", _web_api)
    app.router.add_route("POST", "/api/{method}", _web_api)
    app.router.add_post("/response/{url_id}", _response_url)
    app.router.add_get("/files-pri/{file_ref}/{name}", _download)
    app.on_response_prepare.append(_finish_reply)
    return app


def _learn_base_url(recorder: SlackRecorder):
    @web.middleware
    async def middleware(request: web.Request, handler):
        if recorder.base_url is None:
            for marker in ("/api/", "/response/"):
                if marker in request.path:
                    recorder.base_url = str(request.url.origin()) + request.path[: request.path.index(marker)]
                    break
        return await handler(request)

    return middleware


async def _finish_reply(request: web.Request, response: web.StreamResponse) -> None:
    """Whole-second Retry-After, and record calls a fault answered before any handler ran."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        try:
            response.headers["Retry-After"] = str(max(0, math.ceil(float(retry_after))))
        except ValueError:
            pass
    recorder = request.config_dict.get(RECORDER_KEY)
    unrouted = getattr(request.match_info, "http_exception", None) is not None
    if recorder is None or unrouted or request.get(_RECORDED):
        return
    body: Any = None
    if isinstance(response, web.Response) and response.body is not None:
        try:
            body = json.loads(response.body)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            body = None
    method = request.match_info.get("method") or "response_url"
    recorder.record(method, None, response.status, body, http_method=request.method, fault_injected=True)


def _reply(request: web.Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
           ) -> web.Response:
    recorder = request.app[RECORDER_KEY]
    all_headers = {"X-Slack-Req-Id": recorder.random_token(32, "0123456789abcdef")}
    all_headers.update(headers or {})
    return web.json_response(body, status=status, headers=all_headers)


async def _web_api(request: web.Request) -> web.Response:
    recorder = request.app[RECORDER_KEY]
    distribution = request.app.get(DISTRIBUTION_KEY)
    name = request.match_info["method"]
    request[_RECORDED] = True
    args: dict[str, Any] | None = None
    status, headers = 200, {}
    try:
        args, token = await _read_arguments(request)
        if distribution is not None and name == OAUTH_ACCESS:
            body = {"ok": True, **distribution.oauth_v2_access(args, request.headers.get("Authorization"))}
        elif name not in METHODS:
            status, body = 404, {"ok": False, "error": "unknown_method", "req_method": name}
        else:
            implementation, writes = METHODS[name]
            if name not in NO_AUTH:
                recorder = _authenticate(recorder, distribution, token)
            retry_after = recorder.limiter.check(name, str(args.get("channel") or ""))
            if retry_after is not None:
                status, headers = 429, {"Retry-After": str(retry_after)}
                body = {"ok": False, "error": "ratelimited"}
            else:
                body = {"ok": True, **implementation(recorder, copy.deepcopy(args))}
                if writes:
                    mark_write(request)
    except SlackMethodError as exc:
        status, body = exc.status, exc.body()
    recorder.record(name, _redacted(name, _decoded(args)), status, _redacted(name, body), http_method=request.method)
    return _reply(request, status, body, headers)


def _redacted(name: str, values: dict[str, Any] | None) -> dict[str, Any] | None:
    """oauth.v2.access's codes and tokens stay out of the call log (the console shows it)."""
    if name != OAUTH_ACCESS or values is None:
        return values
    return {key: ("***" if key in ("code", "refresh_token", "access_token", "client_secret") else value)
            for key, value in values.items()}


def _decoded(args: dict[str, Any] | None) -> dict[str, Any] | None:
    """Arguments for the record, with JSON-encoded form fields (blocks, view, ...) decoded where valid."""
    if args is None:
        return None
    decoded = dict(args)
    for name in JSON_FIELDS:
        if isinstance(decoded.get(name), str):
            try:
                decoded[name] = json.loads(decoded[name])
            except ValueError:
                pass
    return decoded


def _authenticate(recorder: SlackRecorder, distribution: SlackDistribution | None, token: str | None
                  ) -> SlackRecorder:
    """The workspace the token opens: the default one's fixed token, or one a distribution issued."""
    if not token:
        raise SlackMethodError("not_authed")
    if recorder.bot_token and token == recorder.bot_token:
        return recorder
    installed = distribution.recorder_for(token) if distribution is not None else None
    if installed is None:
        raise SlackMethodError("invalid_auth")
    return installed


async def _read_arguments(request: web.Request) -> tuple[dict[str, Any], str | None]:
    args: dict[str, Any] = dict(request.query)
    header = request.headers.get("Authorization", "")
    bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
    token_from_args: str | None = args.pop("token", None)
    if request.method == "POST" and request.body_exists:
        content_type = request.content_type
        if "Content-Type" not in request.headers:
            raise SlackMethodError("missing_post_type")
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            token_from_args = fields.pop("token", None) or token_from_args
            args.update(fields)
        elif content_type == "application/json":
            raw = await request.read()
            try:
                parsed = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise SlackMethodError("invalid_json") from exc
            if not isinstance(parsed, dict):
                raise SlackMethodError("json_not_object")
            parsed.pop("token", None)  # ignored: JSON bodies authenticate by header only
            args.update(parsed)
        else:
            raise SlackMethodError("invalid_post_type")
    return args, bearer or token_from_args


async def _download(request: web.Request) -> web.Response:
    request[_RECORDED] = True
    return serve_download(request.app[RECORDER_KEY], request)


async def _response_url(request: web.Request) -> web.Response:
    url_id = request.match_info["url_id"]
    distribution = request.app.get(DISTRIBUTION_KEY)
    recorder = distribution.recorder_for_response_url(url_id) if distribution else request.app[RECORDER_KEY]
    request[_RECORDED] = True
    raw = await request.read()
    body: Any
    try:
        if request.content_type == "application/x-www-form-urlencoded":
            body = json.loads((await request.post()).get("payload", ""))  # type: ignore[arg-type]
        else:
            body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    status, reply = post_to_response_url(recorder, url_id, body)
    recorder.record("response_url", {"url_id": url_id, **(body if isinstance(body, dict) else {})}, status, reply)
    if status == 200:
        mark_write(request)
    return _reply(request, status, reply)
