"""Feather (v1 and v2) and Arrow IPC files and streams, memory-mapped where possible.

Feather v2 is the Arrow IPC file format, so a memory-mapped file reader gives zero-copy
batches: selecting columns and slicing rows costs nothing until the values are converted,
which keeps streaming memory bounded by the batch size. The IPC stream format (no footer)
and Feather v1 are read whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from losscli.errors import InputError
from losscli.readers._convert import table_to_frame
from losscli.readers._frame import Frame
from losscli.readers._source import Source
from losscli.readers.parquet import _check_duplicates


class ArrowTable:
    line_offset = None

    def __init__(self, source: Source) -> None:
        import pyarrow as pa

        self.source = source
        self.format = "feather"
        self._file = None
        self._table = None
        try:
            self._open()
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(
                f"not a valid Feather/Arrow IPC file ({detail})",
                fix="Check that the file is complete, or pass --input-format for another format",
                source=source.name,
            ) from None
        schema = self._file.schema if self._file is not None else self._table.schema
        self.names = list(schema.names)
        self.arrow_types = {f.name: f.type for f in schema}  # checked before reading data
        _check_duplicates(self.names, source.name)

    def _open(self) -> None:
        import pyarrow as pa
        import pyarrow.feather as feather

        data = self.source.data
        if data is not None:
            handle = pa.BufferReader(data)
        else:
            handle = pa.memory_map(self.source.path, "r")
        head = data[:6] if data is not None else handle.read(6)
        handle.seek(0)
        if head.startswith(b"ARROW1"):
            self._file = pa.ipc.open_file(handle)
        elif head.startswith(b"FEA1"):
            self._table = feather.read_table(handle)
        else:
            self._table = pa.ipc.open_stream(handle).read_all()

    def rows_hint(self) -> int | None:
        """Rows, from the IPC file's record batch headers."""
        if self._table is not None:
            return int(self._table.num_rows)
        count = getattr(self._file, "count_rows", None)
        return int(count()) if count is not None else None

    def read(self, columns: Sequence[str] | None = None) -> Frame:
        table = self._file.read_all() if self._file is not None else self._table
        if columns is not None:
            table = table.select(list(columns))
        if table.num_rows == 0:
            raise InputError("no rows", source=self.source.name)
        return table_to_frame(table, self.source.name, self.format, None)

    def iterate(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[Frame]:
        import pyarrow as pa

        if self._file is not None:
            batches = (self._file.get_batch(i) for i in range(self._file.num_record_batches))
        else:
            batches = iter(self._table.to_batches())
        offset = 0
        for batch in batches:
            if columns is not None:
                batch = batch.select(list(columns))
            for start in range(0, batch.num_rows, batch_rows):
                part = pa.Table.from_batches([batch.slice(start, batch_rows)])
                yield table_to_frame(part, self.source.name, self.format, None, offset)
                offset += part.num_rows
        if offset == 0:
            raise InputError("no rows", source=self.source.name)
