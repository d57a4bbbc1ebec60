"""Read prediction and label files into NumPy columns, with where every value came from.

`read_frame` reads a file whole; `iter_frames` streams it in chunks of bounded memory.
Both accept a path or "-" for standard input. The format comes from the extension, the
first bytes (which win over a lying extension) or `input_format` (which must not
contradict the first bytes); see `losscli.readers._source`. Per-format modules:
`csv` (CSV/TSV, compressed too), `parquet`, `arrow` (Feather / Arrow IPC), `npy` (NPY/NPZ).

pyarrow is imported only inside functions, so `losscli --help` stays fast.
`load_inputs` / `stream_inputs` in `losscli.readers.columns` choose the prediction,
label and weight columns from these frames.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from losscli.errors import InputError
from losscli.readers._frame import Frame
from losscli.readers._names import unknown_column
from losscli.readers._source import reads_once, resolve, sniff

__all__ = ["Frame", "read_frame", "iter_frames", "sniff_format", "open_table"]


def sniff_format(path_or_bytes: str | bytes | os.PathLike[str]) -> str | None:
    """The format recognised from the first bytes ("csv" for compressed text), or None.

    None for a path that can be read only once (a FIFO or a pipe): peeking would consume
    the bytes that the real read needs, or block."""
    if isinstance(path_or_bytes, bytes | bytearray):
        head = bytes(path_or_bytes[:8])
    elif reads_once(os.fspath(path_or_bytes)):
        return None
    else:
        try:
            with open(path_or_bytes, "rb") as fh:
                head = fh.read(8)
        except OSError:
            return None
    return sniff(head)[0]


def open_table(
    path: str,
    *,
    input_format: str | None = None,
    key: str | None = None,
    delimiter: str | None = None,
) -> Any:
    """An opened table: `.names`, `.format`, `.source`, `.read(columns)`, `.iterate(columns, n)`.

    Opening reads only what is needed to list the columns (a CSV header, a Parquet footer,
    an NPY header), so that callers can choose columns before reading any data.
    """
    source = resolve(path, input_format)
    if key is not None and source.format != "npz":
        raise InputError(
            f"--key applies to NPZ archives, but this is {source.format}", source=source.name
        )
    if source.format in ("csv", "tsv") and source.files:
        from losscli.readers.dataset import CsvDataset

        return CsvDataset(source, delimiter)
    if source.format in ("csv", "tsv"):
        from losscli.readers.csv import CsvTable

        return CsvTable(source, delimiter)
    if delimiter is not None:
        raise InputError(
            f"--delimiter applies to CSV/TSV, but this is {source.format}", source=source.name
        )
    if source.format == "parquet":
        from losscli.readers.parquet import ParquetTable

        return ParquetTable(source)
    if source.format == "feather":
        from losscli.readers.arrow import ArrowTable

        return ArrowTable(source)
    from losscli.readers.npy import NpyTable, NpzTable

    if source.format == "npz":
        return NpzTable(source, key)
    return NpyTable(source)


def _select(table: Any, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    wanted = list(dict.fromkeys(columns))
    for name in wanted:
        if name not in table.names:
            raise unknown_column(name, table.names, table.source.name, "--pred-col")
    order = {name: i for i, name in enumerate(table.names)}
    return sorted(wanted, key=order.__getitem__)  # file order, as documented on Frame


def read_frame(
    path: str,
    *,
    input_format: str | None = None,
    columns: Sequence[str] | None = None,
    key: str | None = None,
    delimiter: str | None = None,
) -> Frame:
    """Read a whole file (or stdin for "-"); only `columns` when given, in file order."""
    table = open_table(path, input_format=input_format, key=key, delimiter=delimiter)
    return table.read(_select(table, columns))


def iter_frames(
    path: str,
    *,
    input_format: str | None = None,
    columns: Sequence[str] | None = None,
    key: str | None = None,
    delimiter: str | None = None,
    batch_rows: int = 65536,
) -> tuple[list[str], Iterator[Frame]]:
    """(column names, chunks of at most `batch_rows` rows), memory bounded by the chunk.

    Each chunk's `row_offset` is the 0-based row of its first row in the file. Errors in
    the data are raised while iterating.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be positive")
    table = open_table(path, input_format=input_format, key=key, delimiter=delimiter)
    selected = _select(table, columns)
    names = selected if selected is not None else list(table.names)
    return names, table.iterate(selected, batch_rows)
