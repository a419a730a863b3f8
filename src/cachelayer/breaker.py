"""A circuit breaker in front of the backend, with a background probe to close it.

Closed: calls go through; `threshold` consecutive failures open it. Open: calls are
skipped at once (a request pays nothing for a dead Redis) and one background task
probes the backend with backoff min(attempt * 50 ms, 2 s). When a probe answers, the
recovery hooks run (the owner reconciles what it could not invalidate) and only if they
succeed does the breaker close: no read is served from the backend before that.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger("cachelayer")

RecoveryHook = Callable[[], Awaitable[None]]
Probe = Callable[[], Awaitable[None]]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"


def reconnect_delay(attempt: int) -> float:
    """The original service's reconnect backoff: min(attempt * 50 ms, 2 s)."""
    return min(attempt * 0.05, 2.0)


class CircuitBreaker:
    def __init__(
        self,
        probe: Probe,
        *,
        threshold: int = 3,
        probe_timeout: float = 0.5,
        delay: Callable[[int], float] = reconnect_delay,
    ) -> None:
        self._probe = probe
        self.threshold = threshold
        self.probe_timeout = probe_timeout
        self._delay = delay
        self._failures = 0
        # The state, as a plain attribute: it is read on every cache call, and an enum
        # member's lookup (BreakerState.CLOSED) costs several times a bool's.
        self.is_closed = True
        self._hooks: list[RecoveryHook] = []
        self._task: asyncio.Task[None] | None = None
        self._recovering = asyncio.Lock()
        # Counts every request to be open, even while open: a failure during the recovery
        # hooks (e.g. an invalidation that could not be delivered) must keep it open.
        self._open_requests = 0
        self.opened_at: float | None = None
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        return BreakerState.CLOSED if self.is_closed else BreakerState.OPEN

    def add_recovery_hook(self, hook: RecoveryHook) -> None:
        self._hooks.append(hook)

    def record_success(self) -> None:
        self._failures = 0

    def record_failure(self) -> None:
        self._failures += 1
        if self._failures >= self.threshold:
            self.open()

    def open(self, *, quiet: bool = False, probe: bool = True) -> None:
        """Stop using the backend until a probe and the recovery hooks succeed.

        With probe=False the caller runs `try_recover` itself (and opens again on failure).
        """
        self._open_requests += 1
        if self.is_closed:
            self.is_closed = False
            self.opened_at = time.monotonic()
            self.times_opened += 1
            if not quiet:
                logger.warning("Cache breaker open: skipping the backend until it answers")
        if probe and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._recover())

    async def try_recover(self) -> bool:
        """One probe, then the recovery hooks; closes the breaker if all succeed."""
        async with self._recovering:
            if self.is_closed:
                return True
            requests_before = self._open_requests
            try:
                async with asyncio.timeout(self.probe_timeout):
                    await self._probe()
                for hook in self._hooks:
                    await hook()
            except Exception as exc:  # any failure: stay open, the probe loop retries
                logger.debug("Cache recovery failed: %r", exc)
                return False
            if self._open_requests != requests_before:
                return False  # something failed meanwhile: run the hooks again first
            self._failures = 0
            self.is_closed = True
            self.opened_at = None
            return True

    async def _recover(self) -> None:
        attempt = 0
        while not self.is_closed:
            attempt += 1
            await asyncio.sleep(self._delay(attempt))
            if not self.is_closed and await self.try_recover():
                logger.warning("Cache breaker closed after %d probe(s): backend in use", attempt)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
