"""The Pax8 simulator: Pax8's partner API, token call and webhooks, over the MSP's Pax8 book.

Sources: shared/apis/pax8.md (and invoices.md) with Pax8's own OpenAPI documents (tests/specs/pax8-*.json).
Modules: `book` (the data), `catalogue`, `spelling`, `book_seed` and `psa_billing` (generation),
`days` (a day passes), `invoices` and `usage` (computed from the history), `views` (the API's shapes),
`errors`, `paging`, `auth`, `limits`, `routes` (partner API), `webhooks` (webhooks API), `deliveries`,
`state` (the simulator's own state and knobs) and `app` (the aiohttp app and admin routes).
"""

from bot.sandbox.pax8.app import announce_day, create_pax8_app, pax8_admin_routes
from bot.sandbox.pax8.errors import pax8_error
from bot.sandbox.pax8.state import Pax8Simulator

__all__ = ["Pax8Simulator", "announce_day", "create_pax8_app", "pax8_admin_routes", "pax8_error"]
