"""A loss's statistic is its one definition: a new dataset-level loss is a `Statistic` and a
`LossSpec`, and the accumulator and the resampler take it unchanged (issue 10)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from losscli.engine.accumulate import Accumulator
from losscli.engine.options import Options
from losscli.engine.registry import LOSSES, SPECS
from losscli.engine.resample import compare, paired_terms
from losscli.engine.stats import Statistic


@dataclass(frozen=True, eq=False)
class CalibrationInTheLarge(Statistic):
    """|Σωp − Σωy| / Σω: how far the mean prediction is from the base rate (toy)."""

    width: int = 2
    shared: int = 1
    per_sample: bool = False

    def terms(self, batch):
        return batch.y, batch.p

    def value(self, weight, sums, options):
        y, p = sums
        return abs(p - y) / weight

    def difference(self, w, shared, base, delta, options):
        y, (p,) = shared[0], base
        return np.abs(p + delta[0] - y) / w - np.abs(p - y) / w


TOY = replace(
    LOSSES["bce"],
    name="citl",
    aliases=(),
    statistic=CalibrationInTheLarge("citl"),
    options=(),
)


def accumulate(specs, p, y, w, cuts):
    parts = []
    for a, b in zip([0, *cuts], [*cuts, len(p)], strict=True):
        acc = Accumulator(specs, "binary", 2, Options.build())
        parts.append(acc.update(p[a:b], y[a:b], w[a:b], row_offset=a))
    out = parts[0]
    for other in parts[1:]:
        out = out.merge(other)
    return out.result()


def test_a_new_dataset_level_statistic_goes_through_update_merge_result(rng):
    p, y, w = rng.uniform(0, 1, 1000), rng.integers(0, 2, 1000), rng.uniform(0.5, 2, 1000)
    got = accumulate([TOY, LOSSES["bce"]], p, y, w, [123, 700]).losses
    # oracle: the weighted means by NumPy, in one pass
    assert got["citl"] == pytest.approx(abs(np.average(p, weights=w) - np.average(y, weights=w)))
    one = accumulate([LOSSES["bce"]], p, y, w, []).losses["bce"]
    assert got["bce"] == pytest.approx(one, rel=1e-13)
    assert TOY.dataset_level and TOY not in SPECS  # the registry itself is untouched


def test_a_new_statistic_is_compared_by_the_resampler(rng):
    y = rng.integers(0, 2, 400)
    a, b = rng.uniform(0, 1, 400), rng.uniform(0, 1, 400)
    terms = paired_terms("binary", [TOY], Options.build(), [a, b], y)
    (c,) = compare(terms, method="bootstrap", n_resamples=200, seed=1)
    # hand arithmetic: d = |mean(b) − mean(y)| − |mean(a) − mean(y)|
    want = abs(b.mean() - y.mean()) - abs(a.mean() - y.mean())
    assert c.loss == "citl" and c.difference == pytest.approx(want, rel=1e-12)
    assert c.ci[0] <= c.difference <= c.ci[1]
    same = compare(paired_terms("binary", [TOY], Options.build(), [a, a], y), n_resamples=50)
    assert same[0].difference == 0.0 and same[0].ci == (0.0, 0.0)


def test_rmse_reads_mse_sums_and_dice_keeps_three(rng):
    """The statistics' shapes, as the accumulator keeps them (one sum set per key)."""
    p, y = rng.uniform(0, 1, 50), rng.integers(0, 2, 50)
    acc = Accumulator([LOSSES["rmse"], LOSSES["mse"], LOSSES["dice"]], "binary", 2, Options())
    acc.update(p, y)
    assert sorted(acc._sums) == ["dice", "mse"]
    res = acc.result().losses
    assert res["rmse"] == pytest.approx(np.sqrt(np.mean((p - y) ** 2)), rel=1e-14)
    # oracle: V-Net soft Dice with σ = 1, by hand
    assert res["dice"] == pytest.approx(1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1))
