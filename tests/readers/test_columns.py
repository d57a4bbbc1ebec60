"""Column resolution (SPEC §2): names, globs, guesses, joins, streaming and locate()."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import error_of, write

from losscli.errors import InputError
from losscli.readers.columns import load_inputs, stream_inputs


def test_one_file_with_usual_names(chdir_tmp):
    write("a.csv", "id,p,label\n1,0.5,cat\n2,0.25,dog\n")
    inputs = load_inputs("a.csv")
    assert inputs.pred_columns == ["p"] and inputs.label_columns == ["label"]
    assert inputs.preds.tolist() == [0.5, 0.25]
    assert inputs.labels.tolist() == ["cat", "dog"] and inputs.n_rows == 2
    assert inputs.describe() == {
        "preds": {"path": "a.csv", "format": "csv", "columns": ["p"]},
        "labels": {"path": "a.csv", "format": "csv", "columns": ["label"]},
    }


def test_globs_keep_order_and_drop_repeats(chdir_tmp):
    write("a.csv", "id,p_cat,p_dog,p_eel,label\n1,0.2,0.3,0.5,cat\n")
    inputs = load_inputs("a.csv", pred_cols=["p_eel", "p_*"])
    assert inputs.pred_columns == ["p_eel", "p_cat", "p_dog"]
    assert inputs.preds.shape == (1, 3) and inputs.preds[0].tolist() == [0.5, 0.2, 0.3]


def test_a_family_of_prediction_columns_is_found(chdir_tmp):
    write("a.csv", "p_cat,p_dog,label\n0.2,0.8,dog\n")
    inputs = load_inputs("a.csv")
    assert inputs.pred_columns == ["p_cat", "p_dog"]
    assert inputs.notes == ["using columns p_cat, p_dog of a.csv as predictions"]


def test_ambiguous_columns_are_an_error(chdir_tmp):
    write("a.csv", "a,b,label\n1,2,1\n")
    assert error_of(load_inputs, "a.csv") == (
        "a.csv: cannot tell which column holds the predictions; columns are a, b. "
        "Pass --pred-col (globs such as 'p_*' allowed)."
    )
    write("b.csv", "prob,logit,y\n1,2,1\n")
    assert error_of(load_inputs, "b.csv") == (
        "b.csv: cannot tell which column holds the predictions (several usual names: "
        "prob, logit); columns are prob, logit. Pass --pred-col (globs such as 'p_*' allowed)."
    )


def test_unknown_column_suggests(chdir_tmp):
    write("a.csv", "id,score,label\n1,2,1\n")
    assert error_of(load_inputs, "a.csv", pred_cols=["scroe"]) == (
        "a.csv: no column 'scroe'; columns are id, score, label (did you mean 'score'?). "
        "Pass --pred-col with one of these columns."
    )
    assert error_of(load_inputs, "a.csv", pred_cols=["q_*"]) == (
        "a.csv: --pred-col 'q_*' matches no column; columns are id, score, label. "
        "Pass --pred-col with a name or glob that matches."
    )


def test_labels_missing_from_a_single_file(chdir_tmp):
    np.save("p.npy", np.ones(3))
    assert error_of(load_inputs, "p.npy") == (
        "no label column: every column of p.npy is already used. "
        "Pass a LABELS file, or --label-col to name the label column."
    )


def test_two_files_weight_beside_labels(chdir_tmp):
    write("preds.csv", "score\n0.5\n0.25\n")
    write("labels.csv", "y,w\n1,2\n0,3\n")
    inputs = load_inputs("preds.csv", "labels.csv", weight_col="w")
    assert inputs.weights.tolist() == [2.0, 3.0] and inputs.weight_column == "w"
    assert inputs.describe()["weights"] == {"path": "labels.csv", "format": "csv", "columns": ["w"]}
    assert inputs.locate("weights", None, 2) == ("labels.csv", "w", 2, 3)


def test_a_name_in_both_files_is_an_error(chdir_tmp):
    write("preds.csv", "p,w\n0.5,1\n")
    write("labels.csv", "y,w\n1,2\n")
    assert error_of(load_inputs, "preds.csv", "labels.csv", weight_col="w") == (
        "column 'w' is in both preds.csv and labels.csv. "
        "Rename it in one file, or pass a single file that holds every column."
    )


def test_numpy_files_are_matrices(chdir_tmp):
    np.save("p.npy", np.full((4, 3), 1 / 3))
    np.save("y.npy", np.array([0, 1, 2, 1]))
    inputs = load_inputs("p.npy", "y.npy")
    assert inputs.preds.shape == (4, 3) and inputs.labels.tolist() == [0.0, 1.0, 2.0, 1.0]
    assert inputs.locate("preds", 2, 4) == ("p.npy", "2", 4, None)


def test_k_label_columns(chdir_tmp):
    write("a.csv", "p_0,p_1,y_0,y_1\n0.2,0.8,0,1\n")
    inputs = load_inputs("a.csv", pred_cols=["p_*"], label_cols=["y_0", "y_1"])
    assert inputs.labels.shape == (1, 2)


def test_length_mismatch(chdir_tmp):
    np.save("preds.npy", np.ones(998))
    write("labels.csv", "y\n" + "1\n" * 1000)
    assert error_of(load_inputs, "preds.npy", "labels.csv") == (
        "preds.npy has 998 rows, labels.csv has 1000. Pass --id-col to join by id."
    )
    # streaming reads both files to the end, so the message has both lengths too
    assert error_of(stream_inputs, "preds.npy", "labels.csv", batch_rows=300) == (
        "preds.npy has 998 rows, labels.csv has 1000. Pass --id-col to join by id."
    )


@pytest.mark.parametrize(
    ("cell", "problem", "fix"),
    [
        ("abc", "'abc' is not a number", "Fix the value, or check that the right column was chosen"),
        ('"1,234"', "'1,234' is not a number (it has a thousands separator or a decimal comma)",
         "Write plain numbers with a decimal point, e.g. 1234.5; losscli does not guess locales"),
        ('"0,5"', "'0,5' is not a number (it has a decimal comma)",
         "Write numbers with a decimal point, e.g. 0.5; losscli does not guess locales"),
        ("", "the cell is empty or NA/null (1 missing in this column)",
         "Fill in or drop the rows with empty cells, or pass --nan-policy omit to skip them"),
    ],
)  # fmt: skip
def test_non_numeric_prediction_cell(chdir_tmp, cell, problem, fix):
    write("preds.csv", "p,label\n" + "0.5,1\n" * 16 + f"{cell},0\n")
    assert error_of(load_inputs, "preds.csv") == (
        f"preds.csv, column 'p', row 17 (line 18): {problem}. {fix}."
    )


def test_text_labels_stay_text_but_empty_labels_fail(chdir_tmp):
    write("a.csv", "p,label\n0.5,NA\n0.5,None\n")
    assert load_inputs("a.csv").labels.tolist() == ["NA", "None"]
    write("b.csv", "p,label\n0.5,cat\n0.5,\n")
    assert error_of(load_inputs, "b.csv") == (
        "b.csv, column 'label', row 2 (line 3): the cell is empty (1 empty in this column). "
        "Fill in or drop the rows with empty cells."
    )


def test_join_by_id_aligns_to_preds_order_and_locates_rows(chdir_tmp):
    write("preds.csv", "id,p\na,0.1\nb,0.2\nc,0.3\n")
    write("labels.csv", "id,y,w\nc,1,30\na,0,10\nb,1,20\n")
    inputs = load_inputs("preds.csv", "labels.csv", id_col="id", weight_col="w")
    assert inputs.labels.tolist() == [0.0, 1.0, 1.0]
    assert inputs.weights.tolist() == [10.0, 20.0, 30.0]
    assert inputs.ids.tolist() == ["a", "b", "c"]
    assert inputs.locate("labels", None, 1) == ("labels.csv", "y", 2, 3)
    assert inputs.locate("preds", None, 1) == ("preds.csv", "p", 1, 2)
    # The Locator plugs into InputError.locate as the engine's errors travel outward.
    error = InputError("label 7 is out of range", role="labels", row=3).locate(inputs.locate)
    assert str(error) == "labels.csv, column 'y', row 1 (line 2): label 7 is out of range."


def test_join_errors(chdir_tmp):
    write("preds.csv", "id,p\n1,0.1\n2,0.2\n2,0.3\n")
    write("labels.csv", "id,y\n1,1\n2,0\n")
    assert error_of(load_inputs, "preds.csv", "labels.csv", id_col="id") == (
        "preds.csv: 1 id(s) appear more than once in column 'id' (first: 2). Make the ids unique."
    )
    write("preds2.csv", "id,p\n1,0.1\n3,0.2\n4,0.3\n")
    assert error_of(load_inputs, "preds2.csv", "labels.csv", id_col="id") == (
        "2 of 3 ids in preds2.csv are not in labels.csv (first: 3, 4). "
        "Give both files the same ids in column 'id'."
    )
    write("labels2.csv", "y\n1\n")
    assert error_of(load_inputs, "preds.csv", "labels2.csv", id_col="id") == (
        "labels2.csv: no column 'id'; columns are y. Pass --id-col with one of these columns."
    )


def test_bad_label_row_after_join_names_the_labels_row(chdir_tmp):
    write("preds.csv", "id,p\na,0.1\nb,0.2\n")
    write("labels.csv", "id,y,w\nb,1,x\na,0,1\n")
    assert error_of(load_inputs, "preds.csv", "labels.csv", id_col="id", weight_col="w") == (
        "labels.csv, column 'w', row 1 (line 2): 'x' is not a number. "
        "Fix the value, or check that the right column was chosen."
    )


def test_streaming_in_lockstep(chdir_tmp):
    write("preds.csv", "p\n" + "".join(f"{i / 10}\n" for i in range(10)))
    np.save("labels.npy", np.arange(10) % 2)
    header, chunks = stream_inputs("preds.csv", "labels.npy", batch_rows=4)
    assert header.describe()["labels"] == {"path": "labels.npy", "format": "npy", "columns": ["0"]}
    chunks = list(chunks)
    assert [(c.row_offset, c.n_rows) for c in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert chunks[2].labels.tolist() == [0.0, 1.0]
    assert chunks[1].locate("preds", None, 2) == ("preds.csv", "p", 6, 7)


def test_id_col_cannot_stream(chdir_tmp):
    write("preds.csv", "id,p\n1,0.1\n")
    write("labels.csv", "id,y\n1,1\n")
    assert error_of(stream_inputs, "preds.csv", "labels.csv", id_col="id") == (
        "--id-col cannot be used while streaming: a join by id holds about 0.3 KiB for these "
        "files in memory. "
        "Read the files whole (load_inputs), or sort both files by id and drop --id-col."
    )


def test_wide_parquet_reads_only_needed_columns(chdir_tmp):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({f"c{i}": pa.array([0.0]) for i in range(2000)} | {"label": [1]})
    pq.write_table(table, "wide.parquet")
    inputs = load_inputs("wide.parquet", pred_cols=["c1999"])
    assert inputs.pred_columns == ["c1999"] and inputs.labels.tolist() == [1.0]


# --- joins by id at scale, and the memory they need --------------------------------------


def _shuffled_pair(n: int, text: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = np.array([f"user-{i}" for i in range(n)]) if text else np.arange(n) * 7 + 3
    p = rng.uniform(0.0, 1.0, n)
    y = (rng.uniform(0.0, 1.0, n) < p).astype(int)
    perm = rng.permutation(n)
    write(
        "preds.csv", "id,p\n" + "".join(f"{i},{float(v)!r}\n" for i, v in zip(ids, p, strict=True))
    )
    write("labels.csv", "id,y\n" + "".join(f"{ids[j]},{y[j]}\n" for j in perm))
    return p, y


@pytest.mark.parametrize("text", [False, True])
def test_join_of_shuffled_ids_matches_the_aligned_rows(chdir_tmp, text):
    p, y = _shuffled_pair(5000, text)
    inputs = load_inputs("preds.csv", "labels.csv", id_col="id")
    assert inputs.preds.tolist() == p.tolist()
    assert inputs.labels.tolist() == y.astype(float).tolist()


def test_text_ids_survive_hash_collisions(chdir_tmp, monkeypatch):
    # every id hashing alike makes the sorted join see duplicates: the exact join takes over
    import losscli.readers.join as join

    p, y = _shuffled_pair(300, text=True)
    monkeypatch.setattr(join, "hash", lambda _value: 1, raising=False)
    inputs = load_inputs("preds.csv", "labels.csv", id_col="id")
    assert inputs.labels.tolist() == y.astype(float).tolist()


def test_join_errors_name_ids_in_file_order(chdir_tmp):
    write("preds.csv", "id,p\nz,0.1\nb,0.2\na,0.3\nq,0.4\n")
    write("labels.csv", "id,y\na,1\nb,0\nx,1\nz,0\n")
    assert error_of(load_inputs, "preds.csv", "labels.csv", id_col="id") == (
        "1 of 4 ids in preds.csv are not in labels.csv (first: q). "
        "Give both files the same ids in column 'id'."
    )
    write("labels.csv", "id,y\na,1\nw,0\nb,0\nq,1\nv,0\nz,0\n")
    assert error_of(load_inputs, "preds.csv", "labels.csv", id_col="id") == (
        "2 of 6 ids in labels.csv are not in preds.csv (first: w, v). "
        "Give both files the same ids in column 'id'."
    )
    write("labels.csv", "id,y\n9,1\n5,0\n9,1\n5,0\n7,1\n")
    write("preds.csv", "id,p\n5,0.1\n")
    assert error_of(load_inputs, "preds.csv", "labels.csv", id_col="id") == (
        "labels.csv: 2 id(s) appear more than once in column 'id' (first: 9, 5). "
        "Make the ids unique."
    )


def test_rows_hint_of_every_format(chdir_tmp):
    import gzip

    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    from losscli.readers import open_table

    table = pa.table({"p": np.linspace(0.0, 1.0, 1000), "y": np.arange(1000) % 2})
    pq.write_table(table, "t.parquet", row_group_size=300)
    feather.write_feather(table, "t.feather")
    np.save("t.npy", np.zeros((1000, 3)))
    write("small.csv", "p,y\n0.5,1\n0.25,0")  # no final line break
    write("big.csv", "p,y\n" + "".join(f"{i / 200_000!r},{i % 2}\n" for i in range(200_000)))
    with gzip.open("t.csv.gz", "wt") as fh:
        fh.write("p,y\n0.5,1\n")
    hints = {name: open_table(name).rows_hint() for name in
             ("t.parquet", "t.feather", "t.npy", "small.csv", "big.csv", "t.csv.gz")}  # fmt: skip
    assert hints["t.parquet"] == hints["t.feather"] == hints["t.npy"] == 1000
    assert hints["small.csv"] == 2
    assert hints["big.csv"] == pytest.approx(200_000, rel=0.05)  # estimated from the first MiB
    assert hints["t.csv.gz"] is None


def test_a_join_larger_than_memory_is_refused_before_reading(chdir_tmp, monkeypatch):
    import losscli.readers.join as join
    from losscli.readers.opening import open_inputs

    _shuffled_pair(1000, text=False)
    # 1000 rows · (2 values · 16 + 128) bytes per file = 320,000 bytes
    assert join.join_memory(
        *open_inputs("preds.csv", "labels.csv", (), (), None, "id", None, None, None)
    ) == (320_000, 1000)
    monkeypatch.setattr(join, "available_memory", lambda: 100_000)
    assert error_of(load_inputs, "preds.csv", "labels.csv", id_col="id") == (
        "joining preds.csv and labels.csv by --id-col holds both files in memory: about "
        "312.5 KiB for 1,000 rows, and 97.7 KiB is available. Sort both files by id (they "
        "must hold the same ids) and drop --id-col; files aligned by position are streamed "
        "in bounded memory."
    )
    monkeypatch.setattr(join, "available_memory", lambda: 10**12)
    monkeypatch.setattr(join, "JOIN_NOTE_BYTES", 1)
    notes = load_inputs("preds.csv", "labels.csv", id_col="id").notes
    assert (
        "--id-col joins preds.csv and labels.csv in memory: about 312.5 KiB for 1,000 rows "
        "(files aligned by position are streamed in bounded memory)"
    ) in notes


def test_available_memory_is_read_on_linux():
    import sys

    from losscli.readers.join import available_memory

    found = available_memory()
    if sys.platform.startswith("linux"):
        assert found is not None and found > 0


def test_nan_policy_omit_reads_empty_numeric_cells_as_nan(chdir_tmp):
    write("a.csv", "p,y,w\n0.1,0,1\n,1,2\n0.3,,3\n0.4,1,\n0.5,0,5\n")
    inputs = load_inputs("a.csv", pred_cols=["p"], label_cols=["y"], weight_col="w",
                         nan_policy="omit")  # fmt: skip
    assert np.isnan(inputs.preds).tolist() == [False, True, False, False, False]
    assert np.isnan(inputs.labels).tolist() == [False, False, True, False, False]
    assert np.isnan(inputs.weights).tolist() == [False, False, False, True, False]
    chunks = list(stream_inputs("a.csv", pred_cols=["p"], label_cols=["y"], weight_col="w",
                                nan_policy="omit", batch_rows=2)[1])  # fmt: skip
    assert np.isnan(np.concatenate([c.preds for c in chunks])).tolist() == [
        False, True, False, False, False
    ]  # fmt: skip
    # text labels have no NaN: an empty class name stays an error
    write("b.csv", "p,label\n0.5,cat\n0.5,\n")
    assert "the cell is empty" in error_of(load_inputs, "b.csv", nan_policy="omit")
