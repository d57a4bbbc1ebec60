"""`compare --by` and `losscli.compare(..., by=...)` (SPEC §8): d, interval and p-value per
slice, with the whole comparison's method.

Oracles: each slice's d against `losscli.evaluate` on that slice's rows alone; each slice's
interval against `losscli.compare` on those rows alone (same seed, same method); the
streamed normal approximation against the in-memory one; Holm against
`resample.holm` over every entry.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

import losscli
from losscli.engine import resample
from tests.cli.conftest import invoke

SAMPLE = "sample_data/binary_slices.csv"
LOSSES = ["bce", "mse", "mae"]


@pytest.fixture
def data(rng):
    n = 900
    y = rng.integers(0, 2, n)
    a = np.clip(rng.uniform(0, 1, n), 0.01, 0.99)
    b = np.clip(a + rng.normal(0, 0.1, n), 0.01, 0.99)
    c = np.clip(a + rng.normal(0.05, 0.1, n), 0.01, 0.99)
    region = rng.choice(["eu", "us", "apac"], n, p=[0.5, 0.45, 0.05])
    device = rng.choice(["ios", "web"], n)
    w = rng.uniform(0.5, 2.0, n)
    return dict(y=y, a=a, b=b, c=c, region=region, device=device, w=w)


def _sliced(r, model, key):
    return [c for c in r.comparisons if c.model == model and c.slice == key]


def _keys(data):
    by = pd.DataFrame({"region": data["region"], "device": data["device"]})
    return by, [({"region": v}, data["region"] == v) for v in ("apac", "eu", "us")] + [
        ({"device": v}, data["device"] == v) for v in ("ios", "web")
    ]


@pytest.mark.parametrize("method", ["bootstrap", "normal"])
def test_slice_d_and_interval_equal_compare_on_the_slice_rows(data, method):
    by, keys = _keys(data)
    models = {"a": data["a"], "b": data["b"], "c": data["c"]}
    r = losscli.compare(models, data["y"], LOSSES, by=by, sample_weight=data["w"],
                        method=method, n_resamples=300, seed=7)  # fmt: skip
    assert [s.by for s in r.models["a"].slices] == [["region"], ["device"]]
    for key, mask in keys:
        alone = losscli.compare({k: v[mask] for k, v in models.items()}, data["y"][mask], LOSSES,
                                sample_weight=data["w"][mask], method=method,
                                n_resamples=300, seed=7)  # fmt: skip
        for model in ("b", "c"):
            got = _sliced(r, model, key)
            want = [c for c in alone.comparisons if c.model == model]
            assert [c.loss for c in got] == LOSSES
            for g, e in zip(got, want, strict=True):
                # d: the models' slice values, equal to evaluate on the rows alone
                ev = {m: losscli.evaluate(models[m][mask], data["y"][mask], LOSSES,
                                          sample_weight=data["w"][mask]) for m in ("a", model)}  # fmt: skip
                assert g.difference == pytest.approx(ev[model][g.loss] - ev["a"][g.loss],
                                                     rel=1e-12, abs=1e-15)  # fmt: skip
                assert g.difference == pytest.approx(e.difference, rel=1e-12, abs=1e-15)
                assert g.method == method
                if method == "bootstrap":
                    # the same rows and seed give the same resamples: identical numbers
                    assert g.ci == e.ci and g.p_value == e.p_value
                else:
                    # centred on d, which agrees to the last digits only
                    assert g.ci == pytest.approx(e.ci, rel=1e-9, abs=1e-15)
                    assert g.p_value == pytest.approx(e.p_value, rel=1e-9, abs=1e-15)


def test_overall_entries_come_first_and_are_those_without_by(data):
    models = {"a": data["a"], "b": data["b"]}
    plain = losscli.compare(models, data["y"], LOSSES, n_resamples=200)
    sliced = losscli.compare(models, data["y"], LOSSES, n_resamples=200,
                             by={"region": data["region"]})  # fmt: skip
    doc, whole = sliced.to_dict(), plain.to_dict()
    assert doc["comparisons"][: len(LOSSES)] == whole["comparisons"]
    assert all("slice" in c for c in doc["comparisons"][len(LOSSES) :])
    assert len(doc["comparisons"]) == len(LOSSES) * 4
    assert doc["models"]["a"]["slices"] == [s.to_dict() for s in sliced.models["a"].slices]
    assert "slices" not in whole["models"]["a"]


def test_class_weights_are_the_whole_inputs(data):
    # balanced weights from every row, passed explicitly to the slice's own run
    y, models = data["y"], {"a": data["a"], "b": data["b"]}
    r = losscli.compare(models, y, ["bce"], by={"region": data["region"]},
                        class_weight="balanced", method="bootstrap", n_resamples=200)  # fmt: skip
    counts = np.bincount(y, minlength=2)
    weights = {str(k): len(y) / (2 * counts[k]) for k in (0, 1)}
    mask = data["region"] == "eu"
    alone = losscli.compare({k: v[mask] for k, v in models.items()}, y[mask], ["bce"],
                            class_weight=weights, method="bootstrap", n_resamples=200)  # fmt: skip
    got = _sliced(r, "b", {"region": "eu"})[0]
    assert got.difference == pytest.approx(alone.comparisons[0].difference, rel=1e-12)
    assert got.ci == alone.comparisons[0].ci


@pytest.mark.parametrize("rows", [1, 17, 250])
def test_streamed_normal_equals_in_memory_normal(data, rows):
    models = {"a": data["a"], "b": data["b"], "c": data["c"]}
    y, w, region, n = data["y"], data["w"], data["region"], len(data["y"])
    whole = losscli.compare(models, y, LOSSES, sample_weight=w, method="normal",
                            by={"region": region}, per_class=True)  # fmt: skip
    chunks = (
        ({k: v[i : i + rows] for k, v in models.items()}, y[i : i + rows], w[i : i + rows],
         {"region": region[i : i + rows]})
        for i in range(0, n, rows)
    )  # fmt: skip
    streamed = losscli.compare_stream(chunks, LOSSES, method="normal", by=["region"],
                                      per_class=True)  # fmt: skip
    assert len(streamed.comparisons) == len(whole.comparisons) == 2 * 3 * (1 + 3 + 2)
    for s, m in zip(streamed.comparisons, whole.comparisons, strict=True):
        assert (s.model, s.loss, s.slice, s.small) == (m.model, m.loss, m.slice, m.small)
        assert s.difference == pytest.approx(m.difference, rel=1e-9, abs=1e-15)
        assert s.ci == pytest.approx(m.ci, rel=1e-9, abs=1e-15)
        assert s.p_value == pytest.approx(m.p_value, rel=1e-9, abs=1e-15)


def test_holm_is_one_family_over_every_entry(data):
    r = losscli.compare({"a": data["a"], "b": data["b"], "c": data["c"]}, data["y"], LOSSES,
                        by={"region": data["region"]}, holm=True, n_resamples=200)  # fmt: skip
    expected = resample.holm([c.p_value for c in r.comparisons])
    assert [c.p_value_holm for c in r.comparisons] == expected
    assert len(r.comparisons) == 2 * 3 * 4


def test_small_slices_are_compared_and_marked(data):
    r = losscli.compare({"a": data["a"], "b": data["b"]}, data["y"], ["bce"],
                        by={"region": data["region"]}, min_slice_rows=100,
                        n_resamples=100)  # fmt: skip
    small = {c.slice["region"]: c.small for c in r.comparisons if c.slice}
    assert small == {"apac": True, "eu": False, "us": False}


def test_top_slices_shows_the_baselines_worst_and_compares_every_slice(data):
    r = losscli.compare({"a": data["a"], "b": data["b"]}, data["y"], ["bce"],
                        by={"region": data["region"]}, top_slices=1, holm=True,
                        n_resamples=100)  # fmt: skip
    shown = r.models["a"].slices[0]
    assert len(shown.groups) == 1 and shown.left_out == 2
    assert [c.slice for c in r.comparisons] == [None, shown.groups[0].key]
    # Holm counted every slice compared (4 tests), not only the 2 listed
    every = losscli.compare({"a": data["a"], "b": data["b"]}, data["y"], ["bce"],
                            by={"region": data["region"]}, holm=True, n_resamples=100)  # fmt: skip
    assert len(every.comparisons) == 4
    adjusted = {str(c.slice): c.p_value_holm for c in every.comparisons}
    assert [c.p_value_holm for c in r.comparisons] == [
        adjusted[str(c.slice)] for c in r.comparisons
    ]


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path, rng):
    """binary_slices.csv and a second model's file of the same rows."""
    frame = pd.read_csv(SAMPLE)
    other = frame.copy()
    other["prob"] = np.clip(frame["prob"] + rng.normal(0, 0.05, len(frame)), 0.001, 0.999)
    path = tmp_path / "other.csv"
    other.to_csv(path, index=False)
    return frame, other, str(path)


BINS = ["--bins", "radius=12,15"]


def _run(files, *extra, expect=0):
    _, _, other = files
    argv = ["compare", SAMPLE, other, "--pred-col", "prob", "--label-col", "label",
            "--name", "old,new", "-l", "bce,mse", "--by", "radius", *BINS, *extra]  # fmt: skip
    return invoke(argv, expect=expect)


def _radius_bins(frame):
    r = frame["radius"].to_numpy()
    return {"(-inf, 12)": r < 12, "[12, 15)": (r >= 12) & (r < 15), "[15, inf)": r >= 15}


def test_cli_json_per_slice_equals_evaluate_on_the_rows(files):
    frame, other, _ = files
    doc = json.loads(_run(files, "--format", "json", "--holm", "-q").out)
    slices = [c for c in doc["comparisons"] if "slice" in c]
    assert [c["slice"]["radius"] for c in slices] == [
        k for k in ("(-inf, 12)", "[12, 15)", "[15, inf)") for _ in range(2)
    ]
    for c in slices:
        mask = _radius_bins(frame)[c["slice"]["radius"]]
        y = frame["label"].to_numpy()[mask]
        old = losscli.evaluate(frame["prob"].to_numpy()[mask], y, [c["loss"]])
        new = losscli.evaluate(other["prob"].to_numpy()[mask], y, [c["loss"]])
        assert c["difference"] == pytest.approx(new[c["loss"]] - old[c["loss"]], rel=1e-12)
        assert c["method"] == "bootstrap" and c["small"] is False
    assert [c["p_value_holm"] for c in doc["comparisons"]] == resample.holm(
        [c["p_value"] for c in doc["comparisons"]]
    )
    assert [s["by"] for s in doc["models"]["new"]["slices"]] == [["radius"]]


def test_cli_streamed_normal_equals_whole_files(files, monkeypatch):
    whole = json.loads(_run(files, "--format", "json", "--method", "normal", "--id-col", "id",
                            "-q").out)  # fmt: skip
    monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", 13)
    streamed = json.loads(_run(files, "--format", "json", "--method", "normal", "-q").out)
    assert len(streamed["comparisons"]) == len(whole["comparisons"]) == 8
    for s, w in zip(streamed["comparisons"], whole["comparisons"], strict=True):
        assert s.get("slice") == w.get("slice")
        assert s["difference"] == pytest.approx(w["difference"], rel=1e-9, abs=1e-15)
        assert s["ci"] == pytest.approx(w["ci"], rel=1e-9, abs=1e-15)
        assert s["p_value"] == pytest.approx(w["p_value"], rel=1e-9, abs=1e-15)


def test_cli_csv_one_row_per_model_loss_slice(files):
    rows = list(csv.DictReader(io.StringIO(_run(files, "--format", "csv", "-q").out)))
    assert len(rows) == 2 * 2 * 4
    assert list(rows[0])[:3] == ["model", "loss", "slice"] and list(rows[0])[-1] == "small"
    assert [r["slice"] for r in rows[:4]] == [""] * 4
    eu = [r for r in rows if r["slice"] == "radius=[12, 15)" and r["loss"] == "bce"]
    assert [r["model"] for r in eu] == ["old", "new"]
    assert eu[0]["difference"] == "" and eu[1]["small"] == "False"
    d = float(eu[1]["value"]) - float(eu[0]["value"])
    assert math.isclose(float(eu[1]["difference"]), d, rel_tol=1e-12)


def test_cli_table_has_a_slice_column(files):
    out = _run(files, "--per-class", "--min-slice-rows", "250", "-q").out
    assert " slice " in out
    assert "radius=[12, 15)" in out and "class=1 (small)" not in out
    assert "class=1" in out and "class=0 (small)" in out  # 212 rows of class 0 in 569


def test_cli_missing_by_column_is_one_error_line(files):
    _, _, other = files
    ran = invoke(["compare", SAMPLE, other, "--pred-col", "prob", "--label-col", "label",
                  "--by", "region"], expect=2)  # fmt: skip
    assert ran.out == ""
    assert ran.err == (
        f"error: {SAMPLE}: no column 'region'; columns are id, prob, label, radius. "
        "Pass --by with one of these columns.\n"
    )


def test_cli_float_column_without_bins_is_one_error_line(files):
    _, _, other = files
    ran = invoke(["compare", SAMPLE, other, "--pred-col", "prob", "--label-col", "label",
                  "--by", "radius"], expect=2)  # fmt: skip
    assert ran.err.startswith("error: ") and ran.err.count("\n") == 1
    assert "--bins radius=" in ran.err


def test_slices_of_few_rows_earn_a_note_until_marked_small(tmp_path) -> None:
    """Two rows whose paired differences share a sign give p ≈ 0.001 by the bootstrap: a
    note says the slice rests on few rows; --min-slice-rows marks it small instead."""
    rows = "prob,label,grp\n0.8,1,a\n0.3,0,a\n0.6,1,b\n0.4,0,b\n"
    (tmp_path / "m1.csv").write_text(rows)
    (tmp_path / "m2.csv").write_text(rows.replace("0.8,", "0.7,").replace("0.6,", "0.9,"))
    argv = ["compare", str(tmp_path / "m1.csv"), str(tmp_path / "m2.csv"), "-l", "bce",
            "--by", "grp"]  # fmt: skip
    noted = [line for line in invoke(argv, expect=0).err.splitlines() if "fewer than 30" in line]
    assert len(noted) == 1 and noted[0].startswith("note: 2 compared slices")
    marked = invoke([*argv, "--min-slice-rows", "30"], expect=0).err
    assert "fewer than 30" not in marked
    api = losscli.compare({"m1": pd.read_csv(tmp_path / "m1.csv").prob.to_numpy(),
                           "m2": pd.read_csv(tmp_path / "m2.csv").prob.to_numpy()},
                          np.array([1, 0, 1, 0]), ["bce"], by={"grp": np.array(list("aabb"))})  # fmt: skip
    assert any("min_slice_rows=30" in n for n in api.notes)
