"""The Bolt app factory: importing it changes no logging; building the app quiets Bolt's one intended warning."""

import importlib
import logging

import bot.slack.bolt_app as bolt_app
from bot.config import Settings

BOLT_LOGGER = logging.getLogger(bolt_app.BOLT_LOGGER)


def without_our_filter() -> None:
    for existing in list(BOLT_LOGGER.filters):
        if type(existing).__name__ == "TokenFromClientFilter":
            BOLT_LOGGER.removeFilter(existing)


def test_importing_the_factory_installs_no_logging_filter():
    without_our_filter()
    importlib.reload(bolt_app)
    assert not [f for f in BOLT_LOGGER.filters if type(f).__name__ == "TokenFromClientFilter"]


def test_building_the_app_quiets_bolts_token_warning_once(monkeypatch, caplog):
    without_our_filter()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")  # Bolt then warns that it goes unused
    settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret="secret")
    with caplog.at_level(logging.WARNING, logger=bolt_app.BOLT_LOGGER):
        bolt_app.create_bolt_app(settings)
        bolt_app.create_bolt_app(settings)
    assert "will be unused" not in caplog.text
    assert len([f for f in BOLT_LOGGER.filters if type(f).__name__ == "TokenFromClientFilter"]) == 1
