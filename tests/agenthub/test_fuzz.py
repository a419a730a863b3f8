"""Whatever a client puts in a list query string, the answer is never a 5xx."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.agenthub.factories import Tenant, assert_error

PARAMETER_NAMES = [
    "page",
    "limit",
    "sortBy",
    "sortOrder",
    "serverId",
    "status",
    "role",
    "search",
    "category",
    "transport",
    "x",
    "sort_by",
    "",
]
LIST_PATHS = ["/api/agents", "/api/servers", "/api/tools/definitions"]

values = st.one_of(
    st.text(max_size=300),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.sampled_from(
        [
            "name",
            "createdAt",
            "asc",
            "desc",
            "active",
            "0",
            "1",
            "100",
            "101",
            "",
            "%",
            "_",
            "\\",
            "*",
            "\u202e",
            "🤖",
            "1e9",
            "NaN",
            "00000000-0000-0000-0000-000000000000",
        ]
    ),
)
queries = st.lists(
    st.tuples(st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(max_size=20)), values),
    max_size=6,
)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error(response, response.status_code)


@FUZZ
@given(path=st.sampled_from(LIST_PATHS), query=queries)
async def test_list_query_strings_never_fail(
    client: httpx.AsyncClient, tenant: Tenant, path: str, query: list[tuple[str, str]]
) -> None:
    _check(await client.get(path, params=query, headers=tenant.headers()))


@FUZZ
@given(path=st.sampled_from(LIST_PATHS), raw=st.binary(max_size=200))
async def test_raw_query_bytes_never_fail(
    client: httpx.AsyncClient, tenant: Tenant, path: str, raw: bytes
) -> None:
    # Percent-encoded arbitrary bytes: invalid UTF-8, NUL, lone surrogate encodings...
    url = f"{path}?search={quote_from_bytes(raw)}&role={quote_from_bytes(raw[::-1])}"
    _check(await client.get(url, headers=tenant.headers()))
