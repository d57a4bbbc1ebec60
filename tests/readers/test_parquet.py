"""Parquet files and directories of Parquet files."""

from __future__ import annotations

import os

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
    assert error_of(read_frame, "d") == (
        "d: is a directory. Pass a file, or a directory that holds only Parquet files."
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
