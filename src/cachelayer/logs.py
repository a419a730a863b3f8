"""Warnings that an outage cannot turn into a flood."""

from __future__ import annotations

import logging
import time


class RateLimitedLogger:
    """At most one warning per kind per interval; the next one says how many were held back."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        if held:
            message += " (%d similar warnings held back)"
            args = (*args, held)
        self.logger.warning(message, *args)
