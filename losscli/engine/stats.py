"""What a loss keeps of each chunk, and how those sums become its value.

A `Statistic` is the whole of a loss's arithmetic outside its kernel (STYLE §4):

- `terms`: the per-row values it sums, unweighted (the engine multiplies by ωᵢ and sums
  them per class group); the first `shared` of them depend on the labels only;
- merging: the sums add (`losscli.engine.accumulate.CompensatedSum`), so chunks, threads
  and files merge in any order;
- `value`: the loss from the class-weighted sums and Σω;
- `difference` and `gradient`: d = value(B) − value(A) from A's sums and B − A's deltas,
  and its gradient, for the paired comparison (`losscli.engine.resample`).

Losses whose statistics have the same `key` share one set of sums (rmse reads mse's). A new
dataset-level loss (a calibration error over bins, say) is one more `Statistic` here and
one `LossSpec` naming it; the accumulator, the resampler and the API do not change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import NDArray

from losscli.engine import kernels
from losscli.errors import InputError, option

if TYPE_CHECKING:
    from losscli.engine.batch import Batch
    from losscli.engine.options import Options

Array = NDArray[np.float64]
Sums = Sequence[Any]  # one float (or one array over resamples) per term


@dataclass(frozen=True, eq=False)
class Statistic:
    """Base class: one per-row term ℓᵢ, reduced to its weighted mean (or sum).

    Attributes:
        key: losses whose statistics share a key share their sums.
        per_row: the kernel that gives ℓᵢ from a prepared chunk.
        width: how many sums are kept per class group.
        shared: how many leading terms depend on the labels only (shared by every model
            in a comparison, so never differenced).
        per_sample: the loss has a value per row (``reduction='none'`` gives it).
        note: how the value is formed, when it is not a mean of ℓᵢ (the table's
            "shaped by" column).
    """

    key: str
    per_row: Callable[[Batch], Array] | None = None
    width: int = 1
    shared: int = 0
    per_sample: bool = True
    note: str = ""

    def size(self, options: Options) -> int:
        """How many sums are kept per class group under these options (`width`, unless an
        option sets it, as the number of calibration bins does)."""
        return self.width

    def copies(self, task: str, n_classes: int) -> int:
        """How many times `size` sums are kept per class group: once, or once per class for
        the overlap losses of a multiclass task (`Dice`)."""
        return 1

    def terms(self, batch: Batch) -> tuple[Array, ...]:
        """The per-row terms to be weighted and summed: here ℓᵢ alone."""
        assert self.per_row is not None
        return (self.per_row(batch),)

    def value(self, weight: float, sums: Sums, options: Options) -> float:
        """Σωℓ / Σω, or Σωℓ for ``reduction='sum'``."""
        return sums[0] if options.reduction == "sum" else sums[0] / weight

    def values(self, weights: Array, sums: Sequence[Array], options: Options) -> Array:
        """`value` of many groups at once (the slices), NaN where Σω is not positive: the
        weights and each sum are one array over the groups. A mean is one division; a
        statistic that overrides only `value` is called group by group."""
        ok = weights > 0
        if type(self).value is Statistic.value:
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = sums[0] if options.reduction == "sum" else sums[0] / weights
            return np.where(ok, mean, np.nan)
        out = np.full(len(weights), np.nan)
        for i in np.flatnonzero(ok).tolist():
            out[i] = self.value(float(weights[i]), [float(s[i]) for s in sums], options)
        return out

    def difference(self, w: Any, shared: Sums, base: Sums, delta: Sums, options: Options) -> Any:
        """d = mean(B) − mean(A) = Σω(ℓB − ℓA) / Σω; vectorised over resamples."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return delta[0] / w

    def gradient(
        self, w: float, shared: Sums, base: Sums, delta: Sums, options: Options
    ) -> tuple[float, list[float], list[float], list[float]]:
        """∂d/∂(Σω, shared sums, A's sums, the deltas), for the delta method."""
        return -delta[0] / w**2, [], [0.0], [1.0 / w]


@dataclass(frozen=True, eq=False)
class RootMean(Statistic):
    """√ of another statistic's weighted mean (rmse = √mse), from that statistic's sums.

    Formula: √(mse), of the reduced mse
    Reference: scikit-learn root_mean_squared_error

    The root is taken of the reduced mean, never per row, so it merges like mse; with
    ``reduction='sum'`` it is still the root of the mean.
    """

    of: Statistic | None = None
    per_sample: bool = False
    note: str = "√ of mean mse"

    def terms(self, batch: Batch) -> tuple[Array, ...]:
        assert self.of is not None
        return self.of.terms(batch)

    def value(self, weight: float, sums: Sums, options: Options) -> float:
        return math.sqrt(sums[0] / weight)

    def values(self, weights: Array, sums: Sequence[Array], options: Options) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(weights > 0, np.sqrt(sums[0] / weights), np.nan)

    def difference(self, w: Any, shared: Sums, base: Sums, delta: Sums, options: Options) -> Any:
        a, d = base[0], delta[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(np.maximum(a + d, 0.0) / w) - np.sqrt(a / w)

    def gradient(
        self, w: float, shared: Sums, base: Sums, delta: Sums, options: Options
    ) -> tuple[float, list[float], list[float], list[float]]:
        a, d = base[0], delta[0]
        ra, rb = math.sqrt(a / w), math.sqrt(max(a + d, 0.0) / w)
        with np.errstate(divide="ignore", invalid="ignore"):
            g_base = (1.0 / rb - 1.0 / ra) / (2.0 * w) if ra != rb else 0.0
            g_delta = 1.0 / (2.0 * w * rb) if rb > 0 else math.inf
        return (ra - rb) / (2.0 * w), [], [g_base], [g_delta]


# A linear-fractional overlap ratio r = (n·s + σₙ)/(d·s + σ_d) of one class's sums
# s = (Σωy, Σωpy, Σωp): coefficients n, σₙ, d, σ_d.
Fraction = tuple[tuple[float, float, float], float, tuple[float, float, float], float]


@dataclass(frozen=True, eq=False)
class Dice(Statistic):
    """Soft Dice loss over the whole dataset, from three sums per class: Σωy, Σωpy, Σωp.

    Formula: 1 − (2 Σ ωpy + σ)/(Σ ωp + Σ ωy + σ); multiclass: the mean over classes
    Reference: Milletari et al. (2016), V-Net; MONAI DiceLoss (smooth_nr = smooth_dr = σ)

    Conventions: σ is ``dice_smooth``; with σ = 0 and no positive label nor probability the
    ratio is 0/0 and the loss is 0 (nothing to miss). Not a mean of per-row values, so
    there is no per-sample column. Worked value: y=[1, 0], p=[0.8, 0.4], σ=0 →
    1 − 1.6/2.2 = 0.27272727...
    Further reading: Sørensen (1948), Dice (1945).

    Multiclass: p_c against the one-hot y_c for each class c, then the mean over classes
    (class 0 left out with ``no_background``). The sums are laid out (Σωy_c for every c,
    then Σωp_cy_c, then Σωp_c): one class for a binary task, k for multiclass. IoU and Tversky are the same sums read through another
    fraction (`fraction`), so every overlap loss streams, merges, slices and compares alike.
    """

    width: int = 3
    shared: int = 1
    per_sample: bool = False
    note: str = "dataset level"

    def copies(self, task: str, n_classes: int) -> int:
        return n_classes if task == "multiclass" else 1

    def terms(self, batch: Batch) -> tuple[Array, ...]:
        if batch.task != "multiclass":
            return batch.y, batch.p * batch.y, batch.p
        Y, P = batch.one_hot, batch.p
        k = P.shape[1]
        return (
            *(Y[:, c] for c in range(k)),
            *(P[:, c] * Y[:, c] for c in range(k)),
            *(P[:, c] for c in range(k)),
        )

    def fraction(self, options: Options) -> Fraction:
        """r = (2Σωpy + σ)/(Σωy + Σωp + σ); Keras: 2Σωpy/(Σωy + Σωp + ε), no σ."""
        eps = options.convention.dice_eps
        if eps is not None:
            return (0.0, 2.0, 0.0), 0.0, (1.0, 0.0, 1.0), eps
        sigma = options.dice_smooth
        return (0.0, 2.0, 0.0), sigma, (1.0, 0.0, 1.0), sigma

    # --- the loss as a function of the sums ---------------------------------------------

    def _classes(self, n_sums: int, options: Options) -> range:
        k = n_sums // 3
        return range(1 if options.no_background and k > 1 else 0, k)

    def _loss(self, sums: Sequence[Any], options: Options) -> Any:
        """1 − the mean over classes of r_c; a class whose denominator is 0 has r = 1."""
        (n, sn, d, sd), k = self.fraction(options), len(sums) // 3
        chosen = self._classes(len(sums), options)
        total: Any = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            for c in chosen:
                s = (sums[c], sums[k + c], sums[2 * k + c])
                num = n[0] * s[0] + n[1] * s[1] + n[2] * s[2] + sn
                den = d[0] * s[0] + d[1] * s[1] + d[2] * s[2] + sd
                total = total + np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
        out = 1.0 - total / len(chosen)
        return float(out) if np.ndim(out) == 0 else out

    def _loss_gradient(self, sums: Sequence[float], options: Options) -> list[float]:
        """∂loss/∂ each sum."""
        (n, sn, d, sd), k = self.fraction(options), len(sums) // 3
        chosen = self._classes(len(sums), options)
        out = [0.0] * len(sums)
        for c in chosen:
            s = (sums[c], sums[k + c], sums[2 * k + c])
            num = sum(a * b for a, b in zip(n, s, strict=True)) + sn
            den = sum(a * b for a, b in zip(d, s, strict=True)) + sd
            if not den > 0:
                continue
            for j, at in enumerate((c, k + c, 2 * k + c)):
                out[at] = -(n[j] / den - num * d[j] / den**2) / len(chosen)
        return out

    def value(self, weight: float, sums: Sums, options: Options) -> float:
        return self._loss(sums, options)

    def difference(self, w: Any, shared: Sums, base: Sums, delta: Sums, options: Options) -> Any:
        a = [*shared, *base]
        b = [*shared, *(x + dx for x, dx in zip(base, delta, strict=True))]
        return self._loss(b, options) - self._loss(a, options)

    def gradient(
        self, w: float, shared: Sums, base: Sums, delta: Sums, options: Options
    ) -> tuple[float, list[float], list[float], list[float]]:
        a = [*shared, *base]
        b = [*shared, *(x + dx for x, dx in zip(base, delta, strict=True))]
        ga, gb = self._loss_gradient(a, options), self._loss_gradient(b, options)
        g = [y - x for x, y in zip(ga, gb, strict=True)]
        m = len(shared)
        return 0.0, g[:m], g[m:], gb[m:]


@dataclass(frozen=True, eq=False)
class IoU(Dice):
    """Soft Jaccard (IoU) loss over the whole dataset, from Dice's sums.

    Formula: 1 − (Σ ωpy + σ)/(Σ ωp + Σ ωy − Σ ωpy + σ); multiclass: the mean over classes
    Reference: MONAI DiceLoss(jaccard=True) with smooth_nr = smooth_dr = 2σ; Jaccard (1912)

    Worked value: y=[1, 0], p=[0.8, 0.4], σ=0 → 1 − 0.8/1.4 = 0.42857142...
    """

    def fraction(self, options: Options) -> Fraction:
        sigma = options.dice_smooth
        return (0.0, 1.0, 0.0), sigma, (1.0, -1.0, 1.0), sigma


@dataclass(frozen=True, eq=False)
class Tversky(Dice):
    """Tversky loss over the whole dataset, from Dice's sums: false positives weighted α,
    false negatives β (α = β = 0.5 is Dice).

    Formula: 1 − (Σ ωpy + σ)/(Σ ωpy + α Σ ωp(1 − y) + β Σ ω(1 − p)y + σ); multiclass: the
        mean over classes
    Reference: Salehi et al. (2017); MONAI TverskyLoss (smooth_nr = smooth_dr = σ)

    Σp(1 − y) = Σp − Σpy and Σ(1 − p)y = Σy − Σpy, so Dice's three sums suffice.
    """

    def fraction(self, options: Options) -> Fraction:
        sigma, a, b = options.dice_smooth, options.tversky_alpha, options.tversky_beta
        return (0.0, 1.0, 0.0), sigma, (b, 1.0 - a - b, a), sigma


@dataclass(frozen=True, eq=False)
class ColumnRootMean(Statistic):
    """rmse of k columns as scikit-learn's `root_mean_squared_error` gives it: the mean of
    the per-column RMSEs (``multioutput='uniform_average'``), from k sums Σωr_j².

    The scikit-learn convention (SPEC §9) uses it in place of `RootMean` when there is more
    than one column; losscli's rmse is the root of the mean over all n·k elements.
    """

    per_sample: bool = False
    note: str = "mean of per-column √mse"

    def terms(self, batch: Batch) -> tuple[Array, ...]:
        r = batch.residual
        return tuple(r[:, j] * r[:, j] for j in range(self.width))

    def value(self, weight: float, sums: Sums, options: Options) -> float:
        return float(np.mean([math.sqrt(s / weight) for s in sums]))

    def difference(self, w: Any, shared: Sums, base: Sums, delta: Sums, options: Options) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = [
                np.sqrt(np.maximum(a + d, 0.0) / w) - np.sqrt(a / w)
                for a, d in zip(base, delta, strict=True)
            ]
        return sum(roots) / self.width

    def gradient(
        self, w: float, shared: Sums, base: Sums, delta: Sums, options: Options
    ) -> tuple[float, list[float], list[float], list[float]]:
        g_w, g_base, g_delta = 0.0, [], []
        for a, d in zip(base, delta, strict=True):
            gw, _, gb, gd = RootMean("mse").gradient(w, shared, [a], [d], options)
            g_w += gw / self.width
            g_base.append(gb[0] / self.width)
            g_delta.append(gd[0] / self.width)
        return g_w, [], g_base, g_delta


class BinTerms(Sequence[Array]):
    """The 3B per-row terms of `Calibration`, made one at a time when read: for bin b,
    [bᵢ = b], [bᵢ = b]·cᵢ and [bᵢ = b]·aᵢ, in three blocks of B (all indicators first).

    Only the bin of each row, its confidence and its outcome are held, so a chunk costs
    three arrays whatever the number of bins; the engine sums each term as it reads it.
    """

    def __init__(self, index: NDArray[np.intp], confidence: Array, outcome: Array, bins: int):
        self.bin_of, self.bins = index, bins
        self.values = (None, confidence, outcome)

    def __len__(self) -> int:
        return 3 * self.bins

    def rows(self) -> NDArray[np.int64]:
        """How many rows fall in each bin, unweighted (the reliability table's counts)."""
        return np.bincount(self.bin_of, minlength=self.bins).astype(np.int64)

    @overload
    def __getitem__(self, j: int) -> Array: ...
    @overload
    def __getitem__(self, j: slice) -> list[Array]: ...

    def __getitem__(self, j: int | slice) -> Array | list[Array]:
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        if not -len(self) <= j < len(self):
            raise IndexError(j)
        kind, b = divmod(j % len(self), self.bins)
        inside: NDArray[np.bool_] = self.bin_of == b
        v = self.values[kind]
        return inside.astype(np.float64) if v is None else np.where(inside, v, 0.0)


def calibration_sums(sums: Sums, bins: int) -> tuple[Array, Array, Array]:
    """Per bin Σω, Σωc and Σωa from the 3B sums (floats, or arrays over resamples: then
    the bins are on the last axis)."""
    s = np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=np.float64) for x in sums]), axis=-1)
    return s[..., :bins], s[..., bins : 2 * bins], s[..., 2 * bins :]


def reliability(rows: Any, sums: Sums, bins: int) -> list[dict[str, Any]]:
    """The reliability table (SPEC §11): per bin its edges, rows, Σω and the ω-weighted
    mean confidence and accuracy (observed rate), None for a bin without weight."""
    w, c, a = (x.tolist() for x in calibration_sums(sums, bins))
    counts = np.broadcast_to(np.asarray(rows, dtype=np.int64), (bins,)).tolist()
    out = []
    for b in range(bins):
        full = w[b] > 0
        out.append(
            {
                "bin": b + 1,
                "low": b / bins,
                "high": (b + 1) / bins,
                "n_samples": counts[b],
                "sum_weights": w[b],
                "confidence": c[b] / w[b] if full else None,
                "accuracy": a[b] / w[b] if full else None,
            }
        )
    return out


def expected_calibration_error(sums: Sums, bins: int) -> Any:
    """ECE from the 3B bin sums (`calibration_sums`); vectorised over resamples.

    Formula: Σ_b (W_b/W)·|acc_b − conf_b| over B equal-width bins of confidence c = p
        (binary) or max_j P_j (multiclass); acc_b the ω-weighted mean of y, or of [argmax P = y]
    Reference: Naeini et al. (2015); torchmetrics BinaryCalibrationError /
        MulticlassCalibrationError (norm='l1')

    As W_b·|acc_b − conf_b| = |Σωa − Σωc|_b, this is Σ_b |Σωa − Σωc|_b / Σ_b W_b.
    """
    w, c, a = calibration_sums(sums, bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(a - c).sum(axis=-1) / w.sum(axis=-1)


def maximum_calibration_error(sums: Sums, bins: int) -> Any:
    """MCE from the 3B bin sums; NaN when no bin has weight; vectorised over resamples.

    Formula: max_b |acc_b − conf_b| over the non-empty bins (W_b > 0), bins and means as ece
    Reference: Naeini et al. (2015); torchmetrics CalibrationError (norm='max')
    """
    w, c, a = calibration_sums(sums, bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(w > 0, np.abs(a - c) / np.where(w > 0, w, 1.0), -np.inf)
        out = gap.max(axis=-1)
    return np.where(np.isfinite(out), out, np.nan)


@dataclass(frozen=True, eq=False)
class Calibration(Statistic):
    """Expected (``norm='l1'``) or maximum (``norm='max'``) calibration error over B
    equal-width confidence bins, from three sums per bin: W_b = Σω, Σωc and Σωa.

    ece = Σ_b (W_b/W)·|acc_b − conf_b| (`expected_calibration_error`), mce = max_b |acc_b −
    conf_b| over non-empty bins (`maximum_calibration_error`); c = p, a = y (binary) or
    c = max_j P_j, a = [argmax P = y] (multiclass). Further reading: Guo et al. (2017).

    Conventions: B is ``calibration_bins`` (15); bin b holds (b − 1)/B ≤ c < b/B, c = 1 in
    bin B (`kernels.calibration_bin`); conf_b and acc_b are ω-weighted means, W = Σ_b W_b.
    A dataset-level value, the same whatever the ``reduction``. ece = Σ_b |Σωa − Σωc|_b / W,
    whose gradient the delta method reads; mce is a maximum over bins, which has none where
    two bins tie, so a comparison gives it by bootstrap only. Worked value: c = [0.1, 0.3,
    0.8, 0.9], a = [0, 1, 1, 1], B = 2 → bins {0.1, 0.3} and {0.8, 0.9}: ece = ½|0.5 − 0.2|
    + ½|1 − 0.85| = 0.225, mce = 0.3.
    """

    norm: str = "l1"
    per_sample: bool = False
    note: str = "dataset level"

    def size(self, options: Options) -> int:
        return 3 * options.calibration_bins

    def terms(self, batch: Batch) -> BinTerms:  # type: ignore[override]
        bins = batch.options.calibration_bins
        labels = batch.y if batch.task == "binary" else batch.one_hot
        confidence, outcome = kernels.top_label(labels, batch.p)
        return BinTerms(kernels.calibration_bin(confidence, bins=bins), confidence, outcome, bins)

    def of(self, sums: Sums, bins: int) -> Any:
        """The error from the 3B bin sums; vectorised over resamples."""
        fn = maximum_calibration_error if self.norm == "max" else expected_calibration_error
        return fn(sums, bins)

    def value(self, weight: float, sums: Sums, options: Options) -> float:
        return float(self.of(sums, options.calibration_bins))

    def values(self, weights: Array, sums: Sequence[Array], options: Options) -> Array:
        """Every slice at once: `of` takes the groups on its leading axis."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(weights > 0, self.of(sums, options.calibration_bins), np.nan)

    def difference(self, w: Any, shared: Sums, base: Sums, delta: Sums, options: Options) -> Any:
        bins = options.calibration_bins
        after = [a + d for a, d in zip(base, delta, strict=True)]
        return self.of(after, bins) - self.of(base, bins)

    def gradient(
        self, w: float, shared: Sums, base: Sums, delta: Sums, options: Options
    ) -> tuple[float, list[float], list[float], list[float]]:
        if self.norm == "max":
            raise InputError(
                "mce is a maximum over bins, which has no gradient where two bins tie, so "
                "the normal approximation gives it no interval",
                fix=f"Compare mce with {option('method', 'bootstrap')}, or compare ece",
            )
        bins = options.calibration_bins

        def grad(sums: Sums) -> Array:
            # ece = Σ|A_b − C_b| / ΣW: ∂/∂W_b = −ece/ΣW, ∂/∂C_b = −s_b/ΣW, ∂/∂A_b = s_b/ΣW
            wb, c, a = calibration_sums(sums, bins)
            total = wb.sum()
            s = np.sign(a - c)
            ece = np.abs(a - c).sum() / total
            return np.concatenate([np.full(bins, -ece / total), -s / total, s / total])

        g_b = grad([a + d for a, d in zip(base, delta, strict=True)])
        g_a = grad(base)
        return 0.0, [], [float(x) for x in g_b - g_a], [float(x) for x in g_b]
