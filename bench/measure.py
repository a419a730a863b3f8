"""Sequential timings, one request after the other on one keep-alive connection: hits
alone (`timed_requests`), or hits and misses in alternation (`interleaved_requests`):
a miss forced by deleting the entry's generation keys in Redis right before it is
timed, then a hit of the entry that miss stored again, and so on. Alternating them
makes hits and misses share the same moments of a shared, noisy machine: a slow spell
lands on both, not on one of them only.

The client is a few lines over a socket rather than httpx: httpx spends a few hundred
microseconds of Python per request, as much as a whole cache hit costs the server, and
would flatten the difference being measured. Its own cost is measured too (against the
bare endpoint) and reported with the results.
"""

from __future__ import annotations

import math
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import redis


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(slots=True)
class Sequential:
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    xcache: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def all_hits(self) -> bool:
        return self.xcache.get("HIT", 0) == self.requests

    @property
    def all_misses(self) -> bool:
        return self.xcache.get("MISS", 0) == self.requests


@dataclass(slots=True)
class RawResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes


class RawClient:
    """HTTP/1.1 GETs on one keep-alive connection; responses need a Content-Length."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        host_port = base_url.removeprefix("http://").rstrip("/")
        host, _, port = host_port.partition(":")
        self.address = (host, int(port or 80))
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._head = f"Host: {host_port}\r\n{extra}\r\n"
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(self.address, timeout=30)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer.clear()
        return self._sock

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    def get(self, path: str) -> RawResponse:
        reused = self._sock is not None
        try:
            return self._get(path)
        except (ConnectionError, OSError):
            if not reused:
                raise
            # The server closed the idle keep-alive connection (uvicorn: after 5 s).
            return self._get(path)

    def _get(self, path: str) -> RawResponse:
        sock = self._connect()
        try:
            sock.sendall(f"GET {path} HTTP/1.1\r\n{self._head}".encode())
            while (end := self._buffer.find(b"\r\n\r\n")) < 0:
                self._fill(sock)
            lines = self._buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(self._buffer) < end + 4 + length:
                self._fill(sock)
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
        except Exception:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return RawResponse(int(lines[0].split()[1]), headers, body)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


class Client(Protocol):
    def get(self, path: str) -> _Response: ...


class _Series:
    """The timings and answers of one kind of request (hits, or misses)."""

    def __init__(self, cache_header: str) -> None:
        self.cache_header = cache_header
        self.timings: list[float] = []
        self.xcache: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def timed(self, client: Client, path: str) -> None:
        started = time.perf_counter()
        response = client.get(path)
        self.timings.append((time.perf_counter() - started) * 1000)
        self.xcache[response.headers.get(self.cache_header, "absent")] += 1
        self.statuses[str(response.status_code)] += 1

    def summary(self) -> Sequential:
        return Sequential(
            requests=len(self.timings),
            p50_ms=round(percentile(self.timings, 50), 3),
            p99_ms=round(percentile(self.timings, 99), 3),
            mean_ms=round(sum(self.timings) / len(self.timings), 3),
            xcache=dict(self.xcache),
            statuses=dict(self.statuses),
        )


def timed_requests(
    client: Client,
    path: str,
    count: int,
    cache_header: str = "x-cache",
) -> Sequential:
    """`count` requests of `path`, one after the other (hits, once the entry is cached)."""
    series = _Series(cache_header)
    client.get(path)  # untimed: opens the connection (or replaces an idle, closed one)
    for _ in range(count):
        series.timed(client, path)
    return series.summary()


def interleaved_requests(
    client: Client,
    path: str,
    count: int,
    forget: Callable[[], None],
    cache_header: str = "x-cache",
) -> tuple[Sequential, Sequential]:
    """`count` rounds, one after the other: `forget()` (untimed), a timed request of
    `path` (a miss, which stores the entry again), an untimed request (a hit), then a
    timed request of the same `path` (a hit of what the miss stored, following a hit as
    most hits do: not the first request after a miss, whose server process still holds
    the miss's garbage and cold caches). Hits and misses thus alternate in time, so a
    slow spell of the machine cannot land on one series only. Returns (hits, misses)."""
    hits = _Series(cache_header)
    misses = _Series(cache_header)
    client.get(path)  # untimed: opens the connection (or replaces an idle, closed one)
    for _ in range(count):
        forget()
        misses.timed(client, path)
        client.get(path)
        hits.timed(client, path)
    return hits.summary(), misses.summary()


def delete_keys(client: redis.Redis, keys: Sequence[str]) -> Callable[[], None]:
    def run() -> None:
        client.delete(*keys)

    return run


def scan_unlink(client: redis.Redis, prefix: str) -> int:
    """Delete every key under `prefix:` with SCAN + UNLINK (never KEYS, never FLUSH*)."""
    pattern = prefix.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    pattern = pattern.replace("[", "\\[").replace("]", "\\]") + ":*"
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted
