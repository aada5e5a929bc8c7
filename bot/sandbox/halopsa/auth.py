"""Halo's Authorisation Server as the simulator plays it: `POST /auth/token?tenant=` and `GET /api/authinfo`.

Sources (notes = shared/apis/halopsa.md §1):
- OAuth2 client credentials: form body `grant_type=client_credentials&client_id&client_secret&scope`, scopes
  space-separated, tenant in the query for Halo-hosted instances; reply `token_type`, `access_token`,
  `expires_in` (3600 seen) [notes §1; code homotechsual/HaloAPI Connect-HaloAPI.ps1]. The reply also carries
  `scope` [3p asachs01 SKILL.md], which Test connection can compare with what it asked for.
- `GET /api/authinfo` -> `auth_url` (tenant_id optional) [code homotechsual Connect-HaloAPI.ps1]. The
  simulator leaves tenant_id out: a client must be configured with its tenant.
- A wrong client id is answered 401 `{"error": "invalid_client"}` [issue homotechsual/HaloAPI#19: "The Halo API
  said invalid_client ... 401 Unauthorized"].
- A token minted without `scope` is issued but every API call with it is 401 [issue Servosity/msp-skills#6].
- The scope list is homotechsual's `Classes/HaloAuth.psm1`.

Choices where the sources are silent (RFC 6749 §5.2 shapes, wording ours):
- A wrong secret answers exactly as a wrong client id (401 invalid_client): an authorisation server does not
  say which of the two was wrong, so neither can SeatSync's diagnosis.
- No tenant, or one this instance does not host: 400 `invalid_request` whose description names the tenant
  (the 3p notes list "Tenant not found" as a known error). Checked before the client: the tenant picks the
  database the application lives in.
- `grant_type` other than client_credentials: 400 `unsupported_grant_type`.
- A scope not in Halo's list, or not granted to the application: 400 `invalid_scope` (IdentityServer's
  answer, DuendeArchive/IdentityServer4#1456). `all` grants every scope but `admin`; `all:standard` likewise.
- An edit scope does not imply its read scope: a token needs `read:invoices` to read, `edit:invoices` to post.
- Tokens are opaque strings (a real one is a JWT; nothing may parse it) and expire after the application's
  `token_lifetime_s` by the monotonic clock; an expired or unknown token is 401 with RFC 6750's
  `WWW-Authenticate: Bearer error="invalid_token"` and an empty body, as ASP.NET's bearer handler answers.
- Token requests do not count against the API's rate limit.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.sandbox.world import SandboxWorld

SCOPES = frozenset({
    "all", "all:standard", "admin", "editMine:timesheets", "access:chat", "access:adpasswordreset",
    *(f"{verb}:{area}" for verb in ("read", "edit") for area in (
        "tickets", "calendar", "customers", "crm", "timesheets", "contracts", "suppliers", "items", "projects",
        "sales", "quotes", "sos", "pos", "invoices", "reporting", "software", "softwarelicensing", "kb",
        "assets")),
})
_BROAD = frozenset({"all", "all:standard"})


@dataclass
class IssuedToken:
    scopes: frozenset[str]
    expires_at: float


@dataclass
class TokenStore:
    clock: Callable[[], float] = time.monotonic
    _tokens: dict[str, IssuedToken] = field(default_factory=dict)

    def issue(self, scopes: frozenset[str], lifetime_s: int) -> str:
        now = self.clock()
        self._tokens = {t: v for t, v in self._tokens.items() if v.expires_at > now}  # forget expired ones
        token = secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(scopes=scopes, expires_at=now + lifetime_s)
        return token

    def find(self, token: str) -> IssuedToken | None:
        return self._tokens.get(token)

    def expire_all(self) -> None:
        for issued in self._tokens.values():
            issued.expires_at = self.clock() - 1


def granted(held: frozenset[str], needed: str) -> bool:
    """Whether a token's scopes cover `needed` (e.g. "read:invoices")."""
    if needed in held:
        return True
    if "all" in held or "all:standard" in held:
        return needed != "admin"
    return False


def oauth_error(status: int, error: str, description: str | None = None) -> web.Response:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def token_endpoint(request: web.Request, world: SandboxWorld, store: TokenStore) -> web.Response:
    creds, application = world.credentials, world.halopsa.application
    tenant = request.query.get("tenant", "")
    if not tenant:
        return oauth_error(400, "invalid_request", "A tenant is required for this Halo-hosted instance (?tenant=)")
    if tenant.casefold() != creds.halopsa_tenant.casefold():
        return oauth_error(400, "invalid_request", f"Tenant '{tenant}' not found")
    if request.content_type != "application/x-www-form-urlencoded":
        return oauth_error(400, "invalid_request", "The token request must be application/x-www-form-urlencoded")
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type")
    client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
    if not (hmac.compare_digest(client_id.casefold().encode(), creds.halopsa_client_id.casefold().encode())
            and hmac.compare_digest(secret.encode(), creds.halopsa_client_secret.encode())):
        return oauth_error(401, "invalid_client")
    requested = frozenset(str(form.get("scope", "")).split())
    allowed = frozenset(application.granted_scopes.split())
    if any(scope not in SCOPES or not _grantable(allowed, scope) for scope in requested):
        return oauth_error(400, "invalid_scope")
    token = store.issue(requested, application.token_lifetime_s)
    reply = {"access_token": token, "token_type": "Bearer", "expires_in": application.token_lifetime_s}
    if requested:
        reply["scope"] = " ".join(sorted(requested))
    return web.json_response(reply, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _grantable(allowed: frozenset[str], scope: str) -> bool:
    if scope in allowed:
        return True
    if scope in _BROAD:
        return False  # a broad scope only when the application has it
    return granted(allowed, scope)


def bearer_refusal(request: web.Request, store: TokenStore, needed: str) -> web.Response | None:
    """None when the request's bearer token may do what needs `needed`, else the 401/403 reply."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _challenge(None)
    issued = store.find(token.strip())
    if issued is None:
        return _challenge("The access token is not valid")
    if issued.expires_at <= store.clock():
        return _challenge("The access token expired")
    if not issued.scopes:
        return _challenge("The access token carries no API scope")
    if not granted(issued.scopes, needed):
        # ASP.NET's Forbid: no body; the scope missing is not named (Test connection learns it from
        # the token endpoint's invalid_scope instead)
        return web.Response(status=403)
    return None


def _challenge(description: str | None) -> web.Response:
    value = "Bearer" if description is None else f'Bearer error="invalid_token", error_description="{description}"'
    return web.Response(status=401, headers={"WWW-Authenticate": value})


async def auth_info(request: web.Request, mount: str) -> web.Response:
    return web.json_response({"auth_url": f"{request.url.origin()}{mount}/auth"})
