"""SeatSync used through the Slack console in a real headless Chromium, as a person follows the README: link a
resource through the whole wizard, set and clear relations in bulk, approve a held change, run a report and
open its link (the adjustment the wizard posted is on the page).

Wired as `seatsync demo` wires it: the sandbox (with the console) on one port, SeatSync's real web app on
another, the console sending Slack's signed requests to SeatSync's /slack/events, SeatSync calling the Slack
simulator. Skipped, saying what is missing, where Chromium is not installed (.ci/run installs it when it can).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

import pytest

from bot.app_context import AppContext
from bot.app_factory import create_context
from bot.config import load_settings
from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.models import Scope
from bot.db.policies import set_approval_policy
from bot.demo.workspace import DemoWorkspace, open_workspace
from bot.jobs import scheduled_jobs
from bot.sandbox.app import Sandbox
from bot.slack.ids import LinkActionId
from tests.commands.link_setup import LineRows, line_rows
from tests.conftest import TEST_SECRET_KEY, make_env
from tests.sync.engine_setup import Line, pick_lines
from tests.web.slack_console_page import ConsolePage
from tests.web.test_report_browser import browser, downloads  # noqa: F401 - the fixtures
from web.app import create_app

DANA, SAM = "U0DANA0001", "U0SAM00002"
BILLING_CHANNEL, BILLING_TEAM = "C0BILLING01", "S0BILLING01"
pytestmark = pytest.mark.db


@dataclass
class ConsoleDemo:
    sandbox: Sandbox
    workspace: DemoWorkspace
    context: AppContext
    line: Line  # 8 seats bought, 1 billed, nothing linked
    rows: LineRows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def demo(aiohttp_server, database_url, clock, today, tmp_path):
    sandbox = Sandbox.generate(seed=7, scale="small", today=today)
    sandbox.slack_timeout_s = 10.0  # Slack waits 3 s; SeatSync acks first, but a loaded CI machine gets slack
    await sandbox.start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    line, = pick_lines(sandbox.world, "autotask", 1)
    line.set_market_total(8)
    line.set_psa_units(1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    rows = await line_rows(workspace.sessions, subscription_external_id=str(line.subscription_id),
                           resource_external_id=str(line.resource_id), service_external_id=str(line.service_id))
    port, slack = free_port(), sandbox.config()["slack"]
    settings = load_settings(make_env(
        tmp_path, DATABASE_URL=database_url, SEATSYNC_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SLACK_SIGNING_SECRET=slack["signing_secret"], SLACK_BOT_TOKEN=slack["bot_token"],
        SEATSYNC_SLACK_API_URL=slack["api_url"], SEATSYNC_BILLING_TEAM=BILLING_TEAM), dotenv_path=None)
    async with workspace.sessions() as session:  # as the live demo: alerts and held changes in #billing-alerts
        app_settings = await load_app_settings(session=session)
        app_settings.alerts_channel = BILLING_CHANNEL
        await save_app_settings(session=session, settings=app_settings, actor="test")
        await session.commit()
    context = create_context(settings, engine=workspace.db, clock=workspace.clock)

    async def the_workspace_engine():
        return workspace.engine

    context.engine_source = the_workspace_engine
    await aiohttp_server(create_app(context, run_scheduler=False), host="127.0.0.1", port=port)
    sandbox.connect_slack_app(f"http://127.0.0.1:{port}/slack/events")
    yield ConsoleDemo(sandbox, workspace, context, line, rows)
    await workspace.close()


async def run_job(context: AppContext, job_id: str) -> None:
    """One of the scheduler's jobs, now (the test runs SeatSync without the scheduler's minute-long wait)."""
    async with context.sessions() as session:
        app_settings = await load_app_settings(session=session)
    job, = [job for job in scheduled_jobs(context, app_settings) if job.id == job_id]
    await job.run()


async def test_a_person_uses_seatsync_through_the_slack_console(demo, browser):  # noqa: F811
    page = ConsolePage(browser, demo.sandbox.console_url)
    rows = demo.rows
    await page.open(DANA, BILLING_CHANNEL)

    # 1. /seats link: every level of the wizard picked from the app's live options, then Set relation
    await page.command("/seats link")
    await page.modal("Link a resource")
    for action_id, name in ((LinkActionId.PICK_COMPANY, rows.company),
                            (LinkActionId.PICK_PSA_COMPANY, rows.psa_company),
                            (LinkActionId.PICK_SUBSCRIPTION, rows.subscription),
                            (LinkActionId.PICK_CONTRACT, rows.contract),
                            (LinkActionId.PICK_RESOURCE, rows.resource), (LinkActionId.PICK_SERVICE, rows.service)):
        await page.pick(action_id, name[:12], name)
    await page.modal_text("Marketplace count 8 · PSA units 1")
    await page.submit()
    await page.no_modal()
    await page.message_with(f"posted +7 {rows.resource}")
    assert demo.line.psa_units == 8

    # 2. /seats relations: tick two suggestions and set them; then, among the current relations, clear them
    await page.command("/seats relations")
    await page.modal("Relations")
    suggestions = (await page.row_labels())[:2]
    for label in suggestions:
        await page.tick(label)
    await page.submit()
    await page.no_modal()
    await page.message_with("Set 2 of 2 relations.")
    await page.command("/seats relations")
    await page.modal("Relations")
    before = await page.modal_hash()
    await page.click_in_modal("Show current relations")
    await page.modal_changed(before, "the current relations")
    for label in suggestions:
        await page.tick(re.sub(r"( · \d+%)?(\n.*)?$", "", label, flags=re.S).removesuffix("…"))
    await page.submit()
    await page.no_modal()
    await page.message_with("Cleared 2 of 2 relations.")

    # 3. a change over the approval limit waits; /seats sync finds it, the scheduler's job asks, Dana approves
    async with demo.workspace.sessions() as session:
        await set_approval_policy(session=session, scope=Scope.global_, max_units=2, actor="test")
        await session.commit()
    demo.line.set_market_total(20)
    await page.command("/seats sync")
    await page.message_with("Sync #")
    await run_job(demo.context, "approval-messages")
    await page.message_with("waiting for approval")
    await page.click_in_message("waiting for approval", "Approve")
    await page.message_with("decided")
    assert demo.line.psa_units == 20

    # 4. /seats report adjustments: the summary in the channel, and its HTML link opens the report page
    await page.command("/seats report adjustments")
    await page.message_with("Adjustments")
    report = await page.open_link_in_message("Adjustments", "/reports/adjustments.html")
    assert rows.resource in report and rows.psa_company in report

    # Sam, also on the billing team, sees the channel's messages but none of Dana's ephemeral answers
    await page.become(SAM)
    await page.message_with(f"posted +7 {rows.resource}")
    assert not any("relations." in text for text in page.message_texts())

    # his App Home (published when he opens it) and, from it, the config dialog with its channel, people and
    # number inputs
    await page.open_home()
    await page.click_in_home("Config")
    await page.modal("SeatSync config")
    await page.until(lambda: page.css("#modal-layer [data-element-type=conversations_select]")
                     and page.css("#modal-layer [data-element-type=multi_users_select]"),
                     "the config dialog's fields (after its Loading… view)")
    await page.close_modal()

    # every block and element SeatSync sent on the way is one the page renders, and nothing failed in the page
    blocks, elements = sent_types(demo.sandbox)
    rendered = await page.run(browser.execute_script, "return [slackConsole.blocks, slackConsole.elements]")
    assert blocks and blocks - set(rendered[0]) == set() and elements - set(rendered[1]) == set()
    severe = [e for e in await page.run(browser.get_log, "browser") if e["level"] == "SEVERE"]
    assert severe == []


def sent_types(sandbox: Sandbox) -> tuple[set[str], set[str]]:
    """The block and element types of every message and view SeatSync sent to the Slack simulator."""
    blocks: set[str] = set()
    elements: set[str] = set()
    for call in sandbox.slack.calls():
        args = call.args or {}
        surfaces = [args.get("blocks"), (args.get("view") or {}).get("blocks") if isinstance(args.get("view"), dict)
                    else None]
        for surface in surfaces:
            for block in surface if isinstance(surface, list) else []:
                blocks.add(block["type"])
                found = [block.get("accessory"), block.get("element"),
                         *(block.get("elements") or [] if block["type"] == "actions" else [])]
                elements |= {e["type"] for e in found if isinstance(e, dict)}
    return blocks, elements
