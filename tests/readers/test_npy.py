"""NPY/NPZ: shapes, memory mapping, and crafted or pickled files that must be refused."""

from __future__ import annotations

import pickle
import struct
import zipfile

import numpy as np
import pytest
from conftest import error_of, write

from losscli.readers import iter_frames, open_table, read_frame


class Evil:
    """Unpickling this creates a marker file: the proof that something was unpickled."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def npy_bytes(header: str, data: bytes = b"", version: int = 1) -> bytes:
    raw = header.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(raw)) + raw + data


def test_one_and_two_dimensional_arrays(chdir_tmp):
    np.save("a.npy", np.array([0.5, 0.25], dtype=np.float32))
    frame = read_frame("a.npy")
    assert frame.format == "npy" and frame.line_offset is None
    # float32 keeps its dtype: the engine clips at its ε (issue 9, float32)
    assert list(frame.columns) == ["0"] and frame.columns["0"].dtype == np.float32
    matrix = np.arange(6, dtype=np.int64).reshape(3, 2)
    np.save("b.npy", np.asfortranarray(matrix))
    frame = read_frame("b.npy")
    assert list(frame.columns) == ["0", "1"]
    assert frame.columns["1"].tolist() == [1.0, 3.0, 5.0]


def test_file_is_memory_mapped_and_streams(chdir_tmp):
    np.save("a.npy", np.arange(10.0))
    assert isinstance(open_table("a.npy").array, np.memmap)
    names, chunks = iter_frames("a.npy", batch_rows=4)
    chunks = list(chunks)
    assert names == ["0"]
    assert [(c.row_offset, c.n_rows) for c in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert chunks[2].columns["0"].tolist() == [8.0, 9.0]


def test_pickled_array_is_refused_and_nothing_is_unpickled(chdir_tmp):
    marker = chdir_tmp / "unpickled"
    Evil.marker = str(marker)
    array = np.array([Evil(), 1], dtype=object)
    np.save("evil.npy", array, allow_pickle=True)
    # The test can fail: unpickling this payload does create the marker.
    pickle.loads(pickle.dumps(Evil()))
    assert marker.exists()
    marker.unlink()
    assert error_of(read_frame, "evil.npy") == (
        "evil.npy: pickled arrays are not supported (the array has dtype object). "
        "Save a numeric array, e.g. np.save(path, arr.astype(float))."
    )
    np.savez("evil.npz", a=array)
    assert error_of(read_frame, "evil.npz").startswith(
        "evil.npz[a]: pickled arrays are not supported"
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }",
            "NPY header has an invalid shape (True,)",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",
            "NPY header has an invalid shape (-1,)",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2**64,), }",
            "NPY header is malformed (ValueError)",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,), }",
            "the NPY header declares 147573952589676412928 bytes of data (shape "
            "(18446744073709551616,), float64) but the file holds 8: it is truncated or crafted",
        ),
        (
            "{'descr': 'zz9', 'fortran_order': False, 'shape': (1,), }",
            "NPY header has an invalid descr 'zz9' (TypeError)",
        ),
        (
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }",
            "NPY header has an invalid fortran_order",
        ),
        (
            "{'descr': '<f8', 'shape': (1,), }",
            "NPY header is malformed (expected keys descr, fortran_order, shape)",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), ",
            "NPY header is malformed (SyntaxError)",
        ),
        ("(" * 5000 + ")" * 5000, "NPY header is malformed (SyntaxError)"),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            "the NPY header declares 24 bytes of data (shape (3,), float64) but the file holds 8: "
            "it is truncated or crafted",
        ),
    ],
)
def test_crafted_headers_are_input_errors(chdir_tmp, header, problem):
    write("x.npy", npy_bytes(header, b"\x00" * 8))
    assert error_of(read_frame, "x.npy") == f"x.npy: {problem}."


def test_oversized_and_truncated_headers(chdir_tmp):
    write("big.npy", npy_bytes("{" + " " * 20000 + "}", version=2))
    assert error_of(read_frame, "big.npy") == (
        "big.npy: NPY header is 20002 bytes, more than 10000: the file is damaged or crafted."
    )
    write("cut.npy", b"\x93NUMPY\x01\x00\xff\x00{'descr'")
    assert error_of(read_frame, "cut.npy") == "cut.npy: NPY header is truncated."


def test_shapes_other_than_one_or_two_dimensions(chdir_tmp):
    np.save("s.npy", np.float64(1.0))
    np.save("c.npy", np.zeros((2, 2, 2)))
    hint = "Save a 1-D array (n,) for one value per row or a 2-D array (n, k) for k columns."
    assert error_of(read_frame, "s.npy") == (
        f"s.npy: holds a 0-d scalar; expected shape (n,) or (n, k). {hint}"
    )
    assert error_of(read_frame, "c.npy") == (
        f"c.npy: holds shape (2, 2, 2); expected shape (n,) or (n, k). {hint}"
    )
    np.save("e.npy", np.zeros(0))
    assert error_of(read_frame, "e.npy") == "e.npy: no rows (the array has shape (0,))."


def test_unsupported_dtypes(chdir_tmp):
    np.save("c.npy", np.zeros(2, dtype=complex))
    assert error_of(read_frame, "c.npy") == (
        "c.npy: arrays of dtype complex128 are not supported; expected numbers or text. "
        "Save a numeric array, e.g. np.save(path, arr.astype(float))."
    )
    np.save("t.npy", np.array(["cat", "dog"]))
    assert read_frame("t.npy").columns["0"].tolist() == ["cat", "dog"]


def test_npz_arrays_side_by_side(chdir_tmp):
    np.savez("a.npz", p=np.ones((3, 2)), y=np.array([0, 1, 1]))
    frame = read_frame("a.npz")
    assert frame.format == "npz"
    assert list(frame.columns) == ["p_0", "p_1", "y"]
    assert frame.columns["y"].tolist() == [0.0, 1.0, 1.0]
    assert list(read_frame("a.npz", key="p").columns) == ["0", "1"]


def test_npz_needs_a_key_when_lengths_differ(chdir_tmp):
    np.savez("a.npz", preds=np.ones(3), meta=np.ones(2))
    assert error_of(read_frame, "a.npz") == (
        "a.npz: holds several arrays of different lengths: preds (3,), meta (2,). "
        "Pass --key to choose one, e.g. --key preds."
    )
    assert error_of(read_frame, "a.npz", key="pred") == (
        "a.npz: no array 'pred'; arrays are preds, meta (did you mean 'preds'?). Pass --key preds."
    )


def test_npz_member_declaring_more_than_it_holds(chdir_tmp):
    with zipfile.ZipFile("a.npz", "w") as zf:
        zf.writestr(
            "x.npy",
            npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"),
        )
    assert error_of(read_frame, "a.npz") == (
        "a.npz[x]: the NPY header declares 8000000000000 bytes of data (shape (1000000000000,), "
        "float64) but the file holds 0: it is truncated or crafted."
    )


def test_corrupt_npz(chdir_tmp):
    np.savez("a.npz", y=np.ones(3))
    data = open("a.npz", "rb").read()
    write("b.npz", data[:30])
    assert error_of(read_frame, "b.npz") == (
        "b.npz: not a valid NPZ file (File is not a zip file)."
    )
