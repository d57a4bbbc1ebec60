"""Issue 9, columns, pairing and types: W3, W6, C1, M9 (late bad value), E1, E2, E7.

Each test is named after its finding in ../shared/findings/2026-11-30-new-user.md, fails
on 0.1.0 and checks numbers against scikit-learn or values worked by hand.
"""

from __future__ import annotations

import datetime
import decimal
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import error_of, write
from pyarrow import feather
from sklearn import metrics

from losscli.readers.columns import load_inputs, stream_inputs
from tests.cli.conftest import invoke

# -(ln 0.8 + ln 0.7 + ln 0.9) / 3: ids 1, 2, 3 with p 0.2, 0.7, 0.9 and labels 0, 1, 1
JOINED_BCE = -(math.log(0.8) + math.log(0.7) + math.log(0.9)) / 3
# -(ln 0.8 + ln 0.7) / 2: p 0.2, 0.7 with labels 0, 1
TWO_ROW_BCE = -(math.log(0.8) + math.log(0.7)) / 2


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261130)


def _bce(argv) -> float:
    ran = invoke([*argv, "-l", "bce", "-f", "csv"])
    assert ran.code == 0, ran.err
    return float(ran.out.splitlines()[1].split(",")[1])


def _error(argv) -> str:
    ran = invoke(argv)
    assert ran.code == 2 and ran.out == "", (ran.code, ran.out, ran.err)
    lines = ran.err.strip().splitlines()
    assert lines[-1].startswith("error: "), ran.err
    return lines[-1]


# -- W3: id columns in both files must agree when rows are paired by position -------------------


def test_W3_disagreeing_id_columns_are_an_error_in_the_cli(chdir_tmp):
    write("jp.csv", "id,prob\n1,0.2\n2,0.7\n3,0.9\n")
    write("jl.csv", "id,label\n3,1\n1,0\n2,1\n")
    assert _error(["eval", "jp.csv", "jl.csv", "-l", "bce"]) == (
        "error: jp.csv and jl.csv both have column 'id', and the ids differ at row 1 "
        "(1 in jp.csv, 3 in jl.csv). Pass --id-col id to join by id."
    )
    # the fix the message gives works, and gives the value worked by hand
    assert _bce(["eval", "jp.csv", "jl.csv", "--id-col", "id"]) == pytest.approx(
        JOINED_BCE, rel=1e-15
    )
    # ids that agree: paired by position, no note
    write("jl2.csv", "id,label\n1,0\n2,1\n3,1\n")
    ran = invoke(["eval", "jp.csv", "jl2.csv", "-l", "bce", "-f", "csv"])
    assert ran.code == 0 and ran.err == ""
    assert float(ran.out.splitlines()[1].split(",")[1]) == pytest.approx(JOINED_BCE, rel=1e-15)


@pytest.mark.parametrize("name", ["id", "ID", "row_id", "Sample_ID", "key", "index", "uid"])
def test_W3_usual_id_names_are_checked_in_memory_and_streamed(chdir_tmp, name):
    write("p.csv", f"{name},prob\n1,0.2\n2,0.7\n")
    write("l.csv", f"{name},label\n2,1\n1,0\n")
    expected = (
        f"p.csv and l.csv both have column '{name}', and the ids differ at row 1 "
        f"(1 in p.csv, 2 in l.csv). Pass --id-col {name} to join by id."
    )
    assert error_of(load_inputs, "p.csv", "l.csv") == expected
    assert error_of(stream_inputs, "p.csv", "l.csv") == expected


def test_W3_a_late_difference_is_found_while_streaming_in_chunks(chdir_tmp):
    n = 1000
    ids = np.arange(1, n + 1)
    write("p.csv", "id,prob\n" + "".join(f"{i},0.5\n" for i in ids))
    swapped = ids.copy()
    swapped[[700, 701]] = swapped[[701, 700]]  # rows 701 and 702, in the 8th chunk of 100
    write("l.csv", "id,label\n" + "".join(f"{i},1\n" for i in swapped))
    _, chunks = stream_inputs("p.csv", "l.csv", batch_rows=100)
    seen = 0
    with pytest.raises(Exception) as info:
        for chunk in chunks:
            seen += chunk.n_rows
    assert seen == 700  # the chunks before the difference were used, then it stopped
    assert str(info.value) == (
        "p.csv and l.csv both have column 'id', and the ids differ at row 701 "
        "(701 in p.csv, 702 in l.csv). Pass --id-col id to join by id."
    )
    # equal ids over many chunks: every row arrives, in order
    write("l2.csv", "id,label\n" + "".join(f"{i},1\n" for i in ids))
    _, chunks = stream_inputs("p.csv", "l2.csv", batch_rows=100)
    assert sum(c.n_rows for c in chunks) == n


def test_W3_ids_compare_across_types_and_formats(chdir_tmp):
    # integer ids in Parquet, the same ids as text in CSV: they agree
    pq.write_table(pa.table({"id": [1, 2, 3], "prob": [0.2, 0.7, 0.9]}), "p.parquet")
    write("l.csv", 'id,label\n"1",0\n"2",1\n"3",1\n')
    inputs = load_inputs("p.parquet", "l.csv")
    assert inputs.preds.tolist() == [0.2, 0.7, 0.9] and inputs.labels.tolist() == [0, 1, 1]
    # text ids that differ, an empty id against a filled one
    write("a.csv", "key,prob\nx,0.2\ny,0.7\n")
    write("b.csv", "key,label\nx,0\nz,1\n")
    assert error_of(load_inputs, "a.csv", "b.csv") == (
        "a.csv and b.csv both have column 'key', and the ids differ at row 2 "
        "(y in a.csv, z in b.csv). Pass --id-col key to join by id."
    )
    write("c.csv", "key,label\nx,0\n,1\n")
    assert error_of(load_inputs, "a.csv", "c.csv") == (
        "a.csv and c.csv both have column 'key', and the ids differ at row 2 "
        "(y in a.csv, (empty) in c.csv). Pass --id-col key to join by id."
    )
    # an id column in one file only, or a shared column that is not named like an id
    write("p.csv", "id,prob\n1,0.2\n2,0.7\n")
    write("l.csv", "label\n0\n1\n")
    assert load_inputs("p.csv", "l.csv").labels.tolist() == [0, 1]
    write("q.csv", "name,prob\n1,0.2\n2,0.7\n")
    write("m.csv", "name,label\n2,0\n1,1\n")
    assert load_inputs("q.csv", "m.csv").labels.tolist() == [0, 1]


# -- W6: per-file NPZ keys; one array for both roles is an error ---------------------------------


@pytest.fixture
def multi(chdir_tmp):
    np.savez("multi.npz", preds=np.array([0.2, 0.7]), labels=np.array([0, 1]))
    return "multi.npz"


def test_W6_per_file_keys_select_each_files_array(multi):
    assert _bce(["eval", "multi.npz:preds", "multi.npz:labels"]) == pytest.approx(
        TWO_ROW_BCE, rel=1e-15
    )
    # --key goes on applying to a file without its own key
    assert _bce(["eval", "multi.npz", "--key", "preds", "multi.npz:labels"]) == pytest.approx(
        TWO_ROW_BCE, rel=1e-15
    )
    ran = invoke(["eval", "multi.npz:preds", "multi.npz:labels", "-l", "bce", "-f", "json"])
    import json

    doc = json.loads(ran.out)
    assert doc["inputs"]["preds"]["path"] == "multi.npz:preds"
    assert doc["inputs"]["labels"]["path"] == "multi.npz:labels"


def test_W6_the_same_array_for_both_roles_is_an_error(multi):
    expected = (
        "error: the predictions and the labels are the same array 'preds' of multi.npz. "
        "Name the labels' array, e.g. multi.npz:labels."
    )
    assert _error(["eval", "multi.npz", "--key", "preds", "multi.npz"]) == expected
    assert _error(["eval", "multi.npz:preds", "multi.npz:preds"]) == expected
    np.save("p.npy", np.array([0.2, 0.7]))
    assert _error(["eval", "p.npy", "p.npy"]) == (
        "error: p.npy is given for both the predictions and the labels (the same array). "
        "Pass the labels' own file."
    )


def test_W6_keys_are_parsed_only_for_archives(multi):
    # a file whose name holds a ':' is read as it is
    write("a:b.csv", "prob,label\n0.2,0\n0.7,1\n")
    assert _bce(["eval", "a:b.csv"]) == pytest.approx(TWO_ROW_BCE, rel=1e-15)
    # an archive that does not exist is named as such, not as 'missing.npz:preds'
    assert "missing.npz" in _error(["eval", "missing.npz:preds", "multi.npz:labels"])
    # a key that is not in the archive lists the arrays
    assert _error(["eval", "multi.npz:pred", "multi.npz:labels"]) == (
        "error: multi.npz: no array 'pred'; arrays are preds, labels (did you mean 'preds'?). "
        "Pass --key preds."
    )
    # --key with every file naming its own array would be ignored: an error says so
    assert _error(["eval", "multi.npz:preds", "multi.npz:labels", "--key", "preds"]) == (
        "error: --key preds applies to no file: each file names its own array. Leave out --key."
    )
    # Windows-style drive letters are not keys
    assert "C:\\nope.csv" in _error(["eval", "C:\\nope.csv"])


# -- E2: NPZ arrays are chosen by name -----------------------------------------------------------


def test_E2_an_npz_array_name_selects_all_its_columns(chdir_tmp, rng):
    P = rng.dirichlet(np.ones(3), 50)
    y = rng.integers(0, 3, 50)
    np.savez("m.npz", a=P, b=y)
    inputs = load_inputs("m.npz", pred_cols=["a"], label_cols=["b"])
    assert inputs.pred_columns == ["a_0", "a_1", "a_2"]
    np.testing.assert_array_equal(inputs.preds, P)
    ran = invoke(["eval", "m.npz", "--pred-col", "a", "--label-col", "b", "-l", "ce", "-f", "csv"])
    assert ran.code == 0, ran.err
    got = float(ran.out.splitlines()[1].split(",")[1])
    assert got == pytest.approx(metrics.log_loss(y, P, labels=[0, 1, 2]), rel=1e-12)


@pytest.mark.parametrize("name", ["probs", "preds", "scores", "Proba"])
def test_E2_a_2d_array_with_a_usual_name_is_found_as_predictions(chdir_tmp, rng, name):
    P = rng.dirichlet(np.ones(4), 40)
    y = rng.integers(0, 4, 40)
    np.savez("m.npz", **{name: P, "labels": y})
    inputs = load_inputs("m.npz")
    assert inputs.pred_columns == [f"{name}_{i}" for i in range(4)]
    np.testing.assert_array_equal(inputs.preds, P)
    ran = invoke(["eval", "m.npz", "-l", "ce", "-f", "csv"])
    assert ran.code == 0, ran.err
    got = float(ran.out.splitlines()[1].split(",")[1])
    assert got == pytest.approx(metrics.log_loss(y, P, labels=[0, 1, 2, 3]), rel=1e-12)


# -- C1: nested, temporal and binary columns are a clear error -----------------------------------

UNSUPPORTED = {
    "list": (pa.array([[0], [1]]), "list<item: int64>"),
    "list2": (pa.array([[0.2, 0.8], [0.7, 0.3]]), "list<item: double>"),
    "large_list": (pa.array([[0], [1]], pa.large_list(pa.int64())), "large_list<item: int64>"),
    "fixed_size_list": (
        pa.array([[0.2, 0.8], [0.7, 0.3]], pa.list_(pa.float64(), 2)),
        "fixed_size_list<item: double>[2]",
    ),
    "struct": (pa.array([{"a": 0}, {"a": 1}]), "struct<a: int64>"),
    "map": (
        pa.array([[("a", 1)], [("b", 0)]], pa.map_(pa.string(), pa.int64())),
        "map<string, int64>",
    ),  # fmt: skip
    "timestamp": (pa.array([datetime.datetime(2024, 1, 1)] * 2), "timestamp[us]"),
    "date": (pa.array([datetime.date(2024, 1, 1)] * 2), "date32[day]"),
    "time": (pa.array([datetime.time(1)] * 2), "time64[us]"),
    "duration": (pa.array([datetime.timedelta(seconds=1)] * 2), "duration[us]"),
    "binary": (pa.array([b"0", b"1"]), "binary"),
    "dictionary_of_bytes": (
        pa.array([b"0", b"1"]).dictionary_encode(),
        "dictionary<values=binary, indices=int32, ordered=0>",
    ),
}
WHAT = {"list": "lists", "large_list": "lists", "fixed_size_list": "lists", "list2": "lists",
        "dictionary_of_bytes": "bytes", "struct": "records", "map": "maps",
        "timestamp": "dates or times", "date": "dates or times", "time": "dates or times",
        "duration": "dates or times", "binary": "bytes"}  # fmt: skip


def _save(table, name: str) -> str:
    if name.endswith(".parquet"):
        pq.write_table(table, name)
    else:
        feather.write_feather(table, name)
    return name


def _type_in(name: str, column: str) -> str:
    """The column's type as the file holds it (Parquet names list items 'element')."""
    schema = pq.read_schema(name) if name.endswith(".parquet") else feather.read_table(name).schema
    return str(schema.field(column).type)


@pytest.mark.parametrize("ext", ["parquet", "feather"])
@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
@pytest.mark.parametrize("role", ["label", "prob"])
def test_C1_unsupported_column_types_name_the_type_and_the_fix(chdir_tmp, ext, kind, role):
    array, shown = UNSUPPORTED[kind]
    cols = {"prob": pa.array([0.2, 0.7]), "label": pa.array([0, 1])}
    cols[role] = array
    name = _save(pa.table(cols), f"t.{ext}")
    if ext == "feather":
        assert _type_in(name, role) == shown
    shown = _type_in(name, role)
    flag = "--label-col" if role == "label" else "--pred-col"
    for argv in (["eval", name], ["eval", name, "--pred-col", "prob", "--label-col", "label",
                                  "--task", "binary"]):  # fmt: skip
        line = _error(argv)
        assert line.startswith(f"error: {name}, column '{role}': holds {WHAT[kind]} ({shown})")
        assert "is not a number" not in line and "labels are text" not in line
        if WHAT[kind] == "lists":
            assert f"pd.DataFrame(df['{role}'].tolist())" in line and f"{flag} '{role}_*'" in line
        if kind == "struct":
            assert f"table.flatten(), giving {role}.a" in line


@pytest.mark.parametrize("ext", ["parquet", "feather"])
def test_C1_a_list_weight_column_and_the_in_memory_path(chdir_tmp, ext):
    cols = {"id": [1, 2], "prob": [0.2, 0.7], "label": [0, 1], "w": pa.array([[1.0], [2.0]])}
    name = _save(pa.table(cols), f"t.{ext}")
    assert _error(["eval", name, "--pred-col", "prob", "--weight-col", "w"]) == (
        f"error: {name}, column 'w': holds lists ({_type_in(name, 'w')}), one list per row; "
        "losscli reads one value per cell. Save one weight per row."
    )
    other = _save(pa.table({"id": [2, 1], "label": pa.array([{"a": 1}, {"a": 0}])}),
                  f"l.{ext}")  # fmt: skip
    line = _error(["eval", name, other, "--pred-col", "prob", "--id-col", "id"])
    assert line.startswith(f"error: {other}, column 'label': holds records (struct<a: int64>)")
    _types_that_keep_working(ext)


def _types_that_keep_working(ext: str) -> None:
    """Decimal, dictionary and nullable columns read as today."""
    dec = pa.array([decimal.Decimal("0.20"), decimal.Decimal("0.70")], pa.decimal128(5, 2))
    ref = metrics.log_loss([0, 1], [0.2, 0.7])
    name = _save(pa.table({"prob": dec, "label": pa.array([0, 1]).dictionary_encode()}),
                 f"a.{ext}")  # fmt: skip
    assert _bce(["eval", name]) == pytest.approx(ref, rel=1e-15)
    # dictionary-encoded text labels are class names (categoricals)
    cats = pa.array(["no", "yes"]).dictionary_encode()
    name = _save(pa.table({"prob": [0.2, 0.7], "label": cats}), f"b.{ext}")
    assert _bce(["eval", name, "--classes", "no,yes"]) == pytest.approx(ref, rel=1e-15)
    # nullable integers: the empty row is an error, or dropped under omit
    nullable = pa.array([0, None, 1], pa.int64())
    name = _save(pa.table({"prob": [0.2, 0.5, 0.7], "label": nullable}), f"c.{ext}")
    assert _error(["eval", name, "-l", "bce"]).startswith(
        f"error: {name}, column 'label', row 2: the cell is empty"
    )
    assert _bce(["eval", name, "--nan-policy", "omit"]) == pytest.approx(ref, rel=1e-15)


# -- M9: a bad value late in a streamed file names its column ------------------------------------


def test_M9_a_late_bad_value_names_its_column(chdir_tmp):
    # ~5 MB: the bad cell is in a piece parsed after the first, where types are fixed
    n, bad = 900_000, 850_000
    rows = ["0.5,1\n"] * n
    rows[bad] = "abc,1\n"
    write("late_bad.csv", "prob,label\n" + "".join(rows))
    line = _error(["eval", "late_bad.csv", "-l", "bce"])
    assert line.startswith(
        f"error: late_bad.csv, column 'prob', row {bad + 1} (line {bad + 2}): 'abc' is not a number"
    )


# -- E1: --label-col takes globs ---------------------------------------------------------------


def test_E1_label_col_globs_keep_order(chdir_tmp, rng):
    P = rng.dirichlet(np.ones(3), 30)
    y = rng.integers(0, 3, 30)
    Y = np.eye(3)[y]
    rows = np.column_stack([P, Y])
    write("a.csv", "p_a,p_b,p_c,y_a,y_b,y_c\n" + "".join(
        ",".join(repr(float(v)) for v in row) + "\n" for row in rows))  # fmt: skip
    inputs = load_inputs("a.csv", pred_cols=["p_*"], label_cols=["y_*"])
    assert inputs.label_columns == ["y_a", "y_b", "y_c"]
    np.testing.assert_array_equal(inputs.labels, Y)
    # order given is kept, repeats dropped
    inputs = load_inputs("a.csv", pred_cols=["p_*"], label_cols=["y_c", "y_[ab]", "y_c"])
    assert inputs.label_columns == ["y_c", "y_a", "y_b"]
    ran = invoke(["eval", "a.csv", "--pred-col", "p_*", "--label-col", "y_*", "-l", "ce",
                  "-f", "csv"])  # fmt: skip
    assert ran.code == 0, ran.err
    got = float(ran.out.splitlines()[1].split(",")[1])
    assert got == pytest.approx(metrics.log_loss(y, P, labels=[0, 1, 2]), rel=1e-12)
    assert error_of(load_inputs, "a.csv", pred_cols=["p_*"], label_cols=["z_*"]) == (
        "a.csv: --label-col 'z_*' matches no column; columns are p_a, p_b, p_c, y_a, y_b, y_c. "
        "Pass --label-col with a name or glob that matches."
    )


# -- E7: case-insensitive detection and more usual names ---------------------------------------


@pytest.mark.parametrize(
    "header, pred, label",
    [
        ("Label,Prob", "Prob", "Label"),
        ("LABEL,PRED", "PRED", "LABEL"),
        ("actual,predicted", "predicted", "actual"),
        ("y_test,y_score", "y_score", "y_test"),
        ("Y_True,y_prob", "y_prob", "Y_True"),
        ("id,Ground_Truth,Probability", "Probability", "Ground_Truth"),
        (" label, prob", " prob", " label"),
    ],
)
def test_E7_detection_ignores_case_and_knows_more_names(chdir_tmp, header, pred, label):
    write("a.csv", header + "\n" + "\n".join(
        ",".join({pred: p, label: y}.get(c, "7") for c in header.split(","))
        for p, y in (("0.2", "0"), ("0.7", "1"))
    ) + "\n")  # fmt: skip
    inputs = load_inputs("a.csv")
    assert inputs.pred_columns == [pred] and inputs.label_columns == [label]
    assert _bce(["eval", "a.csv"]) == pytest.approx(TWO_ROW_BCE, rel=1e-15)


def test_E7_two_files_and_ambiguity(chdir_tmp):
    write("p.csv", "Id,Score\n1,0.2\n2,0.7\n")
    write("l.csv", "Id,Actual\n1,0\n2,1\n")
    inputs = load_inputs("p.csv", "l.csv")
    assert inputs.pred_columns == ["Score"] and inputs.label_columns == ["Actual"]
    write("b.csv", "Prob,PRED,y\n0.2,0.3,1\n")
    assert error_of(load_inputs, "b.csv") == (
        "b.csv: cannot tell which column holds the predictions (several usual names: "
        "Prob, PRED); columns are Prob, PRED. Pass --pred-col (globs such as 'p_*' allowed)."
    )
    # columns found before are still found: an exact usual name wins over the new ones,
    # a p_* family wins over a name in capitals
    write("a.csv", "score,predicted,label\n0.2,0.9,0\n0.7,0.1,1\n")
    assert load_inputs("a.csv").pred_columns == ["score"]
    write("c.csv", "PRED,p_a,p_b,label\n1,0.2,0.8,a\n")
    assert load_inputs("c.csv").pred_columns == ["p_a", "p_b"]
    write("d.csv", "prob,Prob,label\n0.2,0.9,0\n")
    assert load_inputs("d.csv").pred_columns == ["prob"]


def test_M9_a_weight_column_left_unused_gets_a_note(chdir_tmp):
    """Weights are never guessed, but a column named like them that is not used says so."""
    write("w.csv", "prob,label,Sample_Weight\n0.2,0,1\n0.7,1,3\n")
    notes = load_inputs("w.csv").notes
    assert notes == [
        "column 'Sample_Weight' of w.csv is not used as sample weights; "
        "pass --weight-col Sample_Weight to use it"
    ]
    assert not [n for n in load_inputs("w.csv", weight_col="Sample_Weight").notes if "weight" in n]
