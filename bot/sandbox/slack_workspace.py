"""The simulated Slack workspace behind the Slack facade, and the record of every call made to it.

`SlackRecorder` holds what a real workspace would: the team, the bot user, people (with names, real
names, admin flags), user groups, channels (and whether the bot is in them), messages by
(channel, ts), ephemeral messages, views by id with their hash and stack, the trigger ids and
response_urls the request sender (`bot.sandbox.slack_requests`) hands to the app, and the list of
every Web API / response_url call with its parsed arguments and the reply.

Time comes from an injectable `clock` (seconds since the epoch, like `time.time`) so tests can expire
triggers and refill rate limits without sleeping. Identifiers come from a seeded generator, so a
reset workspace hands out the same ids again.

Shapes checked against Slack's method reference as mirrored in slack-ruby/slack-api-ref
(`methods/views/views.open.json`: trigger errors, view object fields) and bolt-python's test payloads.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.sandbox.slack_ratelimit import SlackRateLimiter, SlackRateLimits

TRIGGER_TTL_S = 3.0  # Slack: "Pass a valid trigger_id within 3 seconds"
RESPONSE_URL_TTL_S = 30 * 60  # a response_url works for 30 minutes ...
RESPONSE_URL_MAX_USES = 5  # ... and up to 5 times
MAX_VIEW_STACK = 3  # views.push: "Currently the limit is 3"

_ID_ALPHABET = string.ascii_uppercase + string.digits


class SlackMethodError(Exception):
    """A Web API failure: rendered as `{"ok": false, "error": error, **extra}` with `status`."""

    def __init__(self, error: str, *, messages: list[str] | None = None, status: int = 200,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = dict(extra or {})
        if messages:
            self.extra["response_metadata"] = {"messages": list(messages)}

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None
    tz: str = "America/Chicago"
    tz_label: str = "Central Standard Time"
    tz_offset: int = -21600
    title: str = ""
    dm_channel: str = ""  # the app's DM (messages tab) with this user


@dataclass
class SlackUserGroup:
    id: str
    handle: str
    name: str
    members: list[str] = field(default_factory=list)


@dataclass
class SlackChannel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True  # is the bot in it
    is_archived: bool = False
    is_im: bool = False
    members: list[str] = field(default_factory=list)
    created: int = 1_600_000_000
    topic: str = ""
    purpose: str = ""


@dataclass
class SlackMessage:
    channel: str
    message: dict[str, Any]  # the message object as Slack returns it
    deleted: bool = False
    ephemeral_to: str | None = None  # set for ephemeral messages

    @property
    def ts(self) -> str:
        return self.message["ts"]


@dataclass
class SlackView:
    id: str
    user_id: str
    body: dict[str, Any]  # the view object as views.* return it (id, hash, state, ...)
    root_id: str
    open: bool = True

    @property
    def hash(self) -> str:
        return self.body["hash"]


@dataclass
class TriggerId:
    id: str
    user_id: str
    issued_at: float
    view_id: str | None = None  # the view the interaction happened in, if any
    used: bool = False


@dataclass
class ResponseUrl:
    id: str
    url: str
    kind: str  # "commands" or "actions"
    issued_at: float
    channel_id: str | None = None
    user_id: str | None = None
    message_ts: str | None = None  # the message an action came from (replace_original / delete_original)
    ephemeral: bool = False
    uses: int = 0


@dataclass
class RecordedCall:
    method: str  # Web API method name, or "response_url"
    args: dict[str, Any] | None  # as parsed (JSON fields decoded); None when a fault was injected first
    status: int
    response: Any
    at: float
    http_method: str = "POST"
    fault_injected: bool = False

    @property
    def ok(self) -> bool:
        return isinstance(self.response, dict) and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error") if isinstance(self.response, dict) else None


class SlackRecorder:
    """One simulated workspace plus the log of every call the bot made against it."""

    trigger_ttl_s = TRIGGER_TTL_S  # tests widen it (tests/conftest.py): Slack's 3 s is bench/slack_ack.py's to measure

    def __init__(self, bot_token: str, signing_secret: str, *, clock: Callable[[], float] = time.time,
                 limits: SlackRateLimits | None = None, team_id: str = "T0SEATSYNC",
                 team_domain: str = "seatsync-sandbox", team_name: str = "SeatSync Sandbox",
                 base_url: str | None = None, seed: int = 7) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.clock = clock
        self.limits = limits or SlackRateLimits()
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.base_url = base_url  # e.g. "http://127.0.0.1:8080/slack"; learnt from the first request if unset
        self.seed = seed
        self.app_id = "A0SEATSYNC1"
        self.bot_id = "B0SEATBOT01"
        self.verification_token = "sandboxVerificationTok3n"
        self.enterprise_id: str | None = None  # set for a workspace of an Enterprise Grid organisation
        self.enterprise_name: str | None = None
        self.is_enterprise_install = False  # the app installed org-wide rather than in this workspace
        self.listeners: list[Callable[[], None]] = []  # told after every recorded call (the browser console)
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every call, message, view, trigger and response_url; restore the default workspace."""
        self._rng = random.Random(self.seed)
        self._last_ts_us = 0
        self.users: dict[str, SlackUser] = {}
        self.usergroups: dict[str, SlackUserGroup] = {}
        self.channels: dict[str, SlackChannel] = {}
        self.messages: dict[tuple[str, str], SlackMessage] = {}
        self.ephemeral: list[SlackMessage] = []
        self.views: dict[str, SlackView] = {}
        self.stacks: dict[str, list[str]] = {}  # root view id -> open view ids, bottom first
        self.home_views: dict[str, str] = {}  # user id -> home view id
        self.triggers: dict[str, TriggerId] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.files: dict[str, Any] = {}  # file id -> bot.sandbox.slack_files.SlackFile
        self._calls: list[RecordedCall] = []
        self.limiter = SlackRateLimiter(self.limits, self.clock)
        self.bot_user = self.add_user("seatsync", "SeatSync", user_id="U0SEATBOT1", is_bot=True)
        self._seed_default_workspace()

    def _seed_default_workspace(self) -> None:
        dana = self.add_user("dana", "Dana Whitfield", user_id="U0DANA0001", is_admin=True, title="Billing lead",
                             email="dana@example-msp.com")
        sam = self.add_user("sam", "Sam Ortega", user_id="U0SAM00002", title="Billing specialist",
                            email="sam@example-msp.com")
        lee = self.add_user("lee", "Lee Park", user_id="U0LEE00003", title="Service desk",
                            email="lee@example-msp.com")
        morgan = self.add_user("morgan", "Morgan Reyes", user_id="U0MORGAN04", is_admin=True, is_owner=True,
                               title="Owner", email="morgan@example-msp.com")
        everyone = [dana.id, sam.id, lee.id, morgan.id, self.bot_user.id]
        self.add_usergroup("billing-team", [dana.id, sam.id], name="Billing Team", group_id="S0BILLING01")
        self.add_channel("general", channel_id="C0GENERAL01", members=everyone)
        self.add_channel("billing-alerts", channel_id="C0BILLING01", members=[dana.id, sam.id, self.bot_user.id])
        self.add_channel("random", channel_id="C0RANDOM001", is_member=False, members=[dana.id, lee.id])
        self.add_channel("finance-private", channel_id="G0FINANCE01", is_private=True, is_member=False,
                         members=[morgan.id])

    # --- identifiers and time --------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 10) -> str:
        return prefix + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length))

    def random_token(self, length: int = 24, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def now(self) -> float:
        return float(self.clock())

    def next_ts(self) -> str:
        """A message ts ("1732262400.000100"): unique and strictly increasing, even within a microsecond."""
        now_us = int(self.now() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def new_view_hash(self) -> str:
        return f"{int(self.now())}.{self.random_token(8)}"

    # --- workspace set-up ------------------------------------------------------------------------

    def add_user(self, name: str, real_name: str | None = None, *, user_id: str | None = None,
                 is_admin: bool = False, is_owner: bool = False, is_bot: bool = False, title: str = "",
                 email: str | None = None, deleted: bool = False) -> SlackUser:
        user = SlackUser(id=user_id or self.new_id("U"), name=name, real_name=real_name or name, is_admin=is_admin,
                         is_owner=is_owner, is_bot=is_bot, title=title, email=email, deleted=deleted)
        user.dm_channel = "D" + user.id[1:]
        self.users[user.id] = user
        if not is_bot:
            self.channels[user.dm_channel] = SlackChannel(id=user.dm_channel, name=user.id, is_private=True,
                                                          is_im=True, members=[user.id, self.bot_user.id])
        return user

    def add_usergroup(self, handle: str, members: list[str], *, name: str | None = None,
                      group_id: str | None = None) -> SlackUserGroup:
        group = SlackUserGroup(id=group_id or self.new_id("S"), handle=handle, name=name or handle,
                               members=list(members))
        self.usergroups[group.id] = group
        return group

    def add_channel(self, name: str, *, channel_id: str | None = None, is_member: bool = True,
                    is_private: bool = False, is_archived: bool = False,
                    members: list[str] | None = None) -> SlackChannel:
        cid = channel_id or self.new_id("G" if is_private else "C")
        roster = list(members) if members is not None else list(self.users)
        if is_member and self.bot_user.id not in roster:
            roster.append(self.bot_user.id)
        if not is_member and self.bot_user.id in roster:
            roster.remove(self.bot_user.id)
        channel = SlackChannel(id=cid, name=name, is_private=is_private, is_member=is_member,
                               is_archived=is_archived, members=roster)
        self.channels[cid] = channel
        return channel

    def add_user_message(self, channel_id: str, user_id: str, text: str) -> str:
        """A message some person wrote (the bot may not edit or delete it)."""
        ts = self.next_ts()
        message = {"type": "message", "user": user_id, "text": text, "ts": ts, "team": self.team_id}
        self.messages[(channel_id, ts)] = SlackMessage(channel=channel_id, message=message)
        return ts

    # --- look-ups --------------------------------------------------------------------------------

    def resolve_channel(self, ref: str) -> SlackChannel | None:
        """A channel by id, by name ("billing-alerts" or "#billing-alerts"), or a user id (their DM)."""
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users and ref != self.bot_user.id:
            return self.channels.get(self.users[ref].dm_channel)
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def find_usergroup(self, handle: str) -> SlackUserGroup | None:
        return next((g for g in self.usergroups.values() if g.handle == handle), None)

    def channel_messages(self, channel_id: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [m.message for (cid, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1])
                if cid == channel_id and (include_deleted or not m.deleted)]

    def ephemeral_messages(self, user_id: str | None = None) -> list[SlackMessage]:
        return [m for m in self.ephemeral if not m.deleted and (user_id is None or m.ephemeral_to == user_id)]

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """The modal stack the user currently sees (bottom first) for their latest opened modal."""
        stacks = [ids for ids in self.stacks.values() if ids and self.views[ids[0]].user_id == user_id]
        return [self.views[v].body for v in stacks[-1]] if stacks else []

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        view_id = self.home_views.get(user_id)
        return self.views[view_id].body if view_id else None

    # --- triggers and response_urls (issued to the app by the request sender) ---------------------

    def issue_trigger_id(self, user_id: str, *, view_id: str | None = None) -> str:
        now = self.now()
        trigger = f"{int(now * 1000)}.{self._rng.randrange(10**9, 10**10)}.{self.random_token(32, '0123456789abcdef')}"
        self.triggers[trigger] = TriggerId(id=trigger, user_id=user_id, issued_at=now, view_id=view_id)
        return trigger

    def exchange_trigger_id(self, trigger_id: str) -> TriggerId:
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise SlackMethodError("invalid_trigger_id")
        if trigger.used:
            raise SlackMethodError("exchanged_trigger_id")
        if self.now() - trigger.issued_at > self.trigger_ttl_s:
            raise SlackMethodError("expired_trigger_id")
        trigger.used = True
        return trigger

    def new_response_url(self, *, kind: str = "commands", channel_id: str | None = None,
                         user_id: str | None = None, message_ts: str | None = None,
                         ephemeral: bool = False) -> str:
        if self.base_url is None:
            raise RuntimeError("SlackRecorder.base_url is not set (e.g. 'http://127.0.0.1:8080/slack'); "
                               "set it, or pass slack_base_url to SlackRequestSender")
        url_id = f"{kind}-{self.team_id}-{self._rng.randrange(10**12, 10**13)}-{self.random_token(24)}"
        url = f"{self.base_url.rstrip('/')}/response/{url_id}"
        self.response_urls[url_id] = ResponseUrl(id=url_id, url=url, kind=kind, issued_at=self.now(),
                                                 channel_id=channel_id, user_id=user_id, message_ts=message_ts,
                                                 ephemeral=ephemeral)
        return url

    # --- the call log ----------------------------------------------------------------------------

    def record(self, method: str, args: dict[str, Any] | None, status: int, response: Any, *,
               http_method: str = "POST", fault_injected: bool = False) -> RecordedCall:
        call = RecordedCall(method=method, args=args, status=status, response=response, at=self.now(),
                            http_method=http_method, fault_injected=fault_injected)
        self._calls.append(call)
        self.changed()
        return call

    def changed(self) -> None:
        """Tell the listeners that the workspace may look different now."""
        for listener in list(self.listeners):
            listener()

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        return [c for c in self._calls if method is None or c.method == method]

    def calls_as_json(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self._calls]
