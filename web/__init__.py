"""The aiohttp application: it mounts routes (Slack's endpoint, health, metrics, webhooks, signed report files)
over the application context (`bot.app_context`), which it finds under `CONTEXT`."""

from aiohttp import web

from bot.app_context import AppContext

CONTEXT = web.AppKey("seatsync_context", AppContext)
