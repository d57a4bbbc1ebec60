"""NPY and NPZ arrays, read without ever unpickling and without trusting the header.

The header is parsed here rather than by `np.load`, so that a crafted one (oversized,
bad `descr`, a bool or 2^64 shape entry, more data declared than the file holds) is an
`InputError` before anything is allocated, never a TokenError, OverflowError or a
gigantic allocation. Object dtypes are refused outright: nothing is ever unpickled.

A file is memory-mapped, so a large array is not loaded: streaming slices rows. A 1-D
array is one column named "0"; a 2-D (n, k) array is columns "0".."k-1". An NPZ archive
with `--key` (or a per-file key, `file.npz:key`) is that array; without, every array must
be 1-D or 2-D with one length: a 1-D array is a column named by its key, a 2-D array `p`
gives columns `p_0`..`p_{k-1}`, and `arrays` maps `p` to those columns so that the name
of the array can stand for all of them (`--pred-col p`).
"""

from __future__ import annotations

import ast
import io
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from losscli.errors import InputError
from losscli.readers._frame import Frame
from losscli.readers._source import Source

MAGIC = b"\x93NUMPY"
MAX_HEADER = 10000  # numpy's own limit for np.load (numpy >= 1.24)
_SHAPE_HINT = "Save a 1-D array (n,) for one value per row or a 2-D array (n, k) for k columns"


@dataclass
class _Header:
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool
    offset: int  # where the data starts

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: no overflow


def parse_header(read: Callable[[int], bytes], name: str, mask: bool = False) -> _Header:
    """Parse and validate an NPY header (of a mask: `_check_array`); every failure is an
    InputError."""
    magic = read(8)
    if len(magic) < 8 or not magic.startswith(MAGIC):
        raise InputError("not a valid NPY file (no \\x93NUMPY magic)", source=name)
    major = magic[6]
    if major not in (1, 2, 3):
        raise InputError(f"unsupported NPY format version {major}.{magic[7]}", source=name)
    size_bytes = read(2 if major == 1 else 4)
    if len(size_bytes) < (2 if major == 1 else 4):
        raise InputError("NPY header is truncated", source=name)
    length = struct.unpack("<H" if major == 1 else "<I", size_bytes)[0]
    if length > MAX_HEADER:
        raise InputError(
            f"NPY header is {length} bytes, more than {MAX_HEADER}: the file is damaged or crafted",
            source=name,
        )
    raw = read(length)
    if len(raw) < length:
        raise InputError("NPY header is truncated", source=name)
    try:
        text = raw.decode("utf-8" if major == 3 else "latin1")
        # literal_eval evaluates literals only; anything can still go wrong in a crafted
        # header (SyntaxError, MemoryError, RecursionError...), hence the broad except.
        meta = ast.literal_eval(text)
    except Exception as exc:
        raise InputError(f"NPY header is malformed ({type(exc).__name__})", source=name) from None
    if not isinstance(meta, dict) or set(meta) != {"descr", "fortran_order", "shape"}:
        raise InputError(
            "NPY header is malformed (expected keys descr, fortran_order, shape)", source=name
        )
    shape = meta["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise InputError(f"NPY header has an invalid shape {shape!r}", source=name)
    if not isinstance(meta["fortran_order"], bool):
        raise InputError("NPY header has an invalid fortran_order", source=name)
    try:
        dtype = np.lib.format.descr_to_dtype(meta["descr"])
    except Exception as exc:
        raise InputError(
            f"NPY header has an invalid descr {meta['descr']!r} ({type(exc).__name__})",
            source=name,
        ) from None
    header = _Header(dtype, shape, meta["fortran_order"], len(magic) + len(size_bytes) + length)
    _check_array(header, name, mask)
    return header


def _check_array(header: _Header, name: str, mask: bool = False) -> None:
    """Numbers or text of shape (n,) or (n, k); with `mask`, numbers of any shape with at
    least two dimensions (SPEC §12: images and volumes, one per index of the first axis, or
    one per file of a folder)."""
    dtype, shape = header.dtype, header.shape
    if dtype.hasobject:
        raise InputError(
            "pickled arrays are not supported (the array has dtype object)",
            fix="Save a numeric array, e.g. np.save(path, arr.astype(float))",
            source=name,
        )
    if dtype.names is not None or dtype.kind not in "biufUS":
        raise InputError(
            f"arrays of dtype {dtype} are not supported; expected numbers or text",
            fix="Save a numeric array, e.g. np.save(path, arr.astype(float))",
            source=name,
        )
    if mask:
        _check_mask(dtype, shape, name)
        return
    if len(shape) not in (1, 2):
        what = "a 0-d scalar" if not shape else f"shape {shape}"
        raise InputError(
            f"holds {what}; expected shape (n,) or (n, k)", fix=_SHAPE_HINT, source=name
        )
    if shape[0] == 0:
        raise InputError(f"no rows (the array has shape {shape})", source=name)
    if len(shape) == 2 and shape[1] == 0:
        raise InputError(f"no columns (the array has shape {shape})", fix=_SHAPE_HINT, source=name)


def _check_mask(dtype: np.dtype, shape: tuple[int, ...], name: str) -> None:
    if dtype.kind not in "biuf":
        raise InputError(
            f"a mask must hold numbers, but this array has dtype {dtype}",
            fix="Save probabilities, logits or labels as numbers",
            source=name,
        )
    if len(shape) < 2:
        raise InputError(
            f"holds shape {shape}; a mask has at least two dimensions, (N, *spatial) or "
            "(N, C, *spatial), or (*spatial) for one image of a folder",
            source=name,
        )
    if 0 in shape:
        raise InputError(f"holds no values (the array has shape {shape})", source=name)


def _check_size(header: _Header, available: int, name: str) -> None:
    if header.nbytes > available:
        raise InputError(
            f"the NPY header declares {header.nbytes} bytes of data (shape {header.shape}, "
            f"{header.dtype}) but the file holds {max(available, 0)}: it is truncated or crafted",
            source=name,
        )


def _columns(array: np.ndarray, prefix: str | None) -> dict[str, np.ndarray]:
    if array.ndim == 1:
        return {prefix if prefix is not None else "0": array}
    stem = f"{prefix}_" if prefix is not None else ""
    return {f"{stem}{i}": array[:, i] for i in range(array.shape[1])}


def _convert(values: np.ndarray, name: str) -> np.ndarray:
    """Numbers as float64, except float32 and float16, which keep their dtype in native byte
    order: the engine clips at the ε of the predictions' dtype, as scikit-learn, and casts
    each chunk to float64 itself. Text as str objects."""
    if values.dtype.kind == "f" and values.dtype.itemsize in (2, 4):
        return values.astype(values.dtype.newbyteorder("="))
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    if values.dtype.kind == "S":
        try:
            return np.char.decode(values, "utf-8").astype(object)
        except UnicodeDecodeError:
            raise InputError("holds bytes that are not UTF-8 text", source=name) from None
    return values.astype(object)


class NpyTable:
    """One array: a memory-mapped file or a buffer (standard input, an NPZ member)."""

    line_offset = None
    arrays: dict[str, list[str]] = {}  # NPZ: 2-D array name -> its columns (read only)
    key: str | None = None  # NPZ: the array read with a key, None for all side by side

    def __init__(
        self,
        source: Source,
        array: np.ndarray | None = None,
        fmt: str = "npy",
        prefix: str | None = None,
    ):
        self.source = source
        self.format = fmt
        self.array = array if array is not None else self._load()
        self._columns = _columns(self.array, prefix)
        self.names = list(self._columns)
        # a C-order file: chunks are read by positioned reads (`read_rows`), not the map
        self._file_rows = isinstance(self.array, np.memmap) and self.array.flags.c_contiguous

    def _load(self) -> np.ndarray:
        name = self.source.name
        if self.source.data is not None:
            data = self.source.data
            header = parse_header(io.BytesIO(data).read, name)
            _check_size(header, len(data) - header.offset, name)
            return _from_buffer(data, header)
        path = self.source.path
        assert path is not None
        try:
            with open(path, "rb") as fh:
                header = parse_header(fh.read, name)
            size = os.path.getsize(path)
        except OSError as exc:
            raise InputError(f"cannot read it ({exc.strerror})", source=name) from None
        _check_size(header, size - header.offset, name)
        order = "F" if header.fortran else "C"
        return np.memmap(path, header.dtype, "r", header.offset, header.shape, order)

    def rows_hint(self) -> int | None:
        """Rows: the array's first dimension."""
        return int(self.array.shape[0]) if self.array.ndim else 1

    def read(self, columns: Sequence[str] | None = None) -> Frame:
        names = list(columns) if columns is not None else self.names
        out = {n: _convert(self._columns[n], self.source.name) for n in names}
        return Frame(self.source.name, self.format, out, len(self.array), None)

    def iterate(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[Frame]:
        names = list(columns) if columns is not None else self.names
        for start in range(0, len(self.array), batch_rows):
            if self._file_rows:
                block = read_rows(self.array, start, start + batch_rows)
                at = {n: i for i, n in enumerate(self.names)}
                parts = {n: block if block.ndim == 1 else block[:, at[n]] for n in names}
            else:
                parts = {n: self._columns[n][start : start + batch_rows] for n in names}
            out = {n: _convert(v, self.source.name) for n, v in parts.items()}
            n_rows = (
                len(next(iter(out.values()))) if out else min(batch_rows, len(self.array) - start)
            )
            yield Frame(self.source.name, self.format, out, n_rows, None, row_offset=start)


def read_rows(arr: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows start:stop of an array. From a memory-mapped C-order file they are read with one
    positioned read into memory of their own: pages touched through the map would stay
    resident (and count in the process's peak memory) until the map is closed, so peak
    memory would grow with the file."""
    stop = min(stop, len(arr))
    if isinstance(arr, np.memmap) and arr.flags.c_contiguous and arr.filename is not None:
        per_row = math.prod(arr.shape[1:])
        out = np.fromfile(
            arr.filename,
            dtype=arr.dtype,
            count=(stop - start) * per_row,
            offset=arr.offset + start * per_row * arr.dtype.itemsize,
        )
        return out.reshape((stop - start, *arr.shape[1:]))
    return np.asarray(arr[start:stop])


def _from_buffer(data: bytes, header: _Header) -> np.ndarray:
    count = math.prod(header.shape)
    flat = np.frombuffer(data, header.dtype, count=count, offset=header.offset)
    return flat.reshape(header.shape, order="F" if header.fortran else "C")


class NpzTable(NpyTable):
    """An NPZ archive: one array with `key`, or all arrays side by side (module docstring)."""

    def __init__(self, source: Source, key: str | None = None) -> None:
        name = source.name
        try:
            self._zip = zipfile.ZipFile(
                io.BytesIO(source.data) if source.data is not None else source.path
            )
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(f"not a valid NPZ file ({exc})", source=name) from None
        members = {i.filename[:-4]: i for i in self._zip.infolist() if i.filename.endswith(".npy")}
        if not members:
            raise InputError("holds no arrays", source=name)
        self.source, self.format = source, "npz"
        self.members = list(members)
        if key is not None or len(members) == 1:
            key = key if key is not None else next(iter(members))
            if key not in members:
                from losscli.readers._names import did_you_mean

                raise InputError(
                    f"no array '{key}'; arrays are {', '.join(members)}{did_you_mean(key, list(members))}",
                    fix=f"Pass --key {next(iter(members))}",
                    source=name,
                )
            super().__init__(source, self._member(key, members[key]), "npz", None)
            self.key = key
            return
        headers = {k: self._header(k, info) for k, info in members.items()}
        lengths = {h.shape[0] for h in headers.values()}
        if len(lengths) > 1:
            listing = ", ".join(f"{k} {h.shape}" for k, h in headers.items())
            raise InputError(
                f"holds several arrays of different lengths: {listing}",
                fix=f"Pass --key to choose one, e.g. --key {next(iter(members))}",
                source=name,
            )
        self._columns = {}
        self._file_rows = False  # several arrays side by side: read through their maps
        self.arrays = {}
        for k, info in members.items():
            columns = _columns(self._member(k, info), k)
            self._columns.update(columns)
            if headers[k].shape[1:]:
                self.arrays[k] = list(columns)
        self.array = next(iter(self._columns.values()))
        self.names = list(self._columns)

    def _header(self, key: str, info: zipfile.ZipInfo) -> _Header:
        label = f"{self.source.name}[{key}]"
        try:
            with self._zip.open(info) as fh:
                return parse_header(fh.read, label)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise InputError(f"NPZ member is corrupt ({exc})", source=label) from None

    def _member(self, key: str, info: zipfile.ZipInfo) -> np.ndarray:
        label = f"{self.source.name}[{key}]"
        try:
            with self._zip.open(info) as fh:
                header = parse_header(fh.read, label)
                _check_size(header, info.file_size - header.offset, label)
                # Read in pieces so that a size that lies never allocates more than the data.
                parts, size = [], 0
                while size < header.nbytes:
                    chunk = fh.read(min(16 << 20, header.nbytes - size))
                    if not chunk:
                        break
                    parts.append(chunk)
                    size += len(chunk)
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise InputError(f"NPZ member is corrupt ({exc})", source=label) from None
        _check_size(header, size, label)
        data = b"".join(parts)
        return _from_buffer(data, _Header(header.dtype, header.shape, header.fortran, 0))


# --- masks (SPEC §12) -----------------------------------------------------------------------


def open_mask(source: Source, key: str | None = None) -> np.ndarray:
    """The whole N-D array of a mask file, never loaded: an NPY file is memory-mapped, and
    so is an NPZ member stored uncompressed (a compressed member is read whole, as it must
    be inflated). Streaming a mask then slices whole images off its first axis."""
    name = source.name
    if source.path is None:
        raise InputError(
            "masks are memory-mapped, so they are read from a file, not standard input",
            fix="Save the array to a file and pass its path",
            source=name,
        )
    if source.format == "npz":
        return _npz_mask(source.path, key, name)
    if key is not None:
        raise InputError(f"--key applies to NPZ archives, but this is {source.format}", source=name)
    try:
        with open(source.path, "rb") as fh:
            header = parse_header(fh.read, name, mask=True)
        size = os.path.getsize(source.path)
    except OSError as exc:
        raise InputError(f"cannot read it ({exc.strerror})", source=name) from None
    _check_size(header, size - header.offset, name)
    order = "F" if header.fortran else "C"
    return np.memmap(source.path, header.dtype, "r", header.offset, header.shape, order)


def mask_shape(source: Source, key: str | None = None) -> tuple[int, ...] | None:
    """The shape an NPY or NPZ file declares (the one array, or `key`), from its header only;
    None when it is not one array (an NPZ of several without a key) or cannot be read."""
    try:
        if source.format == "npy" and source.path is not None:
            with open(source.path, "rb") as fh:
                return parse_header(fh.read, source.name, mask=True).shape
        if source.format == "npz" and source.path is not None:
            with zipfile.ZipFile(source.path) as zf:
                members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
                if key is not None:
                    members = [i for i in members if i.filename[:-4] == key]
                if len(members) != 1:
                    return None
                with zf.open(members[0]) as fh:
                    return parse_header(fh.read, source.name, mask=True).shape
    except (InputError, OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError):
        return None
    return None


def _npz_mask(path: str, key: str | None, name: str) -> np.ndarray:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not a valid NPZ file ({exc})", source=name) from None
    with zf:
        members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
        if key is None and len(members) != 1:
            listing = ", ".join(members) or "none"
            raise InputError(
                f"holds {len(members)} arrays ({listing}); a mask is one array",
                fix=f"Pass --key to choose one{', e.g. --key ' + next(iter(members)) if members else ''}",
                source=name,
            )
        key = key if key is not None else next(iter(members))
        if key not in members:
            from losscli.readers._names import did_you_mean

            raise InputError(
                f"no array '{key}'; arrays are {', '.join(members)}{did_you_mean(key, list(members))}",
                source=name,
            )
        info, label = members[key], f"{name}[{key}]"
        try:
            with zf.open(info) as fh:
                header = parse_header(fh.read, label, mask=True)
                _check_size(header, info.file_size - header.offset, label)
                if info.compress_type == zipfile.ZIP_STORED:
                    # the member's bytes lie in the file as they are: map them
                    with open(path, "rb") as raw:
                        raw.seek(info.header_offset)
                        local = raw.read(30)
                        skip = struct.unpack("<HH", local[26:30])
                    start = info.header_offset + 30 + sum(skip) + header.offset
                    order = "F" if header.fortran else "C"
                    return np.memmap(path, header.dtype, "r", start, header.shape, order)
                data = fh.read(header.nbytes)
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise InputError(f"NPZ member is corrupt ({exc})", source=label) from None
    _check_size(header, len(data), label)
    return _from_buffer(data, _Header(header.dtype, header.shape, header.fortran, 0))
