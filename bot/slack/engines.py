"""The sync engine a Slack action needs, or why there is none.

Building it can fail (stored secrets that no longer decrypt after a key change, a connector option it
refuses); that is answered like "not configured yet" to the person who clicked, never raised after the ack
where only the log would see it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.sync.engine import SyncEngine
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)


async def engine_or_reason(app_context: AppContext) -> SyncEngine | NotConfigured:
    try:
        return await (app_context.engine_source or app_context.engines.get)()
    except Exception as exc:
        log.exception("the sync engine could not be built")
        return NotConfigured(f"the connectors could not be built ({type(exc).__name__})")
