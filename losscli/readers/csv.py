"""CSV and TSV (plain or compressed) with pyarrow.csv, and errors with row and line.

Types are inferred. In a column of numbers the empty field and the markers in MISSING
("NA" from R, "null" from SQL and JSON exports, ...) are missing values (null, read as NaN
under --nan-policy omit); in a column of text only the empty field is, so a class called
"NA" or "None" stays a string. "nan"/"inf" parse as floats (the engine rejects them with
their row). CRLF line ends, bare CR line ends (see `_text`) and a UTF-8 byte-order mark are
accepted.

Blank lines: in a file of one column an empty line is an empty cell, a row like any other
(`cut -f3` and many exporters write a missing value so), except the blank lines after the
last line of data, which are not rows. In a file of several columns an empty line cannot be
a row of empty cells (it has no delimiters), so it is skipped and not counted as a row;
messages count it in their line numbers.

pyarrow does not report rows reliably when it parses in parallel, so when it fails, a
second pass in Python (`_diagnose`) finds the first offending row and its editor line.
"""

from __future__ import annotations

import codecs
import csv as _csv
import io
import re
import sys
from collections.abc import Iterator, Sequence

from losscli.errors import InputError
from losscli.readers._convert import table_to_frame
from losscli.readers._frame import Frame
from losscli.readers._source import Source
from losscli.readers._text import TextInput

# pyarrow's streaming reader reads up to 32 blocks ahead of its consumer (Arrow's background
# generator queue), so the block size sets the memory that reading ahead takes: 4 MiB blocks
# buffered 128 MiB of text (peak 300 MiB on a 170 MB file, growing with the file up to that
# point), 1 MiB blocks 32 MiB (peak 175 MiB) at the same speed. A block is also the longest
# line pyarrow can parse, so wide files get larger blocks: room for ROWS_PER_BLOCK lines like
# the first ones, between MIN_BLOCK_SIZE and MAX_BLOCK_SIZE.
MIN_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 64 << 20
ROWS_PER_BLOCK = 64
HEADER_LIMIT = 4 << 20  # the longest header line looked for
PIECE_BLOCKS = 4  # blocks per piece parsed by one worker when streaming
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_DELIMITERS = {"\t": "tab", ";": "';'", "|": "'|'", ",": "','"}
# Missing values in a column of numbers (see the module docstring); "nan" parses as NaN.
MISSING = ["", "NA", "N/A", "null", "NULL", "None"]


def normalize_delimiter(delimiter: str | None, fmt: str) -> str:
    if delimiter is None:
        return "\t" if fmt == "tsv" else ","
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|"}
    value = named.get(delimiter.lower(), delimiter)
    if len(value) != 1 or value in '\r\n"':
        raise InputError(
            f"--delimiter must be one character, got {delimiter!r}",
            fix="Pass --delimiter ',' or --delimiter tab",
        )
    return value


class CsvTable:
    """A CSV/TSV source: the header is read on creation, the data on `read`/`iterate`."""

    line_offset = 1  # the header is line 1, so data row r is line r + 1

    def __init__(self, source: Source, delimiter: str | None = None, block_size: int | None = None):
        self.source = source
        self.format = source.format
        self.delimiter = normalize_delimiter(delimiter, source.format)
        self.text = TextInput(source)
        head = self.text.head(HEADER_LIMIT + 1)
        self.names = self._header(head)
        self.one_column = len(self.names) == 1  # its empty lines are empty cells
        self.block_size = block_size or _block_size(head)

    # -- header ---------------------------------------------------------------------------

    def _header(self, head: bytes) -> list[str]:
        name = self.source.name
        if head.startswith(_UTF16_BOMS):
            raise InputError(
                "is UTF-16 encoded (it starts with a UTF-16 byte-order mark)",
                fix="Convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8",
                source=name,
            )
        if not head.strip():
            raise InputError("file is empty", source=name)
        if b"\x00" in head[:4096]:
            raise InputError(
                "contains NUL bytes: it is binary, or UTF-16 without a byte-order mark",
                fix="Convert it to UTF-8 CSV, or pass --input-format for a binary format",
                source=name,
            )
        start = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
        end = head.find(b"\n", start)
        if end < 0:
            if len(head) > HEADER_LIMIT:
                raise InputError(
                    f"line 1 is longer than {HEADER_LIMIT} bytes",
                    fix="Check that the file has line breaks; a CSV line must be shorter",
                    source=name,
                )
            end = len(head)
        try:
            line = head[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(name, head, start + exc.start) from None
        fields = next(_csv.reader([line.rstrip("\r")], delimiter=self.delimiter), [])
        if self._is_comment(line, fields, head[end + 1 :]):
            raise InputError(
                "line 1 starts with '#', a comment line; comment lines are not supported",
                fix=f"Remove them first, e.g. grep -v '^#' {name} > clean.csv",
                source=name,
            )
        self._check_header(fields, line)
        return fields

    def _is_comment(self, line: str, fields: list[str], rest: bytes) -> bool:
        """Whether header line `line` is a `#` comment: '#' then a space, '#', '!' or
        nothing, or a '#' line with fewer fields than the next line. A column named '#id'
        in a header as wide as the data is a name."""
        if not line.startswith("#"):
            return False
        if line.rstrip("\r")[1:2] in ("", " ", "#", "!"):
            return True
        following = rest.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
        width = len(next(_csv.reader([following], delimiter=self.delimiter), []))
        return width > len(fields)

    def _check_header(self, fields: list[str], line: str) -> None:
        name = self.source.name
        if len(fields) == 1:
            for other, label in _OTHER_DELIMITERS.items():
                if other != self.delimiter and other in line:
                    raise InputError(
                        f"the header is one column when split on {_OTHER_DELIMITERS.get(self.delimiter, repr(self.delimiter))}, "
                        f"but it contains {label}",
                        fix=f"Pass --delimiter {label}",
                        source=name,
                    )
        seen: dict[str, int] = {}
        for i, field in enumerate(fields, start=1):
            if field in seen:
                raise InputError(
                    f"column name '{field}' appears twice in the header (columns {seen[field]} and {i})",
                    fix="Rename one of the columns",
                    source=name,
                )
            seen[field] = i

    def line_of(self, row: int) -> int:
        """The editor line of 1-based data row `row`: row + 1, plus the blank lines above it
        (pyarrow skips them without counting them as rows). Found by reading the file up
        to that row, so only for messages."""
        if self.one_column:
            return row + self.line_offset  # its blank lines are rows
        try:
            with self.text.open() as stream:
                if not _blank_line_before(stream, row):
                    return row + self.line_offset
            with self.text.open() as stream:
                return _line_of_row(stream, row)
        except (InputError, OSError, ValueError):
            return row + self.line_offset

    def rows_hint(self) -> int | None:
        """Data rows: counted in a small file, estimated from the first MiB's line lengths
        in a large one; None for compressed files and standard input."""
        import os

        if self.source.path is None or self.source.compression:
            return None
        size = os.path.getsize(self.source.path)
        head = self.text.head(1 << 20)
        lines = head.count(b"\n") + (0 if head.endswith(b"\n") else 1)
        if len(head) >= size:
            return max(0, lines - 1)
        return max(1, round(size * head.count(b"\n") / len(head)) - 1)

    # -- data -------------------------------------------------------------------------------

    def _options(self, columns: Sequence[str] | None, use_threads: bool, types=None, text=False):  # type: ignore[no-untyped-def]
        """pyarrow's options; `text` reads only the empty cell as null (see `_markers_as_text`)."""
        import pyarrow.csv as pacsv

        return dict(
            read_options=pacsv.ReadOptions(use_threads=use_threads, block_size=self.block_size),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter, ignore_empty_lines=not self.one_column
            ),
            convert_options=pacsv.ConvertOptions(
                null_values=[""] if text else MISSING,
                strings_can_be_null=text,  # else text keeps "NA"; `_empty_text_as_null` after
                quoted_strings_can_be_null=True,
                include_columns=list(columns) if columns is not None else None,
                column_types=types,
            ),
        )

    def read(self, columns: Sequence[str] | None = None) -> Frame:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        options = self._options(columns, use_threads=True)
        try:
            if self.one_column:  # the pieces leave out blank lines after the last data line
                pieces = list(self._parsed_pieces(columns))
                table = pa.concat_tables(pieces, promote_options="permissive") if pieces else None
            else:
                path = self.text.native_path
                table = pacsv.read_csv(path or self.text.open(), **options)
                table = self._markers_as_text(table, lambda: path or self.text.open())
                table = _empty_text_as_null(table)
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError, UnicodeError) as exc:
            raise self._diagnose(exc) from None
        if table is None:
            raise InputError(
                "has a header but no rows", fix="Check the file", source=self.source.name
            )
        self._check_table(table)
        return table_to_frame(
            table, self.source.name, self.format, self.line_offset, line_of=self.line_of
        )

    def iterate(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[Frame]:
        """Rows in chunks of at most `batch_rows`, parsed on every core in bounded memory.

        pyarrow's streaming reader (`open_csv`) parses one block at a time on one core
        (1.3 s for a 200 MB file that `read_csv` reads in 0.9 s on two). Here the text is
        cut at line ends into pieces of PIECE_BLOCKS blocks, each parsed by `read_csv` on a
        worker thread behind the header line, at most `workers + 1` pieces in flight and
        yielded in order. Types are fixed from the first piece (integer columns read as
        float64, so that "1" early and "0.5" later do not conflict).
        """
        import pyarrow as pa

        offset = 0
        try:
            for table in self._parsed_pieces(columns):
                self._check_batch(table)
                for batch in table.to_batches():
                    for start in range(0, batch.num_rows, batch_rows):
                        part = pa.Table.from_batches([batch.slice(start, batch_rows)])
                        yield table_to_frame(
                            part, self.source.name, self.format, self.line_offset, offset,
                            line_of=self.line_of,
                        )  # fmt: skip
                        offset += part.num_rows
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError, UnicodeError) as exc:
            raise self._diagnose(exc) from None
        if offset == 0:
            raise InputError(
                "has a header but no rows", fix="Check the file", source=self.source.name
            )

    def _parsed_pieces(self, columns: Sequence[str] | None):  # type: ignore[no-untyped-def]
        import os
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.types as pt

        def parse(piece: bytes, types):  # type: ignore[no-untyped-def]
            return _empty_text_as_null(
                pacsv.read_csv(
                    pa.py_buffer(piece), **self._options(columns, use_threads=False, types=types)
                )
            )

        workers = max(1, os.cpu_count() or 1)
        with self.text.open() as stream, ThreadPoolExecutor(max_workers=workers) as pool:
            header = stream.readline()
            pieces = _pieces(stream, PIECE_BLOCKS * self.block_size)
            first = next(pieces, None)
            if first is None:
                return
            table = parse(header + first, self._first_block_types(columns))
            # later pieces take the first one's types (ints already read as float64)
            types = {
                f.name: pa.float64() if pt.is_integer(f.type) or pt.is_null(f.type) else f.type
                for f in table.schema
            }
            yield table
            pending: deque = deque()
            try:
                for piece in pieces:
                    pending.append(pool.submit(parse, header + piece, types))
                    if len(pending) > workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def _first_block_types(self, columns: Sequence[str] | None):  # type: ignore[no-untyped-def]
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.types as pt

        head = self.text.head(self.block_size)
        cut = head.rfind(b"\n")
        if cut < 0:
            return None
        block = head[: cut + 1]
        try:
            table = pacsv.read_csv(io.BytesIO(block), **self._options(columns, use_threads=False))
            table = self._markers_as_text(table, lambda: io.BytesIO(block))
        except (pa.ArrowException, OSError, ValueError, UnicodeError):
            return None  # the real read reports it, with its row
        return {
            f.name: pa.float64() if pt.is_integer(f.type) or pt.is_null(f.type) else pa.string()
            for f in table.schema
            if pt.is_integer(f.type) or pt.is_null(f.type) or pt.is_string(f.type)
        }

    def _markers_as_text(self, table, reread):  # type: ignore[no-untyped-def]
        """The table with its columns of nothing but empty cells and MISSING markers read
        again as text when they hold markers: "NA" and "None" there are class names (a
        column of numbers has numbers). `reread()` gives the same bytes again."""
        import pyarrow.csv as pacsv
        import pyarrow.types as pt

        nulls = [f.name for f in table.schema if pt.is_null(f.type)]
        if not nulls:
            return table
        try:
            again = pacsv.read_csv(reread(), **self._options(nulls, use_threads=False, text=True))
        except InputError:
            return table  # standard input too long to read again: the markers stay missing
        for name in nulls:
            if pt.is_string(again.column(name).type):
                index = table.schema.get_field_index(name)
                table = table.set_column(index, name, again.column(name))
        return table

    def _check_table(self, table) -> None:  # type: ignore[no-untyped-def]
        if table.num_rows == 0:
            raise InputError(
                "has a header but no rows", fix="Check the file", source=self.source.name
            )
        self._check_batch(table)

    def _check_batch(self, table) -> None:  # type: ignore[no-untyped-def]
        import pyarrow.types as pt

        # pyarrow infers `binary` for a column with bytes that are not UTF-8.
        if any(pt.is_binary(f.type) or pt.is_large_binary(f.type) for f in table.schema):
            raise self._diagnose(None)

    # -- errors -------------------------------------------------------------------------------

    def _diagnose(self, exc: BaseException | None) -> InputError:
        """Find the first problem in a Python pass, for an error with row and line."""
        name = self.source.name
        message = str(exc).splitlines()[0] if exc is not None else "it is not valid UTF-8"
        generic = InputError(
            f"cannot be read as {self.format.upper()} ({message})",
            fix="Check the file; save standard input to a file for the exact row",
            source=name,
        )
        try:
            stream = self.text.open()
        except InputError:
            return generic
        with stream:
            found = _find_not_utf8(stream, name)
        if found is not None:
            return found
        if "straddling" in message or "straddles" in message:
            with self.text.open() as stream:
                return _long_line(stream, name, self.block_size)
        bad = re.search(r"column #(\d+).*invalid value '(.*)'", message)
        target = (int(bad.group(1)), bad.group(2)) if bad else None
        with self.text.open() as stream:
            found = _find_bad_row(stream, name, self.delimiter, target, self.one_column)
        return found or generic


def _pieces(stream, size: int) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """The stream's bytes in pieces of about `size` that end at the end of a line that is
    not blank (the last piece may end without a line end); a line longer than `size` makes
    its piece longer. Blank lines wait for the next line of data, so the blank lines after
    the last one are left out: in a file of one column they would be rows of empty cells."""
    rest = b""
    while chunk := stream.read(size):
        data = rest + chunk
        cut = _data_end(data)
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data[:cut]
    if rest.strip():
        yield rest


def _data_end(data: bytes) -> int:
    """Where the last complete line of `data` that is not blank ends (after its LF); 0 if
    there is none. Walks back over trailing blank lines only, so it costs one `rfind`."""
    end = data.rfind(b"\n")
    while end >= 0:
        start = data.rfind(b"\n", 0, end) + 1
        if data[start:end] not in (b"", b"\r"):
            return end + 1
        end = start - 1
    return 0


def _empty_text_as_null(table):  # type: ignore[no-untyped-def]
    """The table with the empty cells of its text columns as nulls.

    pyarrow is told that text is never null (`strings_can_be_null=False`), so that a class
    called "NA" survives while "NA" in a column of numbers is missing (`MISSING`); the empty
    cell of a text column is still an empty cell. Works on the offsets with NumPy, as
    pyarrow.compute costs ~80 ms to import."""
    import pyarrow as pa
    import pyarrow.types as pt

    for i, field in enumerate(table.schema):
        if pt.is_string(field.type) or pt.is_large_string(field.type):
            chunks = [_chunk_empty_as_null(a) for a in table.column(i).chunks]
            table = table.set_column(i, field, pa.chunked_array(chunks, field.type))
    return table


def _chunk_empty_as_null(array):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa
    import pyarrow.types as pt

    n, start = len(array), array.offset
    validity, offsets, data = array.buffers()
    width = np.int64 if pt.is_large_string(array.type) else np.int32
    ends = np.frombuffer(offsets, dtype=width, count=start + n + 1)[start:]
    valid = ends[1:] != ends[:-1]
    if validity is not None:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid &= bits[start : start + n].astype(bool)
    if valid.all():
        return array
    full = np.zeros(start + n, dtype=bool)
    full[start:] = valid
    bitmap = pa.py_buffer(np.packbits(full, bitorder="little").tobytes())
    return pa.Array.from_buffers(array.type, n, [bitmap, offsets, data], offset=start)


def _block_size(head: bytes) -> int:
    """Room for ROWS_PER_BLOCK lines as long as the longest of the first eight."""
    longest = max(len(line) + 1 for line in head.split(b"\n", 8)[:8])
    wanted = 1 << (ROWS_PER_BLOCK * longest - 1).bit_length()
    return max(MIN_BLOCK_SIZE, min(MAX_BLOCK_SIZE, wanted))


def _blank_line_before(stream, row: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether a blank line may come before data row `row` (one newline count per MiB)."""
    seen, last = 0, b"\n"
    while chunk := stream.read(1 << 20):
        joined = last + chunk
        if b"\n\n" in joined or b"\n\r\n" in joined:
            return True
        seen += chunk.count(b"\n")
        if seen >= row + 1:
            return False
        last = chunk[-2:]
    return False


def _line_of_row(stream, row: int) -> int:  # type: ignore[no-untyped-def]
    """Line of data row `row`, counting blank lines (the header is the first other line)."""
    line = data = 0
    for raw in stream:
        line += 1
        if raw in (b"\n", b"\r\n", b"\r"):
            continue
        if data == row:
            return line
        data += 1
    return row + 1


def _not_utf8(name: str, data: bytes, offset: int) -> InputError:
    line = data.count(b"\n", 0, offset) + 1
    return _not_utf8_at(name, data[offset], offset, line)


def _not_utf8_at(name: str, byte: int, offset: int, line: int) -> InputError:
    return InputError(
        f"byte 0x{byte:02X} at offset {offset} (line {line}) is not UTF-8",
        fix="Convert the file to UTF-8, e.g. iconv -f latin1 -t UTF-8",
        source=name,
    )


def _find_not_utf8(stream, name: str) -> InputError | None:  # type: ignore[no-untyped-def]
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 0
    while True:
        chunk = stream.read(1 << 20)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            data = exc.object  # the pending bytes of the last chunk, then this chunk
            at = exc.start
            base = offset - pending
            return _not_utf8_at(
                name, data[at], base + at, lines + bytes(data[:at]).count(b"\n") + 1
            )
        if not chunk:
            return None
        offset += len(chunk)
        lines += chunk.count(b"\n")


def _long_line(stream, name: str, limit: int) -> InputError:  # type: ignore[no-untyped-def]
    line, length = 1, 0
    while chunk := stream.read(1 << 20):
        parts = chunk.split(b"\n")
        for i, part in enumerate(parts):
            length += len(part)
            if length > limit:
                return InputError(
                    f"line {line} is longer than {limit} bytes, the most this file's first lines "
                    "made room for",
                    fix="Check that the file has line breaks and no stray quote; a line may be "
                    f"at most {ROWS_PER_BLOCK} times as long as the first lines, and at most "
                    f"{MAX_BLOCK_SIZE} bytes",
                    source=name,
                    row=line - 1 if line > 1 else None,
                    line=line,
                )
            if i < len(parts) - 1:
                line, length = line + 1, 0
    return InputError(f"a line is longer than {limit} bytes", source=name)


def _find_bad_row(stream, name: str, delimiter: str, target, one_column: bool = False):  # type: ignore[no-untyped-def]
    """The first ragged row, unterminated quote or `target` (column index, value) cell;
    with `one_column`, blank lines are rows (see the module docstring)."""
    _csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = _csv.reader(text, delimiter=delimiter, strict=True)
    row, last_line, header = 0, 0, None
    expected = None
    try:
        for fields in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not fields:
                if one_column and header is not None:
                    row += 1  # an empty cell
                continue  # else a blank line, skipped by pyarrow too
            if header is None:
                header, expected = fields, len(fields)
                continue
            row += 1
            if len(fields) != expected:
                return InputError(
                    f"expected {expected} fields, got {len(fields)}",
                    fix="Check the row (a missing or extra delimiter, or an unquoted value)",
                    source=name,
                    row=row,
                    line=start,
                )
            if any("\n" in f or "\r" in f for f in fields):
                return InputError(
                    "a quoted value contains a line break",
                    fix="Remove line breaks inside quoted values",
                    source=name,
                    row=row,
                    line=start,
                )
            if target is not None and target[0] < len(fields) and fields[target[0]] == target[1]:
                return InputError(
                    f"'{target[1]}' is not a number, but the rows before it hold numbers",
                    fix="Fix the value, or check that the column holds what you expect",
                    source=name,
                    column=header[target[0]],
                    row=row,
                    line=start,
                )
    except _csv.Error as exc:
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            return InputError(
                'unterminated quote: a field opened with " is never closed',
                fix="Close the quote or remove it",
                source=name,
                row=row + 1 if expected is not None else None,
                line=last_line + 1,
            )
        return InputError(
            f"malformed CSV ({exc})",
            fix="Check the quoting",
            source=name,
            row=row + 1 if expected is not None else None,
            line=last_line + 1,
        )
    return None
