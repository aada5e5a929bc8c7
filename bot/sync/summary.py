"""Plain-text summaries of a sync cycle, for the command line (Slack renders its own blocks)."""

from __future__ import annotations

from bot.sync.engine import CycleReport
from bot.sync.planning import PlannedChange


def describe_change(change: PlannedChange) -> str:
    amount = f", prorated {change.prorated_amount}" if change.prorated_amount is not None else ""
    return (f"{change.company}: {change.resource} -> {change.service} {change.units_from} -> {change.units_to} "
            f"({change.delta:+d}) effective {change.effective_date.isoformat()}{amount}")


def describe_cycle(report: CycleReport, *, limit: int = 20) -> list[str]:
    lines = [f"sync run #{report.run_id} {report.status.value} in {report.seconds:.1f} s"
             f"{' (dry run: nothing written to the PSA)' if report.dry_run else ''}"]
    if report.marketplace:
        m = report.marketplace
        lines.append(f"marketplace: {m.resources_seen} resources in {m.subscriptions_seen} subscriptions; "
                     f"{len(m.increases)} increases, {len(m.decreases)} drops, {len(m.new_subscriptions)} new and "
                     f"{len(m.cancelled_subscriptions)} cancelled subscriptions, {len(m.price_changes)} price changes")
    if report.psa:
        lines.append(f"PSA: {report.psa.services} services read, {report.psa.units_changed} with changed units")
    verb = "would post" if report.dry_run else "planned"
    lines.append(f"{len(report.planned)} changes {verb}")
    lines += [f"  {describe_change(change)}" for change in report.planned[:limit]]
    if len(report.planned) > limit:
        lines.append(f"  ... and {len(report.planned) - limit} more")
    if report.posting:
        p = report.posting
        lines.append(f"posted {p.posted}, confirmed {p.confirmed}, not needed {p.not_needed}, failed {p.failed}"
                     f" ({p.needs_action} need action)")
    lines.append(f"API calls: marketplace {report.api_calls.get('marketplace', 0)}, "
                 f"PSA {report.api_calls.get('psa', 0)}")
    lines += [f"error: {error}" for error in report.errors]
    return lines
