"""Every loss of SPEC §4, by its public name: aliases, tasks, how it is computed and reduced.

One `LossSpec` per name. Its `statistic` (`losscli.engine.stats`) says what the loss keeps
of a chunk and how the sums become its value; for a mean-type loss that is ℓᵢ from a
kernel, called on a prepared chunk (`losscli.engine.batch.Batch`, which holds the shared
intermediates: residual, probabilities, their logs).

Aliases resolve here, once (`resolve`), so the rest of losscli only sees SPEC names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from losscli.engine import kernels
from losscli.engine.stats import Dice, RootMean, Statistic
from losscli.errors import InputError

if TYPE_CHECKING:
    from losscli.engine.batch import Batch

TASKS = ("regression", "binary", "multiclass")
ALL = frozenset(TASKS)
CLASSIFICATION = frozenset({"binary", "multiclass"})
BINARY = frozenset({"binary"})


@dataclass(frozen=True, slots=True)
class LossSpec:
    """What losscli knows about one loss."""

    name: str
    aliases: tuple[str, ...]
    tasks: frozenset[str]
    summary: str
    formula: str
    reference: str
    options: tuple[str, ...]  # API keywords that shape its value
    statistic: Statistic
    needs_probabilities: bool = False  # validated to lie in [0, 1] unless from_logits
    raw_scores: bool = False  # reads the raw predictions, never probabilities
    higher_is_better: bool = False
    mergeable: bool = True

    @property
    def dataset_level(self) -> bool:
        """True when the loss is not a mean of per-sample values (no per-sample column)."""
        return not self.statistic.per_sample


def _multiclass_hinge(b: Batch) -> np.ndarray:
    fn = (
        kernels.weston_watkins_hinge
        if b.options.hinge_mode == "weston-watkins"
        else kernels.crammer_singer_hinge
    )
    return fn(b.class_index, b.scores)


def _hinge(b: Batch) -> np.ndarray:
    return b.hinge if b.task == "binary" else _multiclass_hinge(b)


def _ce(b: Batch) -> np.ndarray:
    return b.bce if b.task == "binary" else b.ce


def _kl(b: Batch) -> np.ndarray:
    if b.task == "binary" and b.options.label_smoothing == 0.0 and not b.soft:
        return b.bce  # hard labels: Σ Y log Y = 0, so KL(y ‖ p) is the cross-entropy
    if b.task == "binary":
        return kernels.binary_kl_divergence(b.y_smooth, b.log_p, b.log_q)
    return kernels.kl_divergence(b.Y_smooth, b.log_P)


def _focal(b: Batch) -> np.ndarray:
    o = b.options
    return kernels.binary_focal(
        b.y_smooth,
        b.p,
        b.q,
        b.bce,
        gamma=o.focal_gamma,
        alpha=o.focal_alpha,
    )


_SMOOTHING = ("eps", "label_smoothing", "from_logits")
_MSE = Statistic("mse", lambda b: kernels.squared_error_r(b.residual))

SPECS: tuple[LossSpec, ...] = (
    LossSpec(
        "mse",
        ("l2", "brier"),
        ALL,
        "mean squared error (Brier score for probabilities)",
        "r², r = ŷ − y (y one-hot for multiclass)",
        "scikit-learn mean_squared_error; Brier (1950)",
        (),
        statistic=_MSE,
    ),
    LossSpec(
        "rmse",
        (),
        ALL,
        "root mean squared error",
        "√(mse), of the reduced mse",
        "scikit-learn root_mean_squared_error",
        (),
        statistic=RootMean("mse", of=_MSE),
    ),
    LossSpec(
        "mae",
        ("l1",),
        ALL,
        "mean absolute error",
        "|r|",
        "scikit-learn mean_absolute_error",
        (),
        statistic=Statistic("mae", lambda b: kernels.absolute_error_r(b.residual)),
    ),
    LossSpec(
        "huber",
        (),
        ALL,
        "quadratic inside ±δ, linear outside",
        "½r² if |r| ≤ δ, else δ(|r| − ½δ)",
        "Huber (1964); scipy.special.huber",
        ("huber_delta",),
        statistic=Statistic("huber", lambda b: kernels.huber_r(b.residual, b.options.huber_delta)),
    ),
    LossSpec(
        "pseudo_huber",
        (),
        ALL,
        "smooth Huber",
        "δ²(√(1 + (r/δ)²) − 1)",
        "Charbonnier et al. (1997); scipy.special.pseudo_huber",
        ("huber_delta",),
        statistic=Statistic(
            "pseudo_huber", lambda b: kernels.pseudo_huber_r(b.residual, b.options.huber_delta)
        ),
    ),
    LossSpec(
        "log_cosh",
        ("logcosh",),
        ALL,
        "log of the hyperbolic cosine of the error",
        "log cosh r, computed without overflow",
        "Keras LogCosh",
        (),
        statistic=Statistic("log_cosh", lambda b: kernels.log_cosh_r(b.residual)),
    ),
    LossSpec(
        "bce",
        ("log_loss", "logloss", "binary_crossentropy"),
        BINARY,
        "binary cross-entropy",
        "−[y log p + (1−y) log(1−p)]",
        "scikit-learn log_loss; PyTorch BCEWithLogitsLoss",
        _SMOOTHING,
        statistic=Statistic("bce", lambda b: b.bce),
        needs_probabilities=True,
    ),
    LossSpec(
        "hinge",
        (),
        CLASSIFICATION,
        "hinge loss on raw scores",
        "binary: max(0, 1 − t·s), t = 2y − 1; multiclass: Crammer–Singer "
        "max(0, 1 + max_{j≠c} s_j − s_c), or Weston–Watkins Σ_{j≠c} max(0, 1 + s_j − s_c)",
        "scikit-learn hinge_loss; Crammer & Singer (2001); Weston & Watkins (1999)",
        ("hinge_mode",),
        statistic=Statistic("hinge", _hinge),
        raw_scores=True,
    ),
    LossSpec(
        "squared_hinge",
        (),
        BINARY,
        "squared hinge loss on raw scores",
        "max(0, 1 − t·s)²",
        "Keras SquaredHinge",
        (),
        statistic=Statistic(
            "squared_hinge", lambda b: b.hinge * b.hinge
        ),  # kernels.binary_squared_hinge, sharing the hinge
        raw_scores=True,
    ),
    LossSpec(
        "ce",
        ("cross_entropy", "categorical_crossentropy", "nll"),
        CLASSIFICATION,
        "cross-entropy (equal to bce for binary)",
        "−Σ_c Y_c log P_c",
        "scikit-learn log_loss; PyTorch CrossEntropyLoss",
        _SMOOTHING,
        statistic=Statistic("ce", _ce),
        needs_probabilities=True,
    ),
    LossSpec(
        "kl",
        ("kld", "kl_div"),
        CLASSIFICATION,
        "KL divergence of predictions from labels",
        "Σ_c Y_c (log Y_c − log P_c), 0·log 0 = 0",
        "Kullback & Leibler (1951); PyTorch KLDivLoss(reduction='batchmean')",
        _SMOOTHING,
        statistic=Statistic("kl", _kl),
        needs_probabilities=True,
    ),
    LossSpec(
        "focal",
        (),
        BINARY,
        "focal loss: cross-entropy down-weighted on easy samples",
        "−α_t (1 − p_t)^γ log p_t",
        "Lin et al. (2017), Focal Loss for Dense Object Detection",
        ("focal_gamma", "focal_alpha", *_SMOOTHING),
        statistic=Statistic("focal", _focal),
        needs_probabilities=True,
    ),
    LossSpec(
        "dice",
        (),
        BINARY,
        "soft Dice loss (dataset level)",
        "1 − (2 Σ ωpy + σ)/(Σ ωp + Σ ωy + σ)",
        "Milletari et al. (2016), V-Net",
        ("dice_smooth",),
        statistic=Dice("dice"),
        needs_probabilities=True,
    ),
)

LOSSES: dict[str, LossSpec] = {spec.name: spec for spec in SPECS}
_ALIASES: dict[str, str] = {
    alias: spec.name for spec in SPECS for alias in (spec.name, *spec.aliases)
}


def resolve(name: str) -> LossSpec:
    """The spec for a name or alias (case-insensitive, '-' as '_'); unknown names suggest one."""
    key = name.strip().lower().replace("-", "_")
    if key in _ALIASES:
        return LOSSES[_ALIASES[key]]
    close = difflib.get_close_matches(key, list(_ALIASES), n=1, cutoff=0.5)
    hint = f"Did you mean '{_ALIASES[close[0]]}'? " if close else ""
    raise InputError(
        f"unknown loss '{name}'",
        fix=f"{hint}`losscli losses` lists them all",
    )


def resolve_many(names: list[str] | tuple[str, ...] | None, task: str) -> list[LossSpec]:
    """Specs for the requested names (comma lists allowed), or every loss of the task.

    Names keep the user's order, without repeats. A loss that does not apply to the task is
    an error that lists those that do.
    """
    if not names:
        return [spec for spec in SPECS if task in spec.tasks]
    out: list[LossSpec] = []
    for item in names:
        for part in str(item).split(","):
            if not part.strip():
                continue
            spec = resolve(part)
            if task not in spec.tasks:
                usable = ", ".join(s.name for s in SPECS if task in s.tasks)
                raise InputError(
                    f"{spec.name} does not apply to a {task} task",
                    fix=f"Losses for {task}: {usable}. Pass --task if the task was guessed wrong",
                )
            if spec not in out:
                out.append(spec)
    if not out:
        raise InputError("no loss named", fix="Pass --loss NAME; `losscli losses` lists them")
    return out
