"""The circuit breaker, driven by a fake probe: no backend involved."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from cachelayer import BreakerState, CircuitBreaker, reconnect_delay


class FakeProbe:
    def __init__(self, healthy: bool = False) -> None:
        self.healthy = healthy
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if not self.healthy:
            raise ConnectionError("still down")


def no_delay(attempt: int) -> float:
    return 0.0


_sleep = asyncio.sleep  # the real one, for when a test records the breaker's sleeps


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():
            await _sleep(0.001)

    await asyncio.wait_for(poll(), within)


def test_reconnect_delay_is_the_original_backoff() -> None:
    assert reconnect_delay(1) == pytest.approx(0.05)
    assert reconnect_delay(2) == pytest.approx(0.10)
    assert reconnect_delay(10) == pytest.approx(0.5)
    assert reconnect_delay(40) == pytest.approx(2.0)
    assert reconnect_delay(41) == 2.0
    assert reconnect_delay(10_000) == 2.0
    assert all(reconnect_delay(n) <= reconnect_delay(n + 1) for n in range(1, 100))  # never shrinks


async def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker(FakeProbe(), threshold=3, delay=lambda attempt: 3600.0)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.is_closed
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.times_opened == 1
    assert breaker.opened_at is not None
    await breaker.close()


async def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(FakeProbe(), threshold=3, delay=lambda attempt: 3600.0)
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.is_closed
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_failure()
    assert not breaker.is_closed
    await breaker.close()


async def test_probe_delays_follow_reconnect_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def recording_sleep(delay: float, result: object = None) -> object:
        slept.append(delay)
        return await _sleep(0, result)

    probe = FakeProbe()
    breaker = CircuitBreaker(probe, threshold=1)  # the default delay
    monkeypatch.setattr(asyncio, "sleep", recording_sleep)  # what the breaker calls
    breaker.record_failure()
    await wait_until(lambda: probe.calls >= 45)
    probe.healthy = True
    await wait_until(lambda: breaker.is_closed)
    monkeypatch.undo()
    await breaker.close()
    assert len(slept) >= 45
    assert slept == [pytest.approx(reconnect_delay(n)) for n in range(1, len(slept) + 1)]
    assert slept[-1] == 2.0


async def test_recovery_closes_after_the_probe_answers() -> None:
    probe = FakeProbe()
    breaker = CircuitBreaker(probe, threshold=1, delay=no_delay)
    breaker.record_failure()
    await wait_until(lambda: probe.calls >= 3)
    assert breaker.state is BreakerState.OPEN
    probe.healthy = True
    await wait_until(lambda: breaker.is_closed)
    assert breaker.opened_at is None
    await breaker.close()


async def test_hooks_run_before_closing_and_in_order() -> None:
    probe = FakeProbe(healthy=True)
    breaker = CircuitBreaker(probe, threshold=1, delay=lambda attempt: 3600.0)
    seen: list[tuple[str, BreakerState]] = []

    def hook(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            seen.append((name, breaker.state))

        return run

    breaker.add_recovery_hook(hook("first"))
    breaker.add_recovery_hook(hook("second"))
    breaker.record_failure()
    assert await breaker.try_recover() is True
    assert seen == [("first", BreakerState.OPEN), ("second", BreakerState.OPEN)]
    assert breaker.is_closed
    await breaker.close()


async def test_a_failing_hook_keeps_it_open_until_it_succeeds() -> None:
    probe = FakeProbe(healthy=True)
    breaker = CircuitBreaker(probe, threshold=1, delay=lambda attempt: 3600.0)
    attempts = 0

    async def hook() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("could not deliver the invalidation yet")

    breaker.add_recovery_hook(hook)
    breaker.record_failure()
    assert await breaker.try_recover() is False
    assert breaker.state is BreakerState.OPEN
    assert await breaker.try_recover() is False
    assert breaker.state is BreakerState.OPEN
    assert await breaker.try_recover() is True
    assert breaker.is_closed
    assert (attempts, probe.calls) == (3, 3)
    await breaker.close()


async def test_the_probe_loop_retries_a_failing_hook() -> None:
    breaker = CircuitBreaker(FakeProbe(healthy=True), threshold=1, delay=no_delay)
    attempts = 0

    async def hook() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 5:
            raise RuntimeError("not yet")

    breaker.add_recovery_hook(hook)
    breaker.record_failure()
    await wait_until(lambda: breaker.is_closed)
    assert attempts == 5
    await breaker.close()


async def test_a_failing_probe_skips_the_hooks() -> None:
    ran = 0

    async def hook() -> None:
        nonlocal ran
        ran += 1

    breaker = CircuitBreaker(FakeProbe(), threshold=1, delay=lambda attempt: 3600.0)
    breaker.add_recovery_hook(hook)
    breaker.record_failure()
    assert await breaker.try_recover() is False
    assert ran == 0
    assert not breaker.is_closed
    await breaker.close()


async def test_a_hanging_probe_times_out() -> None:
    async def hangs() -> None:
        await asyncio.sleep(3600)

    breaker = CircuitBreaker(hangs, threshold=1, probe_timeout=0.05, delay=lambda a: 3600.0)
    breaker.record_failure()
    assert await asyncio.wait_for(breaker.try_recover(), 5) is False
    await breaker.close()


async def test_try_recover_when_closed_is_true_without_probing() -> None:
    probe = FakeProbe()
    breaker = CircuitBreaker(probe)
    assert await breaker.try_recover() is True
    assert probe.calls == 0


async def test_opening_twice_runs_one_probe_loop() -> None:
    probe = FakeProbe()
    breaker = CircuitBreaker(probe, threshold=1, delay=lambda attempt: 0.05)
    breaker.open()
    breaker.open()
    breaker.record_failure()
    assert breaker.times_opened == 1
    await asyncio.sleep(0.5)
    # one loop: about one probe per 50 ms, not two
    assert probe.calls <= 11
    await breaker.close()


async def test_open_warns_unless_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="cachelayer")
    loud = CircuitBreaker(FakeProbe(), delay=lambda attempt: 3600.0)
    quiet = CircuitBreaker(FakeProbe(), delay=lambda attempt: 3600.0)
    loud.open()
    quiet.open(quiet=True)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("breaker open" in m for m in messages) == 1
    await loud.close()
    await quiet.close()


async def test_close_stops_the_probe_loop() -> None:
    probe = FakeProbe()
    breaker = CircuitBreaker(probe, threshold=1, delay=no_delay)
    breaker.record_failure()
    await wait_until(lambda: probe.calls >= 2)
    await breaker.close()
    calls = probe.calls
    await asyncio.sleep(0.05)
    assert probe.calls == calls


async def test_a_failure_while_the_hooks_run_keeps_it_open() -> None:
    # A write whose invalidation fails while the recovery hooks are delivering the
    # outbox (after their last read of it) must not let the breaker close: its
    # invalidation is still pending.
    breaker = CircuitBreaker(FakeProbe(healthy=True), threshold=1, delay=no_delay)
    runs = 0

    async def hook() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            breaker.open()  # what a failed invalidation does

    breaker.add_recovery_hook(hook)
    breaker.open(probe=False)
    assert await breaker.try_recover() is False
    assert breaker.state is BreakerState.OPEN
    assert await breaker.try_recover() is True
    assert runs == 2
    await breaker.close()
