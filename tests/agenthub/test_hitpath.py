"""The hit path's own parts; its behaviour end to end is in test_caching.py."""

from __future__ import annotations

from agenthub.hitpath import BoundedMemo


def test_the_memo_forgets_everything_when_full() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(max_entries=2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, None, 3)
