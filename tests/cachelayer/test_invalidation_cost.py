"""Invalidation costs the same whatever the number of cached keys: no KEYS, no SCAN."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from cachelayer import Cache, CacheStatus, Entry, RedisBackend
from cachelayer.envelope import Codec, seal
from tests.cachelayer.conftest import Counter
from tests.servers import RedisProcess

SRC = Path(__file__).resolve().parents[2] / "src"
BATCH = 5_000


async def command_stats(admin: aioredis.Redis) -> dict[str, int]:
    """Calls per command since the last reset, without the observer's own commands."""
    info = await admin.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in info.items()}
    return {name: n for name, n in calls.items() if name.split("|")[0] not in {"config", "info"}}


async def fill(cache: Cache, admin: aioredis.Redis, gen: str, count: int) -> list[Entry]:
    """`count` entries that depend on `gen`, stored as the cache itself would store them."""
    (token,) = await cache.ensure_generations([gen])
    entries = [Entry(cache.keys.key("o.1", "agents", "list", str(i)), (gen,)) for i in range(count)]
    for start in range(0, count, BATCH):
        async with admin.pipeline(transaction=False) as pipe:
            for item in entries[start : start + BATCH]:
                pipe.set(item.key, seal(item.key.encode(), Codec.RAW, (token,)), px=600_000)
            await pipe.execute()
    return entries


async def invalidation_commands(server: RedisProcess, count: int) -> dict[str, int]:
    cache = Cache(RedisBackend.from_url(server.url, timeout=5.0), prefix="cost", timeout=5.0)
    admin = aioredis.Redis.from_url(server.url)
    try:
        await admin.flushall()
        gen = cache.keys.key("o.1", "gen", "agents")
        entries = await fill(cache, admin, gen, count)
        assert await admin.dbsize() == count + 1
        sample = [entries[0], entries[count // 2], entries[-1]]
        for item in sample:  # the filled entries are real hits
            hit = await cache.get_or_load(item, Counter(b"loaded"))
            assert (hit.status, hit.payload) == (CacheStatus.HIT, item.key.encode())

        await admin.config_resetstat()
        assert await cache.invalidate_generations([gen]) is True
        used = await command_stats(admin)

        for item in sample:  # and every one of them is invalidated
            assert (await cache.get_or_load(item, Counter(b"fresh"))).payload == b"fresh"
        return used
    finally:
        await cache.close()
        await admin.aclose()


@pytest.mark.slow
async def test_invalidation_commands_do_not_grow_with_the_number_of_keys(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    small = await invalidation_commands(server, 100)
    large = await invalidation_commands(server, 100_000)
    assert small == large
    assert small == {"unlink": 1}  # one command, whatever the number of entries
    assert not {"keys", "scan"} & set(small)


# -- no KEYS in the code ------------------------------------------------------------------

REDIS_RECEIVER = re.compile(r"redis|client|pipe|conn|backend|^r$", re.IGNORECASE)
LUA_KEYS = re.compile(r"""redis\.p?call\(\s*['"](keys|flushdb|flushall)['"]""", re.IGNORECASE)
FORBIDDEN = {"keys", "flushdb", "flushall"}


def forbidden_calls(source: str) -> Iterator[str]:
    """KEYS (and whole-database flushes) in Python code or in Lua text inside it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr.lower()
            receiver = ast.unparse(node.func.value)
            if name in FORBIDDEN and REDIS_RECEIVER.search(receiver.split(".")[-1]):
                yield f"line {node.lineno}: {receiver}.{node.func.attr}()"
            if name == "execute_command" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and str(first.value).lower() in FORBIDDEN:
                    yield f"line {node.lineno}: execute_command({first.value!r})"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in LUA_KEYS.finditer(node.value):
                yield f"line {node.lineno}: Lua {match.group(0)}"


def test_the_detector_finds_keys_usage() -> None:
    samples = [
        "async def f(self):\n    await self.client.keys('x*')",
        "def f(r):\n    return r.keys()",
        "def f(redis):\n    redis.flushdb()",
        "async def f(c):\n    await c.execute_command('KEYS', '*')",
        "SCRIPT = \"return redis.call('KEYS', ARGV[1])\"",
        'SCRIPT = \'redis.pcall( "keys", "*")\'',
    ]
    for sample in samples:
        assert list(forbidden_calls(sample)), sample
    innocent = (
        "def f(wanted, KEYS):\n    return wanted.keys(), KEYS[1], \"redis.call('GET', KEYS[1])\""
    )
    assert list(forbidden_calls(innocent)) == []


def test_no_keys_command_anywhere_in_the_source() -> None:
    found = []
    files = sorted(SRC.rglob("*.py"))
    assert any(path.name == "cache.py" for path in files)
    for path in files:
        found += [f"{path.relative_to(SRC)} {hit}" for hit in forbidden_calls(path.read_text())]
    for path in sorted(SRC.rglob("*.lua")):
        found += [
            f"{path.relative_to(SRC)} {m.group(0)}" for m in LUA_KEYS.finditer(path.read_text())
        ]
    assert found == []
