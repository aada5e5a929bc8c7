"""The Slack app's distribution, simulated: the workspaces that can install it, OAuth v2, rotating tokens, uninstall.

What it plays (shared/apis/slack-multi-workspace.md §1 and §3; Slack's "Installing with OAuth" and "Using token
rotation" pages):
- `GET /oauth/v2/authorize?client_id&scope&user_scope&state&redirect_uri`: the consent screen, one workspace to
  pick and an *Allow* button (a form POST to the same path); *Allow* redirects the browser to the redirect URL with
  `code` and `state`, *Cancel* with `error=access_denied` and `state`;
- `oauth.v2.access` (client id and secret as HTTP basic auth, or as form fields): `code` (once, within 10 minutes,
  with the same `redirect_uri` as the authorize step) or `grant_type=refresh_token`; with rotation on, the bot
  token is `xoxe.xoxb-…`, expires in `expires_in` seconds, and every refresh answers a new access token and a new
  refresh token, the old refresh token being spent (single use);
- each workspace's bot token opens that workspace only; an expired token answers `token_expired`, a revoked or
  uninstalled one `token_revoked`;
- `uninstall(team_id)`: the tokens revoked, then the `tokens_revoked` and `app_uninstalled` events, which the
  caller sends signed to the app (`bot.sandbox.slack_requests.SlackRequestSender.event_callback`).

Time is the primary workspace's clock (seconds since the epoch), so a test moves tokens to expiry as Slack would.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.sandbox.slack_workspace import SlackMethodError, SlackRecorder

TOKEN_LIFETIME_S = 12 * 3600  # "access tokens expire every 12 hours"
CODE_TTL_S = 600  # a temporary authorization code lasts ten minutes
DEFAULT_CLIENT_ID = "1111111111.2222222222"
DEFAULT_CLIENT_SECRET = "sandbox0client0secret0000000000ab"  # noqa: S105 - the simulator's own, published value


@dataclass
class IssuedToken:
    team_id: str
    kind: str  # "bot" or "refresh"
    expires_at: float | None  # None: a token that does not expire (rotation off)
    revoked: bool = False


@dataclass
class PendingCode:
    team_id: str
    user_id: str
    scopes: str
    user_scopes: str
    redirect_uri: str | None
    issued_at: float
    used: bool = False


@dataclass
class Installed:
    """The app in one workspace, as Slack keeps it."""

    team_id: str
    installer_id: str
    scopes: str
    bot_token: str
    refresh_token: str | None


@dataclass
class SlackDistribution:
    """Every workspace of the simulated Slack and the app's installations in them."""

    primary: SlackRecorder
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    token_rotation: bool = True
    token_lifetime_s: int = TOKEN_LIFETIME_S
    redirect_uri: str | None = None  # the app's configured redirect URL, when it has one
    teams: dict[str, SlackRecorder] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict, repr=False)
    codes: dict[str, PendingCode] = field(default_factory=dict, repr=False)
    installed: dict[str, Installed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.teams.setdefault(self.primary.team_id, self.primary)

    # --- workspaces ----------------------------------------------------------------------------------

    def add_team(self, team_id: str, name: str, *, domain: str | None = None, enterprise_id: str | None = None,
                 enterprise_name: str | None = None, is_enterprise_install: bool = False) -> SlackRecorder:
        """Another workspace with the default people and channels (its own messages, views and rate limits)."""
        recorder = SlackRecorder(bot_token="", signing_secret=self.primary.signing_secret, clock=self.primary.clock,
                                 limits=self.primary.limits, team_id=team_id, team_name=name,
                                 team_domain=domain or name.lower().replace(" ", "-"),
                                 base_url=self.primary.base_url, seed=len(self.teams) + self.primary.seed)
        recorder.enterprise_id = enterprise_id
        recorder.enterprise_name = enterprise_name
        recorder.is_enterprise_install = is_enterprise_install
        self.teams[team_id] = recorder
        return recorder

    def team(self, team_id: str) -> SlackRecorder:
        if team_id not in self.teams:
            raise KeyError(f"no workspace {team_id} in the simulated Slack")
        return self.teams[team_id]

    def reset(self) -> None:
        """Forget every installation and token; keep the workspaces (each reset on its own)."""
        self.tokens.clear()
        self.codes.clear()
        self.installed.clear()
        for recorder in self.teams.values():
            if recorder is not self.primary:
                recorder.reset()

    # --- the Web API's side ----------------------------------------------------------------------------

    def recorder_for(self, token: str) -> SlackRecorder | None:
        """The workspace a bot token opens; None when the token is not one this distribution issued."""
        issued = self.tokens.get(token)
        if issued is None or issued.kind != "bot":
            return None
        if issued.revoked:
            raise SlackMethodError("token_revoked")
        if issued.expires_at is not None and self.primary.now() >= issued.expires_at:
            raise SlackMethodError("token_expired")
        return self.teams[issued.team_id]

    def recorder_for_response_url(self, url_id: str) -> SlackRecorder:
        return next((r for r in self.teams.values() if url_id in r.response_urls), self.primary)

    def oauth_v2_access(self, args: Mapping[str, Any], authorization: str | None) -> dict[str, Any]:
        """`oauth.v2.access`: a code or a refresh token exchanged for the workspace's tokens."""
        client_id, client_secret = _client_credentials(args, authorization)
        if client_id != self.client_id:
            raise SlackMethodError("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackMethodError("bad_client_secret")
        grant_type = args.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            return self._refresh(str(args.get("refresh_token") or ""))
        if grant_type != "authorization_code":
            raise SlackMethodError("invalid_grant_type")
        return self._exchange_code(str(args.get("code") or ""), args.get("redirect_uri"))

    def _exchange_code(self, code: str, redirect_uri: Any) -> dict[str, Any]:
        pending = self.codes.get(code)
        if pending is None or self.primary.now() - pending.issued_at > CODE_TTL_S:
            raise SlackMethodError("invalid_code")
        if pending.used:
            raise SlackMethodError("code_already_used")
        if pending.redirect_uri is not None and redirect_uri != pending.redirect_uri:
            raise SlackMethodError("bad_redirect_uri")
        pending.used = True
        for token, issued in self.tokens.items():  # a reinstall replaces the workspace's tokens
            if issued.team_id == pending.team_id:
                self.tokens[token].revoked = True
        bot_token, refresh_token = self._issue(pending.team_id)
        self.installed[pending.team_id] = Installed(team_id=pending.team_id, installer_id=pending.user_id,
                                                    scopes=pending.scopes, bot_token=bot_token,
                                                    refresh_token=refresh_token)
        self.teams[pending.team_id].changed()  # its people see the app arrive (the console drops its install link)
        return self._token_reply(self.installed[pending.team_id])

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        issued = self.tokens.get(refresh_token)
        if issued is None or issued.kind != "refresh" or issued.revoked:
            raise SlackMethodError("invalid_refresh_token")
        issued.revoked = True
        installed = self.installed[issued.team_id]
        self.tokens[installed.bot_token].revoked = True
        installed.bot_token, installed.refresh_token = self._issue(issued.team_id)
        return self._token_reply(installed)

    def _issue(self, team_id: str) -> tuple[str, str | None]:
        recorder = self.teams[team_id]
        secret = recorder.random_token(40)
        if not self.token_rotation:
            token = f"xoxb-{team_id}-{secret}"
            self.tokens[token] = IssuedToken(team_id=team_id, kind="bot", expires_at=None)
            return token, None
        token = f"xoxe.xoxb-1-{team_id}-{secret}"
        refresh = f"xoxe-1-{team_id}-{recorder.random_token(60)}"
        self.tokens[token] = IssuedToken(team_id=team_id, kind="bot",
                                         expires_at=self.primary.now() + self.token_lifetime_s)
        self.tokens[refresh] = IssuedToken(team_id=team_id, kind="refresh", expires_at=None)
        return token, refresh

    def _token_reply(self, installed: Installed) -> dict[str, Any]:
        recorder = self.teams[installed.team_id]
        enterprise = ({"id": recorder.enterprise_id, "name": recorder.enterprise_name}
                      if recorder.enterprise_id else None)
        reply: dict[str, Any] = {
            "access_token": installed.bot_token, "token_type": "bot", "scope": installed.scopes,
            "bot_user_id": recorder.bot_user.id, "app_id": recorder.app_id,
            "team": None if recorder.is_enterprise_install else {"id": recorder.team_id, "name": recorder.team_name},
            "enterprise": enterprise, "is_enterprise_install": recorder.is_enterprise_install,
            "authed_user": {"id": installed.installer_id},
        }
        if installed.refresh_token is not None:
            reply["refresh_token"] = installed.refresh_token
            reply["expires_in"] = self.token_lifetime_s
        return reply

    # --- the consent screen's side ---------------------------------------------------------------------

    def authorize_problem(self, query: Mapping[str, str]) -> str | None:
        """Why Slack would not show the consent screen for this request, or None."""
        if query.get("client_id") != self.client_id:
            return "Invalid client_id parameter"
        if not (query.get("scope") or query.get("user_scope")):
            return "Invalid permissions requested: no scope"
        if query.get("redirect_uri") and self.redirect_uri and query["redirect_uri"] != self.redirect_uri:
            return "redirect_uri did not match any configured URIs"
        if not (query.get("redirect_uri") or self.redirect_uri):
            return "No redirect_uri was given and the app has none configured"
        return None

    def allow(self, query: Mapping[str, str], *, team_id: str, user_id: str | None = None) -> str:
        """The person allowed the app in `team_id`: the redirect URL that carries the code and the state."""
        recorder = self.team(team_id)
        installer = user_id or next(u.id for u in recorder.users.values() if u.is_admin and not u.is_bot)
        code = f"{int(self.primary.now())}.{recorder.random_token(32, '0123456789abcdef')}"
        self.codes[code] = PendingCode(team_id=team_id, user_id=installer, scopes=query.get("scope", ""),
                                       user_scopes=query.get("user_scope", ""),
                                       redirect_uri=query.get("redirect_uri") or None, issued_at=self.primary.now())
        return _with_query(query.get("redirect_uri") or self.redirect_uri or "", code=code,
                           state=query.get("state", ""))

    def deny(self, query: Mapping[str, str]) -> str:
        return _with_query(query.get("redirect_uri") or self.redirect_uri or "", error="access_denied",
                           state=query.get("state", ""))

    def expire_tokens(self, team_id: str) -> int:
        """Make the workspace's current bot tokens expired now (as 12 hours would); how many there were."""
        expired = 0
        for issued in self.tokens.values():
            if issued.team_id == team_id and issued.kind == "bot" and not issued.revoked:
                issued.expires_at = self.primary.now()
                expired += 1
        return expired

    # --- uninstall -------------------------------------------------------------------------------------

    def uninstall(self, team_id: str) -> list[dict[str, Any]]:
        """Revoke the workspace's tokens and forget the installation; the events Slack then sends, in order."""
        installed = self.installed.pop(team_id, None)
        for issued in self.tokens.values():
            if issued.team_id == team_id:
                issued.revoked = True
        if installed is None:
            return []
        recorder = self.teams[team_id]
        recorder.changed()  # and see it leave
        return [{"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [recorder.bot_user.id]},
                 "event_ts": recorder.next_ts()},
                {"type": "app_uninstalled", "event_ts": recorder.next_ts()}]


def _client_credentials(args: Mapping[str, Any], authorization: str | None) -> tuple[str | None, str | None]:
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except ValueError:
            raise SlackMethodError("invalid_client_id") from None
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return args.get("client_id"), args.get("client_secret")


def _with_query(url: str, **params: str) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)
