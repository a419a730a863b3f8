"""The hit path's own parts; its behaviour end to end is in test_caching.py."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from agenthub.caching import Caching
from agenthub.config import Settings
from agenthub.hitpath import BoundedMemo, HitPath


def test_the_memo_forgets_everything_when_full() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(max_entries=2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, None, 3)


def test_a_hit_s_content_length_comes_from_the_bytes_sent() -> None:
    # The digest is read from the stored envelope: two payloads carrying the same one
    # (a corrupt or foreign entry) must still each get their own Content-Length.
    hit_path = HitPath(Caching.build(Settings(), async_sessionmaker()))
    digest = bytes(16)
    for payload in (b"[1]", b"[1, 2]", b"[1]"):
        headers = dict(hit_path._headers_of(payload, digest))
        assert headers[b"content-length"] == str(len(payload)).encode()
        assert headers[b"etag"] == f'"{digest.hex()}"'.encode()
