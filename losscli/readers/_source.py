"""Where the bytes come from: a path, a directory of Parquet files or standard input.

`resolve` turns what the user typed into a `Source` with a format, checking the things
that fail before any parsing: a missing path, a directory, a permission problem, an empty
file, a terminal on stdin, an unknown format.

Format rule: magic bytes win over the extension (a `.csv` that holds Parquet or gzip
bytes is read as what it is); an explicit ``--input-format`` that contradicts the magic
bytes is an error, because one of the two is a mistake and guessing would hide it.
Standard input is recognised by its magic bytes and is CSV otherwise. Binary formats on
stdin cannot be seeked, so they are buffered in memory up to ``LOSSCLI_STDIN_CAP`` bytes
(256 MiB by default).

A path that is not a regular file or a directory (a named FIFO, `/dev/stdin`, `/dev/fd/63`
from the shell's process substitution `<(...)`) can be read only once: opening it a second
time blocks (a FIFO) or finds nothing (a pipe). Such a path is opened once and read exactly
like `-`, its name kept for messages. A URL (`s3://`, `gs://`, ...) is read through fsspec
(`remote`); a glob or a folder of Parquet or CSV files is one table in file-name order.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from typing import IO, Any

from losscli.errors import InputError

FORMATS = ("csv", "tsv", "parquet", "feather", "npy", "npz")
_FORMAT_ALIASES = {"arrow": "feather", "ipc": "feather", "pq": "parquet", "txt": "csv"}
FORMAT_HINT = "Pass --input-format csv, tsv, parquet, feather, npy or npz"

# Binary formats and compressed streams, by their first bytes.
_MAGIC = (
    (b"\x93NUMPY", "npy"),
    (b"PAR1", "parquet"),
    (b"ARROW1", "feather"),
    (b"FEA1", "feather"),  # Feather v1
    (b"PK\x03\x04", "npz"),
    (b"PK\x05\x06", "npz"),  # an empty zip archive
)
_COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".npy": "npy",
    ".npz": "npz",
}
_COMPRESSION_EXTENSIONS = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".bz2": "bz2",
    ".zst": "zstd",
    ".zstd": "zstd",
    ".xz": "xz",
    ".lz4": "lz4",
}
_STDIN_CAP = 256 << 20
_HEAD = 8


@dataclass
class Source:
    """A resolved input: its name for messages, its format and how to get its bytes."""

    name: str  # as the user typed it, or "stdin"
    format: str
    path: str | None = None  # a file or a directory; None for stdin, a FIFO or a pipe
    data: bytes | None = None  # stdin or a pipe, buffered (binary formats)
    stream: IO[bytes] | None = None  # stdin or a pipe, unbuffered (CSV/TSV), readable once
    compression: str | None = None
    files: list[str] = field(default_factory=list)  # a folder or glob: one table of files
    fs: Any = None  # the fsspec file system of a URL (`remote`); None for local paths

    @property
    def is_stdin(self) -> bool:
        """Read once, as standard input is (stdin itself, a FIFO or a pipe)."""
        return self.path is None


def normalize_format(input_format: str | None) -> str | None:
    if input_format is None:
        return None
    fmt = input_format.strip().lower().lstrip(".")
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InputError(
            f"unknown input format '{input_format}'; formats are {', '.join(FORMATS)}",
            fix=FORMAT_HINT,
        )
    return fmt


def sniff(head: bytes) -> tuple[str | None, str | None]:
    """(format, compression) recognised from the first bytes; None where unknown."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt, None
    for magic, codec in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            return "csv", codec
    return None, None


def from_extension(path: str) -> tuple[str | None, str | None]:
    """(format, compression) from the file name: `x.csv.gz` is ("csv", "gzip")."""
    base = os.path.basename(path).lower()
    stem, ext = os.path.splitext(base)
    compression = _COMPRESSION_EXTENSIONS.get(ext)
    if compression:
        stem, ext = os.path.splitext(stem)
        return _EXTENSIONS.get(ext, "csv"), compression
    return _EXTENSIONS.get(ext), None


def stdin_cap() -> int:
    text = os.environ.get("LOSSCLI_STDIN_CAP")
    if not text:
        return _STDIN_CAP
    try:
        cap = int(text)
    except ValueError:
        raise InputError(
            f"LOSSCLI_STDIN_CAP is '{text}', not a number of bytes",
            fix="Set LOSSCLI_STDIN_CAP to an integer such as 268435456",
        ) from None
    return max(cap, 1)


def resolve(path: str, input_format: str | None = None) -> Source:
    """Check that `path` can be read and decide its format (see the module docstring)."""
    fmt = normalize_format(input_format)
    if path == "-":
        return _resolve_stdin(fmt)
    from losscli.readers import remote

    if remote.is_url(path):
        return remote.resolve_url(path, fmt, from_extension, _choose, sniff)
    if remote.is_glob(path) and not os.path.lexists(path):
        return _resolve_glob(path, fmt)
    return _resolve_path(path, fmt)


def reads_once(path: str) -> bool:
    """Whether `path` can be read only once: "-" (stdin), or a path that exists and is not
    a regular file or a directory (a FIFO, a pipe from `<(...)`, `/dev/stdin` on a pipe)."""
    if path == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def remote_path_error(path: str) -> InputError | None:
    """The error for a URL of a scheme losscli does not read (`ftp://`), or None; the
    schemes it reads never get here (`resolve` hands them to `remote`)."""
    from losscli.readers import remote

    return remote.unsupported(path) if remote.scheme_of(path) else None


def _resolve_path(path: str, fmt: str | None) -> Source:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        remote = remote_path_error(path)
        if remote is not None:
            raise remote from None
        raise InputError("no such file or directory", fix="Check the path", source=path) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        return _resolve_directory(path, fmt)
    if not stat.S_ISREG(st.st_mode):
        return _resolve_once(path, fmt)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if not head:
        raise InputError("file is empty", source=path)
    ext_fmt, ext_comp = from_extension(path)
    magic_fmt, magic_comp = sniff(head)
    chosen = _choose(path, fmt, ext_fmt, magic_fmt, magic_comp)
    if chosen is None:
        raise InputError(
            "cannot tell the format from the file name or its first bytes",
            fix=FORMAT_HINT,
            source=path,
        )
    if chosen == "csv" and ext_fmt == "tsv" and fmt is None:
        chosen = "tsv"  # x.tsv.gz: the magic says compressed text, the name says tabs
    compression = magic_comp if magic_fmt else (ext_comp if chosen in ("csv", "tsv") else None)
    if compression and chosen not in ("csv", "tsv"):
        raise InputError(
            f"a {compression}-compressed file cannot be read as {chosen}",
            fix=f"Decompress it first, or pass --input-format csv if it is {compression}-compressed CSV",
            source=path,
        )
    return Source(name=path, format=chosen, path=path, compression=compression)


def _choose(
    name: str, fmt: str | None, ext_fmt: str | None, magic_fmt: str | None, magic_comp: str | None
) -> str | None:
    if fmt is not None:
        binary_magic = magic_fmt if magic_comp is None else None
        if binary_magic is not None and binary_magic != fmt:
            raise InputError(
                f"--input-format {fmt} was given but the first bytes say {binary_magic}",
                fix=f"Drop --input-format, or pass --input-format {binary_magic}",
                source=name,
            )
        return fmt
    if magic_fmt is not None:
        return magic_fmt
    return ext_fmt


def _resolve_directory(path: str, fmt: str | None) -> Source:
    """A directory is read as one dataset when it holds only Parquet files, or only CSV
    (TSV) files, directly or in Hive partition folders (``region=eu/part-0.parquet``), in
    file-name order."""
    files = _dataset_files(path)
    parquet = [f for f in files if from_extension(f)[0] == "parquet" or _has_parquet_magic(f)]
    if fmt in (None, "parquet") and files and len(parquet) == len(files):
        return Source(name=path, format="parquet", path=path, files=parquet)
    text = {from_extension(f)[0] for f in files}
    if files and fmt in (None, "csv", "tsv") and len(text) == 1 and text <= {"csv", "tsv"}:
        return Source(name=path, format=fmt or text.pop(), path=path, files=files)  # type: ignore[arg-type]
    raise InputError(
        "is a directory",
        fix="Pass a file, or a directory that holds only Parquet files (or only CSV files)",
        source=path,
    )


def _resolve_glob(pattern: str, fmt: str | None) -> Source:
    """A quoted glob (`'preds/*.parquet'`): its files in name order, one table."""
    import glob

    from losscli.readers.remote import dataset_format

    files = sorted(f for f in glob.glob(pattern, recursive=True) if os.path.isfile(f))
    if not files:
        raise InputError("the pattern matches no file", fix="Check the pattern", source=pattern)
    root = pattern[: re.search(r"[*?\[]", pattern).start()]  # type: ignore[union-attr]
    root = os.path.dirname(root) or "."
    return Source(
        name=pattern,
        format=dataset_format(pattern, files, fmt, from_extension),
        path=root,
        files=files,
    )


def _dataset_files(path: str) -> list[str]:
    """The files of a dataset folder, its Hive partition folders (``key=value``) walked in
    name order. Hidden and underscore entries are Spark/Hive bookkeeping (_SUCCESS, .crc)."""
    try:
        names = sorted(os.listdir(path))
    except PermissionError:
        raise InputError(
            "permission denied", fix="Check the directory's permissions", source=path
        ) from None
    files = []
    for n in names:
        full = os.path.join(path, n)
        if n.startswith((".", "_")):
            continue
        if os.path.isfile(full):
            files.append(full)
        elif os.path.isdir(full) and "=" in n:
            files.extend(_dataset_files(full))
        elif os.path.isdir(full):
            raise not_a_partition(full)
    return files


def not_a_partition(folder: str) -> InputError:
    """A folder inside a dataset that is not a Hive partition folder (``key=value``): its
    files are not rows of the table, and leaving them out silently would change it."""
    return InputError(
        "this folder inside the dataset is not a partition folder (key=value), so its files "
        "would be left out of the table",
        fix="Move it out of the dataset, rename it key=value, or name the files you mean "
        "with a pattern (e.g. 'data/*/*.parquet')",
        source=folder,
    )


def _has_parquet_magic(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _resolve_stdin(fmt: str | None) -> Source:
    stdin = sys.stdin
    if stdin is None:
        raise InputError("no data", source="stdin", fix="Pipe data in or pass a file path")
    try:
        is_tty = stdin.isatty()
    except (ValueError, OSError):
        is_tty = False
    if is_tty:
        raise InputError(
            "'-' reads standard input, which is a terminal",
            fix="Pipe the data in (cat preds.csv | losscli eval -) or pass a file path",
            source="stdin",
        )
    return _resolve_stream(getattr(stdin, "buffer", stdin), fmt, "stdin")


def _resolve_once(path: str, fmt: str | None) -> Source:
    """A FIFO, a pipe or a device: opened once and read like standard input (see the module
    docstring); its extension still names the format when the first bytes do not."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - read to its end by the reader, like stdin
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if raw.isatty():
        raw.close()
        raise InputError("is a terminal", fix="Pipe the data in or pass a file path", source=path)
    return _resolve_stream(raw, fmt, path, from_extension(path)[0])


def _resolve_stream(
    raw: IO[bytes], fmt: str | None, name: str, ext_fmt: str | None = None
) -> Source:
    """Sniff the first bytes of a stream that can be read once, keeping them for the reader:
    CSV/TSV stays a stream, a binary format is buffered (it needs to seek)."""
    head = _read_head(raw)
    if not head:
        fix = "Pipe data in or pass a file path" if name == "stdin" else "Check what writes to it"
        raise InputError("no data", source=name, fix=fix)
    magic_fmt, magic_comp = sniff(head)
    chosen = _choose(name, fmt, ext_fmt, magic_fmt, magic_comp) or "csv"
    if chosen == "csv" and ext_fmt == "tsv" and fmt is None:
        chosen = "tsv"  # x.tsv.gz: the magic says compressed text, the name says tabs
    if chosen in ("csv", "tsv"):
        return Source(name=name, format=chosen, stream=_Prefixed(head, raw), compression=magic_comp)
    if magic_comp:
        raise InputError(
            f"a {magic_comp}-compressed stream cannot be read as {chosen}",
            fix="Decompress it first",
            source=name,
        )
    return Source(name=name, format=chosen, data=_buffer_all(head, raw, name))


def _read_head(raw: IO[bytes]) -> bytes:
    head = b""
    while len(head) < _HEAD:
        chunk = raw.read(_HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _buffer_all(head: bytes, raw: IO[bytes], name: str = "stdin") -> bytes:
    cap = stdin_cap()
    parts = [head]
    size = len(head)
    while True:
        chunk = raw.read(min(1 << 20, cap + 1 - size) or 1)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > cap:
            where = "on standard input" if name == "stdin" else "from a pipe"
            raise InputError(
                f"more than {cap} bytes of binary data {where}, the limit for "
                "formats that need to seek",
                fix="Save it to a file and pass the path, or raise LOSSCLI_STDIN_CAP (bytes)",
                source=name,
            )


class _Prefixed(io.RawIOBase):
    """The bytes already peeked from a stream, then the rest of the stream."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _unreadable(path: str, exc: OSError) -> InputError:
    """The error for a path that exists but cannot be opened or examined."""
    if isinstance(exc, PermissionError):
        return InputError("permission denied", fix="Check the file's permissions", source=path)
    return InputError(f"cannot read it ({exc.strerror})", source=path)
