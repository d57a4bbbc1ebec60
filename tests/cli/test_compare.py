"""`losscli compare`: real files on tmp_path, run in-process through `invoke` (what `main`
does), plus one real subprocess (`spawn`) and one run on sample_data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import invoke, spawn

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def as_json(*argv):
    code, out, err = invoke([*argv, "-f", "json"])
    assert code == 0, err
    return json.loads(out)


def write_csv(path: Path, **columns) -> Path:
    names = list(columns)
    rows = zip(*(np.asarray(v).tolist() for v in columns.values()), strict=True)
    path.write_text(
        ",".join(names) + "\n" + "".join(",".join(repr(x) for x in r) + "\n" for r in rows)
    )
    return path


@pytest.fixture
def regression(tmp_path):
    """labels.csv and three models: a.csv (good), b.npy (worse), c.csv (same as a)."""
    rng = np.random.default_rng(5)
    y = rng.normal(size=120)
    good = y + 0.3 * rng.normal(size=120)
    bad = y + 1.5 * rng.normal(size=120)
    labels = write_csv(tmp_path / "labels.csv", y=y)
    a = write_csv(tmp_path / "a.csv", pred=good)
    np.save(tmp_path / "b.npy", bad)
    c = write_csv(tmp_path / "c.csv", pred=good)
    return labels, a, tmp_path / "b.npy", c


def test_json_document(regression):
    labels, a, b, c = regression
    doc = as_json("compare", "--labels", labels, a, b, c, "-l", "mse,mae,rmse")
    assert set(doc) >= {"losscli", "task", "n_samples", "seed", "options", "models", "comparisons"}
    assert (doc["task"], doc["n_samples"], doc["seed"]) == ("regression", 120, 0)
    assert list(doc["models"]) == ["a", "b", "c"]
    assert list(doc["models"]["a"]["losses"]) == ["mse", "mae", "rmse"]
    assert len(doc["comparisons"]) == 6
    for comp in doc["comparisons"]:
        assert set(comp) == {"model", "baseline", "loss", "difference", "ci", "p_value", "method"}
        assert comp["baseline"] == "a" and comp["method"] == "bootstrap"
        models = doc["models"]
        want = models[comp["model"]]["losses"][comp["loss"]] - models["a"]["losses"][comp["loss"]]
        assert comp["difference"] == want
        assert comp["ci"][0] <= comp["difference"] <= comp["ci"][1]
    by = {(x["model"], x["loss"]): x for x in doc["comparisons"]}
    for loss in ("mse", "mae", "rmse"):
        # c has a's predictions: exactly no difference
        assert by[("c", loss)]["difference"] == 0.0
        assert by[("c", loss)]["ci"] == [0.0, 0.0]
        assert by[("c", loss)]["p_value"] == 1.0
        # b is clearly worse
        assert by[("b", loss)]["ci"][0] > 0
        assert by[("b", loss)]["p_value"] < 0.01


def test_same_seed_same_output_other_seed_close(regression):
    labels, a, b, _ = regression
    argv = ["compare", "--labels", labels, a, b, "-l", "mse"]
    one, two = as_json(*argv), as_json(*argv)
    assert one == two
    other = as_json(*argv, "--seed", "9")
    assert other["seed"] == 9
    ci1, ci2 = one["comparisons"][0]["ci"], other["comparisons"][0]["ci"]
    assert ci1 != ci2
    width = ci1[1] - ci1[0]
    assert abs(ci1[0] - ci2[0]) < 0.2 * width and abs(ci1[1] - ci2[1]) < 0.2 * width


def test_method_normal_names_and_baseline(regression):
    labels, a, b, c = regression
    doc = as_json(
        "compare",
        "--labels",
        labels,
        a,
        b,
        c,
        "-l",
        "mse",
        "--method",
        "normal",
        "--name",
        "good",
        "--name",
        "bad",
        "--name",
        "twin",
        "--baseline",
        "bad",
        "--holm",
        "--ci",
        "0.9",
    )
    assert list(doc["models"]) == ["good", "bad", "twin"]
    assert doc["options"]["ci"] == 0.9 and doc["options"]["holm"] is True
    assert {x["model"] for x in doc["comparisons"]} == {"good", "twin"}
    for comp in doc["comparisons"]:
        assert comp["baseline"] == "bad" and comp["method"] == "normal"
        assert comp["difference"] < 0 and comp["ci"][1] < 0
        assert comp["p_value"] <= comp["p_value_holm"] <= 1


def test_model_columns_of_one_table(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    p = rng.uniform(0.05, 0.95, 80)
    table = write_csv(tmp_path / "scores.csv", label=y, p_old=p, p_new=np.clip(p + 0.02, 0, 1))
    doc = as_json(
        "compare", table, "--model-col", "old=p_old", "--model-col", "new=p_new", "-l", "bce,dice"
    )
    assert doc["task"] == "binary"
    assert list(doc["models"]) == ["old", "new"]
    assert doc["models"]["new"]["inputs"]["preds"]["columns"] == ["p_new"]
    assert [x["loss"] for x in doc["comparisons"]] == ["bce", "dice"]


def test_table_marks_best_and_says_method_and_seed(regression):
    labels, a, b, _ = regression
    code, out, err = invoke(["compare", "--labels", labels, a, b, "-l", "mse,mae"])
    assert code == 0, err
    assert "paired bootstrap, 1,000 resamples, seed 0 · 95% CI" in out
    mse_row = next(line for line in out.splitlines() if line.strip().startswith("mse"))
    assert mse_row.split()[1:3] == [mse_row.split()[1], "*"]  # a is best
    assert "Best value per loss marked *" in out


def test_csv_and_markdown(regression):
    labels, a, b, _ = regression
    code, out, _ = invoke(["compare", "--labels", labels, a, b, "-l", "mse", "-f", "csv"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "model,loss,value,best,baseline,difference,ci_low,ci_high,p_value,method"
    assert lines[1].startswith("a,mse,") and lines[1].endswith(",True,a,,,,,")
    assert lines[2].startswith("b,mse,") and lines[2].endswith(",bootstrap")
    code, out, _ = invoke(["compare", "--labels", labels, a, b, "-l", "mse", "-f", "markdown"])
    assert code == 0
    assert "| loss | a | b |" in out and "| model | loss | difference |" in out


# --- errors: one line, exit 2 ----------------------------------------------------------------


def error_line(*argv) -> str:
    code, out, err = invoke(argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_fewer_than_two_models(regression):
    labels, a, *_ = regression
    assert error_line("compare", "--labels", labels, a) == (
        "error: compare needs at least two models, got 1. Pass two or more PREDS files, "
        "or --model-col NAME=COL for each model."
    )


def test_models_of_different_lengths(tmp_path):
    a = write_csv(tmp_path / "a.csv", pred=[0.1, 0.2, 0.3], label=[0.0, 0.0, 1.0])
    b = write_csv(tmp_path / "b.csv", pred=[0.1, 0.2], label=[0.0, 0.0])
    assert error_line("compare", a, b, "-l", "mse") == (
        "error: model 'b' has 2 rows, model 'a' has 3. Every model must predict the same rows."
    )


def test_models_with_other_labels(tmp_path):
    a = write_csv(tmp_path / "a.csv", pred=[0.1, 0.2, 0.3], label=[0.0, 0.0, 1.0])
    b = write_csv(tmp_path / "b.csv", pred=[0.1, 0.2, 0.3], label=[1.0, 0.0, 1.0])
    assert error_line("compare", a, b, "-l", "mse") == (
        "error: model 'b' has other labels or weights than model 'a'. "
        "Pass --labels FILE to give every model the same labels."
    )


def test_duplicate_model_names(tmp_path, regression):
    labels, a, *_ = regression
    (tmp_path / "x").mkdir()
    a2 = write_csv(tmp_path / "x" / "a.csv", pred=np.zeros(120))
    assert error_line("compare", "--labels", labels, a, a2) == (
        "error: two models are named 'a'. Pass --name for each model, in order."
    )


def test_unknown_baseline(regression):
    labels, a, b, _ = regression
    assert error_line("compare", "--labels", labels, a, b, "--baseline", "z") == (
        "error: --baseline 'z' is not a model; models are a, b. Pass one of the model names."
    )


@pytest.mark.parametrize("ci", ["0", "1", "1.5", "-0.2"])
def test_ci_outside_unit_interval(regression, ci):
    labels, a, b, _ = regression
    line = error_line("compare", "--labels", labels, a, b, "--ci", ci)
    assert line == (
        f"error: --ci is {float(ci):g}; it must lie strictly between 0 and 1. "
        "Pass --ci 0.95 for a 95% interval."
    )


def test_bootstrap_below_one(regression):
    labels, a, b, _ = regression
    assert error_line("compare", "--labels", labels, a, b, "--bootstrap", "0") == (
        "error: --bootstrap is 0; at least 1 resample is needed. Pass --bootstrap 1000 "
        "(the default)."
    )


def test_model_col_with_two_files(regression):
    labels, a, b, _ = regression
    assert error_line("compare", a, b, "--labels", labels, "--model-col", "x=pred") == (
        "error: --model-col reads the models from one table, but 2 files are given. "
        "Give one PREDS file with --model-col, or one file per model without it."
    )


# --- sample data and a real process ----------------------------------------------------------


def test_sample_data_csv_and_npy_are_the_same_model():
    doc = as_json(
        "compare",
        "--labels",
        SAMPLE / "binary_labels.csv",
        SAMPLE / "binary_preds.csv",
        SAMPLE / "binary_preds.npy",
        "--name",
        "csv",
        "--name",
        "npy",
        "-l",
        "bce,mse",
    )
    # reference value from sample_data/README.md (sklearn.metrics.log_loss)
    assert doc["models"]["csv"]["losses"]["bce"] == pytest.approx(0.0857951510196059, rel=1e-12)
    for comp in doc["comparisons"]:
        assert (comp["difference"], comp["ci"], comp["p_value"]) == (0.0, [0.0, 0.0], 1.0)


def test_multiclass_model_columns_by_glob():
    doc = as_json(
        "compare",
        SAMPLE / "multiclass.csv",
        "--model-col",
        "iris=p_*",
        "--model-col",
        "twin=p_*",
        "--label-col",
        "species",
        "-l",
        "ce,mse",
    )
    assert doc["task"] == "multiclass"
    # reference value from sample_data/README.md (sklearn.metrics.log_loss)
    assert doc["models"]["iris"]["losses"]["ce"] == pytest.approx(0.1208148915183713, rel=1e-12)
    assert [c["difference"] for c in doc["comparisons"]] == [0.0, 0.0]


def test_subprocess_on_sample_data():
    proc = spawn(
        [
            "compare",
            "--labels",
            SAMPLE / "binary_labels.npy",
            SAMPLE / "binary_preds.npy",
            SAMPLE / "binary_preds.csv",
            "--name",
            "npy",
            "--name",
            "csv",
            "-l",
            "bce",
            "--method",
            "normal",
        ],
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "normal approximation (delta method) · 95% CI" in proc.stdout
    assert "npy" in proc.stdout and "csv" in proc.stdout


def test_sample_weights_flow_into_the_comparison(tmp_path):
    from losscli import evaluate

    rng = np.random.default_rng(3)
    y, w = rng.normal(size=90), rng.uniform(0.1, 3, 90)
    pa, pb = y + rng.normal(size=90), y + 0.5 * rng.normal(size=90)
    labels = write_csv(tmp_path / "labels.csv", y=y, w=w)
    a, b = write_csv(tmp_path / "a.csv", pred=pa), write_csv(tmp_path / "b.csv", pred=pb)
    doc = as_json(
        "compare", "--labels", labels, a, b, "--weight-col", "w", "-l", "mse", "--method", "normal"
    )
    # oracle: evaluate() with the weights, and the hand-worked ratio-estimator variance
    d = (
        evaluate(pb, y, "mse", sample_weight=w)["mse"]
        - evaluate(pa, y, "mse", sample_weight=w)["mse"]
    )
    (comp,) = doc["comparisons"]
    assert comp["difference"] == pytest.approx(d, rel=1e-12)
    delta = (pb - y) ** 2 - (pa - y) ** 2
    se = np.sqrt(np.sum((w * (delta - d)) ** 2) / np.sum(w) ** 2 * 90 / 89)
    assert comp["ci"][1] - comp["difference"] == pytest.approx(1.959963984540054 * se, rel=1e-8)


def test_W6_models_named_per_npz_key_keep_the_key(tmp_path):
    """`m.npz:a` and `m.npz:b` are two models, named `m:a` and `m:b`, not twice `m`."""
    path = tmp_path / "m.npz"
    y = np.array([0, 1, 1, 0])
    a, b = np.array([0.2, 0.7, 0.6, 0.3]), np.array([0.4, 0.6, 0.9, 0.1])
    np.savez(path, labels=y, a=a, b=b)
    doc = as_json("compare", "--labels", f"{path}:labels", f"{path}:a", f"{path}:b", "-l", "bce")
    assert list(doc["models"]) == ["m:a", "m:b"]
    from sklearn.metrics import log_loss

    assert doc["models"]["m:b"]["losses"]["bce"] == pytest.approx(log_loss(y, b), rel=1e-12)
