"""Sums that do not depend on how the rows were chunked: `CompensatedSum`.

Within a chunk NumPy sums pairwise; across chunks the sums are kept as (hi, lo) pairs merged
with Knuth's TwoSum, so a result does not depend, beyond the last digit or so, on the
chunking or on the order in which chunks, threads or partitions were merged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(slots=True)
class CompensatedSum:
    """An array of sums kept as hi + lo, with lo the rounding error of every addition."""

    hi: Array
    lo: Array
    empty: bool = False  # nothing added yet: the first `add` is a copy, exact

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> CompensatedSum:
        return cls(np.zeros(shape), np.zeros(shape), empty=True)

    def add(self, values: Array) -> None:
        # 0 + v = v exactly: a fresh chunk's sums (10⁵ slices) are one copy, no TwoSum
        if self.empty and np.shape(values) == self.hi.shape:
            self.hi = np.array(values, dtype=np.float64)
            self.lo = np.zeros_like(self.hi)
            self.empty = False
            return
        # TwoSum: s = a + b exactly equals hi + err with err computed without branches;
        # two temporaries, written in place (10⁵-slice sums are added once per chunk)
        s = self.hi + values
        bp = s - self.hi
        t = s - bp
        np.subtract(self.hi, t, out=t)
        np.subtract(values, bp, out=bp)
        t += bp
        self.hi = s  # a new array: `hi` is never written in place, and may be shared
        self.lo += t  # `lo` is this sum's own (made by `zeros`, `add`, `merged` or `grown`)

    def merged(self, other: CompensatedSum) -> CompensatedSum:
        out = CompensatedSum(self.hi, self.lo + other.lo)
        out.add(other.hi)
        return out

    def absorb(self, other: CompensatedSum) -> None:
        """Add `other`'s sums into this one (in place: for a running total)."""
        if other.empty:
            return
        if self.empty:
            self.hi, self.lo, self.empty = other.hi, other.lo.copy(), False
            return
        self.lo += other.lo
        self.add(other.hi)

    def value(self) -> Array:
        return self.hi + self.lo

    def grown(self, rows: int) -> CompensatedSum:
        """The same sums with zero rows appended along the first axis, up to `rows` rows
        (new slices start at zero)."""
        extra = rows - self.hi.shape[0]
        if extra <= 0:
            return self
        if self.empty:  # nothing to keep: fresh zeros (calloc) rather than a padded copy
            return CompensatedSum.zeros((rows, *self.hi.shape[1:]))
        pad = [(0, extra)] + [(0, 0)] * (self.hi.ndim - 1)
        return CompensatedSum(np.pad(self.hi, pad), np.pad(self.lo, pad), self.empty)
