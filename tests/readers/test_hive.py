"""Hive-partitioned Parquet folders: partition keys are columns, usable by --by (SPEC §8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import log_loss

from tests.cli.conftest import invoke


def _write(root: Path, parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    for folder, (p, y) in parts.items():
        os.makedirs(root / folder, exist_ok=True)
        pq.write_table(pa.table({"prob": p, "label": y}), root / folder / "part-0.parquet")
    (root / "_SUCCESS").write_text("")


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(5)
    parts = {}
    for folder, n in (
        ("region=eu", 40),
        ("region=us", 25),
        ("region=__HIVE_DEFAULT_PARTITION__", 9),
    ):
        p = rng.uniform(0.05, 0.95, n)
        parts[folder] = (p, (rng.uniform(size=n) < p).astype(np.int64))
    _write(tmp_path / "data", parts)
    return tmp_path / "data", parts


def test_partition_column_slices_equal_each_folder_alone(dataset) -> None:
    root, parts = dataset
    out = invoke(["eval", root, "--by", "region", "-l", "bce", "-f", "json"])
    assert out.code == 0, out.err
    doc = json.loads(out.out)
    groups = {g["key"]["region"]: g for g in doc["slices"][0]["groups"]}
    assert set(groups) == {"eu", "us", None}  # the default partition is null, listed last
    assert doc["slices"][0]["groups"][-1]["key"] == {"region": None}
    folder = {"eu": "region=eu", "us": "region=us", None: "region=__HIVE_DEFAULT_PARTITION__"}
    for key, g in groups.items():
        p, y = parts[folder[key]]
        assert g["n_samples"] == len(y)
        assert g["losses"]["bce"] == pytest.approx(log_loss(y, p), rel=1e-12)
    # rows in folder-name order: region=__HIVE_DEFAULT_PARTITION__ < region=eu < region=us
    whole_p = np.concatenate([parts[f][0] for f in sorted(parts)])
    whole_y = np.concatenate([parts[f][1] for f in sorted(parts)])
    assert doc["losses"]["bce"] == pytest.approx(log_loss(whole_y, whole_p), rel=1e-12)


def test_partition_keys_that_differ_between_files_are_an_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.9, 5)
    y = np.array([0, 1, 0, 1, 1])
    _write(tmp_path / "d", {"region=eu": (p, y), "device=ios": (p, y)})
    code, _, err = invoke(["eval", tmp_path / "d", "--by", "region"])
    assert code == 2
    assert err.startswith("error:") and "partition folders" in err and err.count("\n") == 1


def test_worst_rows_count_rows_across_the_files(dataset) -> None:
    root, parts = dataset
    out = invoke(["eval", root, "-l", "bce", "--worst", "1", "--show-col", "region", "-f", "json"])
    doc = json.loads(out.out)
    whole_p = np.concatenate([parts[f][0] for f in sorted(parts)])
    whole_y = np.concatenate([parts[f][1] for f in sorted(parts)])
    ell = -(whole_y * np.log(whole_p) + (1 - whole_y) * np.log(1 - whole_p))
    i = int(np.argmax(ell))
    assert doc["worst"][0]["row"] == i + 1
    assert doc["worst"][0]["loss"] == pytest.approx(ell[i], rel=1e-12)


def test_a_folder_that_is_not_a_partition_is_an_error_not_rows_left_out(tmp_path: Path) -> None:
    """Files in a plain folder beside key=value folders are no partition's rows: leaving
    them out silently would give the numbers of part of the table."""
    table = pa.table({"prob": [0.2, 0.9], "label": [0, 1]})
    for folder in ("region=eu", "extra", "region=us/sub"):
        (tmp_path / folder).mkdir(parents=True)
        pq.write_table(table, tmp_path / folder / "p.parquet")
    (tmp_path / "_temporary").mkdir()  # Spark's bookkeeping stays ignored
    pq.write_table(table, tmp_path / "_temporary" / "p.parquet")
    ran = invoke(["eval", str(tmp_path), "-q"])
    assert ran.code == 2 and len(ran.err.strip().splitlines()) == 1
    assert ran.err.startswith(f"error: {tmp_path / 'extra'}: this folder inside the dataset")
    (tmp_path / "extra" / "p.parquet").unlink()
    (tmp_path / "extra").rmdir()
    ran = invoke(["eval", str(tmp_path), "-q"])
    assert ran.err.startswith(f"error: {tmp_path / 'region=us' / 'sub'}: this folder inside")


def test_a_partition_key_that_is_also_a_column_says_which_is_read(tmp_path: Path) -> None:
    (tmp_path / "pq" / "region=eu").mkdir(parents=True)
    table = pa.table({"prob": [0.2, 0.8], "label": [0, 1], "region": ["us", "us"]})
    pq.write_table(table, tmp_path / "pq" / "region=eu" / "p.parquet")
    (tmp_path / "csv" / "region=eu").mkdir(parents=True)
    table.to_pandas().to_csv(tmp_path / "csv" / "region=eu" / "p.csv", index=False)
    for folder in (tmp_path / "pq", tmp_path / "csv"):
        ran = invoke(["eval", str(folder), "--pred-col", "prob", "--by", "region", "-f", "json"],
                     expect=0)  # fmt: skip
        assert [g["key"]["region"] for g in json.loads(ran.out)["slices"][0]["groups"]] == ["us"]
        assert "'region' is a column of the files and a key of the partition folders" in ran.err
