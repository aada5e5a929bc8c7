"""An invoice's Slack message end to end: posted once per source and month, its buttons clicked through signed
requests into /slack/events (accept, fixed, ignore with a reason in a modal, the link wizard pre-filled for an
unlinked line, the linked service's page), decisions kept in the audit and, while unchanged, across a re-check and
across the corrected invoice that replaces the first one (which updates the message and says so in its thread)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.audit import audit_events_for
from bot.db.invoices import store_invoice
from bot.domain.invoice_check import LineKind
from bot.domain.invoices import ReceivedInvoice
from bot.notify.invoice_messages import show_invoice
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.slack.ids import InvoiceId, LinkCallbackId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    SAM,
    slack,
    start_app,
)
from tests.reports.test_invoice_report import DECEMBER, NOW, line
from tests.reports.test_invoice_report import month as month  # noqa: F401 - the fixture, re-exported


@pytest.fixture
async def channel_set(session, month):  # noqa: F811
    settings = await load_app_settings(session=session)
    settings.checklist_channel = BILLING_CHANNEL
    await save_app_settings(session=session, settings=settings, actor="test")
    await session.commit()
    return month


def posted(recorder) -> list:
    return [c for c in recorder.calls("chat.postMessage") if c.ok]


def shown(recorder, ts: str) -> dict:
    return recorder.messages[(BILLING_CHANNEL, ts)].message


def finding_texts(recorder, ts: str) -> dict[int, str]:
    return {int(b["block_id"].split(":")[1]): b["text"]["text"] for b in shown(recorder, ts)["blocks"]
            if b.get("block_id", "").startswith(f"{InvoiceId.FINDING_BLOCK}:")}


def position(recorder, ts: str, words: str) -> int:
    return next(n for n, text in finding_texts(recorder, ts).items() if words in text)


async def test_posted_once_with_buttons_and_decisions_recorded(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                               database_url, channel_set, session):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    invoice = channel_set["invoice"]
    kept = await show_invoice(app_context=context, client=context.bolt.client, invoice_id=invoice.id)
    assert kept is not None and kept.posted_new
    assert await show_invoice(app_context=context, client=context.bolt.client, invoice_id=invoice.id) is None
    assert len(posted(recorder)) == 1
    message = shown(recorder, kept.ts)
    assert message["text"] == "Ingram Micro Cloud Marketplace invoice for December: 4 findings, 14.25 under-billed"
    assert validate_message_blocks(message["blocks"]) == []
    actions = {e["action_id"].split(":")[0]: e for b in message["blocks"] if b["type"] == "actions"
               for e in b["elements"]}
    assert set(actions) >= {InvoiceId.ACCEPT, InvoiceId.FIXED, InvoiceId.IGNORE, InvoiceId.LINK,
                            InvoiceId.OPEN_SERVICE, InvoiceId.OPEN_REPORT}
    assert "/reports/linked" in actions[InvoiceId.OPEN_SERVICE]["url"]
    assert "month=2026-12" in actions[InvoiceId.OPEN_REPORT]["url"]

    short = position(recorder, kept.ts, "invoiced 7 for the month")
    await sender.block_actions(f"{InvoiceId.ACCEPT}:{short}", message=kept.ts)
    await listeners_done()
    assert f"✅ Accepted by <@{DANA}>" in finding_texts(recorder, kept.ts)[short]

    stray = position(recorder, kept.ts, "Visio Plan 2")
    await sender.block_actions(f"{InvoiceId.IGNORE}:{stray}", message=kept.ts, user_id=SAM)
    await listeners_done()
    [modal] = recorder.open_views(SAM)
    assert modal["callback_id"] == InvoiceId.IGNORE_CALLBACK
    blank = await sender.view_submission(modal["id"], {InvoiceId.REASON_BLOCK: "  "}, user_id=SAM)
    assert blank.json["response_action"] == "errors"
    done = await sender.view_submission(modal["id"], {InvoiceId.REASON_BLOCK: "a trial, not resold"}, user_id=SAM)
    assert done.problems == [] and recorder.open_views(SAM) == []
    await listeners_done()
    assert f"🙈 Ignored by <@{SAM}>: a trial, not resold" in finding_texts(recorder, kept.ts)[stray]
    assert len(posted(recorder)) == 1  # every decision updated the one message

    events = await audit_events_for(session=session, subject_type="invoice", subject_id=invoice.id)
    decided = [(e.actor, e.action, e.after.get("reason")) for e in events if e.action.startswith("invoice_finding")]
    assert decided == [(DANA, "invoice_finding_accepted", None),
                       (SAM, "invoice_finding_ignored", "a trial, not resold")]

    # the link wizard opens on the unlinked line's company, subscription and resource
    await sender.block_actions(f"{InvoiceId.LINK}:{stray}", message=kept.ts)
    await listeners_done()
    [wizard] = recorder.open_views(DANA)
    assert wizard["callback_id"] == LinkCallbackId.WIZARD
    assert channel_set["stray"].subscription.company.name in str(wizard["blocks"])


async def test_a_corrected_invoice_updates_the_message_and_keeps_unchanged_decisions(
        aiohttp_client, slack, tmp_path, database_url, channel_set, session):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    first = channel_set["invoice"]
    kept = await show_invoice(app_context=context, client=context.bolt.client, invoice_id=first.id)
    stray = position(recorder, kept.ts, "Visio Plan 2")
    short = position(recorder, kept.ts, "invoiced 7 for the month")
    await sender.block_actions(f"{InvoiceId.ACCEPT}:{stray}", message=kept.ts)
    await sender.block_actions(f"{InvoiceId.FIXED}:{short}", message=kept.ts)
    await listeners_done()

    # the distributor credits the invoice and reissues it: the stray line is the same, `short` is now 8 seats
    m = channel_set
    lines = [line(m["exact"], 5), line(m["short"], 8), line(m["short"], 1, kind=LineKind.prorate,
                                                              start=date(2026, 11, 20)),
             line(m["late"], 4), line(m["stray"], 2)]
    corrected = await store_invoice(session, source="ingram", marketplace="ingram", now=NOW, actor="test",
                                    received=ReceivedInvoice(source_id="inv-dec-2", month=DECEMBER,
                                                             lines=tuple(lines), number="INV-12B"))
    await session.commit()
    again = await show_invoice(app_context=context, client=context.bolt.client, invoice_id=corrected.invoice.id)
    assert again.ts == kept.ts and not again.posted_new
    assert len(posted(recorder)) == 2  # the message once, and one reply in its thread
    reply = posted(recorder)[1]
    assert reply.args["thread_ts"] == kept.ts and "INV-12B" in reply.args["text"]
    texts = finding_texts(recorder, kept.ts)
    stray_now = next(t for t in texts.values() if "Visio Plan 2" in t)
    short_now = next(t for t in texts.values() if "invoiced 8 for the month" in t)
    assert "✅ Accepted" in stray_now  # unchanged: the decision holds on the corrected invoice
    assert "⏳ Not decided" in short_now  # its numbers changed: decided again
    assert shown(recorder, kept.ts)["text"].startswith(
        "Ingram Micro Cloud Marketplace invoice for December: 4 findings, 23.75")
    # showing the old invoice again shows the current one: nothing changes, nothing is sent
    assert await show_invoice(app_context=context, client=context.bolt.client, invoice_id=first.id) is None
    assert len(posted(recorder)) == 2


async def test_a_finding_gone_since_is_not_decided(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                   channel_set, session):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    kept = await show_invoice(app_context=context, client=context.bolt.client, invoice_id=channel_set["invoice"].id)
    short = position(recorder, kept.ts, "invoiced 7 for the month")
    service = channel_set["services"][1]
    service.units = 7  # the PSA now bills the seventh seat: the finding is gone from the check
    await session.commit()
    await sender.block_actions(f"{InvoiceId.ACCEPT}:{short}", message=kept.ts)
    await listeners_done()
    assert any("no longer in the invoice's check" in m.message.get("text", "")
               for m in recorder.ephemeral_messages(DANA))
    assert "invoiced 7 for the month" not in str(finding_texts(recorder, kept.ts))
