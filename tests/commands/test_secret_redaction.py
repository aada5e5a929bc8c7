"""Secrets of any length stay out of the log: a 2- or 3-character secret typed into `/seats config` before
*Test connection* is masked where it is carried (Slack's echo of the modal's state in slack_sdk's DEBUG log),
without masking the same letters everywhere else."""

from __future__ import annotations

from bot.log_redaction import redact, register_secret
from tests.commands import test_config as config_harness
from tests.commands.test_config import logs, sandbox  # noqa: F401 - the fixtures
from tests.commands.test_seats_command import slack, start_app  # noqa: F401 - the fixture


async def test_short_secrets_typed_before_test_connection_are_not_logged(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                          database_url, sandbox, logs):  # noqa: F811
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await config_harness.open_config(sender, recorder)
    await config_harness.pick(sender, recorder, "psa", "autotask")
    code, secret = "ǂ€", "Zq§"  # 2 and 3 characters, found nowhere else in the log

    shown = await config_harness.press_test(sender, recorder, "psa", "autotask", config_harness.autotask_values(
        sandbox, integration_code=code, secret=secret))

    assert shown.startswith(":x:")  # the test ran with them (and failed: they are not the right ones)
    debug_lines = [r.getMessage() for r in logs.records if r.name.startswith("slack_sdk")]
    assert any("'value': '***'" in line for line in debug_lines)  # the echo of the typed state was logged, masked
    for value in (code, secret):
        assert value not in logs.text
        assert value not in config_harness.sent_bodies(recorder)


def test_a_short_secret_is_masked_as_a_value_not_as_letters():
    register_secret("ab")

    line = redact("""about a table: {'value': 'ab'}, {"value": "ab"}, form=ab&x=1, 'abc', password=ab""")

    assert line == """about a table: {'value': '***'}, {"value": "***"}, form=ab&x=1, 'abc', password=***"""


def test_a_secret_is_masked_in_its_escaped_forms_too():
    register_secret("pässwörd-1")
    register_secret("é\"")

    assert redact('{"secret_value": "p\\u00e4ssw\\u00f6rd-1"} and pässwörd-1') == '{"secret_value": "***"} and ***'
    assert redact('{"v": "\\u00e9\\""} {\'v\': \'é"\'}') == '{"v": "***"} {\'v\': \'***\'}'
