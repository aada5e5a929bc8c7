"""Claims on intents: one intent is sent to the PSA by one process at a time.

Whatever starts a post (the scheduler's cycle or outbox pass, a marketplace webhook, Slack, `seatsync sync --once`,
the link-time reconciliation, an approval), it goes through `bot.sync.posting`, which claims the intent first:
- a claim names its owner (this process's instance id) and expires `ttl` after it was taken or last renewed;
- taking a claim is one conditional UPDATE on the status and attempt count the poster read, and on the claim
  being free (the intent not `posting`) or expired, so of two processes racing only one wins — a live claim is
  never taken over, and an expired one is taken over only by a poster that then reads the PSA before writing;
- the owner and the attempt number it set are the fencing token: right before each PSA write the claim is
  renewed with a conditional UPDATE on that token and the write is abandoned if the renewal fails (the claim
  expired and someone else took it); the write is then bounded to half the ttl, so a claim never expires under a
  write still in flight;
- settling (posted, failed, superseded) is conditional on the token too, and releases the claim.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Adjustment, AdjustmentStatus

DEFAULT_LEASE_TTL = timedelta(seconds=60)  # the scheduler lease (SEATSYNC_LEASE_SECONDS)


def claim_ttl_within(lease_ttl: timedelta) -> timedelta:
    """Claims live three quarters of the scheduler lease, which is renewed every quarter of it: when another
    instance takes the lease over from a dead leader, every claim the dead one took has expired, and the new
    leader's first outbox pass takes them over (bot.sync.scheduler runs it at once)."""
    return lease_ttl * 3 / 4


DEFAULT_CLAIM_TTL = claim_ttl_within(DEFAULT_LEASE_TTL)

_instance_id: str | None = None


def process_instance_id() -> str:
    """This process's id as an owner of claims, sync runs and the scheduler lease: host, pid and a random part
    (a pid is reused after a restart; the random part is not)."""
    global _instance_id
    if _instance_id is None:
        _instance_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _instance_id


@dataclass(frozen=True)
class Claim:
    adjustment_id: int
    owner: str
    attempt: int  # the attempt count this claim set: with the owner, the fencing token
    ttl: timedelta

    @property
    def write_deadline(self) -> float:
        """Seconds a PSA write may take after the claim was renewed: half the ttl, so the claim outlives it."""
        return self.ttl.total_seconds() / 2


def claim_free_or_expired(now: datetime):
    """SQL: nobody holds a live claim on the intent (a NULL expiry is a claim from before claims expired)."""
    return ((Adjustment.status != AdjustmentStatus.posting) | Adjustment.claim_expires_at.is_(None)
            | (Adjustment.claim_expires_at < now))


def claim_is_live(adjustment: Adjustment, now: datetime) -> bool:
    return (adjustment.status is AdjustmentStatus.posting and adjustment.claim_expires_at is not None
            and adjustment.claim_expires_at >= now)


async def take_claim(session: AsyncSession, adjustment: Adjustment, *, owner: str, now: datetime,
                     ttl: timedelta) -> Claim | None:
    """Claim the intent as read (its status and attempts), or None when another poster changed it meanwhile or
    holds a live claim. The caller commits."""
    attempt = adjustment.attempts + 1
    taken = await session.execute(
        update(Adjustment)
        .where(Adjustment.id == adjustment.id, Adjustment.status == adjustment.status,
               Adjustment.attempts == adjustment.attempts, claim_free_or_expired(now))
        .values(status=AdjustmentStatus.posting, attempts=attempt, claimed_by=owner, claim_expires_at=now + ttl,
                updated_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return None
    adjustment.status, adjustment.attempts = AdjustmentStatus.posting, attempt
    adjustment.claimed_by, adjustment.claim_expires_at = owner, now + ttl
    return Claim(adjustment_id=adjustment.id, owner=owner, attempt=attempt, ttl=ttl)


def held(claim: Claim):
    """SQL: the intent is still under this very claim."""
    return ((Adjustment.id == claim.adjustment_id) & (Adjustment.status == AdjustmentStatus.posting)
            & (Adjustment.claimed_by == claim.owner) & (Adjustment.attempts == claim.attempt))


async def renew_claim(session: AsyncSession, claim: Claim, *, now: datetime) -> bool:
    """The fence before a PSA write: extend the claim if it is still this one, and commit. False: it was taken
    over (it had expired), so nothing may be written under it."""
    renewed = await session.execute(
        update(Adjustment).where(held(claim)).values(claim_expires_at=now + claim.ttl)
        .execution_options(synchronize_session=False))
    await session.commit()
    return renewed.rowcount == 1


async def settle_claim(session: AsyncSession, claim: Claim, values: dict) -> bool:
    """Write the intent's outcome and release the claim, if the claim is still this one. The caller commits."""
    settled = await session.execute(
        update(Adjustment).where(held(claim)).values(**values, claim_expires_at=None)
        .execution_options(synchronize_session=False))
    return settled.rowcount == 1
