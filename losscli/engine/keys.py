"""Slice keys from column values: one key per row, for `losscli.engine.slices` (SPEC §8).

A key is a tuple with one part per column of the slicing, each a string or None (null).
The rules, chosen so that a chunk's keys never depend on the other chunks:

- text keeps its text; integers (also integral floats, as a column of integers with nulls
  reads) and booleans become their text: ``3``, ``true``;
- a float that is not a whole number needs bin edges (`bins`): its slices are ``(-inf,
  E1)``, ``[E1, E2)``, ..., ``[Ek, inf)``, written with the edges as the user gave them;
- null (None, NaN, a masked cell) is its own slice, keyed None (``null`` in JSON).

`sort_keys` gives the order of the output: per part, numbers by value (bins by their
edges) when every key of that part is a number, otherwise by text; null last.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from losscli.errors import InputError, option

Key = tuple[str | None, ...]


@dataclass(frozen=True)
class Bins:
    """Bin edges of one column: `edges` ascending, `labels` the interval texts."""

    edges: tuple[float, ...]
    texts: tuple[str, ...]

    @classmethod
    def parse(cls, column: str, text: str) -> Bins:
        """`E1,E2,...` (numbers, strictly increasing) as given to ``bins``."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            edges = tuple(float(p) for p in parts)
        except ValueError:
            edges = ()
        if not edges or any(not math.isfinite(e) for e in edges):
            raise InputError(
                f"bin edges for {column!r} must be finite numbers, got {text!r}",
                fix=f"Give them as {option('bins', cli=f'{column}=E1,E2,...')}, e.g. "
                f"{option('bins', cli=f'{column}=0,10,100')}",
            )
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise InputError(
                f"bin edges for {column!r} must increase, got {text!r}",
                fix="List each edge once, smallest first",
            )
        return cls(edges, tuple(parts))

    def labels(self) -> list[str]:
        t = self.texts
        return (
            [f"(-inf, {t[0]})"]
            + [f"[{a}, {b})" for a, b in zip(t, t[1:], strict=False)]
            + [f"[{t[-1]}, inf)"]
        )


def encode(
    columns: Sequence[tuple[str, np.ndarray, NDArray[np.bool_] | None]],
    bins: Mapping[str, Bins],
    row_offset: int = 0,
) -> tuple[NDArray[np.intp], list[Key]]:
    """(codes, keys): row i's key is ``keys[codes[i]]``; `columns` are (name, values,
    null mask or None) of the slicing's parts, `row_offset` places rows in messages."""
    index = KeyIndex([name for name, _, _ in columns], max_slices=sys.maxsize)
    codes = index.number(columns, bins, row_offset)
    return codes, list(index.keys)


class KeyIndex:
    """The numbers of one slicing's keys, 0, 1, ... as they are first seen; shared by the
    accumulators of one run (`losscli.engine.slices.SlicedSums`), so that their per-key
    sums line up and merge by adding arrays, with no per-key work in a merge.

    Each part (column) numbers its values by key text; integer values are also looked up
    by value, so a text is made once per distinct value, not once per chunk. Chunks are
    numbered on worker threads: numbering holds a lock (encoding a chunk does not). The
    numbers depend on which chunk came first, the keys and their sums do not.
    """

    def __init__(self, by: Sequence[str], max_slices: int) -> None:
        self.by = tuple(by)
        self.max_slices = max_slices
        self.keys: list[Key] = []
        self._parts = [_Part() for _ in self.by]
        self._combos: dict[Any, int] = {}  # several parts: the parts' numbers → key number
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # a lock does not pickle (Dask states do)
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def number(
        self,
        columns: Sequence[tuple[str, np.ndarray, NDArray[np.bool_] | None]],
        bins: Mapping[str, Bins],
        row_offset: int = 0,
    ) -> NDArray[np.intp]:
        """Each row's key number; `columns` are (name, values, null mask or None) of the
        slicing's parts, in `by` order."""
        local = [
            _encode_one(name, values, nulls, bins.get(name), row_offset)
            for name, values, nulls in columns
        ]
        with self._lock:
            parts = [
                p.number(codes, uniques)
                for p, (codes, uniques) in zip(self._parts, local, strict=True)
            ]
            return self._combine(parts)

    def number_keys(self, keys: Sequence[Key]) -> NDArray[np.intp]:
        """The numbers of whole keys (tuples of texts), adding those not seen before."""
        with self._lock:
            parts = [p.of_texts([k[j] for k in keys]) for j, p in enumerate(self._parts)]
            return self._combine(parts)

    def _combine(self, parts: list[NDArray[np.intp]]) -> NDArray[np.intp]:
        if len(parts) == 1:  # one part: its number is the key's
            texts = self._parts[0].texts
            self.keys.extend((t,) for t in texts[len(self.keys) :])
            codes = parts[0]
        else:  # the distinct combinations of this chunk, then one lookup each
            sizes = [max(1, len(p.texts)) for p in self._parts]
            if math.prod(sizes) < 2**62:
                cells = np.ravel_multi_index(tuple(parts), sizes)
                seen, inverse = np.unique(cells, return_inverse=True)
                combos: list[Any] = [
                    tuple(c) for c in np.column_stack(np.unravel_index(seen, sizes)).tolist()
                ]
            else:
                stacked = np.column_stack(parts)
                rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
                combos = [tuple(r) for r in rows.tolist()]
            numbers = np.empty(len(combos), dtype=np.intp)
            for j, combo in enumerate(combos):
                at = self._combos.get(combo)
                if at is None:
                    at = self._combos[combo] = len(self.keys)
                    self.keys.append(
                        tuple(p.texts[c] for p, c in zip(self._parts, combo, strict=True))
                    )
                numbers[j] = at
            codes = numbers[np.asarray(inverse).reshape(-1)]
        if len(self.keys) > self.max_slices:
            raise InputError(
                f"{' × '.join(self.by)} has more than {self.max_slices:,} distinct slices",
                column=self.by[0] if len(self.by) == 1 else None,
                fix=f"Slice by a column with fewer values, give bin edges with "
                f"{option('bins')}, or raise {option('max_slices')}",
            )
        return codes.astype(np.intp, copy=False)


class _Part:
    """One column's key texts, numbered as first seen (None, the null key, included)."""

    def __init__(self) -> None:
        self.texts: list[str | None] = []
        self._by_text: dict[str | None, int] = {}
        self._ints = np.empty(0, dtype=np.int64)  # integers seen, ascending
        self._int_numbers = np.empty(0, dtype=np.intp)  # and their numbers

    def number(
        self, codes: NDArray[np.intp], uniques: np.ndarray | list[str | None]
    ) -> NDArray[np.intp]:
        """Global numbers of a chunk's local `codes` (−1 for null) into its `uniques`
        (integers, or key texts)."""
        if isinstance(uniques, np.ndarray):
            mapping = self.of_ints(uniques)
        else:
            mapping = self.of_texts(uniques)
        if codes.size and int(codes.min()) < 0:
            mapping = np.append(mapping, self.of_texts([None]))  # code −1 reads the last
        return mapping[codes]

    def of_texts(self, texts: Sequence[str | None]) -> NDArray[np.intp]:
        out = np.empty(len(texts), dtype=np.intp)
        known = self._by_text
        for i, t in enumerate(texts):
            at = known.get(t)
            if at is None:
                at = known[t] = len(self.texts)
                self.texts.append(t)
            out[i] = at
        return out

    def of_ints(self, values: NDArray[np.int64]) -> NDArray[np.intp]:
        """Numbers of distinct integers: known ones found by binary search in one NumPy
        call, new ones numbered by their text (so 3 and a text "3" are one key)."""
        known, numbers = self._ints, self._int_numbers
        at = np.minimum(np.searchsorted(known, values), max(len(known) - 1, 0))
        found = known[at] == values if len(known) else np.zeros(len(values), dtype=bool)
        out = np.where(found, numbers[at] if len(known) else -1, -1).astype(np.intp)
        new = np.flatnonzero(~found)
        if new.size:
            out[new] = self.of_texts([str(v) for v in values[new].tolist()])
            merged = np.concatenate([known, values[new]])
            order = np.argsort(merged, kind="stable")
            self._ints = merged[order]
            self._int_numbers = np.concatenate([numbers, out[new]])[order]
        return out


def _encode_one(
    name: str,
    values: np.ndarray,
    nulls: NDArray[np.bool_] | None,
    bins: Bins | None,
    row_offset: int,
) -> tuple[NDArray[np.intp], np.ndarray | list[str | None]]:
    """A chunk's codes of one column (−1 for null) and its distinct values: an integer array
    (numbered by value) or their key texts."""
    if bins is not None:
        return _binned(name, values, nulls, bins, row_offset)
    import pandas as pd

    values = np.asarray(values)
    if values.dtype.kind == "f":
        fractional = np.isfinite(values) & (values != np.floor(values))
        if fractional.any():
            raise _needs_bins(name, values, int(np.argmax(fractional)), row_offset)
        huge = np.isfinite(values) & (np.abs(values) >= 2.0**53)
        if huge.any():  # read as float64 (CSV, numeric columns): neighbours there are equal
            i = int(np.argmax(huge))
            raise InputError(
                f"{name!r} holds integers beyond 2^53 ({values[i]:.0f}), which float64 cannot "
                "tell apart, so their slices would merge",
                column=name,
                row=row_offset + i + 1,
                fix="Store the ids as text (a string column in Parquet, a non-numeric prefix in CSV)",
            )
    dense = _dense_integers(values)
    if dense is not None:
        codes, uniques = dense
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = codes.astype(np.intp, copy=False)
    if nulls is not None and nulls.any():
        codes = np.where(nulls, -1, codes)
    uniques = np.asarray(uniques)
    if uniques.dtype.kind == "i" or (
        uniques.dtype.kind == "u" and uniques.size and uniques.max() < 2**63
    ):
        return codes, uniques.astype(np.int64, copy=False)
    if uniques.dtype.kind == "u" and not uniques.size:
        return codes, uniques.astype(np.int64)
    if uniques.dtype.kind == "f" and np.isfinite(uniques).all():  # whole (fractions refused)
        return codes, uniques.astype(np.int64)
    texts = _texts(uniques)
    if values.dtype.kind == "O":
        numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(float)
        fraction = np.isfinite(numbers) & (numbers != np.floor(numbers))
        if fraction.any():
            j = int(np.argmax(fraction))
            raise _needs_bins(name, values, int(np.argmax(codes == j)), row_offset)
    null = [j for j, t in enumerate(texts) if t is None]
    if null:
        codes = np.where(np.isin(codes, null), -1, codes)
    return codes, texts


def _dense_integers(values: np.ndarray) -> tuple[NDArray[np.intp], np.ndarray] | None:
    """Codes and distinct values of integers in a narrow range, by counting instead of
    hashing (ids, regions, years: 5× faster than `pd.factorize`); the distinct values come
    in ascending order rather than in order of appearance, which only numbers them. None
    when the values are not integers (or whole floats) or spread too wide."""
    if values.dtype.kind not in "iuf" or values.size == 0:
        return None
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            return None  # NaN is null: pd.factorize handles it
        whole = values.astype(np.int64)
        if not (whole == values).all():
            return None
        values = whole
    lo, hi = int(values.min()), int(values.max())
    if hi >= 2**63:  # uint64 beyond int64: hashed instead
        return None
    span = hi - lo + 1
    if span > max(1 << 16, 2 * values.size):
        return None
    shifted = (values - lo).astype(np.intp, copy=False)
    present = np.flatnonzero(np.bincount(shifted, minlength=span))
    lookup = np.full(span, -1, dtype=np.intp)
    lookup[present] = np.arange(present.size)
    return lookup[shifted], present + lo


def _texts(uniques: np.ndarray) -> list[str | None]:
    """The key text of each distinct value (booleans as ``true``/``false``)."""
    if uniques.dtype.kind == "b":
        return np.where(uniques, "true", "false").tolist()
    return [_text(u) for u in uniques]


def _binned(
    name: str, values: np.ndarray, nulls: NDArray[np.bool_] | None, bins: Bins, row_offset: int
) -> tuple[NDArray[np.intp], list[str | None]]:
    import pandas as pd

    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        x = values.astype(np.float64)
    else:
        x = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(np.float64)
        bad = np.isnan(x) & ~pd.isna(pd.Series(values, dtype=object)).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{values[i]!r} is not a number, but {name!r} has bin edges",
                column=name,
                row=row_offset + i + 1,
                fix=f"Leave out {option('bins', cli=name + '=...')} to slice by its text, "
                "or fix the cell",
            )
    missing = np.isnan(x) if nulls is None else (np.isnan(x) | nulls)
    codes = np.searchsorted(np.asarray(bins.edges), x, side="right").astype(np.intp)
    if missing.any():
        codes = np.where(missing, -1, codes)
    return codes, list(bins.labels())


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "inf" if value > 0 else "-inf"
        return str(int(value))  # integral (fractions were refused)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _needs_bins(name: str, values: np.ndarray, i: int, row_offset: int) -> InputError:
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    edges = ",".join(f"{q:.3g}" for q in np.unique(np.nanquantile(numbers, [0.25, 0.5, 0.75])))
    return InputError(
        f"{name!r} holds fractional numbers ({values[i]}), which would make a slice per value",
        column=name,
        row=row_offset + i + 1,
        fix=f"Give bin edges with {option('bins', cli=name + '=E1,E2,...')} "
        f"(e.g. {option('bins', cli=name + '=' + edges)}, this chunk's quartiles), "
        "or slice by another column",
    )


def sort_order(keys: Sequence[Key], bins: Mapping[str, Bins], by: Sequence[str]) -> list[int]:
    """Positions of `keys` in output order: per part numbers by value (bins by edge) when
    every key's part is a number, else by text; null last; the first part first."""
    if not keys:
        return []
    ranks = [_ranks([k[j] for k in keys], bins.get(name)) for j, name in enumerate(by)]
    return np.lexsort(ranks[::-1]).tolist()


def _ranks(part: list[str | None], bins: Bins | None) -> NDArray[np.intp]:
    """Each value's rank in its column's order (equal texts rank alike, null last); the
    distinct values are ranked once, so 10⁵ slices sort in milliseconds."""
    distinct = list(dict.fromkeys(part))
    texts = [t for t in distinct if t is not None]
    if bins is not None:
        at = {t: i for i, t in enumerate(bins.labels())}
        order = sorted(range(len(texts)), key=lambda i: at[texts[i]])  # type: ignore[index]
    else:
        numbers = [_number(t) for t in texts]
        if all(x is not None for x in numbers):  # by value, then text ("3" before "3.0")
            order = np.lexsort((np.array(texts, dtype=object).argsort(kind="stable").argsort(),
                                np.array(numbers, dtype=np.float64))).tolist()  # fmt: skip
        else:
            order = np.array(texts, dtype=object).argsort(kind="stable").tolist()
    rank = {texts[i]: r for r, i in enumerate(order)}
    rank[None] = len(texts)  # type: ignore[index]
    return np.array([rank[t] for t in part], dtype=np.intp)


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def key_text(by: Sequence[str], key: Key) -> str:
    """``region=eu,device=ios`` (null written ``null``), as JUnit names and CSV rows use."""
    return ",".join(f"{b}={'null' if v is None else v}" for b, v in zip(by, key, strict=True))
