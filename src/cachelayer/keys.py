"""Building cache keys that cannot collide, cannot be steered, and stay on one slot.

A key is ``{prefix}:{{{tag}}}:{part}:{part}...``. The tag in braces is a Redis Cluster
hash tag, so that everything under one tag (one organization, say) lives on one slot
and can be read and invalidated together. Parts are either plain safe words or a digest:
user input (search text, ids from the URL) never reaches a key verbatim, so glob
characters, separators and braces in it cannot match or collide with another key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

_SAFE_PART = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_\-]{1,32}")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def escape_glob(text: str) -> str:
    """Escape Redis glob metacharacters so that text matches only itself."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def digest(value: Any) -> str:
    """A short stable digest of any JSON-encodable value (mapping keys sorted).

    The standard library's encoder, not orjson: it keeps NaN and infinities apart from
    null, encodes integers of any size, and escapes lone surrogates instead of failing.
    Values it cannot encode (UUIDs, dates) are digested by their repr.
    """
    encoded = json.dumps(
        value, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=repr
    )
    return hashlib.blake2b(encoded.encode("ascii"), digest_size=16).hexdigest()


def canonical_params(params: Mapping[str, Any]) -> str:
    """The digest of request parameters: order-free, so equal parameters share a key."""
    return digest(dict(params))


def safe_part(value: str) -> str:
    """Keep a plain word as is (readable keys); anything else becomes its digest.

    A digest is marked with "~", which no plain word contains, so a word that looks
    like a digest cannot take the key of the value it is the digest of.
    """
    if _SAFE_PART.fullmatch(value):
        return value
    return "~" + digest(value)


class KeySpace:
    """All the keys of one program in a shared Redis: they start with ``prefix:``."""

    def __init__(self, prefix: str) -> None:
        if not _SAFE_PREFIX.fullmatch(prefix):
            raise ValueError("a key prefix is 1-32 characters of [A-Za-z0-9_-]")
        self.prefix = prefix

    def key(self, tag: str, *parts: str) -> str:
        """A key under a hash tag, e.g. key("org-1", "agents", "list", digest)."""
        rest = ":".join(safe_part(part) for part in parts)
        return f"{self.prefix}:{{{safe_part(tag)}}}:{rest}"

    def plain(self, name: str) -> str:
        """A caller-chosen key (the original API's get/set) inside this key space."""
        return f"{self.prefix}:{name}"

    def pattern(self, pattern: str = "*") -> str:
        """A SCAN pattern confined to this key space (patterns built here pass through)."""
        if pattern.startswith(f"{self.prefix}:"):
            return pattern
        return f"{self.prefix}:{pattern}"

    def tag_pattern(self, tag: str) -> str:
        """Every key under one hash tag."""
        return f"{escape_glob(self.prefix)}:{{{escape_glob(safe_part(tag))}}}:*"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Redis glob (``*``, ``?``, ``[...]``, backslash escapes) to a regex.

    Python's fnmatch has no backslash escapes, so the memory backend would read an
    escaped pattern differently from Redis; this follows Redis's rules instead.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            body, i = _bracket(pattern, i + 1)
            out.append(body)
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """Translate a ``[...]`` class starting after its ``[``; returns (regex, index of ``]``)."""
    i = start
    negate = i < len(pattern) and pattern[i] == "^"
    i += negate
    members: list[str] = []
    last: str | None = None  # the previous literal, which a "-" turns into a range start
    while i < len(pattern) and pattern[i] != "]":
        char, escaped = pattern[i], pattern[i] == "\\" and i + 1 < len(pattern)
        if escaped:
            char = pattern[i + 1]
        elif char == "-" and last is not None and i + 1 < len(pattern) and pattern[i + 1] != "]":
            end_escaped = pattern[i + 1] == "\\" and i + 2 < len(pattern)
            end = pattern[i + 2] if end_escaped else pattern[i + 1]
            low, high = sorted((last, end))  # Redis reads [c-a] as [a-c]
            members[-1] = f"{re.escape(low)}-{re.escape(high)}"
            last = None
            i += 3 if end_escaped else 2
            continue
        members.append(re.escape(char))
        last = char
        i += 2 if escaped else 1
    if not members:
        return ("." if negate else "(?!)"), i  # Redis: "[^]" matches any one character
    return "[" + ("^" if negate else "") + "".join(members) + "]", i
