"""Slices as users read them: ordered groups, small ones marked, a summary per loss (SPEC §8).

The engine gives each slicing's slices as columns, in key-number order
(`losscli.engine.slices.SliceTable`); this module only orders, marks and summarises them,
as arrays, for the JSON, the table and the gates alike:

- order: by key (`losscli.engine.keys.order_of_parts`), or worst first by `sort_by`;
- `small`: fewer rows than `min_rows`; left out of the summary and of gates;
- summary per loss: the largest and smallest value over the groups that are not small, with
  their keys, and the gap between them;
- `top`: keep the `top` worst groups by the first loss (or `sort_by`), and count the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from losscli.engine.keys import Bins, Key, encode, key_text, order_of_parts
from losscli.engine.limits import MAX_SLICES
from losscli.engine.slices import SliceTable
from losscli.engine.worst import WorstRows
from losscli.errors import InputError, option

Array = NDArray[np.float64]


@dataclass
class Group:
    """One slice: its key by column, totals and values (None where undefined)."""

    key: dict[str, str | None]
    n_samples: int
    sum_weights: float
    losses: dict[str, float | None]
    small: bool = False

    def name(self) -> str:
        """``region=eu,device=ios``: JUnit's and the CSV's name of the slice."""
        return key_text(list(self.key), tuple(self.key.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": dict(self.key),
            "n_samples": self.n_samples,
            "sum_weights": self.sum_weights,
            "losses": dict(self.losses),
            "small": self.small,
        }


@dataclass
class Extreme:
    """The worst and best group of one loss, and the gap between them."""

    max: float
    max_key: dict[str, str | None]
    min: float
    min_key: dict[str, str | None]

    @property
    def gap(self) -> float:
        return self.max - self.min

    def to_dict(self) -> dict[str, Any]:
        return {
            "max": self.max,
            "max_key": self.max_key,
            "min": self.min,
            "min_key": self.min_key,
            "gap": self.gap,
        }


@dataclass
class Slicing:
    """One ``by``: its slices in output order, which are small, and the summary per loss.

    `table` holds every slice as columns (`losscli.engine.slices.SliceTable`); `groups`
    (those shown) and `hidden` (those `top` leaves out, still gated) are made from it
    when first read.
    """

    by: list[str]
    table: SliceTable
    small: NDArray[np.bool_]
    summary: dict[str, Extreme] = field(default_factory=dict)
    shown: NDArray[np.intp] | None = None  # positions `top` keeps, in order; None: all
    min_rows: int = 0  # groups under it are small

    @property
    def left_out(self) -> int:
        """Slices beyond `top`."""
        return 0 if self.shown is None else len(self.table) - len(self.shown)

    def _positions(self, hidden: bool = False) -> NDArray[np.intp]:
        every = np.arange(len(self.table))
        if self.shown is None:
            return every[:0] if hidden else every
        return np.setdiff1d(every, self.shown) if hidden else self.shown

    @cached_property
    def groups(self) -> list[Group]:
        return self._groups(self._positions())

    @cached_property
    def hidden(self) -> list[Group]:
        return self._groups(self._positions(hidden=True))

    def _groups(self, positions: NDArray[np.intp]) -> list[Group]:
        t, by = self.table, self.by
        n, w = t.n_samples[positions].tolist(), t.sum_weights[positions].tolist()
        small = self.small[positions].tolist()
        values = [(name, _nullable(v[positions])) for name, v in t.losses.items()]
        return [
            Group(
                dict(zip(by, t.keys[i], strict=True)),
                n[j],
                w[j],
                {name: v[j] for name, v in values},
                small[j],
            )  # fmt: skip
            for j, i in enumerate(positions.tolist())
        ]

    def to_dict(self, every: bool = False, records: bool = True) -> dict[str, Any]:
        """The JSON of SPEC §8; `every` adds the groups `top` leaves out (what gates read).
        Without `records` the groups are only their JSON lines, for writing at once."""
        from losscli.render.json import Rows

        positions = self._positions()
        if every:
            positions = np.concatenate([positions, self._positions(hidden=True)])
        rows = self._records(positions) if records else []
        out: dict[str, Any] = {
            "by": list(self.by),
            "groups": Rows(rows, lines=self._json_lines(positions)),
            "summary": {name: e.to_dict() for name, e in self.summary.items()},
        }
        if self.left_out:
            out["left_out"] = self.left_out
        return out

    def _records(self, positions: NDArray[np.intp]) -> list[dict[str, Any]]:
        """`Group.to_dict` of each slice, made from the columns."""
        t, by = self.table, self.by
        keys = [dict(zip(by, t.keys[i], strict=True)) for i in positions.tolist()]
        values = [(name, _nullable(v[positions])) for name, v in t.losses.items()]
        names = [name for name, _ in values]
        losses = (
            [
                dict(zip(names, row, strict=True))
                for row in zip(*(v for _, v in values), strict=True)
            ]
            if values
            else [{} for _ in keys]
        )
        return [
            {"key": k, "n_samples": n, "sum_weights": w, "losses": v, "small": m}
            for k, n, w, v, m in zip(
                keys,
                t.n_samples[positions].tolist(),
                t.sum_weights[positions].tolist(),
                losses,
                self.small[positions].tolist(),
                strict=True,
            )
        ]

    def _json_lines(self, positions: NDArray[np.intp]) -> list[str]:
        """`Group.to_dict` of each slice as compact JSON, made column by column: what
        `losscli.render.json.dumps` writes for them, one %-format per slice (~4× faster
        than encoding a record each)."""
        from losscli.render.json import numbers, text, texts

        t = self.table
        every = len(positions) == len(t) and bool((positions == np.arange(len(t))).all())
        at = positions.tolist()
        parts = [texts(p if every else [p[i] for i in at]) for p in t.parts]

        def column(values: Array) -> tuple[str, list[Any]]:
            """A float column's format and items: %r of each float (`repr`, as `dumps`
            writes it) when all are finite, else their texts with null; whole numbers
            below 10¹⁶ (Σω of unweighted rows), which `repr` writes as ``12.0``, as ints."""
            chosen = values[positions]
            if not np.isfinite(chosen).all():
                return "%s", numbers(chosen)
            if ((chosen == np.trunc(chosen)) & (chosen < 1e16) & ~np.signbit(chosen)).all():
                return "%d.0", chosen.astype(np.int64).tolist()
            return "%r", chosen.tolist()

        weights = column(t.sum_weights)
        losses = [(name, column(v)) for name, v in t.losses.items()]
        # names may hold %: doubled in the format
        key = ", ".join(f"{text(b).replace('%', '%%')}: %s" for b in self.by)
        values = ", ".join(f"{text(name).replace('%', '%%')}: {f}" for name, (f, _) in losses)
        line = (
            f'{{"key": {{{key}}}, "n_samples": %d, "sum_weights": {weights[0]}, '
            f'"losses": {{{values}}}, "small": %s}}'
        )
        return [
            line % row
            for row in zip(
                *parts,
                t.n_samples[positions].tolist(),
                weights[1],
                *(items for _, (_, items) in losses),
                ["true" if x else "false" for x in self.small[positions].tolist()],
                strict=True,
            )
        ]


def _nullable(values: Array) -> list[float | None]:
    """The values as floats, None where NaN."""
    return [x if x == x else None for x in values.tolist()]


def build(
    by: Sequence[str],
    table: SliceTable,
    losses: Sequence[str],
    bins: Mapping[str, Bins],
    min_rows: int = 0,
    sort_by: str | None = None,
    top: int | None = None,
) -> Slicing:
    """The `Slicing` of the engine's slices of one slicing (see the module docstring)."""
    order = order_of_parts(table.parts, bins, by)
    if sort_by is not None:
        order = order[_worst_first(table.losses[sort_by][order])]
    t = table.take(order)
    small = t.n_samples < min_rows
    slicing = Slicing(list(by), t, small, _summary(t, small, by, losses), min_rows=min_rows)
    if top is not None and len(t) > top:
        ranked = np.arange(len(t)) if sort_by is not None else _worst_first(t.losses[losses[0]])
        slicing.shown = np.sort(ranked[:top])
    return slicing


def _worst_first(values: Array) -> NDArray[np.intp]:
    """Positions, largest value first; undefined (NaN) last; ties keep their order."""
    undefined = np.isnan(values)
    return np.lexsort((np.where(undefined, 0.0, -values), undefined)).astype(np.intp)


def _summary(
    t: SliceTable, small: NDArray[np.bool_], by: Sequence[str], losses: Sequence[str]
) -> dict[str, Extreme]:
    out: dict[str, Extreme] = {}
    for name in losses:
        values = t.losses.get(name)
        if values is None:
            continue
        seen = np.flatnonzero(~small & ~np.isnan(values))
        if not seen.size:
            continue
        hi = int(seen[np.argmax(values[seen])])  # the first of equals, in slice order
        lo = int(seen[np.argmin(values[seen])])
        out[name] = Extreme(
            float(values[hi]),
            dict(zip(by, t.key(hi), strict=True)),
            float(values[lo]),
            dict(zip(by, t.key(lo), strict=True)),
        )
    return out


def tidy_rows(slicings: Sequence[Slicing]) -> list[dict[str, Any]]:
    """One row per (slicing, group, loss): slicing, key, loss, value, n_samples,
    sum_weights (the API's `to_frame`)."""
    return [
        {
            "slicing": ",".join(s.by),
            "key": g.name(),
            "loss": name,
            "value": value,
            "n_samples": g.n_samples,
            "sum_weights": g.sum_weights,
        }
        for s in slicings
        for g in s.groups
        for name, value in g.losses.items()
    ]


@dataclass
class SliceSpec:
    """What to slice by and which rows to list, decided before the first row (SPEC §8).

    Attributes:
        by: each slicing's columns (``[("region",), ("region", "device")]``).
        per_class: one more slicing, by the true class.
        bins: bin edges of numeric columns.
        min_rows: groups with fewer rows are marked small.
        max_slices: more distinct keys in one slicing is an error.
        sort_by: list groups worst first by this loss (default: by key).
        top: keep only the `top` worst groups of each slicing.
        worst: list the rows with the `worst` largest ℓᵢ of `worst_by`.
        show: columns to show for each worst row.
    """

    by: list[tuple[str, ...]] = field(default_factory=list)
    per_class: bool = False
    bins: dict[str, Bins] = field(default_factory=dict)
    min_rows: int = 0
    max_slices: int = MAX_SLICES
    sort_by: str | None = None
    top: int | None = None
    worst: int = 0
    worst_by: str | None = None
    show: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """Every column the slicings and the worst rows read, without repeats."""
        return list(dict.fromkeys([c for b in self.by for c in b] + self.show))

    def columns_of(
        self, data: Mapping[str, tuple[np.ndarray, np.ndarray | None]], start: int, stop: int
    ) -> list[list[tuple[str, np.ndarray, np.ndarray | None]]]:
        """Each slicing's columns as (name, values, null mask) for rows start:stop of
        `data` (name → values, null mask), as the engine numbers keys from them."""
        out = []
        for by in self.by:
            columns = []
            for name in by:
                values, nulls = data[name]
                columns.append(
                    (name, values[start:stop], None if nulls is None else nulls[start:stop])
                )
            out.append(columns)
        return out

    def keys_of(
        self,
        data: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
        start: int,
        stop: int,
        offset: int,
    ) -> list[tuple[np.ndarray, list[Key]]]:
        """Each slicing's (codes, keys) for rows start:stop of `data`, `offset` being the
        0-based input row of `start` (for messages)."""
        return [encode(cols, self.bins, offset) for cols in self.columns_of(data, start, stop)]

    def finish(
        self,
        reduced_slices: Sequence[tuple[tuple[str, ...], SliceTable]],
        losses: Sequence[str],
    ) -> list[Slicing]:
        """The engine's slices as ordered, marked and summarised `Slicing`s."""
        return [
            build(by, table, losses, self.bins, self.min_rows, self.sort_by, self.top)
            for by, table in reduced_slices
        ]

    @property
    def active(self) -> bool:
        return bool(self.by or self.per_class or self.worst)

    def check_losses(self, names: Sequence[str], reduction: str = "mean") -> None:
        """`sort_by` names a loss that is computed (`worst_by` is checked by the engine);
        slices and worst rows reduce, so ``reduction='none'`` does not go with them."""
        if self.active and reduction == "none":
            raise InputError(
                f"{option('reduction', 'none')} gives one value per row, and slices and worst "
                "rows reduce rows to values",
                fix=f"Leave out {option('reduction')} (worst rows list the largest ℓᵢ)",
            )
        if self.sort_by is not None and self.sort_by not in names:
            raise InputError(
                f"{option('sort_slices', self.sort_by)} is not one of the losses computed",
                fix=f"Choose one of {', '.join(names)}",
            )


SLICE_KEYWORDS = ("by", "slicings", "per_class", "bins", "min_slice_rows", "max_slices",
                  "sort_slices", "top_slices", "worst", "worst_by", "show_cols")  # fmt: skip


def slice_spec(
    columns: Sequence[str] = (),
    *,
    slicings: Sequence[Sequence[str] | str] | None = None,
    per_class: bool = False,
    bins: Mapping[str, Any] | None = None,
    min_slice_rows: int = 0,
    max_slices: int = MAX_SLICES,
    sort_slices: str | None = None,
    top_slices: int | None = None,
    worst: int = 0,
    worst_by: str | None = None,
    show_cols: Sequence[str] = (),
) -> SliceSpec:
    """A validated `SliceSpec` from the API's keywords; `columns` are the names of the
    slice data (each its own slicing unless `slicings` lists them, tuples for crosses)."""
    for name in show_cols:
        if name in WORST_FIELDS or (columns and name not in columns):
            raise InputError(
                f"{option('show_cols')} names {name!r}, "
                + (
                    "a field every worst row has"
                    if name in WORST_FIELDS
                    else "which is not a column"
                ),
                fix="Name another column"
                if name in WORST_FIELDS
                else f"Choose among {', '.join(columns)}",
            )
    for name, value, low in (("min_slice_rows", min_slice_rows, 0), ("max_slices", max_slices, 1),
                             ("top_slices", top_slices, 1), ("worst", worst, 0)):  # fmt: skip
        if value is None and name == "top_slices":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(
                f"{option(name, value)} must be a whole number ≥ {low}",
                fix=f"Pass {option(name)} as an integer",
            )
    if slicings is None:  # every column of the slice data, but those only shown
        slicings = [(c,) for c in columns if c not in show_cols]
    chosen = [(s,) if isinstance(s, str) else tuple(s) for s in slicings]
    for by in chosen:
        for name in by:
            if columns and name not in columns:
                raise InputError(
                    f"{option('slicings')} names {name!r}, which the slice data does not hold",
                    fix=f"Choose among {', '.join(columns)}",
                )
    parsed = {}
    for name, edges in (bins or {}).items():
        text = edges if isinstance(edges, str) else ",".join(str(e) for e in edges)
        parsed[name] = Bins.parse(name, text)
    return SliceSpec(
        by=chosen,
        per_class=bool(per_class),
        bins=parsed,
        min_rows=int(min_slice_rows),
        max_slices=int(max_slices),
        sort_by=sort_slices,
        top=None if top_slices is None else int(top_slices),
        worst=int(worst),
        worst_by=worst_by,
        show=list(show_cols),
    )


def slice_data(by: Any, n: int) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """The API's `by`: an array (or Series), a dict of arrays or a DataFrame, as name →
    (values, null mask); every column must have the n rows of the predictions."""
    import pandas as pd

    if by is None:
        return {}
    if hasattr(by, "column_names") and hasattr(by, "column"):  # a pyarrow Table
        by = by.to_pandas()
    if isinstance(by, pd.DataFrame):
        items = {str(c): by[c] for c in by.columns}
    elif isinstance(by, Mapping):
        items = {str(k): v for k, v in by.items()}
    else:
        items = {str(getattr(by, "name", None) or "by"): by}
    out = {}
    for name, values in items.items():
        series = values if isinstance(values, pd.Series) else pd.Series(_as_1d(values, name))
        if len(series) != n:
            raise InputError(
                f"the slice column {name!r} has {len(series)} rows, preds has {n}",
                fix=f"Give {option('by')} one value per row",
            )
        arr = series.to_numpy()
        out[name] = (arr, series.isna().to_numpy() if arr.dtype.kind == "O" else None)
    return out


def _as_1d(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "to_pylist") and hasattr(values, "type"):  # a pyarrow (chunked) array
        values = values.to_pandas()
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim != 1:
        raise InputError(
            f"the slice column {name!r} has shape {arr.shape}; expected one value per row",
            fix=f"Give {option('by')} as 1-D arrays",
        )
    return arr


# the fields of every worst row (SPEC §8); shown columns may not take these names (a shown
# column named like the id column shows the same values)
WORST_FIELDS = ("row", "line", "pred", "label", "weight", "loss")


def show_columns(
    names: Sequence[str], data: Mapping[str, tuple[np.ndarray, np.ndarray | None]]
) -> Callable[[NDArray[np.intp]], dict[str, list[Any]]]:
    """How to name rows among the worst: the values of the shown columns at positions."""

    def describe(positions: NDArray[np.intp]) -> dict[str, list[Any]]:
        out = {}
        for name in names:
            values, nulls = data[name]
            out[name] = [
                None if nulls is not None and nulls[i] else plain(values[i]) for i in positions
            ]
        return out

    return describe


def plain(value: Any) -> Any:
    """A value for JSON: NumPy scalars as Python ones, NaN as None, whole floats as
    integers, bytes as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # an integer column read as float64 (CSV, nulls), as keys read it
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def worst_entries(worst: WorstRows, plan: Any) -> list[dict[str, Any]]:
    """The worst rows as SPEC §8's entries: row (1-based), line, id and shown columns when
    known, prediction, label (a class name for classification), weight and ℓᵢ."""
    classes = plan.classes if plan.task != "regression" else None
    out = []
    for loss, row, facts in zip(worst.loss, worst.rows, worst.facts, strict=True):
        entry: dict[str, Any] = {"row": int(row) + 1}
        entry.update({k: v for k, v in facts.items() if k not in ("pred", "label", "weight")})
        label = facts["label"]
        if classes and isinstance(label, int) and 0 <= label < len(classes):
            label = classes[label]
        entry.update(
            pred=facts["pred"], label=label, weight=facts["weight"], loss=_finite(float(loss))
        )
        out.append(entry)
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
