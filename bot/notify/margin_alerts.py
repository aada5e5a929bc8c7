"""Margin alerts: one kept Slack message per link whose cost rose above its billed price or whose margin
fell below the minimum (key "margin:<link id>"), updated when the numbers change and turned green when
the margin is back to normal (or the link is gone). Run after sync cycles by a scheduled job."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.app_settings import load_app_settings
from bot.notify.kept_messages import KeptMessage, keep_message
from bot.slack.blocks import context, message_blocks, section
from bot.slack.mrkdwn import mrkdwn_escape
from bot.sync.margin import BELOW_COST, LinkMargin, link_margins, margin_key, open_margin_alerts

log = logging.getLogger(__name__)


def _what(margin: LinkMargin) -> str:
    return f"*{mrkdwn_escape(margin.company)}*: {mrkdwn_escape(margin.resource)} → {mrkdwn_escape(margin.service)}"


def _margin(margin: LinkMargin) -> str:
    return "no margin (price 0)" if margin.margin_percent is None else f"margin {margin.margin_percent:.1f}%"


def margin_text(margin: LinkMargin) -> str:
    numbers = f"marketplace cost {margin.unit_cost:.2f}, billed price {margin.unit_price:.2f}, {_margin(margin)}"
    if margin.problem == BELOW_COST:
        return f"🔴 Selling below cost: {_what(margin)}: {numbers}."
    if margin.problem is not None:
        return (f"🟠 Margin below the {margin.min_margin_percent.normalize():f}% minimum: {_what(margin)}: "
                f"{numbers}.")
    return f"✅ Margin back to normal: {_what(margin)}: {numbers}."


def margin_blocks(margin: LinkMargin) -> list[dict]:
    blocks = [section(margin_text(margin))]
    if margin.problem is not None:
        blocks.append(context("Raise the price (price source or PSA price) or review the marketplace cost; "
                              "the `margin` report lists every link."))
    return message_blocks(blocks)


async def post_margin_alerts(*, sessions: async_sessionmaker[AsyncSession],
                             client: AsyncWebClient) -> list[KeptMessage]:
    async with sessions() as session:
        channel = (await load_app_settings(session=session)).alerts_channel
        margins = {m.link_id: m for m in await link_margins(session=session)}
        open_alerts = await open_margin_alerts(session=session)
    if not channel:
        if any(m.problem for m in margins.values()):
            log.warning("margin problems found but no alerts channel is set (/seats config)")
        return []
    sent: list[KeptMessage] = []
    for margin in margins.values():
        alert = open_alerts.get(margin.link_id)
        if margin.problem is None and alert is None:
            continue
        if alert is not None and alert.delivered and alert.payload == margin.numbers():
            continue
        kept = await keep_message(sessions=sessions, client=client, key=margin_key(margin.link_id), channel=channel,
                                  text=margin_text(margin).replace("*", ""), blocks=margin_blocks(margin),
                                  resolved=margin.problem is None, payload=margin.numbers())
        if kept is not None:
            sent.append(kept)
    for link_id in open_alerts.keys() - margins.keys():  # unlinked, or its cost or price no longer known
        text = "✅ No longer watched: the link was removed, or its cost or price is no longer known."
        kept = await keep_message(sessions=sessions, client=client, key=margin_key(link_id), channel=channel,
                                  text=text, blocks=message_blocks([section(text)]), resolved=True)
        if kept is not None:
            sent.append(kept)
    return sent
