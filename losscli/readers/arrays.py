"""From the frames read to the engine's arrays, refusing any cell that is not a number.

`assemble` takes the columns of each role from the frames (`ColumnRoles`) and returns the
`Inputs`; every message names the file, column, row and editor line of the cell.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.readers._frame import Frame, editor_line
from losscli.readers._roles import PREDS, ColumnRoles
from losscli.readers.inputs import Inputs, InputsHeader

__all__ = ["assemble", "check_empty"]

_THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+\s*$")


def assemble(
    header: InputsHeader,
    frames: dict[str, Frame],
    roles: ColumnRoles,
    file_rows: dict[str, np.ndarray],
    row_offset: int,
) -> Inputs:
    """The `Inputs` of these frames: each role's columns as arrays, under `header`.

    `file_rows` maps a role to each array row's own row in its file (after a join).
    """
    nan = roles.empty_is_nan
    pred_frame = frames[roles.preds[0]]
    pred_arrays = [
        _numeric(pred_frame, c, "--pred-col", nan, keep_float32=True) for c in roles.preds[1]
    ]
    # NumPy's promotion takes the widest: float64 as soon as one column is float64
    preds = pred_arrays[0] if len(pred_arrays) == 1 else np.column_stack(pred_arrays)
    labels = _labels(frames[roles.labels[0]], roles.labels[1], nan)
    weights = None
    if roles.weight is not None:
        weights = _numeric(frames[roles.weight[0]], roles.weight[1], "--weight-col", nan)
    ids = None
    if roles.id_column is not None:
        ids = frames[PREDS].columns[roles.id_column]
    return Inputs(
        pred_columns=header.pred_columns,
        label_columns=header.label_columns,
        weight_column=header.weight_column,
        id_column=header.id_column,
        notes=header.notes,
        _origins=header._origins,
        preds=preds,
        labels=labels,
        weights=weights,
        ids=ids,
        extras={
            name: (frames[side].columns[name], frames[side].nulls.get(name))
            for name, side in roles.extras.items()
        },
        n_rows=pred_frame.n_rows,
        row_offset=row_offset,
        _file_rows=file_rows,
    )


def _where(frame: Frame, column: str, index: int) -> dict[str, Any]:
    row = frame.row_offset + index + 1
    return dict(source=frame.source, column=column, row=row, line=editor_line(frame, row))


def check_empty(frame: Frame, column: str, flag: str, omittable: bool = False) -> None:
    mask = frame.nulls.get(column)
    if mask is not None and mask.any():
        first = int(np.argmax(mask))
        # In a column of numbers the CSV reader also reads NA, N/A, null, NULL and None as
        # missing (R's write.csv writes NA), so the message names them too.
        what = ("empty or NA/null", "missing") if omittable else ("empty", "empty")
        raise InputError(
            f"the cell is {what[0]} ({int(mask.sum())} {what[1]} in this column)",
            fix="Fill in or drop the rows with empty cells"
            + (", or pass --nan-policy omit to skip them" if omittable else ""),
            **_where(frame, column, first),
        )


def _numeric(
    frame: Frame, column: str, flag: str, empty_is_nan: bool = False, keep_float32: bool = False
) -> np.ndarray:
    """A float64 column, or an InputError at the first cell that is not a number; empty
    cells are an error, or NaN with `empty_is_nan` (--nan-policy omit). With `keep_float32`
    (predictions) a float32 or float16 column keeps its dtype: it sets the default ε."""
    values = frame.columns[column]
    mask = frame.nulls.get(column)
    low = keep_float32 and values.dtype.kind == "f" and values.dtype.itemsize < 8
    dtype = values.dtype.newbyteorder("=") if low else np.dtype(np.float64)
    if empty_is_nan and mask is not None and values.dtype.kind in "biuf":
        out = values.astype(dtype)  # a copy: the null slots hold arbitrary values
        out[mask] = np.nan
        return out
    check_empty(frame, column, flag, omittable=values.dtype.kind in "biuf")
    if values.dtype == dtype:
        return values
    if values.dtype.kind in "biuf":
        return values.astype(dtype)
    if values.dtype.kind not in "OUS":
        kind = frame.types.get(column, str(values.dtype))
        raise InputError(
            f"holds {kind} values, not numbers",
            fix=f"Pass {flag} with a numeric column",
            source=frame.source,
            column=column,
        )
    out = np.empty(len(values), dtype=np.float64)
    for i, text in enumerate(values):
        try:
            if not isinstance(text, str) or "_" in text:
                raise ValueError(text)
            out[i] = float(text)
        except ValueError:
            raise _not_a_number(frame, column, i, text) from None
    return out


def _not_a_number(frame: Frame, column: str, index: int, text: object) -> InputError:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if _THOUSANDS.match(shown):
        kind = (
            "a thousands separator or a decimal comma"
            if shown.count(",") == 1
            else "thousands separators"
        )
        return InputError(
            f"'{shown}' is not a number (it has {kind})",
            fix="Write plain numbers with a decimal point, e.g. 1234.5; losscli does not guess locales",
            **_where(frame, column, index),
        )
    if _DECIMAL_COMMA.match(shown):
        return InputError(
            f"'{shown}' is not a number (it has a decimal comma)",
            fix="Write numbers with a decimal point, e.g. 0.5; losscli does not guess locales",
            **_where(frame, column, index),
        )
    return InputError(
        f"'{shown}' is not a number",
        fix="Fix the value, or check that the right column was chosen",
        **_where(frame, column, index),
    )


def _labels(frame: Frame, columns: list[str], empty_is_nan: bool = False) -> np.ndarray:
    if len(columns) > 1:
        return np.column_stack([_numeric(frame, c, "--label-col", empty_is_nan) for c in columns])
    column = columns[0]
    values = frame.columns[column]
    if values.dtype.kind in "OUS":
        check_empty(frame, column, "--label-col")
        if values.dtype.kind == "S" or any(isinstance(v, bytes) for v in values[:1]):
            raise InputError(
                "holds bytes, not text", fix="Save the labels as text", source=frame.source,
                column=column,
            )  # fmt: skip
        return values  # class names: the engine maps them to classes
    return _numeric(frame, column, "--label-col", empty_is_nan)
