"""Slices, per-class losses and worst rows through the library API (SPEC §8, issue 11).

The oracle of a slice is `evaluate` run on that slice's rows alone, with the same weights;
balanced class weights are computed here from the whole input (n / (k·n_c)) and passed to
the per-slice reference explicitly, so a slice that used its own class counts would fail.
Where it is cheap, scikit-learn is a second, independent oracle. The oracle of the worst
rows is a full stable argsort of the per-sample losses (``reduction='none'``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special
from sklearn.metrics import (
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
)

import losscli
from losscli.errors import InputError

RTOL = 1e-12
K = 3
GROUPS = np.array(["a", "b", "c"], dtype=object)
CLASS_WEIGHTS = {"binary": {0: 1.0, 1: 4.0}, "multiclass": {0: 0.5, 1: 2.0, 2: 3.0}}

# name → (task, from_logits, label form)
CASES = {
    "regression": ("regression", False, "values"),
    "regression_2d": ("regression", False, "values"),
    "binary": ("binary", False, "index"),
    "binary_logits": ("binary", True, "index"),
    "multiclass": ("multiclass", False, "index"),
    "multiclass_logits": ("multiclass", True, "index"),
    "multiclass_onehot": ("multiclass", False, "onehot"),
}
WEIGHTINGS = ("none", "sample", "class", "balanced", "sample+balanced")


def make_case(case: str, seed: int, n: int) -> dict[str, Any]:
    """Predictions, labels, sample weights and a slice column `g` whose groups have very
    different class mixes (so a slice's own balanced weights differ from the whole's); `g`
    holds None and NaN, which are one null slice."""
    task, logits, form = CASES[case]
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.2, 3.0, n)
    if task == "regression":
        shape = (n, 2) if case.endswith("2d") else (n,)
        cls = rng.integers(0, K, n)  # only to give the groups different error levels
        scale = (0.5 + cls) if len(shape) == 1 else (0.5 + cls)[:, None]
        y = rng.normal(0.0, 2.0, shape)
        p = y + rng.normal(0.0, 1.0, shape) * scale
        labels: np.ndarray = y
    elif task == "binary":
        cls = (rng.uniform(size=n) < 0.3).astype(np.int64)
        z = rng.normal(0.0, 2.0, n) + (2 * cls - 1)
        p = z if logits else special.expit(z)
        labels = cls
    else:
        cls = rng.choice(K, n, p=[0.55, 0.3, 0.15])
        z = rng.normal(0.0, 1.5, (n, K)) + 1.5 * np.eye(K)[cls]
        p = z if logits else special.softmax(z, axis=1)
        labels = np.eye(K)[cls] if form == "onehot" else cls
    g = np.where(rng.uniform(size=n) < 0.8, GROUPS[cls % K], GROUPS[rng.integers(0, K, n)])
    g = g.astype(object)
    g[rng.uniform(size=n) < 0.08] = None
    g[rng.uniform(size=n) < 0.04] = np.nan
    return {"task": task, "logits": logits, "p": p, "y": labels, "cls": cls, "s": s, "g": g}


def whole_balanced(d: dict[str, Any]) -> dict[int, float]:
    """scikit-learn's balanced class weights n / (k·n_c), from every row of the input."""
    y = d["y"]
    counts = y.sum(axis=0) if y.ndim == 2 else np.bincount(y, minlength=_k(d))
    n = len(y)
    return {c: n / (_k(d) * counts[c]) for c in range(_k(d)) if counts[c]}


def _k(d: dict[str, Any]) -> int:
    return 2 if d["task"] == "binary" else K


def _weights(d: dict[str, Any], weighting: str) -> tuple[Any, Any, Any]:
    """(sample_weight, class_weight for the sliced call, class_weight for the references)."""
    s = d["s"] if "sample" in weighting else None
    if "balanced" in weighting:
        return s, "balanced", whole_balanced(d)
    if weighting == "class":
        return s, CLASS_WEIGHTS[d["task"]], CLASS_WEIGHTS[d["task"]]
    return s, None, None


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rows_of(column: np.ndarray, key: str | None) -> np.ndarray:
    """The rows whose value in an object column is `key` (None: the null rows)."""
    if key is None:
        return np.array([_is_null(v) for v in column])
    return np.array([not _is_null(v) and str(v) == key for v in column])


def close(got: float | None, want: float | None, rel: float = RTOL) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=rel, abs_tol=0.0)


def assert_slice_equals_reference(
    d: dict[str, Any],
    group: Any,
    mask: np.ndarray,
    sample_weight: Any,
    class_weight: Any,
    **options: Any,
) -> None:
    """`group` (a `losscli.slicing.Group`) against `evaluate` on the rows of `mask` alone."""
    ref = losscli.evaluate(
        d["p"][mask],
        d["y"][mask],
        list(group.losses),
        task=d["task"],
        from_logits=d["logits"],
        sample_weight=None if sample_weight is None else sample_weight[mask],
        class_weight=class_weight,
        **options,
    )
    assert group.n_samples == int(mask.sum()) == ref.n_samples
    assert close(group.sum_weights, ref.sum_weights), (group.key, "sum_weights")
    assert list(group.losses) == list(ref.losses)
    for name, value in group.losses.items():
        assert close(value, ref.losses[name]), (group.key, name, value, ref.losses[name])


# --- 1. every slice equals evaluate on its rows alone ------------------------------------


@pytest.mark.parametrize(
    ("case", "weighting"),
    [
        (c, w)
        for c in CASES
        for w in WEIGHTINGS
        if CASES[c][0] != "regression" or w in ("none", "sample")
    ],
)
def test_each_slice_equals_evaluate_on_its_rows_alone(case: str, weighting: str) -> None:
    d = make_case(case, seed=11, n=240)
    s, sliced_cw, ref_cw = _weights(d, weighting)
    got = losscli.evaluate(
        d["p"],
        d["y"],
        task=d["task"],
        from_logits=d["logits"],
        sample_weight=s,
        class_weight=sliced_cw,
        by={"g": d["g"]},
    )
    # every loss of the task, dataset-level ones (rmse, dice) included
    assert "rmse" in got.losses and ("dice" in got.losses) == (d["task"] == "binary")
    (slicing,) = got.slices
    assert slicing.by == ["g"]
    assert [grp.key["g"] for grp in slicing.groups] == ["a", "b", "c", None]
    for grp in slicing.groups:
        assert_slice_equals_reference(d, grp, rows_of(d["g"], grp.key["g"]), s, ref_cw)
    # the slices partition the input
    assert sum(grp.n_samples for grp in slicing.groups) == got.n_samples
    assert close(sum(grp.sum_weights for grp in slicing.groups), got.sum_weights, 1e-12)


LOSS_OPTIONS = {
    "regression": dict(huber_delta=0.3),
    "binary": dict(
        label_smoothing=0.1, focal_gamma=1.5, focal_alpha=0.25, dice_smooth=0.5, huber_delta=0.3
    ),
    "multiclass": dict(label_smoothing=0.05, hinge_mode="weston-watkins", huber_delta=0.3),
}


@pytest.mark.parametrize("case", [c for c in CASES if c != "regression_2d"])
def test_each_slice_equals_evaluate_on_its_rows_alone_with_loss_options(case: str) -> None:
    d = make_case(case, seed=12, n=200)
    weighting = "sample" if d["task"] == "regression" else "sample+balanced"
    s, sliced_cw, ref_cw = _weights(d, weighting)
    options = LOSS_OPTIONS[d["task"]]
    got = losscli.evaluate(
        d["p"],
        d["y"],
        task=d["task"],
        from_logits=d["logits"],
        sample_weight=s,
        class_weight=sliced_cw,
        by={"g": d["g"]},
        **options,
    )
    for grp in got.slices[0].groups:
        mask = rows_of(d["g"], grp.key["g"])
        assert_slice_equals_reference(d, grp, mask, s, ref_cw, **options)


@pytest.mark.parametrize("case", ["binary", "multiclass", "multiclass_onehot"])
def test_balanced_weights_of_a_slice_are_the_whole_inputs(case: str) -> None:
    """The data make the slice's own balanced weights give other values, so the test
    above would catch a slice that counted its own classes."""
    d = make_case(case, seed=11, n=240)
    got = losscli.evaluate(
        d["p"], d["y"], task=d["task"], class_weight="balanced", by={"g": d["g"]}
    )
    loss = "bce" if d["task"] == "binary" else "ce"
    whole = whole_balanced(d)
    differs = 0
    for grp in got.slices[0].groups:
        mask = rows_of(d["g"], grp.key["g"])
        y = d["y"][mask]
        counts = y.sum(axis=0) if y.ndim == 2 else np.bincount(y, minlength=_k(d))
        own = {c: len(y) / (_k(d) * counts[c]) if counts[c] else 1.0 for c in range(_k(d))}
        as_own = losscli.evaluate(d["p"][mask], y, [loss], task=d["task"], class_weight=own)
        as_whole = losscli.evaluate(d["p"][mask], y, [loss], task=d["task"], class_weight=whole)
        assert close(grp.losses[loss], as_whole.losses[loss])
        differs += not math.isclose(as_own.losses[loss], as_whole.losses[loss], rel_tol=1e-3)
    assert differs >= 3


@pytest.mark.parametrize("case", ["regression", "binary", "binary_logits", "multiclass"])
def test_slices_match_sklearn_with_sample_and_whole_balanced_weights(case: str) -> None:
    d = make_case(case, seed=5, n=300)
    balanced = d["task"] != "regression"
    got = losscli.evaluate(
        d["p"],
        d["y"],
        task=d["task"],
        from_logits=d["logits"],
        sample_weight=d["s"],
        class_weight="balanced" if balanced else None,
        by={"g": d["g"]},
    )
    cw = whole_balanced(d) if balanced else None
    for grp in got.slices[0].groups:
        m = rows_of(d["g"], grp.key["g"])
        y, p = d["y"][m], d["p"][m]
        # ωᵢ = sᵢ·c(yᵢ) (SPEC §4), as one sample_weight for scikit-learn
        w = d["s"][m] * (np.array([cw[c] for c in y]) if cw else 1.0)
        if d["task"] == "regression":
            # oracle: sklearn mean_squared_error / mean_absolute_error with sample_weight
            assert close(grp.losses["mse"], mean_squared_error(y, p, sample_weight=w))
            assert close(grp.losses["mae"], mean_absolute_error(y, p, sample_weight=w))
            assert close(grp.losses["rmse"], math.sqrt(mean_squared_error(y, p, sample_weight=w)))
        elif d["task"] == "binary":
            prob = special.expit(p) if d["logits"] else p
            rel = 1e-10 if d["logits"] else RTOL  # scikit-learn sees rounded probabilities
            # oracle: sklearn log_loss and brier_score_loss with sample_weight
            want = log_loss(y, prob, sample_weight=w, labels=[0, 1])
            assert close(grp.losses["bce"], want, rel)
            assert close(grp.losses["mse"], brier_score_loss(y, prob, sample_weight=w), rel)
        else:
            # oracle: sklearn log_loss with sample_weight
            want = log_loss(y, p, sample_weight=w, labels=list(range(K)))
            assert close(grp.losses["ce"], want)
        assert close(grp.sum_weights, float(w.sum()))


# --- 2. crosses, nulls, bins, per class, the shapes of the output -----------------------


def test_cross_of_two_columns_keys_every_combination_seen() -> None:
    d = make_case("binary", seed=3, n=200)
    rng = np.random.default_rng(3)
    device = rng.choice(np.array(["ios", "web"], dtype=object), 200)
    got = losscli.evaluate(
        d["p"],
        d["y"],
        task="binary",
        by={"g": d["g"], "device": device},
        slicings=[("g", "device")],
    )
    (slicing,) = got.slices
    assert slicing.by == ["g", "device"]
    keys = [(grp.key["g"], grp.key["device"]) for grp in slicing.groups]
    assert keys == [(g, dv) for g in ["a", "b", "c", None] for dv in ["ios", "web"]]
    for grp in slicing.groups:
        mask = rows_of(d["g"], grp.key["g"]) & (device == grp.key["device"])
        assert_slice_equals_reference(d, grp, mask, None, None)


def test_each_column_of_a_frame_is_its_own_slicing_in_order() -> None:
    d = make_case("regression", seed=4, n=120)
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"z": rng.choice(["u", "v"], 120), "g": d["g"]})
    got = losscli.evaluate(d["p"], d["y"], ["mse", "rmse"], task="regression", by=frame)
    assert [s.by for s in got.slices] == [["z"], ["g"]]
    for grp in got.slices[0].groups:
        mask = frame["z"].to_numpy() == grp.key["z"]
        assert_slice_equals_reference(d, grp, mask, None, None)


def test_none_and_nan_are_one_null_slice_last() -> None:
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    y = np.array([0.0, 1.0, 0.5, 2.0, 1.0, 0.0, 3.0])
    g = np.array(["x", None, "y", np.nan, "x", None, "y"], dtype=object)
    got = losscli.evaluate(p, y, ["mae"], task="regression", by={"g": g})
    groups = got.slices[0].groups
    assert [grp.key for grp in groups] == [{"g": "x"}, {"g": "y"}, {"g": None}]
    null = groups[-1]
    # hand: rows 2, 4, 6 (1-based): |0.2 − 1| + |0.4 − 2| + |0.6 − 0| = 0.8 + 1.6 + 0.6
    assert null.n_samples == 3
    assert null.losses["mae"] == pytest.approx(3.0 / 3, rel=RTOL)
    doc = got.to_dict()["slices"][0]
    assert doc["groups"][-1]["key"] == {"g": None}
    assert '"g": null' in json.dumps(doc)


def test_bins_are_half_open_intervals_keyed_by_their_edges() -> None:
    x = np.array([0.1, 0.2, 0.35, 0.5, 0.9, 0.199, 0.5, np.nan, 0.7])
    p = np.arange(9, dtype=float)
    y = np.zeros(9)
    got = losscli.evaluate(p, y, ["mae"], task="regression", by={"x": x}, bins={"x": [0.2, 0.5]})
    groups = got.slices[0].groups
    keys = [grp.key["x"] for grp in groups]
    assert keys == ["(-inf, 0.2)", "[0.2, 0.5)", "[0.5, inf)", None]
    # rows (0-based) per bin: x < 0.2 → 0, 5; 0.2 ≤ x < 0.5 → 1, 2; x ≥ 0.5 → 3, 4, 6, 8
    want = {"(-inf, 0.2)": [0, 5], "[0.2, 0.5)": [1, 2], "[0.5, inf)": [3, 4, 6, 8], None: [7]}
    for grp in groups:
        rows = want[grp.key["x"]]
        assert grp.n_samples == len(rows)
        assert grp.losses["mae"] == pytest.approx(float(np.mean(p[rows])), rel=RTOL)


@pytest.mark.parametrize("case", ["multiclass", "multiclass_onehot", "binary"])
def test_per_class_is_a_slicing_by_the_true_class_named_by_class(case: str) -> None:
    d = make_case(case, seed=8, n=200)
    names = ["cat", "dog", "eel"] if d["task"] == "multiclass" else ["0", "1"]
    preds: Any = d["p"]
    if d["task"] == "multiclass":
        preds = pd.DataFrame(d["p"], columns=[f"p_{c}" for c in names])
    got = losscli.evaluate(
        preds, d["y"], task=d["task"], sample_weight=d["s"], class_weight="balanced",
        per_class=True,
    )  # fmt: skip
    (slicing,) = got.slices
    assert slicing.by == ["class"]
    assert [grp.key for grp in slicing.groups] == [{"class": c} for c in names]
    for j, grp in enumerate(slicing.groups):
        assert_slice_equals_reference(d, grp, d["cls"] == j, d["s"], whole_balanced(d))


def test_to_dict_and_tidy_frame_carry_the_slices() -> None:
    d = make_case("binary", seed=9, n=150)
    got = losscli.evaluate(d["p"], d["y"], ["bce", "dice"], task="binary", by={"g": d["g"]})
    doc = got.to_dict()
    (sl,) = doc["slices"]
    assert sl["by"] == ["g"]
    assert [g["key"] for g in sl["groups"]] == [{"g": k} for k in ["a", "b", "c", None]]
    for g, grp in zip(sl["groups"], got.slices[0].groups, strict=True):
        assert g == {
            "key": grp.key,
            "n_samples": grp.n_samples,
            "sum_weights": grp.sum_weights,
            "losses": grp.losses,
            "small": False,
        }
    for name in ("bce", "dice"):
        values = {g["key"]["g"]: g["losses"][name] for g in sl["groups"]}
        summary = sl["summary"][name]
        assert summary["max"] == max(values.values())
        assert summary["min"] == min(values.values())
        assert summary["max_key"] == {"g": max(values, key=lambda k: values[k])}
        assert summary["min_key"] == {"g": min(values, key=lambda k: values[k])}
        assert summary["gap"] == pytest.approx(summary["max"] - summary["min"], rel=RTOL)
    json.dumps(doc, allow_nan=False)

    frame = got.to_frame()
    assert list(frame.columns) == ["slicing", "key", "loss", "value", "n_samples", "sum_weights"]
    whole = frame[frame["slicing"] == "all"]
    assert dict(zip(whole["loss"], whole["value"], strict=True)) == got.losses
    assert set(whole["n_samples"]) == {got.n_samples}
    rows = frame[frame["slicing"] == "g"]
    assert len(rows) == 4 * 2
    for grp in got.slices[0].groups:
        key = "g=null" if grp.key["g"] is None else f"g={grp.key['g']}"
        mine = rows[rows["key"] == key]
        assert dict(zip(mine["loss"], mine["value"], strict=True)) == grp.losses
        assert set(mine["n_samples"]) == {grp.n_samples}
        assert set(mine["sum_weights"]) == {grp.sum_weights}


# --- 3. any chunk size, any thread count ---------------------------------------------------


def stream_case(case: str, seed: int, n: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A case plus slice columns of every kind: text with nulls, integral numbers with
    NaN (numeric keys), a float to bin, and an id only shown in the worst rows."""
    d = make_case(case, seed, n)
    rng = np.random.default_rng(seed + 1)
    num = rng.choice([2.0, 9.0, 10.0, np.nan], n)
    data = {
        "g": d["g"],
        "num": num,
        "x": rng.uniform(0.0, 1.0, n),
        "id": np.array([f"r{i}" for i in range(n)], dtype=object),
    }
    return d, data


def chunked(
    d: dict[str, Any], s: np.ndarray | None, data: dict[str, np.ndarray], size: int
) -> Iterator[tuple[Any, ...]]:
    n = len(d["y"])
    for i in range(0, n, size):
        cut = slice(i, i + size)
        yield (
            d["p"][cut],
            d["y"][cut],
            None if s is None else s[cut],
            {k: v[cut] for k, v in data.items()},
        )


def assert_same_results(a: Any, b: Any) -> None:
    assert a.n_samples == b.n_samples
    assert close(a.sum_weights, b.sum_weights)
    assert list(a.losses) == list(b.losses)
    for name in a.losses:
        assert close(a.losses[name], b.losses[name]), name
    assert len(a.slices) == len(b.slices)
    for sa, sb in zip(a.slices, b.slices, strict=True):
        assert sa.by == sb.by
        assert [g.key for g in sa.groups] == [g.key for g in sb.groups]
        assert sa.left_out == sb.left_out
        for ga, gb in zip(sa.groups, sb.groups, strict=True):
            assert (ga.n_samples, ga.small) == (gb.n_samples, gb.small)
            assert close(ga.sum_weights, gb.sum_weights)
            assert list(ga.losses) == list(gb.losses)
            for name in ga.losses:
                assert close(ga.losses[name], gb.losses[name]), (sa.by, ga.key, name)
        assert list(sa.summary) == list(sb.summary)
        for name, ea in sa.summary.items():
            eb = sb.summary[name]
            assert (ea.max_key, ea.min_key) == (eb.max_key, eb.min_key)
            assert close(ea.max, eb.max) and close(ea.min, eb.min)
    assert a.worst_by == b.worst_by
    assert [w["row"] for w in a.worst] == [w["row"] for w in b.worst]
    for wa, wb in zip(a.worst, b.worst, strict=True):
        assert {k: v for k, v in wa.items() if k != "loss"} == {
            k: v for k, v in wb.items() if k != "loss"
        }
        assert close(wa["loss"], wb["loss"])


STREAM_CASES = [c for c in CASES if c != "regression_2d"]


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    case=st.sampled_from(STREAM_CASES),
    seed=st.integers(0, 2**31),
    n=st.integers(1, 60),
    size=st.sampled_from([1, 2, 7, 100]),
    threads=st.sampled_from([1, 2]),
    weighting=st.sampled_from(WEIGHTINGS),
)
def test_stream_equals_whole_for_any_chunking_and_threads(
    case: str, seed: int, n: int, size: int, threads: int, weighting: str
) -> None:
    d, data = stream_case(case, seed, n)
    if d["task"] == "regression" and weighting not in ("none", "sample"):
        weighting = "sample"
    s, cw, _ = _weights(d, weighting)
    keywords: dict[str, Any] = dict(
        task=d["task"],
        from_logits=d["logits"],
        class_weight=cw,
        per_class=d["task"] != "regression",
        bins={"x": [0.2, 0.5]},
        min_slice_rows=3,
        worst=5,
        show_cols=["id"],
    )
    slicings = ["g", ("g", "num"), "x", "num"]
    stream = chunked(d, s, data, size)
    try:
        whole = losscli.evaluate(
            d["p"], d["y"], sample_weight=s, by=data, slicings=slicings, **keywords
        )
    except InputError:  # balanced weights with a class absent from every row
        assert cw == "balanced"
        with pytest.raises(InputError):
            losscli.evaluate_stream(stream, by=slicings, threads=threads, **keywords)
        return
    streamed = losscli.evaluate_stream(stream, by=slicings, threads=threads, **keywords)
    assert_same_results(streamed, whole)


@pytest.mark.parametrize("size", [1, 2, 7, 100])
@pytest.mark.parametrize("threads", [1, 2])
def test_stream_equals_whole_with_whole_input_balanced_weights(size: int, threads: int) -> None:
    """One fixed, larger case per chunking (the property above draws small ones): with
    one-row chunks, every chunk sees one class, so class counts must come from the whole."""
    d, data = stream_case("multiclass", 21, 100)
    keywords: dict[str, Any] = dict(
        task="multiclass", class_weight="balanced", per_class=True, bins={"x": [0.2, 0.5]},
        worst=7, show_cols=["id"], sort_slices="ce", top_slices=3,
    )  # fmt: skip
    slicings = ["g", ("g", "num"), "x"]
    whole = losscli.evaluate(
        d["p"], d["y"], sample_weight=d["s"], by=data, slicings=slicings, **keywords
    )
    streamed = losscli.evaluate_stream(
        chunked(d, d["s"], data, size), by=slicings, threads=threads, **keywords
    )
    assert_same_results(streamed, whole)
    for grp in whole.slices[0].groups:
        mask = rows_of(d["g"], grp.key["g"])
        assert_slice_equals_reference(d, grp, mask, d["s"], whole_balanced(d))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("first", ["unweighted", "weighted"])
def test_chunks_without_weights_count_as_weight_one_beside_weighted_chunks(
    first: str, threads: int
) -> None:
    """A slice's Σω is kept as its row count until a chunk brings weights: chunks with and
    without weights, in either order, equal one evaluation with weight 1 on the others."""
    d, data = stream_case("binary", 5, 90)
    s = d["s"].copy()
    plain = slice(0, 45) if first == "unweighted" else slice(45, 90)
    s[plain] = 1.0

    def chunks() -> Iterator[tuple[Any, ...]]:
        for i in range(0, 90, 15):
            cut = slice(i, i + 15)
            weights = None if plain.start <= i < plain.stop else s[cut]
            yield d["p"][cut], d["y"][cut], weights, {k: v[cut] for k, v in data.items()}

    keywords: dict[str, Any] = dict(
        task="binary", per_class=True, bins={"x": [0.2, 0.5]}, worst=3, show_cols=["id"]
    )
    whole = losscli.evaluate(d["p"], d["y"], sample_weight=s, by=data, slicings=["g", "x"],
                             **keywords)  # fmt: skip
    streamed = losscli.evaluate_stream(chunks(), by=["g", "x"], threads=threads, **keywords)
    assert_same_results(streamed, whole)
    assert any(g.sum_weights != g.n_samples for g in streamed.slices[0].groups)


# --- 4. worst rows ---------------------------------------------------------------------------


def tied_regression(n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residuals from a few values only, so the largest ℓᵢ are tied across chunks."""
    rng = np.random.default_rng(17)
    y = rng.normal(0.0, 1.0, n)
    r = rng.choice([0.0, 0.5, 1.0, 1.5], n)
    r[[4, 13, 29, 52]] = 3.0  # the four largest, tied, spread over chunks of 7
    r[[2, 9, 20, 37, 44, 58]] = -2.0  # the next six, tied too
    p = y + r
    w = rng.uniform(0.5, 2.0, n)
    return p, y, w


def expected_worst(losses: np.ndarray, k: int) -> np.ndarray:
    """Oracle: a full stable sort, largest first; equal values keep their row order."""
    return np.argsort(-losses, kind="stable")[:k]


@pytest.mark.parametrize("size", [1, 2, 7, 100])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("loss", ["mae", "mse", "huber"])
def test_worst_rows_equal_a_full_stable_sort(loss: str, size: int, threads: int) -> None:
    p, y, w = tied_regression()
    per_row = losscli.evaluate(p, y, [loss], task="regression", sample_weight=w, reduction="none")
    ell = per_row.per_sample[loss]
    top = expected_worst(ell, 5)  # 4 tied, then 1 of 6 tied: the cut falls in a tie
    assert list(top[:4] + 1) == [5, 14, 30, 53]
    assert list(top[4:] + 1) == [3]
    n = len(y)
    got = losscli.evaluate_stream(
        ((p[i : i + size], y[i : i + size], w[i : i + size]) for i in range(0, n, size)),
        [loss],
        task="regression",
        threads=threads,
        worst=5,
    )
    assert got.worst_by == loss
    assert [e["row"] for e in got.worst] == list(top + 1)
    for e, i in zip(got.worst, top, strict=True):
        assert e["loss"] == pytest.approx(ell[i], rel=RTOL)
        assert e["pred"] == p[i] and e["label"] == y[i] and e["weight"] == w[i]
    whole = losscli.evaluate(p, y, [loss], task="regression", sample_weight=w, worst=5)
    assert whole.worst == got.worst


@pytest.mark.parametrize("size", [1, 3, 100])
def test_worst_rows_of_a_classification_loss_rank_by_the_unweighted_loss(size: int) -> None:
    """Duplicated rows tie exactly; weights (sample and class) do not change the ranking."""
    rng = np.random.default_rng(23)
    base_p = rng.uniform(0.05, 0.95, 10)
    base_y = rng.integers(0, 2, 10)
    p, y = np.tile(base_p, 5), np.tile(base_y, 5)  # every row appears 5 times
    w = rng.uniform(0.1, 5.0, 50)
    ell = losscli.evaluate(p, y, ["bce"], task="binary", reduction="none").per_sample["bce"]
    top = expected_worst(ell, 8)
    got = losscli.evaluate_stream(
        ((p[i : i + size], y[i : i + size], w[i : i + size]) for i in range(0, 50, size)),
        ["bce", "mse"],
        task="binary",
        class_weight={0: 1.0, 1: 9.0},
        worst=8,
        worst_by="bce",
    )
    assert [e["row"] for e in got.worst] == list(top + 1)
    assert [e["label"] for e in got.worst] == [str(y[i]) for i in top]
    assert [e["loss"] for e in got.worst] == pytest.approx(list(ell[top]), rel=RTOL)


def test_show_cols_come_through_and_are_not_slicings() -> None:
    p, y, _ = tied_regression()
    ids = np.array([f"id-{i:03d}" for i in range(len(y))], dtype=object)
    region = np.array(["eu", "us"] * (len(y) // 2), dtype=object)
    got = losscli.evaluate(
        p, y, ["mae"], task="regression", by={"region": region, "id": ids},
        show_cols=["id", "region"], slicings=["region"], worst=4,
    )  # fmt: skip
    assert [s.by for s in got.slices] == [["region"]]
    for e in got.worst:
        assert e["id"] == ids[e["row"] - 1] and e["region"] == region[e["row"] - 1]
    assert [e["id"] for e in got.worst] == ["id-004", "id-013", "id-029", "id-052"]

    got = losscli.evaluate(
        p, y, ["mae"], task="regression", by={"id": ids}, show_cols=["id"], worst=2
    )
    assert got.slices == [] and [e["id"] for e in got.worst] == ["id-004", "id-013"]


@pytest.mark.parametrize(("task", "loss"), [("regression", "rmse"), ("binary", "dice")])
def test_worst_by_a_dataset_level_loss_is_an_input_error(task: str, loss: str) -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.2, 0.7, 0.4, 0.1, 0.9])
    with pytest.raises(InputError) as err:
        losscli.evaluate(p, y, ["mse", loss], task=task, worst=2, worst_by=loss)
    assert loss in str(err.value)
    with pytest.raises(InputError):
        losscli.evaluate_stream([(p, y)], ["mse", loss], task=task, worst=2, worst_by=loss)


# --- 5. small groups, order, top K -----------------------------------------------------------


def small_group_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups a (20 rows), b (20 rows, worse) and c (2 rows, worst of all)."""
    rng = np.random.default_rng(31)
    g = np.array(["a"] * 20 + ["b"] * 20 + ["c"] * 2, dtype=object)
    y = rng.normal(0.0, 1.0, 42)
    err = np.concatenate([rng.uniform(0.0, 0.5, 20), rng.uniform(1.0, 2.0, 20), [5.0, 6.0]])
    return y + err, y, g


def test_min_slice_rows_marks_small_groups_and_leaves_them_out_of_the_summary() -> None:
    p, y, g = small_group_data()
    plain = losscli.evaluate(p, y, ["mae", "mse"], task="regression", by={"g": g})
    assert plain.slices[0].summary["mae"].max_key == {"g": "c"}  # c would win
    got = losscli.evaluate(p, y, ["mae", "mse"], task="regression", by={"g": g}, min_slice_rows=3)
    groups = {grp.key["g"]: grp for grp in got.slices[0].groups}
    assert [grp.small for grp in got.slices[0].groups] == [False, False, True]
    for name in ("mae", "mse"):
        e = got.slices[0].summary[name]
        assert e.max_key == {"g": "b"} and e.min_key == {"g": "a"}
        assert e.max == groups["b"].losses[name] and e.min == groups["a"].losses[name]
        assert e.gap == pytest.approx(e.max - e.min, rel=RTOL)
    # a small group still has its values
    assert groups["c"].losses["mae"] == pytest.approx(5.5, rel=RTOL)
    assert got.to_dict()["slices"][0]["groups"][2]["small"] is True


def test_sort_slices_lists_worst_first_and_top_slices_counts_the_rest() -> None:
    p, y, g = small_group_data()
    g = g.copy()
    g[:10] = "d"  # a: 10 rows, d: 10 rows
    keys = lambda r: [grp.key["g"] for grp in r.slices[0].groups]  # noqa: E731
    by_key = losscli.evaluate(p, y, ["mse", "mae"], task="regression", by={"g": g})
    assert keys(by_key) == ["a", "b", "c", "d"]
    mse = {grp.key["g"]: grp.losses["mse"] for grp in by_key.slices[0].groups}
    ranked = sorted(mse, key=lambda k: -mse[k])

    got = losscli.evaluate(p, y, ["mse", "mae"], task="regression", by={"g": g}, sort_slices="mse")
    assert keys(got) == ranked
    values = [grp.losses["mse"] for grp in got.slices[0].groups]
    assert values == sorted(values, reverse=True)
    assert got.slices[0].left_out == 0

    top = losscli.evaluate(
        p, y, ["mse", "mae"], task="regression", by={"g": g}, sort_slices="mse", top_slices=2
    )
    assert keys(top) == ranked[:2] and top.slices[0].left_out == 2
    assert top.to_dict()["slices"][0]["left_out"] == 2
    # without sort_slices: the K worst by the first loss, still in key order
    top = losscli.evaluate(p, y, ["mse", "mae"], task="regression", by={"g": g}, top_slices=3)
    assert keys(top) == sorted(ranked[:3]) and top.slices[0].left_out == 1


def test_number_keys_in_numeric_order_text_in_text_order_null_last() -> None:
    n = 8
    p, y = np.linspace(0.0, 1.0, n), np.zeros(n)
    by = {
        "num": np.array([10.0, 9.0, np.nan, 2.0, 10.0, 100.0, 9.0, 2.0]),
        "int": np.array([10, 9, 1, 2, 10, 100, 9, 2]),
        "text": np.array(["b", "a10", None, "a9", "b", "a10", "a9", None], dtype=object),
    }
    got = losscli.evaluate(p, y, ["mae"], task="regression", by=by)
    keys = [[grp.key[s.by[0]] for grp in s.groups] for s in got.slices]
    assert keys == [
        ["2", "9", "10", "100", None],
        ["1", "2", "9", "10", "100"],
        ["a10", "a9", "b", None],
    ]


# --- 6. bad input --------------------------------------------------------------------------


def _error(**keywords: Any) -> InputError:
    p, y = np.array([0.2, 0.7, 0.4, 0.9]), np.array([0, 1, 1, 0])
    with pytest.raises(InputError) as err:
        losscli.evaluate(p, y, **keywords)
    return err.value


def test_a_fractional_column_without_bins_is_an_error_naming_it() -> None:
    err = _error(by={"score": np.array([1.0, 2.0, 2.5, 3.0])})
    assert err.column == "score" and "'score'" in str(err) and err.row == 3
    assert "bins" in str(err)


def test_more_keys_than_max_slices_is_an_error_naming_the_column() -> None:
    err = _error(by={"user": np.array(["u1", "u2", "u3", "u1"], dtype=object)}, max_slices=2)
    assert "user" in str(err) and "max_slices" in str(err)
    assert _error(by={"user": np.arange(4)}, max_slices=3).column == "user"
    # at the limit, no error
    p, y = np.array([0.2, 0.7, 0.4, 0.9]), np.array([0, 1, 1, 0])
    got = losscli.evaluate(p, y, ["bce"], by={"user": np.arange(4)}, max_slices=4)
    assert len(got.slices[0].groups) == 4


def test_more_keys_than_max_slices_across_chunks_is_an_error() -> None:
    chunks = [(np.array([0.2, 0.7]), np.array([0, 1]), None, {"user": np.array([i, i + 10])})
              for i in range(3)]  # fmt: skip
    with pytest.raises(InputError) as err:
        losscli.evaluate_stream(chunks, ["bce"], task="binary", max_slices=5, threads=1)
    assert "user" in str(err.value)


def test_per_class_on_regression_is_an_error() -> None:
    err = _error(task="regression", per_class=True)
    assert "per_class" in str(err) and "regression" in str(err)


@pytest.mark.parametrize("by", [np.array([1, 2, 3]), {"region": np.array(["a"] * 5)}])
def test_a_by_column_of_the_wrong_length_is_an_error_naming_it(by: Any) -> None:
    err = _error(by=by)
    name = "region" if isinstance(by, dict) else "by"
    assert f"'{name}'" in str(err)
    assert "4" in str(err)


def test_slicings_naming_a_missing_column_is_an_error() -> None:
    err = _error(by={"region": np.array(["a", "b", "a", "b"])}, slicings=[("region", "dev")])
    assert "'dev'" in str(err) and "region" in str(err)
