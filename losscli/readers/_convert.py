"""pyarrow columns to NumPy arrays: numbers to float64 (float32 and float16 kept), text to
str objects.

Numbers become float64 because the engine computes in float64 (SPEC §4); an integer label
column of 0/1 converts exactly. float32 and float16 columns keep their dtype (native byte
order): scikit-learn's log_loss clips at the machine ε of the predictions' dtype, so the
engine must see it; it casts each chunk to float64 itself, and the arrays take half (a
quarter) of the memory meanwhile. Empty cells become NaN (numbers) or None (text), and
their positions are returned so the caller can say "row 17 is empty" rather than "NaN".
"""

from __future__ import annotations

import numpy as np

from losscli.readers._frame import Frame


def table_to_frame(
    table, source: str, fmt: str, line_offset: int | None, row_offset: int = 0, line_of=None
) -> Frame:  # type: ignore[no-untyped-def]
    columns: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        values, mask = column_to_numpy(column)
        columns[name] = values
        types[name] = str(column.type)
        if mask is not None:
            nulls[name] = mask
    return Frame(
        source=source,
        format=fmt,
        columns=columns,
        n_rows=table.num_rows,
        line_offset=line_offset,
        row_offset=row_offset,
        nulls=nulls,
        types=types,
        line_of=line_of,
    )


def column_to_numpy(column) -> tuple[np.ndarray, np.ndarray | None]:  # type: ignore[no-untyped-def]
    """(values, mask of empty cells or None) for a pyarrow Array or ChunkedArray."""
    import pyarrow as pa
    import pyarrow.types as pt

    kind = column.type
    if pt.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if isinstance(kind, pa.ExtensionType):
        # Only the storage is used: no extension code runs (CVE-2023-47248).
        column = column.cast(kind.storage_type)
        kind = column.type
    mask = None
    if column.null_count:
        mask = column.is_null().to_numpy(zero_copy_only=False)
    n = len(column)
    if pt.is_null(kind):
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    if pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind):
        return _numbers(column), mask
    if pt.is_decimal(kind):
        return _numbers(column.cast(pa.float64())), mask
    if pt.is_string(kind) or pt.is_large_string(kind) or pt.is_string_view(kind):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object), mask
    if pt.is_temporal(kind):  # dates and times slice by their ISO text, as CSV reads them
        try:
            text = column.cast(pa.string())
            return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object), mask
        except (pa.ArrowException, ValueError, TypeError):
            pass
    try:
        return np.asarray(column.to_numpy(zero_copy_only=False)), mask
    except (pa.ArrowException, ValueError, TypeError):
        # Nested types (lists, structs): one Python object per row, refused by the caller.
        out = np.empty(n, dtype=object)
        for i, value in enumerate(column.to_pylist()):
            out[i] = value
        return out, mask


def _numbers(column):  # type: ignore[no-untyped-def]
    """The values of an Arrow integer, float or bool column, straight from its buffers:
    float64, or float32/float16 for columns of those (the ε of the dtype, module docstring).

    `to_numpy` makes pyarrow import pandas (~0.2 s of every run) and `cast` imports
    pyarrow.compute (~50 ms); the values buffer of a primitive array is a NumPy array
    already, and NumPy converts it. Slots of nulls hold arbitrary values: the caller's mask
    says which they are.
    """
    chunks = column.chunks if hasattr(column, "chunks") else [column]
    parts = [_chunk_numbers(a) for a in chunks if len(a)]
    if not parts:
        return np.empty(0, dtype=_target(column.type))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _target(kind) -> np.dtype:  # type: ignore[no-untyped-def]
    """float32 or float16 for Arrow float and halffloat columns, float64 for other numbers."""
    import pyarrow.types as pt

    if pt.is_float32(kind):
        return np.dtype(np.float32)
    if pt.is_float16(kind):
        return np.dtype(np.float16)
    return np.dtype(np.float64)


def _chunk_numbers(array) -> np.ndarray:  # type: ignore[no-untyped-def]
    import pyarrow.types as pt

    kind, n, start = array.type, len(array), array.offset
    buffer = array.buffers()[1]
    if pt.is_boolean(kind):  # one bit per value, least significant first
        bits = np.frombuffer(buffer, dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little")[start : start + n].astype(np.float64)
    code = "f" if pt.is_floating(kind) else "i" if pt.is_signed_integer(kind) else "u"
    dtype = np.dtype(f"<{code}{kind.bit_width // 8}")  # Arrow buffers are little-endian
    values = np.frombuffer(buffer, dtype=dtype, count=n, offset=start * dtype.itemsize)
    target = _target(kind).newbyteorder("=")
    return values if dtype == target else values.astype(target)


def unsupported_type(kind, column: str, flag: str) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
    """(problem, fix) when an Arrow column of type `kind` cannot be predictions, labels or
    weights; None for numbers, decimals, booleans, text and dictionaries of those.

    Checked from the schema before any data is read, so a list or struct column is one
    clear error rather than a crash in the engine or "'[0.2 0.8]' is not a number".
    """
    import pyarrow as pa
    import pyarrow.types as pt

    shown, value = str(kind), kind
    while pt.is_dictionary(value) or isinstance(value, pa.ExtensionType):
        value = value.value_type if pt.is_dictionary(value) else value.storage_type
    if (
        pt.is_integer(value) or pt.is_floating(value) or pt.is_boolean(value)
        or pt.is_decimal(value) or pt.is_null(value) or pt.is_string(value)
        or pt.is_large_string(value) or pt.is_string_view(value)
    ):  # fmt: skip
        return None
    weights = flag == "--weight-col"
    if _is_list(value):
        return (
            f"holds lists ({shown}), one list per row; losscli reads one value per cell",
            "Save one weight per row"
            if weights
            else "Explode it into one column per class (in pandas: "
            f"pd.DataFrame(df['{column}'].tolist()).add_prefix('{column}_')) "
            f"and pass them with {flag} '{column}_*'",
        )
    if pt.is_struct(value):
        fields = ", ".join(f"{column}.{f.name}" for f in value)
        return (
            f"holds records ({shown}), one record per row; losscli reads one value per cell",
            f"Flatten it into columns (in pyarrow: table.flatten(), giving {fields}) "
            f"and pass the one to use with {flag}",
        )
    if pt.is_map(value):
        return (
            f"holds maps ({shown}), one mapping per row; losscli reads one value per cell",
            f"Turn each key into a column (in pandas: pd.DataFrame(df['{column}'].map(dict)"
            f".tolist())) and pass them with {flag}",
        )
    if pt.is_temporal(value):
        return (
            f"holds dates or times ({shown}), not numbers",
            f"Convert it to numbers first (e.g. seconds), or pass {flag} with another column",
        )
    if pt.is_binary(value) or pt.is_large_binary(value) or pt.is_fixed_size_binary(value):
        return (
            f"holds bytes ({shown}), not numbers or text",
            f"Save it as numbers or UTF-8 text, or pass {flag} with another column",
        )
    return (
        f"holds {shown} values, which losscli cannot read",
        f"Save it as numbers (or text for class names), or pass {flag} with another column",
    )


def _is_list(kind) -> bool:  # type: ignore[no-untyped-def]
    import pyarrow.types as pt

    checks = ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view",
              "is_large_list_view")  # fmt: skip
    return any(getattr(pt, name, lambda _: False)(kind) for name in checks)
