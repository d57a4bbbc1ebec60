"""`Frame`: the columns of one input file as NumPy arrays, with where they came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Frame:
    """Columns read from one file (or one chunk of it).

    Attributes:
        source: the path as the user typed it, or "stdin".
        format: "csv", "tsv", "parquet", "feather", "npy" or "npz".
        columns: name -> array, in file order. Numbers (ints and booleans too) are float64,
            except float32 and float16 columns of binary files, which keep their dtype (the
            engine clips at its ε, as scikit-learn); empty cells hold NaN or arbitrary values
            (see nulls). Text is an object array of str (None where empty);
            other types (dates, lists) are object or datetime arrays for the caller to refuse.
        n_rows: rows in this frame.
        line_offset: the editor line of data row r is r + line_offset (1 for CSV with a
            header); None for binary formats.
        row_offset: 0-based row in the file of this frame's first row (streaming chunks).
        nulls: name -> boolean mask of empty cells, only for columns that have any.
        types: name -> the file's own type name (e.g. "int64", "string"), for messages.
        line_of: the exact editor line of data row r where r + line_offset may be wrong
            (a CSV file with blank lines), or None.
    """

    source: str
    format: str
    columns: dict[str, np.ndarray]
    n_rows: int
    line_offset: int | None
    row_offset: int = 0
    nulls: dict[str, np.ndarray] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    line_of: Callable[[int], int] | None = field(default=None, repr=False)


def editor_line(where: Any, row: int | None) -> int | None:
    """The editor line of 1-based data row `row` of a Frame (or anything with `line_offset`
    and `line_of`); None for binary formats."""
    if row is None or where.line_offset is None:
        return None
    if where.line_of is not None:
        return where.line_of(row)
    return row + where.line_offset
