"""A table cut into partitions that Dask workers read themselves (SPEC §10, `--dask`).

`plan` cuts the table the client has opened (a Parquet file or folder, a CSV/TSV file,
folder or glob) into `Partition`s finer than its files:

- Parquet: runs of whole row groups of one file, at least `PARTITION_VALUES` values each
  (rows × the columns read: 2²² rows of two columns; a file of one row group is one
  partition, a large file of many row groups several). The
  client has read every footer already, to check the schemas; the footer travels with the
  partition (`pq.FileMetaData` pickles), so a worker reads only its row groups' columns.
- CSV/TSV: byte blocks of `CSV_BLOCK` bytes of one file, as `dask.dataframe.read_csv`'s
  `blocksize` cuts them: a block owns the lines that start inside it. The file's header
  line and pyarrow options (missing-value markers, column types fixed from its first
  block, as a local run fixes them from its first piece) come from the client. A file of
  at most one block, a compressed file, a file of bare-CR line ends and a file of one
  column are read whole, as a local run streams them (a block of a gzip stream cannot be
  found without reading what comes before it; one column's blank lines are rows).

`read_inputs` runs on a worker and gives one partition as the engine's `Inputs`, the Hive
keys of its file as text columns, converted by the readers' own code (`table_to_frame`,
`assemble`), so types, missing values and errors are those of a local run. A read error
names the file; a CSV parse error, or a bad cell in a block, is looked for from the start
of the file, so it names the file's row and line as a local run does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from losscli.errors import InputError

# Parquet: row groups of one file joined up to at least this many values (rows × columns
# read), 64 MB of float64. A task costs the scheduler a round trip, so on 10⁸ rows of two
# columns on two workers, partitions of 2²² rows took 4.8-5.4 s against 5.8-6.3 s for 2²⁰.
PARTITION_VALUES = 1 << 23
CSV_BLOCK = 64 << 20  # CSV: bytes per block (dask.dataframe.read_csv's default blocksize)


@dataclass(frozen=True)
class Partition:
    """One worker's share of the table: a whole file, some of its Parquet row groups, or a
    byte block of a CSV file; `rows` when the file's metadata tells."""

    path: str
    keys: dict[str, str | None] = field(default_factory=dict)
    rows: int | None = None
    row_groups: tuple[int, ...] | None = None
    metadata: Any = None  # the Parquet footer, read once by the client
    block: tuple[int, int] | None = None  # CSV: [start, stop) bytes of the lines it owns
    details: dict[str, Any] | None = None  # an object's listing entry (size, ETag): no HEAD
    csv: tuple[bytes, dict[str, Any]] | None = None  # a block's header line, pyarrow options


@dataclass(frozen=True)
class Settings:
    """What every partition of the table shares: its format, name, storage options and,
    and a CSV file's delimiter."""

    format: str
    name: str
    delimiter: str | None
    storage: dict[str, Any]


def plan(
    table: Any, columns: list[str], storage: dict[str, Any]
) -> tuple[list[Partition], Settings]:
    """The partitions of an opened table (`ParquetTable`, `CsvTable` or `CsvDataset`) and
    what they share. Local paths go absolute: workers run in other folders."""
    from losscli.readers.parquet import ParquetTable

    source = table.source
    if source.format not in ("parquet", "csv", "tsv"):
        raise InputError(
            f"--dask reads Parquet and CSV/TSV, and this is {source.format}",
            fix="Convert it to Parquet, or leave out --dask",
            source=source.name,
        )
    if source.path is None and not source.files:
        raise InputError("--dask cannot read standard input", fix="Pass a file, folder or URL")
    keys = list(getattr(table, "partitions", None) or [{}])
    if isinstance(table, ParquetTable):
        least = max(1, PARTITION_VALUES // max(1, len(columns)))
        parts = [
            p
            for (path, pf), k in zip(table._parts, keys, strict=True)
            for p in _row_groups(
                _absolute(path, source), k, pf.metadata, _details(source, path), least
            )
        ]
        return parts, Settings("parquet", source.name, None, storage)
    files = getattr(table, "_parts", None) or [table]  # a CsvDataset's tables, or one
    own = [c for c in columns if c not in keys[0] or c in files[0].names]
    settings = Settings(source.format, source.name, getattr(files[0], "delimiter", None),
                        storage)  # fmt: skip
    parts = []
    for t, k in zip(files, keys, strict=True):
        parts += _blocks(t, _absolute(t.source.path, t.source), k, own)
    return parts, settings


def _absolute(path: str, source: Any) -> str:
    from losscli.readers.remote import is_url

    return path if is_url(path) or source.fs is not None else os.path.abspath(path)


def _details(source: Any, path: str) -> dict[str, Any] | None:
    """An object's entry in the file system's listing (size, ETag; cached, no request), for
    the worker, whose store would otherwise ask for it once per partition; or None."""
    if source.fs is None:
        return None
    try:
        return dict(source.fs.info(path))
    except Exception:  # a store that cannot tell: the worker asks
        return None


def _row_groups(path: str, keys: dict, md: Any, details: Any, least: int) -> list[Partition]:
    """Runs of row groups of at least `least` rows (the last run may be smaller)."""
    out, run, rows = [], [], 0
    for i in range(md.num_row_groups):
        n = md.row_group(i).num_rows
        if n == 0:
            continue
        run.append(i)
        rows += n
        if rows >= least:
            out.append(Partition(path, keys, rows, tuple(run), md, details=details))
            run, rows = [], 0
    if run:
        out.append(Partition(path, keys, rows, tuple(run), md, details=details))
    return out


def _csv_shared(table: Any, own: list[str]) -> tuple[bytes, dict[str, Any]]:
    """The header line and pyarrow's options for every block of a file: column types from
    its first block (integers and empty columns as float64), as `CsvTable.iterate` fixes them from its
    first piece, so that every block reads a column as the same type."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.types as pt

    head = table.text.head(table.block_size)
    header = head[: head.find(b"\n") + 1]
    types = table._first_block_types(own)
    block = head[: head.rfind(b"\n") + 1]
    try:
        first = pacsv.read_csv(io.BytesIO(block), **table._options(own, False, types=types))
        types = {
            f.name: pa.float64() if pt.is_integer(f.type) or pt.is_null(f.type) else f.type
            for f in first.schema
        }
    except (pa.ArrowException, OSError, ValueError, UnicodeError) as exc:
        raise table._diagnose(exc) from None  # the first bad row is in it: as a local run
    return header, table._options(own, False, types=types)


def _blocks(table: Any, path: str, keys: dict, own: list[str]) -> list[Partition]:
    """A CSV file's byte blocks of CSV_BLOCK bytes, or the whole file (see the docstring)."""
    whole = [Partition(path, keys)]
    text, source = table.text, table.source
    if source.compression or table.one_column or text.cr_line_ends:
        return whole
    if source.fs is not None:
        from losscli.readers.remote import size

        total = size(source.fs, source.path)
    else:
        total = os.path.getsize(source.path)
    head = text.head(min(total, 1 << 22))
    start = head.find(b"\n") + 1
    if start == 0 or total - start <= CSV_BLOCK:
        return whole
    cuts = list(range(start, total, CSV_BLOCK)) + [total]
    details = _details(source, source.path)
    csv = _csv_shared(table, own)  # each file's own, as a local run reads each file
    return [
        Partition(path, keys, block=(a, b), details=details, csv=csv)
        for a, b in zip(cuts, cuts[1:], strict=False)
    ]


def read(part: Partition, columns: list[str], settings: Settings, offset: int = 0) -> Any:
    """One partition as a `Frame` of `columns` whose first row is row `offset` of the
    table (on a worker), the Hive keys of its file as text columns."""
    import contextlib

    import numpy as np

    from losscli.readers.remote import is_url, set_storage_options, translated

    set_storage_options(settings.storage)
    own = [c for c in columns if c not in part.keys]
    # a store's errors (credentials, a missing object) come when the bytes are read
    store = translated(part.path) if is_url(part.path) else contextlib.nullcontext()
    try:
        with store:
            if part.row_groups is not None:
                frame = _read_row_groups(part, own, settings)
            elif part.block is not None:
                frame = _read_block(part, own, settings)
            else:
                frame = _read_whole(part, own, settings)
    except FileNotFoundError as exc:
        raise InputError(
            f"no such file ({exc.strerror or exc}) (read by a Dask worker)",
            fix="Give every worker the same path (shared storage or a URL)",
            source=part.path,
        ) from None
    except InputError as exc:
        if exc.row is not None:
            raise
        raise replace(exc, problem=f"{exc.problem} (read by a Dask worker)") from None
    for key, value in part.keys.items():
        if key in columns:
            frame.columns[key] = np.full(frame.n_rows, value, dtype=object)
            frame.types[key] = "string"
            if value is None:
                frame.nulls[key] = np.ones(frame.n_rows, dtype=bool)
    return replace(frame, row_offset=offset)


def read_inputs(
    part: Partition,
    columns: list[str],
    settings: Settings,
    models: list[tuple[Any, Any]],
    offset: int | None,
    index: int,
) -> list[Any]:
    """One partition as the engine's `Inputs`, one per (header, roles) in `models` (one for
    eval, one per model for compare), converted by the readers' own `assemble`: the same
    arrays, checks and messages as a local run. Rows count from `offset`, the partition's
    first row in the table; when it is unknown (CSV blocks), a cell that cannot be read is
    looked for from the start of its file, and engine errors name the partition."""
    from losscli.readers._roles import PREDS
    from losscli.readers.arrays import assemble

    frame = read(part, columns, settings, offset or 0)
    out = []
    for header, roles in models:
        origins = header._origins
        if offset is None:
            where = f"partition {index} of {settings.name} (rows counted from its first row)"
            origins = {k: replace(o, source=where, line_offset=None) for k, o in origins.items()}
        try:
            out.append(assemble(replace(header, _origins=origins), {PREDS: frame}, roles, {},
                                offset or 0))  # fmt: skip
        except InputError as exc:
            if offset is None and exc.row is not None:
                raise _first_bad_cell(part, settings, header, roles) or exc from None
            raise
    return out


def _first_bad_cell(part: Partition, settings: Settings, header: Any, roles: Any) -> Any:
    """The error a local run of the partition's file gives (its row and line)."""
    from losscli.readers._roles import PREDS
    from losscli.readers.arrays import assemble

    table = _csv_table(part, settings)
    try:
        for frame in table.iterate(roles.needed(PREDS), 1 << 16):
            assemble(header, {PREDS: frame}, roles, {}, frame.row_offset)
    except InputError as exc:
        return exc
    return None


def for_workers(header: Any) -> Any:
    """The header without its tables' line finders (a CSV table, which would travel with
    every task); lines are then row + 1, as in a CSV file without blank lines."""
    origins = {k: replace(o, line_of=None) for k, o in header._origins.items()}
    return replace(header, _origins=origins)


def _open(part: Partition) -> Any:
    from losscli.readers.remote import filesystem, is_url, open_binary

    if is_url(part.path):
        fs, _ = filesystem(part.path)
        return open_binary(fs, part.path, part.details)
    return open(part.path, "rb")


def _read_row_groups(part: Partition, own: list[str], settings: Settings) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from losscli.readers._convert import table_to_frame
    from losscli.readers.parquet import _invalid
    from losscli.readers.remote import is_url

    if is_url(part.path):  # its column chunks fetched at once, by merged ranges
        return table_to_frame(_fetched_row_groups(part, own), settings.name, "parquet", None)
    with _open(part) as handle:
        try:
            pf = pq.ParquetFile(handle, metadata=part.metadata, pre_buffer=False)
            table = pf.read_row_groups(list(part.row_groups or ()), columns=own)
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _invalid(part.path, exc) from None
    return table_to_frame(table, settings.name, "parquet", None)


def _fetched_row_groups(part: Partition, own: list[str]) -> Any:
    """A partition of an object in a store, by `readers.ranges` (its units fetched
    concurrently, ahead of their decoding); a store's error is raised as the store's."""
    import pyarrow as pa

    from losscli.readers import ranges
    from losscli.readers.parquet import failure
    from losscli.readers.remote import filesystem

    fs, _ = filesystem(part.path)
    size = (part.details or {}).get("size") or fs.size(part.path)
    before = ranges.stamp(part.details or {})  # the version the client planned
    todo = ranges.units(0, part.path, part.metadata, own, part.row_groups)
    try:
        got = [b for _, b in ranges.batches(fs, [(size, part.metadata)], todo, own, 1 << 62)]
    except ranges.Failed as failed:  # a store's error is translated by `read`
        raise failure(fs, part.path, failed, before) from None
    if before and ranges.changed(fs, part.path, before):
        raise ranges.changed_error(part.path)
    if not got:
        return part.metadata.schema.to_arrow_schema().empty_table().select(own)
    return pa.Table.from_batches(got)


def _read_block(part: Partition, own: list[str], settings: Settings) -> Any:
    """The lines that start in [start, stop) of a CSV file, parsed behind the header."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from losscli.readers._convert import table_to_frame
    from losscli.readers._csv_stream import empty_text_as_null

    start, stop = part.block  # type: ignore[misc]
    header, options = part.csv  # type: ignore[misc]
    with _open(part) as fh:
        fh.seek(start - 1)
        at = start - 1 + len(fh.readline())  # the first line that starts at or after `start`
        data = fh.read(stop - at) if at < stop else b""
        if data and not data.endswith(b"\n"):
            data += fh.readline()  # the last line that starts before `stop`, whole
    if not data.strip():
        return table_to_frame(_empty(own), settings.name, settings.format, None)
    try:
        table = empty_text_as_null(pacsv.read_csv(pa.py_buffer(header + data), **options))
        if any(pa.types.is_binary(f.type) for f in table.schema):
            raise ValueError("it is not valid UTF-8")
    except (pa.ArrowException, OSError, ValueError, UnicodeError) as exc:
        raise _csv_table(part, settings)._diagnose(exc) from None  # the row, from the start
    return table_to_frame(table, settings.name, settings.format, None)


def _empty(own: list[str]) -> Any:
    import pyarrow as pa

    return pa.table({c: pa.array([], pa.float64()) for c in own})


def _csv_table(part: Partition, settings: Settings) -> Any:
    from losscli.readers import open_table

    return open_table(part.path, input_format=settings.format, delimiter=settings.delimiter)


def _read_whole(part: Partition, own: list[str], settings: Settings) -> Any:
    """A whole CSV file, read as a local run streams it (types fixed by its first block,
    the pieces parsed in order), its chunks joined."""
    from losscli.readers.dataset import _concat

    table = _csv_table(part, settings)
    return _concat(list(table.iterate(own, 1 << 62)), settings.name)
