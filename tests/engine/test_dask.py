"""`losscli.dask.evaluate` on a real LocalCluster of worker processes (SPEC §10).

Every state crosses a pickle boundary (processes=True), and the results must equal
`losscli.evaluate` on the same rows in one process to a relative 1e-12, for every task,
with weights, slices and worst rows, however the rows are partitioned. One cluster for every
Dask test (`dask_client` in tests/conftest.py: its start-up costs seconds).
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import losscli
import losscli.dask
from losscli.errors import InputError

# one xdist worker runs this module (make test uses --dist loadgroup): one cluster, not two
pytestmark = pytest.mark.xdist_group("dask")

PARTITIONS = (1, 4, 9)


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client  # tests/conftest.py: one cluster for every Dask test


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(44)
    n = 2400
    p = rng.uniform(0.01, 0.99, n)
    logits = rng.normal(size=(n, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return pd.DataFrame(
        {
            "prob": p,
            "label": (rng.uniform(size=n) < p).astype(np.int64),
            "y_pred": rng.normal(size=n) * 3,
            "y_true": rng.normal(size=n) * 3,
            "p_cat": probs[:, 0],
            "p_dog": probs[:, 1],
            "p_owl": probs[:, 2],
            "animal": rng.choice(["cat", "dog", "owl"], n),
            "w": rng.uniform(0.2, 3.0, n),
            "region": rng.choice(["eu", "us", "apac", "latam"], n),
            "device": rng.choice(["ios", "web"], n),
        }
    )


CASES = {
    "binary": (["prob"], ["label"], {}),
    "regression": (["y_pred"], ["y_true"], {}),
    "multiclass": (["p_cat", "p_dog", "p_owl"], ["animal"], {}),
    "multiclass balanced": (["p_cat", "p_dog", "p_owl"], ["animal"], {"class_weight": "balanced"}),
}


def _close(a: float, b: float) -> bool:
    return a == pytest.approx(b, rel=1e-12, abs=1e-300)


def _same(got, ref) -> None:
    assert got.task == ref.task and got.n_samples == ref.n_samples
    assert got.losses.keys() == ref.losses.keys()
    for name, value in ref.losses.items():
        assert _close(got.losses[name], value), name
    for mine, theirs in zip(got.slices, ref.slices, strict=True):
        assert [g.key for g in mine.groups] == [g.key for g in theirs.groups]
        for g, h in zip(mine.groups, theirs.groups, strict=True):
            assert g.n_samples == h.n_samples and _close(g.sum_weights, h.sum_weights)
            for name, value in h.losses.items():
                assert _close(g.losses[name], value), (g.key, name)
    assert (got.worst is None) == (ref.worst is None)
    for mine, theirs in zip(got.worst or [], ref.worst or [], strict=True):
        assert mine["row"] == theirs["row"] and _close(mine["loss"], theirs["loss"])
        assert mine.get("device") == theirs.get("device")


@pytest.mark.parametrize("case", list(CASES))
def test_every_task_with_weights_slices_and_worst_rows(client, frames, case):
    preds, labels, extra = CASES[case]
    kw = dict(by=["region", ("region", "device")], worst=5, show_cols=["device"], **extra)
    ref = losscli.evaluate(
        frames[preds[0]] if len(preds) == 1 else frames[preds],
        frames[labels[0]],
        sample_weight=frames["w"],
        pred_names=preds,
        **{**kw, "by": frames[["region", "device"]], "slicings": ["region", ("region", "device")]},
    )
    for k in PARTITIONS:
        got = losscli.dask.evaluate(
            dd.from_pandas(frames, npartitions=k), preds, labels, weight_col="w", **kw
        )
        _same(got, ref)


def test_per_class_and_no_weights(client, frames):
    preds = ["p_cat", "p_dog", "p_owl"]
    ref = losscli.evaluate(frames[preds], frames["animal"], per_class=True)
    got = losscli.dask.evaluate(dd.from_pandas(frames, npartitions=5), preds, "animal",
                                per_class=True)  # fmt: skip
    _same(got, ref)
    assert [g.key for g in got.slices[0].groups] == [{"class": c} for c in ("cat", "dog", "owl")]


def test_a_bad_row_in_a_later_partition_is_an_input_error(client, frames):
    bad = frames[["prob", "label"]].copy()
    bad.loc[2000, "label"] = 2  # the task is binary from the first partition
    with pytest.raises(
        InputError, match="partition 3 of the Dask DataFrame, row 201: binary labels"
    ):
        losscli.dask.evaluate(dd.from_pandas(bad, npartitions=4), "prob", "label")
    with pytest.raises(InputError, match="no column 'nope'"):
        losscli.dask.evaluate(dd.from_pandas(bad, npartitions=2), "nope", "label")


# -- the CLI: --dask ADDRESS on this module's cluster ----------------------------------------


@pytest.fixture(scope="module")
def folder(frames, tmp_path_factory):
    """The frames as a Hive-partitioned Parquet folder of several files, and as CSV files."""
    root = tmp_path_factory.mktemp("dask_cli")
    for region, rows in frames.groupby("region"):
        (root / "pq" / f"region={region}").mkdir(parents=True)
        rows.drop(columns="region").iloc[:300].to_parquet(
            root / "pq" / f"region={region}" / "a.parquet"
        )
        rows.drop(columns="region").iloc[300:].to_parquet(
            root / "pq" / f"region={region}" / "b.parquet"
        )
    (root / "csv").mkdir()
    for i in range(3):
        frames.iloc[i * 800 : (i + 1) * 800].to_csv(root / "csv" / f"part-{i}.csv", index=False)
    return root


@pytest.mark.parametrize(
    "argv",
    [
        ["pq", "--pred-col", "prob", "--label-col", "label", "--weight-col", "w", "--by", "region",
         "--worst", "3", "--show-col", "device"],
        ["csv/part-*.csv", "--pred-col", "p_*", "--label-col", "animal", "--by", "region,device",
         "--per-class", "--class-weight", "balanced"],
    ],
)  # fmt: skip
def test_cli_dask_equals_one_process(client, folder, argv, monkeypatch):
    import json

    from tests.cli.conftest import invoke

    monkeypatch.chdir(folder)
    local = json.loads(invoke(["eval", *argv, "-f", "json", "-q"], expect=0).out)
    ran = invoke(["eval", *argv, "-f", "json", "-q", "--dask", client.scheduler.address], expect=0)
    remote = json.loads(ran.out)
    assert remote["n_samples"] == local["n_samples"]
    for name, value in local["losses"].items():
        assert _close(remote["losses"][name], value), name
    for mine, theirs in zip(remote["slices"], local["slices"], strict=True):
        for g, h in zip(mine["groups"], theirs["groups"], strict=True):
            assert g["key"] == h["key"] and g["n_samples"] == h["n_samples"]
            assert all(_close(g["losses"][k], v) for k, v in h["losses"].items())
    assert [w["row"] for w in remote.get("worst", [])] == [w["row"] for w in local.get("worst", [])]
    gate = ["check", *argv[:9], "--max", "bce=0.01", "-q", "--dask", client.scheduler.address]
    if "prob" in argv:
        assert "FAIL" in invoke(gate, expect=1).out


def test_cli_dask_errors_are_one_line(client, folder, monkeypatch):
    import socket

    from tests.cli.conftest import assert_usage_error, invoke

    monkeypatch.chdir(folder)
    monkeypatch.setattr("losscli.cli.dask_run.CONNECT_SECONDS", 1)  # the wait, not the check
    ran = invoke(["eval", "pq", "pq", "--dask", client.scheduler.address])
    assert_usage_error(*ran, "--dask reads one table")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    ran = invoke(
        [
            "eval",
            "pq",
            "--pred-col",
            "prob",
            "--label-col",
            "label",
            "--dask",
            f"tcp://127.0.0.1:{port}",
        ]
    )
    assert_usage_error(*ran, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert len(ran.err.strip().splitlines()) == 1


def test_compare_equals_compare_stream(client, frames):
    """`losscli.dask.compare` on 5 partitions against `losscli.compare_stream(method=
    'normal')` on the same rows: losses, d, interval and p-value of the whole and of every
    slice (d to 1e-12 of |d| or the interval's width, p to what d carries)."""
    k = 5
    import losscli.dask

    n = len(frames)
    chunks = [({"a": frames["prob"][i : i + 500], "b": frames["p_cat"][i : i + 500]},
               frames["label"][i : i + 500], frames["w"][i : i + 500],
               frames[["region"]].iloc[i : i + 500]) for i in range(0, n, 500)]  # fmt: skip
    ref = losscli.compare_stream(chunks, method="normal", by=["region"], holm=True)
    got = losscli.dask.compare(dd.from_pandas(frames, npartitions=k), {"a": "prob", "b": "p_cat"},
                               "label", by=["region"], weight_col="w", holm=True)  # fmt: skip
    for name in ("a", "b"):
        _same(got.models[name], ref.models[name])
    assert len(got.comparisons) == len(ref.comparisons) > 3
    for g, r in zip(got.comparisons, ref.comparisons, strict=True):
        assert (g.model, g.loss, g.slice) == (r.model, r.loss, r.slice)
        scale = max(abs(r.difference), r.ci[1] - r.ci[0])
        assert abs(g.difference - r.difference) <= 1e-12 * scale
        assert _close(g.ci[1] - g.ci[0], r.ci[1] - r.ci[0])
        se = (r.ci[1] - r.ci[0]) / 2 / 1.959963984540054
        assert abs(g.p_value - r.p_value) <= 1e-12 * scale / se
    with pytest.raises(InputError, match="the bootstrap cannot run on Dask"):
        losscli.dask.compare(dd.from_pandas(frames, npartitions=2), {"a": "prob", "b": "p_cat"},
                             "label", method="bootstrap")  # fmt: skip
