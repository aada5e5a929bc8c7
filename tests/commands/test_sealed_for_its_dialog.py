"""A sealed value opens only the dialog it was sealed for: genuine private_metadata (or a button value) sealed by
SeatSync for one dialog, replayed into another, is refused there and nothing is saved. Signed requests into the
real app; Slack played by the simulator."""

from __future__ import annotations

import json

import pytest

from bot.db.app_settings import load_app_settings
from bot.db.models import AdjustmentStatus
from bot.slack.ids import ApprovalId, ConfigId, SealedFor
from bot.slack.modal_state import seal_state
from tests.bolt_listeners import listeners_done
from tests.commands import test_config as config_harness
from tests.commands.test_approvals import held, post_groups, started
from tests.commands.test_approvals import workspace as approval_workspace  # noqa: F401 - the fixture
from tests.commands.test_seats_command import DANA, SAM, slack, start_app  # noqa: F401 - the fixture


@pytest.mark.parametrize("sealed_for, payload", [
    (SealedFor.HOME, {"dm": "D0DANA0001"}),  # the Home tab's metadata: in the person's own view
    (SealedFor.UNLINK_BUTTON, {"l": 1}),  # an Unlink button's value: in a message anyone in the channel sees
    (SealedFor.POLICY, {"u": DANA, "ch": "C0BILLING01", "s": "global", "c": None, "l": None}),
])
async def test_the_config_modal_refuses_metadata_sealed_for_another_dialog(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                           database_url, sealed_for, payload):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    modal = await config_harness.open_config(sender, recorder, user_id=DANA)
    recorder.views[modal["id"]].body["private_metadata"] = seal_state(context, sealed_for, payload)

    reply = await config_harness.submit(sender, recorder, {ConfigId.POLL_MINUTES_BLOCK: "2"})

    assert reply.json["response_action"] == "update"
    assert "state was altered" in json.dumps(reply.json["view"])
    async with context.sessions() as session:
        assert (await load_app_settings(session=session)).poll_minutes == 5


async def test_the_config_modal_takes_its_own_metadata(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    """The same submission with the modal's own metadata saves: the refusals above are for the purpose alone."""
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await config_harness.open_config(sender, recorder, user_id=DANA)

    reply = await config_harness.submit(sender, recorder, {ConfigId.POLL_MINUTES_BLOCK: "2"})

    assert "Config saved" in json.dumps(reply.json["view"])
    async with context.sessions() as session:
        assert (await load_app_settings(session=session)).poll_minutes == 2


async def test_the_reject_dialog_refuses_the_edit_dialogs_metadata(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                    database_url, approval_workspace):  # noqa: F811
    recorder, _ = slack
    context, sender = await started(aiohttp_client, slack, tmp_path, database_url, approval_workspace)
    first, _ = await held(approval_workspace)
    kept, = await post_groups(context)
    await sender.block_actions(f"{ApprovalId.REJECT}:{first.id}", message=kept.ts, user_id=SAM)
    await listeners_done()
    assert recorder.open_views(SAM)
    modal = recorder.open_views(SAM)[0]
    recorder.views[modal["id"]].body["private_metadata"] = seal_state(context, SealedFor.APPROVAL_EDIT,
                                                                      {"id": first.id})

    reply = await sender.view_submission(modal["id"], {ApprovalId.REASON_BLOCK: "not ours"}, user_id=SAM)

    assert reply.json["response_action"] == "errors"
    assert "altered" in reply.json["errors"][ApprovalId.REASON_BLOCK]
    assert {a.status for a in await held(approval_workspace)} == {AdjustmentStatus.awaiting_approval}
