"""What a storage backend must do. Backends move bytes; they know nothing of envelopes."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

# What `Backend.prepare_read` returns: opaque to everyone but the backend.
PreparedRead = object


class Backend(Protocol):
    """Bytes-in, bytes-out storage with the few atomic operations generations need.

    Every method may raise; the `Cache` in front turns any failure into a miss or a
    skipped write, so a backend does not need to be defensive.
    """

    name: str
    reads_have_deadline: bool
    """True when `read` fails by itself once the backend's deadline passes: the `Cache`
    then adds no deadline of its own to reads (the Redis backend arms one timer per
    pipelined write instead of one per read)."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of the keys, None where absent, in one round trip."""
        ...

    def prepare_read(self, keys: Sequence[str]) -> PreparedRead:
        """The keys in the form `read` takes, built once for a read made many times."""
        ...

    def read(self, prepared: PreparedRead) -> Awaitable[list[bytes | None]]:
        """`get_many` of prepared keys (an awaitable, not necessarily a coroutine)."""
        ...

    def prepare_head_read(self, key: str, size: int, keys: Sequence[str]) -> PreparedRead:
        """A read of the first `size` bytes of key's value and of the keys' values, in
        the form `read_head` takes."""
        ...

    def read_head(self, prepared: PreparedRead) -> Awaitable[list[Any]]:
        """[the head of the value (b"" when absent), [the keys' values]], in one round
        trip: how a hit checks a copy it keeps without the payload crossing the wire."""
        ...

    async def set(self, key: str, value: bytes, ttl_ms: int) -> None: ...

    async def set_if_current(
        self, key: str, value: bytes, ttl_ms: int, generations: Sequence[tuple[str, bytes]]
    ) -> bool:
        """Store only if every generation key still holds the given token, atomically.

        This is what closes the late-set race: a reader that loaded before a write
        committed holds the token the write has since deleted, so its store is refused.
        """
        ...

    async def ensure_generations(
        self, keys: Sequence[str], proposed: Sequence[bytes], ttl_ms: int
    ) -> list[bytes]:
        """Create each missing generation key with the proposed token (SET NX).

        Returns the token each key holds afterwards.
        """
        ...

    async def delete(self, keys: Sequence[str]) -> int:
        """Remove keys; returns how many existed. Deleting works even when Redis is full."""
        ...

    async def delete_matching(self, pattern: str) -> int:
        """Remove every key matching a glob pattern, incrementally (SCAN, never KEYS)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    def describe(self) -> dict[str, object]:
        """Facts for a status page (never a password)."""
        ...
