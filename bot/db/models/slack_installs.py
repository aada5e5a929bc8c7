"""Slack's installations of the app (multi-workspace mode): the tables of slack_sdk's SQLAlchemy stores.

Their columns are slack_sdk's own (`build_*_table`), so its stores read and write them unchanged, with one change:
the token columns are Text, because SeatSync stores them encrypted (`bot.slack.installations`), longer than the
plain tokens slack_sdk sized them for. They are global, not per tenant: they are how a request finds its tenant.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Table, Text

from bot.db.models.base import Base

TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _tokens_as_text(table: Table) -> Table:
    for column in table.columns:
        if column.name in TOKEN_COLUMNS:
            column.type = Text()
    return table


SLACK_INSTALLATIONS = _tokens_as_text(
    SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations"))
SLACK_BOTS = _tokens_as_text(SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots"))
SLACK_OAUTH_STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")
