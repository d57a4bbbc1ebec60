"""`losscli.compare` and `losscli.compare_stream` called directly (SPEC §5, §7): the numbers
against independent references (scikit-learn, SciPy, cases worked by hand), the result
object (`to_dict` is the JSON of `compare --format json`, `to_frame`), the agreement of the
two entry points, and a streamed compare that gives the same bits on any number of threads."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics

import losscli
from losscli import ComparisonResult, InputError, compare, compare_stream


@pytest.fixture
def three(rng):
    """Binary labels, sample weights and three models' probabilities of the same rows."""
    n = 3000
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < 0.8 * p).astype(np.int64)
    w = rng.uniform(0.2, 3.0, n)
    preds = {
        name: np.clip(p + s * rng.normal(size=n), 0.001, 0.999)
        for name, s in (("a", 0.05), ("b", 0.2), ("c", 0.3))
    }
    return preds, y, w


def chunked(preds, y, w, rows):
    """The tuple chunks of compare_stream: (preds_by_model, labels, weights)."""
    for i in range(0, len(y), rows):
        part = {name: p[i : i + rows] for name, p in preds.items()}
        yield part, y[i : i + rows], None if w is None else w[i : i + rows]


def rel(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


# --- numbers against independent references ----------------------------------------------------


@pytest.mark.parametrize("method", ["bootstrap", "normal"])
def test_bce_difference_is_sklearn_log_loss_of_b_minus_a(three, method):
    preds, y, w = three
    got = compare(preds, y, losses=["bce"], sample_weight=w, method=method, n_resamples=50)
    assert [(c.model, c.baseline, c.loss) for c in got.comparisons] == [
        ("b", "a", "bce"),
        ("c", "a", "bce"),
    ]
    for c in got.comparisons:
        # oracle: sklearn.metrics.log_loss, which also clips at float64 machine epsilon
        want = metrics.log_loss(y, preds[c.model], sample_weight=w) - metrics.log_loss(
            y, preds["a"], sample_weight=w
        )
        assert c.difference == pytest.approx(want, abs=1e-12)
        assert c.method == method
    for name, p in preds.items():
        want = metrics.log_loss(y, p, sample_weight=w)
        assert got.models[name].losses["bce"] == pytest.approx(want, rel=1e-12)


def test_normal_interval_worked_by_hand():
    # mse against labels 0: model a predicts 0 (ℓ = 0), model b predicts 1, 0, 1, 0
    # (ℓ = 1, 0, 1, 0), so Δ = ℓb − ℓa = 1, 0, 1, 0 and d = 0.5. The delta method for a
    # mean of n rows is se = sd(Δ, ddof=1)/√n = √(1/3)/2 = 1/√12 = 0.288675...
    y = np.zeros(4)
    got = compare({"a": np.zeros(4), "b": np.array([1.0, 0, 1, 0])}, y, losses=["mse"],
                  task="regression", method="normal", ci=0.9)  # fmt: skip
    (c,) = got.comparisons
    se = 1.0 / math.sqrt(12.0)
    z = stats.norm.ppf(0.95)  # oracle: scipy; 1.644854
    assert c.difference == 0.5
    assert c.ci[0] == pytest.approx(0.5 - z * se, rel=1e-12)
    assert c.ci[1] == pytest.approx(0.5 + z * se, rel=1e-12)
    assert c.ci == pytest.approx((0.025172, 0.974828), abs=1e-6)  # 0.5 ∓ 1.644854·0.288675
    assert c.p_value == pytest.approx(2 * stats.norm.sf(0.5 / se), rel=1e-12)
    assert c.p_value == pytest.approx(0.083265, abs=1e-6)  # 2·(1 − Φ(√3))


def test_normal_interval_of_a_weighted_mean_is_the_ratio_estimator(rng):
    # for d = Σω(ℓb − ℓa)/Σω the delta method gives
    # Var(d) = n/(n−1) · Σ ωᵢ²(Δᵢ − d)² / (Σω)² (the ratio estimator's variance)
    n = 500
    y = rng.normal(size=n)
    w = rng.uniform(0.1, 2.0, n)
    a, b = y + rng.normal(size=n), y + 0.8 * rng.normal(size=n)
    got = compare({"a": a, "b": b}, y, losses=["mae"], sample_weight=w, method="normal")
    (c,) = got.comparisons
    delta = np.abs(b - y) - np.abs(a - y)
    d = np.sum(w * delta) / np.sum(w)
    se = math.sqrt(n / (n - 1) * np.sum(w**2 * (delta - d) ** 2) / np.sum(w) ** 2)
    z = stats.norm.ppf(0.975)
    assert c.difference == pytest.approx(d, rel=1e-12)
    assert c.ci == pytest.approx((d - z * se, d + z * se), rel=1e-10)
    assert c.p_value == pytest.approx(2 * stats.norm.sf(abs(d) / se), rel=1e-9)


def test_a_model_equal_to_the_baseline_differs_by_exactly_nothing(three):
    preds, y, w = three
    same = {"a": preds["a"], "twin": preds["a"].copy()}
    for method in ("normal", "bootstrap"):
        (c, *_) = compare(same, y, losses=["bce"], method=method, n_resamples=30).comparisons
        assert (c.difference, c.ci, c.p_value) == (0.0, (0.0, 0.0), 1.0)


def test_holm_adjusts_each_loss_over_its_models(three):
    preds, y, w = three
    got = compare(preds, y, losses=["bce", "mse"], method="normal", holm=True)
    for loss in ("bce", "mse"):
        family = [c for c in got.comparisons if c.loss == loss]
        lo, hi = sorted(family, key=lambda c: c.p_value)
        # Holm (1979) by hand for two tests: 2·p₍₁₎, then max(that, p₍₂₎), capped at 1
        assert lo.p_value_holm == min(1.0, 2 * lo.p_value)
        assert hi.p_value_holm == max(lo.p_value_holm, min(1.0, hi.p_value))


def test_baseline_by_name(three):
    preds, y, w = three
    got = compare(preds, y, losses=["mse"], baseline="c", method="normal")
    assert got.baseline == "c"
    assert [(c.model, c.baseline) for c in got.comparisons] == [("a", "c"), ("b", "c")]
    mse = {m: float(np.mean((p - y) ** 2)) for m, p in preds.items()}
    for c in got.comparisons:
        assert c.difference == pytest.approx(mse[c.model] - mse["c"], abs=1e-15)


# --- the result object -------------------------------------------------------------------------


def test_to_dict_is_the_json_of_the_command(three, tmp_path):
    """The CLI on files of the same arrays gives the same document but for "inputs"."""
    from tests.cli.conftest import invoke

    preds, y, _ = three
    np.save(tmp_path / "y.npy", y)
    for name, p in preds.items():
        np.save(tmp_path / f"{name}.npy", p)
    files = [tmp_path / f"{name}.npy" for name in preds]
    for extra in ([], ["--method", "normal", "--holm", "--baseline", "b", "-l", "bce,dice"]):
        ran = invoke(["compare", "--labels", tmp_path / "y.npy", *files, *extra, "-f", "json"])
        assert ran.code == 0, ran.err
        cli = json.loads(ran.out)
        kw = dict(method="normal", holm=True, baseline="b", losses=["bce", "dice"]) if extra else {}
        doc = json.loads(json.dumps(compare(preds, y, **kw).to_dict()))
        for model in cli["models"].values():
            assert model.pop("inputs")["preds"]["format"] == "npy"
        for model in doc["models"].values():
            assert model.pop("inputs") == {}
        assert doc == cli


def test_to_frame_one_row_per_model_and_loss(three):
    preds, y, _ = three
    got = compare(preds, y, losses=["bce", "mse"], method="normal")
    frame = got.to_frame()
    assert list(frame.columns) == [
        "model", "loss", "value", "baseline", "difference", "ci_low", "ci_high", "p_value",
        "method",
    ]  # fmt: skip
    assert len(frame) == 6
    assert list(zip(frame["loss"], frame["model"], strict=True)) == [
        (loss, m) for loss in ("bce", "mse") for m in ("a", "b", "c")
    ]
    base = frame[frame["model"] == "a"]
    assert base["difference"].isna().all() and base["method"].isna().all()
    row = frame[(frame["model"] == "c") & (frame["loss"] == "mse")].iloc[0]
    c = next(c for c in got.comparisons if (c.model, c.loss) == ("c", "mse"))
    assert (row["difference"], row["ci_low"], row["ci_high"], row["p_value"]) == (
        c.difference, c.ci[0], c.ci[1], c.p_value,
    )  # fmt: skip
    assert row["value"] == got.models["c"].losses["mse"] and row["method"] == "normal"
    assert "p_value_holm" in compare(preds, y, losses=["mse"], holm=True).to_frame().columns


def test_result_names(three):
    preds, y, _ = three
    got = compare(preds, y, losses=["bce"], n_resamples=20)
    assert isinstance(got, ComparisonResult) and got.method == "bootstrap"
    assert list(got.models) == ["a", "b", "c"] and got.task == "binary"
    assert got.n_samples == len(y)
    assert losscli.compare is compare and "compare" in dir(losscli)


def test_pandas_and_pyarrow_inputs(rng):
    import pyarrow as pa

    n = 200
    P = rng.dirichlet(np.ones(3), n)
    Q = rng.dirichlet(np.ones(3), n)
    labels = np.array(["cat", "dog", "eel"])[rng.integers(0, 3, n)]
    frames = {
        "p": pd.DataFrame(P, columns=["p_cat", "p_dog", "p_eel"]),
        "q": pa.table({"q_cat": Q[:, 0], "q_dog": Q[:, 1], "q_eel": Q[:, 2]}),
    }
    got = compare(frames, pd.Series(labels), losses=["ce"], method="normal")
    y = np.searchsorted(["cat", "dog", "eel"], labels)
    want = metrics.log_loss(y, Q) - metrics.log_loss(y, P)  # oracle: scikit-learn
    assert got.comparisons[0].difference == pytest.approx(want, abs=1e-12)
    assert got.models["q"].classes == ["cat", "dog", "eel"]


# --- compare and compare_stream agree; the threads change nothing ------------------------------


@pytest.mark.parametrize("rows", [7, 1000])
def test_compare_stream_agrees_with_compare(three, rows):
    preds, y, w = three
    kw = dict(losses=["bce", "mse", "rmse", "dice", "hinge"], method="normal", baseline="b")
    whole = compare(preds, y, sample_weight=w, **kw)
    streamed = compare_stream(chunked(preds, y, w, rows), **kw)
    for name in preds:
        for loss, value in whole.models[name].losses.items():
            assert rel(streamed.models[name].losses[loss], value) < 1e-12, (name, loss)
    for got, want in zip(streamed.comparisons, whole.comparisons, strict=True):
        assert (got.model, got.loss) == (want.model, want.loss)
        assert rel(got.difference, want.difference) < 1e-12
        assert rel(got.ci[0], want.ci[0]) < 1e-9 and rel(got.ci[1], want.ci[1]) < 1e-9
        assert rel(got.p_value, want.p_value) < 1e-9


def test_compare_stream_auto_on_few_rows_is_the_bootstrap_of_compare(three):
    preds, y, w = three
    streamed = compare_stream(chunked(preds, y, w, 500), losses=["bce"], n_resamples=40)
    assert streamed.method == "bootstrap"
    assert streamed.to_dict() == compare(preds, y, losses=["bce"], sample_weight=w,
                                         n_resamples=40).to_dict()  # fmt: skip


@pytest.mark.parametrize("class_weight", [None, "balanced", {"0": 1.0, "1": 3.0}])
def test_streamed_numbers_are_the_same_bits_on_one_thread_and_on_two(three, class_weight):
    preds, y, w = three
    kw = dict(method="normal", class_weight=class_weight, holm=True)

    def run(threads: int) -> dict:
        return compare_stream(
            chunked(preds, y, w, 257),
            threads=threads,
            rewind=lambda: chunked(preds, y, w, 257),
            **kw,
        ).to_dict()

    one, two = run(1), run(2)
    assert one == two  # every float equal to the last bit
    assert json.dumps(one) == json.dumps(two)
    assert len(one["comparisons"]) == 2 * len(one["options"]["losses"])


def test_balanced_class_weights_without_rewind_hold_the_rows(three):
    preds, y, w = three
    chunks = chunked(preds, y, w, 400)
    held = compare_stream(chunks, losses=["bce"], method="normal", class_weight="balanced")
    whole = compare(preds, y, losses=["bce"], sample_weight=w, method="normal",
                    class_weight="balanced")  # fmt: skip
    assert held.to_dict() == whole.to_dict()
    rewound = compare_stream(chunked(preds, y, w, 400), losses=["bce"], method="normal",
                             class_weight="balanced", rewind=lambda: chunked(preds, y, w, 400))  # fmt: skip
    for got, want in zip(rewound.comparisons, whole.comparisons, strict=True):
        assert rel(got.difference, want.difference) < 1e-12
        assert rel(got.ci[0], want.ci[0]) < 1e-9


def test_progress_counts_every_row(three):
    preds, y, w = three
    seen: list[int] = []
    compare_stream(chunked(preds, y, w, 700), losses=["mse"], method="normal", progress=seen.append)
    assert seen == [700, 700, 700, 700, 200]


# --- errors name the API's keywords ----------------------------------------------------------


def error(call) -> str:
    with pytest.raises(InputError) as info:
        call()
    return str(info.value)


def test_errors_name_the_keywords(three):
    preds, y, w = three
    assert error(lambda: compare(preds, y, baseline="z")) == (
        "baseline 'z' is not a model; models are a, b, c. Pass one of the model names."
    )
    assert error(lambda: compare({"a": preds["a"]}, y)).startswith(
        "compare needs at least two models, got 1."
    )
    assert error(lambda: compare(preds, y, nan_policy="omit")).startswith(
        "nan_policy='omit' could drop different rows for each model."
    )
    short = {"a": preds["a"], "b": preds["b"][:-1]}
    assert error(lambda: compare(short, y)) == (
        f"model 'b' has {len(y) - 1} rows, the labels have {len(y)}. "
        "Every model must predict the same rows."
    )


def test_an_engine_error_names_the_model_and_the_row(three):
    preds, y, w = three
    bad = {**preds, "b": preds["b"].copy()}
    bad["b"][2500] = 1.5
    for call in (
        lambda: compare(bad, y, losses=["bce"]),
        lambda: compare_stream(chunked(bad, y, w, 400), losses=["bce"], method="normal"),
    ):
        assert error(call).startswith(
            "preds_by_model['b'], row 2501: bce needs probabilities in [0, 1], found 1.5."
        )


def test_the_first_error_in_the_data_is_the_one_reported(three):
    """A chunk that cannot be read after a chunk with a bad value: the bad value is reported,
    though the later chunk is read while the earlier one is still evaluated."""
    preds, y, w = three
    bad = {**preds, "c": preds["c"].copy()}
    bad["c"][450] = -0.5

    def chunks():
        for i, chunk in enumerate(chunked(bad, y, w, 100)):
            if i == 6:
                raise InputError("chunk 7 cannot be read")
            yield chunk

    for threads in (1, 2, 4):
        got = error(lambda t=threads: compare_stream(chunks(), losses=["bce"],
                                                      method="normal", threads=t))  # fmt: skip
        assert got.startswith("preds_by_model['c'], row 451: bce needs probabilities"), got
    assert error(lambda: compare_stream(chunks(), losses=["mse"], method="normal")) == (
        "chunk 7 cannot be read."
    )


def test_a_chunk_it_cannot_read_is_a_type_error(three):
    with pytest.raises(TypeError, match=r"\(preds_by_model, labels\)"):
        compare_stream([np.array([0.1, 0.2])])
