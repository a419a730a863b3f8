"""SingleFlight: one run per key at a time, results and exceptions shared."""

from __future__ import annotations

import asyncio

import pytest

from cachelayer.singleflight import SingleFlight


class Boom(Exception):
    pass


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_callers_share_one_run() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return 42

    tasks = [asyncio.create_task(flights.run("k", work)) for _ in range(10)]
    await settle()
    assert len(flights) == 1
    release.set()
    results = await asyncio.gather(*tasks)
    assert runs == 1
    assert [value for value, _ in results] == [42] * 10
    assert [led for _, led in results].count(True) == 1
    assert len(flights) == 0


async def test_sequential_calls_run_again() -> None:
    flights: SingleFlight[int] = SingleFlight()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        return runs

    assert await flights.run("k", work) == (1, True)
    assert await flights.run("k", work) == (2, True)


async def test_keys_are_independent() -> None:
    flights: SingleFlight[str] = SingleFlight()
    release_a = asyncio.Event()

    async def slow() -> str:
        await release_a.wait()
        return "a"

    async def fast() -> str:
        return "b"

    task_a = asyncio.create_task(flights.run("a", slow))
    await settle()
    assert await flights.run("b", fast) == ("b", True)
    assert not task_a.done()
    release_a.set()
    assert await task_a == ("a", True)


async def test_exceptions_are_shared_and_the_flight_is_forgotten() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()
    runs = 0

    async def failing() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        raise Boom("no")

    tasks = [asyncio.create_task(flights.run("k", failing)) for _ in range(5)]
    await settle()
    release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert runs == 1
    assert all(isinstance(outcome, Boom) for outcome in outcomes)
    assert len(flights) == 0

    async def ok() -> int:
        return 1

    assert await flights.run("k", ok) == (1, True)


async def test_a_failure_nobody_waited_for_is_not_reported_as_unretrieved() -> None:
    flights: SingleFlight[int] = SingleFlight()

    async def failing() -> int:
        raise Boom("alone")

    with pytest.raises(Boom):
        await flights.run("k", failing)


async def test_cancelled_leader_lets_a_follower_take_over() -> None:
    flights: SingleFlight[str] = SingleFlight()
    runs: list[str] = []

    async def work_of(name: str) -> str:
        runs.append(name)
        await asyncio.sleep(3600 if name == "leader" else 0.01)
        return name

    leader = asyncio.create_task(flights.run("k", lambda: work_of("leader")))
    await settle()
    followers = [
        asyncio.create_task(flights.run("k", lambda n=n: work_of(f"follower-{n}")))  # type: ignore[misc]
        for n in range(3)
    ]
    await settle()
    leader.cancel()
    results = await asyncio.wait_for(asyncio.gather(*followers), 5)
    # one follower became the leader; the others shared its result
    assert runs[0] == "leader"
    assert len(runs) == 2
    assert {value for value, _ in results} == {runs[1]}
    assert [led for _, led in results].count(True) == 1
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert len(flights) == 0


async def test_a_cancelled_follower_does_not_disturb_the_flight() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return 7

    leader = asyncio.create_task(flights.run("k", work))
    await settle()
    follower = asyncio.create_task(flights.run("k", work))
    other = asyncio.create_task(flights.run("k", work))
    await settle()
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    release.set()
    assert await leader == (7, True)
    assert await other == (7, False)
    assert runs == 1
