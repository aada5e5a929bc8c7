"""When the engine cannot be built (here: the secret key was changed, so the stored PSA secrets no longer
decrypt), the Slack actions that need it say so to the person who clicked, instead of failing silently
after their ack."""

from __future__ import annotations

from bot.notify.failure_alerts import post_failure_alerts
from bot.slack.ids import AlertId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import SAM, replies_to, slack  # noqa: F401 - the slack fixture
from tests.notify.test_failure_alerts import attempts, chat, failing, start_alerting_app  # noqa: F401 - the fixture

ROTATED = {"SEATSYNC_SECRET_KEY": "another-secret-key-than-the-one-the-secrets-were-stored-with"}


async def without_demo_engine(aiohttp_client, slack, tmp_path, database_url, workspace):  # noqa: F811
    context, sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, workspace, **ROTATED)
    context.engine_source = None  # the real path: the engine built from the stored connections
    return context, sender


async def test_retry_now_says_why_when_the_engine_cannot_be_built(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                 database_url, failing):  # noqa: F811
    recorder, _ = slack
    context, sender = await without_demo_engine(aiohttp_client, slack, tmp_path, database_url, failing)
    await post_failure_alerts(app_context=context, client=context.bolt.client)
    ts = chat(recorder, "chat.postMessage")[0].response["ts"]
    before = await attempts(context)

    await sender.block_actions(AlertId.RETRY_NOW, message=ts, user_id=SAM)

    await listeners_done()
    assert replies_to(recorder, SAM)
    answer, = replies_to(recorder, SAM)
    assert answer.startswith("Cannot retry yet: the connectors could not be built (SecretDecryptionError)"), answer
    assert await attempts(context) == before


async def test_sync_says_why_when_the_engine_cannot_be_built(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                             failing):  # noqa: F811
    recorder, _ = slack
    _, sender = await without_demo_engine(aiohttp_client, slack, tmp_path, database_url, failing)

    await sender.slash_command("sync", user_id=SAM)

    await listeners_done()
    assert len(replies_to(recorder, SAM)) == 2
    assert replies_to(recorder, SAM) == [
        "Syncing…", "Sync cannot run yet: the connectors could not be built (SecretDecryptionError)."]
