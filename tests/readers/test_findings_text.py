"""Issue 9, text input and sources: W2 (blank lines in one-column files), C2 (CR line ends),
C3 (paths that can be read once), M9 (comment lines, URLs, the column of a late bad value),
E4 (NA and null as missing values), and lines without a final newline.

References: scikit-learn's `log_loss` on the rows that should be kept, or values worked by
hand. FIFOs, pipes and process substitution are real (os.mkfifo, bash), with timeouts so
that a hang fails the test.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import shutil
import sys
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import error_of, write
from sklearn.metrics import log_loss

from losscli.readers import iter_frames, read_frame
from tests.cli.conftest import TIMEOUT, invoke, spawn

PY = sys.executable
# −(ln 0.8 + ln 0.7)/2: rows (0.2, 0) and (0.7, 1), worked by hand
BCE_TWO_ROWS = -(math.log(0.8) + math.log(0.7)) / 2


def bce_of(ran) -> float:
    """The bce value of `eval -l bce -f csv` output (exit 0 asserted)."""
    assert ran.code == 0, ran.err
    lines = ran.out.strip().splitlines()
    assert lines[0] == "loss,value"
    return float(lines[1].split(",")[1])


def the_error(proc) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def concat(chunks, column):
    return np.concatenate([c.columns[column] for c in chunks])


@pytest.fixture
def tiny_blocks(monkeypatch):
    """64-byte blocks: the streaming reader cuts pieces of 256 bytes, parsed on threads."""
    monkeypatch.setattr("losscli.readers.csv.MIN_BLOCK_SIZE", 64)


# -- W2: an empty line of a one-column file is an empty cell --------------------------------


def test_W2_blank_line_in_one_column_csv_is_an_empty_cell(chdir_tmp):
    write("p.csv", "prob\n0.1\n\n0.9\n0.8\n0.7\n0.2\n")  # row 2 missing
    write("l.csv", "label\n0\n1\n1\n1\n\n0\n")  # row 5 missing
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce", "-f", "csv"])
    assert ran.code == 2 and ran.out == ""
    assert ran.err.startswith("error: p.csv, column 'prob', row 2 (line 3): the cell is empty")
    assert "--nan-policy omit" in ran.err


def test_W2_omit_drops_the_row_and_keeps_the_pairing(chdir_tmp):
    write("p.csv", "prob\n0.1\n\n0.9\n0.8\n0.7\n0.2\n")
    write("l.csv", "label\n0\n1\n1\n1\n\n0\n")
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce", "-f", "csv", "--nan-policy", "omit"])
    # rows 1, 3, 4 and 6 are complete in both files
    expected = log_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], labels=[0, 1])
    assert bce_of(ran) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.164252033486018, rel=1e-12)  # the finding's figure
    assert "omitted 2 rows" in ran.err and "first at row 2" in ran.err


def test_W2_a_blank_line_in_only_one_file_is_not_a_row_count_error(chdir_tmp):
    write("p.csv", "prob\n0.1\n\n0.9\n0.8\n0.7\n0.2\n")
    write("l6.csv", "label\n0\n1\n1\n1\n0\n0\n")
    ran = invoke(["eval", "p.csv", "l6.csv", "-l", "bce", "-f", "csv", "--nan-policy", "omit"])
    expected = log_loss([0, 1, 1, 0, 0], [0.1, 0.9, 0.8, 0.7, 0.2], labels=[0, 1])
    assert bce_of(ran) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_W2_empty_cells_keep_their_rows_across_piece_boundaries(
    chdir_tmp, tiny_blocks, stdin, newline
):
    rng = np.random.default_rng(9)
    values = rng.uniform(size=2000)
    blank = np.zeros(2000, dtype=bool)
    blank[[0, 1, 57, 58, 59, 400, 1203, 1998]] = True  # also runs of blank lines
    lines = ["" if b else repr(float(v)) for v, b in zip(values, blank, strict=True)]
    body = "p" + newline + newline.join(lines) + newline
    write("a.csv", body)
    with gzip.open("a.csv.gz", "wt", newline="") as fh:
        fh.write(body)
    for path in ("a.csv", "a.csv.gz", "-"):
        if path == "-":
            stdin(body.encode())
        _, chunks = iter_frames(path, batch_rows=333)
        chunks = list(chunks)
        got = concat(chunks, "p")
        assert len(got) == 2000, path
        mask = np.concatenate([c.nulls.get("p", np.zeros(c.n_rows, bool)) for c in chunks])
        assert np.array_equal(mask, blank), path
        assert np.array_equal(got[~blank], values[~blank]), path
        if path == "-":
            stdin(body.encode())
        frame = read_frame(path)
        assert frame.n_rows == 2000 and np.array_equal(frame.nulls["p"], blank), path


def test_W2_empty_cell_error_gives_row_and_line_in_a_later_piece(chdir_tmp, tiny_blocks):
    lines = ["0.5"] * 300
    lines[10] = ""
    lines[250] = ""
    write("p.csv", "prob\n" + "\n".join(lines) + "\n")
    write("l.csv", "label\n" + "1\n" * 300)
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce"])
    assert ran.err.startswith("error: p.csv, column 'prob', row 11 (line 12): the cell is empty"), (
        ran.err
    )


@pytest.mark.parametrize("trailing", ["\n", "\n\n", "\n\n\n\n", "\r\n\r\n", "\n" * 600])
def test_W2_blank_lines_after_the_last_data_line_are_not_rows(
    chdir_tmp, tiny_blocks, stdin, trailing
):
    newline = "\r\n" if "\r" in trailing else "\n"
    body = "p" + newline + newline.join(["0.25"] * 100) + trailing
    write("a.csv", body)
    with gzip.open("a.csv.gz", "wt", newline="") as fh:
        fh.write(body)
    for path in ("a.csv", "a.csv.gz", "-"):
        if path == "-":
            stdin(body.encode())
        _, chunks = iter_frames(path, batch_rows=64)
        got = concat(list(chunks), "p")
        assert got.tolist() == [0.25] * 100, (path, trailing)
        if path == "-":
            stdin(body.encode())
        assert read_frame(path).n_rows == 100


def test_W2_only_blank_lines_after_the_header_is_no_rows(chdir_tmp):
    write("a.csv", "p\n\n\n")
    assert error_of(iter_frames, "a.csv") == "a.csv: has a header but no rows. Check the file."


def test_W2_text_labels_in_one_column_with_a_blank_line(chdir_tmp):
    write("p.csv", "p_cat,p_dog\n0.8,0.2\n0.4,0.6\n0.3,0.7\n")
    write("l.csv", "label\ncat\n\ndog\n")
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "ce"])
    assert ran.code == 2
    assert ran.err.startswith("error: l.csv, column 'label', row 2 (line 3): the cell is empty")


def test_W2_blank_lines_in_a_file_of_several_columns_are_still_skipped(chdir_tmp, tiny_blocks):
    # decided: there an empty line has no delimiters, so it is not a row of empty cells
    write("a.csv", "prob,label\n0.2,0\n\n0.7,1\n\n")
    ran = invoke(["eval", "a.csv", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(BCE_TWO_ROWS, rel=1e-15)


# -- C2: bare CR line ends ------------------------------------------------------------------


def test_C2_cr_line_endings_are_read(chdir_tmp):
    data = b"prob,label\r0.2,0\r0.7,1\r"
    write("cr.csv", data)
    with gzip.open("cr.csv.gz", "wb") as fh:
        fh.write(data)
    for path in ("cr.csv", "cr.csv.gz"):
        ran = invoke(["eval", path, "-l", "bce", "-f", "csv"])
        assert bce_of(ran) == pytest.approx(BCE_TWO_ROWS, rel=1e-15), path
    ran = invoke(["eval", "-", "-l", "bce", "-f", "csv"], input=data)
    assert bce_of(ran) == pytest.approx(BCE_TWO_ROWS, rel=1e-15)
    write("nolast.csv", b"prob,label\r0.2,0\r0.7,1")  # and no final line end
    assert bce_of(invoke(["eval", "nolast.csv", "-l", "bce", "-f", "csv"])) == pytest.approx(
        BCE_TWO_ROWS, rel=1e-15
    )


def test_C2_cr_line_endings_in_a_real_pipe():
    proc = spawn(["eval", "-", "-l", "bce", "-f", "csv"], input=b"prob,label\r0.2,0\r0.7,1\r")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.decode().splitlines()[1].split(",")[1]) == pytest.approx(
        BCE_TWO_ROWS, rel=1e-15
    )


def test_C2_cr_files_stream_across_pieces_with_right_line_numbers(chdir_tmp, tiny_blocks):
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, 700)
    y = rng.integers(0, 2, 700)
    body = "prob,label\r" + "".join(f"{float(a)!r},{b}\r" for a, b in zip(p, y, strict=True))
    write("cr.csv", body)
    ran = invoke(["eval", "cr.csv", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(log_loss(y, p), rel=1e-12)
    write("bad.csv", body[:-1] + "\r0.5\r")  # row 701, line 702, has one field
    ran = invoke(["eval", "bad.csv", "-l", "bce"])
    assert ran.err.strip() == (
        "error: bad.csv, row 701 (line 702): expected 2 fields, got 1. "
        "Check the row (a missing or extra delimiter, or an unquoted value)."
    )


def test_C2_one_column_cr_file_keeps_its_empty_cells(chdir_tmp):
    write("p.csv", b"prob\r0.1\r\r0.9\r")
    frame = read_frame("p.csv")
    assert frame.n_rows == 3 and frame.nulls["prob"].tolist() == [False, True, False]


class _Trickle(io.RawIOBase):
    """A raw stream that returns at most `step` bytes a read, as a slow pipe does."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step = data, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._step, len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_C2_cr_translation_holds_a_cr_whose_lf_comes_in_the_next_read(step):
    from losscli.readers._text import _CrToLf

    data = b"a,b\r1,2\r\n3,4\r\r5,6\r"
    out = io.BufferedReader(_CrToLf(_Trickle(data, step)), 4).read()
    assert out == b"a,b\n1,2\n3,4\n\n5,6\n"


def test_C2_crlf_still_works(chdir_tmp):
    write("crlf.csv", b"prob,label\r\n0.2,0\r\n0.7,1\r\n")
    ran = invoke(["eval", "crlf.csv", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(BCE_TWO_ROWS, rel=1e-15)


# -- C3: paths that can be read once --------------------------------------------------------


def _feed_fifo(path, data: bytes) -> threading.Thread:
    def writer() -> None:
        with open(path, "wb") as fh:  # blocks until the reader opens it
            fh.write(data)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    return thread


def _parquet_bytes(table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def test_C3_named_fifo_is_read_once_like_stdin(tmp_path):
    rng = np.random.default_rng(3)
    p, y = rng.uniform(0.01, 0.99, 500), rng.integers(0, 2, 500)
    csv = "prob,label\n" + "".join(f"{float(a)!r},{b}\n" for a, b in zip(p, y, strict=True))
    csv = csv.encode()
    for name, data in (
        ("ff.csv", csv),
        ("ff", csv),
        ("ff.parquet", _parquet_bytes(pa.table({"prob": p, "label": y}))),
        ("ff.csv.gz", gzip.compress(csv)),
    ):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        thread = _feed_fifo(fifo, data)
        proc = spawn(["eval", fifo, "--pred-col", "prob", "-l", "bce", "-f", "csv"])
        thread.join(TIMEOUT)
        assert proc.returncode == 0, (name, proc.stderr)
        value = float(proc.stdout.decode().splitlines()[1].split(",")[1])
        assert value == pytest.approx(log_loss(y, p), rel=1e-12), name


def test_C3_tsv_fifo_keeps_its_extension(tmp_path):
    fifo = tmp_path / "ff.tsv"
    os.mkfifo(fifo)
    thread = _feed_fifo(fifo, b"prob\tlabel\n0.2\t0\n0.7\t1\n")
    proc = spawn(["eval", fifo, "-l", "bce", "-f", "csv"])
    thread.join(TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.decode().splitlines()[1].split(",")[1]) == pytest.approx(
        BCE_TWO_ROWS, rel=1e-15
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("extra", ["", "--input-format csv"])
def test_C3_process_substitution_csv(tmp_path, extra):
    cmd = f"{PY} -m losscli eval {extra} <(printf 'prob,label\\n0.2,0\\n0.7,1\\n') -l bce -f csv"
    proc = spawn(shell=cmd, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.decode().splitlines()[1].split(",")[1]) == pytest.approx(
        BCE_TWO_ROWS, rel=1e-15
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_C3_process_substitution_parquet_and_two_pipes(tmp_path):
    p, y = np.array([0.2, 0.7, 0.9]), np.array([0, 1, 1])
    pq.write_table(pa.table({"prob": p}), tmp_path / "p.parquet")
    (tmp_path / "l.csv").write_text("label\n0\n1\n1\n")
    cmd = f"{PY} -m losscli eval <(cat p.parquet) <(cat l.csv) -l bce -f csv"
    proc = spawn(shell=cmd, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    value = float(proc.stdout.decode().splitlines()[1].split(",")[1])
    assert value == pytest.approx(log_loss(y, p), rel=1e-12)


def test_C3_dev_stdin_is_standard_input(tmp_path):
    if not os.path.exists("/dev/stdin"):
        pytest.skip("no /dev/stdin")
    (tmp_path / "l.csv").write_text("label\n0\n1\n")
    proc = spawn(
        ["eval", "/dev/stdin", "l.csv", "-l", "bce", "-f", "csv"],
        input=b"prob\n0.2\n0.7\n",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.decode().splitlines()[1].split(",")[1]) == pytest.approx(
        BCE_TWO_ROWS, rel=1e-15
    )
    parquet = _parquet_bytes(pa.table({"prob": [0.2, 0.7]}))
    proc = spawn(
        ["eval", "/dev/stdin", "l.csv", "-l", "bce", "-f", "csv"], input=parquet, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr


def test_C3_empty_pipe_and_device_say_no_data(tmp_path):
    proc = spawn(shell=f"{PY} -m losscli eval <(printf '') -l bce", cwd=tmp_path)
    assert the_error(proc).endswith(": no data. Check what writes to it.")
    assert the_error(spawn(["eval", "/dev/null", "-l", "bce"])) == (
        "error: /dev/null: no data. Check what writes to it."
    )


# -- M9: comment lines, URLs, the column of a late bad value --------------------------------


@pytest.mark.parametrize("first", ["# exported 2026-11-30", "#", "## notes, more notes"])
def test_M9_comment_first_line_is_a_clear_error(chdir_tmp, first):
    write("comment.csv", f"{first}\nprob,label\n0.2,0\n0.7,1\n")
    ran = invoke(["eval", "comment.csv", "-l", "bce"])
    assert ran.code == 2
    assert ran.err.strip() == (
        "error: comment.csv: line 1 starts with '#', a comment line; comment lines are not "
        "supported. Remove them first, e.g. grep -v '^#' comment.csv > clean.csv."
    )


def test_M9_a_column_named_with_a_hash_is_not_a_comment(chdir_tmp):
    write("h.csv", "#id,prob,label\n1,0.2,0\n2,0.7,1\n")
    ran = invoke(["eval", "h.csv", "--pred-col", "prob", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(BCE_TWO_ROWS, rel=1e-15)
    write("h.tsv", "#\tprob\tlabel\n1\t0.2\t0\n2\t0.7\t1\n")
    ran = invoke(["eval", "h.tsv", "--pred-col", "prob", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(BCE_TWO_ROWS, rel=1e-15)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("ftp://example.com/preds.csv", "Download it first"),
        ("sftp://host/preds.parquet", "Download it first"),
    ],
)
def test_M9_urls_say_remote_paths_are_not_supported(chdir_tmp, url, hint):
    # s3://, gs://, az://, hf://, http(s):// are read (SPEC §10, tests/cli/test_remote.py)
    ran = invoke(["eval", url, "-l", "bce"])
    assert ran.code == 2
    scheme = url.split(":")[0]
    assert ran.err.startswith(f"error: {url}: remote paths ({scheme}://) are not supported;"), (
        ran.err
    )
    assert hint in ran.err and "no such file" not in ran.err


def test_M9_late_bad_value_names_its_column(chdir_tmp, tiny_blocks):
    write("late_bad.csv", "label,prob\n" + "1,0.5\n" * 3000 + "1,abc\n0,0.5\n")
    ran = invoke(["eval", "late_bad.csv", "-l", "bce"])
    assert ran.code == 2
    assert ran.err.startswith(
        "error: late_bad.csv, column 'prob', row 3001 (line 3002): 'abc' is not a number"
    ), ran.err


# -- E4: NA and null are missing values in columns of numbers -------------------------------


@pytest.mark.parametrize("marker", ["NA", "null", "NULL", "N/A", "None", "NaN", "nan", ""])
def test_E4_NA_and_null_are_missing_under_omit(chdir_tmp, marker):
    write("na.csv", f"prob,label\n0.2,0\n{marker},1\n0.7,1\n0.4,{marker}\n0.9,1\n")
    ran = invoke(["eval", "na.csv", "-l", "bce", "-f", "csv", "--nan-policy", "omit"])
    expected = log_loss([0, 1, 1], [0.2, 0.7, 0.9])
    assert bce_of(ran) == pytest.approx(expected, rel=1e-12)
    assert "omitted 2 rows" in ran.err and "first at row 2" in ran.err


@pytest.mark.parametrize("marker", ["NA", "null"])
def test_E4_NA_under_raise_is_a_missing_value_error(chdir_tmp, marker):
    write("na.csv", f"prob,label\n0.2,0\n{marker},1\n0.7,1\n")
    ran = invoke(["eval", "na.csv", "-l", "bce"])
    assert ran.code == 2 and ran.out == ""
    assert ran.err.startswith("error: na.csv, column 'prob', row 2 (line 3): ")
    assert "not a number" not in ran.err and "--nan-policy omit" in ran.err


def test_E4_NA_in_a_later_streamed_piece_is_missing(chdir_tmp, tiny_blocks):
    rows = ["0.5,1"] * 400
    rows[350] = "NA,1"
    rows[380] = "0.5,null"
    write("late.csv", "prob,label\n" + "\n".join(rows) + "\n")
    ran = invoke(["eval", "late.csv", "-l", "bce", "-f", "csv", "--nan-policy", "omit"])
    assert bce_of(ran) == pytest.approx(math.log(2), rel=1e-12)
    assert "omitted 2 rows" in ran.err and "first at row 351" in ran.err


def test_E4_a_class_named_NA_survives(chdir_tmp, tiny_blocks):
    # BAD_INPUTS 36: only columns of numbers read NA as missing; text keeps it
    labels = ["NA", "EU", "null", "EU"] * 100
    write(
        "p.csv", "p_NA,p_EU,p_null\n" + "0.7,0.2,0.1\n0.1,0.8,0.1\n0.2,0.2,0.6\n0.3,0.6,0.1\n" * 100
    )
    write("l.csv", "label\n" + "\n".join(labels) + "\n")
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "ce", "-f", "csv"])
    expected = -(math.log(0.7) + math.log(0.8) + math.log(0.6) + math.log(0.6)) / 4
    assert bce_of(ran) == pytest.approx(expected, rel=1e-12)
    frame = read_frame("l.csv")
    assert frame.columns["label"].tolist() == labels and not frame.nulls


# -- the last line without a final newline ---------------------------------------------------


def test_no_final_newline_one_row(chdir_tmp, stdin):
    data = b"prob,label\n0.2,0"
    write("one.csv", data)
    with gzip.open("one.csv.gz", "wb") as fh:
        fh.write(data)
    for path in ("one.csv", "one.csv.gz", "-"):
        ran = invoke(["eval", path, "-l", "bce", "-f", "csv"], input=data)
        assert bce_of(ran) == pytest.approx(-math.log(0.8), rel=1e-15), path
        if path == "-":
            stdin(data)
        assert read_frame(path).columns["prob"].tolist() == [0.2], path
    write("p.csv", "prob\n0.2")
    write("l.csv", "label\n0")
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(-math.log(0.8), rel=1e-15)


@pytest.mark.parametrize("n", [2, 9, 37, 400, 1001])
def test_no_final_newline_several_rows_across_pieces(chdir_tmp, tiny_blocks, stdin, n):
    rng = np.random.default_rng(n)
    p, y = rng.uniform(0.01, 0.99, n), rng.integers(0, 2, n)
    text = "prob,label\n" + "\n".join(f"{float(a)!r},{b}" for a, b in zip(p, y, strict=True))
    write("a.csv", text)
    with gzip.open("a.csv.gz", "wt", newline="") as fh:
        fh.write(text)
    expected = log_loss(y, p, labels=[0, 1])
    for path in ("a.csv", "a.csv.gz", "-"):
        ran = invoke(["eval", path, "-l", "bce", "-f", "json"], input=text.encode())
        assert ran.code == 0, ran.err
        assert json.loads(ran.out)["n_samples"] == n, path
        if path == "-":
            stdin(text.encode())
        _, chunks = iter_frames(path, batch_rows=50)
        got = concat(list(chunks), "prob")
        assert np.array_equal(got, p), path
        ran = invoke(["eval", path, "-l", "bce", "-f", "csv"], input=text.encode())
        assert bce_of(ran) == pytest.approx(expected, rel=1e-12), path


def test_no_final_newline_one_column_files_across_pieces(chdir_tmp, tiny_blocks):
    rng = np.random.default_rng(5)
    p, y = rng.uniform(0.01, 0.99, 333), rng.integers(0, 2, 333)
    write("p.csv", "prob\n" + "\n".join(repr(float(a)) for a in p))
    write("l.csv", "label\n" + "\n".join(str(b) for b in y))
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce", "-f", "csv"])
    assert bce_of(ran) == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12)


def test_C3_the_same_fifo_for_both_roles_is_an_error_not_a_hang(tmp_path):
    """One FIFO given as PREDS and LABELS (or to two models of compare) can be read once:
    an error before anything blocks on it."""
    import os

    fifo = tmp_path / "ff.csv"
    os.mkfifo(fifo)
    for argv in (
        ["eval", str(fifo), str(fifo)],
        ["compare", "--labels", str(fifo), str(fifo), str(tmp_path / "x.csv")],
    ):
        done = spawn(argv, text=True)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: "), done.stderr
        assert "(a pipe or FIFO)" in done.stderr and "read" in done.stderr
