"""`seatsync demo`: the simulators and SeatSync serving on localhost until Ctrl-C.

It links the high-confidence name matches, reconciles them, then lets a marketplace day pass every
`day_seconds` and syncs, narrating what each marketplace's day changed and what SeatSync posted. A marketplace whose
simulator pushes change notifications (`DemoSupport.register_webhook`: Pax8) is told to deliver them to SeatSync's
`/webhooks/marketplace/<key>` with a fresh secret SeatSync stores (encrypted) in that connection, as an admin would
set it up; each day its deliveries arrive and their syncs post before the day's cycle, which still runs.
SeatSync itself is the real service (`/healthz`,
`/slack/events` with the scheduler) pointed at the Slack simulator, so a signed request (see the
printed signing secret) drives it like Slack would; the Slack console (`bot.sandbox.slack_console`) sends
those requests for a person clicking in a browser. The simulator's @billing-team group is the billing
team, so the console's other people are refused as outsiders would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from bot.app_factory import create_context
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.connections import load_connection, save_connection
from bot.demo.narration import day_line, link_time_lines, posted_lines, webhook_posted_lines
from bot.demo.scripted import link_high_confidence, settle
from bot.demo.workspace import ACTOR, DemoWorkspace, marketplace_keys, open_workspace, world_options
from bot.domain.proration import business_date
from bot.reports.links import report_url
from bot.sandbox.app import Sandbox
from bot.sync.link_reconciliation import reconcile_new_links
from bot.sync.summary import describe_cycle
from web.app import create_app
from web.webhooks import ROUTE, WEBHOOK_TASKS

Say = Callable[[str], None]


def demo_settings(settings: Settings, sandbox: Sandbox, *, port: int, env_overrides: set[str]) -> Settings:
    """The demo's settings: the user's environment wins, else the Slack simulator's credentials."""
    slack = sandbox.config()["slack"]
    return replace(
        settings,
        port=port,
        public_url=settings.public_url if "SEATSYNC_PUBLIC_URL" in env_overrides else f"http://{settings.host}:{port}",
        slack_bot_token=settings.slack_bot_token if "SLACK_BOT_TOKEN" in env_overrides else slack["bot_token"],
        slack_signing_secret=(settings.slack_signing_secret if "SLACK_SIGNING_SECRET" in env_overrides
                              else slack["signing_secret"]),
        slack_api_url=settings.slack_api_url if "SEATSYNC_SLACK_API_URL" in env_overrides else slack["api_url"],
    )


async def run_live(settings: Settings, *, port: int, env_overrides: set[str], database_url: str | None,
                   day_seconds: float = 60.0, seed: int = 1, say: Say = print, clock: Clock = SYSTEM_CLOCK,
                   sandbox_port: int = 0, marketplace: str | None = None) -> None:
    """`clock`: where the demo's time starts; the workspace's clock runs on from it and a day passing moves it,
    and the web app (health, metrics, reports, Slack) reads that same clock. `sandbox_port`: where the simulators
    serve (0: a free port). `marketplace`: the one to read, or several separated by commas (default: the first the
    demo offers)."""
    marketplaces = marketplace_keys(marketplace or VENDORS.demo_choices("marketplace")[0])
    sandbox = Sandbox.generate(seed=seed, scale="small", today=business_date(clock(), "UTC"),
                               **world_options(*marketplaces))
    try:
        await sandbox.start(port=sandbox_port)
    except OSError as exc:
        await sandbox.stop()
        raise DemoCannotServe(f"cannot serve the simulators on port {sandbox_port}: {exc.strerror}") from None
    if database_url is None:
        stamp = clock().strftime("%Y%m%d-%H%M%S")
        database_url = f"sqlite+aiosqlite:///{Path(settings.data_dir) / f'demo-{stamp}.db'}"
    try:
        # the policy of a new install (approval limits in force), so the demo shows what it holds and why
        workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=settings.secret_key,
                                         marketplace=marketplaces,
                                         psa=VENDORS.demo_choices("psa")[0], fast_retries=False,
                                         connector_timeout=10.0, clock=clock, approvals=True)
    except BaseException:
        await sandbox.stop()
        raise
    try:
        await _serve(settings, workspace, port=port, env_overrides=env_overrides, database_url=database_url,
                     day_seconds=day_seconds, say=say)
    finally:
        await workspace.close()
        say("SeatSync demo stopped")


class DemoCannotServe(Exception):
    """A port the demo was asked to serve on is taken; the message names it."""


async def _serve(settings: Settings, workspace: DemoWorkspace, *, port: int, env_overrides: set[str],
                 database_url: str, day_seconds: float, say: Say) -> None:
    sandbox = workspace.sandbox
    live = demo_settings(settings, sandbox, port=port, env_overrides=env_overrides)
    team = demo_billing_team(sandbox, settings, env_overrides)
    async with workspace.sessions() as session:  # alerts, held changes and the checklist go to the simulator
        app_settings = await load_app_settings(session=session)
        app_settings.alerts_channel = app_settings.checklist_channel = DEMO_CHANNEL
        app_settings.billing_team = list(team or app_settings.billing_team)
        await save_app_settings(session=session, settings=app_settings, actor=ACTOR)
        await session.commit()
    context = create_context(live, engine=workspace.db, clock=workspace.clock)
    context.engine_source = _fixed(workspace)
    runner = web.AppRunner(create_app(context), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, live.host, live.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise DemoCannotServe(f"cannot serve on port {live.port}: {exc.strerror}") from None
    sandbox.connect_slack_app(f"http://{live.host}:{live.port}/slack/events", live.slack_signing_secret)
    say(f"SeatSync demo serving on {live.public_url}  (health: {live.public_url}/healthz)")
    say(f"  Slack console (use SeatSync as in Slack, in a browser): {sandbox.console_url}")
    say(f"  Slack endpoint: {live.public_url}/slack/events  signing secret: {live.slack_signing_secret}")
    say(f"  simulators: {sandbox.base_url}  (Slack Web API: {live.slack_api_url})")
    say(f"  database: {database_url}")
    say(f"  alerts, held changes and the checklist go to #billing-alerts ({DEMO_CHANNEL}) in the Slack simulator")
    if team:
        members = ", ".join(sandbox.slack.users[user].real_name for user in sandbox.slack.usergroups[team[0]].members)
        say(f"  billing team: the Slack simulator's @billing-team ({members}); anyone else (Lee Park, service "
            "desk) is refused links, syncs and policy changes")
    for line in await register_webhooks(workspace, f"http://{live.host}:{live.port}"):
        say(line)
    say(f"  a marketplace day passes every {day_seconds:g} s; Ctrl-C to stop")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    days = asyncio.create_task(_days(workspace, day_seconds, say, live, runner.app[WEBHOOK_TASKS]))
    try:
        await stop.wait()
    finally:
        days.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await days
        await runner.cleanup()


async def register_webhooks(workspace: DemoWorkspace, seatsync_url: str) -> list[str]:
    """Each marketplace whose simulator can push notifications delivers them to SeatSync: a fresh secret stored in
    its connection (encrypted, as the config modal stores it), then the webhook configured on the simulator."""
    lines = []
    for key in workspace.marketplace_keys:
        support = VENDORS.get(key).demo
        if support is None or support.register_webhook is None:
            continue
        secret = secrets.token_urlsafe(24)
        async with workspace.sessions() as session:
            connection = await load_connection(session=session, box=workspace.box, system=key)
            await save_connection(session=session, box=workspace.box, system=key, base_url=connection.base_url,
                                  options=connection.options, secrets={**connection.secrets, "webhook_secret": secret},
                                  actor=ACTOR)
            await session.commit()
        url = f"{seatsync_url}{ROUTE}/{key}"
        await support.register_webhook(workspace.sandbox.config(), url, secret)
        lines.append(f"  {VENDORS.label(key)} webhooks: configured on its simulator to call {url}")
    return lines


def demo_billing_team(sandbox: Sandbox, settings: Settings, env_overrides: set[str]) -> list[str]:
    """The Slack simulator's billing-team user group, so the demo shows the billing-team rule (an empty team lets
    everyone act); none when the team or Slack itself comes from the environment."""
    if settings.billing_team or {"SLACK_BOT_TOKEN", "SEATSYNC_SLACK_API_URL"} & env_overrides:
        return []
    group = sandbox.slack.find_usergroup("billing-team")
    return [group.id] if group is not None else []


def _fixed(workspace: DemoWorkspace):
    async def source():
        return workspace.engine

    return source


DEMO_REPORTS = ("linked", "unlinked", "unbilled", "adjustments")
DEMO_CHANNEL = "C0BILLING01"  # the Slack simulator's #billing-alerts, where the bot is a member
SLACK_POSTS = ("chat.postMessage", "chat.update")


def slack_posts_since(sandbox: Sandbox, seen: int) -> tuple[list[str], int]:
    """What the bot said in Slack (the simulator's record) since call number `seen`, one line a message."""
    calls = sandbox.slack.calls()
    lines = []
    for call in calls[seen:]:
        if call.method in SLACK_POSTS and call.ok and call.args:
            first_line = str(call.args.get("text", "")).splitlines()[0] if call.args.get("text") else ""
            verb = "posted" if call.method == "chat.postMessage" else "updated"
            lines.append(f"  Slack {verb} in {call.args.get('channel')}: {first_line[:160]}")
    return lines, len(calls)


def report_links(settings: Settings, *, now: datetime, ttl: timedelta = timedelta(days=7)) -> list[str]:
    """Signed links to the report pages, as Slack would hand them out."""
    return [f"  {name}: " + report_url(public_url=settings.public_url, secret_key=settings.secret_key, name=name,
                                      fmt="html", now=now, ttl=ttl)
            for name in DEMO_REPORTS]


MAX_LINK_LIFETIME = timedelta(days=36525)


def link_lifetime(day_seconds: float, real_days: int = 7) -> timedelta:
    """A link valid for `real_days` of the viewer's time, though the demo's clock moves a day every `day_seconds`
    (at most a century of the demo's days)."""
    return min(timedelta(days=real_days) * max(1.0, 86400 / day_seconds), MAX_LINK_LIFETIME)


async def _days(workspace: DemoWorkspace, day_seconds: float, say: Say, settings: Settings,
                webhook_syncs: set[asyncio.Task]) -> None:
    report = await workspace.engine.run_cycle(trigger="demo", actor=ACTOR, force_full=True)
    say("\n".join(describe_cycle(report)))
    link_ids = await link_high_confidence(workspace, say)
    outcomes = await reconcile_new_links(engine=workspace.engine, link_ids=link_ids, actor=ACTOR)
    for line in link_time_lines(outcomes, approvals_channel=DEMO_CHANNEL):
        say(line)
    await settle(workspace, say)
    say("reports (open in a browser; CSV and XLSX exports are linked from each page):")
    say("\n".join(report_links(settings, now=workspace.clock(), ttl=link_lifetime(day_seconds))))
    say(f"try it in Slack: {workspace.sandbox.console_url}  (/seats link, /seats relations, /seats report adjustments)")
    seen = 0
    _, webhook_seen = await webhook_posted_lines(workspace.sessions, after=None)
    while True:
        await asyncio.sleep(day_seconds)
        day = workspace.pass_day()
        say(day_line(day, workspace.marketplace_keys))
        workspace.sandbox.deliver_day(day)
        with contextlib.suppress(TimeoutError):  # a delivery still retrying is the next cycle's to catch up
            await asyncio.wait_for(workspace.sandbox.deliveries_settled(), timeout=max(1.0, day_seconds / 2))
        await asyncio.gather(*list(webhook_syncs), return_exceptions=True)
        lines, webhook_seen = await webhook_posted_lines(workspace.sessions, after=webhook_seen)
        for line in lines:
            say(line)
        report = await workspace.engine.run_cycle(trigger="demo", actor=ACTOR)
        for line in await posted_lines(workspace.sessions, report.posting):
            say(line)
        for change in report.planned:
            if change.held_reason:
                say(f"  held for approval: {change.company} · {change.service}: {change.units_from} → "
                    f"{change.units_to} ({change.held_reason})")
        lines, seen = slack_posts_since(workspace.sandbox, seen)
        for line in lines:
            say(line)
