"""`lockstep._rechunk`: chunks of exactly `size` rows whatever frames the reader gives,
views of a frame where a chunk lies within it, a copy only of a chunk across frames."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.readers._frame import Frame
from losscli.readers.lockstep import _rechunk


def _frames(lengths):
    start = 0
    for n in lengths:
        values = np.arange(start, start + n, dtype=np.float64)
        nulls = {"x": values % 7 == 0}
        yield Frame("t", "csv", {"x": values}, n, None, start, nulls, {"x": "float"}, None)
        start += n


@pytest.mark.parametrize("lengths", [[10], [3, 3, 3, 1], [25, 7, 40, 1, 1, 9], [4, 0, 6], [37]])
def test_chunks_are_the_rows_in_order_of_exactly_size(lengths):
    frames = list(_frames(lengths))
    chunks = list(_rechunk(iter(frames), 10))
    total = sum(lengths)
    assert [c.n_rows for c in chunks] == [10] * (total // 10) + ([total % 10] if total % 10 else [])
    assert [c.row_offset for c in chunks] == list(range(0, total, 10))
    for c in chunks:
        want = np.arange(c.row_offset, c.row_offset + c.n_rows, dtype=np.float64)
        assert np.array_equal(c.columns["x"], want)
        assert np.array_equal(c.nulls["x"], want % 7 == 0)


def test_a_chunk_within_a_frame_is_a_view_and_one_across_frames_a_copy():
    frames = list(_frames([25, 40]))
    chunks = list(_rechunk(iter(frames), 10))
    first, second = frames[0].columns["x"], frames[1].columns["x"]
    assert np.shares_memory(chunks[0].columns["x"], first)  # rows 0-9
    assert np.shares_memory(chunks[1].columns["x"], first)  # rows 10-19
    across = chunks[2].columns["x"]  # rows 20-29: 5 of each frame
    assert not np.shares_memory(across, first) and not np.shares_memory(across, second)
    assert all(np.shares_memory(c.columns["x"], second) for c in chunks[3:])  # 30-64
