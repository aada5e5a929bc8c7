"""Plain-text summaries of a sync cycle, for the command line (Slack renders its own blocks)."""

from __future__ import annotations

from bot.sync.engine import CycleReport
from bot.sync.planning import PlannedChange
from bot.wording import counted


def describe_change(change: PlannedChange, *, dry_run: bool = False) -> str:
    amount = f", prorated {change.prorated_amount}" if change.prorated_amount is not None else ""
    held = ""
    if change.held_reason:
        held = f" - {'would hold' if dry_run else 'held'} for approval: {change.held_reason}"
    elif change.hold_until:
        held = f" - scheduled: not posted before {change.hold_until.isoformat()}"
    return (f"{change.company}: {change.resource} -> {change.service} {change.units_from} -> {change.units_to} "
            f"({change.delta:+d}) effective {change.effective_date.isoformat()}{amount}{held}")


def held_count(report: CycleReport) -> int:
    return sum(1 for change in report.planned if change.held_reason)


def describe_cycle(report: CycleReport, *, limit: int = 20) -> list[str]:
    lines = [f"sync run #{report.run_id} {report.status.value} in {report.seconds:.1f} s"
             f"{' (dry run: nothing written to the PSA)' if report.dry_run else ''}"]
    if report.marketplace:
        m = report.marketplace
        lines.append(f"marketplace: {counted(m.resources_seen, 'resource')} in "
                     f"{counted(m.subscriptions_seen, 'subscription')}; {counted(len(m.increases), 'increase')}, "
                     f"{counted(len(m.decreases), 'drop')}, {len(m.new_subscriptions)} new and "
                     f"{len(m.cancelled_subscriptions)} cancelled subscriptions, "
                     f"{counted(len(m.price_changes), 'price change')}")
    if report.psa:
        lines.append(f"PSA: {counted(report.psa.services, 'service')} read, "
                     f"{report.psa.units_changed} with changed units")
    verb = "would post" if report.dry_run else "planned"
    held = held_count(report)
    held_note = f", {held} {'would hold' if report.dry_run else 'held'} for approval" if held else ""
    lines.append(f"{counted(len(report.planned) - held, 'change')} {verb}{held_note}")
    lines += [f"  {describe_change(change, dry_run=report.dry_run)}" for change in report.planned[:limit]]
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
