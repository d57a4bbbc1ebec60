"""Paired comparison of models on the same rows: seeded bootstrap or normal approximation.

Every loss of every model is a function g of a few column sums T = Σᵢ xᵢ of per-sample
terms xᵢ (STYLE §4): Σω and the sums of the loss's statistic (`losscli.engine.stats`: Σωℓ
for a mean and for rmse, Σωy, Σωpy, Σωp for Dice), which also gives d and its gradient
from them. Model B is written against the baseline A as A's terms plus the
paired differences (ωℓ_B − ωℓ_A, ...), so that

    d = loss(B) − loss(A) = g(T_A + T_Δ) − g(T_A)

is exactly 0 when B's predictions equal A's (the Δ columns are exact zeros), in every
resample too. Two ways to get an interval for d:

- ``bootstrap``: resample rows with replacement, the same resample for every model; a
  resample is a vector of counts cᵢ (multinomial, drawn as n uniform indices), and every
  resampled sum is a matrix product T* = C·X. The interval is the percentile interval of
  d*; the two-sided p-value for "no difference" is (1 + #{|d* − d| ≥ |d|}) / (B + 1)
  (Efron & Tibshirani 1993, §16; Koehn 2004 for paired bootstrap of evaluation metrics).
- ``normal``: the mean and covariance of xᵢ are accumulated chunk by chunk (mergeable, Chan
  et al. 1979), Var(T) ≈ n·Cov(x), and the delta method gives Var(d) ≈ ∇gᵀ Var(T) ∇g —
  for a weighted mean this is the usual ratio-estimator variance Σ ωᵢ²(Δᵢ − d)² / (Σω)².
  CI d ± z·se; p = 2(1 − Φ(|d|/se)). It needs only T and the moments, so `PairedSums`
  takes the terms of a file chunk by chunk (`paired_terms` of each chunk) in memory that
  does not grow with n, and `compare_sums` finishes from it.

NumPy and the standard library only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from losscli.engine.accumulate import CompensatedSum
from losscli.engine.batch import Batch
from losscli.engine.options import Options
from losscli.engine.registry import LossSpec
from losscli.engine.stats import Statistic
from losscli.engine.weights import class_weight_vector
from losscli.errors import InputError, option

Array = NDArray[np.float64]
Method = Literal["bootstrap", "normal"]

# Above this many rows `method='auto'` uses the normal approximation.
AUTO_NORMAL_ROWS = 200_000
# Counts matrix of one block of resamples: at most this many entries (16 MB of float64).
BLOCK_ELEMENTS = 1 << 21
# Rows per chunk when accumulating moments.
MOMENT_CHUNK = 1 << 16


@dataclass(frozen=True)
class Contrast:
    """Where the terms of one (model, loss) difference sit among the columns.

    Σω is column 0; shared holds the statistic's label-only terms (Σωy for Dice), base
    model A's other terms (ΣωℓA for a mean), delta the B − A differences of those.
    """

    model: int
    loss: str
    statistic: Statistic
    shared: tuple[int, ...]
    base: tuple[int, ...]
    delta: tuple[int, ...]


@dataclass
class PairedTerms:
    """Per-sample terms X (n, q) of every model and loss, and how to read them."""

    columns: Array
    contrasts: list[Contrast]
    baseline: int
    options: Options
    n_models: int = 0

    @property
    def n(self) -> int:
        return int(self.columns.shape[0])


@dataclass(frozen=True)
class Comparison:
    """d = loss(model) − loss(baseline), its interval and the p-value for d = 0."""

    model: int
    baseline: int
    loss: str
    difference: float
    ci: tuple[float, float]
    p_value: float
    method: str
    p_adjusted: float | None = None


# --- per-sample terms -------------------------------------------------------------------


def _row_weights(
    batch: Batch,
    options: Options,
    task: str,
    classes: Sequence[str],
    class_weights: Array | None = None,
) -> Array:
    """ωᵢ = sᵢ·c(yᵢ); class weights come from the whole data (balanced counts are fixed,
    not re-estimated in each resample): the batch's own class counts, or `class_weights`
    when the batch is one chunk of a larger input."""
    s = np.ones(batch.n) if batch.weights is None else batch.weights
    if options.class_weight is None or task == "regression":
        return s
    k = batch.n_classes
    names = list(classes) or [str(c) for c in range(k)]
    w = class_weights
    if w is None:
        w = class_weight_vector(options.class_weight, batch.group_count(k), names)
    c = w[batch.class_index] if batch.Y is None else batch.Y @ w
    return s * c


def paired_terms(
    task: str,
    specs: Sequence[LossSpec],
    options: Options,
    preds: Sequence[np.ndarray],
    labels: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    classes: Sequence[str] = (),
    baseline: int = 0,
    class_weights: Array | None = None,
) -> PairedTerms:
    """The per-sample terms of every model against the baseline, as columns.

    Args:
        task: ``regression``, ``binary`` or ``multiclass`` (decided for all models at once).
        specs: the losses to compare.
        options: validated options; ``reduction`` must be ``mean``.
        preds: one (n,) or (n, k) array per model, rows aligned with `labels`.
        labels, sample_weight: shared by every model.
        classes: class names, for class weights given by name.
        baseline: index of the reference model in `preds`.
        class_weights: one weight per class, from the whole input, when the rows are one
            chunk of it (balanced class weights need the class counts of every row); by
            default computed from these rows.
    """
    if len(preds) < 2:
        raise InputError(f"compare needs at least two models, got {len(preds)}")
    n = np.shape(preds[0])[0]
    for i, p in enumerate(preds):
        if np.shape(p)[0] != n:
            raise InputError(
                f"model {i + 1} has {np.shape(p)[0]} rows, model 1 has {n}",
                fix="Every model must predict the same rows, in the same order",
            )
    if not 0 <= baseline < len(preds):
        raise InputError(f"baseline index {baseline} is out of range")
    check_reduction(options)
    # each model clips at the ε of its own dtype (as its own loss does), unless eps is given
    batches = [
        Batch(task, p, labels, sample_weight, options.for_dtype(p.dtype), list(specs))
        for p in map(np.asarray, preds)
    ]
    omega = _row_weights(batches[baseline], options, task, classes, class_weights)
    cols: list[Array] = [omega]
    contrasts: list[Contrast] = []

    def add(values: Array) -> int:
        cols.append(values)
        return len(cols) - 1

    base = batches[baseline]
    for spec in specs:
        stat = spec.statistic
        k = stat.shared
        a_terms = [omega * t for t in stat.terms(base)]
        shared = tuple(add(t) for t in a_terms[:k])
        base_cols = tuple(add(t) for t in a_terms[k:])
        for m, b in enumerate(batches):
            if m == baseline:
                continue
            # ω(xB − xA), exact zeros when the predictions are the same
            b_terms = [omega * t for t in stat.terms(b)[k:]]
            delta = tuple(add(tb - ta) for tb, ta in zip(b_terms, a_terms[k:], strict=True))
            contrasts.append(Contrast(m, spec.name, stat, shared, base_cols, delta))
    # (m, n) filled row by row, seen as (n, m): column_stack would transpose while copying,
    # the slowest step of compare on 10⁶ rows (0.84 s of 3.4 s)
    return PairedTerms(np.stack(cols).T, contrasts, baseline, options, len(preds))


def check_reduction(options: Options) -> None:
    """A comparison is of mean losses (what the sums T give)."""
    if options.reduction != "mean":
        raise InputError(
            f"compare compares mean losses; {option('reduction', options.reduction)} does not apply",
            fix=f"Leave out {option('reduction')}",
        )


# --- the statistics as functions of the sums --------------------------------------------


def _pick(c: Contrast, T: Array) -> tuple[Array, list[Array], list[Array], list[Array]]:
    """Σω and the contrast's shared, base and delta sums, from T of shape (..., q)."""
    cols = (c.shared, c.base, c.delta)
    return (T[..., 0], *([T[..., i] for i in idx] for idx in cols))  # type: ignore[return-value]


def _difference(c: Contrast, T: Array, options: Options) -> Array:
    """d for column sums T of shape (..., q); vectorised over resamples."""
    return c.statistic.difference(*_pick(c, T), options)


def _gradient(c: Contrast, T: Array, q: int, options: Options) -> Array:
    """∇d with respect to the column sums (the delta method)."""
    g = np.zeros(q)
    g_w, g_shared, g_base, g_delta = c.statistic.gradient(*_pick(c, T), options)
    g[0] = g_w
    for idx, parts in ((c.shared, g_shared), (c.base, g_base), (c.delta, g_delta)):
        for i, v in zip(idx, parts, strict=True):
            g[i] = v
    return g


# --- streamed moments --------------------------------------------------------------------


@dataclass
class Moments:
    """Count, mean and scatter matrix M2 = Σ(x − x̄)(x − x̄)ᵀ of row vectors; mergeable."""

    q: int
    n: int = 0
    mean: Array = field(default_factory=lambda: np.zeros(0))
    m2: Array = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        if self.mean.shape != (self.q,):
            self.mean = np.zeros(self.q)
            self.m2 = np.zeros((self.q, self.q))

    def update(self, x: Array) -> Moments:
        if x.shape[0] == 0:
            return self
        mean = x.mean(axis=0)
        r = x - mean
        return self.merge(Moments(self.q, x.shape[0], mean, r.T @ r))

    def merge(self, other: Moments) -> Moments:
        """Chan, Golub & LeVeque (1979): exact pooling of two groups' means and scatter."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        return Moments(self.q, n, mean, m2)

    def sums_covariance(self) -> Array:
        """Var(T) for T = Σxᵢ: n times the sample covariance."""
        if self.n < 2:
            return np.full((self.q, self.q), math.nan)
        return self.m2 * (self.n / (self.n - 1))


@dataclass
class PairedSums:
    """What the normal approximation needs of the terms X: the column sums T and the
    `Moments` of the rows, taken chunk by chunk (`update` with the `paired_terms` of each
    chunk, in row order), so that memory does not grow with n.

    T is a compensated sum across chunks (pairwise within one), so it agrees with
    ``X.sum(axis=0)`` of the whole matrix to the last digit or so; the moments merge as in
    `compare`, which splits the rows at multiples of `MOMENT_CHUNK` (`moment_pieces`).
    """

    contrasts: list[Contrast]
    baseline: int
    options: Options
    n_models: int
    q: int
    total: CompensatedSum
    moments: Moments

    @classmethod
    def like(cls, terms: PairedTerms) -> PairedSums:
        """Empty sums for terms laid out as `terms` (same losses, models and baseline)."""
        q = int(terms.columns.shape[1])
        return cls(
            terms.contrasts,
            terms.baseline,
            terms.options,
            terms.n_models,
            q,
            CompensatedSum.zeros((q,)),
            Moments(q),
        )

    @property
    def n(self) -> int:
        return self.moments.n

    def update(self, terms: PairedTerms) -> PairedSums:
        if terms.columns.shape[1] != self.q or terms.contrasts != self.contrasts:
            raise ValueError("the terms are laid out differently from the sums")
        self.total.add(terms.columns.sum(axis=0))
        self.moments = self.moments.update(terms.columns)
        return self


def moment_pieces(offset: int, n: int) -> list[tuple[int, int]]:
    """(start, stop) of the pieces of rows offset..offset+n−1, cut at the multiples of
    `MOMENT_CHUNK` (as `compare` cuts the whole matrix), as positions in the chunk."""
    cuts = [0]
    nxt = (offset // MOMENT_CHUNK + 1) * MOMENT_CHUNK - offset
    while nxt < n:
        cuts.append(nxt)
        nxt += MOMENT_CHUNK
    cuts.append(n)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


# --- methods -----------------------------------------------------------------------------


def choose_method(method: str, n: int) -> Method:
    if method == "auto":
        return "normal" if n > AUTO_NORMAL_ROWS else "bootstrap"
    if method not in ("bootstrap", "normal"):
        raise InputError(f"{option('method')} is {method}; it must be auto, bootstrap or normal")
    return method  # type: ignore[return-value]


def check_settings(confidence: float, n_resamples: int) -> None:
    if not (0.0 < confidence < 1.0) or not math.isfinite(confidence):
        raise InputError(
            f"{option('confidence')} is {confidence:g}; it must lie strictly between 0 and 1",
            fix=f"Pass {option('confidence', 0.95)} for a 95% interval",
        )
    if n_resamples < 1:
        raise InputError(
            f"{option('n_resamples')} is {n_resamples}; at least 1 resample is needed",
            fix=f"Pass {option('n_resamples', 1000)} (the default)",
        )


def resample_counts(rng: np.random.Generator, n: int, size: int) -> Array:
    """`size` multinomial(n; 1/n, ..., 1/n) count vectors, as n uniform draws per resample."""
    idx = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def bootstrap_differences(
    terms: PairedTerms, n_resamples: int, seed: int, threads: int | None = None
) -> Array:
    """d* of every contrast in every resample: (n_resamples, n_contrasts).

    Resamples come in blocks of a size fixed by n; block j draws from the j-th child of
    SeedSequence(seed), so the numbers depend on the seed only, not on the threads.
    """
    n = terms.n
    block = max(1, min(n_resamples, BLOCK_ELEMENTS // max(n, 1)))
    starts = list(range(0, n_resamples, block))
    children = np.random.SeedSequence(seed).spawn(len(starts))
    # (q, n) @ (n, b) is several times faster than (b, n) @ (n, q) for row-major arrays
    columns_t = np.ascontiguousarray(terms.columns.T)
    out = np.empty((n_resamples, len(terms.contrasts)))

    def one(j: int) -> None:
        size = min(block, n_resamples - starts[j])
        counts = resample_counts(np.random.default_rng(children[j]), n, size)
        T = (columns_t @ counts.T).T
        for k, c in enumerate(terms.contrasts):
            out[starts[j] : starts[j] + size, k] = _difference(c, T, terms.options)

    workers = min(threads or os.cpu_count() or 1, len(starts))
    if workers <= 1:
        for j in range(len(starts)):
            one(j)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(len(starts))))
    return out


def compare(
    terms: PairedTerms,
    *,
    method: str = "auto",
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
    differences: Sequence[float] | None = None,
) -> list[Comparison]:
    """One `Comparison` per (model, loss), in the order of `terms.contrasts`.

    Args:
        terms: from `paired_terms`.
        method: ``auto`` (bootstrap up to `AUTO_NORMAL_ROWS` rows), ``bootstrap`` or ``normal``.
        confidence: the interval's coverage, in (0, 1).
        n_resamples: bootstrap resamples, ≥ 1.
        seed: seeds the resampling (the same seed gives the same numbers).
        differences: the reported d per contrast (e.g. from `evaluate`, so that d is
            exactly loss(B) − loss(A) as printed); by default computed from the terms.
    """
    check_settings(confidence, n_resamples)
    chosen = choose_method(method, terms.n)
    T = terms.columns.sum(axis=0)
    q = T.shape[0]
    d_hat = np.array([float(_difference(c, T, terms.options)) for c in terms.contrasts])
    reported = d_hat if differences is None else np.asarray(differences, dtype=np.float64)
    alpha = 1.0 - confidence
    out: list[Comparison] = []
    if chosen == "bootstrap":
        star = bootstrap_differences(terms, n_resamples, seed)
        for j, c in enumerate(terms.contrasts):
            col = star[:, j]
            col = col[np.isfinite(col)]  # a resample without positive weight has no value
            if col.size == 0:
                ci, p = (math.nan, math.nan), math.nan
            else:
                lo, hi = np.quantile(col, [alpha / 2.0, 1.0 - alpha / 2.0])
                ci = (float(lo), float(hi))
                extreme = int(np.count_nonzero(np.abs(col - d_hat[j]) >= abs(d_hat[j])))
                p = (1.0 + extreme) / (col.size + 1.0)
            out.append(
                Comparison(c.model, terms.baseline, c.loss, float(reported[j]), ci, p, chosen)
            )
        return out
    moments = Moments(q)
    for start in range(0, terms.n, MOMENT_CHUNK):
        moments = moments.update(terms.columns[start : start + MOMENT_CHUNK])
    return _normal(terms.contrasts, terms.baseline, terms.options, T, moments, confidence, reported)


def compare_sums(
    sums: PairedSums,
    *,
    confidence: float = 0.95,
    differences: Sequence[float] | None = None,
) -> list[Comparison]:
    """`compare(method='normal')` from streamed `PairedSums`, in the order of its contrasts.

    Args:
        sums: the sums and moments of every chunk's `paired_terms`.
        confidence: the interval's coverage, in (0, 1).
        differences: the reported d per contrast (e.g. from the engine's accumulators);
            by default computed from the sums.
    """
    check_settings(confidence, 1)
    if sums.n == 0:
        raise InputError("no rows to compare", fix="A mean over no rows is undefined")
    T = sums.total.value()
    if differences is None:
        differences = [float(_difference(c, T, sums.options)) for c in sums.contrasts]
    reported = np.asarray(differences, dtype=np.float64)
    return _normal(
        sums.contrasts, sums.baseline, sums.options, T, sums.moments, confidence, reported
    )


def _normal(
    contrasts: Sequence[Contrast],
    baseline: int,
    options: Options,
    T: Array,
    moments: Moments,
    confidence: float,
    reported: Array,
) -> list[Comparison]:
    """The delta-method interval and p-value of every contrast, from T and the moments."""
    q = T.shape[0]
    alpha = 1.0 - confidence
    cov = moments.sums_covariance()
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    out: list[Comparison] = []
    for j, c in enumerate(contrasts):
        g = _gradient(c, T, q, options)
        nz = np.flatnonzero(g)
        # only the columns the gradient touches: 0·(anything finite) stays exactly 0
        var = float(g[nz] @ cov[np.ix_(nz, nz)] @ g[nz]) if nz.size else 0.0
        se = math.sqrt(max(var, 0.0)) if math.isfinite(var) else math.nan
        d = float(reported[j])
        if se == 0.0:
            ci, p = (d, d), (1.0 if d == 0.0 else 0.0)
        elif math.isnan(se):
            ci, p = (math.nan, math.nan), math.nan
        else:
            ci = (d - z * se, d + z * se)
            p = math.erfc(abs(d) / se / math.sqrt(2.0))
        out.append(Comparison(c.model, baseline, c.loss, d, ci, p, "normal"))
    return out


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order; NaN stays NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(p))
    out = p.copy()
    m = finite.size
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return [float(v) for v in out]
