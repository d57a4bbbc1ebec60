"""Sums that do not depend on how the rows were chunked: `CompensatedSum`.

Within a chunk NumPy sums pairwise; across chunks the sums are kept as (hi, lo) pairs merged
with Knuth's TwoSum, so a result does not depend, beyond the last digit or so, on the
chunking or on the order in which chunks, threads or partitions were merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(slots=True)
class CompensatedSum:
    """An array of sums kept as hi + lo, with lo the rounding error of every addition."""

    hi: Array
    lo: Array
    empty: bool = False  # nothing added yet: the first `add` is a copy, exact
    # a running total (`absorb`) owns its `hi` and keeps three arrays of its shape for
    # TwoSum, so that adding 10⁵-slice sums per chunk allocates nothing
    _own: bool = field(default=False, repr=False, compare=False)
    _scratch: tuple[Array, Array, Array] | None = field(default=None, repr=False, compare=False)
    # `lo` is all zeros, never written (a chunk's first sums): `absorb` need not add it
    _exact: bool = field(default=False, repr=False, compare=False)
    # every value added was a whole number (counts of rows): the sums are exact, `lo` is
    # zero, and adding more whole numbers needs no TwoSum (one pass instead of eight)
    _whole: bool = field(default=False, repr=False, compare=False)

    def __getstate__(self) -> tuple[Array, Array, bool]:  # no scratch in a Dask state
        return self.hi, self.lo, self.empty

    def __setstate__(self, state: tuple[Array, Array, bool]) -> None:
        self.hi, self.lo, self.empty = state
        self._own, self._scratch, self._exact, self._whole = False, None, False, False

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> CompensatedSum:
        return cls(np.zeros(shape), np.zeros(shape), empty=True, _whole=True)

    def add(self, values: Array, keep: bool = False, whole: bool = False) -> None:
        """Add `values`; with `keep` the caller gives them away (a new float64 array that
        nothing else writes), so that a chunk's first sums are kept as they are; `whole`:
        they are whole numbers (below 2⁵³)."""
        # 0 + v = v exactly: a fresh chunk's sums (10⁵ slices) are kept, no TwoSum, and no
        # page of `lo` is touched (np.zeros maps zero pages)
        if self.empty and np.shape(values) == self.hi.shape:
            keep = keep and isinstance(values, np.ndarray) and values.dtype == np.float64
            self.hi = values if keep else np.array(values, dtype=np.float64)
            self.lo = np.zeros(self.hi.shape)
            self.empty, self._exact, self._whole = False, True, whole
            return
        if self._whole and whole:  # exact: no rounding error to keep
            self.hi = self.hi + values
            return
        self._exact = self._whole = False
        # TwoSum: s = a + b exactly equals hi + err with err computed without branches;
        # two temporaries, written in place (10⁵-slice sums are added once per chunk)
        s = self.hi + values
        bp = s - self.hi
        t = s - bp
        np.subtract(self.hi, t, out=t)
        np.subtract(values, bp, out=bp)
        t += bp
        self.hi = s  # a new array: the old `hi` may be another sum's (only `absorb` reuses)
        self.lo += t  # `lo` is this sum's own (made by `zeros`, `add`, `merged` or `grown`)

    def merged(self, other: CompensatedSum) -> CompensatedSum:
        if self._whole and other._whole:
            return CompensatedSum(self.hi + other.hi, np.zeros(self.hi.shape), self.empty and
                                  other.empty, _exact=True, _whole=True)  # fmt: skip
        out = CompensatedSum(self.hi, self.lo + other.lo)
        out.add(other.hi)
        return out

    def absorb(self, other: CompensatedSum) -> None:
        """Add `other`'s sums into this one, in place (a running total: the same TwoSum as
        `add`, into arrays this sum keeps)."""
        if other.empty:
            return
        if self.empty:
            self.hi, self.lo, self.empty = other.hi.copy(), other.lo.copy(), False
            self._own, self._exact, self._whole = True, other._exact, other._whole
            return
        if not self._own:  # `hi` may be another sum's too
            self.hi, self._own = self.hi.copy(), True
        if self._whole and other._whole:  # exact: no rounding error to keep
            self.hi += other.hi
            return
        self._whole = False
        if self._scratch is None or self._scratch[0].shape != self.hi.shape:
            self._scratch = (np.empty_like(self.hi), np.empty_like(self.hi), np.empty_like(self.hi))
        s, bp, t = self._scratch
        a, b = self.hi, other.hi
        np.add(a, b, out=s)
        np.subtract(s, a, out=bp)
        np.subtract(s, bp, out=t)
        np.subtract(a, t, out=t)
        np.subtract(b, bp, out=bp)
        t += bp
        if not other._exact:
            self.lo += other.lo
        self.lo += t
        self._exact = False
        self.hi, self._scratch = s, (a, bp, t)  # the old `hi` is scratch from now on

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
        return CompensatedSum(np.pad(self.hi, pad), np.pad(self.lo, pad), self.empty, _own=True,
                              _whole=self._whole)  # fmt: skip
