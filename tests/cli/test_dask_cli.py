"""`--dask` end to end on a real LocalCluster of worker processes (SPEC §10): `compare`,
partitions finer than files (Parquet row groups, CSV byte blocks), and the failures that
must each end in one `error:` line.

Every result is checked against the same command run in one process, on the same files.
The partition sizes are lowered (`PARTITION_VALUES`, `CSV_BLOCK`) so that small files cut
into several partitions, as large ones do; the client plans the partitions, in this
process. The cluster is `dask_client` (tests/conftest.py), shared by every Dask test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import assert_usage_error, invoke

pytestmark = pytest.mark.xdist_group("dask")

N = 3000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Binary and multiclass scores of N rows: one Parquet file of 5 row groups, the same
    rows as one CSV file, and a Hive-partitioned Parquet folder."""
    rng = np.random.default_rng(12)
    p = rng.uniform(0.02, 0.98, N)
    logits = rng.normal(size=(N, 3)) * 1.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    other = np.exp(logits + rng.normal(0, 0.6, (N, 3)))
    other /= other.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {
            "old": p,
            "new": np.clip(p + rng.normal(0, 0.15, N), 0.01, 0.99),
            "label": (rng.uniform(size=N) < p).astype(np.int64),
            "w": rng.uniform(0.5, 2.0, N),
            "region": rng.choice(["eu", "us", "apac"], N),
            "device": rng.choice(["ios", "web"], N),
            **{f"a_{c}": probs[:, i] for i, c in enumerate(["cat", "dog", "owl"])},
            **{f"b_{c}": other[:, i] for i, c in enumerate(["cat", "dog", "owl"])},
            "animal": np.array(["cat", "dog", "owl"])[[rng.choice(3, p=row) for row in probs]],
        }
    )
    root = tmp_path_factory.mktemp("dask_parts")
    frame.to_parquet(root / "scores.parquet", row_group_size=600)  # 5 row groups
    frame.to_csv(root / "scores.csv", index=False)
    return root


@pytest.fixture
def small_parts(monkeypatch, files):
    """Partitions of about 600 rows: every row group of the Parquet file, and CSV blocks
    of 40 kB (the CSV file is about 200 kB)."""
    monkeypatch.setattr("losscli.readers.partitions.PARTITION_VALUES", 500)
    monkeypatch.setattr("losscli.readers.partitions.CSV_BLOCK", 40_000)
    monkeypatch.chdir(files)


def _close(a, b, scale=None) -> bool:
    """Equal to a relative 1e-12 (of `scale`, when the numbers are differences of it)."""
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return a == b or (isinstance(a, float) and math.isnan(a))
    return abs(a - b) <= 1e-12 * abs(scale if scale is not None else b) + 1e-300


def _run(argv, dask_client):
    local = json.loads(invoke([*argv, "-f", "json", "-q"], expect=0).out)
    ran = invoke([*argv, "-f", "json", "-q", "--dask", dask_client.scheduler.address], expect=0)
    return local, json.loads(ran.out)


def _same_comparisons(local, remote) -> None:
    """The models' losses, then every comparison: d (to a relative 1e-12 of the larger
    of |d| and the interval's width), the interval's half-width, and the p-values."""
    assert remote["models"].keys() == local["models"].keys()
    for name, model in local["models"].items():
        for loss, value in model["losses"].items():
            assert _close(remote["models"][name]["losses"][loss], value), (name, loss)
    assert len(remote["comparisons"]) == len(local["comparisons"]) > 0
    for got, want in zip(remote["comparisons"], local["comparisons"], strict=True):
        where = (want["model"], want["loss"], want.get("slice"))
        assert (got["model"], got["loss"], got.get("slice")) == where
        assert got["method"] == want["method"] == "normal"
        scale = max(abs(want["difference"]), abs(want["ci"][1] - want["ci"][0]))
        assert _close(got["difference"], want["difference"], scale), where
        half = (want["ci"][1] - want["ci"][0]) / 2
        assert _close((got["ci"][1] - got["ci"][0]) / 2, half), where
        # p = erfc(|d| / (se·√2)) moves by at most 0.8·Δd/se: p carries d's precision
        # (d = loss_B − loss_A cancels, so p cannot be closer than d is)
        se = half / 1.959963984540054
        for key in ("p_value", "p_value_holm"):
            if want.get(key) is not None:
                assert abs(got[key] - want[key]) <= 1e-12 * scale / se, (where, key)


SLICED = ["--by", "region", "--by", "region,device", "--holm"]


# without --by: test_losscli_dask_local_starts_its_own_cluster
@pytest.mark.parametrize(("table", "by"), [("scores.parquet", SLICED), ("scores.csv", SLICED)])
def test_compare_dask_equals_one_process(dask_client, small_parts, table, by):
    argv = ["compare", table, "--model-col", "old=old", "--model-col", "new=new",
            "--label-col", "label", "--weight-col", "w", "--method", "normal", *by]  # fmt: skip
    local, remote = _run(argv, dask_client)
    _same_comparisons(local, remote)
    if by:
        assert any(
            c.get("slice") == {"region": "eu", "device": "web"} for c in remote["comparisons"]
        )


def test_compare_dask_multiclass_balanced(dask_client, small_parts):
    """Balanced class weights count the classes in a pass of their own on the cluster."""
    argv = ["compare", "scores.parquet", "--model-col", "a=a_*", "--model-col", "b=b_*",
            "--label-col", "animal", "--class-weight", "balanced", "--method", "normal",
            "--per-class"]  # fmt: skip
    local, remote = _run(argv, dask_client)
    _same_comparisons(local, remote)


@pytest.mark.parametrize("table", ["scores.parquet", "scores.csv"])
def test_eval_on_row_groups_and_csv_blocks(dask_client, small_parts, table):
    """One file cut into several partitions: the same losses, slices and worst rows (their
    row numbers across the partitions) as one process."""
    from losscli.cli.dask_run import opened
    from losscli.readers.partitions import plan

    t, _, _ = opened(table, {"pred_cols": ["old"], "label_cols": ["label"]})
    parts, _ = plan(t, ["old", "label"], {})
    assert len(parts) == 5 if table.endswith("parquet") else len(parts) >= 4
    argv = ["eval", table, "--pred-col", "old", "--label-col", "label", "--weight-col", "w",
            "--by", "region", "--worst", "7", "--show-col", "device"]  # fmt: skip
    local, remote = _run(argv, dask_client)
    for loss, value in local["losses"].items():
        assert _close(remote["losses"][loss], value), loss
    for mine, theirs in zip(remote["slices"], local["slices"], strict=True):
        for g, h in zip(mine["groups"], theirs["groups"], strict=True):
            assert g["key"] == h["key"] and g["n_samples"] == h["n_samples"]
            assert all(_close(g["losses"][k], v) for k, v in h["losses"].items())
    assert [(w["row"], w["device"]) for w in remote["worst"]] == [
        (w["row"], w["device"]) for w in local["worst"]
    ]


def test_csv_blocks_error_names_the_file_row(dask_client, small_parts, files, tmp_path):
    """A bad cell in a late block is found from the start of the file: its row and line."""
    text = (files / "scores.csv").read_text().splitlines()  # a bad cell in a late block
    cells = text[2501].split(",")
    cells[0] = "oops"
    text[2501] = ",".join(cells)
    (tmp_path / "bad.csv").write_text("\n".join(text) + "\n")
    argv = ["eval", str(tmp_path / "bad.csv"), "--pred-col", "old", "--label-col", "label"]
    want = invoke(argv)
    ran = invoke([*argv, "--dask", dask_client.scheduler.address])
    assert_usage_error(*ran, "row 2501", "line 2502")
    assert ran.err == want.err


def test_bootstrap_and_several_files_are_refused(dask_client, small_parts):
    address = dask_client.scheduler.address
    argv = ["compare", "scores.parquet", "--model-col", "old=old", "--model-col", "new=new",
            "--label-col", "label", "--dask", address]  # fmt: skip
    ran = invoke([*argv, "--method", "bootstrap"])
    assert_usage_error(*ran, "the bootstrap cannot run on Dask", "--method normal")
    assert len(ran.err.strip().splitlines()) == 1
    ran = invoke(["compare", "scores.parquet", "scores.csv", "--name", "a,b", "--pred-col", "old",
                  "--label-col", "label", "--dask", address])  # fmt: skip
    assert_usage_error(*ran, "compare --dask reads one table", "--model-col NAME=COL")


def test_a_file_gone_before_the_workers_read_it(dask_client, small_parts, files, monkeypatch):
    """The client plans the partitions, then the file is renamed: the workers cannot
    find it, and that is one error line naming it."""
    import shutil

    from losscli.cli import dask_run

    shutil.copy(files / "scores.parquet", files / "moved.parquet")
    real = dask_run.partitioned

    def then_moved(table, columns):
        out = real(table, columns)
        (files / "moved.parquet").rename(files / "elsewhere.parquet")
        return out

    monkeypatch.setattr(dask_run, "partitioned", then_moved)
    for command in (["eval", "moved.parquet", "--pred-col", "old"],
                    ["compare", "moved.parquet", "--model-col", "a=old", "--model-col", "b=new"]):  # fmt: skip
        if not (files / "moved.parquet").exists():
            (files / "elsewhere.parquet").rename(files / "moved.parquet")
        ran = invoke([*command, "--label-col", "label", "--dask", dask_client.scheduler.address])
        assert_usage_error(*ran, "moved.parquet", "no such file", "(read by a Dask worker)")
        assert len(ran.err.strip().splitlines()) == 1


def test_a_worker_that_dies(dask_client, small_parts, monkeypatch):
    """A partition whose worker process exits: one error line, exit 2, no traceback (the
    nanny starts a new worker, which the next tests wait for)."""

    def dies(*args):
        import os

        os._exit(3)

    monkeypatch.setattr("losscli.cli.dask_run.read_partition", dies)
    try:
        ran = invoke(["eval", "scores.parquet", "--pred-col", "old", "--label-col", "label",
                      "--dask", dask_client.scheduler.address])  # fmt: skip
        assert_usage_error(*ran, "a Dask worker died", "scores.parquet")
        assert len(ran.err.strip().splitlines()) == 1
    finally:
        dask_client.wait_for_workers(2, timeout=30)


def test_s3_on_the_cluster_and_a_url_only_the_client_can_reach(dask_client, s3_server, tmp_path):
    """A dataset on the test's S3 server: with the credentials as storage options (they go
    along with the tasks) the cluster gives the local numbers; with credentials only in
    the client's environment, the workers cannot read it, and that is one error line."""
    fs = s3_server.fs()
    fs.mkdir("dask-parts")
    frame = pd.DataFrame({"p": np.linspace(0.05, 0.95, 400), "y": np.arange(400) % 2})
    frame.to_parquet(tmp_path / "a.parquet")
    for name in ("part-0.parquet", "part-1.parquet"):
        fs.put(str(tmp_path / "a.parquet"), f"dask-parts/d/{name}")
    argv = ["eval", "s3://dask-parts/d/", "--pred-col", "p", "--label-col", "y", "-f", "json"]
    endpoint = ["--storage-option", f"endpoint_url={s3_server.endpoint}"]
    address = ["--dask", dask_client.scheduler.address]
    local = json.loads(invoke(argv, env=s3_server.env(), expect=0).out)
    keys = [
        "--storage-option",
        f"key={s3_server.key}",
        "--storage-option",
        f"secret={s3_server.secret}",
    ]
    ran = invoke([*argv, *address, *endpoint, *keys], env=s3_server.env(), expect=0)
    assert json.loads(ran.out)["losses"] == pytest.approx(local["losses"], rel=1e-12)
    ran = invoke([*argv, *address, *endpoint], env=s3_server.env())
    assert_usage_error(*ran, "error: s3://dask-parts/d/part-", "(read by a Dask worker)",
                       "Check the credentials")  # fmt: skip
    assert len(ran.err.strip().splitlines()) == 1


def test_task_decided_on_the_rows_a_local_run_decides_it_on(dask_client, small_parts, files,
                                                            monkeypatch):  # fmt: skip
    """A label 2 in a later partition: within the first chunk, the task is regression on
    the cluster as in one process; past it, the same error line names the file's row."""
    frame = pd.read_parquet(files / "scores.parquet")
    frame.loc[2500, "label"] = 2
    frame.to_parquet(files / "three.parquet", row_group_size=600)
    argv = ["eval", "three.parquet", "--pred-col", "old", "--label-col", "label"]
    local, remote = _run(argv, dask_client)
    assert remote["task"] == local["task"] == "regression"
    assert all(_close(remote["losses"][k], v) for k, v in local["losses"].items())
    monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", 1000)  # the first chunk: binary
    want = invoke(argv)
    assert_usage_error(*want, "three.parquet, column 'label', row 2501: binary labels")
    assert invoke([*argv, "--dask", dask_client.scheduler.address]).err == want.err


def test_losscli_dask_local_starts_its_own_cluster(small_parts):
    """LOSSCLI_DASK=local:1 (as --dask local:1): a LocalCluster of one worker process,
    started and closed by the command; local:0 is an error before any start."""
    argv = ["compare", "scores.parquet", "--model-col", "old=old", "--model-col", "new=new",
            "--label-col", "label", "--method", "normal", "-f", "json", "-q"]  # fmt: skip
    local = json.loads(invoke(argv, expect=0).out)
    ran = invoke(argv, env={"LOSSCLI_DASK": "local:1"}, expect=0)
    _same_comparisons(local, json.loads(ran.out))
    assert_usage_error(*invoke([*argv, "--dask", "local:0"]), "--dask local:N needs N ≥ 1")


def test_csv_blocks_engine_error_with_worst_names_the_table_row(dask_client, small_parts,
                                                                files, monkeypatch, tmp_path):  # fmt: skip
    """With --worst the blocks' rows are counted first, so an engine error in a late block
    (a label 2 in a binary task) names the file's row and line as one process does (a
    blank line above it moves the line); without --worst, the block and its own row."""
    text = (files / "scores.csv").read_text().splitlines()
    cells = text[2501].split(",")
    cells[2] = "2"  # the label of row 2501
    text[2501] = ",".join(cells)
    text.insert(50, "")  # a blank line: pyarrow skips it, the editor counts it
    (tmp_path / "bigbad.csv").write_text("\n".join(text) + "\n")
    monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", 1000)  # the first chunk: binary
    argv = ["eval", str(tmp_path / "bigbad.csv"), "--pred-col", "old", "--label-col", "label"]
    address = ["--dask", dask_client.scheduler.address]
    want = invoke([*argv, "--worst", "3"])
    assert_usage_error(*want, "bigbad.csv, column 'label', row 2501 (line 2503): binary labels")
    assert invoke([*argv, "--worst", "3", *address]).err == want.err
    ran = invoke([*argv, *address])
    assert_usage_error(*ran, "bigbad.csv (rows counted from its first row), column 'label', row ")
    assert "row 2501" not in ran.err


@pytest.mark.parametrize("table", ["scores.csv", "scores.parquet"])
def test_csv_worst_rows_have_the_local_columns(dask_client, small_parts, table):
    """-f csv --worst: the same header as one process (a CSV file's `line` column kept,
    its cells empty: a line is a file's, rows count across the partitions), the same rows."""
    argv = ["eval", table, "--pred-col", "old", "--label-col", "label", "--worst", "3",
            "-f", "csv", "-q"]  # fmt: skip
    want = invoke(argv, expect=0).out.splitlines()
    got = invoke([*argv, "--dask", dask_client.scheduler.address], expect=0).out.splitlines()
    assert (
        got[0]
        == want[0]
        == ("row,line," if table.endswith("csv") else "row,") + ("pred,label,weight,loss")
    )
    for mine, theirs in zip(got[1:], want[1:], strict=True):
        cells, local = mine.split(","), theirs.split(",")
        if table.endswith("csv"):
            assert cells[1] == "" and local[1] == str(int(local[0]) + 1)
            del cells[1], local[1]
        assert cells == local


def test_dask_local_stderr_holds_losscli_lines_only(tmp_path):
    """--dask local:1 while port 8787 is taken (another cluster's dashboard) and with a
    graph above distributed's large-graph threshold: distributed's warnings stay off
    stderr, which holds what a local run prints (losscli's note), nothing else."""
    import socket

    from tests.cli.conftest import spawn

    (tmp_path / "n.csv").write_text("prob,label\n0,0\n1,1\n0.3,1\n0.7,0\n")
    argv = ["eval", "n.csv", "--pred-col", "prob", "--label-col", "label", "-f", "json"]
    want = spawn(argv, cwd=tmp_path, text=True)
    assert want.returncode == 0 and want.stderr.startswith("note: 2 probabilities")
    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 8787))
        held.listen()
    except OSError:  # taken already, as the test wants it
        pass
    try:
        env = {"DASK_DISTRIBUTED__ADMIN__LARGE_GRAPH_WARNING_THRESHOLD": "1"}
        ran = spawn([*argv, "--dask", "local:1"], cwd=tmp_path, env=env, text=True)
    finally:
        held.close()
    assert ran.returncode == 0 and ran.stderr == want.stderr
    remote, local = json.loads(ran.stdout), json.loads(want.stdout)
    assert remote["losses"] == pytest.approx(local["losses"], rel=1e-12)
