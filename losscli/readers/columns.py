"""From files and column options to aligned prediction, label and weight arrays.

`load_inputs` reads everything; `stream_inputs` reads both files in lockstep by position,
chunk by chunk. Which columns play which role is decided from the column names alone
(`losscli.readers._plan`), so only those columns are read from the files. Files paired
by position that both hold an id-like column must agree on it row by row (`_check_ids`).

Every `Inputs` keeps its provenance: `locate(role, col_index, row)` maps a row of the
arrays back to the file, its column, its own data row and editor line (after a join by id
the row in a file differs from the row in the arrays). This is the `Locator` that
`InputError.locate` takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.readers import Frame, open_table
from losscli.readers._frame import editor_line
from losscli.readers._plan import LABELS, PREDS, Plan, Side, plan
from losscli.readers._source import reads_once

__all__ = ["Inputs", "InputsHeader", "load_inputs", "stream_inputs"]

_THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+\s*$")


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
        }[role]
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


def load_inputs(
    preds: str,
    labels: str | None = None,
    *,
    pred_cols: Sequence[str] = (),
    label_cols: Sequence[str] = (),
    weight_col: str | None = None,
    id_col: str | None = None,
    input_format: str | None = None,
    key: str | None = None,
    delimiter: str | None = None,
    nan_policy: str = "raise",
) -> Inputs:
    """Read PREDS (and LABELS) whole and return aligned arrays (SPEC §2).

    With `nan_policy="omit"` an empty cell of a numeric column reads as NaN, for the engine
    to drop its row; otherwise it is an error naming the cell.
    """
    tables, the_plan = _open(preds, labels, pred_cols, label_cols, weight_col, id_col,
                             input_format, key, delimiter, nan_policy)  # fmt: skip
    if the_plan.id_column is not None and len(tables) == 2:
        _check_join_memory(tables, the_plan)
    frames = {role: t.read(the_plan.needed(role)) for role, t in tables.items()}
    header = _header(tables, the_plan)
    if len(frames) == 1 or the_plan.id_column is None:
        if len(frames) == 2:
            _same_length(frames[PREDS].n_rows, frames[LABELS].n_rows, tables)
            _check_ids(frames, the_plan)
        return _assemble(header, frames, the_plan, {}, 0)
    return _join(header, frames, the_plan)


def stream_inputs(
    preds: str,
    labels: str | None = None,
    *,
    pred_cols: Sequence[str] = (),
    label_cols: Sequence[str] = (),
    weight_col: str | None = None,
    id_col: str | None = None,
    input_format: str | None = None,
    key: str | None = None,
    delimiter: str | None = None,
    batch_rows: int = 65536,
    nan_policy: str = "raise",
) -> tuple[InputsHeader, Iterator[Inputs]]:
    """Like `load_inputs`, in chunks of `batch_rows` rows; two files are read in lockstep.

    Each chunk is an `Inputs` whose `row_offset` is the 0-based file row of its first row.
    A length mismatch is raised when the shorter file ends. `--id-col` cannot stream.
    """
    tables, the_plan = _open(preds, labels, pred_cols, label_cols, weight_col, id_col,
                             input_format, key, delimiter, nan_policy)  # fmt: skip
    if the_plan.id_column is not None and len(tables) == 2:
        need, _ = join_memory(tables, the_plan)
        size = f"about {_size(need)} for these files" if need else "both files whole"
        raise InputError(
            f"--id-col cannot be used while streaming: a join by id holds {size} in memory",
            fix="Read the files whole (load_inputs), or sort both files by id and drop --id-col",
        )
    header = _header(tables, the_plan)
    header.rows_hint = tables[PREDS].rows_hint()
    # a chunk holds about 2**20 values whatever the width: 1000 class columns get chunks of
    # ~1000 rows, not 262,144 rows of 1000 columns (2 GB); the ids compared between the
    # files do not count, so that chunks (and the last digits of sums) stay as they were
    width = sum(len(the_plan.needed(role)) - (the_plan.id_check is not None) for role in tables)
    batch_rows = max(1, min(batch_rows, max(1024, (1 << 20) // max(1, width))))
    chunks = {
        role: _rechunk(t.iterate(the_plan.needed(role), batch_rows), batch_rows)
        for role, t in tables.items()
    }
    return header, _lockstep(header, chunks, the_plan, tables)


# -- opening and planning ---------------------------------------------------------------------


def _open(
    preds,
    labels,
    pred_cols,
    label_cols,
    weight_col,
    id_col,
    input_format,
    key,
    delimiter,
    nan_policy="raise",
):  # type: ignore[no-untyped-def]
    if preds == "-" and labels == "-":
        raise InputError(
            "'-' (standard input) is given for both predictions and labels; it can be read once",
            fix="Save one of them to a file",
        )
    if labels is not None and preds == labels and reads_once(preds):
        raise InputError(
            f"'{preds}' (a pipe or FIFO) is given for both predictions and labels; "
            "it can be read once",
            fix="Save it to a file and pass that file",
        )
    options = dict(input_format=input_format, delimiter=delimiter)
    paths = {PREDS: split_key(preds)}
    if labels is not None:
        paths[LABELS] = split_key(labels)
    keys = _keys(paths, key)
    tables = {role: open_table(path, key=keys[role], **options)
              for role, (path, _) in paths.items()}  # fmt: skip
    for role, (_, own) in paths.items():
        if own is not None:
            tables[role].own_key = own  # named in messages and the JSON as file.npz:key
    sides = [
        Side(role, t.source.name, list(t.names), _positional(t), dict(getattr(t, "arrays", {})))
        for role, t in tables.items()
    ]
    the_plan = plan(sides, pred_cols, label_cols, weight_col, id_col)
    the_plan.empty_is_nan = nan_policy == "omit"
    _check_types(tables, the_plan)
    _refuse_same_array({role: path for role, (path, _) in paths.items()}, tables, the_plan)
    for t in tables.values():
        the_plan.notes.extend(getattr(t, "notes", []))
    return tables, the_plan


def split_key(path: str) -> tuple[str, str | None]:
    """`file.npz:labels` -> ("file.npz", "labels"): the array of an NPZ archive for one file.

    Only when the path does not exist as written and the part before the last ':' names
    an archive (ends in .npz, or is a file with NPZ bytes), so that a file whose name holds
    a ':' and Windows drive letters (`C:\\x.npz`) are read as they are.
    """
    import os

    if path == "-" or ":" not in path or os.path.exists(path):
        return path, None
    head, _, key = path.rpartition(":")
    if not head or not key or "/" in key or "\\" in key:
        return path, None
    if head.lower().endswith(".npz"):
        return head, key
    from losscli.readers import sniff_format

    if os.path.isfile(head) and sniff_format(head) == "npz":
        return head, key
    return path, None


def _keys(paths: dict[str, tuple[str, str | None]], key: str | None) -> dict[str, str | None]:
    """The array key each file is opened with: its own (`file.npz:key`), else `--key`.

    With two files `--key` goes to the archive(s) among those without their own key (NPZ
    predictions beside NPY or CSV labels), and is an error only when none is an archive.
    """
    keys = {role: own for role, (_, own) in paths.items()}
    if key is None:
        return keys
    free = [role for role, own in keys.items() if own is None]
    if not free:
        raise InputError(
            f"--key {key} applies to no file: each file names its own array",
            fix="Leave out --key",
        )
    if len(paths) == 2:
        from losscli.readers import sniff_format

        npz = [r for r in free if paths[r][0] != "-" and sniff_format(paths[r][0]) == "npz"]
        free = npz or free
    for role in free:
        keys[role] = key
    return keys


def _check_types(tables: dict[str, Any], the_plan: Plan) -> None:
    """Refuse list, struct, map, date and bytes columns from the schema, before reading."""
    from losscli.readers._convert import unsupported_type

    roles = [(the_plan.preds, "--pred-col"), (the_plan.labels, "--label-col")]
    if the_plan.weight is not None:
        roles.append(((the_plan.weight[0], [the_plan.weight[1]]), "--weight-col"))
    for (side, columns), flag in roles:
        types = getattr(tables[side], "arrow_types", {})
        for column in columns:
            if column not in types:
                continue
            found = unsupported_type(types[column], column, flag)
            if found is not None:
                raise InputError(
                    found[0], fix=found[1], source=tables[side].source.name, column=column
                )
    if the_plan.id_check is not None:
        for t in tables.values():
            kind = getattr(t, "arrow_types", {}).get(the_plan.id_check)
            if kind is not None and unsupported_type(kind, the_plan.id_check, "") is not None:
                the_plan.id_check = None  # lists or records as ids: not compared
                return


def _refuse_same_array(paths: dict[str, str], tables: dict[str, Any], the_plan: Plan) -> None:
    """PREDS and LABELS that are one file read the same way must not give one column (or
    NPZ array) to both roles: every loss would be 0 with exit 0."""
    import os

    if len(paths) < 2 or "-" in paths.values() or the_plan.preds[0] == the_plan.labels[0]:
        return
    try:
        if not os.path.samefile(paths[PREDS], paths[LABELS]):
            return
    except OSError:
        return
    key = getattr(tables[PREDS], "key", None)
    if key != getattr(tables[LABELS], "key", None):
        return
    shared = [c for c in the_plan.preds[1] if c in the_plan.labels[1]]
    if not shared:
        return
    name = tables[PREDS].source.name
    if key is not None:
        others = [m for m in getattr(tables[PREDS], "members", []) if m != key]
        raise InputError(
            f"the predictions and the labels are the same array '{key}' of {name}",
            fix=f"Name the labels' array, e.g. {name}:{others[0] if others else 'KEY'}",
        )
    if tables[PREDS].format == "npy":
        raise InputError(
            f"{name} is given for both the predictions and the labels (the same array)",
            fix="Pass the labels' own file",
        )
    raise InputError(
        f"the predictions and the labels are the same column '{shared[0]}' of {name}",
        fix="Pass the labels file, or --label-col with another column",
    )


# A join by id holds both files whole: per value, Arrow's column and its float64 copy; per
# row of each file, the id (a Python string for text ids), its sort order and the index
# arrays of the join. Measured with two files of 2·10⁶ rows (an id and one value each):
# peak 0.45 GB with integer ids, 0.71 GB with text ids; this estimate says 0.64 GB.
JOIN_BYTES_PER_VALUE = 16
JOIN_BYTES_PER_ROW = 128
# joins estimated at this size or more say so in a note
JOIN_NOTE_BYTES = 1 << 30


def join_memory(tables: dict[str, Any], the_plan: Plan) -> tuple[int, int]:
    """(bytes, rows) a join by id of these tables needs; (0, 0) when a size is unknown
    (standard input, compressed CSV)."""
    need = rows = 0
    for role, t in tables.items():
        n = t.rows_hint()
        if n is None:
            return 0, 0
        need += n * (JOIN_BYTES_PER_VALUE * len(the_plan.needed(role)) + JOIN_BYTES_PER_ROW)
        rows = max(rows, n)
    return need, rows


def available_memory() -> int | None:
    """Bytes this process can still take: MemAvailable, within a cgroup's limit if lower;
    None where neither can be read (not Linux)."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current") as fh:
            used = int(fh.read().strip())
        if limit != "max":
            found.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def _check_join_memory(tables: dict[str, Any], the_plan: Plan) -> None:
    need, rows = join_memory(tables, the_plan)
    if not need:
        return
    available = available_memory()
    names = " and ".join(t.source.name for t in tables.values())
    if available is not None and need > available:
        raise InputError(
            f"joining {names} by --id-col holds both files in memory: about {_size(need)} "
            f"for {rows:,} rows, and {_size(available)} is available",
            fix="Sort both files by id (they must hold the same ids) and drop --id-col; "
            "files aligned by position are streamed in bounded memory",
        )
    if need >= JOIN_NOTE_BYTES:
        the_plan.notes.append(
            f"--id-col joins {names} in memory: about {_size(need)} for {rows:,} rows "
            "(files aligned by position are streamed in bounded memory)"
        )


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1024:.1f} KiB"


def _positional(table: Any) -> bool:
    """NumPy arrays read without NPZ keys: their columns are positions, not names."""
    return table.format in ("npy", "npz") and all(n.isdigit() for n in table.names)


def _header(tables: dict[str, Any], the_plan: Plan) -> InputsHeader:
    def origin(side: str) -> _Origin:
        t = tables[side]
        own = getattr(t, "own_key", None)
        name = t.source.name if own is None else f"{t.source.name}:{own}"
        return _Origin(name, t.format, t.line_offset, getattr(t, "line_of", None))

    origins = {"preds": origin(the_plan.preds[0]), "labels": origin(the_plan.labels[0])}
    if the_plan.weight is not None:
        origins["weights"] = origin(the_plan.weight[0])
    return InputsHeader(
        pred_columns=list(the_plan.preds[1]),
        label_columns=list(the_plan.labels[1]),
        weight_column=the_plan.weight[1] if the_plan.weight else None,
        id_column=the_plan.id_column,
        notes=list(the_plan.notes),
        _origins=origins,
    )


def _same_length(n_preds: int, n_labels: int, tables: dict[str, Any]) -> None:
    if n_preds != n_labels:
        raise InputError(
            f"{tables[PREDS].source.name} has {n_preds} rows, "
            f"{tables[LABELS].source.name} has {n_labels}",
            fix="Pass --id-col to join by id",
        )


# -- arrays -----------------------------------------------------------------------------------


def _assemble(
    header: InputsHeader,
    frames: dict[str, Frame],
    the_plan: Plan,
    file_rows: dict[str, np.ndarray],
    row_offset: int,
) -> Inputs:
    nan = the_plan.empty_is_nan
    pred_frame = frames[the_plan.preds[0]]
    pred_arrays = [
        _numeric(pred_frame, c, "--pred-col", nan, keep_float32=True) for c in the_plan.preds[1]
    ]
    # NumPy's promotion takes the widest: float64 as soon as one column is float64
    preds = pred_arrays[0] if len(pred_arrays) == 1 else np.column_stack(pred_arrays)
    labels = _labels(frames[the_plan.labels[0]], the_plan.labels[1], nan)
    weights = None
    if the_plan.weight is not None:
        weights = _numeric(frames[the_plan.weight[0]], the_plan.weight[1], "--weight-col", nan)
    ids = None
    if the_plan.id_column is not None:
        ids = frames[PREDS].columns[the_plan.id_column]
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
        n_rows=pred_frame.n_rows,
        row_offset=row_offset,
        _file_rows=file_rows,
    )


def _where(frame: Frame, column: str, index: int) -> dict[str, Any]:
    row = frame.row_offset + index + 1
    return dict(source=frame.source, column=column, row=row, line=editor_line(frame, row))


def _check_empty(frame: Frame, column: str, flag: str, omittable: bool = False) -> None:
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
    _check_empty(frame, column, flag, omittable=values.dtype.kind in "biuf")
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
        _check_empty(frame, column, "--label-col")
        if values.dtype.kind == "S" or any(isinstance(v, bytes) for v in values[:1]):
            raise InputError(
                "holds bytes, not text", fix="Save the labels as text", source=frame.source,
                column=column,
            )  # fmt: skip
        return values  # class names: the engine maps them to classes
    return _numeric(frame, column, "--label-col", empty_is_nan)


# -- joining by id ------------------------------------------------------------------------------


def _id_keys(frames: dict[str, Frame], column: str) -> dict[str, np.ndarray]:
    """The id column of each file: int64 when both hold whole numbers, else text as str
    objects (a whole number as its digits, so 7 in one file matches "7" in the other)."""
    for f in frames.values():
        _check_empty(f, column, "--id-col")
    return _comparable_ids({role: f.columns[column] for role, f in frames.items()})


def _comparable_ids(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Ids of two files made comparable (see `_id_keys`)."""
    whole = {
        role: v.dtype.kind in "iu"
        or v.dtype.kind == "f"
        and bool(np.all(np.isfinite(v)))
        and bool(np.all(v == np.round(v)))
        for role, v in values.items()
    }
    if all(whole.values()):
        return {role: v.astype(np.int64) for role, v in values.items()}
    # text columns arrive as str objects; numbers become their digits (whole) or repr
    return {
        role: v
        if v.dtype == object
        else (v.astype(np.int64) if whole[role] else v).astype(str).astype(object)
        for role, v in values.items()
    }


def _check_ids(frames: dict[str, Frame], the_plan: Plan) -> None:
    """Files paired by position that both hold an id-like column (`Plan.id_check`) must
    hold the same ids row by row; else the pairing is wrong and every loss with it. One
    comparison per chunk. Measured on two CSV files of 2·10⁶ rows: integer ids cost
    nothing measurable (2.8 s either way); text ids become str objects, 7.9 s against
    3.1 s without the check, nearly all of it in that conversion."""
    column = the_plan.id_check
    if column is None:
        return
    p, q = frames[PREDS], frames[LABELS]
    empty = {r: f.nulls.get(column, np.zeros(f.n_rows, dtype=bool)) for r, f in frames.items()}
    differ = empty[PREDS] != empty[LABELS]
    both = ~(empty[PREDS] | empty[LABELS])
    keys = _comparable_ids({r: f.columns[column][both] for r, f in frames.items()})
    differ[both] = np.asarray(keys[PREDS] != keys[LABELS], dtype=bool)
    if not differ.any():
        return
    i = int(np.argmax(differ))
    shown = {r: "(empty)" if empty[r][i] else _show_id(f.columns[column][i])
             for r, f in frames.items()}  # fmt: skip
    raise InputError(
        f"{p.source} and {q.source} both have column '{column}', and the ids differ at row "
        f"{p.row_offset + i + 1} ({shown[PREDS]} in {p.source}, {shown[LABELS]} in {q.source})",
        fix=f"Pass --id-col {column} to join by id",
    )


def _show_id(value: object) -> str:
    """An id as the user wrote it: whole numbers without the '.0' of float64."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _join(header: InputsHeader, frames: dict[str, Frame], the_plan: Plan) -> Inputs:
    """Align the labels file to the predictions file's row order by `--id-col`.

    Integer ids are sorted and binary-searched in NumPy (2·10⁶ rows in 0.6 s, where a
    Python dict took 5.9 s and Arrow's hash kernels 1.7 s on this machine). Text ids are
    joined the same way on their 64-bit hashes, then checked string by string (1.9 s for
    2·10⁶ rows); a hash
    collision, or any duplicate or missing id, sends them to the exact dict join, which
    also words the error.
    """
    id_col = the_plan.id_column
    assert id_col is not None
    keys = _id_keys(frames, id_col)
    names = {role: frames[role].source for role in keys}
    if keys[PREDS].dtype != object:
        order = _sorted_join(keys, names, id_col)
    else:
        hashed = {
            role: np.fromiter(map(hash, k), dtype=np.int64, count=len(k))
            for role, k in keys.items()
        }
        try:
            order = _sorted_join(hashed, names, id_col)
        except InputError:
            order = None
        if order is None or not np.array_equal(keys[LABELS][order], keys[PREDS]):
            order = _dict_join(keys, names, id_col)
    labels_frame = frames[LABELS]
    aligned = Frame(
        labels_frame.source, labels_frame.format,
        {n: v[order] for n, v in labels_frame.columns.items()},
        len(order), labels_frame.line_offset, 0,
        {n: m[order] for n, m in labels_frame.nulls.items()}, labels_frame.types,
        labels_frame.line_of,
    )  # fmt: skip
    try:
        inputs = _assemble(header, {PREDS: frames[PREDS], LABELS: aligned}, the_plan, {}, 0)
    except InputError as exc:
        raise _unalign(exc, labels_frame, order) from None
    # Rows from the labels file were reordered: remember each one's own row for locate().
    inputs._file_rows = {
        role: order for role in header._origins if _side_of(the_plan, role) == LABELS
    }
    return inputs


def _sorted_join(keys: dict[str, np.ndarray], names: dict[str, str], id_col: str) -> np.ndarray:
    """For each predictions row, the labels row with its id (int64 keys).

    Both sides are sorted once; duplicates are equal neighbours, and the binary search
    runs on sorted queries, so it walks memory forward (2·10⁶ hashes: 5.2 s unsorted
    through a sorter, 0.07 s sorted).
    """
    order, ordered = {}, {}
    for role, k in keys.items():
        order[role] = np.argsort(k, kind="stable")
        ordered[role] = k[order[role]]
        s = ordered[role]
        same = s[1:] == s[:-1]
        if same.any():
            dupes = s[1:][same]
            count = int(np.count_nonzero(np.diff(dupes) != 0)) + 1
            raise _duplicate_ids(count, _first_distinct(k[np.isin(k, dupes)]), names[role], id_col)
    pos = np.searchsorted(ordered[LABELS], ordered[PREDS])
    n_labels = len(ordered[LABELS])
    found = pos < n_labels
    found[found] = ordered[LABELS][pos[found]] == ordered[PREDS][found]
    if not found.all():
        absent = np.zeros(len(found), dtype=bool)
        absent[order[PREDS][~found]] = True  # back in file order
        raise _missing_ids(int(np.count_nonzero(absent)), len(found),
                           _first_distinct(keys[PREDS][absent]), names, PREDS, LABELS, id_col)  # fmt: skip
    if n_labels > len(found):  # every prediction found a distinct label row: the rest are extra
        absent = np.ones(n_labels, dtype=bool)
        absent[order[LABELS][pos]] = False
        raise _missing_ids(int(np.count_nonzero(absent)), n_labels,
                           _first_distinct(keys[LABELS][absent]), names, LABELS, PREDS, id_col)  # fmt: skip
    joined = np.empty(len(found), dtype=np.int64)
    joined[order[PREDS]] = order[LABELS][pos]
    return joined


def _dict_join(keys: dict[str, np.ndarray], names: dict[str, str], id_col: str) -> np.ndarray:
    """The same join with Python dicts: exact for any hashable id, and slow."""
    index: dict[str, dict[object, int]] = {}
    for role, k in keys.items():
        seen: dict[object, int] = {}
        dupes: list[object] = []
        for i, value in enumerate(k.tolist()):
            if value in seen:
                dupes.append(value)
            else:
                seen[value] = i
        if dupes:
            unique = list(dict.fromkeys(dupes))
            raise _duplicate_ids(len(unique), [str(v) for v in unique[:3]], names[role], id_col)
        index[role] = seen
    for role, other in ((PREDS, LABELS), (LABELS, PREDS)):
        missing = [v for v in keys[role].tolist() if v not in index[other]]
        if missing:
            raise _missing_ids(len(missing), len(keys[role]),
                               [str(v) for v in list(dict.fromkeys(missing))[:3]],
                               names, role, other, id_col)  # fmt: skip
    return np.fromiter(
        (index[LABELS][v] for v in keys[PREDS].tolist()), dtype=np.int64, count=len(keys[PREDS])
    )


def _first_distinct(values: np.ndarray, limit: int = 3) -> list[str]:
    """The first `limit` distinct values, in row order."""
    _, first = np.unique(values, return_index=True)
    return [str(values[i]) for i in np.sort(first)[:limit]]


def _duplicate_ids(count: int, first: list[str], source: str, id_col: str) -> InputError:
    return InputError(
        f"{count} id(s) appear more than once in column '{id_col}' (first: {', '.join(first)})",
        fix="Make the ids unique",
        source=source,
    )


def _missing_ids(count: int, total: int, first: list[str], names: dict[str, str], role: str,
                 other: str, id_col: str) -> InputError:  # fmt: skip
    return InputError(
        f"{count} of {total} ids in {names[role]} are not in {names[other]} "
        f"(first: {', '.join(first)})",
        fix=f"Give both files the same ids in column '{id_col}'",
    )


def _side_of(the_plan: Plan, role: str) -> str:
    if role == "preds":
        return the_plan.preds[0]
    if role == "labels":
        return the_plan.labels[0]
    assert the_plan.weight is not None
    return the_plan.weight[0]


def _unalign(exc: InputError, frame: Frame, order: np.ndarray) -> InputError:
    """An error found in the aligned labels names the labels file's own row."""
    if exc.source != frame.source or exc.row is None:
        return exc
    row = int(order[exc.row - 1]) + 1
    return InputError(
        exc.problem, fix=exc.fix, source=exc.source, column=exc.column, row=row,
        line=editor_line(frame, row),
    )  # fmt: skip


# -- streaming ------------------------------------------------------------------------------------


def _rechunk(frames: Iterator[Frame], size: int) -> Iterator[Frame]:
    """Frames of exactly `size` rows (the last may be shorter), whatever the reader yields."""
    pending: list[Frame] = []
    count = 0
    for frame in frames:
        pending.append(frame)
        count += frame.n_rows
        while count >= size:
            merged = _concat(pending)
            yield _slice(merged, 0, size)
            rest = _slice(merged, size, merged.n_rows)
            pending, count = ([rest] if rest.n_rows else []), rest.n_rows
    if count:
        yield _concat(pending)


def _concat(frames: list[Frame]) -> Frame:
    if len(frames) == 1:
        return frames[0]
    first = frames[0]
    columns = {n: np.concatenate([f.columns[n] for f in frames]) for n in first.columns}
    nulls = {}
    for n in first.columns:
        if any(n in f.nulls for f in frames):
            nulls[n] = np.concatenate([f.nulls.get(n, np.zeros(f.n_rows, bool)) for f in frames])
    return Frame(first.source, first.format, columns, sum(f.n_rows for f in frames),
                 first.line_offset, first.row_offset, nulls, first.types, first.line_of)  # fmt: skip


def _slice(frame: Frame, start: int, stop: int) -> Frame:
    return Frame(
        frame.source, frame.format, {n: v[start:stop] for n, v in frame.columns.items()},
        max(0, min(stop, frame.n_rows) - start), frame.line_offset, frame.row_offset + start,
        {n: m[start:stop] for n, m in frame.nulls.items()}, frame.types, frame.line_of,
    )  # fmt: skip


def _lockstep(
    header: InputsHeader, chunks: dict[str, Iterator[Frame]], the_plan: Plan, tables: dict[str, Any]
) -> Iterator[Inputs]:
    seen = 0
    if len(chunks) == 1:
        for frame in chunks[PREDS]:
            yield _assemble(header, {PREDS: frame}, the_plan, {}, frame.row_offset)
        return
    while True:
        p = next(chunks[PREDS], None)
        q = next(chunks[LABELS], None)
        if p is None and q is None:
            return
        if p is None or q is None or p.n_rows != q.n_rows:
            # count both files to the end (reading on costs one pass, and a message with
            # both lengths says which file is off and by how much)
            n = {PREDS: seen + (p.n_rows if p is not None else 0),
                 LABELS: seen + (q.n_rows if q is not None else 0)}  # fmt: skip
            for role in (PREDS, LABELS):
                n[role] += sum(frame.n_rows for frame in chunks[role])
            raise InputError(
                f"{tables[PREDS].source.name} has {n[PREDS]} rows, "
                f"{tables[LABELS].source.name} has {n[LABELS]}",
                fix="Pass --id-col to join by id",
            )
        seen += p.n_rows
        _check_ids({PREDS: p, LABELS: q}, the_plan)
        yield _assemble(header, {PREDS: p, LABELS: q}, the_plan, {}, p.row_offset)
