"""Where Slack's installations are kept (multi-workspace mode): slack_sdk's SQLAlchemy stores on SeatSync's database,
the tokens encrypted at rest.

`EncryptedInstallationStore` is slack_sdk's `AsyncSQLAlchemyInstallationStore` on the tables of revision 0010
(`bot.db.models.slack_installs`), sealing every token (bot, refresh, user) with the install's secret box before a row
is written and opening it when a row is read; Bolt's authorization, its token rotation and its uninstall listeners
go through it unchanged. A sealed value starts with `SEALED`, which no Slack token does, so a value is sealed once
even when slack_sdk saves an installation's bot through `async_save_bot` again. Each token opened is registered
with the log redaction, so no log line carries it.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models.slack_installs import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES, TOKEN_COLUMNS
from bot.keys import SecretBox
from bot.log_redaction import register_secret

SEALED = "sealed:"
OAUTH_STATE_SECONDS = 600  # slack_sdk's default: the install must be finished within ten minutes

Record = TypeVar("Record", Installation, Bot)


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    def __init__(self, *, client_id: str, engine: AsyncEngine, box: SecretBox) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self._box = box

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return SLACK_INSTALLATIONS

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return SLACK_BOTS

    async def async_save(self, installation: Installation) -> None:
        """Save an install; the workspace's earlier installs (slack_sdk appends one row per install) are deleted,
        so a reinstall leaves one set of tokens, not a history of them."""
        await super().async_save(self._sealed(installation))
        installed_at = normalize_datetime_for_db(installation.to_dict()["installed_at"])
        async with self.engine.begin() as connection:
            for table in (self.installations, self.bots):
                await connection.execute(table.delete().where(
                    table.c.client_id == self.client_id, table.c.enterprise_id == installation.enterprise_id,
                    table.c.team_id == installation.team_id, table.c.installed_at < installed_at))

    async def async_save_bot(self, bot: Bot) -> None:
        await super().async_save_bot(self._sealed(bot))

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        found = await super().async_find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                             is_enterprise_install=is_enterprise_install)
        return self._opened(found) if found is not None else None

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None, is_enterprise_install: bool | None = False
                                      ) -> Installation | None:
        found = await super().async_find_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                                                      is_enterprise_install=is_enterprise_install)
        return self._opened(found) if found is not None else None

    def _sealed(self, record: Record) -> Record:
        sealed = copy.copy(record)
        for name in TOKEN_COLUMNS:
            value = getattr(sealed, name, None)
            if value and not value.startswith(SEALED):
                setattr(sealed, name, SEALED + self._box.encrypt({"token": value}))
        return sealed

    def _opened(self, record: Record) -> Record:
        for name in TOKEN_COLUMNS:
            value = getattr(record, name, None)
            if value and value.startswith(SEALED):
                token = self._box.decrypt(value.removeprefix(SEALED))["token"]
                register_secret(token)
                setattr(record, name, token)
        return record


class OAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's state store on the table of revision 0010 (a state is single use and lives ten minutes)."""

    def __init__(self, *, engine: AsyncEngine) -> None:
        super().__init__(expiration_seconds=OAUTH_STATE_SECONDS, engine=engine)

    @classmethod
    def build_oauth_states_table(cls, metadata: MetaData, table_name: str) -> Table:
        return SLACK_OAUTH_STATES
