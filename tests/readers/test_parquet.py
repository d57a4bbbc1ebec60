"""Parquet files and directories of Parquet files."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import error_of, write

from losscli.readers import iter_frames, read_frame


def test_read_selected_columns_and_types(chdir_tmp):
    table = pa.table(
        {
            "id": pa.array([1, 2, 3]),
            "p": pa.array([0.5, None, 0.25]),
            "label": pa.array(["cat", "dog", "cat"]).dictionary_encode(),
            "flag": pa.array([True, False, True]),
        }
    )
    pq.write_table(table, "a.parquet")
    frame = read_frame("a.parquet")
    assert frame.format == "parquet" and frame.line_offset is None
    assert frame.columns["label"].tolist() == ["cat", "dog", "cat"]
    assert frame.columns["flag"].tolist() == [1.0, 0.0, 1.0]
    assert frame.nulls["p"].tolist() == [False, True, False]
    assert list(read_frame("a.parquet", columns=["p"]).columns) == ["p"]


def test_streaming_batches(chdir_tmp):
    pq.write_table(pa.table({"p": list(range(10))}), "a.pq", row_group_size=4)
    names, chunks = iter_frames("a.pq", batch_rows=3)
    got = [(c.row_offset, c.columns["p"].tolist()) for c in chunks]
    assert names == ["p"]
    assert [r for r, _ in got] == sorted(r for r, _ in got)
    assert sum((v for _, v in got), []) == [float(i) for i in range(10)]


def test_truncated_parquet(chdir_tmp):
    pq.write_table(pa.table({"p": [0.5] * 100}), "a.parquet")
    data = open("a.parquet", "rb").read()
    write("cut.parquet", data[: len(data) // 2])
    message = error_of(read_frame, "cut.parquet")
    assert message.startswith("cut.parquet: not a valid Parquet file (")
    assert message.endswith(
        "). Check that the file is complete, or pass --input-format for another format."
    )


def test_no_rows(chdir_tmp):
    pq.write_table(pa.table({"p": pa.array([], pa.float64())}), "a.parquet")
    assert error_of(read_frame, "a.parquet") == "a.parquet: no rows."


def test_directory_dataset_skips_empty_files(chdir_tmp):
    os.mkdir("ds")
    pq.write_table(pa.table({"p": [0.1, 0.2]}), "ds/part-0.parquet")
    pq.write_table(pa.table({"p": pa.array([], pa.float64())}), "ds/part-1.parquet")
    pq.write_table(pa.table({"p": [0.3]}), "ds/part-2.parquet")
    write("ds/_SUCCESS", "")
    assert read_frame("ds").columns["p"].tolist() == [0.1, 0.2, 0.3]
    _, chunks = iter_frames("ds", batch_rows=10)
    assert [c.row_offset for c in chunks] == [0, 2]


def test_directory_with_mixed_schemas_names_the_file(chdir_tmp):
    os.mkdir("ds")
    pq.write_table(pa.table({"p": [0.1]}), "ds/a.parquet")
    pq.write_table(pa.table({"p": [1]}), "ds/b.parquet")
    assert error_of(read_frame, "ds") == (
        "ds/b.parquet: its columns differ from a.parquet: column 'p' is int64 here and double "
        "there. Give every file of the directory the same columns and types."
    )


def test_directory_of_empty_files_has_no_rows(chdir_tmp):
    os.mkdir("ds")
    pq.write_table(pa.table({"p": pa.array([], pa.float64())}), "ds/a.parquet")
    assert error_of(read_frame, "ds") == "ds: no rows in any of its Parquet files."


def test_other_directories_and_missing_paths(chdir_tmp):
    os.mkdir("d")
    write("d/a.csv", "p\n1\n")
    write("d/b.npy", "not read")  # a folder of CSV files alone is one table (SPEC §10)
    assert error_of(read_frame, "d") == (
        "d: is a directory. Pass a file, or a directory that holds only Parquet files "
        "(or only CSV files)."
    )
    assert error_of(read_frame, "nope.parquet") == (
        "nope.parquet: no such file or directory. Check the path."
    )


def test_permission_denied(chdir_tmp):
    write("a.csv", "p\n1\n")
    os.chmod("a.csv", 0)
    try:
        if os.access("a.csv", os.R_OK):  # root reads anything
            return
        assert error_of(read_frame, "a.csv") == (
            "a.csv: permission denied. Check the file's permissions."
        )
    finally:
        os.chmod("a.csv", 0o644)


def test_every_numeric_arrow_type_converts_exactly(chdir_tmp):
    # values are taken from the Arrow buffers (no pyarrow.compute), sliced and null slots too
    table = pa.table(
        {
            "i8": pa.array([-128, 0, None, 127], pa.int8()),
            "u64": pa.array([0, 2**53, 7, None], pa.uint64()),
            "i64": pa.array([-(2**40), 1, 2, 3], pa.int64()),
            "f16": pa.array([0.5, 1.5, -2.0, 0.0], pa.float16()),
            "f32": pa.array([0.1, 0.25, None, 1e30], pa.float32()),
            "flag": pa.array([True, None, False, True]),
        }
    )
    pq.write_table(table, "t.parquet", row_group_size=3)  # two row groups: chunked columns
    frame = read_frame("t.parquet")
    expected = {
        "i8": [-128.0, 0.0, None, 127.0],
        "u64": [0.0, 2.0**53, 7.0, None],
        "i64": [-(2.0**40), 1.0, 2.0, 3.0],
        "f16": [0.5, 1.5, -2.0, 0.0],
        "f32": [float(np.float32(0.1)), 0.25, None, float(np.float32(1e30))],
        "flag": [1.0, None, 0.0, 1.0],
    }
    for name, values in expected.items():
        got = frame.columns[name]
        # float32 and float16 keep their dtype: the engine clips at its ε (issue 9, float32)
        assert got.dtype == {"f16": np.float16, "f32": np.float32}.get(name, np.float64), name
        nulls = frame.nulls.get(name, np.zeros(4, bool)).tolist()
        assert nulls == [v is None for v in values], name
        assert [g for g, v in zip(got.tolist(), values, strict=True) if v is not None] == [
            v for v in values if v is not None
        ], name
    # a batch that starts inside a bit-packed byte
    sliced = list(iter_frames("t.parquet", batch_rows=1)[1])
    assert [c.columns["flag"][0] for c in sliced if not c.nulls.get("flag", [False])[0]] == [
        1.0,
        0.0,
        1.0,
    ]
