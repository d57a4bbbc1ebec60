"""Parsing a CSV/TSV text on every core in bounded memory: pieces cut at line ends, in order.

pyarrow's streaming reader (`open_csv`) parses one block at a time on one core (1.3 s for
a 200 MB file that `read_csv` reads in 0.9 s on two). `parsed_pieces` cuts the text at line
ends into pieces of PIECE_BLOCKS blocks, each parsed on a worker thread behind the header
line, at most `workers + 1` pieces in flight and yielded in order. What a piece means (its
options, its types) is `CsvTable`'s, passed in as `parse`.

`empty_text_as_null` is here because every parse goes through it: the empty cell of a text
column is missing, its "NA" is not (see the module docstring of `csv`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from losscli.readers._text import TextInput

PIECE_BLOCKS = 4  # blocks per piece parsed by one worker when streaming


def parsed_pieces(
    text: TextInput,
    block_size: int,
    parse: Callable[[bytes, Any], Any],
    first_types: Callable[[], Any],
) -> Iterator[Any]:
    """Tables parsed by `parse(header + piece, types)`, in the order of the text; the first
    piece with `first_types()`, the others with the first table's types (integer and empty
    columns as float64, so that "1" early and "0.5" later do not conflict)."""
    import os
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.types as pt

    workers = max(1, os.cpu_count() or 1)
    with text.open() as stream, ThreadPoolExecutor(max_workers=workers) as pool:
        header = stream.readline()
        pieces = _pieces(stream, PIECE_BLOCKS * block_size)
        first = next(pieces, None)
        if first is None:
            return
        table = parse(header + first, first_types())
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


def empty_text_as_null(table):  # type: ignore[no-untyped-def]
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
