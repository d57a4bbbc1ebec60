"""`cached_property` without a lock: computed on first use, then an instance attribute.

Python 3.11's `functools.cached_property` takes one lock per property for every instance
of the class (removed in 3.12, python/cpython#87634): two threads computing `Batch.bce` of
two different chunks waited for each other, so the engine's worker threads ran one loss
at a time. An instance here is used by one thread (a chunk's `Batch`), so nothing needs
the lock; two threads racing on one instance would compute the same value twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached_property(Generic[T]):  # noqa: N801  # named as functools' is
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value  # found before this descriptor from now on
        return value
