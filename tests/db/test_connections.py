import logging

import pytest
from sqlalchemy import text

from bot.db.audit import audit_events_for
from bot.db.connections import load_connection, save_connection
from bot.keys import SecretBox, SecretDecryptionError
from bot.log_redaction import RedactingFilter, redact
from tests.conftest import TEST_SECRET_KEY

AUTOTASK_SECRET = "Sup3r-S3cret-Autotask-Value!"


async def test_secrets_are_ciphertext_at_rest_and_round_trip(session):
    box = SecretBox(TEST_SECRET_KEY)
    await save_connection(session=session, box=box, system="autotask", base_url="https://webservices5.example.com",
                          options={"username": "api@msp.example.com"},
                          secrets={"secret": AUTOTASK_SECRET, "integration_code": "ABCDEFGHIJKLMNOPQRSTUVWXYZ1"},
                          actor="U1")
    await session.commit()
    raw = (await session.execute(text("SELECT secrets_ciphertext, options FROM connection_settings"))).one()
    assert AUTOTASK_SECRET not in raw[0] and "ABCDEFGHIJKLMNOPQRSTUVWXYZ1" not in raw[0]
    assert AUTOTASK_SECRET not in str(raw[1])
    connection = await load_connection(session=session, box=box, system="autotask")
    assert connection.secrets["secret"] == AUTOTASK_SECRET
    assert AUTOTASK_SECRET not in repr(connection)
    events = await audit_events_for(session=session, subject_type="connection", subject_id="autotask")
    assert AUTOTASK_SECRET not in str([(e.before, e.after) for e in events])


async def test_saving_without_secrets_keeps_the_stored_ones(session):
    box = SecretBox(TEST_SECRET_KEY)
    await save_connection(session=session, box=box, system="connectwise", base_url="https://a", options={},
                          secrets={"private_key": "pk-1234567"}, actor="U1")
    await save_connection(session=session, box=box, system="connectwise", base_url="https://b", options={},
                          secrets=None, actor="U1")
    connection = await load_connection(session=session, box=box, system="connectwise")
    assert (connection.base_url, connection.secrets) == ("https://b", {"private_key": "pk-1234567"})


async def test_other_key_cannot_decrypt(session):
    await save_connection(session=session, box=SecretBox(TEST_SECRET_KEY), system="ingram", base_url="https://a",
                          options={}, secrets={"password": "pw-123456"}, actor="U1")
    with pytest.raises(SecretDecryptionError, match="SEATSYNC_SECRET_KEY differs"):
        await load_connection(session=session, box=SecretBox("another-key-" + "x" * 40), system="ingram")


async def test_secrets_never_reach_the_logs(session, caplog):
    box = SecretBox(TEST_SECRET_KEY)
    await save_connection(session=session, box=box, system="autotask", base_url="https://x", options={},
                          secrets={"secret": AUTOTASK_SECRET}, actor="U1")
    logger = logging.getLogger("seatsync.test")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("Autotask said: bad secret %s", AUTOTASK_SECRET)
        logger.info("header Authorization: Bearer eyJhbGciOi.payload.sig and token xoxb-1234-abcdef")
        try:
            raise RuntimeError(f"login failed for {AUTOTASK_SECRET}")
        except RuntimeError:
            logger.exception("connector failed")
    assert AUTOTASK_SECRET not in caplog.text
    assert "eyJhbGciOi" not in caplog.text and "xoxb-1234" not in caplog.text
    assert "***" in caplog.text


def test_redact_patterns():
    assert redact('{"password": "abc123", "user": "bob"}') == '{"password": "***", "user": "bob"}'
    assert redact("Basic dXNlcjpwYXNz") == "Basic ***"
