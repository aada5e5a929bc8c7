from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.db.lease import release_lease, try_acquire_lease
from bot.sync.scheduler import Job, LeaderScheduler

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)


async def test_only_one_holder_until_expiry(engine):
    assert await try_acquire_lease(engine=engine, name="s", holder="a", ttl=TTL, now=T0)
    assert not await try_acquire_lease(engine=engine, name="s", holder="b", ttl=TTL, now=T0 + timedelta(seconds=30))
    assert await try_acquire_lease(engine=engine, name="s", holder="a", ttl=TTL, now=T0 + timedelta(seconds=50))
    # a renewed at +50 s, so b still waits at +100 s, and takes over once a's lease has run out
    assert not await try_acquire_lease(engine=engine, name="s", holder="b", ttl=TTL, now=T0 + timedelta(seconds=100))
    assert await try_acquire_lease(engine=engine, name="s", holder="b", ttl=TTL, now=T0 + timedelta(seconds=111))
    assert not await try_acquire_lease(engine=engine, name="s", holder="a", ttl=TTL, now=T0 + timedelta(seconds=112))


async def test_release_hands_over_at_once(engine):
    assert await try_acquire_lease(engine=engine, name="s", holder="a", ttl=TTL, now=T0)
    await release_lease(engine=engine, name="s", holder="b")  # not b's to release
    assert not await try_acquire_lease(engine=engine, name="s", holder="b", ttl=TTL, now=T0)
    await release_lease(engine=engine, name="s", holder="a")
    assert await try_acquire_lease(engine=engine, name="s", holder="b", ttl=TTL, now=T0)


async def test_two_schedulers_run_a_job_once(engine):
    now = [T0]
    runs: list[str] = []

    def scheduler(name: str) -> LeaderScheduler:
        async def job() -> None:
            runs.append(name)

        return LeaderScheduler(engine, holder=name, ttl=TTL, clock=lambda: now[0],
                               jobs=[Job(id="sync", trigger=IntervalTrigger(minutes=5), run=job)])

    a, b = scheduler("a"), scheduler("b")
    assert await a.renew() and not await b.renew()
    assert await a.run_job_now("sync") and not await b.run_job_now("sync")
    assert runs == ["a"]
    now[0] = T0 + timedelta(seconds=61)  # a stalls: its lease lapses, and it stops at once
    assert not a.is_leader and not await a.run_job_now("sync")
    assert await b.renew() and await b.run_job_now("sync")
    assert not await a.renew()
    assert runs == ["a", "b"]


async def test_one_holders_concurrent_first_calls_both_hold(engine):
    import asyncio

    results = await asyncio.gather(*(try_acquire_lease(engine=engine, name="s", holder="a", ttl=TTL, now=T0)
                                     for _ in range(4)))
    assert results == [True] * 4
    assert not await try_acquire_lease(engine=engine, name="s", holder="b", ttl=TTL, now=T0)


async def test_a_new_leader_runs_the_takeover_jobs_at_once(engine):
    """When the leader dies, the instance taking the lease over runs the outbox pass at once (not at its next
    minute): the posts the dead leader held are taken over within the lease time."""
    import asyncio

    now = [T0]
    ran: list[str] = []

    def job(name: str, on_takeover: bool) -> Job:
        async def run() -> None:
            ran.append(name)

        return Job(id=name, trigger=IntervalTrigger(hours=1), run=run, on_takeover=on_takeover)

    assert await try_acquire_lease(engine=engine, name="scheduler", holder="dead", ttl=TTL, now=T0)
    survivor = LeaderScheduler(engine, holder="survivor", ttl=TTL, renew_every=timedelta(hours=1),
                               clock=lambda: now[0], jobs=[job("outbox-retry", True), job("sync-poll", False)])
    survivor.start()
    try:
        await asyncio.sleep(0.2)
        assert not survivor.is_leader and ran == []
        now[0] = T0 + TTL + timedelta(seconds=1)
        assert await survivor.renew()
        for _ in range(50):
            if ran:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        assert ran == ["outbox-retry"]
        assert await survivor.renew() and ran == ["outbox-retry"]  # renewing is not taking over
    finally:
        await survivor.shutdown()


async def test_each_job_is_told_when_this_instance_becomes_the_leader(engine):
    now = [T0]
    told: list[str] = []

    async def run() -> None:
        pass

    scheduler = LeaderScheduler(engine, holder="a", ttl=TTL, clock=lambda: now[0],
                                jobs=[Job(id="minutes", trigger=IntervalTrigger(minutes=1), run=run,
                                          on_lead=lambda: told.append("lead"))])
    assert await scheduler.renew() and told == ["lead"]
    assert await scheduler.renew() and told == ["lead"]  # renewing is not taking over
    assert await try_acquire_lease(engine=engine, name="scheduler", holder="b", ttl=TTL, now=T0 + TTL * 2)
    now[0] = T0 + TTL * 2
    assert not await scheduler.renew()
    now[0] = T0 + TTL * 4  # b's lease lapsed
    assert await scheduler.renew() and told == ["lead", "lead"]
