"""Block Kit of an invoice's message: what the month's check found, one section per finding with its decision and
buttons (open the linked service, or start the link wizard for an unlinked line; accept, fixed, ignore…), and the
report's links. The Ignore modal is the invoices family's (`bot.commands.invoices.views`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.domain.invoice_check import FINDING_WORDS, CheckResult, CheckState, Finding, FindingKind
from bot.services.invoice_findings import CheckedInvoice
from bot.slack.blocks import button, buttons, context, header, link_button, message_blocks, section, truncate
from bot.slack.ids import InvoiceId
from bot.slack.mrkdwn import mrkdwn_escape, user_mention
from bot.wording import counted

SHOWN = 15  # findings with their own buttons; the rest are in the report (a message holds 50 blocks)
DECISION_WORDS = {"accepted": "✅ Accepted", "fixed": "🛠️ Fixed", "ignored": "🙈 Ignored"}


def month_words(checked: CheckedInvoice) -> str:
    return f"{checked.invoice.month:%B}" + ("" if _this_year(checked) else f" {checked.invoice.month:%Y}")


def _this_year(checked: CheckedInvoice) -> bool:
    received = checked.invoice.received_at
    return received is not None and received.year == checked.invoice.month.year


def invoice_text(checked: CheckedInvoice) -> str:
    """The notification's line: "Pax8 invoice for November: 3 findings, 412.80 under-billed"."""
    head = f"{mrkdwn_escape(checked.label)} invoice for {month_words(checked)}"
    result = checked.result
    if checked.replaced_by is not None:
        return f"{head}: replaced by invoice {mrkdwn_escape(checked.replaced_by)}"
    if result.state is CheckState.not_reconcilable:
        return f"{head}: not checked: {mrkdwn_escape(result.reason)}"
    if result.state is CheckState.clean:
        return f"{head}: no findings in {counted(result.lines, 'line')}"
    under = result.money(FindingKind.under_billed)
    return f"{head}: {counted(len(result.findings), 'finding')}, {under:,.2f} under-billed"


def _totals(checked: CheckedInvoice) -> str:
    totals = checked.result.totals
    parts = [f"over-billed {totals['over_billed']:,.2f}", f"unlinked {totals['unlinked']:,.2f} (cost)",
             f"billed for nothing {totals['billing_for_nothing']:,.2f}",
             f"missing on prices {totals['under_cost'] + totals['under_margin']:,.2f}"]
    decided = sum(1 for f in checked.result.findings if f.key in checked.decided)
    number = mrkdwn_escape(checked.invoice.number or checked.invoice.source_id)
    return (f"Invoice {number}, {counted(checked.result.lines, 'line')} checked against what the PSA billed for "
            f"{checked.invoice.month:%B %Y}: " + ", ".join(parts) + f". {decided} of "
            f"{counted(len(checked.result.findings), 'finding')} decided.")


def finding_line(finding: Finding) -> str:
    kind = FINDING_WORDS[finding.kind] + (" (prorate)" if finding.prorate else "")
    who = f"{mrkdwn_escape(finding.company_name)} / {mrkdwn_escape(finding.product_name)}"
    if finding.subscription_id:
        who += f" ({mrkdwn_escape(truncate(finding.subscription_id, 60))})"
    side = "cost" if finding.side == "cost" else "price"
    return f"*{kind}*: {who}: {mrkdwn_escape(finding.detail)}. *{finding.money:,.2f}* ({side})"


def decision_line(checked: CheckedInvoice, finding: Finding) -> str:
    row = checked.decided.get(finding.key)
    if row is None:
        return "⏳ Not decided"
    words = f"{DECISION_WORDS.get(row.decision, row.decision)} by {user_mention(row.decided_by)}"
    if row.reason:
        words += f": {mrkdwn_escape(truncate(row.reason, 300))}"
    return words


def action_pattern(action: InvoiceId) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(action)}(:\d+)?$")


def invoice_blocks(checked: CheckedInvoice, *, sealed: Callable[[Finding], str],
                   service_url: Callable[[Finding], str | None], report_url: str) -> list[dict[str, Any]]:
    """`sealed(finding)`: the buttons' value naming the finding; `service_url(finding)`: the linked service's
    page, or None for a line no link covers (its button starts the link wizard)."""
    blocks: list[Any] = [header(f"{checked.label} invoice for {month_words(checked)}")]
    result = checked.result
    if checked.replaced_by is not None:
        blocks.append(section(f"This invoice was credited and replaced by invoice "
                              f"{mrkdwn_escape(checked.replaced_by)}; its findings are in the thread's newest "
                              "message.", block_id=InvoiceId.SUMMARY_BLOCK))
    elif result.state is not CheckState.findings:
        blocks.append(section(invoice_text(checked), block_id=InvoiceId.SUMMARY_BLOCK))
    else:
        blocks.append(section(_totals(checked), block_id=InvoiceId.SUMMARY_BLOCK))
        for n, finding in enumerate(result.findings[:SHOWN]):
            blocks.append(section(f"{finding_line(finding)}\n{decision_line(checked, finding)}",
                                  block_id=f"{InvoiceId.FINDING_BLOCK}:{n}"))
            value = sealed(finding)
            url = service_url(finding)
            first = (link_button("Open service", f"{InvoiceId.OPEN_SERVICE}:{n}", url) if url is not None
                     else button("Link it…", f"{InvoiceId.LINK}:{n}", value=value))
            blocks.append(buttons([first, button("Accept", f"{InvoiceId.ACCEPT}:{n}", value=value),
                                   button("Fixed", f"{InvoiceId.FIXED}:{n}", value=value),
                                   button("Ignore…", f"{InvoiceId.IGNORE}:{n}", value=value)],
                                  block_id=f"{InvoiceId.ACTIONS_BLOCK}:{n}"))
        hidden = len(result.findings) - SHOWN
        if hidden > 0:
            blocks.append(context(f"…and {counted(hidden, 'more finding')} in the report."))
    blocks.append(buttons([link_button("Open the report", InvoiceId.OPEN_REPORT, report_url)]))
    blocks.append(context("Amounts marked (price) are the customer's price the PSA bills; (cost) is the "
                          "distributor's cost. A decision is kept while its finding is unchanged."))
    return message_blocks(blocks)


def preview_text(label: str, month_name: str, result: CheckResult) -> str:
    head = f"Preview, not the invoice: {mrkdwn_escape(label)} draft items for {mrkdwn_escape(month_name)}"
    if result.state is CheckState.not_reconcilable:
        return f"{head}: not checked: {mrkdwn_escape(result.reason)}"
    if result.state is CheckState.clean:
        return f"{head}: no findings in {counted(result.lines, 'draft line')}"
    under = result.money(FindingKind.under_billed)
    return f"{head}: {counted(len(result.findings), 'finding')}, {under:,.2f} under-billed so far"


def preview_blocks(label: str, month_name: str, result: CheckResult) -> list[dict[str, Any]]:
    """The pre-close check of the month being billed, from the distributor's draft items: clearly a preview."""
    blocks: list[Any] = [header(f"Preview (not the invoice): {label} draft items for {month_name}"),
                         section(preview_text(label, month_name, result), block_id=InvoiceId.SUMMARY_BLOCK)]
    for finding in result.findings[:SHOWN]:
        blocks.append(section(finding_line(finding)))
    hidden = len(result.findings) - SHOWN
    if hidden > 0:
        blocks.append(context(f"…and {counted(hidden, 'more finding')}."))
    blocks.append(context("Draft items are the distributor's preview of its next invoice, checked before the month "
                          "closes so the PSA can be fixed before it bills. The invoice released on the 5th may "
                          "differ; its own message carries the decisions."))
    return message_blocks(blocks)
