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
second pass in Python (`_diagnose`, with `_csv_diagnose`) finds the first offending row and
its editor line. `_csv_stream` parses the pieces of a large file on every core.
"""

from __future__ import annotations

import csv as _csv
import io
import re
from collections.abc import Iterator, Sequence

from losscli.errors import InputError
from losscli.readers._convert import table_to_frame
from losscli.readers._csv_diagnose import (
    blank_line_before,
    find_bad_row,
    find_not_utf8,
    line_of_row,
    long_line,
    not_utf8,
)
from losscli.readers._csv_stream import empty_text_as_null, parsed_pieces
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
            raise not_utf8(name, head, start + exc.start) from None
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
                if not blank_line_before(stream, row):
                    return row + self.line_offset
            with self.text.open() as stream:
                return line_of_row(stream, row)
        except (InputError, OSError, ValueError):
            return row + self.line_offset

    def rows_hint(self) -> int | None:
        """Data rows: counted in a small file, estimated from the first MiB's line lengths
        in a large one; None for compressed files and standard input."""
        import os

        if self.source.path is None or self.source.compression:
            return None
        if self.source.fs is not None:
            from losscli.readers.remote import size as remote_size

            size = remote_size(self.source.fs, self.source.path)
        else:
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
                strings_can_be_null=text,  # else text keeps "NA"; `empty_text_as_null` after
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
                table = empty_text_as_null(table)
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

        The pieces are parsed on worker threads and yielded in order (`_csv_stream`, which
        says why not pyarrow's own streaming reader); types are fixed from the first piece.
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
        import pyarrow as pa
        import pyarrow.csv as pacsv

        def parse(piece: bytes, types):  # type: ignore[no-untyped-def]
            return empty_text_as_null(
                pacsv.read_csv(
                    pa.py_buffer(piece), **self._options(columns, use_threads=False, types=types)
                )
            )

        return parsed_pieces(
            self.text, self.block_size, parse, lambda: self._first_block_types(columns)
        )

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
            found = find_not_utf8(stream, name)
        if found is not None:
            return found
        if "straddling" in message or "straddles" in message:
            with self.text.open() as stream:
                return long_line(
                    stream, name, self.block_size,
                    rows_per_block=ROWS_PER_BLOCK, max_size=MAX_BLOCK_SIZE,
                )  # fmt: skip
        bad = re.search(r"column #(\d+).*invalid value '(.*)'", message)
        target = (int(bad.group(1)), bad.group(2)) if bad else None
        with self.text.open() as stream:
            found = find_bad_row(stream, name, self.delimiter, target, self.one_column)
        return found or generic


def _block_size(head: bytes) -> int:
    """Room for ROWS_PER_BLOCK lines as long as the longest of the first eight."""
    longest = max(len(line) + 1 for line in head.split(b"\n", 8)[:8])
    wanted = 1 << (ROWS_PER_BLOCK * longest - 1).bit_length()
    return max(MIN_BLOCK_SIZE, min(MAX_BLOCK_SIZE, wanted))
