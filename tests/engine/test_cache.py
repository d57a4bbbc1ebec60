"""`losscli.engine.cache.cached_property`: threads computing one property of two
instances run at once (Python 3.11's functools version serialises them on one lock)."""

from __future__ import annotations

import threading

from losscli.engine.batch import Batch
from losscli.engine.cache import cached_property


def test_two_instances_compute_at_the_same_time():
    barrier = threading.Barrier(2, timeout=10)  # broken if the second thread never arrives

    class Chunk:
        calls = 0

        @cached_property
        def value(self) -> int:
            """Doc kept."""
            Chunk.calls += 1
            barrier.wait()  # both threads inside the property at once, or a timeout
            return id(self)

    a, b = Chunk(), Chunk()
    out: dict[str, object] = {}
    threads = [threading.Thread(target=lambda c=c, k=k: out.__setitem__(k, c.value))
               for k, c in (("a", a), ("b", b))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert out == {"a": id(a), "b": id(b)} and not barrier.broken
    assert a.value == id(a) and Chunk.calls == 2  # cached: the second read computes nothing
    assert Chunk.value.__doc__ == "Doc kept." and "value" in a.__dict__


def test_the_engine_uses_it():
    assert isinstance(Batch.__dict__["bce"], cached_property)
