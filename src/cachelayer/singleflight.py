"""Coalescing concurrent loads of one key, so a cold stampede runs one load."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Run work once for all concurrent callers of key; returns (result, was_leader).

        Followers share the leader's result or exception; keys do not wait on each
        other. If the leader is cancelled (its client went away), a follower takes over.
        """
        while (flight := self._flights.get(key)) is not None:
            try:
                return await asyncio.shield(flight), False
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not flight.cancelled() or (current is not None and current.cancelling()):
                    raise  # this follower itself was cancelled
        return await self._lead(key, work), True

    async def _lead(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        flight: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await work()
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved here, so a load nobody waited for stays quiet
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            del self._flights[key]
