"""Held changes in Slack end to end: the job posts one message per change group, and signed clicks and
modal submissions into /slack/events approve, reject and edit them; the Autotask simulator shows the posts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.audit import audit_events_for
from bot.db.models import Adjustment, AdjustmentStatus, Scope, SlackMessage, SlackMessageState
from bot.db.policies import set_approval_policy
from bot.demo.workspace import open_workspace
from bot.notify.approval_messages import refresh_approval_messages
from bot.sandbox.app import Sandbox
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.slack.ids import ApprovalId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    LEE,
    SAM,
    assert_all_calls_ok,
    replies_to,
    slack,
    start_app,
)
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines


@pytest.fixture
async def workspace(database_url, clock, today):
    """Two Autotask services linked, with marketplace counts far above them and a 5-unit approval limit."""
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    lines = pick_lines(sandbox.world, "autotask", 2)
    for line in lines:
        line.set_market_total(3)
        line.set_psa_units(3)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    for line in lines:
        await link_line(workspace, line, "odin")
    async with workspace.sessions() as session:
        await set_approval_policy(session=session, scope=Scope.global_, max_units=5, actor="U1")
        settings = await load_app_settings(session=session)
        settings.alerts_channel = BILLING_CHANNEL
        await save_app_settings(session=session, settings=settings, actor="test")
        await session.commit()
    lines[0].set_market_total(12)
    lines[1].set_market_total(10)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    workspace.lines = lines
    yield workspace
    await workspace.close()


async def started(aiohttp_client, slack, tmp_path, database_url, workspace, **env):  # noqa: F811
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, **env, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    return context, sender


async def post_groups(context) -> list:
    return await refresh_approval_messages(sessions=context.sessions, client=context.bolt.client,
                                           channel=BILLING_CHANNEL)


async def held(workspace) -> list[Adjustment]:
    async with workspace.sessions() as session:
        return list(await session.scalars(select(Adjustment).order_by(Adjustment.id)))


def message(recorder, ts: str) -> dict:
    return recorder.messages[(BILLING_CHANNEL, ts)].message


def section_text(recorder, ts: str, adjustment_id: int) -> str:
    block = next(b for b in message(recorder, ts)["blocks"]
                 if b.get("block_id") == f"{ApprovalId.CHANGE_BLOCK}:{adjustment_id}")
    return block["text"]["text"]


async def kept_state(context, key: str) -> SlackMessageState:
    """The kept message's state as the listener recorded it (it updates Slack first): read after listeners_done."""
    async with context.sessions() as session:
        return await session.scalar(select(SlackMessage.state).where(SlackMessage.key == key))


def posted_messages(recorder) -> list:
    return [c for c in recorder.calls("chat.postMessage") if c.ok]


async def test_one_message_per_group_approve_posts_and_reject_asks_why(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                       database_url, workspace):
    recorder, _ = slack
    context, sender = await started(aiohttp_client, slack, tmp_path, database_url, workspace)
    first, second = await held(workspace)
    assert {first.status, second.status} == {AdjustmentStatus.awaiting_approval}

    kept, = await post_groups(context)
    assert await post_groups(context) == []  # nothing changed: not posted again, not updated
    assert len(posted_messages(recorder)) == 1
    blocks = message(recorder, kept.ts)["blocks"]
    assert validate_message_blocks(blocks) == []
    assert "3 → 12 (+9)" in section_text(recorder, kept.ts, first.id)
    assert "Held: 9 units is over the 5-unit limit" in section_text(recorder, kept.ts, first.id)
    assert "⏳ Waiting for approval" in section_text(recorder, kept.ts, second.id)

    reply = await sender.block_actions(f"{ApprovalId.APPROVE}:{first.id}", message=kept.ts)
    assert reply.status == 200
    await listeners_done()
    assert "posted" in section_text(recorder, kept.ts, first.id)
    assert f"✅ Approved by <@{DANA}>: posted" in section_text(recorder, kept.ts, first.id)
    line_one, line_two = workspace.lines
    assert line_one.psa_units == 12 and [(w.before, w.after) for w in line_one.writes()] == [(3, 12)]

    await sender.block_actions(f"{ApprovalId.REJECT}:{second.id}", message=kept.ts, user_id=SAM)
    await listeners_done()
    assert recorder.open_views(SAM)
    modal = recorder.open_views(SAM)[0]
    assert modal["callback_id"] == ApprovalId.REJECT_CALLBACK
    blank = await sender.view_submission(modal["id"], {ApprovalId.REASON_BLOCK: "   "}, user_id=SAM)
    assert blank.json["response_action"] == "errors"
    assert "say why" in blank.json["errors"][ApprovalId.REASON_BLOCK]

    done = await sender.view_submission(modal["id"], {ApprovalId.REASON_BLOCK: "customer disputes the count"},
                                        user_id=SAM)
    assert done.problems == [] and recorder.open_views(SAM) == []
    await listeners_done()
    assert "Rejected" in section_text(recorder, kept.ts, second.id)
    assert f"✖️ Rejected by <@{SAM}>: customer disputes the count" in section_text(recorder, kept.ts, second.id)
    assert message(recorder, kept.ts)["blocks"][0]["text"]["text"].endswith(": decided")
    assert not any(b["type"] == "actions" for b in message(recorder, kept.ts)["blocks"])
    assert await kept_state(context, kept.key) is SlackMessageState.resolved
    async with context.sessions() as session:
        events = await audit_events_for(session=session, subject_type="adjustment", subject_id=second.id)
    assert [(e.actor, e.action, e.after["reason"]) for e in events] == [
        (SAM, "reject_adjustment", "customer disputes the count")]
    assert line_two.writes() == [] and line_two.psa_units == 3

    again = await workspace.engine.run_cycle(trigger="test", force_full=True)  # the rejected 10 is not proposed
    assert again.planned == [] and await post_groups(context) == []
    assert len(posted_messages(recorder)) == 1
    assert_all_calls_ok(recorder)


async def test_edit_units_and_date_then_it_posts(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                 workspace):
    recorder, _ = slack
    context, sender = await started(aiohttp_client, slack, tmp_path, database_url, workspace)
    first, _ = await held(workspace)
    kept, = await post_groups(context)

    await sender.block_actions(f"{ApprovalId.EDIT}:{first.id}", message=kept.ts)
    await listeners_done()
    assert recorder.open_views(DANA)
    modal = recorder.open_views(DANA)[0]
    today = workspace.engine.today().isoformat()
    wrong = await sender.view_submission(modal["id"], {ApprovalId.UNITS_BLOCK: "3", ApprovalId.DATE_BLOCK: today})
    assert "already has 3 units" in wrong.json["errors"][ApprovalId.UNITS_BLOCK]
    stored = recorder.views[modal["id"]].body
    sealed = stored["private_metadata"]
    stored["private_metadata"] = sealed.replace(sealed[:4], sealed[:4][::-1], 1) + "0"  # altered on the way
    tampered = await sender.view_submission(modal["id"], {ApprovalId.UNITS_BLOCK: "9", ApprovalId.DATE_BLOCK: today})
    assert "altered" in tampered.json["errors"][ApprovalId.UNITS_BLOCK]
    stored["private_metadata"] = sealed

    done = await sender.view_submission(modal["id"], {ApprovalId.UNITS_BLOCK: "7", ApprovalId.DATE_BLOCK: today})

    assert done.problems == []
    line_one, _ = workspace.lines
    await listeners_done()
    assert "posted" in section_text(recorder, kept.ts, first.id)
    assert f"✏️ Edited by <@{DANA}>: 7 units effective {today}" in section_text(recorder, kept.ts, first.id)
    assert line_one.psa_units == 7 and [(w.before, w.after) for w in line_one.writes()] == [(3, 7)]
    original, _, edited = await held(workspace)
    assert (original.status, original.superseded_by_id, edited.status) == (
        AdjustmentStatus.rejected, edited.id, AdjustmentStatus.posted)
    assert_all_calls_ok(recorder)


async def test_only_the_billing_team_decides(aiohttp_client, slack, tmp_path, database_url, workspace):  # noqa: F811
    recorder, _ = slack
    context, sender = await started(aiohttp_client, slack, tmp_path, database_url, workspace,
                                    SEATSYNC_BILLING_TEAM="S0BILLING01")
    first, _ = await held(workspace)
    kept, = await post_groups(context)

    for action in (ApprovalId.APPROVE, ApprovalId.REJECT, ApprovalId.EDIT):
        reply = await sender.block_actions(f"{action}:{first.id}", message=kept.ts, user_id=LEE)
        assert reply.status == 200
    await listeners_done()
    assert len(replies_to(recorder, LEE)) == 3

    assert all(text.startswith("Only the billing team can do that") for text in replies_to(recorder, LEE))
    assert recorder.open_views(LEE) == [] and recorder.calls("chat.update") == []
    assert [a.status for a in await held(workspace)] == [AdjustmentStatus.awaiting_approval] * 2
    assert workspace.lines[0].writes() == []
