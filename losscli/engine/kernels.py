"""Per-sample losses ℓᵢ: no weighting, no reduction, no validation.

Each kernel takes scikit-learn's order, labels before predictions, options keyword-only,
and returns one float64 value per row (shape ``(n,)``). Inputs are float64 arrays that the
engine has already validated (`losscli.engine.batch`). Where a matrix ``(n, k)`` comes in
for a regression-style loss, the row's value is the mean over its k elements, so that the
weighted mean over rows is the mean over all n·k elements (scikit-learn
``multioutput='uniform_average'``, PyTorch, Keras).

Intermediates that several losses share are arguments, formed once per chunk by
`losscli.engine.batch.Batch`: the residual r = y_pred − y_true, log p and log(1 − p), the
binary hinge. These are the functions the engine runs; `losscli.engine.registry` names the
one each loss calls. The docstring of the function that defines a loss holds its
``Formula:`` and ``Reference:`` lines, which `losscli losses` and the README print.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

LN2 = float(np.log(2.0))


def _row_mean(values: Array) -> Array:
    """Per-row value of an elementwise loss: itself for (n,), the mean over k for (n, k)."""
    return values if values.ndim == 1 else values.mean(axis=1)


# --- residual losses: r = y_pred − y_true, formed once per chunk by the engine ---------------


def squared_error(r: Array) -> Array:
    """Per-sample squared error, from the residual.

    Formula: r², r = ŷ − y (y one-hot for multiclass)
    Reference: scikit-learn mean_squared_error; Brier (1950)

    Conventions: for a binary task on probabilities this is the Brier score; for multiclass
    y is one-hot (or soft) and ℓ averages over the k classes.
    Worked value: r=[0.5, 2] → [0.25, 4].

    Args:
        r: y_pred − y_true, (n,) or (n, k).
    Returns:
        ℓ, float64, shape (n,), all ≥ 0.
    """
    return _row_mean(r * r)


def absolute_error(r: Array) -> Array:
    """Per-sample absolute error, from the residual.

    Formula: |r|
    Reference: scikit-learn mean_absolute_error

    Worked value: r=[0.5, -2] → [0.5, 2].

    Args:
        r: y_pred − y_true, (n,) or (n, k).
    Returns:
        ℓ, float64, shape (n,), all ≥ 0.
    """
    return _row_mean(np.abs(r))


def huber(r: Array, *, delta: float = 1.0) -> Array:
    """Per-sample Huber loss: quadratic inside ±delta, linear outside.

    Formula: ½r² if |r| ≤ δ, else δ(|r| − ½δ)
    Reference: Huber (1964); scipy.special.huber

    Conventions: the ½ is included (ℓ = ½·squared_error inside the band), as in
    `scipy.special.huber` and PyTorch `HuberLoss`. Computed as m·(|r| − ½m), m = min(|r|, δ):
    ½r² inside the band (exactly: ½|r| is exact) and δ(|r| − ½δ) outside, in three passes
    instead of a where over both branches.
    Worked value: delta=1, r=[0.5, 2] → [0.125, 1.5].

    Args:
        r: y_pred − y_true, (n,) or (n, k).
        delta: half-width of the quadratic band, > 0.
    Returns:
        ℓ, float64, shape (n,), all ≥ 0.
    """
    a = np.abs(r)
    m = np.minimum(a, delta)
    return _row_mean(m * (a - 0.5 * m))


def pseudo_huber(r: Array, *, delta: float = 1.0) -> Array:
    """Per-sample pseudo-Huber loss: a smooth Huber.

    Formula: δ²(√(1 + (r/δ)²) − 1)
    Reference: Charbonnier et al. (1997); scipy.special.pseudo_huber

    Conventions: ≈ ½·r² near 0, ≈ δ·|r| far out. Computed as δ²·u·(u/(√(1+u²)+1)),
    u = |r|/δ: it keeps full precision for |r| ≪ δ, where √(1+u²) − 1 cancels, and never
    forms u² (which overflows at |r| = 1e200 although the loss, ≈ δ·|r|, is representable);
    hypot(1, u) = √(1 + u²).
    Worked value: delta=1, r=[0, 1] → [0, √2 − 1 = 0.41421356...].

    Args:
        r: y_pred − y_true, (n,) or (n, k).
        delta: scale, > 0.
    Returns:
        ℓ, float64, shape (n,), all ≥ 0.
    """
    u = np.abs(r) / delta
    return _row_mean(delta * delta * u * (u / (np.hypot(1.0, u) + 1.0)))


# log cosh a = x·P(x), x = a², for a ≤ 1: P is the degree-14 Chebyshev fit of
# log(cosh √x)/x on [0, 1] (mpmath.chebyfit with 50 digits, fit error 5e-18), highest degree
# first. In float64 it is within 2 ulp of a 50-digit log cosh (0.29 ulp on average, against
# 0.57 for the expm1/log1p form below) at less than half the cost: 29 multiply-adds instead
# of two library transcendentals.
_LOG_COSH_POLY = (
    7.149426687319922e-09, -7.274045244955428e-08, 3.7585381118136593e-07,
    -1.3729456929291544e-06, 4.187437739149353e-06, -1.1823332233363504e-05,
    3.271939287579791e-05, -9.097002146219214e-05, 0.0002565759865330968,
    -0.0007386022204321077, 0.0021869487752007918, -0.0067460317410084555,
    0.022222222222053067, -0.08333333333333108, 0.5,
)  # fmt: skip


def log_cosh(r: Array) -> Array:
    """Per-sample log-cosh loss.

    Formula: log cosh r, computed without overflow
    Reference: Keras LogCosh

    Conventions: log cosh a = log1p(m²/(2(m + 1))), m = expm1(a), a = |r|: exact for tiny
    a, where log(cosh a) would round cosh(1e-8) to 1 and return 0 instead of 5e-17. Past
    a = 300 m² would overflow, and there log cosh a = a − log 2 to the last digit (the
    neglected log1p(e^(−2a)) is below 1e-260), so r = 1e6 gives 1e6 − log 2 instead of inf.
    When every |r| ≤ 1 (a binary task on probabilities always), a polynomial gives the same
    digits at less cost.
    Worked value: r=[0, 1] → [0, 0.43378083...].
    Further reading: Chen et al. (2019), Log Hyperbolic Cosine Loss, arXiv:1904.01224.

    Args:
        r: y_pred − y_true, (n,) or (n, k).
    Returns:
        ℓ, float64, shape (n,), all ≥ 0.
    """
    a = np.abs(r)
    top = a.max() if a.size else 0.0
    if top <= 1.0:
        return _row_mean(_log_cosh_small(a))
    if top > 300.0:
        em = np.expm1(np.minimum(a, 300.0))
        return _row_mean(np.where(a > 300.0, a - LN2, np.log1p(em * em / (2.0 * (em + 1.0)))))
    em = np.expm1(a)
    return _row_mean(np.log1p(em * em / (2.0 * (em + 1.0))))


def _log_cosh_small(a: Array) -> Array:
    """log cosh a for 0 ≤ a ≤ 1 by Horner's rule on `_LOG_COSH_POLY`, in place on a copy."""
    x = a * a
    out = np.full_like(x, _LOG_COSH_POLY[0])
    for c in _LOG_COSH_POLY[1:]:
        out *= x
        out += c
    out *= x
    return out


# --- binary probability losses -----------------------------------------------------------


def _clip(p: Array, eps: float) -> Array:
    return np.clip(p, eps, 1.0 - eps)


def binary_log_probs(p: Array, *, eps: float, clip_first: bool = False) -> tuple[Array, Array]:
    """(log p, log(1 − p)) from probabilities, each clipped to [eps, 1 − eps] first.

    Clipping p and 1 − p separately is what scikit-learn's `log_loss` does (it stacks
    [1 − p, p] and clips the matrix), so the values agree to the last digit. With
    `clip_first`, 1 − p is formed from the clipped p, as Keras does: at p = 1 that is
    1 − (1 − eps), which differs from eps in its last digits.
    """
    if clip_first:
        pc = _clip(p, eps)
        return np.log(pc), np.log(1.0 - pc)
    return np.log(_clip(p, eps)), np.log(_clip(1.0 - p, eps))


def binary_log_probs_from_logits(z: Array) -> tuple[Array, Array]:
    """(log σ(z), log(1 − σ(z))) from logits, exact for any finite z.

    log σ(z) = −log(1 + e^(−z)) = −logaddexp(0, −z) and log(1 − σ(z)) = −logaddexp(0, z):
    no probability is formed, so z = ±1000 gives −1000 and −0 exactly.
    """
    return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)


def sigmoid(z: Array) -> Array:
    """σ(z) = 1/(1 + e^(−z)), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def binary_cross_entropy(y_true: Array, p: Array, one_minus_p: Array, *, eps: float) -> Array:
    """Per-sample binary cross-entropy (log loss) of labels 0/1, from probabilities.

    Formula: −[y log p + (1−y) log(1−p)]
    Reference: scikit-learn log_loss; PyTorch BCEWithLogitsLoss

    Conventions: for y ∈ {0, 1} this is −log p_t, p_t = y·p + (1 − y)·(1 − p): one log
    instead of two, and p_t is exact (0·x = 0 and x + 0 = x) where np.where on a random
    mask would cost as much as the log. p_t is clipped to [eps, 1 − eps], which clips p
    and 1 − p separately as scikit-learn does, so a certain wrong answer costs −log eps ≈
    36.04. Soft or smoothed labels go to `soft_binary_cross_entropy`; logits to
    `binary_cross_entropy_from_logits`.
    Worked value: y=[1, 0], p=[0.8, 0.8] → [0.22314355..., 1.60943791...].

    Args:
        y_true: (n,) in {0, 1}.  p, one_minus_p: (n,) probability of the positive class and
            its complement.  eps: clipping bound, in (0, 0.5).
    Returns:
        ℓ, float64, shape (n,), all ≥ 0.
    """
    pt = y_true * p
    pt += (1.0 - y_true) * one_minus_p
    np.clip(pt, eps, 1.0 - eps, out=pt)
    return np.negative(np.log(pt, out=pt), out=pt)


def binary_cross_entropy_from_logits(y_true: Array, z: Array) -> Array:
    """Per-sample binary cross-entropy of labels 0/1, from logits z.

    Formula (t = 2y − 1):
        ℓ = −log σ(t·z) = logaddexp(0, −t·z)

    Conventions: no clipping and no probability is formed, and −t·z = (1 − 2y)·z is exact,
    so z = ±1000 is exact. Equal to −[y log σ(z) + (1 − y) log(1 − σ(z))].
    Worked value: y=[1, 0], z=[0, 1000] → [log 2, 1000].

    Reference:
        PyTorch `BCEWithLogitsLoss`; Keras `binary_crossentropy(from_logits=True)`.
    """
    return np.logaddexp(0.0, (1.0 - 2.0 * y_true) * z)


def soft_binary_cross_entropy(y_true: Array, log_p: Array, log_q: Array) -> Array:
    """Per-sample binary cross-entropy of soft targets, given log p and log(1 − p).

    Formula:
        ℓ = −[y·log p + (1 − y)·log(1 − p)],  y ∈ [0, 1]

    Conventions: y is a soft target (distillation) or a smoothed label; log p and
    log(1 − p) come from `binary_log_probs` (clipped) or `binary_log_probs_from_logits`.
    Worked value: y=0.5, p=0.8 → −½(log 0.8 + log 0.2) = 0.91629073...

    Reference:
        PyTorch `binary_cross_entropy` (soft targets); Szegedy et al. (2016), label smoothing.
    """
    return -(y_true * log_p + (1.0 - y_true) * log_q)


def binary_kl_divergence(y_true: Array, log_p: Array, log_q: Array) -> Array:
    """Per-sample KL(y ‖ p) for two classes, given log p and log(1 − p).

    Formula:
        ℓ = y·(log y − log p) + (1 − y)·(log(1 − y) − log(1 − p)),  0·log 0 = 0

    Conventions: equals binary cross-entropy minus the entropy of y, so it is bce for hard
    labels and smaller for soft ones.
    Reference:
        Kullback & Leibler (1951); `scipy.special.rel_entr`; PyTorch `KLDivLoss(reduction='batchmean')`.
    """
    return _xlogx(y_true) + _xlogx(1.0 - y_true) - (y_true * log_p + (1.0 - y_true) * log_q)


def binary_focal(
    y_true: Array,
    p: Array,
    one_minus_p: Array,
    bce: Array,
    *,
    gamma: float,
    alpha: float | None,
) -> Array:
    """Per-sample binary focal loss, given p, 1 − p and the per-sample bce.

    Formula: −α_t (1 − p_t)^γ log p_t
    Reference: Lin et al. (2017), Focal Loss for Dense Object Detection

    Computed as ℓ = α_t·(1 − p_t)^γ·bce, p_t = y·p + (1 − y)·(1 − p),
    α_t = y·α + (1 − y)·(1 − α) (α off → α_t = 1).

    Conventions: the Keras `BinaryFocalCrossentropy` form, which also covers soft labels;
    γ = 0 and α off give bce exactly. 1 − p_t is formed from 1 − p passed in (σ(−z) from
    logits), so it does not round to 0 where p_t is close to 1.
    Worked value: γ=2, y=1, p=0.8 → 0.04·0.22314355 = 0.00892574...
    For y ∈ {0, 1} the products select exactly (0·x = 0 and x + 0 = x), at less cost than
    np.where on a random mask. Lin et al. (2017) is ICCV, eq. 5.
    """
    one_minus_pt = y_true * one_minus_p + (1.0 - y_true) * p
    factor = one_minus_pt**gamma if gamma != 0.0 else 1.0
    out = factor * bce
    if alpha is not None:
        out = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * out
    return out


def binary_hinge(y_true: Array, y_pred: Array) -> Array:
    """Per-sample binary hinge loss on raw scores.

    Formula (t = 2y − 1 ∈ {−1, +1}, s = y_pred):
        ℓ = max(0, 1 − t·s)

    Conventions: labels {0, 1} are mapped to {−1, +1}; s is the raw prediction (a decision
    function), never a sigmoid of it.
    Worked value: y=[1, 0], s=[0.3, -2] → [0.7, 0].
    Reference:
        scikit-learn `hinge_loss`; Cortes & Vapnik (1995), Machine Learning 20.
    """
    return np.maximum(0.0, 1.0 - (2.0 * y_true - 1.0) * y_pred)


def binary_squared_hinge(hinge: Array) -> Array:
    """Per-sample squared hinge loss, given the binary hinge loss of each row.

    Formula: max(0, 1 − t·s)²
    Reference: Keras SquaredHinge

    Conventions: t = 2y − 1, s the raw score; the hinge comes from `binary_hinge`, which
    the engine computes once for hinge and squared_hinge.
    Worked value: hinge=[0.7, 0] (y=[1, 0], s=[0.3, -2]) → [0.49, 0].
    """
    return hinge * hinge


# --- multiclass losses ---------------------------------------------------------------------


def _xlogx(x: Array) -> Array:
    """x·log x with 0·log 0 = 0 (`scipy.special.xlogy(x, x)`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def log_softmax(z: Array) -> Array:
    """log softmax over the last axis: z − logsumexp(z), exact for any finite z."""
    m = z.max(axis=1, keepdims=True)
    shifted = z - m
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(z: Array) -> Array:
    return np.exp(log_softmax(z))


def categorical_cross_entropy(y_true: Array | NDArray[np.intp], log_p: Array) -> Array:
    """Per-sample categorical cross-entropy, given the labels and log P (n, k).

    Formula: −Σ_c Y_c log P_c
    Reference: scikit-learn log_loss; PyTorch CrossEntropyLoss

    Conventions: log P is log(clip(P, eps, 1 − eps)) for probabilities (scikit-learn
    `log_loss`, which no longer renormalises rows) or log-softmax of logits (exact). The
    labels are Y (n, k), one-hot, soft or smoothed, or class indices c (n,), for which
    ℓ = −log P_c without forming the (n, k) product. Binary tasks use `binary_cross_entropy`.
    Worked value: Y=[0, 1, 0], P=[0.2, 0.7, 0.1] → −log 0.7 = 0.35667494...
    """
    if y_true.ndim == 1:
        return -log_p[np.arange(log_p.shape[0]), y_true]
    return -(y_true * log_p).sum(axis=1)


def kl_divergence(y_true: Array, log_p: Array) -> Array:
    """Per-sample KL divergence of predictions from labels, given Y (n, k) and log P (n, k).

    Formula: Σ_c Y_c (log Y_c − log P_c), 0·log 0 = 0
    Reference: Kullback & Leibler (1951); PyTorch KLDivLoss(reduction='batchmean')

    Conventions: the per-sample sum over classes, averaged over samples by the engine;
    equals CE for one-hot Y; `scipy.special.rel_entr` summed over classes. Binary tasks use
    `binary_kl_divergence`.
    Worked value: Y=[0.5, 0.5], P=[0.25, 0.75] → 0.5·log 2 + 0.5·log(2/3) = 0.14384103...
    """
    return _xlogx(y_true).sum(axis=1) - (y_true * log_p).sum(axis=1)


def crammer_singer_hinge(
    labels: NDArray[np.intp], scores: Array, *, floor: float | None = None
) -> Array:
    """Per-sample multiclass hinge loss (Crammer–Singer) on raw scores.

    Formula (c the true class):
        ℓ = max(0, 1 + max_{j≠c} s_j − s_c)

    Conventions: `floor` bounds max_{j≠c} s_j from below; Keras's `CategoricalHinge`,
    max(0, 1 + max_j (1 − Y_j)·s_j − Σ Y·s), is floor = 0 (its true class counts as 0).

    Worked value: c=0, s=[2, 0.5, 1.5] → max(0, 1 + 1.5 − 2) = 0.5.
    Reference:
        Crammer & Singer (2001), JMLR 2; scikit-learn `hinge_loss` (multiclass); Keras `CategoricalHinge`.
    """
    rows = np.arange(scores.shape[0])
    true = scores[rows, labels]
    others = scores.copy()
    others[rows, labels] = -np.inf
    rival = others.max(axis=1) if floor is None else np.maximum(others.max(axis=1), floor)
    return np.maximum(0.0, 1.0 + rival - true)


def weston_watkins_hinge(labels: NDArray[np.intp], scores: Array) -> Array:
    """Per-sample multiclass hinge loss (Weston–Watkins) on raw scores.

    Formula (c the true class):
        ℓ = Σ_{j≠c} max(0, 1 + s_j − s_c)

    Worked value: c=0, s=[2, 0.5, 1.5] → 0 + 0.5 = 0.5; s=[0, 0, 0] → 2.
    Reference:
        Weston & Watkins (1999), ESANN; Vapnik (1998).
    """
    rows = np.arange(scores.shape[0])
    true = scores[rows, labels]
    margins = np.maximum(0.0, 1.0 + scores - true[:, None])
    margins[rows, labels] = 0.0
    return margins.sum(axis=1)


def top_label(y_true: Array, p: Array) -> tuple[Array, Array]:
    """Confidence cᵢ and outcome aᵢ of each row, for calibration errors.

    Binary (p of shape (n,)): c = p, the probability of class 1, and a = y (the observed
    rate, also for soft targets), as torchmetrics' `BinaryCalibrationError`. Multiclass
    (P of shape (n, k), Y the (n, k) label rows): c = max_j P_j and a = Y at the first
    column of that maximum (1 when the top-label prediction is the true class, for one-hot
    rows), as `MulticlassCalibrationError` with ``argmax``.
    """
    if p.ndim == 1:
        return p, y_true
    top = np.argmax(p, axis=1)  # the first maximum, as torch.max and np.argmax
    rows = np.arange(p.shape[0])
    return p[rows, top], y_true[rows, top]


def calibration_bin(confidence: Array, *, bins: int) -> NDArray[np.intp]:
    """0-based bin of each confidence among `bins` equal-width bins over [0, 1].

    Bin b (1-based) holds (b − 1)/B ≤ c < b/B, and c = 1 falls in bin B (SPEC §11). The
    edges are the float64 numbers nearest k/B (``k / B``, so 0.3 is the edge of 10 bins,
    where ``np.linspace`` gives 0.30000000000000004), and a confidence equal to an edge
    goes to the bin it opens. Worked value: B = 4, c = [0, 0.25, 0.6, 1] → [0, 1, 2, 3].
    """
    edges = np.arange(bins + 1, dtype=np.float64) / bins
    index = np.searchsorted(edges, confidence, side="right") - 1
    return np.clip(index, 0, bins - 1)
