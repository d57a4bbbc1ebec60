"""`losscli compare` streams the normal approximation: every model's file is read in lockstep,
chunk by chunk, into engine accumulators and streamed sums and moments of the paired terms.

The oracle is the in-memory computation (what compare did before it streamed): `evaluate` on
whole arrays, `paired_terms` of the whole matrix and `resample.compare(method="normal")`.
Chunk sizes are made small by setting the CLI's `STREAM_ROWS` (LOSSCLI_CHUNK_ROWS)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.engine import resample
from losscli.engine.options import Options
from losscli.engine.registry import LOSSES
from losscli.planning import make_plan
from tests.cli.conftest import invoke

N = 3001  # not a multiple of any chunk size used here
CLASSES = ["ant", "bee", "cat", "dog"]


@pytest.fixture
def chunk_rows(monkeypatch):
    """Set the rows per chunk the CLI reads (LOSSCLI_CHUNK_ROWS) for in-process runs."""

    def set_rows(rows: int) -> None:
        monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", rows)

    return set_rows


def ok_json(*argv) -> dict:
    ran = invoke(["compare", *argv, "-f", "json"])
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


def error_line(*argv) -> str:
    ran = invoke(["compare", *argv])
    assert ran.code == 2, (ran.out, ran.err)
    assert ran.out == ""
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.err
    return lines[0]


# --- data: the arrays (for the oracle) and the files (for the CLI) ------------------------------


def regression(tmp_path: Path, n: int = N) -> dict:
    rng = np.random.default_rng(11)
    y = rng.normal(size=n)
    w = rng.uniform(0.1, 3.0, n)
    preds = [y + 0.4 * rng.normal(size=n), y + 0.9 * rng.normal(size=n)]
    preds.append(preds[0].copy())  # the same predictions as a: exactly no difference
    pcsv.write_csv(pa.table({"y": y, "w": w}), tmp_path / "labels.csv")
    pq.write_table(pa.table({"pred": preds[0]}), tmp_path / "a.parquet")
    np.save(tmp_path / "b.npy", preds[1])
    pcsv.write_csv(pa.table({"pred": preds[2]}), tmp_path / "c.csv")
    files = ["a.parquet", "b.npy", "c.csv"]
    return dict(
        argv=["--labels", tmp_path / "labels.csv", *(tmp_path / f for f in files)],
        argv_weighted=["--weight-col", "w"],
        preds=preds,
        labels=y,
        weights=w,
        options={},
        pred_names=None,
    )


def binary(tmp_path: Path, n: int = N) -> dict:
    rng = np.random.default_rng(12)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < 0.8 * p).astype(np.int64)  # unbalanced classes
    w = rng.uniform(0.1, 3.0, n)
    preds = [np.clip(p + s * rng.normal(size=n), 0.001, 0.999) for s in (0.05, 0.2, 0.3)]
    pq.write_table(pa.table({"label": y, "w": w}), tmp_path / "labels.parquet")
    pcsv.write_csv(pa.table({"prob": preds[0]}), tmp_path / "a.csv")
    pq.write_table(pa.table({"prob": preds[1]}), tmp_path / "b.parquet", row_group_size=500)
    np.save(tmp_path / "c.npy", preds[2])
    files = ["a.csv", "b.parquet", "c.npy"]
    return dict(
        argv=["--labels", tmp_path / "labels.parquet", *(tmp_path / f for f in files)],
        argv_weighted=["--weight-col", "w", "--class-weight", "balanced"],
        preds=preds,
        labels=y,
        weights=w,
        options={"class_weight": "balanced"},
        pred_names=None,
    )


def binary_class_weights(tmp_path: Path, n: int = N) -> dict:
    case = binary(tmp_path, n)
    case["argv_weighted"] = ["--class-weight", "0=1,1=3", "--baseline", "b"]
    case["options"] = {"class_weight": {"0": 1.0, "1": 3.0}}
    case["weights"] = None
    case["baseline"] = 1
    return case


def multiclass(tmp_path: Path, n: int = N) -> dict:
    """One table, text labels, two models by --model-col."""
    rng = np.random.default_rng(13)
    k = len(CLASSES)
    z = rng.normal(size=(n, k))
    t = z.argmax(axis=1)
    flip = rng.uniform(size=n) < 0.3
    t[flip] = rng.integers(0, k, int(flip.sum()))
    t[rng.uniform(size=n) < 0.5] = 0  # unbalanced: many ants
    labels = np.array(CLASSES, dtype=object)[t]
    w = rng.uniform(0.1, 3.0, n)
    columns: dict = {"species": labels, "w": w}
    preds = []
    for name, scale in (("a", 1.0), ("b", 0.5)):
        e = np.exp(scale * z + 0.3 * rng.normal(size=(n, k)))
        P = e / e.sum(axis=1, keepdims=True)
        preds.append(P)
        for c in range(k):
            columns[f"{name}_{CLASSES[c]}"] = P[:, c]
    pcsv.write_csv(pa.table(columns), tmp_path / "multi.csv")
    return dict(
        argv=[
            tmp_path / "multi.csv",
            "--model-col",
            "a=a_*",
            "--model-col",
            "b=b_*",
            "--label-col",
            "species",
        ],
        argv_weighted=["--weight-col", "w", "--class-weight", "balanced"],
        preds=preds,
        labels=labels,
        weights=w,
        options={"class_weight": "balanced"},
        pred_names=[[f"{m}_{c}" for c in CLASSES] for m in ("a", "b")],
    )


CASES = {
    "regression": regression,
    "binary": binary,
    "binary_class_weights": binary_class_weights,
    "multiclass": multiclass,
}


def in_memory_normal(case: dict) -> tuple[list, list]:
    """The oracle: each model evaluated whole, the whole matrix of paired terms, and the
    normal approximation of `resample.compare`."""
    names = case["pred_names"] or [None] * len(case["preds"])
    baseline = case.get("baseline", 0)
    results = [
        losscli.evaluate(
            p,
            case["labels"],
            sample_weight=case["weights"],
            pred_names=n,
            **case["options"],
        )
        for p, n in zip(case["preds"], names, strict=True)
    ]
    plan, y = make_plan(
        case["preds"][baseline],
        case["labels"],
        None,
        task=results[0].task,
        pred_names=names[baseline],
        **case["options"],
    )
    terms = resample.paired_terms(
        plan.task,
        plan.specs,
        plan.options,
        case["preds"],
        y,
        case["weights"],
        classes=plan.classes or [],
        baseline=baseline,
    )
    base = results[baseline].losses
    found = resample.compare(
        terms,
        method="normal",
        differences=[results[c.model].losses[c.loss] - base[c.loss] for c in terms.contrasts],
    )
    return results, found


def rel(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


# --- streamed = in memory ----------------------------------------------------------------------


@pytest.mark.parametrize("rows", [7, 1000])
@pytest.mark.parametrize("name", list(CASES))
def test_streamed_normal_equals_in_memory(tmp_path, chunk_rows, name, rows):
    n = 701 if rows == 7 else N  # 101 chunks of 7 rows, or 4 of 1000 (the last one short)
    case = CASES[name](tmp_path, n)
    chunk_rows(rows)
    doc = ok_json(*case["argv"], *case["argv_weighted"], "--method", "normal")
    results, found = in_memory_normal(case)

    assert doc["method"] == "normal" and doc["n_samples"] == n
    assert doc["task"] == results[0].task
    every = {"regression": {"mse", "rmse", "mae"}, "binary": {"rmse", "dice", "bce", "hinge"}}
    assert set(doc["options"]["losses"]) >= every.get(results[0].task, {"ce", "mse", "rmse"})
    for model, r in zip(doc["models"].values(), results, strict=True):
        assert list(model["losses"]) == list(r.losses)
        for loss, value in r.losses.items():
            assert rel(model["losses"][loss], value) < 1e-12, loss
    assert len(doc["comparisons"]) == len(found)
    for got, want in zip(doc["comparisons"], found, strict=True):
        assert (got["loss"], got["method"]) == (want.loss, "normal")
        assert rel(got["difference"], want.difference) < 1e-12, got
        assert rel(got["ci"][0], want.ci[0]) < 1e-9, got
        assert rel(got["ci"][1], want.ci[1]) < 1e-9, got
        assert rel(got["p_value"], want.p_value) < 1e-9, got
        if want.difference == 0.0:  # a model with the baseline's predictions
            assert (got["difference"], got["ci"], got["p_value"]) == (0.0, [0.0, 0.0], 1.0)


@pytest.mark.parametrize("name", ["regression", "multiclass"])
def test_each_model_reports_what_eval_prints(tmp_path, chunk_rows, name):
    case = CASES[name](tmp_path)
    chunk_rows(1000)
    doc = ok_json(*case["argv"], *case["argv_weighted"], "--method", "normal")
    if name == "regression":
        files = case["argv"][2:]
        evals = [[f, case["argv"][1], *case["argv_weighted"]] for f in files]
    else:
        evals = [
            [case["argv"][0], "--pred-col", f"{m}_*", "--label-col", "species"]
            + case["argv_weighted"]
            for m in ("a", "b")
        ]
    for model, argv in zip(doc["models"].values(), evals, strict=True):
        ran = invoke(["eval", *argv, "-f", "json"])
        assert ran.code == 0, ran.err
        assert model["losses"] == json.loads(ran.out)["losses"]  # to the last digit


def test_chunk_size_from_the_environment(tmp_path):
    case = binary(tmp_path)
    argv = [str(a) for a in (*case["argv"], *case["argv_weighted"])]
    env = {**os.environ, "LOSSCLI_CHUNK_ROWS": "1000"}
    done = subprocess.run(
        [sys.executable, "-m", "losscli", "compare", *argv, "--method", "normal", "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    _, found = in_memory_normal(case)
    for got, want in zip(json.loads(done.stdout)["comparisons"], found, strict=True):
        assert rel(got["difference"], want.difference) < 1e-12
        assert rel(got["ci"][0], want.ci[0]) < 1e-9 and rel(got["ci"][1], want.ci[1]) < 1e-9


def test_paired_sums_over_chunks_equal_the_whole_matrix(rng):
    """Engine level: PairedSums over uneven chunks, with the class weights of all rows,
    give the normal comparison of the whole matrix."""
    n = 2000
    y = (rng.uniform(size=n) < 0.2).astype(np.int64)
    p = rng.uniform(0.01, 0.99, n)
    preds = [p, np.clip(p + 0.1 * rng.normal(size=n), 0, 1), np.clip(p - 0.05, 0, 1)]
    w = rng.uniform(0.5, 2.0, n)
    specs = [LOSSES[s] for s in ("mse", "rmse", "bce", "dice", "focal")]
    options = Options.build(class_weight="balanced")
    whole = resample.paired_terms("binary", specs, options, preds, y, w, baseline=1)
    want = resample.compare(whole, method="normal")
    counts = np.bincount(y, minlength=2).astype(np.float64)
    class_weights = n / (2 * counts)
    sums = None
    cuts = [0, 1, 250, 251, 1333, n]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        part = resample.paired_terms(
            "binary",
            specs,
            options,
            [q[lo:hi] for q in preds],
            y[lo:hi],
            w[lo:hi],
            baseline=1,
            class_weights=class_weights,
        )
        sums = resample.PairedSums.like(part) if sums is None else sums
        sums.update(part)
    assert sums.n == n
    # T to the last digits of the exact sums (a difference column of ±1 terms sums to 0.04)
    exact = np.array([math.fsum(col) for col in whole.columns.T])
    scale = np.abs(whole.columns).sum(axis=0)
    assert np.all(np.abs(sums.total.value() - exact) <= 1e-15 * scale)
    got = resample.compare_sums(sums)
    for g, c in zip(got, want, strict=True):
        assert (g.model, g.loss, g.method) == (c.model, c.loss, "normal")
        assert rel(g.difference, c.difference) < 1e-12
        assert rel(g.ci[0], c.ci[0]) < 1e-9 and rel(g.ci[1], c.ci[1]) < 1e-9
        assert rel(g.p_value, c.p_value) < 1e-9


def test_moment_pieces_cut_at_the_whole_matrix_boundaries():
    m = resample.MOMENT_CHUNK
    assert resample.moment_pieces(0, 10) == [(0, 10)]
    assert resample.moment_pieces(0, 2 * m + 5) == [(0, m), (m, 2 * m), (2 * m, 2 * m + 5)]
    assert resample.moment_pieces(m - 3, 10) == [(0, 3), (3, 10)]
    assert resample.moment_pieces(m, m) == [(0, m)]
    assert resample.moment_pieces(5, 0) == []


def test_chunks_of_different_sizes_are_aligned(tmp_path):
    from losscli.cli.compare import _aligned
    from losscli.readers.columns import stream_inputs

    case = binary(tmp_path)
    labels = str(case["argv"][1])
    streams = [
        stream_inputs(str(case["argv"][2]), labels, batch_rows=7)[1],
        stream_inputs(str(case["argv"][3]), labels, batch_rows=10)[1],
        stream_inputs(str(case["argv"][4]), labels, batch_rows=1000)[1],
    ]
    tuples = list(_aligned(["a", "b", "c"], streams))
    offset = 0
    for chunks in tuples:
        assert {c.row_offset for c in chunks} == {offset}
        assert len({c.preds.shape[0] for c in chunks}) == 1
        offset += chunks[0].preds.shape[0]
    assert offset == N
    for m, p in enumerate(case["preds"]):
        np.testing.assert_array_equal(np.concatenate([t[m].preds for t in tuples]), p)
        np.testing.assert_array_equal(np.concatenate([t[m].labels for t in tuples]), case["labels"])


# --- method auto --------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [7, 1 << 18])
@pytest.mark.parametrize("name", ["regression", "multiclass"])
def test_auto_on_few_rows_is_the_bootstrap_of_whole_files(tmp_path, chunk_rows, name, rows):
    """Up to AUTO_NORMAL_ROWS rows, auto buffers the chunks and bootstraps them: the output
    is that of --method bootstrap (which reads the files whole, as compare always did)."""
    case = CASES[name](tmp_path, 701)
    chunk_rows(rows)
    argv = ["compare", *case["argv"], *case["argv_weighted"], "--bootstrap", "100"]
    auto = invoke([*argv, "-f", "json"])
    boot = invoke([*argv, "-f", "json", "--method", "bootstrap"])
    assert auto.code == boot.code == 0, auto.err
    assert auto.err == boot.err
    a, b = json.loads(auto.out), json.loads(boot.out)
    assert a["method"] == "bootstrap" and a["options"].pop("method") == "auto"
    b["options"].pop("method")
    assert a == b
    table_auto, table_boot = invoke(argv), invoke([*argv, "--method", "bootstrap"])
    assert table_auto.out == table_boot.out and "paired bootstrap" in table_auto.out


@pytest.mark.parametrize("threshold", [N - 1, N])
def test_auto_past_the_threshold_streams_the_normal_approximation(
    tmp_path, chunk_rows, monkeypatch, threshold
):
    monkeypatch.setattr(resample, "AUTO_NORMAL_ROWS", threshold)
    case = binary(tmp_path)
    chunk_rows(400)
    argv = [*case["argv"], *case["argv_weighted"], "--bootstrap", "50"]
    auto, normal = ok_json(*argv), ok_json(*argv, "--method", "normal")
    assert auto["options"].pop("method") == "auto"
    normal["options"].pop("method")
    if threshold < N:  # more rows than the threshold: streamed, the same numbers as normal
        assert auto["method"] == "normal"
        assert auto == normal
    else:
        assert auto["method"] == "bootstrap"


# --- errors in the streaming path ---------------------------------------------------------------


def own_labels(tmp_path: Path, name: str, n: int, change=None) -> Path:
    """A model file with its own labels (and weights): rows 0..n−1 of one data set."""
    rng = np.random.default_rng(21)
    p = rng.uniform(0.01, 0.99, N)
    y = (rng.uniform(size=N) < p).astype(np.int64)
    w = rng.uniform(0.5, 2.0, N)
    columns = {"prob": p, "label": y, "w": w}
    if change is not None:
        change(columns)
    path = tmp_path / name
    pcsv.write_csv(pa.table({k: v[:n] for k, v in columns.items()}), path)
    return path


@pytest.mark.parametrize("method", ["normal", "auto"])
@pytest.mark.parametrize("short", [N - 1, 2500, 999])
def test_a_model_with_fewer_rows(tmp_path, chunk_rows, monkeypatch, method, short):
    monkeypatch.setattr(resample, "AUTO_NORMAL_ROWS", 100)  # auto streams too
    chunk_rows(1000)
    a, b = own_labels(tmp_path, "a.csv", N), own_labels(tmp_path, "b.csv", N)
    c = own_labels(tmp_path, "c.csv", short)
    line = error_line(a, b, c, "--method", method, "-l", "bce,dice")
    assert line == (
        f"error: model 'c' has {short} rows, model 'a' has {N}. "
        "Every model must predict the same rows."
    )
    # the first model short: the others are named against it
    line = error_line(c, a, "--method", method, "-l", "mse")
    assert line == (
        f"error: model 'a' has {N} rows, model 'c' has {short}. "
        "Every model must predict the same rows."
    )


@pytest.mark.parametrize("column", ["label", "w"])
def test_a_model_with_other_labels_or_weights_in_a_later_chunk(tmp_path, chunk_rows, column):
    chunk_rows(1000)

    def change(columns):
        if column == "label":
            columns["label"][2900] = 1 - columns["label"][2900]
        else:
            columns["w"][2900] += 1.0

    a, b = own_labels(tmp_path, "a.csv", N), own_labels(tmp_path, "b.csv", N, change)
    line = error_line(a, b, "--weight-col", "w", "--method", "normal", "-l", "bce")
    assert line == (
        "error: model 'b' has other labels or weights than model 'a'. "
        "Pass --labels FILE to give every model the same labels."
    )


def test_engine_errors_are_placed_in_the_file(tmp_path, chunk_rows):
    chunk_rows(1000)

    def bad(columns):
        columns["prob"][2500] = 1.5

    a, b = own_labels(tmp_path, "a.csv", N), own_labels(tmp_path, "b.csv", N, bad)
    line = error_line(a, b, "--method", "normal", "-l", "bce")
    assert line.startswith(
        f"error: {b}, column 'prob', row 2501 (line 2502): bce needs probabilities in [0, 1], "
        "found 1.5."
    )


def test_an_unknown_class_in_a_later_chunk_is_placed(tmp_path, chunk_rows):
    chunk_rows(1000)
    case = multiclass(tmp_path)
    table = pcsv.read_csv(case["argv"][0])
    species = table["species"].to_numpy(zero_copy_only=False).copy()
    species[2345] = "eel"
    table = table.set_column(table.schema.get_field_index("species"), "species", pa.array(species))
    pcsv.write_csv(table, case["argv"][0])
    line = error_line(*case["argv"], "--method", "normal", "-l", "ce")
    assert line.startswith(
        f"error: {case['argv'][0]}, column 'species', row 2346 (line 2347): label 'eel' is "
        "not one of the classes ant, bee, cat, dog."
    )


def test_reduction_other_than_mean(tmp_path):
    case = regression(tmp_path)
    assert error_line(*case["argv"], "--method", "normal", "--reduction", "sum") == (
        "error: compare compares mean losses; --reduction sum does not apply. "
        "Leave out --reduction."
    )


# --- standard input -----------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [[], ["--class-weight", "balanced"]])
def test_a_model_on_standard_input(tmp_path, chunk_rows, weights):
    """Streamed from stdin like any file; with balanced class weights (which take a first
    pass to count the classes) stdin is read whole instead."""
    chunk_rows(1000)
    case = binary(tmp_path)
    _, labels, a, b = case["argv"][:4]
    argv = ["--labels", labels, a, b, *weights, "--method", "normal", "--loss", "bce,dice"]
    from_files = ok_json(*argv)
    ran = invoke(
        ["compare", "--labels", labels, "-", b, *weights, "--method", "normal"]
        + ["--loss", "bce,dice", "--name", "a", "--name", "b", "-f", "json"],
        input=Path(a).read_bytes(),
    )
    assert ran.code == 0, ran.err
    from_stdin = json.loads(ran.out)
    assert from_stdin["models"]["a"]["losses"] == pytest.approx(
        from_files["models"]["a"]["losses"], rel=1e-12
    )
    for got, want in zip(from_stdin["comparisons"], from_files["comparisons"], strict=True):
        assert got["difference"] == pytest.approx(want["difference"], rel=1e-12)
        assert got["ci"] == pytest.approx(want["ci"], rel=1e-9)


def test_standard_input_for_every_model_is_an_error(tmp_path):
    case = multiclass(tmp_path)
    ran = invoke(
        ["compare", "-", *case["argv"][1:], "--method", "normal"],
        input=Path(case["argv"][0]).read_bytes(),
    )
    assert ran.code == 2 and ran.out == ""
    assert ran.err.strip() == (
        "error: '-' (standard input) would be read 2 times, once for each model that uses it; "
        "it can be read once. Save it to a file and pass the file's path."
    )


# --- memory ------------------------------------------------------------------------------------


def _peak_mib(argv: list[str]) -> float:
    """Peak resident memory of `losscli ARGV` in a child process, in MiB."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-m", "losscli", *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(out.stdout)


def test_peak_memory_of_normal_stays_flat_when_the_files_double(tmp_path):
    # 3 models × 10⁶ rows: the matrix of paired terms alone (44 columns) would take
    # 350 MB, and compare peaked at ~1.9 GB on twice as many rows when it held it
    peaks = []
    for n in (500_000, 1_000_000):
        rng = np.random.default_rng(0)
        p = rng.uniform(0.0, 1.0, n)
        y = (rng.uniform(0.0, 1.0, n) < p).astype(np.int64)
        folder = tmp_path / str(n)
        folder.mkdir()
        pq.write_table(pa.table({"label": y}), folder / "labels.parquet", row_group_size=100_000)
        files = []
        for j, s in enumerate((0.0, 0.05, 0.1)):
            q = np.clip(p + s * rng.normal(size=n), 0.0, 1.0)
            files.append(str(folder / f"m{j}.parquet"))
            pq.write_table(pa.table({"prob": q}), files[-1], row_group_size=100_000)
        del p, y, q
        argv = ["compare", "--labels", str(folder / "labels.parquet"), *files]
        peaks.append(_peak_mib([*argv, "--method", "normal", "-f", "json"]))
    small, large = peaks
    assert large < 400, peaks
    assert large - small < 48, peaks
