"""`losscli eval` on the bad inputs of BAD_INPUTS.md: one `error:` line, exit 2, no traceback.

Each test runs the CLI in-process through `losscli.cli.run` (the core of `main`) in the
test's tmp directory, so a file is named in messages as the test wrote it. The rule checked
everywhere (SPEC §6, STYLE §5): exit code 2, exactly one line on stderr, starting with
`error:`, naming the file (and column and row where they apply), nothing on stdout and no
"Traceback" anywhere. Items of BAD_INPUTS.md are cited by number.
"""

from __future__ import annotations

import gzip
import io
import os
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import Ran, invoke, write

pytestmark = pytest.mark.usefixtures("chdir_tmp")

GOOD = "pred,label\n0.1,0\n0.8,1\n0.3,0\n0.6,1\n"


def assert_error(r: Ran, *fragments: str) -> str:
    """The rule for every bad input; returns the error line."""
    assert "Traceback" not in r.err and "Traceback" not in r.out, r.err
    assert r.out == "", f"stdout should be empty, got {r.out!r}"
    lines = r.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {r.err!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert "np.float" not in line and "np.int" not in line, f"a NumPy repr in {line!r}"
    assert r.code == 2, (r.code, line)
    return line


def eval_(*args, input=None) -> Ran:
    return invoke(["eval", *args], input=input)


# -- files and formats (1-21) -----------------------------------------------------------------


def test_missing_file():  # 1
    assert_error(eval_("nope.csv"), "nope.csv", "no such file")


def test_missing_labels_file(tmp_path):  # 1
    write(tmp_path / "preds.csv", "pred\n0.1\n")
    assert_error(eval_("preds.csv", "labels.csv"), "labels.csv", "no such file")


def test_directory(tmp_path):  # 2
    (tmp_path / "adir").mkdir()
    assert_error(eval_("adir"), "adir")


def test_permission_denied(tmp_path):  # 3
    path = tmp_path / "secret.csv"
    write(path, GOOD)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read a mode-000 file (root)")
        assert_error(eval_("secret.csv"), "secret.csv", "permission denied")
    finally:
        path.chmod(0o644)


def test_empty_file(tmp_path):  # 4
    write(tmp_path / "empty.csv", b"")
    assert_error(eval_("empty.csv"), "empty.csv", "empty")


@pytest.mark.parametrize("name", ["empty.npy", "empty.parquet"])
def test_empty_binary_file(tmp_path, name):  # 4
    write(tmp_path / name, b"")
    assert_error(eval_(name), name, "empty")


def test_header_only(tmp_path):  # 5
    write(tmp_path / "head.csv", "pred,label\n")
    assert_error(eval_("head.csv"), "head.csv", "no rows")


def test_parquet_with_zero_rows(tmp_path):  # 5
    pq.write_table(pa.table({"pred": pa.array([], pa.float64()), "label": pa.array([], pa.int64())}),
                   tmp_path / "zero.parquet")  # fmt: skip
    assert_error(eval_("zero.parquet"), "zero.parquet", "no rows")


def test_unknown_extension_without_magic(tmp_path):  # 6
    write(tmp_path / "data.xyz", GOOD)
    assert_error(eval_("data.xyz"), "data.xyz", "--input-format")


def test_explicit_format_contradicting_magic(tmp_path):  # 7
    pq.write_table(pa.table({"pred": [0.2, 0.7], "label": [0, 1]}), tmp_path / "data.parquet")
    assert_error(eval_("data.parquet", "--input-format", "csv"), "data.parquet")


@pytest.mark.parametrize(
    "data",
    [b"PAR1" + b"\x00" * 40, b"PAR1 this is not parquet at all, no footer here"],
    ids=["zeros", "text"],
)
def test_corrupt_parquet(tmp_path, data):  # 8
    write(tmp_path / "broken.parquet", data)
    assert_error(eval_("broken.parquet"), "broken.parquet", "not a valid Parquet file")


def test_truncated_parquet(tmp_path):  # 8
    buf = io.BytesIO()
    pq.write_table(pa.table({"pred": np.linspace(0, 1, 50), "label": [0, 1] * 25}), buf)
    write(tmp_path / "cut.parquet", buf.getvalue()[:-30])
    assert_error(eval_("cut.parquet"), "cut.parquet", "not a valid Parquet file")


class _Evil:
    """Unpickling this creates a directory: the proof that something was unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_object_npy_is_refused_and_never_unpickled(tmp_path):  # 10
    marker = tmp_path / "UNPICKLED"
    arr = np.array([_Evil(str(marker)), _Evil(str(marker))], dtype=object)
    np.save(tmp_path / "evil.npy", arr, allow_pickle=True)
    # sanity: NumPy itself would run the payload when asked to
    assert not marker.exists()
    assert_error(eval_("evil.npy"), "evil.npy", "pickled arrays are not supported")
    assert not marker.exists(), "losscli unpickled the array"


def test_object_npz_is_refused_and_never_unpickled(tmp_path):  # 10
    marker = tmp_path / "UNPICKLED"
    np.savez(tmp_path / "evil.npz", preds=np.array([_Evil(str(marker))] * 3, dtype=object))
    assert_error(eval_("evil.npz"), "evil.npz")
    assert not marker.exists(), "losscli unpickled the array"


def npy_bytes(header: str | bytes, data: bytes = b"", declared_len: int | None = None) -> bytes:
    """An NPY v1.0 file with this header text (padded as NumPy does) and data."""
    h = header.encode("latin1") if isinstance(header, str) else header
    pad = (-(10 + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    size = len(h) if declared_len is None else declared_len
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", size) + h + data


CRAFTED = {
    "bool-shape": "{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }",
    "huge-shape": "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,), }",
    "negative-shape": "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
    "float-shape": "{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }",
    "bad-descr": "{'descr': 'zz9', 'fortran_order': False, 'shape': (2,), }",
    "descr-not-a-string": "{'descr': 7, 'fortran_order': False, 'shape': (2,), }",
    "extra-key": "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",
    "missing-key": "{'descr': '<f8', 'shape': (2,), }",
    "not-a-dict": "[1, 2, 3]",
    "syntax-error": "{'descr': '<f8', 'fortran_order': False, 'shape': (2,",
    "unterminated-string": "{'descr': '<f8",
    "call": "__import__('os').system('true')",
    "fortran-not-bool": "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (2,), }",
    "structured-dtype": "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
}


@pytest.mark.parametrize("header", list(CRAFTED.values()), ids=list(CRAFTED))
def test_crafted_npy_header(tmp_path, header):  # 11
    write(tmp_path / "crafted.npy", npy_bytes(header, b"\x00" * 16))
    assert_error(eval_("crafted.npy"), "crafted.npy")


def test_npy_header_longer_than_file(tmp_path):  # 11
    write(tmp_path / "short.npy", npy_bytes("{'descr': '<f8', ", declared_len=60000))
    assert_error(eval_("short.npy"), "short.npy")


def test_npy_declaring_more_data_than_it_holds(tmp_path):  # 12
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    write(tmp_path / "liar.npy", npy_bytes(header, b"\x00" * 64))
    assert_error(eval_("liar.npy"), "liar.npy", "declares")


def test_npz_several_arrays_without_key(tmp_path):  # 13
    # the arrays of an NPZ act as its columns: several and none named is ambiguous
    np.savez(tmp_path / "many.npz", first=np.zeros(3), second=np.ones(3), third=np.ones(3))
    assert_error(eval_("many.npz"), "many.npz", "first, second, third")


def test_npz_unknown_key(tmp_path):  # 13
    np.savez(tmp_path / "one.npz", scores=np.zeros(3))
    assert_error(eval_("one.npz", "--key", "nope"), "one.npz", "nope")


def test_npy_wrong_ndim(tmp_path):  # 28
    np.save(tmp_path / "odd.npy", np.zeros(()))
    np.save(tmp_path / "y.npy", np.zeros(2))
    assert_error(eval_("odd.npy", "y.npy"), "odd.npy", "(n,)")


def test_mask_against_a_column(tmp_path):  # 28: a 3-D array is a mask (SPEC §12)
    np.save(tmp_path / "odd.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "y.npy", np.zeros(2))
    assert_error(eval_("odd.npy", "y.npy"), "y.npy", "(2,)", "a mask has at least two dimensions")


def test_ragged_csv_row(tmp_path):  # 14
    write(tmp_path / "ragged.csv", "pred,label\n0.1,0\n0.2,1,7\n0.3,0\n")
    assert_error(eval_("ragged.csv"), "ragged.csv", "row 2 (line 3)", "expected 2 fields, got 3")


def test_unterminated_quote(tmp_path):  # 15
    write(tmp_path / "quote.csv", 'pred,label\n0.1,0\n"0.2,1\n0.3,0\n')
    assert_error(eval_("quote.csv"), "quote.csv", "unterminated quote", "row 2")


def test_latin1_bytes(tmp_path):  # 16
    write(tmp_path / "latin.csv", b"pred,label\n0.1,0\n0.2,1\n0.3,caf\xe9\n")
    assert_error(eval_("latin.csv"), "latin.csv", "0xE9", "offset 30", "UTF-8")


def test_utf16_bom(tmp_path):  # 17
    write(tmp_path / "ps.csv", GOOD.encode("utf-16"))
    assert_error(eval_("ps.csv"), "ps.csv", "UTF-16", "UTF-8")


def test_wrong_delimiter(tmp_path):  # 18
    write(tmp_path / "tabs.csv", GOOD.replace(",", "\t"))
    assert_error(eval_("tabs.csv"), "tabs.csv", "--delimiter")


def test_duplicate_columns(tmp_path):  # 19
    write(tmp_path / "dup.csv", "pred,pred,label\n0.1,0.2,0\n0.3,0.4,1\n")
    assert_error(eval_("dup.csv"), "dup.csv", "'pred'", "twice")


def test_corrupt_gzip(tmp_path):  # 20
    good = gzip.compress(GOOD.encode() * 50)
    write(tmp_path / "bad.csv.gz", good[:20] + b"\xff" * 40 + good[60:])
    assert_error(eval_("bad.csv.gz"), "bad.csv.gz", "corrupt")


def test_truncated_gzip(tmp_path):  # 20
    write(tmp_path / "cut.csv.gz", gzip.compress(GOOD.encode() * 50)[:-12])
    assert_error(eval_("cut.csv.gz"), "cut.csv.gz", "corrupt")


# -- columns and shapes (22-34) ---------------------------------------------------------------


def test_unknown_column_lists_the_columns(tmp_path):  # 22
    write(tmp_path / "data.csv", "id,prob,label\n1,0.2,0\n2,0.7,1\n")
    assert_error(eval_("data.csv", "--pred-col", "porb"), "data.csv", "'porb'", "id, prob, label",
                 "prob")  # fmt: skip


def test_unknown_label_column_two_files(tmp_path):  # 22
    write(tmp_path / "p.csv", "id,pred\n1,0.2\n2,0.7\n")
    write(tmp_path / "y.csv", "id,label\n1,0\n2,1\n")
    assert_error(eval_("p.csv", "y.csv", "--label-col", "lable"), "'lable'", "label")


def test_unmatched_glob(tmp_path):  # 22
    write(tmp_path / "data.csv", "id,prob,label\n1,0.2,0\n2,0.7,1\n")
    assert_error(eval_("data.csv", "--pred-col", "q_*"), "data.csv", "q_*", "id, prob, label")


def test_ambiguous_columns(tmp_path):  # 23
    write(tmp_path / "amb.csv", "a,b,label\n0.1,0.2,0\n0.3,0.4,1\n")
    assert_error(eval_("amb.csv"), "amb.csv", "a, b", "--pred-col")


def test_column_in_both_files(tmp_path):  # SPEC §2
    write(tmp_path / "p.csv", "pred,w\n0.2,1\n0.7,1\n")
    write(tmp_path / "y.csv", "label,w\n0,1\n1,1\n")
    assert_error(eval_("p.csv", "y.csv", "--weight-col", "w"), "p.csv", "y.csv", "'w'")


def test_length_mismatch(tmp_path):  # 24
    write(tmp_path / "p.csv", "pred\n0.1\n0.2\n0.3\n0.4\n0.5\n")
    write(tmp_path / "y.csv", "label\n0\n1\n0\n1\n")
    assert_error(eval_("p.csv", "y.csv"), "p.csv has 5 rows", "y.csv has 4")


def test_length_mismatch_npy(tmp_path):  # 24
    np.save(tmp_path / "p.npy", np.full(998, 0.5))
    np.save(tmp_path / "y.npy", np.zeros(1000))
    assert_error(eval_("p.npy", "y.npy"), "p.npy has 998 rows", "y.npy has 1000", "--id-col")


def test_duplicate_ids(tmp_path):  # 25
    write(tmp_path / "p.csv", "id,pred\n1,0.2\n2,0.7\n2,0.4\n")
    write(tmp_path / "y.csv", "id,label\n1,0\n2,1\n3,0\n")
    assert_error(eval_("p.csv", "y.csv", "--id-col", "id"), "p.csv", "'id'", "first: 2")


def test_missing_ids(tmp_path):  # 25
    write(tmp_path / "p.csv", "id,pred\n1,0.2\n2,0.7\n3,0.4\n")
    write(tmp_path / "y.csv", "id,label\n1,0\n2,1\n4,0\n")
    assert_error(eval_("p.csv", "y.csv", "--id-col", "id"), "p.csv", "y.csv", "first: 3")


def test_id_col_missing_in_one_file(tmp_path):  # 25
    write(tmp_path / "p.csv", "id,pred\n1,0.2\n2,0.7\n")
    write(tmp_path / "y.csv", "key,label\n1,0\n2,1\n")
    assert_error(eval_("p.csv", "y.csv", "--id-col", "id"), "y.csv", "'id'", "key, label")


def test_one_hot_width_differs_from_classes(tmp_path):  # 26
    write(tmp_path / "m.csv", "p_a,p_b,p_c,y_a,y_b\n0.2,0.3,0.5,0,1\n0.6,0.3,0.1,1,0\n")
    assert_error(eval_("m.csv", "--pred-col", "p_*", "--label-col", "y_a", "--label-col", "y_b"),
                 "m.csv", "3", "2")  # fmt: skip


def test_non_numeric_cell(tmp_path):  # 30
    write(tmp_path / "preds.csv", "pred,label\n0.1,0\n0.2,1\nabc,0\n0.4,1\n")
    assert_error(eval_("preds.csv"), "preds.csv", "'pred'", "row 3 (line 4)", "'abc'")


@pytest.mark.parametrize("task", ["auto", "regression"])
def test_non_numeric_cell_in_labels_file(tmp_path, task):  # 30
    write(tmp_path / "p.csv", "pred\n0.1\n0.2\n0.3\n")
    write(tmp_path / "y.csv", "y_true\n1.5\n2.5\nx7\n")
    assert_error(eval_("p.csv", "y.csv", "--task", task), "y.csv", "'y_true'", "row 3 (line 4)",
                 "'x7'")  # fmt: skip


@pytest.mark.parametrize("cell", ['"1,234"', '"0,5"'], ids=["thousands", "decimal-comma"])
def test_locale_numbers(tmp_path, cell):  # 31
    write(tmp_path / "loc.csv", f"pred,y_true\n1.0,2.0\n{cell},3.0\n")
    assert_error(eval_("loc.csv"), "loc.csv", "'pred'", "row 2 (line 3)", "comma")


def test_empty_cell(tmp_path):  # 36
    write(tmp_path / "holes.csv", "pred,label\n0.1,0\n0.2,\n0.3,1\n")
    assert_error(eval_("holes.csv"), "holes.csv", "'label'", "row 2 (line 3)")


# -- values (35-50) -----------------------------------------------------------------------------


def test_nan_in_predictions(tmp_path):  # 35
    write(tmp_path / "p.csv", "pred,label\n0.1,0\n0.2,1\nnan,0\n0.4,1\nNaN,0\n")
    assert_error(eval_("p.csv"), "p.csv", "'pred'", "row 3 (line 4)", "NaN")


def test_nan_policy_omit_drops_rows_with_a_note(tmp_path):  # 35, doc
    write(tmp_path / "p.csv", "pred,label\n0.1,0\n0.2,1\nnan,0\n0.4,1\nNaN,0\n")
    write(tmp_path / "clean.csv", "pred,label\n0.1,0\n0.2,1\n0.4,1\n")
    r = eval_("p.csv", "--nan-policy", "omit", "--loss", "bce", "-f", "csv")
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    assert "omitted 2 rows" in r.err
    clean = eval_("clean.csv", "--loss", "bce", "-f", "csv")
    assert r.out == clean.out


def test_nan_in_labels(tmp_path):  # 36
    write(tmp_path / "y.csv", "pred,label\n0.1,0\n0.2,nan\n0.3,1\n")
    assert_error(eval_("y.csv", "--task", "binary"), "y.csv", "'label'", "row 2 (line 3)")


def test_nan_in_regression_labels_npy(tmp_path):  # 36
    np.save(tmp_path / "p.npy", np.array([1.0, 2.0, 3.0]))
    np.save(tmp_path / "y.npy", np.array([1.0, np.nan, 3.0]))
    assert_error(eval_("p.npy", "y.npy"), "y.npy", "row 2")


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_inf_in_predictions(tmp_path, value):  # 37
    write(tmp_path / "p.csv", f"pred,label\n0.1,0\n{value},1\n0.3,1\n")
    assert_error(eval_("p.csv"), "p.csv", "'pred'", "row 2 (line 3)")


def test_probability_above_one(tmp_path):  # 38
    write(tmp_path / "p.csv", "pred,label\n0.1,0\n0.2,1\n1.37,1\n-0.5,0\n")
    assert_error(eval_("p.csv", "--loss", "bce"), "p.csv", "'pred'", "row 3 (line 4)", "1.37",
                 "--from-logits")  # fmt: skip


def test_multiclass_probability_below_zero(tmp_path):  # 38
    write(tmp_path / "m.csv", "p_a,p_b,p_c,label\n0.2,0.3,0.5,0\n1.1,-0.1,0.0,1\n")
    assert_error(eval_("m.csv", "--pred-col", "p_*", "--loss", "ce"), "m.csv", "row 2 (line 3)",
                 "--from-logits")  # fmt: skip


def test_binary_labels_outside_0_1(tmp_path):  # 44
    write(tmp_path / "b.csv", "pred,label\n0.1,0\n0.2,1\n0.3,2\n")
    assert_error(eval_("b.csv", "--task", "binary"), "b.csv", "'label'", "row 3 (line 4)")


def test_non_integer_binary_label(tmp_path):  # 43; --task binary takes soft targets in [0, 1] (E3)
    write(tmp_path / "b.csv", "pred,label\n0.1,0\n0.2,1.5\n0.3,1\n")
    assert_error(eval_("b.csv", "--task", "binary", "--loss", "bce"), "b.csv", "'label'", "row 2")


@pytest.mark.parametrize("bad", ["3", "-1"])
def test_class_index_out_of_range(tmp_path, bad):  # 42
    write(tmp_path / "m.csv", f"p_a,p_b,p_c,label\n0.2,0.3,0.5,0\n0.6,0.3,0.1,{bad}\n")
    assert_error(eval_("m.csv", "--pred-col", "p_*"), "m.csv", "'label'", "row 2 (line 3)")


def test_class_name_not_a_column(tmp_path):  # 32
    write(tmp_path / "m.csv", "p_cat,p_dog,label\n0.2,0.8,dog\n0.6,0.4,cow\n")
    assert_error(eval_("m.csv", "--pred-col", "p_*"), "m.csv", "'label'", "row 2", "cow")


def test_rows_not_summing_to_one_warn_and_renormalize(tmp_path):  # 40, doc
    write(tmp_path / "m.csv",
          "p_a,p_b,p_c,label\n0.2,0.3,0.5,0\n0.4,0.4,0.4,1\n0.1,0.1,0.1,2\n0.7,0.2,0.1,0\n")  # fmt: skip
    args = ["m.csv", "--pred-col", "p_*", "--loss", "ce", "-f", "csv"]
    r = eval_(*args)
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    warnings = [ln for ln in r.err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1
    assert "2 rows" in warnings[0] and "row 2" in warnings[0] and "--renormalize" in warnings[0]
    as_given = float(r.out.splitlines()[1].split(",")[1])
    # hand: -log of the true class's probability, as given
    assert as_given == pytest.approx(-np.mean(np.log([0.2, 0.4, 0.1, 0.7])), rel=1e-12)
    rr = eval_(*args, "--renormalize")
    assert rr.code == 0, rr.err
    renormalized = float(rr.out.splitlines()[1].split(",")[1])
    assert renormalized == pytest.approx(-np.mean(np.log([0.2, 1 / 3, 1 / 3, 0.7])), rel=1e-12)
    assert renormalized != as_given
    assert "warning:" not in rr.err


def test_overflow_in_regression(tmp_path):  # 49
    write(tmp_path / "big.csv", "pred,y_true\n1e200,0\n2e200,1\n")
    assert_error(eval_("big.csv", "--loss", "mse"), "overflow")


def test_text_labels_for_regression(tmp_path):
    write(tmp_path / "r.csv", "pred,target\n0.1,a\n0.2,b\n")
    assert_error(eval_("r.csv", "--task", "regression"), "r.csv", "'target'")


# -- weights and options (51-64) ---------------------------------------------------------------


def test_negative_weight(tmp_path):  # 52
    write(tmp_path / "w.csv", "pred,label,w\n0.1,0,1\n0.2,1,-2\n0.3,1,1\n")
    assert_error(eval_("w.csv", "--weight-col", "w"), "w.csv", "'w'", "row 2 (line 3)")


def test_nan_weight(tmp_path):  # 53
    write(tmp_path / "w.csv", "pred,label,w\n0.1,0,1\n0.2,1,1\n0.3,1,nan\n")
    assert_error(eval_("w.csv", "--weight-col", "w"), "w.csv", "'w'", "row 3 (line 4)")


def test_all_zero_weights(tmp_path):  # 54
    write(tmp_path / "w.csv", "pred,label,w\n0.1,0,0\n0.2,1,0\n0.3,1,0.0\n")
    assert_error(eval_("w.csv", "--weight-col", "w"), "sum of weights is 0")


def test_missing_weight_column(tmp_path):  # 51
    write(tmp_path / "w.csv", "pred,label\n0.1,0\n0.2,1\n")
    assert_error(eval_("w.csv", "--weight-col", "weight"), "w.csv", "'weight'", "pred, label")


@pytest.mark.parametrize("spec", ["0=abc", "0:1,1:2", "=3", "0=-1"])
def test_malformed_class_weight(tmp_path, spec):  # 55
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--class-weight", spec), "--class-weight")


def test_class_weight_for_unknown_class(tmp_path):  # 55
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--class-weight", "0=1,7=2"), "7")


def test_balanced_class_weight_with_absent_class(tmp_path):  # 56
    write(tmp_path / "m.csv", "p_a,p_b,p_c,label\n0.2,0.3,0.5,0\n0.6,0.3,0.1,0\n0.1,0.8,0.1,1\n")
    assert_error(eval_("m.csv", "--pred-col", "p_*", "--class-weight", "balanced"), "'c'",
                 "balanced")  # fmt: skip


def test_unknown_loss_suggests_the_closest(tmp_path):  # 57
    write(tmp_path / "r.csv", "pred,y_true\n0.1,1\n0.2,2\n")
    assert_error(eval_("r.csv", "--loss", "hueber"), "'hueber'", "Did you mean 'huber'")


def test_unknown_loss_in_a_comma_list(tmp_path):  # 57
    write(tmp_path / "r.csv", "pred,y_true\n0.1,1\n0.2,2\n")
    assert_error(eval_("r.csv", "--loss", "mse,maee"), "'maee'", "'mae'")


def test_loss_not_applicable_to_task(tmp_path):  # 58
    write(tmp_path / "r.csv", "pred,y_true\n0.1,1.5\n0.2,2.5\n")
    assert_error(eval_("r.csv", "--loss", "bce"), "bce", "regression")


def test_option_that_shapes_no_requested_loss(tmp_path):  # 58
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--loss", "bce", "--huber-delta", "2"), "--huber-delta", "bce")


def test_from_logits_with_regression(tmp_path):  # 58
    write(tmp_path / "r.csv", "pred,y_true\n0.1,1.5\n0.2,2.5\n")
    assert_error(eval_("r.csv", "--from-logits"), "--from-logits", "regression")


@pytest.mark.parametrize(
    "option,value",
    [("--eps", "0.7"), ("--eps", "0"), ("--eps", "-1e-9"), ("--huber-delta", "0"),
     ("--huber-delta", "-1"), ("--label-smoothing", "1"), ("--label-smoothing", "-0.1"),
     ("--eps", "nan"), ("--huber-delta", "inf"), ("--focal-gamma", "-1"),
     ("--dice-smooth", "-1")],
)  # fmt: skip
def test_out_of_range_option(tmp_path, option, value):  # 59
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", f"{option}={value}"), option)


def test_option_not_a_number(tmp_path):  # 59
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--eps", "tiny"), "--eps", "tiny")


def test_unknown_format(tmp_path):  # 63
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--format", "yaml"), "yaml", "table")


def test_unknown_option(tmp_path):
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--bogus"), "--bogus")


def test_reduction_none_with_dataset_level_loss_only(tmp_path):
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--loss", "dice", "--reduction", "none"), "dice")


def test_key_on_a_csv(tmp_path):
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--key", "x"), "b.csv", "--key")


def test_delimiter_on_parquet(tmp_path):
    pq.write_table(pa.table({"pred": [0.2, 0.7], "label": [0, 1]}), tmp_path / "d.parquet")
    assert_error(eval_("d.parquet", "--delimiter", ";"), "d.parquet", "--delimiter")


def test_save_path_not_writable(tmp_path):  # 62
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--save", "no/such/dir/report.json"), "report.json")


# -- stdin (65-68) -------------------------------------------------------------------------------


def test_stdin_for_both_inputs():  # 65
    assert_error(eval_("-", "-", input=GOOD), "standard input", "once")


def test_empty_stdin():  # 66
    assert_error(eval_("-", input=b""), "stdin", "no data")


def test_bad_value_on_stdin_names_stdin():  # 30 on stdin
    assert_error(eval_("-", input="pred,label\n0.1,0\nzz,1\n"), "stdin", "'pred'", "row 2")


# -- accepted (doc) ------------------------------------------------------------------------------


def test_float32_npy_accepted(tmp_path):  # 48
    p = np.array([0.1, 0.8, 0.3, 0.6], dtype=np.float32)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1]))
    r = eval_("p.npy", "y.npy", "--loss", "bce", "-f", "csv")
    assert r.code == 0, r.err
    y = np.array([0, 1, 0, 1])
    p64 = p.astype(np.float64)  # the float32 values, exactly
    expected = -np.mean(y * np.log(p64) + (1 - y) * np.log(1 - p64))
    assert float(r.out.splitlines()[1].split(",")[1]) == pytest.approx(expected, rel=1e-12)


def test_extension_lying_parquet_in_csv_is_read_as_parquet(tmp_path):  # 7, doc
    pq.write_table(pa.table({"pred": [0.2, 0.7], "label": [0, 1]}), tmp_path / "liar.csv")
    r = eval_("liar.csv", "--loss", "bce", "-f", "csv")
    assert r.code == 0, r.err
    assert float(r.out.splitlines()[1].split(",")[1]) == pytest.approx(
        -np.mean(np.log([0.8, 0.7])), rel=1e-12
    )


def test_gzip_bytes_in_plain_csv_name(tmp_path):  # 7, doc
    write(tmp_path / "zipped.csv", gzip.compress(GOOD.encode()))
    r = eval_("zipped.csv", "--loss", "bce", "-f", "csv")
    assert r.code == 0, r.err


def test_crlf_bom_and_trailing_blank_lines(tmp_path):  # 16, 21, doc
    write(tmp_path / "win.csv", b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    write(tmp_path / "unix.csv", GOOD)
    a = eval_("win.csv", "-f", "csv")
    b = eval_("unix.csv", "-f", "csv")
    assert a.code == 0, a.err
    assert a.out == b.out


def test_huge_probability_is_shown_as_a_plain_number(tmp_path):  # 38 (was np.float64(1e+20))
    write(tmp_path / "p.csv", "pred,label\n0.1,0\n1e20,1\n")
    assert_error(eval_("p.csv", "--loss", "bce"), "p.csv", "'pred'", "row 2 (line 3)", "1e+20")


ONE_HOT_BAD = "p_a,p_b,y_a,y_b\n0.2,0.8,0,1\n0.6,0.4,1,1\n"


def test_one_hot_row_not_summing_to_one(tmp_path):  # 29
    write(tmp_path / "oh.csv", ONE_HOT_BAD)
    assert_error(eval_("oh.csv", "--pred-col", "p_*", "--label-col", "y_a", "--label-col", "y_b",
                       "--loss", "ce", "--task", "multiclass"),
                 "oh.csv", "row 2 (line 3)", "sum to 1")  # fmt: skip


def test_one_hot_row_not_summing_to_one_auto_task(tmp_path):  # 29
    write(tmp_path / "oh.csv", ONE_HOT_BAD)
    assert_error(eval_("oh.csv", "--pred-col", "p_*", "--label-col", "y_a", "--label-col", "y_b",
                       "--loss", "ce"),
                 "oh.csv", "row 2 (line 3)", "sum to 1")  # fmt: skip


@pytest.mark.parametrize("classes", ["a", "a,b,c"])
def test_wrong_number_of_classes_for_binary(tmp_path, classes):  # 26
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--classes", classes, "--loss", "bce"), "--classes")


def test_wrong_number_of_classes_for_multiclass(tmp_path):  # 26
    write(tmp_path / "m.csv", "p_a,p_b,p_c,label\n0.2,0.3,0.5,0\n0.6,0.3,0.1,1\n")
    assert_error(eval_("m.csv", "--pred-col", "p_*", "--classes", "a,b"), "2", "3")


def test_crafted_npy_on_stdin(tmp_path):  # 11, 68
    write(tmp_path / "y.csv", "label\n0\n1\n")
    data = npy_bytes(CRAFTED["bool-shape"], b"\x00" * 16)
    assert_error(eval_("-", "y.csv", input=data), "stdin", "shape")


def test_inf_weight(tmp_path):  # 53
    write(tmp_path / "w.csv", "pred,label,w\n0.1,0,1\n0.2,1,inf\n")
    assert_error(eval_("w.csv", "--weight-col", "w"), "w.csv", "'w'", "row 2 (line 3)")


def test_nul_bytes_in_csv(tmp_path):
    write(tmp_path / "nul.csv", b"pred,label\n0.2,1\x00\n0.6,0\n")
    assert_error(eval_("nul.csv"), "nul.csv", "NUL")


def test_multiclass_task_with_one_prediction_column(tmp_path):
    write(tmp_path / "b.csv", GOOD)
    assert_error(eval_("b.csv", "--task", "multiclass"), "--pred-col")


def test_all_rows_nan_with_omit(tmp_path):  # 5 after 35
    write(tmp_path / "n.csv", "pred,label\nnan,1\nnan,0\n")
    assert_error(eval_("n.csv", "--nan-policy", "omit"), "no rows")


def test_join_by_id_that_would_not_fit_in_memory(chdir_tmp, monkeypatch):
    # the estimate is checked against the memory the machine has before anything is read
    import losscli.readers.join as join

    write("preds.csv", "id,p\n" + "".join(f"{i},0.5\n" for i in range(100)))
    write("labels.csv", "id,y\n" + "".join(f"{99 - i},1\n" for i in range(100)))
    monkeypatch.setattr(join, "available_memory", lambda: 4096)
    r = eval_("preds.csv", "labels.csv", "--id-col", "id", "--pred-col", "p", "--label-col", "y")
    assert_error(r, "joining preds.csv and labels.csv by --id-col", "31.2 KiB for 100 rows",
                 "4.0 KiB is available", "drop --id-col")  # fmt: skip


@pytest.mark.parametrize("chunk_rows", [1, 2, 1 << 18])
@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("1.7", "need probabilities in [0, 1], found 1.7"),
        ("abc", "'abc' is not a number"),
        ("", "the cell is empty"),
    ],
)
def test_lines_count_blank_lines_above_the_row(chdir_tmp, monkeypatch, chunk_rows, cell, problem):
    # pyarrow skips blank lines without counting them as rows; the editor line counts them
    import gzip

    import losscli.cli.options as options

    monkeypatch.setattr(options, "STREAM_ROWS", chunk_rows)
    text = f"p,y\n0.1,0\n\n0.3,1\r\n\r\n\n{cell},1\n0.2,0\n\n"
    write("b.csv", text)
    with gzip.open("b.csv.gz", "wt", newline="") as fh:
        fh.write(text)
    for name in ("b.csv", "b.csv.gz"):
        assert_error(eval_(name), f"{name}, column 'p', row 3 (line 7): ", problem)
    assert_error(eval_("-", input=text), "stdin, column 'p', row 3 (line 7): ", problem)
