"""Storing a large read gives the event loop back as it goes: another task (a Slack ack, say) gets a turn at least
every `EVERY` rows, never only after thousands of ORM objects were built and flushed in one stretch. Checked by
what that task sees at its turns (the rows still waiting in the session), not by a timing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.sync.psa_cache import apply_psa_records
from bot.sync.snapshot import apply_marketplace_snapshot
from bot.sync.turns import EVERY
from tests.sync.generated_reads import marketplace_read, psa_read

ROWS = 5 * EVERY
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


async def most_rows_waiting_at_a_turn(session, storing) -> int:
    """Run `storing` while another task notes, at each of its turns, how many rows the session holds unsent."""
    seen: list[int] = []
    task = asyncio.ensure_future(storing)
    while not task.done():
        seen.append(len(session.sync_session.new))
        await asyncio.sleep(0)
    await task
    return max(seen)


async def test_a_large_marketplace_read_is_stored_in_turns(session):
    waiting = await most_rows_waiting_at_a_turn(session, apply_marketplace_snapshot(
        session=session, marketplace="odin", snapshot=marketplace_read(ROWS), now=NOW))
    assert waiting <= EVERY, waiting


async def test_a_large_psa_read_is_stored_in_turns(session):
    waiting = await most_rows_waiting_at_a_turn(session, apply_psa_records(
        session=session, psa="autotask", now=NOW, complete=True, **psa_read(ROWS)))
    assert waiting <= EVERY, waiting
