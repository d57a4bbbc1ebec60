"""Feather v2 / Arrow IPC files and streams."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.feather as feather
from conftest import error_of, write

from losscli.readers import iter_frames, read_frame


def test_feather_file_compressed(chdir_tmp):
    feather.write_feather(
        pa.table({"p": [0.5, 0.25], "y": [1, 0]}), "a.feather", compression="zstd"
    )
    frame = read_frame("a.feather", columns=["y"])
    assert frame.format == "feather" and list(frame.columns) == ["y"]
    assert frame.columns["y"].tolist() == [1.0, 0.0]


def test_ipc_stream_and_chunks(chdir_tmp):
    table = pa.table({"p": [float(i) for i in range(7)]})
    with pa.OSFile("a.arrow", "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=3)
    names, chunks = iter_frames("a.arrow", batch_rows=2)
    got = [(c.row_offset, c.n_rows) for c in chunks]
    assert names == ["p"] and got == [(0, 2), (2, 1), (3, 2), (5, 1), (6, 1)]


def test_corrupt_feather(chdir_tmp):
    feather.write_feather(pa.table({"p": [0.5] * 50}), "a.feather")
    data = open("a.feather", "rb").read()
    write("cut.feather", data[:60])
    message = error_of(read_frame, "cut.feather")
    assert message.startswith("cut.feather: not a valid Feather/Arrow IPC file (")
    assert message.endswith(
        "). Check that the file is complete, or pass --input-format for another format."
    )
