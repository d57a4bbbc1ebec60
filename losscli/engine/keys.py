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
    parts = [
        _encode_one(name, values, nulls, bins.get(name), row_offset)
        for name, values, nulls in columns
    ]
    if len(parts) == 1:
        codes, uniques = parts[0]
        return codes, [(u,) for u in uniques]
    # the cross: one number per combination seen (a null part has its own code already)
    sizes = [len(u) for _, u in parts]
    cells = np.ravel_multi_index(tuple(c for c, _ in parts), sizes)
    seen, codes = np.unique(cells, return_inverse=True)
    combos = np.unravel_index(seen, sizes)
    keys = [
        tuple(u[int(at[j])] for (_, u), at in zip(parts, combos, strict=True))
        for j in range(len(seen))
    ]
    return codes.astype(np.intp, copy=False), keys


def _encode_one(
    name: str,
    values: np.ndarray,
    nulls: NDArray[np.bool_] | None,
    bins: Bins | None,
    row_offset: int,
) -> tuple[NDArray[np.intp], list[str | None]]:
    """Codes (−1 for null) and the distinct key texts of one column."""
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
    texts = _texts(np.asarray(uniques))
    if values.dtype.kind == "O":
        numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(float)
        fraction = np.isfinite(numbers) & (numbers != np.floor(numbers))
        if fraction.any():
            j = int(np.argmax(fraction))
            raise _needs_bins(name, values, int(np.argmax(codes == j)), row_offset)
    return _null_last(codes, texts)


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
    span = hi - lo + 1
    if span > max(1 << 16, 2 * values.size):
        return None
    shifted = (values - lo).astype(np.intp, copy=False)
    present = np.flatnonzero(np.bincount(shifted, minlength=span))
    lookup = np.full(span, -1, dtype=np.intp)
    lookup[present] = np.arange(present.size)
    return lookup[shifted], present + lo


def _texts(uniques: np.ndarray) -> list[str | None]:
    """The key text of each distinct value; whole columns at once where the dtype allows
    (10⁵ distinct integers per chunk cost milliseconds, not a Python call each)."""
    if uniques.dtype.kind == "b":
        return np.where(uniques, "true", "false").tolist()
    if uniques.dtype.kind in "iu":
        return uniques.astype(str).tolist()
    if uniques.dtype.kind == "f" and np.isfinite(uniques).all():  # whole (fractions refused)
        return uniques.astype(np.int64).astype(str).tolist()
    return [_text(u) for u in uniques]


def _null_last(
    codes: NDArray[np.intp], texts: list[str | None]
) -> tuple[NDArray[np.intp], list[str | None]]:
    """Null (code −1, or a value whose text is None) becomes one more code, keyed None."""
    null = [j for j, t in enumerate(texts) if t is None]
    if null:
        codes = np.where(np.isin(codes, null), -1, codes)
    if -1 not in codes:
        return codes, texts
    out: list[str | None] = list(texts)
    return np.where(codes < 0, len(out), codes), out + [None]


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
    labels: list[str | None] = list(bins.labels())
    if missing.any():
        codes = np.where(missing, len(labels), codes)
        labels.append(None)
    return codes, labels


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
    every key's part is a number, else by text; null last."""
    ranks: list[dict[str | None, tuple[Any, ...]]] = []
    for j, name in enumerate(by):
        values = {k[j] for k in keys}
        order: dict[str | None, tuple[Any, ...]]
        if name in bins:
            order = {t: (0, i) for i, t in enumerate(bins[name].labels())}
        elif all(v is None or _number(v) is not None for v in values):
            order = {v: (0, _number(v), v) for v in values if v is not None}
        else:
            order = {v: (0, v) for v in values if v is not None}
        order[None] = (1,)
        ranks.append(order)
    return sorted(range(len(keys)), key=lambda i: tuple(r[keys[i][j]] for j, r in enumerate(ranks)))


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def key_text(by: Sequence[str], key: Key) -> str:
    """``region=eu,device=ios`` (null written ``null``), as JUnit names and CSV rows use."""
    return ",".join(f"{b}={'null' if v is None else v}" for b, v in zip(by, key, strict=True))
