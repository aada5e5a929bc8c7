"""`/seats report <name> [key=value ...]`: a report's summary in the channel, with signed CSV/XLSX/HTML links.

Reports are read-only, so any member of the workspace may ask for one (the billing team is not checked).
Filters are the report links' own (`bot.reports.catalogue.FILTER_NAMES`); a value with spaces is quoted:
`/seats report unlinked company="Acme Co"`. The summary is posted in the channel; where the bot cannot
post (not invited, a private channel), it goes to the person who asked, ephemerally.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.db.app_settings import load_app_settings
from bot.reports.catalogue import FILTER_NAMES, REPORTS, parse_filters
from bot.reports.summary import Cell, ReportSummary, summarise_report
from bot.slack.blocks import (
    buttons,
    context,
    header,
    link_button,
    message_blocks,
    section,
    truncate,
)
from bot.slack.ids import ReportId
from bot.slack.mrkdwn import mrkdwn_escape, user_mention
from bot.slack.report_links import signed_links
from bot.wording import counted

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

REPORT_NAMES = ("unlinked", "linked", "subscriptions", "adjustments", "failures", "psa-unlinked", "unbilled",
                "margin")
MAX_CELL_TEXT = 80
LINK_LABELS = {"csv": ("CSV", ReportId.LINK_CSV), "xlsx": ("Excel (XLSX)", ReportId.LINK_XLSX),
               "html": ("Open in browser", ReportId.LINK_HTML)}
QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})  # Slack's smart quotes


def report_usage(problem: str | None = None) -> str:
    lines = [problem] if problem else []
    lines += [f"Usage: `/seats report <{'|'.join(REPORT_NAMES)}> [filters]`",
              f"Filters are `key=value` words; keys: {', '.join(f'`{name}`' for name in FILTER_NAMES)}. "
              "Example: `/seats report adjustments company=\"Acme Co\" date_from=2026-03-01`"]
    return "\n".join(lines)


@dataclass(frozen=True)
class ReportRequest:
    name: str
    filters: tuple[tuple[str, str], ...]  # as typed; also carried by the signed links


def parse_report_request(text: str) -> ReportRequest:
    """The words after `report`; a ValueError says what is wrong in words for the user."""
    try:
        words = shlex.split(text.translate(QUOTES))
    except ValueError:
        raise ValueError("A quote is not closed.") from None
    if not words:
        raise ValueError("Which report?")
    name, *pairs = words
    name = name.lower()
    if name not in REPORTS:
        raise ValueError(f"There is no report called `{mrkdwn_escape(truncate(name, 40))}`.")
    filters: list[tuple[str, str]] = []
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key or not value:
            raise ValueError(f"`{mrkdwn_escape(truncate(pair, 40))}` is not a `key=value` filter.")
        filters.append((key, value))
    try:
        parse_filters(filters)
    except ValueError as exc:  # its words quote what was typed
        raise ValueError(mrkdwn_escape(_sentence(exc))) from None
    return ReportRequest(name=name, filters=tuple(filters))


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def register_report_commands(app: AsyncApp) -> None:
    for action_id in (ReportId.LINK_CSV, ReportId.LINK_XLSX, ReportId.LINK_HTML):
        app.action(action_id.value)(_ack_link_click)


async def _ack_link_click(ack: AsyncAck) -> None:
    await ack()  # the browser opens the link; there is nothing for the app to do


async def report_command(*, text: str, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         client: AsyncWebClient, app_context: AppContext) -> None:
    """The `/seats report ...` listener body: usage errors in the ack, the summary after it."""
    try:
        request = parse_report_request(text)
    except ValueError as exc:
        await ack(text=report_usage(str(exc)), response_type="ephemeral")
        return
    await ack()
    now = app_context.clock()
    try:
        async with app_context.sessions() as session:
            days = (await load_app_settings(session=session)).report_link_days
            summary = await summarise_report(session=session, name=request.name,
                                             filters=parse_filters(list(request.filters), today=now.date()))
    except ValueError as exc:  # a filter this report cannot take (a date range on a snapshot, a status...)
        await respond(text=report_usage(mrkdwn_escape(_sentence(exc))), response_type="ephemeral")
        return
    except Exception:
        log.exception("the %s report asked for by %s failed", request.name, command.get("user_id"))
        await respond(text="The report failed unexpectedly; the details are in SeatSync's log.",
                      response_type="ephemeral")
        return
    links = signed_links(app_context, name=request.name, filters=dict(request.filters), days=days, now=now)
    text_line = summary_text(summary)
    blocks = summary_blocks(summary, request=request, links=links, asked_by=command["user_id"],
                            valid_until=(now + timedelta(days=days)).date())
    try:
        await client.chat_postMessage(channel=command["channel_id"], text=text_line, blocks=blocks)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.info("cannot post the %s report in %s (%s); answering ephemerally", request.name,
                 command["channel_id"], error)
        await respond(text=text_line, blocks=blocks, response_type="ephemeral")


def summary_text(summary: ReportSummary) -> str:
    return (f"{summary.title}: {counted(summary.rows, 'row')}, {counted(summary.customers, 'customer')}, "
            f"{summary.licences:,} {_licences_label(summary)}")


def summary_blocks(summary: ReportSummary, *, request: ReportRequest, links: Mapping[str, str], asked_by: str,
                   valid_until: date) -> list[dict[str, Any]]:
    counts = [f"*{summary.rows:,}* {'row' if summary.rows == 1 else 'rows'} · "
              f"*{summary.customers:,}* {'customer' if summary.customers == 1 else 'customers'} · "
              f"*{summary.licences:,}* {_licences_label(summary)}"]
    if summary.totals:
        counts.append(f"Totals{f' ({summary.totals_unit})' if summary.totals_unit else ''}: "
                      + ", ".join(f"{cell.title.lower()} *{_value(cell.value)}*" for cell in summary.totals))
    if summary.dates:
        counts.append(f"Dates: {summary.dates}")
    if request.filters:
        counts.append("Filters: " + " ".join(f"`{key}={_value(value, 60)}`" for key, value in request.filters))
    blocks = [header(summary.title), section("\n".join(counts), block_id=ReportId.COUNTS_BLOCK)]
    if summary.top_rows:
        first = f"*First {len(summary.top_rows)} of {summary.rows}*" if summary.rows > len(summary.top_rows) \
            else "*Rows*"
        lines = [f"• {_row_line(row)}" for row in summary.top_rows]
        blocks.append(section(first + "\n" + "\n".join(lines), block_id=ReportId.ROWS_BLOCK))
    else:
        blocks.append(section("_No rows._", block_id=ReportId.ROWS_BLOCK))
    if summary.top_customers:
        more = summary.customers - len(summary.top_customers)
        lines = [f"• {_value(name)}: *{count}*" for name, count in summary.top_customers]
        if more > 0:
            lines.append(f"… and {counted(more, 'more customer')}")
        blocks.append(section(f"*{summary.licences_label.capitalize()} per customer*\n" + "\n".join(lines),
                              block_id=ReportId.CUSTOMERS_BLOCK))
    blocks.append(buttons([link_button(label, action_id, links[fmt], primary=fmt == "html")
                           for fmt, (label, action_id) in LINK_LABELS.items()], block_id=ReportId.LINKS_BLOCK))
    blocks.append(context(f"Asked for by {user_mention(asked_by)}. The links are signed and work until {valid_until}."))
    return message_blocks(blocks)


def _licences_label(summary: ReportSummary) -> str:
    """ "1 seat not linked", "2 seats not linked": the label in the count's number."""
    label = summary.licences_label
    return "seat" + label.removeprefix("seats") if summary.licences == 1 and label.startswith("seats") else label


def _row_line(cells: list[Cell]) -> str:
    first, *rest = cells
    parts = [f"*{_value(first.value)}*"]
    for cell in rest:
        numeric = isinstance(cell.value, int | float | Decimal) and not isinstance(cell.value, bool)
        parts.append(f"{cell.title.lower()} {_value(cell.value)}" if numeric else _value(cell.value))
    return " · ".join(parts)


def _value(value: Any, limit: int = MAX_CELL_TEXT) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return mrkdwn_escape(truncate(str(value), limit))
