"""`losscli.dask.heap_kept`: glibc's thresholds are losscli's while partitions are read and
evaluated, and the environment's again (heap trimmed) once none has run for IDLE_SECONDS."""

from __future__ import annotations

import threading
import time

import pytest

import losscli.dask as ld

pytestmark = pytest.mark.skipif(ld._glibc() is None, reason="glibc only")


def _wait_until(test, seconds=5.0):
    end = time.monotonic() + seconds
    while not test() and time.monotonic() < end:
        time.sleep(0.01)
    return test()


def test_kept_within_and_given_back_after_the_idle_time(monkeypatch):
    monkeypatch.setattr(ld, "IDLE_SECONDS", 0.05)
    trims = []
    real = ld._give_back
    monkeypatch.setattr(ld, "_give_back", lambda: (trims.append(1), real()))
    with ld.heap_kept():
        assert ld._heap_kept and ld._heap_users == 1
        with ld.heap_kept():  # nested or concurrent tasks share it
            assert ld._heap_users == 2
        assert ld._heap_kept and not trims
    assert ld._heap_kept  # not at once: the next task a moment later keeps its heap
    assert _wait_until(lambda: not ld._heap_kept) and trims == [1]


def test_a_task_that_starts_within_the_idle_time_keeps_the_heap(monkeypatch):
    monkeypatch.setattr(ld, "IDLE_SECONDS", 0.3)
    given = []
    real = ld._give_back
    monkeypatch.setattr(ld, "_give_back", lambda: (given.append(1), real()))
    for _ in range(5):  # tasks back to back, as a worker runs its partitions
        with ld.heap_kept():
            time.sleep(0.01)
    assert ld._heap_kept and not given  # every timer but the last was cancelled
    assert _wait_until(lambda: not ld._heap_kept) and given == [1]


def test_threads_hold_it_until_the_last_ends(monkeypatch):
    monkeypatch.setattr(ld, "IDLE_SECONDS", 0.01)
    inside, release = threading.Barrier(3, timeout=10), threading.Event()

    def task():
        with ld.heap_kept():
            inside.wait()
            release.wait(10)

    threads = [threading.Thread(target=task) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert ld._heap_users == 2
    release.set()
    for t in threads:
        t.join(10)
    assert _wait_until(lambda: not ld._heap_kept) and ld._heap_users == 0
