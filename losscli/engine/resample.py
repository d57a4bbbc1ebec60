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

This module is the entry (`compare`, `compare_sums`), the bootstrap and Holm's adjustment.
The terms and d as a function of T are in `paired.py`, the moments and the delta method in
`delta_method.py`; their names that comparison.py, the CLI and the tests use are imported
here (`__all__`), so `resample` stays the one module they import.

NumPy and the standard library only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np

from losscli.engine.delta_method import (
    MOMENT_CHUNK,
    Moments,
    PairedSums,
    moment_pieces,
    normal_comparisons,
)
from losscli.engine.paired import (
    Array,
    Comparison,
    Contrast,
    PairedTerms,
    check_reduction,
    difference,
    gradient,
    paired_terms,
)
from losscli.errors import InputError, option

__all__ = [
    "AUTO_NORMAL_ROWS",
    "MOMENT_CHUNK",
    "Comparison",
    "Contrast",
    "Method",
    "Moments",
    "PairedSums",
    "PairedTerms",
    "bootstrap_differences",
    "check_reduction",
    "check_settings",
    "choose_method",
    "compare",
    "compare_sums",
    "holm",
    "moment_pieces",
    "paired_terms",
    "resample_counts",
]

# the private names tests/engine/test_resample.py imports from here
_difference, _gradient = difference, gradient

Method = Literal["bootstrap", "normal"]

# Above this many rows `method='auto'` uses the normal approximation.
AUTO_NORMAL_ROWS = 200_000
# Counts matrix of one block of resamples: at most this many entries (16 MB of float64).
BLOCK_ELEMENTS = 1 << 21


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
            out[starts[j] : starts[j] + size, k] = difference(c, T, terms.options)

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
    d_hat = np.array([float(difference(c, T, terms.options)) for c in terms.contrasts])
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
    return normal_comparisons(
        terms.contrasts, terms.baseline, terms.options, T, moments, confidence, reported
    )


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
        differences = [float(difference(c, T, sums.options)) for c in sums.contrasts]
    reported = np.asarray(differences, dtype=np.float64)
    return normal_comparisons(
        sums.contrasts, sums.baseline, sums.options, T, sums.moments, confidence, reported
    )


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
