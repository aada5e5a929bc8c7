"""`seatsync serve`: migrate, then run the aiohttp application until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from bot.app_factory import create_context
from bot.config import Settings
from bot.connectors.vendor_loop import VENDOR_LOOP
from bot.db.migrate import upgrade
from web.app import create_app

log = logging.getLogger("seatsync")
# the longest the vendors' thread (bot.connectors.vendor_loop) keeps the GIL while the serving loop waits for it;
# Python's default is 5 ms (bench/vendor_loop_gil.py, bench/README.md: a timer on the serving loop fires about twice
# as soon in the median while the vendor loop parses)
GIL_SWITCH_INTERVAL_S = 0.001


def serve(settings: Settings) -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    async def build() -> web.Application:
        context = create_context(settings)
        await upgrade(context.engine)
        if not settings.slack_enabled:
            log.warning("Slack is not configured (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN): "
                        "/slack/events answers 503 until it is")
        log.info("SeatSync listening on http://%s:%s (health: /healthz)", settings.host, settings.port)
        app = create_app(context)
        # after the cleanup contexts (scheduler, queue worker, engines closed): what still runs on the vendors' loop
        # is cancelled there and the thread ends
        app.on_cleanup.append(lambda _: VENDOR_LOOP.stop())
        return app

    # run_app installs SIGINT/SIGTERM handlers and runs the cleanup contexts on the way out.
    web.run_app(build(), host=settings.host, port=settings.port, print=None, access_log=None,
                shutdown_timeout=10)
