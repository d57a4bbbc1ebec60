"""Every loss × task × option of SPEC §4 against an independent reference, in float64.

Oracles, named in each test: scikit-learn metrics, SciPy special functions, or a case
worked by hand (the arithmetic is in a comment). Tolerance is rtol 1e-12 throughout: the
engine sums with compensation and the references with pairwise NumPy sums, so only the
last few ulps may differ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from sklearn.metrics import (
    brier_score_loss,
    hinge_loss,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    root_mean_squared_error,
)
from sklearn.utils.class_weight import compute_sample_weight

from losscli import evaluate
from losscli.engine import kernels

RTOL = 1e-12
EPS = float(np.finfo(np.float64).eps)


def approx(x: float) -> object:
    return pytest.approx(x, rel=RTOL, abs=0.0)


def loss(preds, labels, name, **kw) -> float:
    """The one reported value (keyed by the SPEC name, also when `name` is an alias)."""
    (value,) = evaluate(preds, labels, losses=[name], **kw).losses.values()
    return value


# --- data ------------------------------------------------------------------------------


def regression_1d(rng, n=400):
    y = rng.normal(0.0, 3.0, n)
    p = y + rng.normal(0.0, 2.0, n)  # residuals both inside and outside δ = 1
    w = rng.uniform(0.5, 2.0, n)
    return p, y, w


def regression_2d(rng, n=300, k=3):
    y = rng.normal(0.0, 3.0, (n, k))
    p = y + rng.normal(0.0, 2.0, (n, k))
    w = rng.uniform(0.5, 2.0, n)
    return p, y, w


def binary(rng, n=500):
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    p = rng.uniform(0.01, 0.99, n)
    w = rng.uniform(0.5, 2.0, n)
    return p, y, w


def multiclass(rng, n=400, k=4):
    c = rng.integers(0, k, n)
    c[:k] = np.arange(k)
    P = rng.dirichlet(np.ones(k), n)
    w = rng.uniform(0.5, 2.0, n)
    return P, c, w


def one_hot(c, k):
    Y = np.zeros((c.size, k))
    Y[np.arange(c.size), c] = 1.0
    return Y


def wmean(values, w=None):
    return float(np.average(values, weights=w))


# --- regression: scikit-learn ------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", ["1d", "2d"])
@pytest.mark.parametrize(
    ("name", "oracle"),
    [
        ("mse", mean_squared_error),
        ("mae", mean_absolute_error),
        ("l2", mean_squared_error),
        ("l1", mean_absolute_error),
    ],
)
def test_regression_matches_sklearn(rng, name, oracle, shape, weighted):
    p, y, w = regression_1d(rng) if shape == "1d" else regression_2d(rng)
    sw = w if weighted else None
    got = evaluate(p, y, losses=[name], task="regression", sample_weight=sw).losses
    # oracle: sklearn, multioutput='uniform_average' for the matrix
    expected = oracle(y, p, sample_weight=sw, multioutput="uniform_average")
    assert next(iter(got.values())) == approx(expected)


@pytest.mark.parametrize("weighted", [False, True])
def test_rmse_1d_matches_sklearn(rng, weighted):
    p, y, w = regression_1d(rng)
    sw = w if weighted else None
    got = loss(p, y, "rmse", task="regression", sample_weight=sw)
    # oracle: sklearn root_mean_squared_error
    assert got == approx(root_mean_squared_error(y, p, sample_weight=sw))


def test_rmse_2d_is_sqrt_of_uniform_mse(rng):
    p, y, w = regression_2d(rng)
    got = loss(p, y, "rmse", task="regression", sample_weight=w)
    # SPEC §4: √ of the reduced mse over all n·k values. Note sklearn's
    # root_mean_squared_error(multioutput='uniform_average') is the mean of per-output roots,
    # which differs; the oracle is sqrt(sklearn mse uniform_average).
    expected = math.sqrt(mean_squared_error(y, p, sample_weight=w))
    assert got == approx(expected)
    assert got != approx(root_mean_squared_error(y, p, sample_weight=w))


# --- regression: SciPy special ---------------------------------------------------------------


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
@pytest.mark.parametrize("shape", ["1d", "2d"])
@pytest.mark.parametrize(
    ("name", "oracle"), [("huber", special.huber), ("pseudo_huber", special.pseudo_huber)]
)
def test_huber_family_matches_scipy(rng, name, oracle, shape, delta):
    p, y, w = regression_1d(rng) if shape == "1d" else regression_2d(rng)
    got = loss(p, y, name, task="regression", sample_weight=w, huber_delta=delta)
    values = oracle(delta, p - y)
    # oracle: scipy.special.{huber,pseudo_huber}, weighted mean over all n·k elements
    weights = np.broadcast_to(w.reshape(-1, *([1] * (values.ndim - 1))), values.shape)
    assert got == approx(wmean(values, weights))


def test_huber_default_delta_is_one(rng):
    p, y, _ = regression_1d(rng)
    assert loss(p, y, "huber", task="regression") == approx(wmean(special.huber(1.0, p - y)))


def test_log_cosh_matches_numpy_for_moderate_residuals(rng):
    y = rng.normal(0.0, 1.0, 300)
    r = rng.uniform(0.5, 20.0, 300) * rng.choice([-1.0, 1.0], 300)
    w = rng.uniform(0.5, 2.0, 300)
    # oracle: np.log(np.cosh(r)) is exact here (cosh(r) ≥ 1.12, no overflow, no cancellation)
    got = loss(y + r, y, "log_cosh", task="regression", sample_weight=w)
    assert got == approx(wmean(np.log(np.cosh(r)), w))
    assert loss(y + r, y, "logcosh", task="regression", sample_weight=w) == got


@pytest.mark.parametrize(
    ("r", "expected"),
    [
        # log cosh r = |r| − log 2 + log1p(e^(−2|r|)); e^(−2e6) = 0, so 1e6 − log 2
        (1e6, 1e6 - math.log(2.0)),
        (-1e6, 1e6 - math.log(2.0)),
        # log cosh r = r²/2 − r⁴/12 + …; r = 1e-8: 5e-17 (r⁴ term 1e-33 below an ulp)
        (1e-8, 5e-17),
        (0.0, 0.0),
        # r = 1: log((e + 1/e)/2) = 0.4337808304830271
        (1.0, math.log((math.e + 1.0 / math.e) / 2.0)),
    ],
)
def test_log_cosh_closed_forms(r, expected):
    got = loss(np.array([r]), np.array([0.0]), "log_cosh", task="regression")
    assert got == approx(expected)


# log cosh a to 20 digits (mpmath, 30-digit arithmetic); |r| ≤ 1 everywhere takes the
# polynomial path, a larger |r| in the same chunk the expm1/log1p path
LOG_COSH_DIGITS = {
    1e-8: 5.0000000000000022357e-17,
    0.001: 4.999999166666889097e-7,
    0.1: 0.004991688821646530821,
    0.25: 0.030929803620161371456,
    0.5: 0.12011450695827752463,
    0.75: 0.25826609742280710008,
    0.999: 0.43301944642088479211,
    1.0: 0.43378083048302718703,
}


@pytest.mark.parametrize("path", ["polynomial", "expm1/log1p"])
def test_log_cosh_to_the_last_digits_on_both_paths(path):
    a = np.array(list(LOG_COSH_DIGITS))
    r = a if path == "polynomial" else np.append(a, 1.5)
    got = kernels.log_cosh(r * np.resize([1.0, -1.0], r.size))[: a.size]
    expected = np.array(list(LOG_COSH_DIGITS.values()))
    np.testing.assert_allclose(got, expected, rtol=4.5e-16, atol=0)


def test_log_cosh_paths_agree(rng):
    a = np.concatenate([rng.uniform(0.0, 1.0, 5000), 10.0 ** rng.uniform(-12, 0, 5000)])
    polynomial = kernels.log_cosh(a)
    general = kernels.log_cosh(np.append(a, 2.0))[:-1]
    np.testing.assert_allclose(polynomial, general, rtol=9e-16, atol=0)


# --- regression losses on classification tasks --------------------------------------------


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "pseudo_huber", "log_cosh"])
def test_regression_losses_on_multiclass_average_over_n_k(rng, name):
    P, c, w = multiclass(rng)
    R = P - one_hot(c, P.shape[1])
    elementwise = {
        "mse": R**2,
        "mae": np.abs(R),
        "huber": special.huber(1.0, R),
        "pseudo_huber": special.pseudo_huber(1.0, R),
        "log_cosh": np.log(np.cosh(R)),  # |R| ≤ 1: cosh exact to an ulp, values ≥ 0.
    }[name]
    got = loss(P, c, name, sample_weight=w)
    # oracle: weighted mean over all n·k values of (P − onehot)
    weights = np.broadcast_to(w[:, None], R.shape)
    rtol = 1e-10 if name == "log_cosh" else RTOL  # log(cosh(R)) loses digits for small R
    assert got == pytest.approx(wmean(elementwise, weights), rel=rtol)


def test_rmse_on_multiclass_is_sqrt_mse(rng):
    P, c, w = multiclass(rng)
    R = P - one_hot(c, P.shape[1])
    expected = math.sqrt(wmean(R**2, np.broadcast_to(w[:, None], R.shape)))
    assert loss(P, c, "rmse", sample_weight=w) == approx(expected)


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_mse_is_brier_score(rng, weighted):
    p, y, w = binary(rng)
    sw = w if weighted else None
    # oracle: sklearn brier_score_loss
    expected = brier_score_loss(y, p, sample_weight=sw)
    assert loss(p, y, "mse", sample_weight=sw) == approx(expected)
    assert loss(p, y, "brier", sample_weight=sw) == approx(expected)


def test_binary_mse_from_logits_is_brier_of_expit(rng):
    y = rng.integers(0, 2, 400)
    z = rng.normal(0.0, 4.0, 400)
    w = rng.uniform(0.5, 2.0, 400)
    # oracle: Brier score of scipy.special.expit(z)
    expected = brier_score_loss(y, special.expit(z), sample_weight=w)
    assert loss(z, y, "mse", sample_weight=w, from_logits=True) == approx(expected)


def test_binary_mae_from_logits(rng):
    y = rng.integers(0, 2, 400)
    z = rng.normal(0.0, 4.0, 400)
    expected = mean_absolute_error(y, special.expit(z))
    assert loss(z, y, "mae", from_logits=True) == approx(expected)


def test_multiclass_mse_from_logits_uses_softmax(rng):
    Z = rng.normal(0.0, 3.0, (300, 4))
    c = rng.integers(0, 4, 300)
    # oracle: scipy.special.softmax, then mean over n·k
    expected = float(np.mean((special.softmax(Z, axis=1) - one_hot(c, 4)) ** 2))
    assert loss(Z, c, "mse", from_logits=True) == approx(expected)


def test_binary_minus_one_labels_map_to_zero(rng):
    p, y, w = binary(rng)
    ypm = 2 * y - 1
    for name in ("bce", "mse", "hinge", "dice", "focal"):
        a = loss(p, y, name, sample_weight=w)
        b = loss(p, ypm, name, sample_weight=w)
        assert a == approx(b)


# --- binary and multiclass log loss: scikit-learn -----------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["bce", "log_loss", "logloss", "binary_crossentropy", "ce"])
def test_bce_matches_sklearn_log_loss(rng, name, weighted):
    p, y, w = binary(rng)
    sw = w if weighted else None
    # oracle: sklearn.metrics.log_loss, which also clips at float64 machine epsilon
    assert loss(p, y, name, sample_weight=sw) == approx(log_loss(y, p, sample_weight=sw))


def test_bce_with_exact_zero_and_one_matches_sklearn(rng):
    p, y, w = binary(rng)
    # certain and right, certain and wrong, on both classes
    p[:6] = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    y[:6] = [0, 1, 0, 1, 0, 1]
    got = loss(p, y, "bce", sample_weight=w)
    # oracle: sklearn log_loss, which clips p and 1 − p at float64 eps as well
    assert got == approx(log_loss(y, p, sample_weight=w))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["ce", "cross_entropy", "categorical_crossentropy", "nll"])
def test_ce_matches_sklearn_log_loss(rng, name, weighted):
    P, c, w = multiclass(rng)
    sw = w if weighted else None
    expected = log_loss(c, P, sample_weight=sw, labels=np.arange(P.shape[1]))
    assert loss(P, c, name, sample_weight=sw) == approx(expected)


def test_ce_with_exact_zero_and_one_matches_sklearn(rng):
    P, c, w = multiclass(rng)
    P[:4] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0.5, 0.5, 0, 0]]
    c[:4] = [0, 2, 3, 2]  # certain right, certain wrong, certain right, zero probability
    expected = log_loss(c, P, sample_weight=w, labels=np.arange(4))
    assert loss(P, c, "ce", sample_weight=w) == approx(expected)


def test_ce_one_hot_label_matrix_equals_class_indices(rng):
    P, c, w = multiclass(rng)
    Y = one_hot(c, P.shape[1])
    for name in ("ce", "kl", "mse", "mae"):
        assert loss(P, Y, name, sample_weight=w) == approx(loss(P, c, name, sample_weight=w))


# --- hinge: scikit-learn ------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_hinge_matches_sklearn(rng, weighted):
    y = rng.integers(0, 2, 400)
    s = rng.normal(0.0, 2.0, 400)
    w = rng.uniform(0.5, 2.0, 400)
    sw = w if weighted else None
    # oracle: sklearn hinge_loss on the raw decision values
    assert loss(s, y, "hinge", sample_weight=sw) == approx(hinge_loss(y, s, sample_weight=sw))


@pytest.mark.parametrize("weighted", [False, True])
def test_crammer_singer_hinge_matches_sklearn(rng, weighted):
    S = rng.normal(0.0, 2.0, (400, 4))
    c = rng.integers(0, 4, 400)
    w = rng.uniform(0.5, 2.0, 400)
    sw = w if weighted else None
    expected = hinge_loss(c, S, labels=np.arange(4), sample_weight=sw)
    assert loss(S, c, "hinge", task="multiclass", sample_weight=sw) == approx(expected)
    got = loss(S, c, "hinge", task="multiclass", sample_weight=sw, hinge_mode="crammer-singer")
    assert got == approx(expected)


def test_hinge_ignores_from_logits(rng):
    y = rng.integers(0, 2, 200)
    s = rng.normal(0.0, 2.0, 200)
    # SPEC §4: hinge always takes the raw predictions as scores
    assert loss(s, y, "hinge", from_logits=True) == approx(hinge_loss(y, s))


def test_weston_watkins_hinge_by_hand():
    S = np.array([[2.0, 0.5, 1.5], [0.0, 0.0, 0.0], [3.0, -1.0, 0.5]])
    c = np.array([0, 2, 1])
    # row 0, c=0: max(0, 1+0.5−2)=0 + max(0, 1+1.5−2)=0.5 → 0.5
    # row 1, c=2: max(0, 1+0−0)=1 + 1 → 2
    # row 2, c=1: max(0, 1+3+1)=5 + max(0, 1+0.5+1)=2.5 → 7.5
    # mean = (0.5 + 2 + 7.5)/3 = 10/3
    got = loss(S, c, "hinge", task="multiclass", hinge_mode="weston-watkins")
    assert got == approx(10.0 / 3.0)
    # Crammer–Singer on the same rows: 0.5, 1, max(0, 1 + 3 + 1) = 5 → 6.5/3
    assert loss(S, c, "hinge", task="multiclass") == approx(6.5 / 3.0)


def test_weston_watkins_hinge_matches_loop(rng):
    S = rng.normal(0.0, 1.0, (200, 5))
    c = rng.integers(0, 5, 200)
    w = rng.uniform(0.5, 2.0, 200)
    # oracle: a plain Python double loop over j ≠ c
    per_row = [
        sum(max(0.0, 1.0 + S[i, j] - S[i, c[i]]) for j in range(5) if j != c[i]) for i in range(200)
    ]
    got = loss(S, c, "hinge", sample_weight=w, hinge_mode="weston-watkins")
    assert got == approx(wmean(per_row, w))


def test_squared_hinge_by_hand():
    y = np.array([1, 0, 0])
    s = np.array([0.3, -2.0, 0.5])
    # t = 2y − 1 = [1, −1, −1]; 1 − t·s = [0.7, −1, 1.5] → max(0,·)² = [0.49, 0, 2.25]
    # mean = 2.74/3
    assert loss(s, y, "squared_hinge") == approx(2.74 / 3.0)


def test_squared_hinge_matches_formula(rng):
    y = rng.integers(0, 2, 300)
    s = rng.normal(0.0, 2.0, 300)
    w = rng.uniform(0.5, 2.0, 300)
    h = np.maximum(0.0, 1.0 - (2 * y - 1) * s)
    assert loss(s, y, "squared_hinge", sample_weight=w) == approx(wmean(h**2, w))


# --- class weights ----------------------------------------------------------------------


BINARY_WEIGHTED = ["bce", "mse", "focal", "kl", "ce", "mae"]


@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_balanced_class_weight_binary_matches_sklearn(rng, with_sample_weight):
    p, y, w = binary(rng)
    y[: len(y) // 2] = 1  # unbalanced classes
    sw = w if with_sample_weight else None
    cw = compute_sample_weight("balanced", y)
    omega = cw * (w if with_sample_weight else 1.0)
    got = evaluate(p, y, losses=["bce", "mse"], sample_weight=sw, class_weight="balanced")
    # oracle: sklearn log_loss / brier_score_loss with ωᵢ = sᵢ·c(yᵢ) as sample_weight,
    # c from compute_sample_weight('balanced', y)
    assert got.losses["bce"] == approx(log_loss(y, p, sample_weight=omega))
    assert got.losses["mse"] == approx(brier_score_loss(y, p, sample_weight=omega))
    assert got.sum_weights == approx(float(omega.sum()))


@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_balanced_class_weight_multiclass_matches_sklearn(rng, with_sample_weight):
    P, c, w = multiclass(rng)
    c[:100] = 0
    sw = w if with_sample_weight else None
    omega = compute_sample_weight("balanced", c) * (w if with_sample_weight else 1.0)
    S = rng.normal(0.0, 2.0, P.shape)
    got = evaluate(P, c, losses=["ce"], sample_weight=sw, class_weight="balanced").losses["ce"]
    assert got == approx(log_loss(c, P, sample_weight=omega, labels=np.arange(4)))
    got = evaluate(
        S, c, losses=["hinge"], task="multiclass", sample_weight=sw, class_weight="balanced"
    ).losses["hinge"]
    assert got == approx(hinge_loss(c, S, labels=np.arange(4), sample_weight=omega))


@pytest.mark.parametrize("name", BINARY_WEIGHTED)
def test_explicit_class_weight_times_sample_weight(rng, name):
    p, y, w = binary(rng)
    plain = evaluate(p, y, losses=[name], reduction="none").per_sample[name]
    omega = w * np.where(y == 1, 4.0, 1.0)
    got = loss(p, y, name, sample_weight=w, class_weight={0: 1, 1: 4})
    # oracle: per-sample values from reduction='none', weighted by sᵢ·c(yᵢ) by hand
    assert got == approx(wmean(plain, omega))


def test_explicit_class_weight_matches_sklearn(rng):
    p, y, w = binary(rng)
    omega = w * np.where(y == 1, 4.0, 1.0)
    got = loss(p, y, "bce", sample_weight=w, class_weight={0: 1, 1: 4})
    assert got == approx(log_loss(y, p, sample_weight=omega))
    # string keys and class names work the same way
    assert loss(p, y, "bce", sample_weight=w, class_weight={"0": 1, "1": 4}) == approx(got)
    named = loss(p, y, "bce", sample_weight=w, classes=["neg", "pos"], class_weight={"pos": 4})
    assert named == approx(got)


def test_class_weight_by_name_multiclass(rng):
    P, c, w = multiclass(rng, k=3)
    cw = np.array([1.0, 3.0, 0.5])
    got = loss(
        P,
        c,
        "ce",
        sample_weight=w,
        classes=["cat", "dog", "eel"],
        class_weight={"dog": 3, "eel": 0.5},
    )
    expected = log_loss(c, P, sample_weight=w * cw[c], labels=np.arange(3))
    assert got == approx(expected)
    by_index = loss(P, c, "ce", sample_weight=w, class_weight={1: 3, 2: 0.5})
    assert by_index == approx(expected)


def test_class_weight_soft_labels(rng):
    P = rng.dirichlet(np.ones(3), 300)
    Y = rng.dirichlet(np.ones(3), 300)
    w = rng.uniform(0.5, 2.0, 300)
    cw = np.array([2.0, 1.0, 0.25])
    # SPEC §4: for soft labels c = Σ_c w_c Y_ic; ce = −Σ Y log P (no clipping needed)
    per_row = -(special.xlogy(Y, P)).sum(axis=1)
    got = loss(P, Y, "ce", sample_weight=w, class_weight={0: 2, 2: 0.25})
    assert got == approx(wmean(per_row, w * (Y @ cw)))
    # balanced: n_c = Σ_i Y_ic, w_c = n / (k·n_c)
    counts = Y.sum(axis=0)
    bal = 300 / (3 * counts)
    got = loss(P, Y, "ce", class_weight="balanced")
    assert got == approx(wmean(per_row, Y @ bal))


def test_dice_with_class_weights(rng):
    p, y, w = binary(rng)
    c = np.where(y == 1, 4.0, 1.0)
    om = w * c
    # dice = 1 − (2 Σωpy + σ)/(Σωp + Σωy + σ), ω = s·c(y)
    expected = 1.0 - (2 * np.sum(om * p * y) + 1.0) / (np.sum(om * p) + np.sum(om * y) + 1.0)
    got = loss(p, y, "dice", sample_weight=w, class_weight={0: 1, 1: 4})
    assert got == approx(expected)


# --- KL, CE, BCE: SciPy rel_entr / xlogy / logsumexp ----------------------------------------


@pytest.mark.parametrize("name", ["kl", "kld", "kl_div"])
def test_kl_multiclass_soft_labels_matches_rel_entr(rng, name):
    P = rng.dirichlet(np.ones(4), 300)
    Y = rng.dirichlet(np.ones(4) * 0.5, 300)
    Y[:5] = one_hot(np.arange(5) % 4, 4)  # exact zeros: 0·log 0 = 0
    w = rng.uniform(0.5, 2.0, 300)
    # oracle: scipy.special.rel_entr summed over classes, batchmean over samples
    expected = wmean(special.rel_entr(Y, P).sum(axis=1), w)
    assert loss(P, Y, name, sample_weight=w) == approx(expected)


def test_kl_multiclass_hard_labels_equals_ce(rng):
    P, c, w = multiclass(rng)
    assert loss(P, c, "kl", sample_weight=w) == approx(loss(P, c, "ce", sample_weight=w))


@pytest.mark.parametrize("s", [0.0, 0.1, 0.4])
def test_kl_binary_with_label_smoothing_matches_rel_entr(rng, s):
    p, y, w = binary(rng)
    ys = (1 - s) * y + s / 2  # k = 2 for binary
    expected = wmean(special.rel_entr(ys, p) + special.rel_entr(1 - ys, 1 - p), w)
    assert loss(p, y, "kl", sample_weight=w, label_smoothing=s) == approx(expected)


@pytest.mark.parametrize("s", [0.1, 0.3])
def test_kl_multiclass_with_label_smoothing(rng, s):
    P, c, w = multiclass(rng)
    k = P.shape[1]
    Ys = (1 - s) * one_hot(c, k) + s / k
    expected = wmean(special.rel_entr(Ys, P).sum(axis=1), w)
    assert loss(P, c, "kl", sample_weight=w, label_smoothing=s) == approx(expected)


def test_bce_label_smoothing_by_hand():
    p = np.array([0.8, 0.8])
    y = np.array([1, 0])
    # s = 0.1, k = 2: y' = 0.9·y + 0.05 = [0.95, 0.05]
    # row 0: −(0.95 log 0.8 + 0.05 log 0.2); row 1: −(0.05 log 0.8 + 0.95 log 0.2)
    r0 = -(0.95 * math.log(0.8) + 0.05 * math.log(0.2))
    r1 = -(0.05 * math.log(0.8) + 0.95 * math.log(0.2))
    assert loss(p, y, "bce", label_smoothing=0.1) == approx((r0 + r1) / 2)
    assert loss(p, y, "ce", label_smoothing=0.1) == approx((r0 + r1) / 2)


@pytest.mark.parametrize("s", [0.05, 0.2])
def test_bce_label_smoothing_matches_xlogy(rng, s):
    p, y, w = binary(rng)
    ys = (1 - s) * y + s / 2
    expected = wmean(-(special.xlogy(ys, p) + special.xlogy(1 - ys, 1 - p)), w)
    assert loss(p, y, "bce", sample_weight=w, label_smoothing=s) == approx(expected)


def test_ce_label_smoothing_by_hand():
    P = np.array([[0.6, 0.3, 0.1]])
    c = np.array([0])
    # s = 0.3, k = 3: Y' = 0.7·[1,0,0] + 0.1 = [0.8, 0.1, 0.1]
    # ce = −(0.8 log 0.6 + 0.1 log 0.3 + 0.1 log 0.1)
    expected = -(0.8 * math.log(0.6) + 0.1 * math.log(0.3) + 0.1 * math.log(0.1))
    assert loss(P, c, "ce", label_smoothing=0.3) == approx(expected)


@pytest.mark.parametrize("s", [0.1, 0.3])
def test_ce_label_smoothing_matches_xlogy(rng, s):
    P, c, w = multiclass(rng)
    k = P.shape[1]
    Ys = (1 - s) * one_hot(c, k) + s / k
    expected = wmean(-special.xlogy(Ys, P).sum(axis=1), w)
    assert loss(P, c, "ce", sample_weight=w, label_smoothing=s) == approx(expected)


def _bce_logits_oracle(y, z):
    # log σ(z) = −logsumexp([0, −z]), log(1 − σ(z)) = −logsumexp([0, z])
    zeros = np.zeros_like(z)
    lse_neg = special.logsumexp(np.stack([zeros, -z]), axis=0)
    lse_pos = special.logsumexp(np.stack([zeros, z]), axis=0)
    return y * lse_neg + (1 - y) * lse_pos


@pytest.mark.parametrize("scale", [1.0, 10.0, 1000.0, 1e4])
def test_bce_from_logits_matches_logsumexp(rng, scale):
    y = rng.integers(0, 2, 400).astype(float)
    z = rng.normal(0.0, 1.0, 400) * scale
    z[:4] = [scale, -scale, scale, -scale]
    y[:4] = [0, 1, 1, 0]
    w = rng.uniform(0.5, 2.0, 400)
    expected = wmean(_bce_logits_oracle(y, z), w)
    got = evaluate(z, y, losses=["bce", "ce", "kl"], sample_weight=w, from_logits=True).losses
    assert all(math.isfinite(v) for v in got.values())
    for name in ("bce", "ce", "kl"):  # kl = bce for hard labels
        assert got[name] == approx(expected)


@pytest.mark.parametrize("s", [0.0, 0.2])
def test_kl_binary_from_logits_with_smoothing(rng, s):
    y = rng.integers(0, 2, 300).astype(float)
    z = rng.normal(0.0, 3.0, 300)
    ys = (1 - s) * y + s / 2
    # KL = Σ y' log y' − [y' log σ(z) + (1 − y') log σ(−z)] = xlogy terms + bce(y', z)
    expected = np.mean(
        special.xlogy(ys, ys) + special.xlogy(1 - ys, 1 - ys) + _bce_logits_oracle(ys, z)
    )
    assert loss(z, y, "kl", from_logits=True, label_smoothing=s) == approx(float(expected))


@pytest.mark.parametrize("scale", [1.0, 1000.0, 1e4])
def test_ce_multiclass_from_logits_matches_logsumexp(rng, scale):
    Z = rng.normal(0.0, 1.0, (300, 4)) * scale
    Z[0] = [scale, -scale, 0.0, 0.0]
    c = rng.integers(0, 4, 300)
    c[0] = 1
    w = rng.uniform(0.5, 2.0, 300)
    # oracle: −log softmax(Z)_c = logsumexp(Z) − Z_c
    per_row = special.logsumexp(Z, axis=1) - Z[np.arange(300), c]
    got = loss(Z, c, "ce", sample_weight=w, from_logits=True)
    assert math.isfinite(got)
    assert got == approx(wmean(per_row, w))


def test_kl_multiclass_soft_labels_from_logits(rng):
    Z = rng.normal(0.0, 5.0, (300, 3))
    Z[0] = [1e4, -1e4, 0.0]
    Y = rng.dirichlet(np.ones(3), 300)
    # KL = Σ Y log Y − Σ Y (Z − logsumexp(Z)) = Σ xlogy(Y, Y) − Σ Y Z + logsumexp(Z)
    per_row = special.xlogy(Y, Y).sum(axis=1) - (Y * Z).sum(axis=1) + special.logsumexp(Z, axis=1)
    got = loss(Z, Y, "kl", from_logits=True)
    assert got == pytest.approx(float(np.mean(per_row)), rel=1e-11)  # Z·Y cancels ~1e4


def test_ce_extreme_logits_exact():
    Z = np.array([[1000.0, -1000.0, 0.0], [1e4, 0.0, -1e4], [1e4, 1e4, 0.0]])
    c = np.array([1, 0, 2])
    # row 0: lse = 1000 (+ e^−1000 + e^−2000, below an ulp) → 1000 − (−1000) = 2000
    # row 1: lse = 1e4, c = 0 → 0 (−log of a probability that rounds to 1)
    # row 2: lse = 1e4 + log 2, c = 2 → 1e4 + log 2
    expected = (2000.0 + 0.0 + 1e4 + math.log(2.0)) / 3
    assert loss(Z, c, "ce", from_logits=True) == approx(expected)


def test_bce_extreme_logits_exact():
    z = np.array([1000.0, -1000.0, 1e4, -1e4])
    y = np.array([0, 1, 1, 1])
    # ℓ = softplus(±z): [1000, 1000, 0 (log1p(e^−1e4)), 1e4] → mean 12000/4 = 3000
    assert loss(z, y, "bce", from_logits=True) == approx(3000.0)


def test_binary_ce_equals_bce(rng):
    p, y, w = binary(rng)
    got = evaluate(p, y, losses=["bce", "ce"], sample_weight=w, label_smoothing=0.1).losses
    assert got["ce"] == approx(got["bce"])


# --- focal: by hand ------------------------------------------------------------------------


def test_focal_by_hand():
    p = np.array([0.8, 0.8])
    y = np.array([1, 0])
    # γ = 2, α off. y=1: p_t = 0.8 → (0.2)²·(−log 0.8) = 0.04·0.2231435513 = 0.0089257421
    #              y=0: p_t = 0.2 → (0.8)²·(−log 0.2) = 0.64·1.6094379124 = 1.0300402640
    r0 = 0.04 * -math.log(0.8)
    r1 = 0.64 * -math.log(0.2)
    assert loss(p, y, "focal") == approx((r0 + r1) / 2)
    # α = 0.25: α_t = 0.25 for y=1, 0.75 for y=0
    assert loss(p, y, "focal", focal_alpha=0.25) == approx((0.25 * r0 + 0.75 * r1) / 2)
    # γ = 1: (0.2)·0.2231435513, (0.8)·1.6094379124
    r0g, r1g = 0.2 * -math.log(0.8), 0.8 * -math.log(0.2)
    assert loss(p, y, "focal", focal_gamma=1.0) == approx((r0g + r1g) / 2)


@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.0])
def test_focal_matches_formula(rng, gamma, alpha):
    p, y, w = binary(rng)
    pt = np.where(y == 1, p, 1 - p)
    at = 1.0 if alpha is None else np.where(y == 1, alpha, 1 - alpha)
    # −α_t (1 − p_t)^γ log p_t (p is in [0.01, 0.99], no clipping)
    expected = wmean(-at * (1 - pt) ** gamma * np.log(pt), w)
    kw = {} if alpha is None else {"focal_alpha": alpha}
    assert loss(p, y, "focal", sample_weight=w, focal_gamma=gamma, **kw) == approx(expected)


def test_focal_gamma_zero_equals_bce(rng):
    p, y, w = binary(rng)
    got = evaluate(p, y, losses=["focal", "bce"], sample_weight=w, focal_gamma=0.0).losses
    assert got["focal"] == approx(got["bce"])
    assert got["bce"] == approx(log_loss(y, p, sample_weight=w))


def test_focal_from_logits(rng):
    y = rng.integers(0, 2, 300)
    z = rng.normal(0.0, 3.0, 300)
    p = special.expit(z)
    pt = np.where(y == 1, p, 1 - p)
    # (1 − p_t)² · (−log p_t) with −log p_t = softplus(∓z)
    expected = np.mean((1 - pt) ** 2 * _bce_logits_oracle(y, z))
    assert loss(z, y, "focal", from_logits=True) == pytest.approx(float(expected), rel=1e-11)


# --- dice: by hand ---------------------------------------------------------------------------


def test_dice_by_hand():
    y = np.array([1, 0, 1, 1])
    p = np.array([0.9, 0.2, 0.6, 0.3])
    # Σpy = 0.9+0.6+0.3 = 1.8, Σp = 2.0, Σy = 3, σ = 1:
    # 1 − (2·1.8 + 1)/(2 + 3 + 1) = 1 − 4.6/6 = 0.2333…
    assert loss(p, y, "dice") == approx(1.0 - 4.6 / 6.0)
    # σ = 0: 1 − 3.6/5 = 0.28
    assert loss(p, y, "dice", dice_smooth=0.0) == approx(1.0 - 3.6 / 5.0)
    # weights ω = [1, 2, 0.5, 1], σ = 0.5:
    # Σωpy = 0.9 + 0.3 + 0.3 = 1.5, Σωp = 0.9 + 0.4 + 0.3 + 0.3 = 1.9, Σωy = 2.5
    # 1 − (3 + 0.5)/(1.9 + 2.5 + 0.5) = 1 − 3.5/4.9 = 2/7
    w = np.array([1.0, 2.0, 0.5, 1.0])
    assert loss(p, y, "dice", sample_weight=w, dice_smooth=0.5) == approx(2.0 / 7.0)


def test_dice_matches_formula(rng):
    p, y, w = binary(rng)
    for sigma in (0.0, 1.0, 10.0):
        expected = 1 - (2 * np.sum(w * p * y) + sigma) / (np.sum(w * p) + np.sum(w * y) + sigma)
        assert loss(p, y, "dice", sample_weight=w, dice_smooth=sigma) == approx(expected)


def test_dice_from_logits(rng):
    y = rng.integers(0, 2, 300)
    z = rng.normal(0.0, 3.0, 300)
    p = special.expit(z)
    expected = 1 - (2 * np.sum(p * y) + 1) / (np.sum(p) + np.sum(y) + 1)
    assert loss(z, y, "dice", from_logits=True) == approx(expected)


# --- reductions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("mse", "regression"),
        ("mae", "regression"),
        ("huber", "regression"),
        ("bce", "binary"),
        ("focal", "binary"),
        ("hinge", "binary"),
    ],
)
def test_reduction_sum_is_weighted_sum(rng, name, task):
    if task == "regression":
        p, y, w = regression_1d(rng)
        cw = {}
    else:
        p, y, w = binary(rng)
        cw = {"class_weight": {0: 1, 1: 4}}
    mean = evaluate(p, y, losses=[name], task=task, sample_weight=w, **cw)
    total = loss(p, y, name, task=task, sample_weight=w, reduction="sum", **cw)
    # Σωℓ = mean · Σω
    assert total == approx(mean.losses[name] * mean.sum_weights)
    per = evaluate(p, y, losses=[name], task=task, reduction="none").per_sample[name]
    omega = w * (np.where(y == 1, 4.0, 1.0) if cw else 1.0)
    assert total == approx(float(np.sum(omega * per)))


def test_rmse_is_sqrt_of_mse(rng):
    p, y, w = regression_1d(rng)
    got = evaluate(p, y, losses=["mse", "rmse"], task="regression", sample_weight=w).losses
    assert got["rmse"] == approx(math.sqrt(got["mse"]))
    # rmse alone (mse kept internally)
    assert loss(p, y, "rmse", task="regression", sample_weight=w) == approx(got["rmse"])


def test_rmse_binary_is_sqrt_brier(rng):
    p, y, w = binary(rng)
    assert loss(p, y, "rmse", sample_weight=w) == approx(
        math.sqrt(brier_score_loss(y, p, sample_weight=w))
    )


def test_default_losses_cover_the_task(rng):
    p, y, _ = binary(rng)
    got = evaluate(p, y).losses
    assert set(got) == {
        "mse",
        "rmse",
        "mae",
        "huber",
        "pseudo_huber",
        "log_cosh",
        "bce",
        "hinge",
        "squared_hinge",
        "ce",
        "kl",
        "focal",
        "dice",
    }
    assert got["bce"] == approx(log_loss(y, p))
    P, c, _ = multiclass(rng)
    assert set(evaluate(P, c).losses) == {
        "mse",
        "rmse",
        "mae",
        "huber",
        "pseudo_huber",
        "log_cosh",
        "hinge",
        "ce",
        "kl",
    }
