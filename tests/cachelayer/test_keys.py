"""Keys: canonical, collision-free, confined to one hash tag, and never steered by input."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cachelayer import (
    Cache,
    Entry,
    KeySpace,
    MemoryBackend,
    canonical_params,
    digest,
    escape_glob,
)
from cachelayer.keys import glob_regex, safe_part
from tests.cachelayer.conftest import RELAXED_TIMEOUT, Counter, redis_cache
from tests.servers import RedisProcess

GLOB_CHARS = set("*?[]\\")
HOSTILE = [
    "*",
    "?",
    "[",
    "]",
    ":",
    "{",
    "}",
    "\\",
    "[a-z]",
    "*:*",
    "{org-2}",
    "}{",
    "}:{",
    "a:b",
    "org-2}:agents:{x",
    "é",
    "日本語",
    "🙂",
    "\x00",
    "\n",
    " ",
    "",
    "..",
    "x" * 10_000,
    "*" * 10_000,
    "%2A",
    "h",
]
hostile_chars = st.sampled_from(list("*?[]:{}\\^-!/. é日\x00\n"))
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=hostile_chars, max_size=30),
    st.text(max_size=30),
    st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True),  # plain words, kept readable
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
params_dicts = st.dictionaries(st.text(max_size=12), json_values, max_size=8)
SPACE = KeySpace("app")


def hash_tag(key: str) -> str:
    """What Redis Cluster hashes: the text between the first '{' and the next '}'."""
    start = key.index("{")
    return key[start + 1 : key.index("}", start)]


# -- canonical parameters ---------------------------------------------------------------


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(params=params_dicts, data=st.data())
def test_parameter_order_does_not_change_the_key(params: dict[str, Any], data: Any) -> None:
    shuffled = dict(data.draw(st.permutations(list(params.items()))))
    assert canonical_params(shuffled) == canonical_params(params)


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(params=params_dicts, data=st.data())
def test_nested_mapping_order_does_not_change_the_key(params: dict[str, Any], data: Any) -> None:
    inner = dict(data.draw(st.permutations(list(params.items()))))
    assert canonical_params({"filter": inner}) == canonical_params({"filter": params})


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(a=params_dicts, b=params_dicts)
def test_different_parameters_give_different_keys(a: dict[str, Any], b: dict[str, Any]) -> None:
    assume(a != b)
    assert canonical_params(a) != canonical_params(b)
    assert SPACE.key("o", "list", canonical_params(a)) != SPACE.key(
        "o", "list", canonical_params(b)
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"page": 1}, {"page": "1"}),
        ({"q": None}, {}),
        ({"q": ""}, {}),
        ({"q": None}, {"q": "null"}),
        ({"a": "b", "c": "d"}, {"a": "b,c:d"}),
        ({"tags": ["a", "b"]}, {"tags": ["b", "a"]}),
        ({"q": "*"}, {"q": "\\*"}),
    ],
)
def test_near_miss_parameters_are_distinct(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert canonical_params(a) != canonical_params(b)


def test_the_parameter_digest_is_stable_across_releases() -> None:
    # Changing this digest silently orphans every cached entry; it must be deliberate.
    assert canonical_params({"page": 1, "limit": 20}) == digest({"limit": 20, "page": 1})
    assert re.fullmatch(r"[0-9a-f]{32}", canonical_params({}))


def test_a_huge_integer_parameter_still_gives_a_key() -> None:
    assert canonical_params({"page": 10**30}) != canonical_params({"page": 10**30 + 1})


def test_nan_and_null_parameters_are_distinct() -> None:
    assert canonical_params({"min": float("nan")}) != canonical_params({"min": None})
    assert canonical_params({"min": float("inf")}) != canonical_params({"min": None})


# -- KeySpace.key ---------------------------------------------------------------------


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(tag=hostile_text, parts=st.lists(hostile_text, max_size=5))
def test_a_key_has_exactly_one_hash_tag_and_no_glob_characters(tag: str, parts: list[str]) -> None:
    key = SPACE.key(tag, *parts)
    assert key.startswith("app:{")
    assert key.count("{") == 1
    assert key.count("}") == 1
    assert hash_tag(key) == safe_part(tag)
    assert not GLOB_CHARS & set(key)
    assert key.isascii()
    assert key.count(":") == 2 + max(len(parts) - 1, 0)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:12]))
def test_hostile_parts_never_reach_the_key_verbatim(value: str) -> None:
    key = SPACE.key("org-1", "agents", value)
    assert len(key) < 100
    assert not GLOB_CHARS & set(key)
    if value and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", value):
        assert value not in key.split(":")


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(st.lists(st.tuples(hostile_text, st.lists(hostile_text, max_size=4)), max_size=30))
def test_different_tag_and_parts_never_share_a_key(
    requests: list[tuple[str, list[str]]],
) -> None:
    distinct = {(tag, tuple(parts)) for tag, parts in requests}
    keys = {SPACE.key(tag, *parts) for tag, parts in distinct}
    assert len(keys) == len(distinct)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("o", "a", "b"), ("o", "a:b")),
        (("o", "a", "b"), ("o:a", "b")),
        (("o", "a"), ("o", "a", "")),
        (("o",), ("o", "")),
        (("o}", "x"), ("o", "}x")),
        (("org-1", "list"), ("org-2", "list")),
        (("org-1", "x" * 64), ("org-1", "x" * 65)),
        (("org-1", "x" * 10_000), ("org-1", "x" * 10_001)),
    ],
)
def test_structural_near_collisions_are_distinct(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert SPACE.key(*a) != SPACE.key(*b)


@pytest.mark.parametrize("other", ["*", "org 2", "a:b"])
def test_a_digest_lookalike_cannot_collide_with_another_value(other: str) -> None:
    lookalike = "h" + digest(other)
    assert SPACE.key("org-1", "search", lookalike) != SPACE.key("org-1", "search", other)
    assert SPACE.key(lookalike, "x") != SPACE.key(other, "x")


def test_keys_are_readable_for_plain_words() -> None:
    assert SPACE.key("o.1", "agents", "list", "p-2") == "app:{o.1}:agents:list:p-2"


@pytest.mark.parametrize("prefix", ["", "a:b", "a*", "{x}", "x" * 33, "é", "a b"])
def test_unsafe_prefixes_are_rejected(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        KeySpace(prefix)


# -- patterns -------------------------------------------------------------------------


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(tag_a=hostile_text, tag_b=hostile_text, parts=st.lists(hostile_text, max_size=3))
def test_a_tag_pattern_never_matches_another_tags_keys(
    tag_a: str, tag_b: str, parts: list[str]
) -> None:
    pattern = glob_regex(SPACE.tag_pattern(tag_a))
    assert pattern.fullmatch(SPACE.key(tag_a, *parts, "x"))
    if tag_a != tag_b:
        assert not pattern.fullmatch(SPACE.key(tag_b, *parts, "x"))
    other_space = KeySpace("app2")
    assert not pattern.fullmatch(other_space.key(tag_a, *parts, "x"))


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(x=hostile_text, y=hostile_text)
def test_an_escaped_text_matches_only_itself(x: str, y: str) -> None:
    regex = glob_regex(escape_glob(x))
    assert regex.fullmatch(x)
    assert bool(regex.fullmatch(y)) == (x == y)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("a*", "abc", True),
        ("a*", "ba", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("[abc]x", "bx", True),
        ("[^abc]x", "bx", False),
        ("[^abc]x", "dx", True),
        ("[a-c]", "b", True),
        ("[a-c]", "d", False),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("[\\]]", "]", True),
        ("*\n*", "a\nb", True),
        ("a\\", "a\\", True),
        ("[]", "]", False),
    ],
)
def test_glob_regex_examples(pattern: str, text: str, matches: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(text)) is matches


# -- the same rules in a real Redis -----------------------------------------------------

KEYS_FOR_GLOBS = sorted(
    {
        *"ab*?[]^-\\:{}",
        "abc",
        "a*c",
        "a?c",
        "a[c",
        "a]c",
        "a\\c",
        "a:b:c",
        "{o}:x",
        "{o}x",
        "app:{o.1}:agents:list",
        "app:{o.1}:gen:agents",
        "app:{o.2}:agents:list",
        "app2:{o.1}:agents:list",
        "app:agents:list:org1:a",
        "app:agents:list:org10:a",
        "",
        "xyz",
    }
)
WELL_FORMED_PATTERNS = [
    "*",
    "a*",
    "*c",
    "a?c",
    "a\\?c",
    "a\\*c",
    "a\\[c",
    "a\\]c",
    "a\\\\c",
    "[ab]*",
    "[^ab]",
    "[a-c]*",
    "[\\]]",
    "[\\[]c",
    "?",
    "??",
    "???",
    "*:*",
    "\\{o\\}*",
    "{o}*",
    "app:*",
    "app:{o.1}:*",
    "app:agents:list:org1*",
    "app:agents:list:org1:*",
    SPACE.tag_pattern("o.1"),
    SPACE.pattern("*"),
    "a",
    "x*z",
    "*\\\\*",
]


@pytest.fixture
def globbed_redis(module_redis: RedisProcess) -> Iterator[redis.Redis]:
    client = redis.Redis(port=module_redis.port)
    client.flushall()
    for key in KEYS_FOR_GLOBS:
        client.set(key, b"1")
    yield client
    client.flushall()
    client.close()


def redis_match(client: redis.Redis, pattern: str) -> set[str]:
    return {key.decode() for key in client.scan_iter(match=pattern, count=1000)}


def python_match(pattern: str, keys: list[str]) -> set[str]:
    regex = glob_regex(pattern)
    return {key for key in keys if regex.fullmatch(key)}


@pytest.mark.slow
@pytest.mark.parametrize("pattern", WELL_FORMED_PATTERNS)
def test_glob_regex_agrees_with_redis_scan(globbed_redis: redis.Redis, pattern: str) -> None:
    assert python_match(pattern, KEYS_FOR_GLOBS) == redis_match(globbed_redis, pattern)


@pytest.mark.slow
@pytest.mark.parametrize(
    "pattern",
    [
        "[c-a]",
        pytest.param("[^]", marks=pytest.mark.xfail(strict=True, reason="it is one byte in Redis")),
        pytest.param("[^", marks=pytest.mark.xfail(strict=True, reason="it is one byte in Redis")),
        pytest.param(
            "[a-]", marks=pytest.mark.xfail(strict=True, reason="Redis reads '-]' as a range")
        ),
        pytest.param("?", marks=pytest.mark.xfail(strict=True, reason="'?' is one byte in Redis")),
        "*[b-[",
        pytest.param(
            "a??c", marks=pytest.mark.xfail(strict=True, reason="'?' is one byte in Redis")
        ),
    ],
)
def test_glob_regex_agrees_with_redis_on_malformed_patterns(
    globbed_redis: redis.Redis, pattern: str
) -> None:
    keys = [*KEYS_FOR_GLOBS, "é", "aéc"]
    for key in ("é", "aéc"):
        globbed_redis.set(key, b"1")
    assert python_match(pattern, keys) == redis_match(globbed_redis, pattern)


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(hostile_text.filter(lambda t: len(t) < 200), min_size=1, max_size=6))
def test_an_escaped_text_matches_only_itself_in_redis(
    module_redis: RedisProcess, texts: list[str]
) -> None:
    client = redis.Redis(port=module_redis.port)
    try:
        client.flushall()
        for text in texts:
            client.set(f"p:{text}", b"1")
        client.set("p:decoy*?[x]", b"1")
        for text in texts:
            assert redis_match(client, f"p:{escape_glob(text)}") == {f"p:{text}"}
    finally:
        client.close()


# -- hostile patterns stay inside the key space -----------------------------------------

HOSTILE_PATTERNS = [
    "*",
    "",
    "?",
    "[",
    "]",
    "\\",
    "*\\",
    ":*",
    "../*",
    "[^a]*",
    "{*}",
    "*:*",
    "\\*",
    "*{*",
    "[*]",
    "*]",
    "[!-~]*",
]


@pytest.fixture(params=["memory", "redis"])
async def two_caches(
    request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[tuple[Cache, Cache]]:
    """A cache, and a neighbour whose prefix extends it (``p`` and ``px``) on one backend."""
    if request.param == "memory":
        backend = MemoryBackend()
        mine = Cache(backend, prefix=key_prefix, timeout=RELAXED_TIMEOUT)
        theirs = Cache(backend, prefix=f"{key_prefix}x", timeout=RELAXED_TIMEOUT)
        yield mine, theirs
        await mine.close()
        return
    url = request.getfixturevalue("redis_server_url")
    mine = redis_cache(url, key_prefix)
    theirs = redis_cache(url, f"{key_prefix}x")
    raw = aioredis.Redis.from_url(url)
    yield mine, theirs
    for made in (mine, theirs):
        await made.clear()
        await made.close()
    await raw.delete(*outside_keys(key_prefix))
    await raw.aclose()


def outside_keys(prefix: str) -> list[str]:
    """Keys of other programs that a careless pattern could reach."""
    return [
        prefix,
        f"{prefix};a",
        f"x{prefix}:a",
        f"{{{prefix}}}:a",
        f"other:{prefix}",
        f"{prefix.upper()}:a",
    ]


@pytest.mark.parametrize("pattern", HOSTILE_PATTERNS)
async def test_hostile_patterns_never_touch_keys_outside_the_prefix(
    two_caches: tuple[Cache, Cache], pattern: str
) -> None:
    mine, theirs = two_caches
    prefix = mine.keys.prefix
    await theirs.set("a", 1, ttl=60)
    await theirs.set(pattern, 2, ttl=60)
    outside = outside_keys(prefix)
    for key in outside:
        await mine.backend.set(key, b"foreign", 60_000)
    await mine.set(pattern, 3, ttl=60)

    await mine.invalidate(pattern)
    await mine.clear()

    assert await theirs.get("a") == 1
    assert await theirs.get(pattern) == 2
    assert await mine.backend.get_many(outside) == [b"foreign"] * len(outside)
    await mine.backend.delete(outside)


async def test_a_reversed_range_pattern_is_handled_like_redis() -> None:
    cache = Cache(MemoryBackend(), prefix="p")
    await cache.set("b", 1)
    assert await cache.invalidate("[c-a]") == 1  # Redis reads [c-a] as [a-c]
    await cache.close()


async def test_an_organization_never_reads_another_organizations_entry(cache: Cache) -> None:
    def entry_for(org: str, search: str) -> Entry:
        key = cache.keys.key(f"o.{org}", "agents", "list", canonical_params({"q": search}))
        return Entry(key, (cache.keys.key(f"o.{org}", "gen", "agents"),))

    await cache.get_or_load(entry_for("1", "*"), Counter(b"org 1 secrets"))
    for org, search in [("2", "*"), ("2", "?"), ("1}{o.2", "*"), ("*", "*"), ("1 ", "*")]:
        found = await cache.get_or_load(entry_for(org, search), Counter(b"own data"))
        assert found.payload == b"own data"
