"""Every loss of SPEC §4, by its public name: aliases, tasks, how it is computed and reduced.

One `LossSpec` per name. Its `statistic` (`losscli.engine.stats`) says what the loss keeps
of a chunk and how the sums become its value; for a mean-type loss that is ℓᵢ from a
kernel, called on a prepared chunk (`losscli.engine.batch.Batch`, which holds the shared
intermediates: residual, probabilities, their logs).

Aliases resolve here, once (`resolve`), so the rest of losscli only sees SPEC names.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.engine import kernels, stats
from losscli.engine.stats import Calibration, Dice, IoU, RootMean, Statistic, Tversky
from losscli.errors import InputError, option

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
    options: tuple[str, ...]  # API keywords that shape its value, in the order shown
    statistic: Statistic
    defined_by: Callable[..., Any] | type  # its docstring holds Formula: and Reference:
    needs_probabilities: bool = False  # validated to lie in [0, 1] unless from_logits
    raw_scores: bool = False  # reads the raw predictions, never probabilities
    higher_is_better: bool = False
    mergeable: bool = True
    by_default: bool = True  # reported when no loss is named (ece, mce: only when named)
    default_tasks: frozenset[str] | None = None  # by default for these tasks only (dice)

    @property
    def dataset_level(self) -> bool:
        """True when the loss is not a mean of per-sample values (no per-sample column)."""
        return not self.statistic.per_sample

    @property
    def formula(self) -> str:
        """The ``Formula:`` line of the docstring that defines the loss."""
        return doc_field(self.defined_by, "Formula")

    @property
    def reference(self) -> str:
        """The ``Reference:`` line of the docstring that defines the loss."""
        return doc_field(self.defined_by, "Reference")


def doc_field(obj: object, field: str) -> str:
    """The text after ``field:`` in obj's docstring, with its indented continuation lines."""
    lines = inspect.cleandoc(obj.__doc__ or "").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{field}: "):
            parts = [line[len(field) + 2 :]]
            parts += itertools.takewhile(lambda t: t.startswith(" "), lines[i + 1 :])
            return " ".join(p.strip() for p in parts)
    raise ValueError(f"{obj!r} documents no {field}: line")


def _multiclass_hinge(b: Batch) -> np.ndarray:
    form = b.rules.hinge
    if form == "weston-watkins/k":  # PyTorch's multi_margin_loss averages over the k classes
        return kernels.weston_watkins_hinge(b.class_index, b.scores) / b.n_classes
    if form == "categorical":  # Keras: max over (1 − Y)·s counts the true class as 0
        return kernels.crammer_singer_hinge(b.class_index, b.scores, floor=0.0)
    fn = (
        kernels.weston_watkins_hinge
        if b.options.hinge_mode == "weston-watkins"
        else kernels.crammer_singer_hinge
    )
    return fn(b.class_index, b.scores)


def _hinge(b: Batch) -> np.ndarray:
    """Per-sample hinge loss on raw scores: `kernels.binary_hinge` for a binary task, else
    `kernels.crammer_singer_hinge` or `kernels.weston_watkins_hinge` (``hinge_mode``).

    Formula: binary: max(0, 1 − t·s), t = 2y − 1; multiclass: Crammer–Singer
        max(0, 1 + max_{j≠c} s_j − s_c), or Weston–Watkins Σ_{j≠c} max(0, 1 + s_j − s_c)
    Reference: scikit-learn hinge_loss; Crammer & Singer (2001); Weston & Watkins (1999)
    """
    return b.hinge if b.task == "binary" else _multiclass_hinge(b)


def _ce(b: Batch) -> np.ndarray:
    """Cross-entropy: `kernels.binary_cross_entropy` (shared with bce) for a binary task,
    `kernels.categorical_cross_entropy` otherwise."""
    return b.bce if b.task == "binary" else b.ce


def _kl(b: Batch) -> np.ndarray:
    """KL(y ‖ p): `kernels.binary_kl_divergence` or `kernels.kl_divergence`."""
    if b.task == "binary" and b.options.label_smoothing == 0.0 and not b.soft:
        return b.bce  # hard labels: Σ Y log Y = 0, so KL(y ‖ p) is the cross-entropy
    if b.task == "binary":
        return kernels.binary_kl_divergence(b.y_smooth, b.log_p, b.log_q)
    clip = b.rules.kl_clip
    if clip is not None:  # Keras clips Y and P to [ε, 1]; no from_logits there
        Y = np.clip(b.Y_smooth, clip, 1.0)
        out = kernels.kl_divergence(Y, np.log(np.clip(b.probabilities, clip, 1.0)))
    else:
        out = kernels.kl_divergence(b.Y_smooth, b.log_P)
    # PyTorch's reduction='mean' divides by N·k: each row's sum becomes its mean over k
    return out / b.n_classes if b.rules.kl_per_element else out


def _focal(b: Batch) -> np.ndarray:
    """`kernels.binary_focal`, from the shared p, 1 − p and bce."""
    o = b.options
    q, bce = b.q, b.bce
    if b.rules.clip_eps is not None and o.from_logits:
        # Keras takes σ(z) first, then the clipped cross-entropy of that probability
        q = 1.0 - b.p
        log_p, log_q = kernels.binary_log_probs(b.p, eps=o.eps, clip_first=True)
        bce = kernels.soft_binary_cross_entropy(b.y_smooth, log_p, log_q)
    return kernels.binary_focal(
        b.y_smooth,
        b.p,
        q,
        bce,
        gamma=o.focal_gamma,
        alpha=o.focal_alpha if o.focal_alpha is not None else b.rules.focal_alpha,
    )


_SMOOTHING = ("eps", "label_smoothing", "from_logits")


def _mse(b: Batch) -> np.ndarray:
    out = kernels.squared_error(b.residual)
    # scikit-learn's multiclass brier_score_loss sums over the classes
    return out * b.n_classes if b.rules.brier_sum and b.task == "multiclass" else out


_MSE = Statistic("mse", _mse)

SPECS: tuple[LossSpec, ...] = (
    LossSpec(
        "mse",
        ("l2", "brier"),
        ALL,
        "mean squared error (Brier score for probabilities)",
        (),
        statistic=_MSE,
        defined_by=kernels.squared_error,
    ),
    LossSpec(
        "rmse",
        (),
        ALL,
        "root mean squared error",
        (),
        statistic=RootMean("mse", of=_MSE),
        defined_by=RootMean,
    ),
    LossSpec(
        "mae",
        ("l1",),
        ALL,
        "mean absolute error",
        (),
        statistic=Statistic("mae", lambda b: kernels.absolute_error(b.residual)),
        defined_by=kernels.absolute_error,
    ),
    LossSpec(
        "huber",
        (),
        ALL,
        "quadratic inside ±δ, linear outside",
        ("huber_delta",),
        statistic=Statistic(
            "huber", lambda b: kernels.huber(b.residual, delta=b.options.huber_delta)
        ),
        defined_by=kernels.huber,
    ),
    LossSpec(
        "pseudo_huber",
        (),
        ALL,
        "smooth Huber",
        ("huber_delta",),
        statistic=Statistic(
            "pseudo_huber", lambda b: kernels.pseudo_huber(b.residual, delta=b.options.huber_delta)
        ),
        defined_by=kernels.pseudo_huber,
    ),
    LossSpec(
        "log_cosh",
        ("logcosh",),
        ALL,
        "log of the hyperbolic cosine of the error",
        (),
        statistic=Statistic("log_cosh", lambda b: kernels.log_cosh(b.residual)),
        defined_by=kernels.log_cosh,
    ),
    LossSpec(
        "bce",
        ("log_loss", "logloss", "binary_crossentropy"),
        BINARY,
        "binary cross-entropy",
        _SMOOTHING,
        statistic=Statistic("bce", lambda b: b.bce),
        defined_by=kernels.binary_cross_entropy,
        needs_probabilities=True,
    ),
    LossSpec(
        "hinge",
        (),
        CLASSIFICATION,
        "hinge loss on raw scores",
        ("hinge_mode",),
        statistic=Statistic("hinge", _hinge),
        defined_by=_hinge,
        raw_scores=True,
    ),
    LossSpec(
        "squared_hinge",
        (),
        BINARY,
        "squared hinge loss on raw scores",
        (),
        statistic=Statistic("squared_hinge", lambda b: kernels.binary_squared_hinge(b.hinge)),
        defined_by=kernels.binary_squared_hinge,
        raw_scores=True,
    ),
    LossSpec(
        "ce",
        ("cross_entropy", "categorical_crossentropy", "nll"),
        CLASSIFICATION,
        "cross-entropy (equal to bce for binary)",
        _SMOOTHING,
        statistic=Statistic("ce", _ce),
        defined_by=kernels.categorical_cross_entropy,
        needs_probabilities=True,
    ),
    LossSpec(
        "kl",
        ("kld", "kl_div"),
        CLASSIFICATION,
        "KL divergence of predictions from labels",
        _SMOOTHING,
        statistic=Statistic("kl", _kl),
        defined_by=kernels.kl_divergence,
        needs_probabilities=True,
    ),
    LossSpec(
        "focal",
        (),
        BINARY,
        "focal loss: cross-entropy down-weighted on easy samples",
        ("focal_gamma", "focal_alpha", *_SMOOTHING),
        statistic=Statistic("focal", _focal),
        defined_by=kernels.binary_focal,
        needs_probabilities=True,
    ),
    LossSpec(
        "dice",
        (),
        CLASSIFICATION,
        "soft Dice loss (dataset level; multiclass: mean over classes)",
        ("dice_smooth", "no_background"),
        statistic=Dice("dice"),
        defined_by=Dice,
        needs_probabilities=True,
        default_tasks=BINARY,
    ),
    LossSpec(
        "iou",
        ("jaccard",),
        CLASSIFICATION,
        "soft Jaccard (IoU) loss (dataset level)",
        ("dice_smooth", "no_background"),
        statistic=IoU("dice"),
        defined_by=IoU,
        needs_probabilities=True,
        by_default=False,
    ),
    LossSpec(
        "tversky",
        (),
        CLASSIFICATION,
        "Tversky loss: false positives weighted α, false negatives β (dataset level)",
        ("dice_smooth", "tversky_alpha", "tversky_beta", "no_background"),
        statistic=Tversky("dice"),
        defined_by=Tversky,
        needs_probabilities=True,
        by_default=False,
    ),
    LossSpec(
        "ece",
        ("expected_calibration_error",),
        CLASSIFICATION,
        "expected calibration error over equal-width bins (dataset level)",
        ("calibration_bins",),
        statistic=Calibration("calibration", norm="l1"),
        defined_by=stats.expected_calibration_error,
        needs_probabilities=True,
        by_default=False,
    ),
    LossSpec(
        "mce",
        ("maximum_calibration_error",),
        CLASSIFICATION,
        "maximum calibration error over equal-width bins (dataset level)",
        ("calibration_bins",),
        statistic=Calibration("calibration", norm="max"),
        defined_by=stats.maximum_calibration_error,
        needs_probabilities=True,
        by_default=False,
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
        return [
            spec for spec in SPECS if task in (spec.default_tasks or spec.tasks) and spec.by_default
        ]
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
                    fix=f"Losses for {task}: {usable}. "
                    f"Pass {option('task')} if the task was guessed wrong",
                )
            if spec not in out:
                out.append(spec)
    if not out:
        name = option("losses", ["NAME"], cli="NAME")
        raise InputError("no loss named", fix=f"Pass {name}; `losscli losses` lists them")
    return out
