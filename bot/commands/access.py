"""Who is on the billing team: the only people who may post syncs, change links or config.

The team is the union of `AppSettings.billing_team` (changed by the config modal) and
`SEATSYNC_BILLING_TEAM` (seeded from the environment): Slack user ids (U…/W…) and user group ids
(S…), a group's members resolved with `usergroups.users.list`. When both are empty (the demo),
everyone is a member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db.app_settings import load_app_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BillingTeam:
    user_ids: tuple[str, ...]
    group_ids: tuple[str, ...]

    @property
    def open_to_everyone(self) -> bool:
        return not self.user_ids and not self.group_ids

    def who_can_act(self) -> str:
        """The members as Slack renders mentions: `<@U…>` for people, `<!subteam^S…>` for groups."""
        return ", ".join([f"<@{user_id}>" for user_id in self.user_ids]
                         + [f"<!subteam^{group_id}>" for group_id in self.group_ids])


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
        try:
            reply = await client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            log.warning("cannot read the members of user group %s: %s", group_id, exc.response.get("error"))
            continue
        if user_id in (reply.get("users") or []):
            return True
    return False


def refusal(team: BillingTeam) -> str:
    return f"Only the billing team can do that. Ask one of: {team.who_can_act()}."
