"""Standard input: sniffing, buffering caps, empty input, terminals."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import error_of

from losscli.readers import iter_frames, read_frame
from losscli.readers.columns import load_inputs


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _parquet(table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def test_csv_on_stdin(stdin):
    stdin(b"p,y\n0.5,1\n0.25,0\n")
    frame = read_frame("-")
    assert frame.source == "stdin" and frame.format == "csv"
    assert frame.columns["p"].tolist() == [0.5, 0.25]


def test_csv_on_stdin_streams_and_locates_errors(stdin):
    stdin(b"p,y\n" + b"0.5,1\n" * 10 + b"0.5\n")
    assert error_of(iter_frames, "-", batch_rows=4) == (
        "stdin, row 11 (line 12): expected 2 fields, got 1. "
        "Check the row (a missing or extra delimiter, or an unquoted value)."
    )


def test_binary_formats_are_sniffed(stdin):
    stdin(_npy(np.arange(3.0)))
    assert read_frame("-").format == "npy"
    stdin(_parquet(pa.table({"p": [0.5]})))
    assert read_frame("-").columns["p"].tolist() == [0.5]
    stdin(gzip.compress(b"p\n0.5\n"))
    assert read_frame("-").columns["p"].tolist() == [0.5]


def test_buffering_cap(stdin, monkeypatch):
    monkeypatch.setenv("LOSSCLI_STDIN_CAP", "100")
    stdin(_npy(np.arange(100.0)))
    assert error_of(read_frame, "-") == (
        "stdin: more than 100 bytes of binary data on standard input, the limit for formats "
        "that need to seek. Save it to a file and pass the path, or raise LOSSCLI_STDIN_CAP (bytes)."
    )


def test_empty_stdin_and_terminal(stdin):
    stdin(b"")
    assert error_of(read_frame, "-") == "stdin: no data. Pipe data in or pass a file path."
    stdin(b"p\n1\n", tty=True)
    assert error_of(read_frame, "-") == (
        "stdin: '-' reads standard input, which is a terminal. "
        "Pipe the data in (cat preds.csv | losscli eval -) or pass a file path."
    )


def test_input_format_overrides_and_conflicts(stdin):
    stdin(b"p\ty\n0.5\t1\n")
    assert read_frame("-", input_format="tsv").columns["y"].tolist() == [1.0]
    stdin(_npy(np.arange(3.0)))
    assert error_of(read_frame, "-", input_format="parquet") == (
        "stdin: --input-format parquet was given but the first bytes say npy. "
        "Drop --input-format, or pass --input-format npy."
    )


def test_stdin_for_both_files(stdin):
    stdin(b"p\n1\n")
    assert error_of(load_inputs, "-", "-") == (
        "'-' (standard input) is given for both predictions and labels; it can be read once. "
        "Save one of them to a file."
    )
