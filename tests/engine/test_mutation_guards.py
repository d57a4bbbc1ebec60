"""Guards against the mutants that survived the mutation pass of issue 9.

Each test pins a number that can be worked out without the code under test:

- the bootstrap p-value (1 + #extreme) / (B + 1), from resamples drawn in the test with the
  same seeded generator the engine documents (SeedSequence(seed), first child, n uniform
  indices per resample), so that "#extreme / B" or a strict ">" is caught;
- the compensated sums behind every loss, which across chunks must give math.fsum of the
  terms to the last bit, whatever the chunking and the order of the merges, so that a merge
  that drops an error term (lo) is caught.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

from losscli import evaluate_stream
from losscli.engine.accumulate import Accumulator, CompensatedSum
from losscli.engine.options import Options
from losscli.engine.registry import LOSSES
from losscli.engine.resample import compare, paired_terms

# --- the bootstrap p-value ----------------------------------------------------------------


def _paired_mae(errors_b: list[float]) -> object:
    """Paired terms of mae for model A (perfect: ℓA = 0) against model B (ℓB = |errors_b|),
    so that Δᵢ = ℓBᵢ − ℓAᵢ = |errors_b[i]| exactly and d = mean(Δ)."""
    y = np.zeros(len(errors_b))
    return paired_terms(
        "regression", [LOSSES["mae"]], Options.build(), [y.copy(), np.asarray(errors_b)], y
    )


def _counts_drawn_by_hand(seed: int, n: int, n_resamples: int) -> np.ndarray:
    """The resample counts the engine documents: one block (B·n is small), drawn from the
    first child of SeedSequence(seed) as n uniform row indices per resample."""
    (child,) = np.random.SeedSequence(seed).spawn(1)
    idx = np.random.default_rng(child).integers(0, n, size=(n_resamples, n))
    return np.stack([np.bincount(row, minlength=n) for row in idx])


@pytest.mark.parametrize("n_resamples", [1, 7, 1000])
def test_bootstrap_p_value_is_one_over_b_plus_one_when_no_resample_is_extreme(n_resamples):
    # every row has Δ = 1, so every resample has d* = d = 1 and |d* − d| = 0 < |d|:
    # #extreme = 0 and p = 1/(B + 1), never 0 (a p-value of 0 is impossible for a bootstrap)
    (c,) = compare(
        _paired_mae([1.0, 1.0, 1.0, 1.0]), method="bootstrap", n_resamples=n_resamples, seed=5
    )
    assert c.difference == 1.0
    assert c.p_value == 1.0 / (n_resamples + 1)
    assert c.p_value > 0.0


@pytest.mark.parametrize("seed", [0, 1, 2024])
@pytest.mark.parametrize("n_resamples", [1, 9, 400])
def test_bootstrap_p_value_worked_by_hand_from_the_drawn_resamples(seed, n_resamples):
    # n = 4 rows, Δ = (4, 0, 0, 0): d = 1 and a resample that draws row 0 c₀ times has
    # d* = 4c₀/4 = c₀ (exact in float). "As extreme" is |c₀ − 1| ≥ 1, i.e. c₀ ≠ 1 — the
    # boundary cases c₀ = 0 and c₀ = 2 (|d* − d| = |d| exactly) count as extreme.
    (c,) = compare(
        _paired_mae([4.0, 0.0, 0.0, 0.0]), method="bootstrap", n_resamples=n_resamples, seed=seed
    )
    c0 = _counts_drawn_by_hand(seed, 4, n_resamples)[:, 0]
    extreme = int(np.count_nonzero(c0 != 1))
    assert c.difference == 1.0
    assert c.p_value == (1 + extreme) / (n_resamples + 1)
    # and the interval is the percentile interval of those same d* = c₀
    alpha = 1.0 - 0.95  # the default --ci, as a float (0.05000000000000004)
    lo, hi = np.quantile(c0.astype(float), [alpha / 2, 1 - alpha / 2])
    assert c.ci == (lo, hi)


def test_bootstrap_p_value_on_many_resamples_is_near_the_exact_probability():
    # the same data: P(c₀ = 1) = 4 · (1/4) · (3/4)³ = 27/64, so p → 1 − 27/64 = 37/64;
    # with B = 20000 the standard error is 0.0035, and 0.02 is more than 5 of them
    (c,) = compare(
        _paired_mae([4.0, 0.0, 0.0, 0.0]), method="bootstrap", n_resamples=20_000, seed=11
    )
    assert abs(c.p_value - 37 / 64) < 0.02


# --- compensated sums across chunks -------------------------------------------------------

BIG = 2.0**60  # ulp 256: a chunk of small values added to it loses its low bits


def _terms(rng: random.Random) -> list[list[float]]:
    """Chunks whose own sums are exact in any order (all "big" multiples of 2¹² below 2⁶¹,
    or all small integers), so that the only rounding is where chunks meet: what the
    compensated sums must repair."""
    chunks = []
    for i in range(60):
        if i % 3 == 0:
            chunks.append([BIG + 4096.0 * rng.randrange(1, 1 << 20) for _ in range(3)])
        else:
            chunks.append([float(rng.randrange(1, 200)) for _ in range(rng.randrange(1, 6))])
    return chunks


def _exact_sum(values: list[float]) -> Fraction:
    return sum((Fraction(v) for v in values), Fraction(0))


def _accumulator(losses: list[str], reduction: str = "sum") -> Accumulator:
    specs = [LOSSES[name] for name in losses]
    return Accumulator(specs, "regression", 1, Options.build(reduction=reduction))


def _one_chunk(values: list[float], weights: list[float]) -> Accumulator:
    """ℓᵢ = |pᵢ − 0| = values/weights exactly, so ωᵢℓᵢ = values exactly."""
    w = np.asarray(weights)
    preds = np.asarray(values) / w
    acc = _accumulator(["mae"])
    return acc.update(preds, np.zeros(len(values)), w)


def _merge_in_order(accs: list[Accumulator], how: str, rng: random.Random) -> Accumulator:
    if how == "left":
        out = accs[0]
        for a in accs[1:]:
            out = out.merge(a)
        return out
    if how == "right":
        out = accs[-1]
        for a in reversed(accs[:-1]):
            out = a.merge(out)
        return out
    if how == "tree":
        level = list(accs)
        while len(level) > 1:
            pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
            level = [p[0].merge(p[1]) if len(p) == 2 else p[0] for p in pairs]
        return level[0]
    # random: merge two random partial results until one is left
    pool = list(accs)
    while len(pool) > 1:
        i, j = sorted(rng.sample(range(len(pool)), 2))
        b, a = pool.pop(j), pool.pop(i)
        pool.append(a.merge(b) if rng.random() < 0.5 else b.merge(a))
    return pool[0]


@pytest.mark.parametrize("how", ["left", "right", "tree", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_sum_of_a_loss_merged_across_chunks_equals_fsum_bit_for_bit(how, seed):
    rng = random.Random(seed)
    chunks = _terms(rng)
    rng.shuffle(chunks)
    # sample weights that are powers of two: ωᵢℓᵢ is then exactly the value
    weights = [[rng.choice([0.5, 1.0, 2.0, 4.0]) for _ in c] for c in chunks]
    terms = [v for c in chunks for v in c]
    expected = math.fsum(terms)
    # the data is such that plain float summation is wrong in the last digits
    assert sum(terms) != expected and float(np.sum(terms)) != expected
    # and fsum itself is the correctly rounded exact sum
    assert abs(Fraction(expected) - _exact_sum(terms)) <= Fraction(math.ulp(expected)) / 2

    accs = [_one_chunk(c, w) for c, w in zip(chunks, weights, strict=True)]
    merged = _merge_in_order(accs, how, rng)
    result = merged.result()
    assert result.losses["mae"] == expected
    assert result.sum_weights == math.fsum(w for ws in weights for w in ws)
    assert result.n_samples == len(terms)


def test_weighted_sum_fed_chunk_by_chunk_equals_fsum_bit_for_bit():
    # the same sums through update() on one accumulator (no merge): TwoSum in add()
    rng = random.Random(7)
    chunks = _terms(rng)
    acc = _accumulator(["mae"])
    for c in chunks:
        acc.update(np.asarray(c), np.zeros(len(c)))
    terms = [v for c in chunks for v in c]
    assert sum(terms) != math.fsum(terms)
    assert acc.result().losses["mae"] == math.fsum(terms)


@dataclass
class _Chunk:
    preds: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None
    row_offset: int


def test_weighted_sum_through_evaluate_stream_equals_fsum_bit_for_bit():
    # the public streaming API: one accumulator per chunk, merged in input order, on threads
    rng = random.Random(3)
    chunks = _terms(rng)
    stream, offset = [], 0
    for c in chunks:
        w = np.asarray([rng.choice([0.5, 2.0]) for _ in c])
        stream.append(_Chunk(np.asarray(c) / w, np.zeros(len(c)), w, offset))
        offset += len(c)
    terms = [v for c in chunks for v in c]
    assert sum(terms) != math.fsum(terms)
    for threads in (1, 2):
        out = evaluate_stream(
            iter(stream), ["mae"], task="regression", reduction="sum", threads=threads
        )
        assert out.losses["mae"] == math.fsum(terms)


def test_compensated_sum_merge_keeps_the_error_terms_of_both_sides():
    # the smallest case, by hand: 2⁵³ + 1 rounds to 2⁵³ (ties to even), error +1, on each
    # side; merged with −2⁵⁴ the exact total is 2, and it is a float. Losing either side's
    # error term gives 1.
    a, b = CompensatedSum.zeros((1,)), CompensatedSum.zeros((1,))
    for s in (a, b):
        s.add(np.array([2.0**53]))
        s.add(np.array([1.0]))
        assert (s.hi[0], s.lo[0]) == (2.0**53, 1.0)
    c = CompensatedSum.zeros((1,))
    c.add(np.array([-(2.0**54)]))
    for ab in (a.merged(b), b.merged(a)):
        assert ab.merged(c).value()[0] == 2.0
        assert c.merged(ab).value()[0] == 2.0
    # one side's error term alone: 2⁵³ + 1 − 2⁵³ = 1, from either side of the merge
    d = CompensatedSum.zeros((1,))
    d.add(np.array([-(2.0**53)]))
    assert a.merged(d).value()[0] == 1.0
    assert d.merged(a).value()[0] == 1.0


def test_a_running_total_keeps_the_error_terms_of_both_sides():
    # absorb (a chunk's sums added in place into the running total) is merged's TwoSum
    a, b = CompensatedSum.zeros((1,)), CompensatedSum.zeros((1,))
    for s in (a, b):
        s.add(np.array([2.0**53]))
        s.add(np.array([1.0]))
    total = CompensatedSum.zeros((1,))
    for part in (a, b):
        total.absorb(part)
    c = CompensatedSum.zeros((1,))
    c.add(np.array([-(2.0**54)]))
    total.absorb(c)
    assert total.value()[0] == 2.0
    assert (a.hi[0], a.lo[0]) == (2.0**53, 1.0)  # the parts are not written into


def test_whole_numbers_add_exactly_and_a_later_fraction_keeps_its_error():
    # counts add without TwoSum while every value is whole; the first other value brings
    # TwoSum back, with its error term
    for how in ("add", "absorb", "merged"):
        s = CompensatedSum.zeros((1,))
        s.add(np.array([2.0**53 - 2]), whole=True)
        s.add(np.array([1.0]), whole=True)
        assert s.value()[0] == 2.0**53 - 1
        one = CompensatedSum.zeros((1,))
        one.add(np.array([1.0]))  # not said to be whole
        for _ in range(2):
            if how == "add":
                s.add(np.array([1.0]))
            elif how == "absorb":
                s.absorb(one)
            else:
                s = s.merged(one)
        d = CompensatedSum.zeros((1,))
        d.add(np.array([-(2.0**53)]))
        assert s.merged(d).value()[0] == 1.0, how
