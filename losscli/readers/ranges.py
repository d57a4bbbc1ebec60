"""Parquet objects in a store, read by byte ranges fetched ahead of the engine (SPEC §10).

A store answers a request slowly and many requests at once quickly, so a Parquet file in a
store is not read through a file object chunk by chunk (each column chunk a request, the
losses waiting for each). Instead:

- `footers`: the footers of all a dataset's objects in one concurrent `cat_ranges` of
  their last `TAIL` bytes (a second request only for a footer larger than that).
- `units`: a file's row groups cut into units of at most `UNIT` bytes of the requested
  columns; a unit's column chunks are merged into few requests (`fsspec.utils.
  merge_offset_ranges`: gaps up to `GAP` bytes read through, as pyarrow's own pre-buffering
  joins ranges).
- `Ahead`: the units fetched by a few threads at once, in order, up to `AHEAD` bytes beyond
  the unit being decoded, while the engine computes the losses of the previous one; memory
  stays bounded by `AHEAD` + one unit, whatever the size of the files.
- `Spans`: the file object pyarrow decodes a unit from: reads are served from the fetched
  bytes, and a read outside them (never, for the ranges of the metadata) is fetched.
- Every answer must be as long as the range asked for. A web server that ignores ranges
  sends the whole object: `footers` keeps it (the object is then read from memory), and a
  unit's range is cut from it; any other length is an error, never decoded.
- `stamp`, `changed`, `differs`: an object's version (size, ETag, generation) when its
  footer was read, compared again after its rows are read (`ParquetTable`, and the Dask
  partitions), so that rows of two versions are an error, not a number.

The requests go through the fsspec file system of the URL (`remote.filesystem`), so
credentials, `--storage-option` and errors are those of every other read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError

TAIL = 64 << 10  # bytes read from the end of each object: the footer, in one request
UNIT = 32 << 20  # at most this many bytes of column chunks per unit (pyarrow's range_size_limit)
GAP = 8 << 10  # bytes between column chunks read through rather than a new request
AHEAD = 96 << 20  # fetched bytes kept ahead of the unit being decoded
FETCHERS = 4  # units fetched at once


@dataclass(frozen=True)
class Unit:
    """Row groups of one object and the merged byte ranges of their requested columns."""

    file: int  # the object's place in the dataset
    path: str
    row_groups: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends, strict=True))


class Spans(io.RawIOBase):
    """One object of size `size` as pyarrow reads it: `parts` (start -> bytes) fetched
    already; any other read is a request of its own."""

    def __init__(self, fs: Any, path: str, size: int, parts: dict[int, bytes] | None = None):
        super().__init__()
        self.fs, self.path, self.size = fs, path, size
        self.parts = sorted((parts or {}).items())
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        stop = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        start, self.pos = self.pos, max(self.pos, stop)
        if start >= stop:
            return b""
        for at, data in self.parts:
            if at <= start and stop <= at + len(data):
                return memoryview(data)[start - at : stop - at]  # type: ignore[return-value]
        return _check_length(self.fs.cat_file(self.path, start=start, end=stop), start, stop,
                             self.size)  # fmt: skip

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def footers(
    fs: Any, paths: Sequence[str], sizes: Sequence[int]
) -> tuple[list[Any], dict[int, bytes]]:
    """Each object's Parquet metadata (`pq.FileMetaData`), from one concurrent request of
    every object's last TAIL bytes; an object that fails is `Failed` (the first, in order).
    Also the objects a server sent whole, ignoring the range (a web server may): {file:
    bytes}, read from memory from then on rather than fetched whole again for each range."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    starts = [max(0, s - TAIL) for s in sizes]
    tails = fs.cat_ranges(list(paths), starts, list(sizes), on_error="return")
    out, whole = [], {}
    for i, (path, size, tail, start) in enumerate(zip(paths, sizes, tails, starts, strict=True)):
        if isinstance(tail, BaseException):
            raise Failed(i, tail, fetching=True)
        if start and len(tail) == size:
            whole[i] = tail  # the whole object, whose end is the tail asked for
        elif len(tail) != size - start:
            raise Failed(i, _length_error(tail, start, size), fetching=True)
        try:
            if len(tail) < 8 or tail[-4:] != b"PAR1":
                raise ValueError("Parquet magic bytes not found in footer")
            need = int.from_bytes(tail[-8:-4], "little") + 8
            if need > size:
                raise ValueError(f"its footer claims {need} bytes of a {size}-byte object")
        except ValueError as exc:
            raise Failed(i, exc, fetching=False) from None
        if need > len(tail):
            try:
                tail = fs.cat_file(path, start=size - need, end=size)
                tail = _check_length(tail, size - need, size, size)
            except Exception as exc:
                raise Failed(i, exc, fetching=True) from None
        try:
            out.append(pq.ParquetFile(pa.BufferReader(tail)).metadata)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise Failed(i, exc, fetching=False) from None
    return out, whole


def units(file: int, path: str, md: Any, columns: Sequence[str] | None,
          row_groups: Sequence[int] | None = None) -> list[Unit]:  # fmt: skip
    """The units of `row_groups` (default: all) of object `file` of a dataset, at `path`,
    with metadata `md`, reading the leaf columns of the top-level `columns` (default: all)."""
    from fsspec.utils import merge_offset_ranges

    wanted = None if columns is None else set(columns)
    leaves: list[int] = []
    j = 0
    for f in md.schema.to_arrow_schema():  # a field's leaf columns follow each other
        n = _leaf_count(f.type)
        if wanted is None or f.name in wanted:
            leaves += range(j, j + n)
        j += n
    out: list[Unit] = []
    group: list[int] = []
    ranges: list[tuple[int, int]] = []
    size = 0

    def close() -> None:
        if group:
            _, s, e = merge_offset_ranges([path] * len(ranges), [a for a, _ in ranges],
                                          [b for _, b in ranges], max_gap=GAP, max_block=UNIT,
                                          sort=True)  # fmt: skip
            out.append(Unit(file, path, tuple(group), tuple(s), tuple(e)))  # type: ignore[arg-type]

    for g in range(md.num_row_groups) if row_groups is None else row_groups:
        rg = md.row_group(g)
        if rg.num_rows == 0:
            continue
        own = [_chunk_range(rg.column(j)) for j in leaves]
        nbytes = sum(e - s for s, e in own)
        if group and size + nbytes > UNIT:
            close()
            group, ranges, size = [], [], 0
        group.append(g)
        ranges += own
        size += nbytes
    close()
    return out


def _leaf_count(t: Any) -> int:
    """Parquet leaf columns of an Arrow type: one, or its children's (a struct's fields, a
    list's item, a map's key and value); a column named 'a.b' is one leaf, not a path."""
    import pyarrow.types as pt

    if pt.is_struct(t):
        return sum(_leaf_count(t.field(i).type) for i in range(t.num_fields))
    if pt.is_map(t):
        return _leaf_count(t.key_type) + _leaf_count(t.item_type)
    if pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t):
        return _leaf_count(t.value_type)
    return 1


def _chunk_range(chunk: Any) -> tuple[int, int]:
    """[start, end) of a column chunk: its dictionary page, if any, then its data pages."""
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and chunk.dictionary_page_offset:
        start = min(start, chunk.dictionary_page_offset)
    return start, start + chunk.total_compressed_size


def fetch(fs: Any, unit: Unit, size: int | None = None) -> dict[int, bytes]:
    """A unit's bytes, its ranges requested concurrently. Each must be as long as asked; a
    server that ignores ranges sends the whole object (`size` bytes), cut to the range."""
    n = len(unit.starts)
    data = fs.cat_ranges([unit.path] * n, list(unit.starts), list(unit.ends), on_error="raise")
    return {
        start: _check_length(got, start, end, size)
        for start, end, got in zip(unit.starts, unit.ends, data, strict=True)
    }


def _check_length(data: bytes, start: int, end: int, size: int | None) -> bytes:
    """`data` if it is the range [start, end); the range of it if it is the whole object
    of `size` bytes; else an error (a short or long answer is never decoded as the range)."""
    if len(data) == end - start:
        return data
    if size is not None and len(data) == size:
        return data[start:end]
    raise _length_error(data, start, end)


def _length_error(data: bytes, start: int, end: int) -> ValueError:
    return ValueError(
        f"the store sent {len(data):,} bytes for the byte range {start:,}-{end:,} of "
        f"{end - start:,} bytes (the object changed, or the store does not serve byte ranges)"
    )


IDENTITY = ("size", "ETag", "etag", "generation", "VersionId", "version_id", "md5Hash")


def stamp(info: dict[str, Any]) -> dict[str, Any]:
    """What tells one version of an object from another in its store's listing entry:
    size, ETag (S3, Azure), generation (GCS), version. Not the time: a listing and a HEAD
    give it at different precisions."""
    return {k: info[k] for k in IDENTITY if info.get(k) is not None}


def changed(fs: Any, path: str, before: dict[str, Any]) -> bool:
    """Whether the object at `path` is no longer the version `before` (`stamp`): gone, or
    another size or ETag. A store that cannot tell (an error asking) is taken as unchanged."""
    try:
        fs.invalidate_cache(path)
        info = fs.info(path)
    except FileNotFoundError:
        return True
    except Exception:
        return False
    return differs(before, info)


def differs(before: dict[str, Any], info: dict[str, Any] | None) -> bool:
    """Whether the listing entry `info` (None: gone) is another version than `before`."""
    if info is None:
        return True
    now = stamp(info)
    return any(before[k] != now[k] for k in before.keys() & now.keys())


def changed_error(label: str) -> InputError:
    return InputError(
        "the object changed while it was read (its size or ETag is not what it was when "
        "its footer was read), so its rows would mix two versions",
        fix="Rerun once whatever writes it has finished",
        source=label,
    )


class Failed(Exception):
    """What went wrong with object `file` of a dataset: its store's error while `fetching`,
    else pyarrow's while decoding its bytes (the reader names the object)."""

    def __init__(self, file: int, error: BaseException, fetching: bool) -> None:
        super().__init__(str(error))
        self.file, self.error, self.fetching = file, error, fetching


class Ahead:
    """`todo` fetched ahead by a pool of FETCHERS threads, at most `ahead` bytes beyond the
    unit being read (always the next unit). Iterate for (unit, its bytes), in order; a
    store's error is raised, as `Failed`, where its unit is reached. The pool's pending
    fetches are cancelled when the iteration ends or is abandoned."""

    def __init__(self, fs: Any, todo: Sequence[Unit], sizes: Sequence[int] | None = None,
                 whole: dict[int, bytes] | None = None, ahead: int | None = None) -> None:  # fmt: skip
        self.fs, self.todo, self.ahead = fs, list(todo), AHEAD if ahead is None else ahead
        self.sizes, self.whole = sizes, whole or {}  # each object's size; those sent whole
        self.futures: dict[int, Any] = {}
        self.submitted = 0  # units handed to the pool
        self.held = 0  # bytes of the units submitted and not yet handed out

    def _submit(self, pool: Any) -> None:
        while self.submitted < len(self.todo):
            unit = self.todo[self.submitted]
            if self.held and self.held + unit.nbytes > self.ahead:
                return
            size = None if self.sizes is None else self.sizes[unit.file]
            if unit.file in self.whole:
                self.futures[self.submitted] = pool.submit(dict, {0: self.whole[unit.file]})
            else:
                self.futures[self.submitted] = pool.submit(fetch, self.fs, unit, size)
            self.held += unit.nbytes
            self.submitted += 1

    def __iter__(self) -> Iterator[tuple[Unit, dict[int, bytes]]]:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(FETCHERS, thread_name_prefix="losscli-fetch")
        try:
            for i, unit in enumerate(self.todo):
                self._submit(pool)
                try:
                    data = self.futures.pop(i).result()
                except Exception as exc:
                    raise Failed(unit.file, exc, fetching=True) from None
                self.held -= unit.nbytes
                self._submit(pool)
                yield unit, data
        finally:
            for future in self.futures.values():
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)


def batches(fs: Any, files: Sequence[tuple[int, Any]], todo: Sequence[Unit],
            columns: Sequence[str] | None, batch_rows: int,
            whole: dict[int, bytes] | None = None) -> Iterator[tuple[int, Any]]:  # fmt: skip
    """(file, record batch) of the units `todo`, in order, fetched ahead (one `Ahead` over
    every object, so the next object's bytes come while this one's are decoded) and decoded
    by pyarrow; `files` holds each object's (size, metadata), `whole` the objects a server
    sent whole (`footers`). Errors are `Failed`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for unit, data in Ahead(fs, todo, [size for size, _ in files], whole):
        size, md = files[unit.file]
        try:
            pf = pq.ParquetFile(Spans(fs, unit.path, size, data), metadata=md, pre_buffer=False)
            read = pf.iter_batches(batch_size=batch_rows, row_groups=list(unit.row_groups),
                                   columns=None if columns is None else list(columns),
                                   use_threads=True)  # fmt: skip
            for batch in read:
                yield unit.file, batch
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise Failed(unit.file, exc, fetching=False) from None
