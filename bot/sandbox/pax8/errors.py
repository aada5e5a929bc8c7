"""Pax8's three error bodies: the partner API's, the token endpoint's and the webhooks API's.

- Partner API (spec `Error`; devx /docs/errors): `{"type", "message", "instance", "status", "details": []}`.
  devx's example is `{"type": "NOT_FOUND", "message": "Company Not Found: <id>", "instance":
  "/public/v1/companies/<id>", "status": 404, "details": []}`: `type` is the status's name in capitals
  and `instance` the path behind Pax8's gateway, `/public/v1/...`, which the sandbox copies. Used
  for every status, 401 and 429 included (devx: "The body of each error response contains JSON in
  the following format"); the 401 and 429 wording is the sandbox's.
- `POST /v1/token` 401 (auth spec example): `{"error": "access_denied", "error_description": "Unauthorized"}`.
  A malformed token request gets OAuth 2's 400 `invalid_request` / `unsupported_grant_type` (RFC 6749
  5.2; the spec documents only the 401).
- Webhooks API (spec, every error response): `{"type", "message", "status", "instance", "details":
  [{"type", "message", "status"}]}` with `type` one of NOT_FOUND, UNAUTHORIZED, FORBIDDEN, BAD_REQUEST,
  INTERNAL_SERVER_ERROR, INVALID_PARAM.
Errors injected by the fault knobs have no request at hand, so they carry no `instance`.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web

PUBLIC_PREFIX = "/public/v1"
_WEBHOOK_TYPES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}


def error_type(status: int) -> str:
    try:
        return HTTPStatus(status).name
    except ValueError:
        return "ERROR"


def public_instance(path: str) -> str:
    """The request path as Pax8 names it behind its gateway (`/pax8/v1/companies/x` -> `/public/v1/companies/x`)."""
    _, _, rest = path.partition("/v1")
    return PUBLIC_PREFIX + rest


def partner_error(status: int, message: str, path: str | None = None,
                  details: list[dict] | None = None) -> web.Response:
    body: dict = {"type": error_type(status), "message": message}
    if path is not None:
        body["instance"] = public_instance(path)
    body["status"] = status
    body["details"] = details or []
    return web.json_response(body, status=status)


def invalid_param(message: str, path: str | None = None) -> dict:
    detail = {"type": "INVALID_PARAM", "message": message, "status": 422}
    if path is not None:
        detail["instance"] = public_instance(path)
    return detail


def token_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def webhook_error(status: int, message: str, path: str | None = None,
                  details: list[dict] | None = None) -> web.Response:
    kind = _WEBHOOK_TYPES.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else error_type(status))
    body: dict = {"type": kind, "message": message, "status": status}
    if path is not None:
        body["instance"] = path.removeprefix("/pax8")
    body["details"] = details or []
    return web.json_response(body, status=status)


def pax8_error(status: int, message: str) -> web.Response:
    """The body of an error the fault knobs inject anywhere under /pax8 (the partner API's shape)."""
    return partner_error(status, message)
