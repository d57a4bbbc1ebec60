"""Properties over the registry, with Hypothesis (after scikit-learn's test_common.py).

Each property is written once and parametrized over `LOSSES` and the tasks a loss applies
to: ℓ ≥ 0, zero at a perfect prediction, row-order invariance, chunk/merge invariance of
the accumulators, logits ≡ probabilities, threads ≡ one thread.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from losscli import LOSSES, evaluate
from losscli.api import finish
from losscli.chunks import make_accumulator
from losscli.planning import make_plan

RTOL = 1e-12
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TASK_LOSSES = [(task, name) for name, spec in LOSSES.items() for task in sorted(spec.tasks)]
MEAN_TASK_LOSSES = [(t, n) for t, n in TASK_LOSSES if not LOSSES[n].dataset_level]


def make_data(task: str, seed: int, n: int, *, soft: bool = False, k: int = 3):
    """(preds, labels, weights) for a task, from a seed: Hypothesis picks seed and n, NumPy
    the values (much faster than drawing every float through Hypothesis)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.0, 3.0, n)
    w[rng.uniform(size=n) < 0.1] = 0.0  # some rows weigh nothing
    w[0] = 1.0
    if task == "regression":
        shape = (n,) if k == 1 else (n, k)
        y = rng.normal(0.0, 5.0, shape)
        p = y + rng.standard_cauchy(shape)  # heavy tails: |r| from ~0 to large
        return p, y, w
    if task == "binary":
        y = rng.integers(0, 2, n)
        p = rng.uniform(0.0, 1.0, n)
        p[rng.uniform(size=n) < 0.05] = 0.0
        p[rng.uniform(size=n) < 0.05] = 1.0
        return p, y, w
    P = rng.dirichlet(np.full(k, 0.7), n)
    if soft:
        return P, rng.dirichlet(np.ones(k), n), w
    c = rng.integers(0, k, n)
    return P, c, w


seeds = st.integers(0, 2**32 - 1)


# --- ℓ ≥ 0 -------------------------------------------------------------------------------


@pytest.mark.parametrize(("task", "name"), MEAN_TASK_LOSSES)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 60), k=st.integers(1, 4))
def test_per_sample_loss_is_non_negative(task, name, seed, n, k):
    if task == "multiclass":
        k = max(k, 2)
    p, y, w = make_data(task, seed, n, k=k)
    if name in ("hinge", "squared_hinge"):
        p = np.random.default_rng(seed).normal(0.0, 3.0, np.shape(p))  # raw scores
    res = evaluate(p, y, losses=[name], task=task, reduction="none")
    per = res.per_sample[name]
    assert per.shape == (n,)
    assert np.all(per >= 0.0), per[per < 0]
    assert evaluate(p, y, losses=[name], task=task, sample_weight=w).losses[name] >= 0.0


@pytest.mark.parametrize(
    ("task", "name"), [(t, n) for t, n in TASK_LOSSES if n in ("rmse", "dice")]
)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 60))
def test_dataset_level_loss_is_non_negative(task, name, seed, n):
    p, y, w = make_data(task, seed, n)
    got = evaluate(p, y, losses=[name], task=task, sample_weight=w).losses[name]
    assert got >= 0.0
    if name == "dice":
        assert got <= 1.0


# --- zero at a perfect prediction ---------------------------------------------------------


REGRESSION = ["mse", "rmse", "mae", "huber", "pseudo_huber", "log_cosh"]


@pytest.mark.parametrize("name", REGRESSION)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 50), k=st.integers(1, 3))
def test_regression_loss_is_zero_at_perfect_prediction(name, seed, n, k):
    _, y, w = make_data("regression", seed, n, k=k)
    assert evaluate(y, y, losses=[name], task="regression", sample_weight=w).losses[name] == 0.0


@pytest.mark.parametrize("task", ["binary", "multiclass"])
@pytest.mark.parametrize("name", REGRESSION)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 50))
def test_regression_loss_is_zero_on_hard_probabilities(task, name, seed, n):
    rng = np.random.default_rng(seed)
    if task == "binary":
        y = rng.integers(0, 2, n)
        p = y.astype(float)
    else:
        y = rng.integers(0, 3, n)
        p = np.eye(3)[y]
    assert evaluate(p, y, losses=[name], task=task).losses[name] == 0.0


@pytest.mark.parametrize(
    ("task", "name"),
    [(t, n) for t, n in TASK_LOSSES if n in ("bce", "ce", "kl", "focal", "dice")],
)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 50))
def test_probability_loss_is_near_zero_at_hard_labels(task, name, seed, n):
    rng = np.random.default_rng(seed)
    if task == "binary":
        y = rng.integers(0, 2, n)
        p = y.astype(float)
    else:
        y = rng.integers(0, 3, n)
        p = np.eye(3)[y]
    got = evaluate(p, y, losses=[name], task=task).losses[name]
    # p = y is clipped to 1 − ε: −log(1 − ε) = 2.2e-16 per sample (focal: ε²·that; dice: 0
    # up to rounding of its ratio)
    assert 0.0 <= got <= 1e-15


@pytest.mark.parametrize("task", ["binary", "multiclass"])
@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 50), margin=st.floats(1.0, 100.0))
def test_hinge_is_zero_beyond_the_margin(task, name, seed, n, margin):
    if name not in ("hinge",) and task == "multiclass":
        return
    rng = np.random.default_rng(seed)
    if task == "binary":
        y = rng.integers(0, 2, n)
        s = (2.0 * y - 1.0) * margin
    else:
        y = rng.integers(0, 3, n)
        s = np.eye(3)[y] * margin
    for mode in ("crammer-singer", "weston-watkins") if task == "multiclass" else (None,):
        kw = {"hinge_mode": mode} if mode else {}
        assert evaluate(s, y, losses=[name], task=task, **kw).losses[name] == 0.0


# --- row-order invariance --------------------------------------------------------------------


@pytest.mark.parametrize(("task", "name"), TASK_LOSSES)
@SETTINGS
@given(seed=seeds, n=st.integers(1, 80), perm_seed=seeds)
def test_row_permutation_invariance(task, name, seed, n, perm_seed):
    p, y, w = make_data(task, seed, n)
    perm = np.random.default_rng(perm_seed).permutation(n)
    kw = {"class_weight": "balanced"} if task != "regression" and n > 20 else {}
    if kw and len(np.unique(y)) < (2 if task == "binary" else 3):
        kw = {}
    a = evaluate(p, y, losses=[name], task=task, sample_weight=w, **kw).losses[name]
    b = evaluate(p[perm], y[perm], losses=[name], task=task, sample_weight=w[perm], **kw)
    assert b.losses[name] == pytest.approx(a, rel=RTOL, abs=1e-300)


# --- chunk and merge-order invariance -------------------------------------------------------


def _split(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    edges = sorted({0, n, *[c % (n + 1) for c in cuts]})
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _merge_tree(accs: list, order_seed: int):
    """Merge a list of accumulators pairwise in a random order (a random binary tree)."""
    rng = np.random.default_rng(order_seed)
    pool = list(accs)
    while len(pool) > 1:
        i, j = rng.choice(len(pool), 2, replace=False)
        a, b = pool[i], pool[j]
        merged = a.merge(b) if rng.uniform() < 0.5 else b.merge(a)
        pool = [x for t, x in enumerate(pool) if t not in (i, j)] + [merged]
    return pool[0]


CHUNK_CASES = [
    ("regression", ["mse", "rmse", "mae", "huber", "pseudo_huber", "log_cosh"], {}, False),
    ("binary", None, {}, False),
    ("binary", None, {"class_weight": "balanced"}, False),
    ("binary", ["bce", "dice", "rmse", "focal"], {"class_weight": {0: 1, 1: 4}}, False),
    (
        "binary",
        ["bce", "kl", "focal", "dice"],
        {"label_smoothing": 0.1, "focal_alpha": 0.25},
        False,
    ),
    ("binary", ["bce", "focal", "dice", "mse"], {"from_logits": True}, False),
    ("multiclass", None, {}, False),
    ("multiclass", ["ce", "kl", "rmse", "hinge"], {"class_weight": "balanced"}, False),
    ("multiclass", ["ce", "kl", "mse", "rmse"], {"class_weight": "balanced"}, True),
]


@pytest.mark.parametrize(("task", "losses", "options", "soft"), CHUNK_CASES)
@SETTINGS
@given(
    seed=seeds,
    n=st.integers(12, 120),
    cuts=st.lists(st.integers(0, 10_000), min_size=0, max_size=30),
    order_seed=seeds,
    weighted=st.booleans(),
)
def test_chunked_and_merged_equals_one_pass(
    task, losses, options, soft, seed, n, cuts, order_seed, weighted
):
    p, y, w = make_data(task, seed, n, soft=soft)
    if task == "binary":
        y[:2] = [0, 1]  # balanced needs every class
    elif task == "multiclass" and not soft:
        y[:3] = [0, 1, 2]
    sw = w if weighted else None
    one = evaluate(p, y, losses=losses, task=task, sample_weight=sw, **options)

    plan, labels = make_plan(p, y, losses, task=task, **options)
    accs = []
    for a, b in _split(n, cuts):  # chunks down to one row
        acc = make_accumulator(plan)
        acc.update(p[a:b], labels[a:b], None if sw is None else sw[a:b], row_offset=a)
        accs.append(acc)
    merged = _merge_tree(accs, order_seed)
    got = finish(plan, merged)
    assert list(got.losses) == list(one.losses)
    for name, value in one.losses.items():
        assert got.losses[name] == pytest.approx(value, rel=RTOL, abs=1e-300), name
    assert got.sum_weights == pytest.approx(one.sum_weights, rel=RTOL)
    assert got.n_samples == one.n_samples == n
    assert merged.result().losses == got.losses


@SETTINGS
@given(seed=seeds, n=st.integers(2, 60), cut=st.integers(1, 59))
def test_sequential_updates_equal_one_pass(seed, n, cut):
    # one accumulator fed chunk after chunk (no row_offset): the streaming path of the CLI
    cut = min(cut, n - 1)
    p, y, w = make_data("binary", seed, n)
    y[:2] = [0, 1]
    one = evaluate(p, y, sample_weight=w, class_weight="balanced")
    plan, labels = make_plan(p, y, None, class_weight="balanced")
    acc = make_accumulator(plan)
    acc.update(p[:cut], labels[:cut], w[:cut])
    acc.update(p[cut:], labels[cut:], w[cut:])
    got = finish(plan, acc).losses
    for name, value in one.losses.items():
        assert got[name] == pytest.approx(value, rel=RTOL, abs=1e-300), name


# --- logits ≡ probabilities ---------------------------------------------------------------


LOGIT_LOSSES_BINARY = ["bce", "ce", "kl", "focal", "dice", "mse", "rmse", "mae", "huber"]
LOGIT_LOSSES_MULTI = ["ce", "kl", "mse", "rmse", "mae", "pseudo_huber", "log_cosh"]


@SETTINGS
@given(
    seed=seeds,
    n=st.integers(1, 80),
    smoothing=st.sampled_from([None, 0.1]),
    alpha=st.sampled_from([None, 0.25]),
)
def test_binary_logits_equal_probabilities(seed, n, smoothing, alpha):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    z = rng.uniform(-10.0, 10.0, n)
    w = rng.uniform(0.1, 2.0, n)
    # p = expit(z) ∈ [4.5e-5, 1 − 4.5e-5]: never clipped. rtol 1e-9, not 1e-12: the
    # probability path rounds p to one ulp (1.1e-16) and then forms 1 − p, which for
    # |z| up to 10 has a relative error up to 1.1e-16·e^10 ≈ 2.4e-12; log and the focal
    # power amplify that a little more. The logit path never forms 1 − p.
    p = special.expit(z)
    kw = {"label_smoothing": smoothing, "focal_alpha": alpha}
    a = evaluate(z, y, losses=LOGIT_LOSSES_BINARY, sample_weight=w, from_logits=True, **kw)
    b = evaluate(p, y, losses=LOGIT_LOSSES_BINARY, sample_weight=w, **kw)
    for name in LOGIT_LOSSES_BINARY:
        assert a.losses[name] == pytest.approx(b.losses[name], rel=1e-9, abs=1e-15), name


@SETTINGS
@given(seed=seeds, n=st.integers(1, 80), k=st.integers(2, 5), soft=st.booleans())
def test_multiclass_logits_equal_probabilities(seed, n, k, soft):
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-10.0, 10.0, (n, k))
    y = rng.dirichlet(np.ones(k), n) if soft else rng.integers(0, k, n)
    # softmax(Z) ≥ e^(−20)/k ≫ ε: never clipped. log of a rounded P_c differs from the
    # exact log-softmax by ~1 ulp of P_c relative, i.e. ~1e-16 absolute per term; rtol 1e-9
    # leaves room for the KL's cancellation (Σ Y log Y − Σ Y log P) when P ≈ Y.
    P = special.softmax(Z, axis=1)
    a = evaluate(Z, y, losses=LOGIT_LOSSES_MULTI, task="multiclass", from_logits=True)
    b = evaluate(P, y, losses=LOGIT_LOSSES_MULTI, task="multiclass")
    for name in LOGIT_LOSSES_MULTI:
        assert a.losses[name] == pytest.approx(b.losses[name], rel=1e-9, abs=1e-14), name


# --- symmetry -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "pseudo_huber", "log_cosh", "rmse"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 50))
def test_regression_losses_are_symmetric(name, seed, n):
    p, y, w = make_data("regression", seed, n, k=1)
    a = evaluate(p, y, losses=[name], task="regression", sample_weight=w).losses[name]
    b = evaluate(y, p, losses=[name], task="regression", sample_weight=w).losses[name]
    assert a == pytest.approx(b, rel=RTOL)


@pytest.mark.parametrize("name", ["bce", "mse", "focal", "kl"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 50))
def test_binary_loss_symmetric_under_class_swap(name, seed, n):
    # swapping the classes (y → 1 − y, p → 1 − p) leaves bce, Brier, KL and focal without α
    # unchanged. p is kept away from 0 and 1 so that 1 − (1 − p) = p exactly enough.
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = rng.uniform(0.01, 0.99, n)
    a = evaluate(p, y, losses=[name]).losses[name]
    b = evaluate(1.0 - p, 1 - y, losses=[name]).losses[name]
    assert a == pytest.approx(b, rel=1e-12)


# --- threads ----------------------------------------------------------------------------------


def test_two_threads_equal_one_on_a_million_values_binary():
    rng = np.random.default_rng(7)
    n = 1_200_000  # > PARALLEL_MIN_ELEMENTS (2^20)
    y = rng.integers(0, 2, n)
    p = rng.uniform(0.0, 1.0, n)
    w = rng.uniform(0.0, 2.0, n)
    losses = ["bce", "mse", "rmse", "focal", "dice", "hinge", "log_cosh"]
    one = evaluate(p, y, losses=losses, sample_weight=w, class_weight="balanced", threads=1)
    two = evaluate(p, y, losses=losses, sample_weight=w, class_weight="balanced", threads=2)
    for name in losses:
        assert two.losses[name] == pytest.approx(one.losses[name], rel=RTOL), name
    assert two.sum_weights == pytest.approx(one.sum_weights, rel=RTOL)
    assert two.n_samples == n


def test_two_threads_equal_one_on_a_million_values_multiclass():
    rng = np.random.default_rng(8)
    n, k = 300_000, 4
    Z = rng.normal(0.0, 3.0, (n, k))
    c = rng.integers(0, k, n)
    losses = ["ce", "kl", "mse", "hinge"]
    one = evaluate(Z, c, losses=losses, from_logits=True, threads=1)
    two = evaluate(Z, c, losses=losses, from_logits=True, threads=2)
    for name in losses:
        assert two.losses[name] == pytest.approx(one.losses[name], rel=RTOL), name
