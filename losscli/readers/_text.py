"""The decompressed bytes of a CSV/TSV source, readable more than once where possible.

The CSV reader needs the bytes up to three times: a peek at the header (to choose columns
before reading a 10^5-column file), the parse itself, and, only when pyarrow reports an
error, a slow Python pass that finds the row and line of the problem (pyarrow's messages
do not give one reliably). A file is simply reopened. Standard input can be read once, so
its first bytes are kept for the parse, and everything read is recorded up to
`_RECORD_CAP` bytes so the error pass can still run on moderate inputs.

Old Mac files end their lines with a bare CR ("CSV (Macintosh)" from Excel). pyarrow
splits lines at LF and CRLF only, so when the first line ends in a bare CR, every CR (and
any CRLF among them) is read as LF, for the parse and for the messages alike: line numbers
then count the CRs. Other files are passed through untouched.

Compressed streams are checked as they are read: a corrupt stream becomes "compressed
stream is corrupt", and a stream that expands more than ``LOSSCLI_MAX_RATIO`` times (100
by default, once past 64 MiB) is stopped as a likely decompression bomb.
"""

from __future__ import annotations

import io
import os
from typing import IO

from losscli.errors import InputError
from losscli.readers._source import Source

_RECORD_CAP = 32 << 20
_CR_PEEK = 1 << 20  # where the end of the first line is looked for
_BOMB_FLOOR = 64 << 20
_DEFAULT_RATIO = 100


class TextInput:
    def __init__(self, source: Source) -> None:
        self.source = source
        self._stdin: IO[bytes] | None = None
        self._recorded = bytearray()
        self._complete = False  # stdin: the recording holds the whole stream
        self._opened = False
        self._cr: bool | None = None

    @property
    def cr_line_ends(self) -> bool:
        """Whether lines end in a bare CR, so that CRs are read as LF (see the docstring)."""
        if self._cr is None:
            self._cr = _first_line_ends_in_cr(self._raw_head(_CR_PEEK), _CR_PEEK)
        return self._cr

    @property
    def native_path(self) -> str | None:
        """A path pyarrow may open itself (fast, multi-threaded): plain files only."""
        if (
            self.source.path is not None
            and self.source.fs is None  # a URL is read through fsspec
            and self.source.compression is None
            and not self.cr_line_ends
        ):
            return self.source.path
        return None

    def head(self, n: int) -> bytes:
        """The first `n` decompressed bytes (fewer at the end of the data, and fewer when
        CRLF among CR line ends become LF)."""
        data = self._raw_head(n)
        return _cr_to_lf(data) if self.cr_line_ends else data

    def open(self) -> IO[bytes]:
        """The whole decompressed stream from its start."""
        stream = self._open_raw()
        if self.cr_line_ends:
            return io.BufferedReader(_CrToLf(stream), 1 << 20)
        return stream

    def _raw_head(self, n: int) -> bytes:
        if self.source.path is not None:
            with self._open_file() as fh:
                return _read_exact(fh, n)
        stream = self._stdin_stream()
        while len(self._recorded) < n and not self._complete:
            chunk = stream.read(n - len(self._recorded))
            if not chunk:
                self._complete = True
                break
            self._recorded += chunk
        return bytes(self._recorded[:n])

    def _open_raw(self) -> IO[bytes]:
        if self.source.path is not None:
            return self._open_file()
        if not self._opened:
            self._opened = True
            return io.BufferedReader(_Recording(self, self._stdin_stream()), 1 << 20)
        if self._complete:
            return io.BytesIO(bytes(self._recorded))
        if self.source.name == "stdin":
            raise InputError("standard input cannot be read twice", source="stdin")
        raise InputError(
            "is a pipe or FIFO, which can be read once, and it is needed twice",
            fix="Save it to a file and pass the file's path",
            source=self.source.name,
        )

    def _open_file(self) -> IO[bytes]:
        assert self.source.path is not None
        if self.source.fs is not None:
            from losscli.readers.remote import open_binary

            fh: IO[bytes] = open_binary(self.source.fs, self.source.path)
            return fh if self.source.compression is None else _decompress(fh, self.source)
        try:
            fh = open(self.source.path, "rb")  # noqa: SIM115 - caller closes
        except OSError as exc:
            raise InputError(f"cannot read it ({exc.strerror})", source=self.source.name) from None
        if self.source.compression is None:
            return fh
        return _decompress(fh, self.source)

    def _stdin_stream(self) -> IO[bytes]:
        if self._stdin is None:
            assert self.source.stream is not None
            raw = self.source.stream
            if self.source.compression is not None:
                raw = _decompress(raw, self.source)
            self._stdin = raw
        return self._stdin


def _first_line_ends_in_cr(head: bytes, peek: int) -> bool:
    """Whether the first line break in `head` is a CR not followed by LF. A CR that is the
    last byte of a full peek is undecided, and taken as not (the file is read as it is)."""
    cr = head.find(b"\r")
    if cr < 0:
        return False
    lf = head.find(b"\n", 0, cr + 2)
    if lf >= 0:
        return False
    return cr + 1 < len(head) or len(head) < peek


def _cr_to_lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class _CrToLf(io.RawIOBase):
    """A stream with bare CR line ends (and CRLF among them) read with LF line ends."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._out = b""
        self._held_cr = False  # a CR at the end of a read: its LF may start the next one

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._out:
            chunk = self._raw.read(len(buffer))
            if not chunk:
                if not self._held_cr:
                    return 0
                self._held_cr = False
                self._out = b"\n"
                break
            if self._held_cr:
                chunk = b"\r" + chunk
            self._held_cr = chunk.endswith(b"\r")
            self._out = _cr_to_lf(chunk[:-1] if self._held_cr else chunk)
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        super().close()
        self._raw.close()


class _Recording(io.RawIOBase):
    """Reads stdin after the peeked bytes, recording what it reads (up to a cap)."""

    def __init__(self, owner: TextInput, stream: IO[bytes]) -> None:
        self._owner = owner
        self._stream = stream
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        owner = self._owner
        if self._pos < len(owner._recorded):
            data = owner._recorded[self._pos : self._pos + len(buffer)]
        elif owner._complete:
            return 0
        else:
            data = self._stream.read(len(buffer))
            if not data:
                owner._complete = len(owner._recorded) == self._pos
                return 0
            if len(owner._recorded) == self._pos and self._pos + len(data) <= _RECORD_CAP:
                owner._recorded += data
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


def _read_exact(fh: IO[bytes], n: int) -> bytes:
    parts, size = [], 0
    while size < n:
        chunk = fh.read(n - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _max_ratio() -> float:
    text = os.environ.get("LOSSCLI_MAX_RATIO")
    try:
        return float(text) if text else _DEFAULT_RATIO
    except ValueError:
        return _DEFAULT_RATIO


def _decompress(raw: IO[bytes], source: Source) -> IO[bytes]:
    counted = _Counting(raw)
    codec = source.compression
    inner: IO[bytes]
    if codec == "gzip":
        import gzip

        inner = gzip.GzipFile(fileobj=counted, mode="rb")
    elif codec == "bz2":
        import bz2

        inner = bz2.BZ2File(counted, mode="rb")
    elif codec == "xz":
        import lzma

        inner = lzma.LZMAFile(counted, mode="rb")
    else:
        import pyarrow as pa

        inner = pa.CompressedInputStream(counted, codec)
    return io.BufferedReader(_Checked(inner, counted, source), 1 << 20)


class _Counting(io.RawIOBase):
    """Counts the compressed bytes read, to compare with what they expand to."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.raw.read(len(buffer))
        self.count += len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        super().close()
        self.raw.close()


class _Checked(io.RawIOBase):
    """Turns decompressor failures into InputError and stops decompression bombs."""

    def __init__(self, inner: IO[bytes], counted: _Counting, source: Source) -> None:
        self._inner = inner
        self._counted = counted
        self._source = source
        self._out = 0
        self._ratio = _max_ratio()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            data = self._inner.read(len(buffer))
        except InputError:
            raise
        except Exception as exc:  # zlib.error, EOFError, OSError, LZMAError, ArrowInvalid...
            raise InputError(
                f"{self._source.compression} compressed stream is corrupt ({exc})",
                fix="Check the file (e.g. gzip -t) or recreate it",
                source=self._source.name,
            ) from None
        n = len(data)
        self._out += n
        if self._out > _BOMB_FLOOR and self._out > self._ratio * max(self._counted.count, 1):
            raise InputError(
                f"compressed data expands more than {self._ratio:g} times "
                f"({self._counted.count} bytes to over {self._out}); it looks like a "
                "decompression bomb",
                fix="Decompress it yourself if you trust it, or raise LOSSCLI_MAX_RATIO",
                source=self._source.name,
            )
        buffer[:n] = data
        return n

    def close(self) -> None:
        super().close()
        try:
            self._inner.close()
        finally:
            self._counted.close()
