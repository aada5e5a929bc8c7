"""Bolt's OAuth install flow for multi-workspace mode: its settings on SeatSync's stores, and what an install does.

`/slack/install` sends a person to Slack's consent screen (`settings.slack_authorize_url`: Slack's own, or the
simulator's); `/slack/oauth_redirect` exchanges the code (`oauth.v2.access`), saves the installation, encrypted
(`bot.slack.installations`), then `on_installed` makes the workspace's tenant (or the enterprise's, for an org-wide
Grid install) before the person sees the success page. Every request is then authorized from the installation
store (Bolt's `AsyncInstallationStoreAuthorize`), and a bot token within `settings.token_rotation_minutes` of its
expiry is rotated first and saved, one rotation per workspace at a time (`bot.slack.token_rotation`), through the
app's Web API client, so the rotation goes where the Web API calls go. Bolt checks the state's cookie and its expiry
on the machine's clock, as it checks Slack's signatures.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.keys import SecretBox
from bot.slack.installations import EncryptedInstallationStore, OAuthStateStore
from bot.slack.token_rotation import SerializedTokenRotator

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

OnInstalled = Callable[[Installation], Awaitable[None]]


def oauth_settings(settings: Settings, *, engine: AsyncEngine, box: SecretBox, client: AsyncWebClient,
                   on_installed: OnInstalled) -> AsyncOAuthSettings:
    store = EncryptedInstallationStore(client_id=settings.slack_client_id or "", engine=engine, box=box)
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
        scopes=list(settings.slack_scopes), user_scopes=[],
        redirect_uri=settings.public_url + REDIRECT_PATH, install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.slack_authorize_url,
        installation_store=store, installation_store_bot_only=True,
        token_rotation_expiration_minutes=settings.token_rotation_minutes,
        state_store=OAuthStateStore(engine=engine),
        callback_options=AsyncCallbackOptions(success=_installed(on_installed), failure=_failed),
    )
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=log, installation_store=store, token_rotation_expiration_minutes=settings.token_rotation_minutes,
        bot_only=True, cache_enabled=True)  # auth.test once per token, not on every request
    oauth.authorize.token_rotator = SerializedTokenRotator(
        client_id=settings.slack_client_id or "", client_secret=settings.slack_client_secret or "", client=client,
        store=store, engine=engine)
    return oauth


def _installed(on_installed: OnInstalled) -> Callable[[AsyncSuccessArgs], Awaitable[BoltResponse]]:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        await on_installed(installation)
        log.info("SeatSync installed in %s (enterprise %s)", installation.team_id or "an organisation",
                 installation.enterprise_id or "none")
        return await args.default.success(args)

    return success


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("a Slack install did not complete: %s", args.reason)
    return await args.default.failure(args)
