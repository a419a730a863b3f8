"""Copies of payloads the process has read, kept so a hit need not read them again.

A hit still makes its one round trip: it reads the head of the stored value (its
generation tokens and the digest of its payload) with the generation keys, and serves
the copy only if that head is current and names the copy's digest. The copy is then
byte for byte what the backend holds; what crosses the wire is ~100 bytes, not the
payload. A copy can never make a hit staler or another tenant's: it is keyed by the
entry's key, and only ever served on the backend's word.
"""

from __future__ import annotations

from collections.abc import Callable

Copy = tuple[bytes, bytes]  # (payload, digest)

# What a copy costs beyond its payload: the key, the tuple, the dict slot.
_OVERHEAD = 200


class PayloadCopies:
    """Payload copies by entry key, bounded in bytes; the oldest copy goes first.

    Eviction is by insertion order, not use: a hit costs no bookkeeping, and an evicted
    copy that is still in use comes back at its next read, in the same round trip.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._copies: dict[str, Copy] = {}
        # The dict's own get: no Python frame per lookup on the hit path.
        self.get: Callable[[str], Copy | None] = self._copies.get

    def __len__(self) -> int:
        return len(self._copies)

    def put(self, key: str, copy: Copy) -> None:
        self.discard(key)
        cost = _cost(key, copy)
        if cost > self.max_bytes:
            return
        while self.used + cost > self.max_bytes:
            self.discard(next(iter(self._copies)))
        self._copies[key] = copy
        self.used += cost

    def discard(self, key: str) -> None:
        copy = self._copies.pop(key, None)
        if copy is not None:
            self.used -= _cost(key, copy)

    def clear(self) -> None:
        self._copies.clear()
        self.used = 0


def _cost(key: str, copy: Copy) -> int:
    return len(key) + len(copy[0]) + _OVERHEAD
