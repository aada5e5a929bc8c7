"""Who is on the billing team: the only people who may post syncs, change links or config.

The team is the union of `AppSettings.billing_team` (changed by the config modal) and
`SEATSYNC_BILLING_TEAM` (seeded from the environment): Slack user ids (U…/W…) and user group ids
(S…), a group's members resolved with `usergroups.users.list`. When both are empty (a fresh install),
everyone is a member.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db.app_settings import load_app_settings
from bot.slack.mrkdwn import group_mention, user_mention

log = logging.getLogger(__name__)

# The check often runs before an ack (a modal submission must answer with its errors), and the client
# sleeps through a 429's Retry-After: past this, the members last read are used instead.
GROUP_LOOKUP_TIMEOUT_S = 1.5
LAST_KNOWN_FOR_S = 3600
_last_known: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}  # (API URL, group) -> (read at, members)


@dataclass(frozen=True)
class BillingTeam:
    user_ids: tuple[str, ...]
    group_ids: tuple[str, ...]

    @property
    def open_to_everyone(self) -> bool:
        return not self.user_ids and not self.group_ids

    def who_can_act(self) -> str:
        """The members as Slack renders mentions: `<@U…>` for people, `<!subteam^S…>` for groups."""
        return ", ".join([user_mention(user_id) for user_id in self.user_ids]
                         + [group_mention(group_id) for group_id in self.group_ids])


async def load_billing_team(*, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> BillingTeam:
    async with sessions() as session:
        stored = await load_app_settings(session=session)
    ids = list(dict.fromkeys([*stored.billing_team, *settings.billing_team]))
    return BillingTeam(user_ids=tuple(i for i in ids if not i.startswith("S")),
                       group_ids=tuple(i for i in ids if i.startswith("S")))


async def is_billing_member(team: BillingTeam, user_id: str, client: AsyncWebClient) -> bool:
    if team.open_to_everyone or user_id in team.user_ids:
        return True
    for group_id in team.group_ids:
        members = await _group_members(client, group_id)
        if members is not None and user_id in members:
            return True
    return False


async def _group_members(client: AsyncWebClient, group_id: str) -> frozenset[str] | None:
    """The group's members from Slack; when Slack is slow or says no, the members read within the last
    hour (None when there are none)."""
    key = (client.base_url, group_id)
    try:
        reply = await asyncio.wait_for(client.usergroups_users_list(usergroup=group_id), GROUP_LOOKUP_TIMEOUT_S)
    except (SlackApiError, TimeoutError) as exc:
        reason = "no answer in time" if isinstance(exc, TimeoutError) else exc.response.get("error")
        read_at, members = _last_known.get(key, (None, None))
        if read_at is not None and time.monotonic() - read_at < LAST_KNOWN_FOR_S:
            log.warning("cannot read the members of user group %s (%s); using those read %.0f s ago", group_id,
                        reason, time.monotonic() - read_at)
            return members
        log.warning("cannot read the members of user group %s: %s", group_id, reason)
        return None
    members = frozenset(reply.get("users") or [])
    _last_known[key] = (time.monotonic(), members)
    return members


def refusal(team: BillingTeam) -> str:
    return f"Only the billing team can do that. Ask one of: {team.who_can_act()}."
