"""The normal approximation of a paired comparison: streamed moments and the delta method.

The mean and covariance of the per-sample terms xᵢ are accumulated chunk by chunk
(mergeable, Chan et al. 1979), Var(T) ≈ n·Cov(x) for the column sums T = Σxᵢ, and the delta
method gives Var(d) ≈ ∇gᵀ Var(T) ∇g — for a weighted mean this is the usual
ratio-estimator variance Σ ωᵢ²(Δᵢ − d)² / (Σω)². CI d ± z·se; p = 2(1 − Φ(|d|/se)). It
needs only T and the moments, so `PairedSums` takes the terms of a file chunk by chunk in
memory that does not grow with n. `resample.compare` and `resample.compare_sums` call
`normal_comparisons`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from losscli.engine.options import Options
from losscli.engine.paired import Array, Comparison, Contrast, PairedTerms, gradient
from losscli.engine.sums import CompensatedSum

# Rows per chunk when accumulating moments.
MOMENT_CHUNK = 1 << 16


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
class GroupedMoments:
    """`Moments` of many groups (the slices) at once: counts n (G,), means (G, q) and
    scatter matrices M2 (G, q, q), from a piece's rows and their group numbers by
    `np.bincount`, pooled across pieces by Chan's formula on the arrays; `at(g)` is one
    group's `Moments`. Slices are one more axis of the same statistics."""

    q: int
    n: Array
    mean: Array
    m2: Array

    @classmethod
    def of_rows(cls, x: Array, groups: NDArray[np.intp], n_groups: int) -> GroupedMoments:
        q = x.shape[1]
        n = np.bincount(groups, minlength=n_groups).astype(np.float64)
        seen = n > 0
        mean = np.zeros((n_groups, q))
        for a in range(q):
            sums = np.bincount(groups, weights=x[:, a], minlength=n_groups)
            mean[seen, a] = sums[seen] / n[seen]
        r = x - mean[groups]
        m2 = np.empty((n_groups, q, q))
        for a in range(q):
            for b in range(a, q):
                m2[:, a, b] = m2[:, b, a] = np.bincount(
                    groups, weights=r[:, a] * r[:, b], minlength=n_groups
                )
        return cls(q, n, mean, m2)

    def grown(self, n_groups: int) -> GroupedMoments:
        extra = n_groups - self.n.shape[0]
        if extra <= 0:
            return self
        return GroupedMoments(
            self.q,
            np.pad(self.n, (0, extra)),
            np.pad(self.mean, ((0, extra), (0, 0))),
            np.pad(self.m2, ((0, extra), (0, 0), (0, 0))),
        )

    def merge(self, other: GroupedMoments) -> GroupedMoments:
        """Each group pooled with the same group of `other` (`Moments.merge`, vectorised)."""
        g = max(self.n.shape[0], other.n.shape[0])
        a, b = self.grown(g), other.grown(g)
        n = a.n + b.n
        share = np.divide(b.n, n, out=np.zeros(g), where=n > 0)
        delta = b.mean - a.mean
        mean = a.mean + delta * share[:, None]
        cross = np.divide(a.n * b.n, n, out=np.zeros(g), where=n > 0)
        m2 = a.m2 + b.m2 + delta[:, :, None] * delta[:, None, :] * cross[:, None, None]
        return GroupedMoments(self.q, n, mean, m2)

    def at(self, group: int) -> Moments:
        n = int(round(self.n[group]))
        if n == 0:
            return Moments(self.q)
        return Moments(self.q, n, self.mean[group].copy(), self.m2[group].copy())


@dataclass
class PairedSums:
    """What the normal approximation needs of the terms X: the column sums T and the
    `Moments` of the rows, taken chunk by chunk (`update` with the `paired_terms` of each
    chunk, in row order), so that memory does not grow with n.

    T is a compensated sum across chunks (pairwise within one), so it agrees with
    ``X.sum(axis=0)`` of the whole matrix to the last digit or so; the moments merge as in
    `resample.compare`, which splits the rows at multiples of `MOMENT_CHUNK` (`moment_pieces`).
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

    def merged(self, other: PairedSums) -> PairedSums:
        """The sums of these rows and `other`'s (a new object; neither is changed)."""
        return PairedSums(self.contrasts, self.baseline, self.options, self.n_models, self.q,
                          self.total.merged(other.total), self.moments.merge(other.moments))  # fmt: skip

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


def normal_comparisons(
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
        g = gradient(c, T, q, options)
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
