"""Run statistics. The same assertions run on SQLite and PostgreSQL, against a reference
computed here, so both dialects give the same numbers on the same data."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agenthub.agents.schemas import AgentStats
from agenthub.organizations.schemas import Role
from tests.agenthub.factories import Tenant, assert_error, create_agent, expect


def percentile_cont(values: list[int], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation at fraction * (n - 1)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def record(
    client: httpx.AsyncClient, tenant: Tenant, agent_id: str, **fields: Any
) -> dict[str, Any]:
    result: dict[str, Any] = expect(
        await client.post(
            f"/api/agents/{agent_id}/runs", json=fields, headers=tenant.headers(Role.member)
        ),
        201,
    )
    return result


async def stats(client: httpx.AsyncClient, tenant: Tenant, agent_id: str) -> dict[str, Any]:
    result: dict[str, Any] = expect(
        await client.get(f"/api/agents/{agent_id}/stats", headers=tenant.headers(Role.viewer)),
        200,
    )
    AgentStats.model_validate(result)
    return result


async def test_stats_without_runs(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await create_agent(client, tenant)
    assert await stats(client, tenant, agent["id"]) == {
        "agentId": agent["id"],
        "totalRuns": 0,
        "successRate": None,
        "avgDurationMs": None,
        "p95DurationMs": None,
        "lastRunAt": None,
        "runsLast24h": 0,
    }


async def test_stats_of_known_runs(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await create_agent(client, tenant)
    now = datetime.now(UTC).replace(microsecond=0)
    runs = [
        (now - timedelta(days=3), 100, "success"),
        (now - timedelta(hours=25), 200, "failed"),
        (now - timedelta(hours=23), 300, "success"),
        (now - timedelta(minutes=5), 400, "success"),
        (now - timedelta(minutes=1), 1000, "failed"),
    ]
    for started_at, duration, status in runs:
        run = await record(
            client,
            tenant,
            agent["id"],
            startedAt=iso(started_at),
            durationMs=duration,
            status=status,
            toolCalls=3,
            tokens=1200,
        )
        assert run["startedAt"] == iso(started_at).replace("Z", ".000Z")
        assert (run["toolCalls"], run["tokens"]) == (3, 1200)
    result = await stats(client, tenant, agent["id"])
    assert result["totalRuns"] == 5
    assert result["successRate"] == 0.6
    assert result["avgDurationMs"] == 400.0
    assert result["p95DurationMs"] == 880.0
    assert result["lastRunAt"] == iso(now - timedelta(minutes=1)).replace("Z", ".000Z")
    assert result["runsLast24h"] == 3


async def test_runs_default_to_now(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await create_agent(client, tenant)
    before = datetime.now(UTC) - timedelta(seconds=1)
    run = await record(client, tenant, agent["id"], durationMs=5, status="success")
    started = datetime.fromisoformat(run["startedAt"].replace("Z", "+00:00"))
    assert before <= started <= datetime.now(UTC) + timedelta(seconds=1)
    assert (await stats(client, tenant, agent["id"]))["runsLast24h"] == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("count", [1, 2, 7, 40])
async def test_p95_matches_percentile_cont(
    client: httpx.AsyncClient, tenant: Tenant, seed: int, count: int
) -> None:
    agent = await create_agent(client, tenant)
    rng = random.Random(seed * 1000 + count)
    durations = [rng.choice([rng.randint(1, 50), rng.randint(100, 90_000)]) for _ in range(count)]
    statuses = [rng.choice(["success", "failed"]) for _ in range(count)]
    for duration, status in zip(durations, statuses, strict=True):
        await record(client, tenant, agent["id"], durationMs=duration, status=status)
    # Another agent's runs never count.
    other = await create_agent(client, tenant)
    await record(client, tenant, other["id"], durationMs=10**6, status="failed")

    result = await stats(client, tenant, agent["id"])
    assert result["totalRuns"] == count
    assert result["p95DurationMs"] == round(percentile_cont(durations, 0.95), 2)
    assert result["avgDurationMs"] == round(sum(durations) / count, 2)
    assert result["successRate"] == round(statuses.count("success") / count, 4)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "success"},
        {"durationMs": 5},
        {"durationMs": -1, "status": "success"},
        {"durationMs": 10**12, "status": "success"},
        {"durationMs": "fast", "status": "success"},
        {"durationMs": 5, "status": "ok"},
        {"durationMs": 5, "status": "success", "toolCalls": -1},
        {"durationMs": 5, "status": "success", "tokens": 10**20},
        {"durationMs": 5, "status": "success", "startedAt": "yesterday"},
        {"durationMs": 5, "status": "success", "startedAt": "2025-01-01T00:00:00"},
        {"durationMs": 5, "status": "success", "startedAt": "2999-01-01T00:00:00Z"},
        {"durationMs": 5, "status": "success", "agentId": "x"},
    ],
)
async def test_invalid_runs_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    agent = await create_agent(client, tenant)
    response = await client.post(
        f"/api/agents/{agent['id']}/runs", json=body, headers=tenant.headers()
    )
    assert_error(response, 422)
