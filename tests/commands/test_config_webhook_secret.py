"""The marketplace webhook secret set from `/seats config`: a write-only field of the Odin and Ingram
connections; once saved, a notification signed with it is accepted by /webhooks/marketplace on the same app."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from bot.commands.config.views import config_field_block
from bot.connectors.change_notifications import SIGNATURE_HEADER
from bot.db.connections import load_connection
from tests.commands.test_config import (  # noqa: F401 - the slack and sandbox fixtures
    open_config,
    pick,
    sandbox,
    sent_bodies,
    slack,
    submit,
)
from tests.commands.test_seats_command import start_app
from web.webhooks import ROUTE

SECRET = "whsec-set-in-slack-5f0c2a"


async def notify(sender, secret: str, delivery: str) -> tuple[int, dict]:
    body = json.dumps({"deliveryId": delivery, "subscriptionId": "S-404"}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    reply = await sender._client.post(ROUTE, data=body, headers={"Content-Type": "application/json",
                                                                 SIGNATURE_HEADER: signature})
    return reply.status, await reply.json()


async def test_a_webhook_secret_saved_in_the_modal_makes_signed_notifications_accepted(
        aiohttp_client, slack, tmp_path, database_url, sandbox):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)
    modal = await pick(sender, recorder, "marketplace", "odin")
    field = next(b for b in modal["blocks"] if b.get("block_id") == config_field_block("odin", "webhook_secret"))
    assert field["label"]["text"] == "Webhook signing secret" and "initial_value" not in field["element"]
    before = await notify(sender, SECRET, "d-0")
    assert before[0] == 503  # the marketplace is not configured yet

    odin = sandbox.config()["odin"]
    saved = await submit(sender, recorder, {config_field_block("odin", "base_url"): odin["url"],
                                            config_field_block("odin", "username"): odin["username"],
                                            config_field_block("odin", "password"): odin["password"],
                                            config_field_block("odin", "webhook_secret"): SECRET})

    assert saved.json["response_action"] == "update", saved.json
    assert re.search(r"secrets replaced: [^.;\\]*webhook_secret", json.dumps(saved.json["view"]))
    assert await notify(sender, SECRET, "d-1") == (202, {"accepted": True, "sync": False, "note": (
        "SeatSync has not read this subscription yet; the next sync reads it")})
    assert (await notify(sender, "some-other-secret", "d-2"))[0] == 401

    # saved again with the field left empty: the stored secret is kept, and never shown
    modal = await open_config(sender, recorder)
    field = next(b for b in modal["blocks"] if b.get("block_id") == config_field_block("odin", "webhook_secret"))
    assert field["hint"]["text"] == "A value is stored; leave empty to keep it."
    await submit(sender, recorder, {config_field_block("odin", "reseller_account_id"): ""})
    async with context.sessions() as session:
        stored = await load_connection(session=session, box=context.box, system="odin")
    assert stored.secrets == {"webhook_secret": SECRET, "username": odin["username"], "password": odin["password"]}
    assert (await notify(sender, SECRET, "d-3"))[0] == 202
    assert SECRET not in sent_bodies(recorder)


async def test_ingram_offers_the_webhook_secret_too(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)

    modal = await pick(sender, recorder, "marketplace", "ingram")

    field = next(b for b in modal["blocks"] if b.get("block_id") == config_field_block("ingram", "webhook_secret"))
    assert field["optional"] is True and field["element"]["type"] == "plain_text_input"
