"""`/seats relations` end to end: suggestions paged, bulk set with a failing row, current relations cleared."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.commands.relations.views import CURRENT, rows_block_id
from bot.db.audit import audit_events_for
from bot.db.links import link_resource, unlink_resource
from bot.db.models import ResourceLink
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId
from bot.slack.modal_state import TAMPERED, open_state
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    DANA,
    Modal,
    assert_valid_message,
    assert_valid_view,
    failed_calls,
    slack,  # noqa: F401 - the fixture
    start_app,
)
from tests.commands.test_link_wizard import workspace  # noqa: F401 - the fixture
from tests.many_companies import insert_many_companies

SCORE = re.compile(r" · (\d{1,3})%$")


@pytest.fixture
async def app(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:
        await insert_many_companies(session=session, count=45, now=context.clock())
    return recorder, context, sender


def row_options(modal: Modal) -> list[dict]:
    return [o for b in modal.top["blocks"] if b["block_id"].startswith(LinkBlockId.RELATIONS_ROWS)
            for o in b["element"]["options"]]


def page_rows(modal: Modal, context) -> list:
    return open_state(context, "relations", modal.top["private_metadata"])["rows"]


async def opened(modal: Modal, sender) -> None:
    await sender.slash_command("relations")
    await listeners_done()
    assert modal.is_open and modal.top["blocks"][0]["text"]["text"] != "Loading…"


async def summaries(recorder, user: str) -> list[dict]:
    await listeners_done()
    assert recorder.ephemeral_messages(user)
    return [m.message for m in recorder.ephemeral_messages(user)]


async def test_suggestions_are_paged_best_first_and_set_with_a_failing_row(app):
    recorder, context, sender = app
    modal = Modal(recorder, sender)
    await opened(modal, sender)

    header = modal.top["blocks"][0]["text"]["text"]
    total = int(re.search(r"· (\d+) in all", header).group(1))
    assert header.startswith("*Suggested matches*, high confidence first") and 40 <= total <= 45
    assert f"page 1 of {-(-total // 20)}" in header
    assert [b["block_id"] for b in modal.top["blocks"] if b["type"] == "input"] == [rows_block_id(0), rows_block_id(1)]
    first_page = row_options(modal)
    scores = [int(SCORE.search(o["text"]["text"]).group(1)) for o in first_page]
    assert len(first_page) == 20 and scores == sorted(scores, reverse=True)
    assert all(o["description"]["text"].startswith("→ ") for o in first_page)
    assert modal.top["submit"]["text"] == "Set selected" and modal.has(LinkActionId.RELATIONS_NEXT)
    assert not modal.has(LinkActionId.RELATIONS_PREVIOUS)
    assert_valid_view(modal.top)

    await modal.click(LinkActionId.RELATIONS_NEXT)
    assert "page 2 of" in modal.top["blocks"][0]["text"]["text"]
    assert row_options(modal)[0]["text"] != first_page[0]["text"] and modal.has(LinkActionId.RELATIONS_PREVIOUS)
    await modal.click(LinkActionId.RELATIONS_PREVIOUS)
    assert row_options(modal) == first_page

    rows = page_rows(modal, context)
    taken_resource, taken_service = rows[1]
    async with context.sessions() as session:  # meanwhile someone links row 1's resource another way
        other_service = rows[2][1]
        await link_resource(session=session, resource_id=taken_resource, service_id=other_service, actor="U0SOMEONE")
        await session.commit()

    reply = await modal.submit({rows_block_id(0): ["0", "1"], rows_block_id(1): ["12"]})

    assert reply.json is None and not modal.is_open
    summary, = await summaries(recorder, DANA)
    assert summary["text"] == "Set 2 of 3 relations."
    assert_valid_message(summary["blocks"])
    lines = [b["text"]["text"] for b in summary["blocks"] if b["type"] == "section"]
    assert lines[1].startswith("✅ ") and lines[3].startswith("✅ ")
    assert lines[2].startswith("❌ ") and "already feeds PSA service" in lines[2]
    assert summary["blocks"][-1]["elements"][0]["text"].startswith(
        "Not reconciled yet: no marketplace and PSA chosen yet")
    async with context.sessions() as session:
        made = {(link.resource_id, link.psa_service_id): link for link in await session.scalars(select(ResourceLink))}
        assert set(made) == {tuple(rows[0]), tuple(rows[12]), (taken_resource, other_service)}
        audit = await audit_events_for(session=session, subject_type="resource_link",
                                       subject_id=made[tuple(rows[0])].id)
        assert [(e.action, e.actor) for e in audit] == [("link_resource", DANA)]
    assert failed_calls(recorder) == []


async def test_current_relations_are_cleared_with_a_row_gone_meanwhile(app):
    recorder, context, sender = app
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    rows = page_rows(modal, context)
    async with context.sessions() as session:
        link_ids = [(await link_resource(session=session, resource_id=r, service_id=s, actor="U0SOMEONE")).id
                    for r, s in rows[:3]]
        await session.commit()

    await modal.click(LinkActionId.RELATIONS_MODE)
    header = modal.top["blocks"][0]["text"]["text"]
    assert header == "*Current relations* · 3 in all · page 1 of 1"
    assert modal.top["submit"]["text"] == "Clear selected" and not modal.has(LinkActionId.RELATIONS_NEXT)
    current = page_rows(modal, context)
    assert sorted(current) == sorted(link_ids)
    async with context.sessions() as session:
        await unlink_resource(session=session, resource_link_id=current[1], actor="U0SOMEONE")
        await session.commit()

    await modal.submit({rows_block_id(0, mode=CURRENT): ["0", "1"]})

    summary, = await summaries(recorder, DANA)
    assert summary["text"] == "Cleared 1 of 2 relations."
    lines = [b["text"]["text"] for b in summary["blocks"] if b["type"] == "section"]
    assert lines[1].startswith("✅ ")
    assert lines[2].startswith(f"❌ relation #{current[1]}: there is no relation #{current[1]}")
    async with context.sessions() as session:
        assert list(await session.scalars(select(ResourceLink.id))) == [current[2]]


async def test_nothing_ticked_or_rows_the_page_never_showed_are_refused(app):
    recorder, context, sender = app
    modal = Modal(recorder, sender)
    await opened(modal, sender)

    reply = await modal.submit()
    assert reply.json == {"response_action": "errors", "errors": {rows_block_id(0): "tick at least one row"}}
    forged = {"text": {"type": "plain_text", "text": "row 99"}, "value": "99"}
    reply = await modal.submit({rows_block_id(0): [forged]})
    assert reply.json["response_action"] == "errors"
    async with context.sessions() as session:
        assert list(await session.scalars(select(ResourceLink))) == []


async def test_altered_state_is_refused(app):
    recorder, context, sender = app
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    stored = recorder.views[modal.top["id"]]
    genuine = stored.body["private_metadata"]
    stored.body["private_metadata"] = "x" + genuine

    reply = await modal.submit({rows_block_id(0): ["0"]})
    assert reply.json == {"response_action": "errors", "errors": {rows_block_id(0): TAMPERED}}

    await modal.click(LinkActionId.RELATIONS_NEXT)
    assert modal.top["callback_id"] == LinkCallbackId.REFUSED and TAMPERED in modal.texts()
    async with context.sessions() as session:
        assert list(await session.scalars(select(ResourceLink))) == []


async def test_relations_set_from_suggestions_are_reconciled(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                             database_url, workspace):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    assert row_options(modal), "the sandbox has suggestions"

    await modal.submit({rows_block_id(0): ["0"]})

    summary, = await summaries(recorder, DANA)
    assert summary["text"] == "Set 1 of 1 relations."
    line = [b["text"]["text"] for b in summary["blocks"] if b["type"] == "section"][1]
    assert re.search(r"^✅ .+\nOdin / CloudBlue BA \d+ · Autotask \d+ → (posted [+-]\d+|already in step)", line), line
    assert summary["blocks"][-1]["elements"][0]["text"].startswith("Each new relation was reconciled once")
    assert failed_calls(recorder) == []


async def test_ticks_are_kept_across_pages_and_each_page_has_its_own_inputs(app):
    recorder, context, sender = app
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    first = page_rows(modal, context)

    await modal.click(LinkActionId.RELATIONS_NEXT, values={rows_block_id(0): ["0", "1"]})
    second = page_rows(modal, context)
    # page 2's inputs are new ones: Slack cannot carry page 1's ticks onto the same indexes here
    assert [b["block_id"] for b in modal.top["blocks"] if b["type"] == "input"][0] == rows_block_id(0, page=1)
    assert "· 2 ticked on other pages" in modal.top["blocks"][0]["text"]["text"]
    assert all("initial_options" not in b["element"] for b in modal.top["blocks"] if b["type"] == "input")

    await modal.click(LinkActionId.RELATIONS_PREVIOUS, values={rows_block_id(0, page=1): ["3"]})
    ticked_again = [o["value"] for b in modal.top["blocks"] if b["type"] == "input"
                    for o in b["element"].get("initial_options", [])]
    assert ticked_again == ["0", "1"]  # page 1 comes back as it was left
    assert "· 1 ticked on other pages" in modal.top["blocks"][0]["text"]["text"]

    await modal.submit({rows_block_id(0): ["0", "5"]})  # row 1 unticked, row 5 ticked on the way out

    summary, = await summaries(recorder, DANA)
    assert summary["text"] == "Set 3 of 3 relations."
    async with context.sessions() as session:
        made = {(link.resource_id, link.psa_service_id) for link in await session.scalars(select(ResourceLink))}
    assert made == {tuple(first[0]), tuple(first[5]), tuple(second[3])}
