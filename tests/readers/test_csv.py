"""CSV/TSV reading: types, nulls, compression, and every bad input with row and line."""

from __future__ import annotations

import bz2
import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import error_of, write

from losscli.readers import iter_frames, read_frame, sniff_format


def test_types_and_nulls(chdir_tmp):
    write("a.csv", "id,p,label\n1,0.5,cat\n2,,NA\n3,nan,None\n4,inf,\n")
    frame = read_frame("a.csv")
    assert frame.format == "csv" and frame.n_rows == 4 and frame.line_offset == 1
    assert list(frame.columns) == ["id", "p", "label"]
    assert frame.columns["id"].dtype == np.float64
    # Only the empty field is null: "NA" and "None" stay class names, nan/inf are floats.
    assert list(frame.columns["label"]) == ["cat", "NA", "None", None]
    assert np.isnan(frame.columns["p"][2]) and frame.columns["p"][3] == np.inf
    assert frame.nulls["p"].tolist() == [False, True, False, False]
    assert frame.nulls["label"].tolist() == [False, False, False, True]


def test_crlf_bom_trailing_blank_lines_are_accepted(chdir_tmp):
    write("a.csv", b"\xef\xbb\xbfp,y\r\n0.5,1\r\n0.25,0\r\n\r\n\r\n")
    frame = read_frame("a.csv")
    assert list(frame.columns) == ["p", "y"]
    assert frame.columns["p"].tolist() == [0.5, 0.25]


def test_tsv_by_extension_and_delimiter_option(chdir_tmp):
    write("a.tsv", "p\ty\n0.5\t1\n")
    assert read_frame("a.tsv").format == "tsv"
    write("b.csv", "p;y\n0.5;1\n")
    assert read_frame("b.csv", delimiter=";").columns["y"].tolist() == [1.0]


def test_only_requested_columns_are_read_in_file_order(chdir_tmp):
    write("a.csv", "a,b,c\n1,2,3\n")
    assert list(read_frame("a.csv", columns=["c", "a"]).columns) == ["a", "c"]


def test_unknown_column_lists_columns_and_suggests(chdir_tmp):
    write("a.csv", "id,score\n1,2\n")
    assert error_of(read_frame, "a.csv", columns=["scroe"]) == (
        "a.csv: no column 'scroe'; columns are id, score (did you mean 'score'?). "
        "Pass --pred-col with one of these columns."
    )


def test_ragged_row(chdir_tmp):
    write("a.csv", "a,b\n1,2\n3\n4,5\n")
    assert error_of(read_frame, "a.csv") == (
        "a.csv, row 2 (line 3): expected 2 fields, got 1. "
        "Check the row (a missing or extra delimiter, or an unquoted value)."
    )


def test_ragged_row_while_streaming(chdir_tmp):
    write("a.csv", "a,b\n" + "1,2\n" * 50 + "3,4,5\n")
    assert error_of(iter_frames, "a.csv", batch_rows=7) == (
        "a.csv, row 51 (line 52): expected 2 fields, got 3. "
        "Check the row (a missing or extra delimiter, or an unquoted value)."
    )


def test_unterminated_quote_names_the_starting_row(chdir_tmp):
    write("a.csv", 'a,b\n1,2\n"3,4\n5,6\n')
    assert error_of(read_frame, "a.csv") == (
        'a.csv, row 2 (line 3): unterminated quote: a field opened with " is never closed. '
        "Close the quote or remove it."
    )


def test_latin1_bytes_give_the_offset(chdir_tmp):
    write("a.csv", b"a,b\n1,x\n2,caf\xe9\n")
    assert error_of(read_frame, "a.csv") == (
        "a.csv: byte 0xE9 at offset 13 (line 3) is not UTF-8. "
        "Convert the file to UTF-8, e.g. iconv -f latin1 -t UTF-8."
    )


def test_latin1_in_the_header(chdir_tmp):
    write("a.csv", b"a,caf\xe9\n1,2\n")
    assert "byte 0xE9 at offset 5 (line 1) is not UTF-8" in error_of(read_frame, "a.csv")


def test_utf16_is_refused_with_a_fix(chdir_tmp):
    write("a.csv", "p,y\n0.5,1\n".encode("utf-16"))
    assert error_of(read_frame, "a.csv") == (
        "a.csv: is UTF-16 encoded (it starts with a UTF-16 byte-order mark). "
        "Convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8."
    )


@pytest.mark.parametrize(("text", "hint"), [("p\ty\n0.5\t1\n", "tab"), ("p;y\n0,5;1\n", "';'")])
def test_wrong_delimiter_hints_the_option(chdir_tmp, text, hint):
    write("a.csv", text)
    assert error_of(read_frame, "a.csv") == (
        f"a.csv: the header is one column when split on ',', but it contains {hint}. "
        f"Pass --delimiter {hint}."
    )


def test_duplicate_column_names(chdir_tmp):
    write("a.csv", "p,y,p\n1,2,3\n")
    assert error_of(read_frame, "a.csv") == (
        "a.csv: column name 'p' appears twice in the header (columns 1 and 3). "
        "Rename one of the columns."
    )


def test_header_only_and_empty_file(chdir_tmp):
    write("h.csv", "p,y\n")
    assert error_of(read_frame, "h.csv") == "h.csv: has a header but no rows. Check the file."
    assert error_of(iter_frames, "h.csv") == "h.csv: has a header but no rows. Check the file."
    write("e.csv", "")
    assert error_of(read_frame, "e.csv") == "e.csv: file is empty."


def test_one_enormous_line(chdir_tmp):
    # blocks are sized from the first eight lines (here 1 MiB); line 11 is longer
    write("a.csv", "p,y\n" + "1,2\n" * 9 + "1" * (2 << 20) + ",2\n")
    message = (
        "a.csv, row 10 (line 11): line 11 is longer than 1048576 bytes, the most this file's "
        "first lines made room for. Check that the file has line breaks and no stray quote; "
        "a line may be at most 64 times as long as the first lines, and at most 67108864 bytes."
    )
    assert error_of(read_frame, "a.csv") == message
    assert error_of(iter_frames, "a.csv") == message
    write("b.csv", "x" * (5 << 20))
    assert error_of(read_frame, "b.csv") == (
        "b.csv: line 1 is longer than 4194304 bytes. "
        "Check that the file has line breaks; a CSV line must be shorter."
    )


def test_long_first_lines_get_larger_blocks(chdir_tmp):
    # a wide file: 1.5 MiB data lines (over the 1 MiB minimum block) are read
    wide = ",".join(["0.5"] * (3 << 17))
    write("w.csv", ",".join(f"c{i}" for i in range(3 << 17)) + "\n" + (wide + "\n") * 3)
    frame = read_frame("w.csv", columns=["c7"])
    assert frame.columns["c7"].tolist() == [0.5, 0.5, 0.5]


def test_compressed_csv(chdir_tmp):
    data = b"p,y\n0.5,1\n0.25,0\n"
    write("a.csv.gz", gzip.compress(data))
    write("a.csv.bz2", bz2.compress(data))
    write("a.csv.zst", _zstd(data))
    for name in ("a.csv.gz", "a.csv.bz2", "a.csv.zst"):
        assert read_frame(name).columns["p"].tolist() == [0.5, 0.25], name
    _, chunks = iter_frames("a.csv.gz", batch_rows=1)
    assert [f.columns["y"].tolist() for f in chunks] == [[1.0], [0.0]]


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


def test_corrupt_gzip(chdir_tmp):
    blob = gzip.compress(b"p,y\n" + b"0.5,1\n" * 2000)
    write("a.csv.gz", blob[:40] + b"\x00garbage" * 20)
    message = error_of(read_frame, "a.csv.gz")
    assert message.startswith("a.csv.gz: gzip compressed stream is corrupt (")
    assert message.endswith("). Check the file (e.g. gzip -t) or recreate it.")


def test_decompression_bomb_is_stopped(chdir_tmp, monkeypatch):
    monkeypatch.setattr("losscli.readers._text._BOMB_FLOOR", 1 << 20)
    write("a.csv.gz", gzip.compress(b"p\n" + b"0\n" * (4 << 20)))
    message = error_of(iter_frames, "a.csv.gz")
    assert message.startswith("a.csv.gz: compressed data expands more than 100 times (")
    assert message.endswith(
        "it looks like a decompression bomb. "
        "Decompress it yourself if you trust it, or raise LOSSCLI_MAX_RATIO."
    )


def test_magic_bytes_win_over_a_lying_extension(chdir_tmp):
    pq.write_table(pa.table({"p": [0.5]}), "real.parquet")
    write("lie.csv", open("real.parquet", "rb").read())
    assert read_frame("lie.csv").format == "parquet"
    write("lie2.csv", gzip.compress(b"p\n0.5\n"))
    assert read_frame("lie2.csv").columns["p"].tolist() == [0.5]
    assert sniff_format("lie.csv") == "parquet" and sniff_format(b"p,y\n") is None


def test_explicit_format_conflicting_with_magic(chdir_tmp):
    pq.write_table(pa.table({"p": [0.5]}), "a.parquet")
    assert error_of(read_frame, "a.parquet", input_format="csv") == (
        "a.parquet: --input-format csv was given but the first bytes say parquet. "
        "Drop --input-format, or pass --input-format parquet."
    )


def test_unknown_extension(chdir_tmp):
    write("preds.dat", "p,y\n0.5,1\n")
    assert error_of(read_frame, "preds.dat") == (
        "preds.dat: cannot tell the format from the file name or its first bytes. "
        "Pass --input-format csv, tsv, parquet, feather, npy or npz."
    )
    assert read_frame("preds.dat", input_format="csv").n_rows == 1


def test_streaming_gives_the_same_values_as_reading(chdir_tmp):
    rng = np.random.default_rng(0)
    values = rng.uniform(size=10_000)
    write("a.csv", "p,y\n" + "".join(f"{float(v)!r},{i % 2}\n" for i, v in enumerate(values)))
    names, chunks = iter_frames("a.csv", batch_rows=3000)
    chunks = list(chunks)
    assert names == ["p", "y"]
    assert [c.row_offset for c in chunks] == [0, 3000, 6000, 9000]
    assert np.array_equal(np.concatenate([c.columns["p"] for c in chunks]), values)
    assert np.array_equal(read_frame("a.csv").columns["p"], values)


def test_integer_then_float_column_streams(chdir_tmp, monkeypatch):
    # The streaming reader fixes types from its first block: ints are read as floats.
    write("a.csv", "p\n" + "1\n" * 100 + "0.5\n")
    monkeypatch.setattr("losscli.readers.csv.MIN_BLOCK_SIZE", 64)
    _, chunks = iter_frames("a.csv", batch_rows=1000)
    assert np.concatenate([c.columns["p"] for c in chunks])[-1] == 0.5


def test_wide_file_reads_only_the_requested_column(chdir_tmp):
    n = 100_000
    header = ",".join(f"c{i}" for i in range(n))
    write("wide.csv", header + "\n" + ",".join("0" for _ in range(n)) + "\n")
    frame = read_frame("wide.csv", columns=["c99999"])
    assert list(frame.columns) == ["c99999"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_streamed_pieces_join_exactly_at_line_ends(chdir_tmp, monkeypatch, newline):
    # 64-byte blocks: pieces of 256 bytes, parsed on worker threads, cut at line ends
    monkeypatch.setattr("losscli.readers.csv.MIN_BLOCK_SIZE", 64)
    rng = np.random.default_rng(1)
    values = rng.uniform(size=3000)
    names = [f"class-{i % 7}" for i in range(3000)]
    body = "".join(
        f"{float(v)!r},{i % 2},{n}{newline}" + (newline if i % 500 == 7 else "")
        for i, (v, n) in enumerate(zip(values, names, strict=True))
    )
    write("a.csv", f"p,y,name{newline}" + body)
    with gzip.open("a.csv.gz", "wt", newline="") as fh:
        fh.write(f"p,y,name{newline}" + body)
    for path in ("a.csv", "a.csv.gz"):
        _, chunks = iter_frames(path, batch_rows=997)
        chunks = list(chunks)
        assert len(chunks) > 10 and all(c.n_rows <= 997 for c in chunks)
        assert [c.row_offset for c in chunks] == np.cumsum(
            [0] + [c.n_rows for c in chunks[:-1]]
        ).tolist()
        assert np.array_equal(np.concatenate([c.columns["p"] for c in chunks]), values)
        assert np.concatenate([c.columns["y"] for c in chunks]).tolist() == [
            float(i % 2) for i in range(3000)
        ]
        assert np.concatenate([c.columns["name"] for c in chunks]).tolist() == names
