"""Local folders and globs of CSV or Parquet files are one table in file-name order (SPEC §10).

The same rows in one file and split over several files (and Hive partition folders) give
the same numbers; scikit-learn's log_loss is the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from tests.cli.conftest import assert_usage_error, invoke


@pytest.fixture
def frame(chdir_tmp):
    rng = np.random.default_rng(3)
    n = 900
    p = rng.uniform(0.05, 0.95, n)
    return pd.DataFrame({"prob": p, "label": (rng.uniform(size=n) < p).astype(int),
                         "region": rng.choice(["eu", "us"], n)})  # fmt: skip


def _bce(*argv):
    ran = invoke(["eval", *argv, "--pred-col", "prob", "--label-col", "label", "-l", "bce",
                  "-f", "json", "-q"], expect=0)  # fmt: skip
    return json.loads(ran.out)


def test_a_csv_folder_and_a_glob_are_the_files_in_name_order(frame):
    os.mkdir("parts")
    for i in range(3):  # part-10 sorts before part-2: name order, not number order
        frame.iloc[i * 300 : (i + 1) * 300].to_csv(f"parts/part-{(0, 2, 10)[i]}.csv", index=False)
    order = pd.concat([frame.iloc[0:300], frame.iloc[600:900], frame.iloc[300:600]])
    for path in ("parts", "parts/*.csv"):
        report = _bce(path, "--worst", "1")
        assert report["losses"]["bce"] == pytest.approx(
            log_loss(frame.label, frame.prob), rel=1e-12
        )
        losses = -np.log(np.where(order.label == 1, order.prob, 1 - order.prob))
        assert report["worst"][0]["row"] == int(np.argmax(losses)) + 1


def test_hive_csv_folders_and_parquet_globs_add_their_keys(frame):
    for name, rows in frame.groupby("region"):
        os.makedirs(f"csv/region={name}")
        rows.drop(columns="region").to_csv(f"csv/region={name}/part-0.csv", index=False)
        os.makedirs(f"pq/region={name}")
        rows.drop(columns="region").to_parquet(f"pq/region={name}/part-0.parquet")
    for path in ("csv", "pq/region=*/*.parquet"):
        report = _bce(path, "--by", "region")
        for group in report["slices"][0]["groups"]:
            rows = frame[frame.region == group["key"]["region"]]
            assert group["losses"]["bce"] == pytest.approx(
                log_loss(rows.label, rows.prob), rel=1e-12
            )


def test_files_that_do_not_make_one_table(frame):
    os.mkdir("mixed")
    frame.to_csv("mixed/a.csv", index=False)
    frame.to_parquet("mixed/b.parquet")
    ran = invoke(["eval", "mixed/*", "-l", "bce"])
    assert_usage_error(*ran, "mixed/*: a folder or pattern is read as one table", "csv, parquet")
    os.mkdir("headers")
    frame.to_csv("headers/a.csv", index=False)
    frame[["label", "prob", "region"]].to_csv("headers/b.csv", index=False)
    ran = invoke(["eval", "headers", "-l", "bce"])
    assert_usage_error(
        *ran, "headers/b.csv: its header (label, prob, region) differs from that of a.csv"
    )
    ran = invoke(["eval", "nothing/*.csv", "-l", "bce"])
    assert_usage_error(*ran, "nothing/*.csv: the pattern matches no file")


def test_help_and_version_import_neither_fsspec_nor_dask():
    code = (
        "import sys\nfrom losscli.cli import run\n"
        "for argv in (['--version'], ['--help'], ['eval', '--help']): run(argv)\n"
        "print(sorted(m for m in ('fsspec', 's3fs', 'dask', 'distributed') if m in sys.modules))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip().splitlines()[-1] == "[]", ran.stderr
