"""The value cache computes a missing key once however many threads ask for it at the same time."""

from __future__ import annotations

import threading
import time

import pytest

from aerie_app.services.listcache import ValueCache

pytestmark = pytest.mark.unit


def test_concurrent_callers_share_one_computation() -> None:
    cache = ValueCache()
    calls: list[int] = []

    def slow() -> list[int]:
        calls.append(1)
        time.sleep(0.2)
        return [1, 2, 3]

    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("k",), slow))) for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len(results) == 20 and all(r is results[0] for r in results)


def test_a_failed_computation_lets_the_next_caller_compute() -> None:
    cache = ValueCache()
    started = threading.Event()

    def failing() -> int:
        started.set()
        time.sleep(0.1)
        raise RuntimeError("database away")

    errors: list[BaseException] = []

    def first() -> None:
        try:
            cache.get(("k",), failing)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(5)
    assert cache.get(("k",), lambda: 7) == 7  # waited for the failure, then computed
    thread.join(5)
    assert len(errors) == 1
    assert cache.get(("k",), lambda: 8) == 7
