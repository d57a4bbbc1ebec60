"""Parquet read by byte ranges fetched ahead (`losscli.readers.ranges`), as URLs are read.

fsspec's local file system serves the ranges here (the same `cat_ranges` calls a store
gets); tests/cli/test_remote.py reads the same way through a real S3 server. Units and
the read-ahead window are made small so that a file is many units and the window fills.
"""

from __future__ import annotations

import threading

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from losscli.readers import ranges


@pytest.fixture
def table_file(tmp_path):
    rng = np.random.default_rng(3)
    n = 50_000
    table = pa.table({
        "prob": rng.uniform(size=n),
        "skip": rng.normal(size=n),  # a column not asked for, between two that are
        "label": rng.integers(0, 2, n).astype(np.float64),
        "name": pa.array([f"r{i % 97}" for i in range(n)]),  # dictionary-encoded chunks
    })  # fmt: skip
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=3_000)
    return str(path), table


def _read(path, columns, batch_rows=4_096, **ahead):
    fs = fsspec.filesystem("file")
    size = fs.size(path)
    (md,), _ = ranges.footers(fs, [path], [size])
    todo = ranges.units(0, path, md, columns)
    got = list(ranges.batches(fs, [(size, md)], todo, columns, batch_rows))
    return pa.Table.from_batches([b for _, b in got]), todo, md


def test_units_cover_each_requested_column_chunk_once_in_order(table_file, monkeypatch):
    path, _ = table_file
    monkeypatch.setattr(ranges, "UNIT", 100_000)  # a few row groups per unit
    md = pq.ParquetFile(path).metadata
    todo = ranges.units(0, path, md, ["prob", "name"])
    groups = [g for u in todo for g in u.row_groups]
    assert groups == list(range(md.num_row_groups)) and len(todo) > 3
    for unit in todo:
        assert unit.nbytes <= 100_000 or len(unit.row_groups) == 1
        for g in unit.row_groups:
            for j in (0, 3):  # prob, name; not skip (1) or label (2)
                start, end = ranges._chunk_range(md.row_group(g).column(j))
                assert any(s <= start and end <= e
                           for s, e in zip(unit.starts, unit.ends, strict=True))  # fmt: skip
    # the column between two requested ones is not fetched: its bytes are a gap > GAP
    first = todo[0]
    skip = ranges._chunk_range(md.row_group(0).column(1))
    assert not any(
        s <= skip[0] and skip[1] <= e for s, e in zip(first.starts, first.ends, strict=True)
    )


@pytest.mark.parametrize("columns", [["prob", "label"], ["name", "prob"], None])
def test_batches_are_pyarrows_rows_whatever_the_window(table_file, monkeypatch, columns):
    path, table = table_file
    monkeypatch.setattr(ranges, "UNIT", 60_000)
    monkeypatch.setattr(ranges, "AHEAD", 130_000)  # two units ahead, then the window is full
    got, todo, _ = _read(path, columns)
    assert len(todo) > 5
    want = pq.read_table(path, columns=columns)
    assert got.equals(want)


def test_a_footer_larger_than_the_tail_takes_a_second_request(tmp_path, monkeypatch):
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [float(i)] for i in range(300)}), path)
    size = path.stat().st_size
    monkeypatch.setattr(ranges, "TAIL", 512)
    (md,), _ = ranges.footers(fsspec.filesystem("file"), [str(path)], [size])
    assert md.serialized_size > 512 and md.equals(pq.ParquetFile(path).metadata)


def test_not_parquet_and_a_missing_object_are_failed_with_the_objects_place(tmp_path):
    fs = fsspec.filesystem("file")
    good, bad = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"x": [1.0]}), good)
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ranges.Failed) as failed:
        ranges.footers(fs, [str(good), str(bad)], [good.stat().st_size, bad.stat().st_size])
    assert failed.value.file == 1 and not failed.value.fetching
    assert "magic" in str(failed.value)
    with pytest.raises(ranges.Failed) as failed:
        ranges.footers(fs, [str(good), str(tmp_path / "gone.parquet")], [good.stat().st_size, 10])
    assert failed.value.file == 1 and failed.value.fetching
    assert isinstance(failed.value.error, FileNotFoundError)


def test_a_truncated_object_fails_where_its_unit_is_decoded(table_file, tmp_path, monkeypatch):
    path, _ = table_file
    monkeypatch.setattr(ranges, "UNIT", 60_000)
    fs = fsspec.filesystem("file")
    md = pq.ParquetFile(path).metadata
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(open(path, "rb").read()[: fs.size(path) // 2])  # the footer is gone too
    todo = ranges.units(0, str(cut), md, ["prob"])
    with pytest.raises(ranges.Failed) as failed:
        for _ in ranges.batches(fs, [(fs.size(path), md)], todo, ["prob"], 4096):
            pass
    assert failed.value.file == 0


def test_an_abandoned_read_stops_fetching(table_file, monkeypatch):
    path, _ = table_file
    monkeypatch.setattr(ranges, "UNIT", 30_000)
    monkeypatch.setattr(ranges, "AHEAD", 60_000)
    fs = fsspec.filesystem("file")
    fetched = []
    real = ranges.fetch

    def counting(fs, unit, size=None):
        fetched.append(unit)
        return real(fs, unit, size)

    monkeypatch.setattr(ranges, "fetch", counting)
    size = fs.size(path)
    md = pq.ParquetFile(path).metadata
    todo = ranges.units(0, path, md, ["prob", "label"])
    reader = ranges.batches(fs, [(size, md)], todo, ["prob", "label"], 1024)
    next(reader)
    reader.close()
    for t in threading.enumerate():
        if t.name.startswith("losscli-fetch"):
            t.join(timeout=10)
    assert not [t for t in threading.enumerate() if t.name.startswith("losscli-fetch")]
    # the window bounds what was fetched: the unit read and those within AHEAD bytes of it
    assert len(fetched) <= 4 < len(todo)


def test_spans_serve_fetched_bytes_and_fetch_the_rest(tmp_path):
    path = tmp_path / "b.bin"
    path.write_bytes(bytes(range(256)) * 4)
    spans = ranges.Spans(fsspec.filesystem("file"), str(path), 1024, {100: bytes(range(100, 200))})
    spans.seek(120)
    assert bytes(spans.read(10)) == bytes(range(120, 130))
    assert spans.tell() == 130
    spans.seek(-4, 2)
    assert bytes(spans.read()) == bytes(range(252, 256))  # outside the spans: fetched
    spans.seek(195)
    assert bytes(spans.read(10)) == bytes(range(195, 205))  # across a span's end: fetched
    assert spans.read(5) == b"" or spans.tell() == 210


class _Answers:
    """A store that answers every range with the whole object (as a web server without
    range support does), or with `cut` bytes too few."""

    def __init__(self, root_fs, cut=0):
        self.root, self.cut = root_fs, cut
        self.calls = 0

    def cat_ranges(self, paths, starts, ends, on_error="raise"):
        self.calls += 1
        return [self._answer(p, s, e) for p, s, e in zip(paths, starts, ends, strict=True)]

    def cat_file(self, path, start=None, end=None):
        return self._answer(path, start, end)

    def _answer(self, path, start, end):
        if self.cut:
            return self.root.cat_file(path, start=start, end=end)[: -self.cut]
        return self.root.cat_file(path)


def test_an_object_sent_whole_is_read_from_memory_not_fetched_again(table_file):
    path, table = table_file
    fs = _Answers(fsspec.filesystem("file"))
    size = fsspec.filesystem("file").size(path)
    (md,), whole = ranges.footers(fs, [path], [size])
    assert list(whole) == [0] and len(whole[0]) == size
    todo = ranges.units(0, path, md, ["prob", "label"])
    calls = fs.calls
    got = [b for _, b in ranges.batches(fs, [(size, md)], todo, ["prob", "label"], 4096, whole)]
    assert pa.Table.from_batches(got).equals(table.select(["prob", "label"]))
    assert fs.calls == calls  # no request more: the units came from the whole object
    # a unit answered whole (no footer seen first, as on a Dask worker) is cut to its range
    assert ranges.fetch(fs, todo[0], size) == ranges.fetch(fsspec.filesystem("file"), todo[0])


def test_an_answer_of_another_length_is_an_error_not_misread_bytes(table_file):
    path, _ = table_file
    fs = _Answers(fsspec.filesystem("file"), cut=3)
    size = fsspec.filesystem("file").size(path)
    with pytest.raises(ranges.Failed) as failed:
        ranges.footers(fs, [path], [size])
    assert failed.value.fetching and "the object changed" in str(failed.value)
    md = pq.ParquetFile(path).metadata
    todo = ranges.units(0, path, md, ["prob"])
    with pytest.raises(ranges.Failed) as failed:
        list(ranges.batches(fs, [(size, md)], todo, ["prob"], 4096))
    assert failed.value.fetching and "bytes for the byte range" in str(failed.value)


def test_nested_and_dotted_columns_fetch_their_own_leaves(tmp_path, monkeypatch):
    """A struct, a list and a map are several leaf columns; 'a.b' is a column's name."""
    table = pa.table({
        "s": pa.array([{"x": 1.0, "y": [1, 2]}, {"x": 2.0, "y": []}] * 500),
        "a.b": pa.array([0.5, 0.25] * 500),
        "m": pa.array([[("k", 1.0)], []] * 500, pa.map_(pa.string(), pa.float64())),
        "l": pa.array([[1.0], [2.0, 3.0]] * 500),
        "label": pa.array([1.0, 0.0] * 500),
    })  # fmt: skip
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path, row_group_size=300)
    md = pq.ParquetFile(path).metadata
    assert md.num_columns == 7  # s.x, s.y.list.element, a.b, m.key, m.value, l, label
    fetched = []
    real = ranges.Spans.read

    def spy(self, n=-1):
        start = self.pos
        stop = self.size if n is None or n < 0 else min(self.size, start + n)
        if start < stop and not any(a <= start and stop <= a + len(d) for a, d in self.parts):
            fetched.append((start, stop))  # a read outside what was fetched ahead
        return real(self, n)

    monkeypatch.setattr(ranges.Spans, "read", spy)
    for columns in (["a.b", "label"], ["s", "l"], ["m"], None):
        got, todo, _ = _read(str(path), columns, batch_rows=128)
        assert got.equals(pq.read_table(path, columns=columns))
        width = {"a.b": 1, "label": 1, "s": 2, "l": 1, "m": 2}
        want = sum(width[c] for c in columns or width)
        assert sum(len(u.starts) for u in todo[:1]) <= want  # merged, never more requests
    assert not fetched
