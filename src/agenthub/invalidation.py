"""Invalidations that survive a Redis outage and a restart: a transactional outbox.

A write stages its invalidation (the generation keys to delete) as a row in the same
database transaction as the change, commits, then delivers it to the cache and deletes
the row. If the cache cannot be reached, the row stays: the cache's breaker is open by
then, so nothing is read from Redis, and the breaker's recovery hook delivers every
pending row before the first read after Redis answers again. At start-up the same hook
runs, so a restart in between changes nothing. Other instances drain the outbox
periodically as well, which bounds how long an instance that never saw the outage can
serve an entry another instance failed to invalidate.

The in-process memory backend cannot fail to invalidate and does not outlive the
process, so with it nothing is staged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from agenthub.db import Base, utcnow
from cachelayer import Cache, MemoryBackend

logger = logging.getLogger("agenthub.cache")

_DRAIN_BATCH = 1000


class PendingInvalidation(Base):
    __tablename__ = "cache_invalidations"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    keys: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invalidator:
    def __init__(self, cache: Cache, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.cache = cache
        self.sessionmaker = sessionmaker
        self.durable = not isinstance(cache.backend, MemoryBackend)

    def stage(self, session: AsyncSession, keys: Sequence[str]) -> Staged:
        """Record the invalidation in the caller's transaction (commit follows)."""
        row = PendingInvalidation(keys=list(keys)) if self.durable and keys else None
        if row is not None:
            session.add(row)
        return Staged(tuple(keys), row)

    async def deliver(self, staged: Staged) -> None:
        """After the commit: invalidate, then forget the outbox row."""
        if not await self.cache.invalidate_generations(staged.keys):
            logger.warning("Cache invalidation kept in the outbox until the cache answers")
            return
        if staged.row is None:
            return
        try:
            async with self.sessionmaker() as session:
                await session.execute(
                    delete(PendingInvalidation).where(PendingInvalidation.id == staged.row.id)
                )
                await session.commit()
        except Exception:
            # The write is committed and invalidated: it must not answer 500. The row is
            # delivered again (harmlessly) and removed by the next drain.
            logger.warning(
                "Could not remove a delivered invalidation from the outbox", exc_info=True
            )

    async def drain(self) -> None:
        """Deliver every pending invalidation; raises if the cache cannot take them.

        This is the cache's recovery hook: nothing is read from Redis before it succeeds.
        """
        while True:
            async with self.sessionmaker() as session:
                rows = (
                    await session.scalars(
                        select(PendingInvalidation)
                        .order_by(PendingInvalidation.id)
                        .limit(_DRAIN_BATCH)
                    )
                ).all()
                if not rows:
                    return
                keys = sorted({key for row in rows for key in row.keys})
                if not await self.cache.invalidate_generations(keys):
                    raise RuntimeError("cache unreachable while delivering pending invalidations")
                ids = [row.id for row in rows]
                await session.execute(
                    delete(PendingInvalidation).where(PendingInvalidation.id.in_(ids))
                )
                await session.commit()
                logger.info("Delivered %d pending cache invalidation(s)", len(rows))

    async def drain_periodically(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if not self.cache.is_enabled():
                continue  # the breaker's recovery hook drains before it closes
            with contextlib.suppress(Exception):
                await self.drain()


class Staged:
    __slots__ = ("keys", "row")

    def __init__(self, keys: tuple[str, ...], row: PendingInvalidation | None) -> None:
        self.keys = keys
        self.row = row
