"""The bytes stored under a cache key: a small fixed header, then the payload untouched.

Header (big-endian): magic ``b"CL"``, format version, codec, creation time in ms, a
16-byte digest of the payload (the ETag, so a hit never hashes), the number of
generation tokens the entry was stored under, then those tokens. The payload follows as
is, so a hit can send it without decoding. Anything that does not parse, or carries
another format version, is a miss and never an error.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"CL"
FORMAT_VERSION = 1
TOKEN_SIZE = 16
DIGEST_SIZE = 16
_HEADER = struct.Struct(">2sBBQ16sB")


class Codec(IntEnum):
    """How the payload is to be read back by `Cache.get`."""

    RAW = 0
    JSON = 1


@dataclass(frozen=True, slots=True)
class Envelope:
    payload: bytes
    codec: Codec
    created_ms: int
    digest: bytes
    tokens: tuple[bytes, ...]

    @property
    def etag(self) -> str:
        return etag_of_digest(self.digest)


def payload_digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=DIGEST_SIZE).digest()


def etag_of_digest(digest: bytes) -> str:
    """A strong ETag derived from the payload only: the same in every process."""
    return f'"{digest.hex()}"'


def etag_of(payload: bytes) -> str:
    return etag_of_digest(payload_digest(payload))


def seal(
    payload: bytes,
    codec: Codec = Codec.RAW,
    tokens: tuple[bytes, ...] = (),
    digest: bytes | None = None,
) -> bytes:
    """Wrap a payload for storage under the given generation tokens."""
    if any(len(token) != TOKEN_SIZE for token in tokens):
        raise ValueError(f"generation tokens are {TOKEN_SIZE} bytes")
    if len(tokens) > 255:
        raise ValueError("at most 255 generation tokens per entry")
    header = _HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        codec,
        int(time.time() * 1000),
        digest or payload_digest(payload),
        len(tokens),
    )
    return b"".join((header, *tokens, payload))


class UnreadableEnvelope(ValueError):
    """Not an envelope this format version can read."""


_CODECS = frozenset(Codec)


def _header(raw: bytes) -> tuple[int, int, bytes, int]:
    """(codec, created_ms, digest, end of the tokens) of an envelope of this version.

    Raises UnreadableEnvelope for anything else.
    """
    if len(raw) < _HEADER.size:
        raise UnreadableEnvelope
    magic, version, codec, created_ms, digest, count = _HEADER.unpack_from(raw)
    if magic != MAGIC or version != FORMAT_VERSION or codec not in _CODECS:
        raise UnreadableEnvelope
    end = _HEADER.size + count * TOKEN_SIZE
    if len(raw) < end:
        raise UnreadableEnvelope
    return codec, created_ms, digest, end


# The hit path's check reads the header's fields at their offsets rather than unpacking
# it: unpacking builds a tuple and two bytes objects, a third of the check's cost.
_DIGEST_AT = struct.calcsize(">2sBBQ")
_DIGEST_END = _DIGEST_AT + DIGEST_SIZE
_COUNT_AT = _HEADER.size - 1
# Magic, format version and codec: how every readable envelope starts.
_READABLE_STARTS = frozenset(MAGIC + bytes((FORMAT_VERSION, codec)) for codec in Codec)
_START_SIZE = len(MAGIC) + 2


def payload_if_current(raw: bytes, tokens: Sequence[bytes | None]) -> tuple[bytes, bytes] | None:
    """(payload, digest) of a value sealed under exactly these generation tokens, None if
    it was sealed under others (or one of them is gone): the hit path's check, with no
    object built but the payload.

    Raises UnreadableEnvelope when raw is not an envelope of this version.
    """
    end = _end_if_sealed_under(raw, tokens)
    if end is None:
        return None
    return raw[end:], raw[_DIGEST_AT:_DIGEST_END]


def head_size(token_count: int) -> int:
    """How many bytes of a value sealed under token_count tokens precede its payload."""
    return _HEADER.size + token_count * TOKEN_SIZE


def digest_if_current(head: bytes, tokens: Sequence[bytes | None]) -> bytes | None:
    """The digest of a value from its head (its first `head_size(len(tokens))` bytes) if
    it was sealed under exactly these tokens; None if under others, or if it is gone
    (an empty head). The payload never needs to be read to know which one is stored.

    Raises UnreadableEnvelope when the head is not one of an envelope of this version.
    """
    if not head:
        return None
    if len(head) > _COUNT_AT and head[_COUNT_AT] != len(tokens):
        return None  # other generations (or not an envelope): a full read will judge
    if _end_if_sealed_under(head, tokens) is None:
        return None
    return head[_DIGEST_AT:_DIGEST_END]


def _end_if_sealed_under(raw: bytes, tokens: Sequence[bytes | None]) -> int | None:
    """Where the payload starts in a value sealed under exactly these tokens, None if it
    was sealed under others. Raises UnreadableEnvelope."""
    if len(raw) < _HEADER.size or raw[:_START_SIZE] not in _READABLE_STARTS:
        raise UnreadableEnvelope
    count = raw[_COUNT_AT]
    end = _HEADER.size + count * TOKEN_SIZE
    if len(raw) < end:
        raise UnreadableEnvelope
    if count != len(tokens) or None in tokens:
        return None
    # No None among the tokens by now; no cast(), a function call on every hit.
    if raw[_HEADER.size : end] != b"".join(tokens):  # type: ignore[arg-type]
        return None
    return end


def open_envelope(raw: bytes) -> Envelope | None:
    """Read a stored value; None when it is not an envelope this version can read."""
    try:
        codec, created_ms, digest, end = _header(raw)
    except UnreadableEnvelope:
        return None
    tokens = tuple(raw[i : i + TOKEN_SIZE] for i in range(_HEADER.size, end, TOKEN_SIZE))
    return Envelope(raw[end:], Codec(codec), created_ms, digest, tokens)
