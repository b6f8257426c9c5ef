"""Rate limits and in-flight caps (api.ratelimit): per process in memory, shared by every
limiter (as every replica) on one real Redis, and refused quickly when Redis is gone."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.errors import LimitsUnavailable, TooManyInflight
from api.ratelimit import Limiter, window
from tests.redis_server import free_port, redis_server, redis_server_path


def caller() -> str:
    """A caller id no other test uses (the session's Redis is shared)."""
    return f"key:test-{os.urandom(6).hex()}"


def spend(limiters: list[Limiter], who: str, rate: int, n: int) -> list[int]:
    """``n`` requests of ``who``, round robin over ``limiters``: their waits (0 = allowed)."""
    return [limiters[i % len(limiters)].take(who, rate) for i in range(n)]


@pytest.fixture
def memory() -> Iterator[Limiter]:
    limiter = Limiter("memory://")
    yield limiter
    limiter.close()


@pytest.fixture
def replicas(redis_url: str) -> Iterator[list[Limiter]]:
    """Two limiters on one Redis, as two API replicas would hold."""
    limiters = [Limiter(redis_url), Limiter(redis_url)]
    yield limiters
    for limiter in limiters:
        limiter.close()


# --- the window -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "burst", "expected"),
    [
        (3, 60.0, (3, 60)),
        (600, 60.0, (600, 60)),
        (100_000, 60.0, (100_000, 60)),
        (30, 1.0, (1, 2)),  # less than one request of burst: one, over a longer window
        (7, 10.0, (1, 9)),  # stretched to whole seconds: never above the rate
        (90, 10.0, (15, 10)),
    ],
)
def test_window_is_burst_seconds_of_the_rate(
    rate: int, burst: float, expected: tuple[int, int]
) -> None:
    amount, seconds = window(rate, burst)
    assert (amount, seconds) == expected
    assert amount * 60 / seconds <= rate


# --- memory: one process ----------------------------------------------------------------------


def test_memory_budget_burst_then_retry_after(memory: Limiter) -> None:
    who = caller()
    waits = spend([memory], who, 3, 4)
    assert waits[:3] == [0, 0, 0]
    assert 1 <= waits[3] <= 60  # until the oldest request leaves the minute's window
    assert memory.take(caller(), 3) == 0  # another caller is not affected


def test_zero_rate_blocks(memory: Limiter, replicas: list[Limiter]) -> None:
    assert memory.take(caller(), 0) == 60
    assert replicas[0].take(caller(), 0) == 60


def test_memory_is_per_process(memory: Limiter) -> None:
    """Two memory limiters (two worker processes) each grant the whole budget."""
    other = Limiter("memory://")
    try:
        who = caller()
        waits = spend([memory, other], who, 3, 6)
        assert waits == [0] * 6
        assert memory.take(who, 3) > 0 and other.take(who, 3) > 0
    finally:
        other.close()


def test_memory_slots_cap_and_release_on_exceptions(memory: Limiter) -> None:
    who = caller()
    with memory.slot(who, 2), memory.slot(who, 2):
        with pytest.raises(TooManyInflight) as e, memory.slot(who, 2):
            pass
        assert e.value.retry_after >= 1 and e.value.code == "too_many_inflight"
    for _ in range(3):  # released after each failure, so never used up
        with contextlib.suppress(ValueError), memory.slot(who, 1):
            raise ValueError("inference failed")
    with memory.slot(who, 1):
        pass
    with memory.slot(who, 0), memory.slot(who, 0), memory.slot(who, 0):
        pass  # 0: no cap


# --- Redis: one budget for every replica ----------------------------------------------------


def test_replicas_share_one_budget(replicas: list[Limiter]) -> None:
    who = caller()
    waits = spend(replicas, who, 5, 12)
    assert waits[:5] == [0] * 5, waits
    assert all(1 <= w <= 60 for w in waits[5:]), waits  # both replicas refuse
    assert replicas[0].take(caller(), 5) == 0  # another key has its own budget


def test_replicas_share_one_budget_under_concurrency(replicas: list[Limiter]) -> None:
    who, rate, threads = caller(), 10, 8
    start = threading.Barrier(threads)
    allowed: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        start.wait()
        mine = sum(1 for w in spend([replicas[n % 2]], who, rate, 5) if w == 0)
        with lock:
            allowed.append(mine)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert sum(allowed) == rate, allowed


def test_retry_after_counts_down(replicas: list[Limiter]) -> None:
    """Retry-After is the time until the oldest request leaves the window."""
    who = caller()
    limiter = Limiter(replicas[0].storage_url, burst_seconds=2.0)  # 60/min: 2 per 2 s
    try:
        assert spend([limiter], who, 60, 2) == [0, 0]
        assert limiter.take(who, 60) in (1, 2)
        time.sleep(2.1)
        assert limiter.take(who, 60) == 0
    finally:
        limiter.close()


def test_slots_are_shared_and_released_on_exceptions(replicas: list[Limiter]) -> None:
    a, b = replicas
    who = caller()
    with a.slot(who, 2), b.slot(who, 2):
        for limiter in (a, b):
            with pytest.raises(TooManyInflight), limiter.slot(who, 2):
                pass
    for n in range(4):  # failures release their slot on either replica
        with contextlib.suppress(RuntimeError), replicas[n % 2].slot(who, 1):
            raise RuntimeError("model crashed")
    with b.slot(who, 1), pytest.raises(TooManyInflight), a.slot(who, 1):
        pass
    with a.slot(caller(), 1):
        pass  # another key has its own slots


def test_slots_under_concurrency(replicas: list[Limiter]) -> None:
    who, cap, threads = caller(), 3, 10
    start = threading.Barrier(threads)
    held = threading.Event()
    got: list[bool] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        start.wait()
        try:
            with replicas[n % 2].slot(who, cap):
                with lock:
                    got.append(True)
                held.wait(5)
        except TooManyInflight:
            with lock:
                got.append(False)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    deadline = time.monotonic() + 10
    while len(got) < threads and time.monotonic() < deadline:
        time.sleep(0.01)
    held.set()
    for t in workers:
        t.join()
    assert got.count(True) == cap, got
    with replicas[0].slot(who, cap):
        pass  # all released


def test_a_dead_replicas_slots_expire(redis_url: str) -> None:
    """A replica killed mid-request never releases its slot: the slot's TTL frees it."""
    crashed = Limiter(redis_url, slot_ttl_seconds=0.5)
    alive = Limiter(redis_url)
    who = caller()
    try:
        held = crashed.slot(who, 1)  # kept: a collected generator would release its slot
        held.__enter__()  # never exited: the process is gone
        with pytest.raises(TooManyInflight), alive.slot(who, 1):
            pass
        time.sleep(0.7)
        with alive.slot(who, 1):
            pass
    finally:
        crashed.close()
        alive.close()


# --- Redis unreachable: refused, quickly ------------------------------------------------------


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung or blackholed Redis)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(srv.accept()[0])

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield int(srv.getsockname()[1])
    finally:
        stop.set()
        t.join()
        for c in accepted:
            c.close()
        srv.close()


def assert_unavailable_quickly(limiter: Limiter) -> None:
    for attempt in (
        lambda: limiter.take(caller(), 100),
        lambda: limiter.slot(caller(), 2).__enter__(),
    ):
        started = time.monotonic()
        with pytest.raises(LimitsUnavailable) as e:
            attempt()
        assert time.monotonic() - started < 2.0
        assert e.value.code == "limits_unavailable" and e.value.retry_after >= 1
    assert limiter.ping() is False


def test_nothing_listening_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    limiter = Limiter(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.ERROR, logger="api.ratelimit"):
            assert_unavailable_quickly(limiter)
        assert "unreachable" in caplog.text
    finally:
        limiter.close()


def test_a_redis_that_never_answers_is_unavailable() -> None:
    with silent_server() as port:
        limiter = Limiter(f"redis://127.0.0.1:{port}/0")
        try:
            assert_unavailable_quickly(limiter)
        finally:
            limiter.close()


def test_redis_stopping_mid_run(tmp_path: Path) -> None:
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed (`make system-deps` installs it)")
    who = caller()
    with redis_server(tmp_path) as url:
        limiter = Limiter(url)
        assert limiter.take(who, 100) == 0 and limiter.ping()
        slot = limiter.slot(who, 1)
        slot.__enter__()
    try:
        assert_unavailable_quickly(limiter)
        slot.__exit__(None, None, None)  # releasing into a dead store does not raise
    finally:
        limiter.close()


def test_unknown_storage_scheme() -> None:
    with pytest.raises(ValueError, match="EKYC_RATE_LIMIT_STORAGE"):
        Limiter("memcached://127.0.0.1:11211")
