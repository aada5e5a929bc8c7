"""The Bolt AsyncApp factory: one app per process, built from settings, with no import-time state."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

BOLT_LOGGER = "slack_bolt.AsyncApp"
APP_NAME = "seatsync"  # Bolt's listener loggers are named after it


class TokenFromClientFilter(logging.Filter):
    """Bolt warns that its own SLACK_BOT_TOKEN lookup is unused when a client is given; that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def quiet_token_from_client_warning() -> None:
    """Install the filter once on Bolt's logger (done by `create_bolt_app`, before Bolt can warn)."""
    logger = logging.getLogger(BOLT_LOGGER)
    if not any(isinstance(existing, TokenFromClientFilter) for existing in logger.filters):
        logger.addFilter(TokenFromClientFilter())


def create_slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: pointed at settings.slack_api_url, retrying 429 (Retry-After), 5xx, resets."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_bolt_app(settings: Settings, client: AsyncWebClient | None = None,
                    oauth: AsyncOAuthSettings | None = None) -> AsyncApp:
    """Bolt in HTTP mode (signature verification on) or Socket Mode when an app token is set; with `oauth`
    (multi-workspace mode), installed through Slack's OAuth flow and authorized per request from its store."""
    quiet_token_from_client_warning()
    return AsyncApp(
        name=APP_NAME,  # unnamed, Bolt names it after its caller's file through inspect.stack(), ~0.1 s of CPU
        client=client or create_slack_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        oauth_settings=oauth,
    )
