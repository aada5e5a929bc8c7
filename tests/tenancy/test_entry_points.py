"""Where a tenant comes from, seen from outside: Slack requests by their workspace, signed report links, marketplace
webhooks by their secret, the CLI's --tenant. Tenant B never sees tenant A's data through any of them."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import func, select

from bot.app_factory import create_context
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connections import save_connection
from bot.db.engine import session_factory
from bot.db.models import AppSetting, MarketplaceSubscription
from bot.db.tenancy import ensure_tenant, tenant_scope
from bot.keys import SecretBox
from bot.slack.tenants import NOT_INSTALLED
from bot.sync.wiring import NotConfigured
from tests.bolt_listeners import listeners_done
from tests.commands.test_report_command import PUBLIC_URL, fetch, link_buttons, posted
from tests.commands.test_seats_command import slack, start_app  # noqa: F401 - the slack fixture
from tests.conftest import TEST_SECRET_KEY
from tests.reports.dataset import build_dataset
from tests.reports.test_cli import cli_env, csv_rows, run_cli  # noqa: F401 - the cli_env fixture
from tests.tenancy.conftest import TEAM_B
from tests.web.test_webhooks import configure, event, signed
from web.app import create_app
from web.webhooks import ROUTE, WEBHOOK_TASKS

SECRET_B = "whsec-bravo-0123456789abcdef"


async def _tenant(sessions, team_id: str) -> int:
    async with sessions() as session:
        tenant_id = await ensure_tenant(session, team_id=team_id, enterprise_id=None, is_enterprise_install=False)
        await session.commit()
    return tenant_id


async def test_slack_requests_run_as_their_workspaces_tenant(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                             database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_PUBLIC_URL=PUBLIC_URL)
    context.tenant_per_workspace = True
    team_a = recorder.team_id
    a, b = await _tenant(context.sessions, team_a), await _tenant(context.sessions, TEAM_B)
    with tenant_scope(a):
        async with context.sessions() as session:
            await build_dataset(session)
            await session.commit()

    await sender.slash_command("report unlinked")
    await listeners_done()
    from_a = posted(recorder)[-1]
    assert from_a["text"].startswith("Resources not linked: 2 rows")

    recorder.team_id = TEAM_B
    await sender.slash_command("report unlinked")
    await listeners_done()
    from_b = posted(recorder)[-1]
    assert from_b is not from_a and "2 rows" not in from_b["text"] and "Acme" not in str(from_b["blocks"])

    links_a, links_b = link_buttons(from_a["blocks"]), link_buttons(from_b["blocks"])
    csv_a = next(url for key, url in links_a.items() if key.endswith("csv"))
    csv_b = next(url for key, url in links_b.items() if key.endswith("csv"))
    rows_a = list(csv.reader(io.StringIO((await (await fetch(sender, csv_a)).read()).decode("utf-8-sig"))))
    rows_b = list(csv.reader(io.StringIO((await (await fetch(sender, csv_b)).read()).decode("utf-8-sig"))))
    assert (len(rows_a), len(rows_b)) == (1 + 2, 1)
    # A's link edited to name B (or to name no tenant) is refused: the tenant is signed
    parts = urlsplit(csv_a)
    for tenant in ([("tenant", str(b))], []):
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "tenant"] + tenant
        response = await sender._client.get(f"{parts.path}?{urlencode(query)}")
        assert response.status == 403

    recorder.team_id = "TNOTINSTALL"
    before = len(posted(recorder))
    reply = await sender.slash_command("report unlinked")
    await listeners_done()
    assert reply.status == 200 and NOT_INSTALLED in reply.body
    assert len(posted(recorder)) == before
    assert a != b


async def test_a_webhook_goes_to_the_tenant_whose_secret_proves_it(aiohttp_client, settings, engine, clock):
    sessions, box = session_factory(engine), SecretBox(TEST_SECRET_KEY)
    b = await _tenant(sessions, TEAM_B)
    async with sessions() as session:
        await configure(session, marketplace="ingram")
        await build_dataset(session)
        await session.commit()
        known = await session.scalar(select(MarketplaceSubscription.external_id).limit(1))
    with tenant_scope(b):
        async with sessions() as session:
            await save_connection(session=session, box=box, system="ingram", base_url="http://127.0.0.1:9/ingram",
                                  options={}, secrets={"webhook_secret": SECRET_B}, actor="test")
            await save_app_settings(session=session, settings=AppSettings(marketplace="ingram", psa="autotask"),
                                    actor="test")
            await session.commit()
    context = create_context(settings, clock=clock)

    async def no_engine():
        return NotConfigured("no engine in this test")

    context.engine_source = no_engine
    app = create_app(context, run_scheduler=False)
    client = await aiohttp_client(app)

    body, headers = signed(event("d-1", subscription=known), secret=SECRET_B)
    response = await client.post(ROUTE, data=body, headers=headers)
    answer = await response.json()
    assert response.status == 202 and answer["sync"] is False and "not read" in answer["note"]  # not B's
    body, headers = signed(event("d-1", subscription=known))
    response = await client.post(ROUTE, data=body, headers=headers)
    answer = await response.json()
    assert response.status == 202 and answer["sync"] is True, answer  # A's own subscription, same delivery id
    for task in list(app[WEBHOOK_TASKS]):
        await task

    async def remembered(tenant_id: int) -> int:
        with tenant_scope(tenant_id):
            async with sessions() as session:
                return await session.scalar(select(func.count()).select_from(AppSetting)
                                            .where(AppSetting.key.like("webhook:%")))

    assert (await remembered(1), await remembered(b)) == (1, 1)


async def test_the_cli_acts_for_the_tenant_it_is_given(cli_env, session, engine, capsysbinary):  # noqa: F811
    await build_dataset(session)
    await session.commit()
    b = await _tenant(session_factory(engine), TEAM_B)

    code, out, err = await run_cli(capsysbinary, "report", "unlinked")
    assert code == 0, err
    assert len(csv_rows(out)) == 1 + 2
    code, out, err = await run_cli(capsysbinary, "--tenant", str(b), "report", "unlinked")
    assert code == 0, err
    assert len(csv_rows(out)) == 1
    code, out, err = await run_cli(capsysbinary, "--tenant", str(b), "links", "export")
    assert code == 0, err
    assert len(csv_rows(out)) <= 1
    code, out, err = await run_cli(capsysbinary, "--tenant", str(b), "report", "unlinked", "--link")
    assert code == 0 and f"tenant={b}" in out.decode()
