"""The options that shape a loss (SPEC §4), their defaults and their valid ranges.

Keywords match the CLI flags minus ``--`` with ``_`` for ``-`` (``huber_delta`` ↔
``--huber-delta``, `losscli.errors.flag`); messages name the keyword and the CLI shows the flag. `Options.given` remembers which ones the user set, so that an option no
requested loss uses is an error rather than silently ignored (BAD_INPUTS 58).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from losscli.engine import conventions
from losscli.engine.conventions import Convention
from losscli.errors import InputError, option

FLOAT64_EPS = float(np.finfo(np.float64).eps)
HINGE_MODES = ("crammer-singer", "weston-watkins")
REDUCTIONS = ("mean", "sum", "none")
NAN_POLICIES = ("raise", "omit")
MASK_OPTIONS = ("tversky_alpha", "tversky_beta", "no_background")
# Each bin keeps three sums per class group and per slice, and reads the chunk three times.
MAX_CALIBRATION_BINS = 10_000


@dataclass(frozen=True)
class Options:
    huber_delta: float = 1.0
    eps: float = FLOAT64_EPS
    from_logits: bool = False
    label_smoothing: float = 0.0
    class_weight: str | dict[str, float] | None = None
    hinge_mode: str = "crammer-singer"
    focal_gamma: float = 2.0
    focal_alpha: float | None = None
    dice_smooth: float = 1.0
    tversky_alpha: float = 0.5
    tversky_beta: float = 0.5
    no_background: bool = False
    calibration_bins: int = 15
    reduction: str = "mean"
    renormalize: bool = False
    nan_policy: str = "raise"
    convention: Convention = conventions.LOSSCLI  # SPEC §9; built from its name
    given: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def build(cls, **kwargs: Any) -> Options:
        """Options from keywords, where None means "not given"; validated."""
        names = {f.name for f in fields(cls)} - {"given"}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(unknown)}")
        given = {k: v for k, v in kwargs.items() if v is not None}
        values = dict(given)
        if "convention" in given:
            conv = values["convention"] = conventions.get(given["convention"])
            if conv.clip_eps is not None and "eps" not in given:
                values["eps"] = conv.clip_eps  # the framework's clipping is its ε
        opts = cls(**values, given=frozenset(given))
        opts.validate()
        return opts

    def for_dtype(self, dtype: Any) -> Options:
        """Without an explicit eps, clip at the machine ε of float16/float32 predictions, as
        scikit-learn's log_loss does (`np.finfo(y_pred.dtype).eps`); float64's otherwise."""
        if "eps" in self.given or self.convention.clip_eps is not None:
            return self
        dtype = np.dtype(dtype)
        eps = float(np.finfo(dtype).eps) if dtype in (np.float16, np.float32) else FLOAT64_EPS
        return self if eps == self.eps else replace(self, eps=eps)

    def validate(self) -> None:
        def bad(keyword: str, value: object, rule: str) -> InputError:
            name = option(keyword)
            return InputError(f"{name} is {value}; it must be {rule}", fix=f"Pass {name} {rule}")

        if not (math.isfinite(self.huber_delta) and self.huber_delta > 0):
            raise bad("huber_delta", self.huber_delta, "> 0")
        if not (0.0 < self.eps < 0.5):
            raise bad("eps", self.eps, "in (0, 0.5)")
        if not (0.0 <= self.label_smoothing < 1.0):
            raise bad("label_smoothing", self.label_smoothing, "in [0, 1)")
        if not (math.isfinite(self.focal_gamma) and self.focal_gamma >= 0):
            raise bad("focal_gamma", self.focal_gamma, ">= 0")
        if self.focal_alpha is not None and not (0.0 <= self.focal_alpha <= 1.0):
            raise bad("focal_alpha", self.focal_alpha, "in [0, 1]")
        if not (math.isfinite(self.dice_smooth) and self.dice_smooth >= 0):
            raise bad("dice_smooth", self.dice_smooth, ">= 0")
        bins = self.calibration_bins
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise bad("calibration_bins", bins, "a whole number >= 1")
        if bins > MAX_CALIBRATION_BINS:
            raise bad("calibration_bins", bins, f"at most {MAX_CALIBRATION_BINS:,}")
        for name in ("tversky_alpha", "tversky_beta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise bad(name, value, ">= 0")
        if self.hinge_mode not in HINGE_MODES:
            raise bad("hinge_mode", self.hinge_mode, " or ".join(HINGE_MODES))
        if self.reduction == "per-image":
            raise InputError(
                f"{option('reduction', 'per-image')} applies to segmentation masks (NPY/NPZ "
                "arrays of three or more dimensions, or folders of .npy files)",
                fix=f"Pass {option('reduction', 'mean')} for rows",
            )
        if self.reduction not in REDUCTIONS:
            raise bad("reduction", self.reduction, " or ".join(REDUCTIONS))
        if self.nan_policy not in NAN_POLICIES:
            raise bad("nan_policy", self.nan_policy, " or ".join(NAN_POLICIES))

    def as_dict(self) -> dict[str, Any]:
        """Every option with its value, for JSON output and the signature."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "given"}
        # losscli's own convention is left out, so outputs from before SPEC §9 stay the same
        # the overlap options of SPEC §12 are shown when set, so older outputs stay the same
        for name in MASK_OPTIONS:
            if out[name] == getattr(Options, name):
                del out[name]
        conv = out.pop("convention")
        if conv is not conventions.LOSSCLI:
            out["convention"] = conv.name
        return out
