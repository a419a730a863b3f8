"""The in-process backend: the embedded default when no Redis is configured.

An LRU bounded in bytes (keys and values counted), with per-key expiry. It has the same
semantics as the Redis backend, so one contract test suite runs against both. It is
for one process: several workers each get their own and do not see each other's
invalidations.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

from cachelayer.backends.base import PreparedRead
from cachelayer.keys import glob_regex

# Rough per-entry bookkeeping cost, so that many tiny keys still count against the bound.
_ENTRY_OVERHEAD = 64


class MemoryBackend:
    name = "memory"
    reads_have_deadline = False  # they never wait; the Cache's deadline costs little here

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._used = 0
        self.evictions = 0

    @property
    def used_bytes(self) -> int:
        return self._used

    def __len__(self) -> int:
        return len(self._items)

    def _cost(self, key: str, value: bytes) -> int:
        return len(key) + len(value) + _ENTRY_OVERHEAD

    def _read(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at <= time.monotonic():
            self._remove(key)
            return None
        self._items.move_to_end(key)
        return value

    def _remove(self, key: str) -> bool:
        item = self._items.pop(key, None)
        if item is None:
            return False
        self._used -= self._cost(key, item[0])
        return True

    def _write(self, key: str, value: bytes, ttl_ms: int) -> None:
        cost = self._cost(key, value)
        self._remove(key)
        if cost > self.max_bytes:
            return  # larger than the whole cache: not worth evicting everything for
        while self._used + cost > self.max_bytes and self._items:
            oldest = next(iter(self._items))
            self._remove(oldest)
            self.evictions += 1
        self._items[key] = (value, time.monotonic() + ttl_ms / 1000)
        self._used += cost

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._read(key) for key in keys]

    def prepare_read(self, keys: Sequence[str]) -> tuple[str, ...]:
        return tuple(keys)

    async def read(self, prepared: PreparedRead) -> list[bytes | None]:
        return await self.get_many(cast(tuple[str, ...], prepared))

    def prepare_head_read(
        self, key: str, size: int, keys: Sequence[str]
    ) -> tuple[str, int, tuple[str, ...]]:
        return key, size, tuple(keys)

    async def read_head(self, prepared: PreparedRead) -> list[Any]:
        key, size, keys = cast(tuple[str, int, tuple[str, ...]], prepared)
        value = self._read(key)
        return [b"" if value is None else value[:size], [self._read(k) for k in keys]]

    async def set(self, key: str, value: bytes, ttl_ms: int) -> None:
        self._write(key, value, ttl_ms)

    async def set_if_current(
        self, key: str, value: bytes, ttl_ms: int, generations: Sequence[tuple[str, bytes]]
    ) -> bool:
        if any(self._read(gen_key) != token for gen_key, token in generations):
            return False
        self._write(key, value, ttl_ms)
        return True

    async def ensure_generations(
        self, keys: Sequence[str], proposed: Sequence[bytes], ttl_ms: int
    ) -> list[bytes]:
        tokens = []
        for key, token in zip(keys, proposed, strict=True):
            current = self._read(key)
            if current is None:
                self._write(key, token, ttl_ms)
                current = token
            tokens.append(current)
        return tokens

    async def delete(self, keys: Sequence[str]) -> int:
        return sum(self._remove(key) for key in keys)

    async def delete_matching(self, pattern: str) -> int:
        regex = glob_regex(pattern)
        matching = [key for key in self._items if regex.fullmatch(key)]
        return await self.delete(matching)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._items.clear()
        self._used = 0

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "keys": len(self._items),
            "usedBytes": self._used,
            "maxBytes": self.max_bytes,
            "evictions": self.evictions,
        }
