"""Hostile names through every message and view the bot builds: a customer, resource, service, vendor error or
typed text made of Slack markup (`<!channel>`, `<@U123>`, a disguised link, `&`, `*bold*`, `_x_`, `~x~`,
backticks, a `>` quote at line start) is shown as typed and never renders as markup. Each builder is fed the
hostile text in every field it shows; the simulator's mrkdwn reader (bot.sandbox.slack_mrkdwn) lists what each
mrkdwn string would render, and Slack's Block Kit checks (bot.sandbox.slack_blocks) still pass.

The end-to-end counterparts (the same builders reached through signed requests, the real database and the
simulators) are in test_names_escaped.py."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.commands import router
from bot.commands.approvals import views as approval_views
from bot.commands.checklist import handlers as checklist
from bot.commands.config import handlers as config
from bot.commands.config import views as config_view
from bot.commands.home import views as home_view
from bot.commands.invoices import views as invoice_views
from bot.commands.link import unlink
from bot.commands.link import views as link_views
from bot.commands.policy import views as policy_views
from bot.commands.relations import views as relations_views
from bot.commands.reports import handlers as report
from bot.commands.reports.handlers import ReportRequest
from bot.commands.sync import views as sync_summary
from bot.db.app_settings import AppSettings
from bot.db.connector_health import HealthChange
from bot.db.models import (
    AdjustmentStatus,
    ConnectorState,
    DecreaseTiming,
    Invoice,
    InvoiceDecision,
    Scope,
    SyncRunStatus,
)
from bot.domain.invoice_check import CheckResult, CheckState, Finding, FindingKind, Side, not_reconcilable
from bot.domain.records import ConnectionCheck
from bot.notify import approval_blocks, health_alerts, invoice_blocks, margin_alerts
from bot.notify import failure_alerts as alerts
from bot.reports.summary import Cell, ReportSummary
from bot.sandbox.slack_blocks import validate_message_blocks, validate_view
from bot.sandbox.slack_mrkdwn import Markup, markup, mrkdwn_texts
from bot.services.configuration import Configuration, FieldProblem, SavedConfiguration, StoredConnection
from bot.services.dashboard import ConnectorLine, CustomerLicences, Dashboard, LastSync, Undelivered
from bot.services.invoice_findings import CheckedInvoice
from bot.services.link_choices import LEVELS, Choice, Level, Picks, ResolvedPicks
from bot.services.policy_scopes import POLICY_FIELDS, FieldValue, PolicyTarget, ScopedPolicy
from bot.services.relations import PriceChoice, Relation, RowOutcome
from bot.services.suggestions import LinkSuggestion
from bot.slack import access, admins, modal_state
from bot.slack.access import BillingTeam
from bot.slack.mrkdwn import mrkdwn_escape
from bot.sync.approval_groups import ApprovalGroup, EditedChange, HeldChange
from bot.sync.checklist import Checklist, Digest, InvoiceStep
from bot.sync.engine import CycleReport
from bot.sync.failure_causes import AdjustmentOutcome, FailedAdjustment, FailureCause
from bot.sync.link_reconciliation import LinkFacts, LinkOutcome
from bot.sync.margin import BELOW_COST, LinkMargin
from bot.sync.planning import PlannedChange
from bot.sync.preview import AWAITING_APPROVAL, PostingPreview, PreviewRow

HOSTILE = "> <!channel> <@U123> <https://x.example/pay|Pay now> R&D *bold* _x_ ~x~ `code` ```block```"
HOSTILE_LINES = "Acme\n> quoted\n*bold*"  # a name with line breaks: a quote at a line's start
HOSTILE_WORDS = {"bold", "x", "code", "block", "quoted"}  # what the formatting in the names wraps
RAW_SEQUENCES = ("<!channel>", "<@U123>", "<https://x.example")
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DAY = date(2026, 3, 31)
URL = "https://seatsync.example/reports/x.html?sig=1&exp=2"
DANA = "U0DANA0001"


def hostile_markup(surface: dict[str, Any]) -> list[tuple[str, Markup]]:
    """Markup in any mrkdwn string of the surface that a hostile name made."""
    found: list[tuple[str, Markup]] = []
    for pointer, text in mrkdwn_texts(surface):
        found += [(pointer, item) for item in markup(text) if _from_a_name(item)]
        found += [(pointer, Markup("raw", raw)) for raw in RAW_SEQUENCES if raw in text]
    return found


def _from_a_name(item: Markup) -> bool:
    content = item.content.strip()
    if item.kind in ("special", "user", "channel", "link"):
        return any(word in content for word in ("!channel", "@U123", "x.example"))
    if item.kind == "quote":  # a name's own ">" at a line's start; SeatSync's "> " quoting a name is fine
        return content.startswith(("quoted", "<!channel>"))
    return content in HOSTILE_WORDS


def message(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"text": text, "blocks": blocks or []}


# --- the records every builder is fed, hostile in every field it shows ---------------------------------

def planned(name: str) -> PlannedChange:
    return PlannedChange(resource_link_id=1, resource_id=1, psa_service_id=1, company=name, resource=name,
                         service=name, units_from=3, units_to=8, effective_date=DAY, prorated_amount=Decimal("8.55"),
                         unit_price=Decimal("9.50"), unit_cost=Decimal("6.40"), held_reason=name)


def held(name: str, status: AdjustmentStatus, adjustment_id: int, **more: Any) -> HeldChange:
    return HeldChange(adjustment_id=adjustment_id, resource=name, service=name, units_from=3, units_to=12,
                      effective_date=DAY,
                      prorated_amount=Decimal("12.00"), held_reason=name, status=status, decided_by=DANA,
                      decision_note=name, hold_until=None, last_error=name, **more)


def link_outcome(name: str, state: str) -> LinkOutcome:
    facts = LinkFacts(link_id=1, marketplace="odin", psa="autotask", marketplace_total=8, psa_units=1, resource=name,
                      customer=name)
    return LinkOutcome(facts=facts, state=state, delta=7, effective_date=DAY, reason=name)


def scoped_policy(name: str) -> ScopedPolicy:
    values: dict[str, Any] = {"approval_max_units": 10, "approval_max_percent": Decimal(25),
                              "approval_max_amount": Decimal(500), "hold_committed_decreases": True,
                              "decrease_timing": DecreaseTiming.today, "drop_prorate_below": Decimal(5),
                              "min_margin_percent": Decimal(15)}
    target = PolicyTarget(Scope.link, company_id=1, link_id=2, company_name=name, link_label=name)
    return ScopedPolicy(target=target, fields={field: FieldValue(here=None, effective=values[field], source="company")
                                               for field in POLICY_FIELDS})


def resolved(name: str) -> ResolvedPicks:
    picks = Picks(company=1, psa_company=2, subscription=3, contract=4, resource=5, service=6)
    return ResolvedPicks(picks=picks, names={level: name for level in LEVELS}, fixed_by_link={Level.psa_company},
                         dropped={Level.contract: name}, marketplace_total=8, psa_units=1, psa_cost=Decimal("6.40"),
                         psa_price=Decimal("9.50"))


def configuration(name: str) -> Configuration:
    stored = StoredConnection(system="autotask", base_url="https://webservices.autotask.net",
                              options={"username": name}, stored_secrets=frozenset({"secret"}), secrets_set_by=name,
                              secrets_set_at=NOW)
    return Configuration(settings=AppSettings(psa="autotask", billing_team=[DANA, "S0BILLING01"]),
                         connections={"autotask": stored})


# --- the cases: (what it is, the builders it exercises, the surfaces it builds) ------------------------

@dataclass(frozen=True)
class Case:
    covers: tuple[Callable[..., Any], ...]
    build: Callable[[str], list[dict[str, Any]]]


def _sync_summary(name: str) -> list[dict[str, Any]]:
    cycle = CycleReport(run_id=4, status=SyncRunStatus.partial, dry_run=True, planned=[planned(name)] * 2,
                        errors=[name])
    return [message(sync_summary.summary_text(cycle, actor=DANA), sync_summary.summary_blocks(cycle, actor=DANA))]


def _checklist(name: str) -> list[dict[str, Any]]:
    board = Checklist(month_end=DAY, unlinked_subscriptions=2, unlinked_examples=[name], companies_without_psa=1,
                      company_examples=[name], linked_resources=3, failures_pending=1, needs_action=1)
    rows = [PreviewRow(company=name, resource=name, service=name, units_from=1, units_to=2, effective_date=DAY,
                       prorated_amount=Decimal(1), state=AWAITING_APPROVAL, note=name)]
    links = dict.fromkeys(("unlinked", "linked", "adjustments", "failures"), URL)
    digest = Digest(since=NOW, adjustments_posted=1, units_added=2, units_removed=0, failures_pending=1,
                    new_unlinked_subscriptions=1, last_sync_at=NOW, last_sync_status="partial")
    return [message(checklist.checklist_text(board),
                    checklist.checklist_blocks(board, links=links, as_of=NOW, preview=PostingPreview(rows=rows))),
            message(checklist.preview_step(PostingPreview(rows=rows))),
            message(checklist.invoice_step_text(replace(board, invoice=InvoiceStep(month=DAY, checked=False,
                                                                                   reason=name)))),
            message(checklist.digest_text(digest), checklist.digest_blocks(digest))]


def _failure_alerts(name: str) -> list[dict[str, Any]]:
    failed = FailedAdjustment(id=1, company=name, resource=name, service=name, units_from=1, units_to=3, delta=2,
                              attempts=4, needs_action=True, message=name, recorded_on=DAY)
    cause = FailureCause(key="failure:autotask:1", psa="autotask", message=f"{name}\n{HOSTILE_LINES}",
                         adjustments=[failed])
    outcomes = [AdjustmentOutcome(id=1, status=AdjustmentStatus.posted, attempts=4, company=name, resource=name,
                                  delta=2),
                AdjustmentOutcome(id=2, status=AdjustmentStatus.failed, attempts=1, company=name, resource=name,
                                  delta=-1)]
    return [message(alerts.alert_text(cause), alerts.alert_blocks(cause, failure_log_url=URL)),
            message(alerts.resolved_text(outcomes), alerts.resolved_blocks(outcomes, psa="autotask"))]


def _health_alerts(name: str) -> list[dict[str, Any]]:
    surfaces = []
    for success, recovered in ((None, False), (NOW, False), (NOW, True)):
        change = HealthChange(system="autotask", state=ConnectorState.failing, last_error=name,
                              last_success_at=success, alert=True, recovered=recovered)
        surfaces.append(message(health_alerts.alert_text(change, now=NOW), health_alerts.alert_blocks(change, now=NOW)))
    return surfaces


def _margin_alerts(name: str) -> list[dict[str, Any]]:
    margin = LinkMargin(link_id=1, account_id="A-1", company=name, subscription=name, resource=name, service=name,
                        seats=3, unit_cost=Decimal("10.50"), unit_price=Decimal("10.00"),
                        margin_percent=Decimal("-5.0"), min_margin_percent=Decimal(15), problem=BELOW_COST)
    return [message(margin_alerts.margin_text(margin), margin_alerts.margin_blocks(margin))]


def _approvals(name: str) -> list[dict[str, Any]]:
    edit = EditedChange(adjustment_id=8, units_to=10, effective_date=DAY, prorated_amount=None,
                        status=AdjustmentStatus.failed, hold_until=None, last_error=name)
    changes = [held(name, AdjustmentStatus.awaiting_approval, 1), held(name, AdjustmentStatus.rejected, 2),
               held(name, AdjustmentStatus.failed, 3), held(name, AdjustmentStatus.superseded, 4, edit=edit)]
    group = ApprovalGroup(key="approval:1:2026-03-31:0", company=name, day=DAY, changes=changes)
    lines = [approval_blocks.change_line(c) + "\n" + approval_blocks.decision_line(c) for c in changes]
    return [message(approval_blocks.group_text(group), approval_blocks.group_blocks(group)),
            message("\n".join(lines)), approval_views.reject_modal(changes[0], metadata="m"),
            approval_views.edit_modal(changes[0], metadata="m")]


def _invoices(name: str) -> list[dict[str, Any]]:
    invoice = Invoice(id=1, source="pax8", marketplace="pax8", source_id=name, number=name, month=date(2026, 11, 1),
                      received_at=NOW, line_count=3)
    findings = tuple(Finding(kind=kind, company_name=name, product_name=name, subscription_id=name,
                             service_id=None if kind is FindingKind.unlinked else "7", money=Decimal("12.50"),
                             side=Side.price, detail=name, prorate=n == 1)
                     for n, kind in enumerate(FindingKind))
    result = CheckResult(state=CheckState.findings, lines=3, compared=2, findings=findings)
    decided = {findings[0].key: InvoiceDecision(id=1, decision="ignored", reason=name, decided_by=name),
               findings[1].key: InvoiceDecision(id=2, decision="accepted", reason=None, decided_by=DANA)}
    checked = CheckedInvoice(invoice=invoice, label=name, result=result, decided=decided)
    replaced = CheckedInvoice(invoice=invoice, label=name, result=result, replaced_by=name)
    closed = CheckedInvoice(invoice=invoice, label=name, result=not_reconcilable(name))
    lines = [invoice_blocks.finding_line(f) + "\n" + invoice_blocks.decision_line(checked, f) for f in findings]
    surfaces = [message(invoice_blocks.invoice_text(c), invoice_blocks.invoice_blocks(
        c, sealed=lambda f: "v", service_url=lambda f: None if f.service_id is None else URL, report_url=URL))
        for c in (checked, replaced, closed)]
    return [*surfaces, message("\n".join(lines)),
            message(invoice_blocks.preview_text(name, name, result), invoice_blocks.preview_blocks(name, name, result)),
            invoice_views.ignore_modal(findings[0], metadata="m"),
            invoice_views.mapping_modal(file_name=name, headers=[name, "Qty"], fields={"quantity": name},
                                        guessed={"quantity": "Qty"}, required=("quantity",), metadata="m")]


def _unlink(name: str) -> list[dict[str, Any]]:
    relation = Relation(link_id=1, company=name, psa_company=name, subscription=name, contract=name, resource=name,
                        service=name)
    return [unlink.confirm_view(relation, "m"), unlink.pick_view("m"),
            message(unlink.unlink_answer(RowOutcome(label=relation.label, ok=True, link_id=1))),
            message(unlink.unlink_answer(RowOutcome(label=relation.label, ok=False, error=name)))]


def _link(name: str) -> list[dict[str, Any]]:
    surfaces = []
    for state in ("posted", "in_step", "scheduled", "awaiting_approval", "failed", "not_run"):
        text, blocks = link_views.result_message(link_outcome(name, state), unlink_value="v", actor=DANA)
        surfaces.append(message(text, blocks))
    picks = resolved(name)
    state = link_views.WizardState(user=DANA, channel="C0BILLING01", picks=picks.picks, hint=name)
    notice = link_views.match_note(name, Choice(id=1, name=name, score=96), otherwise="change it below if not.")
    price = PriceChoice(kind=None, custom_cost=Decimal("5.00"))
    surfaces += [link_views.wizard_view(state, picks, sealed="m", notices=[notice]),
                 message(link_views.counts_text(picks)),
                 link_views.below_cost_view(resolved=picks, price=price, psa_cost=Decimal("6.40"), sealed="m"),
                 message("", link_views.result_blocks(mrkdwn_escape(name), unlink_value=None, actor=name))]
    return surfaces


def _relations(name: str) -> list[dict[str, Any]]:
    suggestion = LinkSuggestion(resource_id=1, service_id=2, company=name, psa_company=name, subscription=name,
                                contract=name, resource=name, service=name, company_score=90, subscription_score=90,
                                resource_score=90)
    relation = Relation(link_id=1, company=name, psa_company=name, subscription=name, contract=name, resource=name,
                        service=name)
    rows = [relations_views.suggestion_row(suggestion), relations_views.relation_row(relation)]
    outcomes = [RowOutcome(label=name, ok=True, link_id=1), RowOutcome(label=name, ok=False, error=name)]
    text, blocks = relations_views.summary_message(mode=relations_views.SUGGESTED, outcomes=outcomes,
                                                   reconciled={1: link_outcome(name, "posted")}, not_reconciled=name)
    return [relations_views.relations_view(mode=relations_views.SUGGESTED, page=0, total=2, rows=rows, sealed="m"),
            relations_views.loading_view("m"), message(text, blocks)]


def _report(name: str) -> list[dict[str, Any]]:
    summary = ReportSummary(name="linked", title="Linked resources", rows=3, licences_label="licences", licences=9,
                            top_rows=[[Cell("Customer", name), Cell("Resource", name), Cell("Units", 3)]], customers=1,
                            top_customers=[(name, 9)], totals=[Cell("Amount", Decimal("9.50"))])
    request = ReportRequest(name="linked", filters=(("company", name),))
    links = dict.fromkeys(("csv", "xlsx", "html"), URL)
    surfaces = [message(report.summary_text(summary),
                        report.summary_blocks(summary, request=request, links=links, asked_by=DANA, valid_until=DAY))]
    for typed in (name, f"linked {name}", f"linked company={name} status={name}"):
        with pytest.raises(ValueError) as refused:
            report.parse_report_request(typed.replace('"', ""))
        surfaces.append(message(report.report_usage(str(refused.value))))
    return surfaces


def _home(name: str) -> list[dict[str, Any]]:
    dashboard = Dashboard(now=NOW, marketplace="odin", psa="autotask", linked_resources=1, unlinked_resources=2,
                          unlinked_subscriptions=1, failures_pending=1, needs_action=1, awaiting_approval=1,
                          last_sync=LastSync(run_id=3, status="failed", trigger=name, triggered_by=name, started_at=NOW,
                                             finished_at=NOW, error=name),
                          connectors=[ConnectorLine(system="autotask", state="failing", last_success_at=None,
                                                    last_error=name)],
                          top_customers=[CustomerLicences(company=name, licences=9, linked_licences=3)],
                          undelivered=[Undelivered(key="failure:1", channel=name, error="not_in_channel", at=NOW)])
    return [home_view.home_view(dashboard, metadata="m")]


def _policy(name: str) -> list[dict[str, Any]]:
    policy = scoped_policy(name)
    return [policy_views.policy_view(scope=Scope.link, company=(1, name), link=(2, name), policy=policy, metadata="m",
                                     note=policy_views.no_match_note(name)),
            message(policy_views.summary_text(policy, ["approval_max_units"], DANA))]


def _config(name: str) -> list[dict[str, Any]]:
    settings = configuration(name)
    checks = {"autotask": config_view.check_line(ConnectionCheck(ok=False, system="autotask", detail=name,
                                                                 facts={"zone": name}))}
    problems = config_view.problems_line("autotask", [FieldProblem("autotask", "base_url", f"{name!r} is not a URL.")])
    saved = SavedConfiguration(settings=AppSettings(timezone=name), changed_settings=("timezone",),
                               saved_connections=("autotask",), secrets_changed={"autotask": ("secret",)})
    return [config_view.config_view(settings, choices=config_view.Choices(psa="autotask"), metadata="m",
                                    env_team=(name, "S0BILLING01"), checks=checks),
            config_view.config_view(settings, choices=config_view.Choices(psa="autotask"), metadata="m",
                                    checks={"autotask": problems}),
            config_view.notice_view("SeatSync config", config.saved_summary(saved, name)),
            config_view.loading_view()]


def _replies(name: str) -> list[dict[str, Any]]:
    team = BillingTeam(user_ids=(name, DANA), group_ids=(name,))
    no_inputs = {"blocks": []}
    return [message(router.usage_text(name)), message(router.help_text(), router.help_blocks()),
            message(access.refusal(team)), message(admins.admin_refusal(team)),
            modal_state.error_answer(no_inputs, name)["view"], modal_state.tampered_answer(no_inputs)["view"],
            modal_state.notice_view("Not saved", mrkdwn_escape(name))]


CASES: dict[str, Case] = {
    "sync summary": Case((sync_summary.summary_text, sync_summary.summary_blocks), _sync_summary),
    "checklist and digest": Case((checklist.checklist_text, checklist.checklist_blocks, checklist.preview_step,
                                  checklist.invoice_step_text, checklist.digest_text, checklist.digest_blocks),
                                 _checklist),
    "failure alerts": Case((alerts.alert_text, alerts.alert_blocks, alerts.resolved_text, alerts.resolved_blocks),
                           _failure_alerts),
    "health alerts": Case((health_alerts.alert_text, health_alerts.alert_blocks), _health_alerts),
    "margin alerts": Case((margin_alerts.margin_text, margin_alerts.margin_blocks), _margin_alerts),
    "approvals": Case((approval_blocks.group_text, approval_blocks.group_blocks, approval_blocks.change_line,
                       approval_blocks.decision_line, approval_views.reject_modal, approval_views.edit_modal),
                      _approvals),
    "unlink": Case((unlink.confirm_view, unlink.pick_view, unlink.unlink_answer), _unlink),
    "invoices": Case((invoice_blocks.invoice_text, invoice_blocks.invoice_blocks, invoice_blocks.finding_line,
                      invoice_blocks.decision_line, invoice_blocks.preview_text, invoice_blocks.preview_blocks,
                      invoice_views.ignore_modal, invoice_views.mapping_modal), _invoices),
    "link result and wizard": Case((link_views.result_message, link_views.result_blocks, link_views.wizard_view,
                                    link_views.counts_text, link_views.below_cost_view, link_views.match_note),
                                   _link),
    "relations": Case((relations_views.relations_view, relations_views.loading_view, relations_views.summary_message),
                      _relations),
    "report summary": Case((report.summary_text, report.summary_blocks, report.report_usage), _report),
    "App Home": Case((home_view.home_view,), _home),
    "policy": Case((policy_views.policy_view, policy_views.summary_text, policy_views.no_match_note), _policy),
    "config": Case((config_view.config_view, config_view.check_line, config_view.problems_line,
                    config_view.notice_view, config_view.loading_view, config.saved_summary), _config),
    "replies": Case((router.usage_text, router.help_text, router.help_blocks, access.refusal, admins.admin_refusal,
                     modal_state.error_answer, modal_state.tampered_answer, modal_state.notice_view), _replies),
}


@pytest.mark.parametrize("name", [HOSTILE, HOSTILE_LINES, "R&D <Main> & Co", "Acme_Co *2026*"])
@pytest.mark.parametrize("case", list(CASES))
def test_no_hostile_name_renders_as_markup(case, name):
    surfaces = CASES[case].build(name)

    assert surfaces
    for surface in surfaces:
        assert hostile_markup(surface) == [], surface
        if surface.get("type") in ("modal", "home"):
            assert validate_view(surface) == []
        else:
            assert validate_message_blocks(surface["blocks"]) == []


def test_the_reader_sees_what_an_unescaped_name_would_do():
    """The check above can fail: the same surfaces built from raw names are full of markup."""
    raw = message(f"Sync for {HOSTILE}", [{"type": "section", "text": {"type": "mrkdwn", "text": HOSTILE_LINES}}])

    kinds = {item.kind for _, item in hostile_markup(raw)}

    assert kinds >= {"special", "user", "link", "bold", "italic", "strike", "code", "code_block", "quote", "raw"}


def test_escaped_names_read_as_typed():
    """Escaping is not mangling: entities decode to what was typed, and a word's own underscores stay."""
    text = mrkdwn_escape("R&D <Main> server_error Acme_Co 3*4")

    assert markup(text) == []
    assert text == "R&amp;D &lt;Main&gt; server_error Acme_Co 3*4"
    assert mrkdwn_escape("*bold* _x_ ~x~ `c`") == "\u2217bold\u2217 \u02cdx\u02cd \u223cx\u223c \u02cbc\u02cb"
    assert mrkdwn_escape("> quoted").startswith("\u00ad&gt;")


EXEMPT = {
    "message_blocks", "from_a_view", "from_a_message", "keep_message", "find_kept_message", "replace_view",
    "error_blocks",  # response_action errors: Slack shows them as plain text
    "option_text",  # option text: plain_text
    "held_note",  # a channel id from the settings, written as a mention; no name goes in
}


def test_every_builder_of_slack_text_is_fed_hostile_names():
    """A new builder (a *_blocks, *_view, *_text, *_message ... function in bot.commands, bot.slack or bot.notify)
    joins CASES."""
    import importlib
    import pkgutil

    import bot.commands
    import bot.notify
    import bot.slack

    covered = {f for case in CASES.values() for f in case.covers}
    suffixes = ("_blocks", "_view", "_text", "_message", "_line", "_summary", "_modal", "_answer", "refusal",
                "_step", "_note")
    missing = []
    modules = [info.name for package in (bot.commands, bot.slack, bot.notify)
               for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")]
    assert {"bot.commands.link.views", "bot.slack.access", "bot.notify.failure_alerts"} <= set(modules)
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if (function.__module__ == module.__name__ and not name.startswith("_") and name.endswith(suffixes)
                    and name not in EXEMPT and function not in covered):
                missing.append(f"{module.__name__}.{name}")
    assert missing == []
