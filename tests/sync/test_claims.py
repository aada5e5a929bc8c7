"""One intent is sent by one process at a time: a claim has an owner and an expiry, a live claim is never taken
over (whatever starts the post), an expired one only after reading the PSA. Real simulators over HTTP, real
connectors, real SQL; a second process is a second engine with its own instance id over the same database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from bot.clock import OffsetClock
from bot.db.models import Adjustment, AdjustmentStatus
from bot.sync.engine import SyncEngine
from bot.sync.posting import post_due_adjustments
from tests.sync.engine_setup import adjustments, pending_intent


class CountingPsa:
    """The real PSA connector, counting the writes sent through it; `before_post` runs once, just before the
    first write is sent (the poster holds its claim then)."""

    def __init__(self, psa, before_post=None) -> None:
        self._psa, self._before_post = psa, before_post
        self.posts = 0

    def __getattr__(self, name):
        return getattr(self._psa, name)

    async def post_adjustment(self, request):
        if self._before_post is not None:
            hook, self._before_post = self._before_post, None
            await hook()
        self.posts += 1
        return await self._psa.post_adjustment(request)


def second_process(workspace, instance_id: str = "other-process", clock=None) -> SyncEngine:
    """Another SeatSync process over the same database and simulators (its own engine, lock and instance id)."""
    engine = workspace.engine
    return SyncEngine(sessions=workspace.sessions, marketplace=engine.marketplace, psa=engine.psa,
                      clock=clock or engine.clock, timezone=engine.timezone, instance_id=instance_id)


async def test_a_live_claim_is_never_taken_over_by_another_poster(workspace):
    """A duplicate once found: two posters over one database. While the first holds its claim (between the claim
    and its PSA write), a second pass must leave the intent alone; before claims had an owner and an expiry, an
    intent in `posting` was always due and the second pass claimed and posted it too."""
    line, _ = await pending_intent(workspace, 12, 10)
    engine = workspace.engine
    other: list = []

    async def other_poster_runs() -> None:
        other.append(await post_due_adjustments(sessions=workspace.sessions, psa=engine.psa, clock=engine.clock,
                                                today=engine.today(), ignore_backoff=True))

    psa = CountingPsa(engine.psa, before_post=other_poster_runs)
    report = await post_due_adjustments(sessions=workspace.sessions, psa=psa, clock=engine.clock,
                                        today=engine.today(), ignore_backoff=True)

    assert other and other[0].changes == []  # it saw a live claim: nothing due
    assert report.posted == 1 and psa.posts == 1
    assert [(w.before, w.after) for w in line.writes()] == [(12, 10)] and line.psa_units == 10
    row, = await adjustments(workspace)
    assert (row.status, row.attempts) == (AdjustmentStatus.posted, 1)


async def test_no_entry_point_takes_over_a_live_claim_of_another_process(workspace):
    """Scheduler cycle, outbox pass (retry job, Slack retry, approvals), webhook sync and link-time reconciliation
    all go through one claim; none of them sends an intent another live process holds."""
    line, link_id = await pending_intent(workspace, 5, 9)
    owner = second_process(workspace, "process-holding-the-claim")
    async with workspace.sessions() as session:  # the other process claimed it a moment ago and is posting
        row = (await session.scalars(select(Adjustment))).one()
        await session.execute(update(Adjustment).where(Adjustment.id == row.id).values(
            status=AdjustmentStatus.posting, attempts=1, claimed_by=owner.instance_id,
            claim_expires_at=owner.clock() + owner.claim_ttl))
        await session.commit()
    marketplace, _ = workspace.names
    world = workspace.sandbox.world
    subscription = world.subscriptions[line.subscription_id]
    engine = workspace.engine

    await engine.run_cycle(trigger="schedule", ignore_backoff=True)
    await engine.post_outbox(ignore_backoff=True)
    await engine.post_outbox(only_ids=[row.id])
    await engine.sync_subscription(str(subscription.subscription_id) if marketplace == "odin" else subscription.cmp_id)
    await engine.reconcile_links(link_ids=[link_id], actor="U1")

    assert line.writes() == [] and line.psa_units == 5
    row, = await adjustments(workspace)
    assert (row.status, row.attempts, row.claimed_by) == (AdjustmentStatus.posting, 1, "process-holding-the-claim")


async def test_an_expired_claim_is_taken_over_after_reading_the_psa(workspace):
    """The process that held the claim died after its write landed: the claim expires, and the next poster
    finds the change in the PSA (the key, the units) instead of sending it again."""
    line, _ = await pending_intent(workspace, 3, 7)
    engine = workspace.engine
    dead = second_process(workspace, "dead-process")
    dead_psa = CountingPsa(engine.psa)

    class Killed(BaseException):
        pass

    async def killed_after_the_write(request):
        await engine.psa.post_adjustment(request)
        raise Killed  # SIGKILL between the PSA's reply and the settle

    dead_psa.post_adjustment = killed_after_the_write
    try:
        await post_due_adjustments(sessions=workspace.sessions, psa=dead_psa, clock=dead.clock,
                                   today=dead.today(), ignore_backoff=True, owner=dead.instance_id,
                                   claim_ttl=dead.claim_ttl)
    except Killed:
        pass
    assert line.psa_units == 7
    psa = CountingPsa(engine.psa)
    still_live = await post_due_adjustments(sessions=workspace.sessions, psa=psa, clock=engine.clock,
                                            today=engine.today(), ignore_backoff=True)
    assert still_live.changes == [] and psa.posts == 0  # the claim is still live: nobody may take it

    later = OffsetClock(engine.clock, engine.claim_ttl + timedelta(seconds=1))
    report = await post_due_adjustments(sessions=workspace.sessions, psa=psa, clock=later, today=engine.today(),
                                        ignore_backoff=True)

    assert report.confirmed == 1 and report.posted == 0 and psa.posts == 0
    assert [(w.before, w.after) for w in line.writes()] == [(3, 7)]
    row, = await adjustments(workspace)
    assert (row.status, row.attempts, row.claimed_by) == (AdjustmentStatus.posted, 2, engine.instance_id)


async def test_a_poster_that_lost_its_claim_does_not_write(workspace):
    """Fencing: the claim is renewed right before the PSA write. A poster whose claim expired and was taken over
    while it was slow (a long read, a stalled process) finds out then, and sends nothing."""
    line, _ = await pending_intent(workspace, 6, 8)
    engine = workspace.engine
    async with workspace.sessions() as session:  # an earlier attempt's outcome is unknown: the poster reads first
        await session.execute(update(Adjustment).values(status=AdjustmentStatus.failed, attempts=1,
                                                        next_attempt_at=engine.clock()))
        await session.commit()
    taken: list = []

    class StallAfterReading:
        """The poster's read after its claim answers, then the process stalls past its claim's expiry, during
        which another process takes the claim over and posts."""

        def __init__(self, psa) -> None:
            self._psa, self.reads = psa, 0

        def __getattr__(self, name):
            return getattr(self._psa, name)

        async def read_units(self, ids):
            self.reads += 1
            units = await self._psa.read_units(ids)
            if self.reads == 2:  # the first read is the pass's, before any claim
                later = OffsetClock(engine.clock, engine.claim_ttl + timedelta(seconds=1))
                taken.append(await second_process(workspace, "taker", clock=later).post_outbox(ignore_backoff=True))
            return units

    psa = CountingPsa(StallAfterReading(engine.psa))
    report = await post_due_adjustments(sessions=workspace.sessions, psa=psa, clock=engine.clock,
                                        today=engine.today(), ignore_backoff=True)

    assert taken and taken[0].posted == 1
    assert report.posted == 0 and report.lost_claims == 1 and psa.posts == 0
    assert [(w.before, w.after) for w in line.writes()] == [(6, 8)]
    row, = await adjustments(workspace)
    assert (row.status, row.claimed_by) == (AdjustmentStatus.posted, "taker")


async def test_a_write_is_bounded_within_its_claim(workspace):
    """A write slower than half the claim's time is abandoned, its outcome unknown: the claim is released (it never
    expires under a write in flight) and the next attempt finds the change in the PSA instead of sending it again."""
    line, _ = await pending_intent(workspace, 4, 6)
    engine = workspace.engine

    class SlowReply:
        def __init__(self, psa) -> None:
            self._psa = psa

        def __getattr__(self, name):
            return getattr(self._psa, name)

        async def post_adjustment(self, request):
            result = await self._psa.post_adjustment(request)  # it lands...
            await asyncio.sleep(5)  # ...and the answer takes longer than the claim allows
            return result

    report = await post_due_adjustments(sessions=workspace.sessions, psa=SlowReply(engine.psa), clock=engine.clock,
                                        today=engine.today(), ignore_backoff=True,
                                        claim_ttl=timedelta(milliseconds=600))
    assert report.failed == 1 and line.psa_units == 6
    row, = await adjustments(workspace)
    assert (row.status, row.claim_expires_at) == (AdjustmentStatus.failed, None)
    assert "did not answer within 0.3 s" in row.last_error

    again = await engine.post_outbox(ignore_backoff=True)

    assert again.confirmed == 1 and again.posted == 0
    assert [(w.before, w.after) for w in line.writes()] == [(4, 6)]
