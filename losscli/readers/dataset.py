"""A folder or a glob of CSV/TSV files read as one table, in file-name order (SPEC §10).

Each file is a `CsvTable` of its own (its header checked, its rows streamed on every
core); the files must have the same header. Rows are numbered across the files; a parse
error names the file, its row and its line, while an error found by the engine names the
dataset and the row across the files (a line is a file's, so none is given). Hive
partition folders (``region=eu/part-0.csv``) add their keys as text columns, taken from
each file's path once, as the Parquet reader does. Parquet datasets are `ParquetTable`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from losscli.errors import InputError
from losscli.readers._frame import Frame
from losscli.readers._source import Source


class CsvDataset:
    line_offset = None  # rows count across files; a line belongs to one file

    def __init__(self, source: Source, delimiter: str | None = None) -> None:
        from losscli.readers.csv import CsvTable
        from losscli.readers.parquet import _partitions, shadowed_keys

        self.source = source
        self.format = source.format
        self.notes: list[str] = []
        self._parts = [CsvTable(_member(source, f), delimiter) for f in source.files]
        first = self._parts[0]
        for table in self._parts[1:]:
            if table.names != first.names:
                raise InputError(
                    f"its header ({', '.join(table.names)}) differs from that of "
                    f"{os.path.basename(first.source.name)} ({', '.join(first.names)})",
                    fix="Give every file of the dataset the same columns, in the same order",
                    source=table.source.name,
                )
        self.partitions = _partitions(source.path or "", list(source.files))
        self.notes += shadowed_keys(source.name, self.partitions[0], list(first.names))
        self.names = list(first.names) + [k for k in self.partitions[0] if k not in first.names]

    def rows_hint(self) -> int | None:
        hints = [t.rows_hint() for t in self._parts]
        return None if any(h is None for h in hints) else sum(hints)  # type: ignore[misc]

    def read(self, columns: Sequence[str] | None = None) -> Frame:
        frames = list(self.iterate(columns, 1 << 62))
        return _concat(frames, self.source.name)

    def iterate(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[Frame]:
        own, keys = self._split(columns)
        offset = 0
        for i, table in enumerate(self._parts):
            for frame in table.iterate(own, batch_rows):
                yield self._with_keys(replace(frame, row_offset=offset + frame.row_offset), i, keys)
            offset += frame.row_offset + frame.n_rows

    def _split(self, columns: Sequence[str] | None) -> tuple[list[str] | None, list[str]]:
        own_names = self._parts[0].names
        if columns is None:
            return None, [k for k in self.partitions[0] if k not in own_names]
        keys = [c for c in columns if c in self.partitions[0] and c not in own_names]
        return [c for c in columns if c not in keys], keys

    def _with_keys(self, frame: Frame, part: int, keys: list[str]) -> Frame:
        """The frame with file `part`'s partition keys as text columns (one value per file,
        from its path)."""
        for key in keys:
            value = self.partitions[part][key]
            frame.columns[key] = np.full(frame.n_rows, value, dtype=object)
            frame.types[key] = "string"
            if value is None:
                frame.nulls[key] = np.ones(frame.n_rows, dtype=bool)
        return frame


def _member(dataset: Source, path: str) -> Source:
    """The Source of one file of a dataset: its own name in messages, its compression."""
    from losscli.readers._source import from_extension

    return Source(
        name=path,
        format=dataset.format,
        path=path,
        compression=from_extension(path)[1],
        fs=dataset.fs,
    )


def _concat(frames: list[Frame], name: str) -> Frame:
    """One frame of the dataset's frames, in order."""
    if not frames:
        raise InputError("has a header but no rows", fix="Check the files", source=name)
    first = frames[0]
    n = sum(f.n_rows for f in frames)
    columns = {k: np.concatenate([f.columns[k] for f in frames]) for k in first.columns}
    nulls = {}
    for k in first.columns:
        if any(k in f.nulls for f in frames):
            nulls[k] = np.concatenate(
                [f.nulls.get(k, np.zeros(f.n_rows, dtype=bool)) for f in frames]
            )
    return Frame(
        source=name,
        format=first.format,
        columns=columns,
        n_rows=n,
        line_offset=None,
        nulls=nulls,
        types=dict(first.types),
    )
