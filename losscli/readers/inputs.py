"""What the inputs are: the aligned arrays the engine takes, with their provenance.

`InputsHeader` is what a stream will hold, known before any data is read (the columns of
each role and the files they come from: the JSON "inputs" object). `Inputs` adds the
arrays of the whole files or of one chunk.

Every `Inputs` keeps its provenance: `locate(role, col_index, row)` maps a row of the
arrays back to the file, its column, its own data row and editor line (after a join by id
the row in a file differs from the row in the arrays). This is the `Locator` that
`InputError.locate` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.readers._frame import editor_line
from losscli.readers._roles import ColumnRoles

__all__ = ["Inputs", "InputsHeader", "header_of"]


# the role of a slice or shown column in `locate`: EXTRA + its name
EXTRA = "column:"


@dataclass
class _Origin:
    """One file of the inputs: name, format and where its rows are in editors."""

    source: str
    format: str
    line_offset: int | None
    line_of: Any = None  # the table's exact line finder (CSV with blank lines)


@dataclass
class InputsHeader:
    """What a stream of `Inputs` will hold, known before any data is read."""

    pred_columns: list[str]
    label_columns: list[str]
    weight_column: str | None
    id_column: str | None
    notes: list[str]
    _origins: dict[str, _Origin] = field(repr=False, default_factory=dict)
    rows_hint: int | None = None  # the predictions' rows where the format tells (progress)

    def describe(self) -> dict[str, Any]:
        """The JSON "inputs" object (SPEC §5)."""
        out: dict[str, Any] = {}
        for role, cols in (
            ("preds", self.pred_columns),
            ("labels", self.label_columns),
            ("weights", [self.weight_column] if self.weight_column else None),
        ):
            if cols is None:
                continue
            origin = self._origins[role]
            out[role] = {"path": origin.source, "format": origin.format, "columns": list(cols)}
        if self.id_column is not None:
            out["id_column"] = self.id_column
        return out


@dataclass
class Inputs(InputsHeader):
    """Aligned arrays for the engine, with provenance (see the module docstring).

    preds: (n,) for one prediction column or (n, k) for k; float64, or float32/float16 when
        every prediction column is stored so (the widest dtype wins), for the engine to
        clip at that dtype's ε as scikit-learn does.
    labels: (n,) float64, (n,) object array of class names, or (n, k) float64 for k columns.
    weights: (n,) float64 or None. ids: the id column (any dtype) or None.
    row_offset: 0-based row in the files of this chunk's first row (0 unless streaming).
    """

    preds: np.ndarray = field(default_factory=lambda: np.empty(0))
    labels: np.ndarray = field(default_factory=lambda: np.empty(0))
    weights: np.ndarray | None = None
    ids: np.ndarray | None = None
    # columns read for slices and shown rows: name → (values, null mask or None)
    extras: dict[str, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)
    n_rows: int = 0
    row_offset: int = 0
    # For a join: 0-based row in each file for each row of the arrays, by role.
    _file_rows: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def locate(
        self, role: str, col_index: int | None, row: int | None
    ) -> tuple[str | None, str | None, int | None, int | None]:
        """(source, column, 1-based data row in that file, editor line or None).

        `row` is 1-based in this object's arrays; `col_index` picks a column of a matrix.
        """
        origin = self._origins.get(role)
        if origin is None:
            return None, None, row, None
        columns = {
            "preds": self.pred_columns,
            "labels": self.label_columns,
            "weights": [self.weight_column] if self.weight_column else [],
        }.get(role) or [role[len(EXTRA) :]]
        column = None
        if col_index is not None and 0 <= col_index < len(columns):
            column = columns[col_index]
        elif len(columns) == 1:
            column = columns[0]
        file_row = None
        if row is not None:
            rows = self._file_rows.get(role)
            if rows is not None and 1 <= row <= len(rows):
                file_row = int(rows[row - 1]) + 1
            else:
                file_row = self.row_offset + row
        return origin.source, column, file_row, editor_line(origin, file_row)


def header_of(tables: dict[str, Any], roles: ColumnRoles) -> InputsHeader:
    """The header of the inputs that these opened tables will give, by `roles`."""

    def origin(side: str) -> _Origin:
        t = tables[side]
        own = getattr(t, "own_key", None)
        name = t.source.name if own is None else f"{t.source.name}:{own}"
        return _Origin(name, t.format, t.line_offset, getattr(t, "line_of", None))

    origins = {"preds": origin(roles.preds[0]), "labels": origin(roles.labels[0])}
    if roles.weight is not None:
        origins["weights"] = origin(roles.weight[0])
    for name, side in roles.extras.items():
        origins[EXTRA + name] = origin(side)
    return InputsHeader(
        pred_columns=list(roles.preds[1]),
        label_columns=list(roles.labels[1]),
        weight_column=roles.weight[1] if roles.weight else None,
        id_column=roles.id_column,
        notes=list(roles.notes),
        _origins=origins,
    )
