"""Numerical stability: extreme logits, probabilities of exactly 0 and 1, huge residuals,
low-precision inputs, one row, zero weights, overflow (STYLE §7 "Stability")."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special
from sklearn.metrics import log_loss

from losscli import LOSSES, InputError, evaluate

RTOL = 1e-12
EPS = float(np.finfo(np.float64).eps)
NEG_LOG_EPS = -math.log(EPS)  # 36.04365338911715
BINARY_ALL = [n for n, s in LOSSES.items() if "binary" in s.tasks]
MULTI_ALL = [n for n, s in LOSSES.items() if "multiclass" in s.tasks]
REGRESSION_ALL = [n for n, s in LOSSES.items() if "regression" in s.tasks]


def approx(x: float, rel: float = RTOL) -> object:
    return pytest.approx(x, rel=rel, abs=0.0)


def one(preds, labels, name, **kw) -> float:
    (value,) = evaluate(preds, labels, losses=[name], **kw).losses.values()
    return value


# --- extreme logits ---------------------------------------------------------------------------


@pytest.mark.parametrize("z0", [1000.0, 1e4])
def test_binary_extreme_logits_finite_and_exact(z0):
    z = np.array([z0, -z0, z0, -z0])
    y = np.array([1, 1, 0, 0])
    got = evaluate(z, y, losses=BINARY_ALL, from_logits=True).losses
    assert all(math.isfinite(v) for v in got.values()), got
    # per row ℓ = softplus(−t·z): [0, z0, z0, 0] (e^(−z0) underflows below an ulp of 0 + …)
    assert got["bce"] == approx(z0 / 2)
    assert got["ce"] == approx(z0 / 2)
    assert got["kl"] == approx(z0 / 2)
    # focal: the wrong rows have 1 − p_t = 1 (σ(±z0) rounds to 1) → ℓ = z0; the right rows 0
    assert got["focal"] == approx(z0 / 2)
    # p = σ(z) = [1, 0, 1, 0] exactly: Brier [0, 1, 1, 0] → 0.5; mae 0.5
    assert got["mse"] == approx(0.5)
    assert got["mae"] == approx(0.5)
    # dice: Σpy = 1, Σp = 2, Σy = 2, σ = 1 → 1 − 3/5 = 0.4
    assert got["dice"] == approx(0.4)
    # hinge on raw scores: max(0, 1 − t·z) = [0, 1 + z0, 1 + z0, 0]
    assert got["hinge"] == approx((1 + z0) / 2)


@pytest.mark.parametrize("z0", [1000.0, 1e4])
def test_multiclass_extreme_logits_finite_and_exact(z0):
    Z = np.array([[z0, -z0, 0.0], [z0, -z0, 0.0], [0.0, z0, z0]])
    c = np.array([0, 1, 2])
    got = evaluate(Z, c, losses=["ce", "kl", "mse", "hinge"], from_logits=True).losses
    assert all(math.isfinite(v) for v in got.values())
    # ce per row: −log softmax(Z)_c = [0, 2·z0, log 2] (third row: two equal logits win).
    # Note logsumexp(Z) − Z_c would lose the log 2 to rounding of z0 + log 2; log-softmax
    # (Z − max first, as scipy.special.log_softmax) keeps it exact.
    per_row = -special.log_softmax(Z, axis=1)[np.arange(3), c]
    np.testing.assert_allclose(per_row, [0.0, 2 * z0, math.log(2.0)], rtol=1e-15)
    assert got["ce"] == approx((2 * z0 + math.log(2.0)) / 3)
    assert got["kl"] == approx(got["ce"])


def test_soft_label_kl_from_extreme_logits_is_finite():
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    Y = np.array([[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]])
    got = one(Z, Y, "kl", from_logits=True)
    # row 0: log P = [0, −2e4, −1e4]; KL = Σ Y log Y − Σ Y log P
    #      = (0.5 log 0.5 + 2·0.25 log 0.25) + 0.25·2e4 + 0.25·1e4 = 7500 − 1.0397207708
    # row 1: Y one-hot on the winning class: 0
    row0 = 0.5 * math.log(0.5) + 0.5 * math.log(0.25) + 7500.0
    assert got == approx(row0 / 2)


# --- probabilities of exactly 0 and 1 -------------------------------------------------------


def test_bce_at_certain_wrong_is_minus_log_eps():
    got = evaluate(np.array([0.0, 1.0]), np.array([1, 0]), losses=["bce", "focal", "kl"])
    # p clipped to [ε, 1 − ε]: −log ε = 36.04365338911715 on each row; focal (1 − p_t) = 1
    assert got.losses["bce"] == approx(NEG_LOG_EPS)
    assert got.losses["kl"] == approx(NEG_LOG_EPS)
    assert got.losses["focal"] == approx(NEG_LOG_EPS)
    assert NEG_LOG_EPS == approx(36.04365338911715)
    assert any("clipped" in note for note in got.notes), got.notes


def test_bce_at_certain_right_is_tiny_and_positive():
    got = one(np.array([1.0, 0.0]), np.array([1, 0]), "bce")
    # −log(1 − ε) = 2.220446049250313e-16 (ε + ε²/2 + …)
    assert got == approx(-math.log1p(-EPS))


def test_custom_eps_clips_there():
    p = np.array([0.0, 1.0, 0.5])
    y = np.array([1, 0, 1])
    # ε = 1e-7: rows [−log 1e-7, −log 1e-7, log 2]
    expected = (2 * -math.log(1e-7) + math.log(2.0)) / 3
    assert one(p, y, "bce", eps=1e-7) == approx(expected)


def test_ce_with_zero_probability_on_true_class():
    P = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
    c = np.array([0, 2])
    got = one(P, c, "ce")
    assert got == approx((NEG_LOG_EPS - math.log(0.5)) / 2)
    assert got == approx(log_loss(c, P, labels=[0, 1, 2]))


@pytest.mark.parametrize("name", ["mse", "mae", "dice", "hinge", "squared_hinge", "rmse"])
def test_unclipped_losses_see_exact_zero_and_one(name):
    p = np.array([0.0, 1.0, 1.0])
    y = np.array([1, 0, 1])
    got = one(p, y, name)
    assert math.isfinite(got)
    expected = {
        "mse": 2 / 3,
        "rmse": math.sqrt(2 / 3),
        "mae": 2 / 3,
        # Σpy = 1, Σp = 2, Σy = 2 → 1 − 3/5
        "dice": 0.4,
        # t = [1, −1, 1]; 1 − t·s = [1, 2, 0] → mean 1; squared: [1, 4, 0] → 5/3
        "hinge": 1.0,
        "squared_hinge": 5 / 3,
    }[name]
    assert got == approx(expected)


# --- huge residuals ---------------------------------------------------------------------------


def test_log_cosh_of_a_million_is_finite():
    r = np.array([1e6, -1e6, 800.0, -710.5])
    got = one(r, np.zeros(4), "log_cosh", task="regression")
    # |r| − log 2 for each (e^(−2|r|) underflows): (1e6 + 1e6 + 800 + 710.5)/4 − log 2
    assert got == approx((2e6 + 800.0 + 710.5) / 4 - math.log(2.0))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mae", 5e199),  # (1e200 + 0)/2
        ("log_cosh", 5e199),  # (1e200 − log 2 + 0)/2, log 2 far below an ulp
        ("huber", 5e199),  # δ(|r| − δ/2) = 1e200 − 0.5
    ],
)
def test_linear_tail_losses_survive_1e200(name, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = one(np.array([1e200, 1.0]), np.array([0.0, 1.0]), name, task="regression")
    assert got == approx(expected)


@pytest.mark.parametrize("name", ["mse", "rmse"])
def test_overflow_is_an_input_error(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(InputError) as exc:
            evaluate(np.array([1e200, 2.0]), np.array([-1e200, 1.5]), losses=[name])
    assert "overflow" in str(exc.value)
    assert "too large for float64" in str(exc.value)


# Regression test: failed at engine commit 272df42 — NumPy RuntimeWarnings ('overflow
# encountered in multiply', 'invalid value encountered in subtract') leak out of evaluate()
# before the clean InputError; the CLI would print them on stderr beside the one error: line
# (SPEC §6)
def test_overflow_raises_without_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(InputError, match="overflow"):
            evaluate(np.array([1e200, 2.0]), np.array([-1e200, 1.5]), losses=["mse"])


# Regression test: failed at engine commit 272df42 — huber on |r| = 1e200 returns the right
# finite value but emits 'RuntimeWarning: overflow encountered in multiply' (np.where evaluates
# ½r² everywhere)
def test_huber_at_1e200_emits_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        one(np.array([1e200]), np.array([0.0]), "huber", task="regression")


# Regression test: failed at engine commit 272df42 — pseudo_huber(r = 1e200) ≈ δ·|r| = 1e200 is
# representable, but the kernel forms t = (r/δ)² = inf and inf/inf = NaN, so evaluate raises
# 'overflow in pseudo_huber' (huber and log_cosh stay finite there)
def test_pseudo_huber_at_1e200_is_finite():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = one(np.array([1e200]), np.array([0.0]), "pseudo_huber", task="regression")
    assert got == approx(1e200)


# --- float32, float16, integer inputs ----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_binary_is_accumulated_in_float64(dtype, rng):
    n = 50_000
    p = rng.uniform(0.0, 1.0, n).astype(dtype)
    y = rng.integers(0, 2, n)
    w = rng.uniform(0.5, 2.0, n).astype(dtype)
    got = evaluate(p, y, losses=BINARY_ALL, sample_weight=w)
    eps = float(np.finfo(dtype).eps)  # clipped at the input dtype's ε, as scikit-learn
    ref = evaluate(
        p.astype(np.float64), y, losses=BINARY_ALL, sample_weight=w.astype(np.float64), eps=eps
    )
    # oracle: the same float32/float16 values in float64; and sklearn on them
    for name in BINARY_ALL:
        assert got.losses[name] == approx(ref.losses[name]), name
        assert isinstance(got.losses[name], float)
    assert got.losses["bce"] == approx(
        log_loss(y, np.clip(p.astype(np.float64), eps, 1 - eps), sample_weight=w.astype(np.float64))
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_regression_sums_in_float64(dtype, rng):
    # 200k values of 1.0: a float16 running sum would stop at 2048, float32 is off at 2^24
    n = 200_000
    p = np.ones(n, dtype=dtype)
    y = np.zeros(n, dtype=dtype)
    got = evaluate(p, y, losses=["mse", "mae"], task="regression", reduction="sum").losses
    assert got == {"mse": float(n), "mae": float(n)}
    r = rng.normal(0.0, 3.0, n).astype(dtype)
    got = one(r, np.zeros(n, dtype=dtype), "mse", task="regression")
    assert got == approx(float(np.mean(r.astype(np.float64) ** 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_multiclass_rows_are_not_flagged(dtype, rng):
    P64 = rng.dirichlet(np.ones(5), 2000)
    P = P64.astype(dtype)  # rows now sum to 1 only to the input's precision
    c = rng.integers(0, 5, 2000)
    res = evaluate(P, c, losses=["ce", "mse"])
    assert not any("do not sum to 1" in note for note in res.notes), res.notes
    ref = evaluate(
        P.astype(np.float64),
        c,
        losses=["ce", "mse"],
        task="multiclass",
        eps=float(np.finfo(dtype).eps),
    )
    assert res.losses["ce"] == approx(ref.losses["ce"])


def test_float32_logits(rng):
    z = rng.normal(0.0, 50.0, 1000).astype(np.float32)
    y = rng.integers(0, 2, 1000)
    got = one(z, y, "bce", from_logits=True)
    z64 = z.astype(np.float64)
    expected = np.mean(np.where(y == 1, np.logaddexp(0, -z64), np.logaddexp(0, z64)))
    assert got == approx(float(expected))


def test_integer_and_bool_inputs(rng):
    y = rng.integers(0, 2, 100)
    p = rng.uniform(size=100)
    assert one(p, y.astype(bool), "bce") == approx(one(p, y, "bce"))
    yi = rng.integers(-5, 5, 100)
    pi = rng.integers(-5, 5, 100)
    assert one(pi, yi, "mse", task="regression") == approx(float(np.mean((pi - yi) ** 2.0)))


# --- n = 1 and zero weights ------------------------------------------------------------------


@pytest.mark.parametrize("name", BINARY_ALL)
def test_one_row_binary(name):
    got = one(np.array([0.7]), np.array([1]), name)
    assert math.isfinite(got)
    expected = {
        "mse": 0.09,
        "rmse": 0.3,
        "mae": 0.3,
        "huber": 0.045,
        "pseudo_huber": math.sqrt(1.09) - 1,
        "log_cosh": math.log(math.cosh(0.3)),
        "bce": -math.log(0.7),
        "ce": -math.log(0.7),
        "kl": -math.log(0.7),
        "focal": 0.09 * -math.log(0.7),
        "hinge": 0.3,
        "squared_hinge": 0.09,
        # 1 − (2·0.7 + 1)/(0.7 + 1 + 1) = 1 − 2.4/2.7 = 1/9
        "dice": 1 / 9,
        # 1 − (0.7 + 1)/(0.7 + 1 − 0.7 + 1) and 1 − (0.7 + 1)/(0.7 + ½·0 + ½·0.3 + 1)
        "iou": 1 - 1.7 / 2.0,
        "tversky": 1 - 1.7 / 1.85,
        # one bin holds c = 0.7 with accuracy 1
        "ece": 0.3,
        "mce": 0.3,
    }[name]
    assert got == approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", MULTI_ALL)
def test_one_row_multiclass(name):
    got = one(np.array([[0.2, 0.5, 0.3]]), np.array([1]), name)
    assert math.isfinite(got)
    assert got >= 0.0


@pytest.mark.parametrize("name", REGRESSION_ALL)
def test_one_row_regression(name):
    got = one(np.array([2.5]), np.array([1.0]), name, task="regression")
    assert math.isfinite(got) and got > 0.0


@pytest.mark.parametrize("name", BINARY_ALL)
def test_zero_weight_rows_equal_dropping_them(name, rng):
    n = 300
    p = rng.uniform(size=n)
    p[:3] = [0.0, 1.0, 0.5]
    y = rng.integers(0, 2, n)
    y[:2] = [1, 0]  # the zero-weight rows include certain-wrong ones (ℓ = 36)
    w = rng.uniform(0.5, 2.0, n)
    w[:3] = 0.0
    w[rng.uniform(size=n) < 0.2] = 0.0
    keep = w > 0
    full = one(p, y, name, sample_weight=w)
    dropped = one(p[keep], y[keep], name, sample_weight=w[keep])
    assert full == approx(dropped)


def test_zero_weights_regression_matrix(rng):
    P = rng.normal(size=(100, 3))
    Y = rng.normal(size=(100, 3))
    w = np.where(rng.uniform(size=100) < 0.5, 0.0, 1.0)
    w[0] = 1.0
    keep = w > 0
    for name in REGRESSION_ALL:
        a = one(P, Y, name, task="regression", sample_weight=w)
        b = one(P[keep], Y[keep], name, task="regression")
        assert a == approx(b), name
