"""The second, slow pass over a CSV/TSV file that pyarrow failed to read: where the problem is.

pyarrow does not report rows reliably when it parses in parallel, so `CsvTable._diagnose`
reads the file again here in Python, and these functions find the first byte that is not
UTF-8, the first line too long for a block, or the first ragged row, unterminated quote or
unparsable cell, with its 1-based data row and editor line. The editor line of a row that
the engine rejects is found here too (`blank_line_before`, `line_of_row`). Only messages
use this module; the read itself never does.
"""

from __future__ import annotations

import codecs
import csv as _csv
import io
import sys

from losscli.errors import InputError


def blank_line_before(stream, row: int) -> bool:  # type: ignore[no-untyped-def]
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


def line_of_row(stream, row: int) -> int:  # type: ignore[no-untyped-def]
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


def not_utf8(name: str, data: bytes, offset: int) -> InputError:
    line = data.count(b"\n", 0, offset) + 1
    return not_utf8_at(name, data[offset], offset, line)


def not_utf8_at(name: str, byte: int, offset: int, line: int) -> InputError:
    return InputError(
        f"byte 0x{byte:02X} at offset {offset} (line {line}) is not UTF-8",
        fix="Convert the file to UTF-8, e.g. iconv -f latin1 -t UTF-8",
        source=name,
    )


def find_not_utf8(stream, name: str) -> InputError | None:  # type: ignore[no-untyped-def]
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
            return not_utf8_at(name, data[at], base + at, lines + bytes(data[:at]).count(b"\n") + 1)
        if not chunk:
            return None
        offset += len(chunk)
        lines += chunk.count(b"\n")


def long_line(stream, name: str, limit: int, *, rows_per_block: int, max_size: int) -> InputError:  # type: ignore[no-untyped-def]
    """The first line longer than `limit`, the block size that the first lines chose
    (`rows_per_block` times the longest of them, at most `max_size`: the reader's rule)."""
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
                    f"at most {rows_per_block} times as long as the first lines, and at most "
                    f"{max_size} bytes",
                    source=name,
                    row=line - 1 if line > 1 else None,
                    line=line,
                )
            if i < len(parts) - 1:
                line, length = line + 1, 0
    return InputError(f"a line is longer than {limit} bytes", source=name)


def find_bad_row(stream, name: str, delimiter: str, target, one_column: bool = False):  # type: ignore[no-untyped-def]
    """The first ragged row, unterminated quote or `target` (column index, value) cell;
    with `one_column`, blank lines are rows (see the module docstring of `csv`)."""
    _csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = _csv.reader(text, delimiter=delimiter, strict=True)
    row, last_line, header = 0, 0, None
    try:
        for fields in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not fields:
                if one_column and header is not None:
                    row += 1  # an empty cell
                continue  # else a blank line, skipped by pyarrow too
            if header is None:
                header = fields
                continue
            row += 1
            found = _row_problem(fields, header, target, name, row, start)
            if found is not None:
                return found
    except _csv.Error as exc:
        return _malformed(exc, name, row + 1 if header is not None else None, last_line + 1)
    return None


def _row_problem(
    fields: list[str],
    header: list[str],
    target: tuple[int, str] | None,
    name: str,
    row: int,
    line: int,
) -> InputError | None:
    """What is wrong with data row `row` (editor line `line`): a field count other than
    the header's, a line break inside a quoted value, or the `target` cell."""
    expected = len(header)
    if len(fields) != expected:
        return InputError(
            f"expected {expected} fields, got {len(fields)}",
            fix="Check the row (a missing or extra delimiter, or an unquoted value)",
            source=name,
            row=row,
            line=line,
        )
    if any("\n" in f or "\r" in f for f in fields):
        return InputError(
            "a quoted value contains a line break",
            fix="Remove line breaks inside quoted values",
            source=name,
            row=row,
            line=line,
        )
    if target is not None and target[0] < len(fields) and fields[target[0]] == target[1]:
        return InputError(
            f"'{target[1]}' is not a number, but the rows before it hold numbers",
            fix="Fix the value, or check that the column holds what you expect",
            source=name,
            column=header[target[0]],
            row=row,
            line=line,
        )
    return None


def _malformed(exc: _csv.Error, name: str, row: int | None, line: int) -> InputError:
    """The csv module's error at `row` (None within the header) and `line`."""
    if "unexpected end of data" in str(exc) or "EOF" in str(exc):
        return InputError(
            'unterminated quote: a field opened with " is never closed',
            fix="Close the quote or remove it",
            source=name,
            row=row,
            line=line,
        )
    return InputError(
        f"malformed CSV ({exc})",
        fix="Check the quoting",
        source=name,
        row=row,
        line=line,
    )
