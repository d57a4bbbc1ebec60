"""Class weights: parsing ``--class-weight`` and turning it into one weight per class.

The per-sample weight is ωᵢ = sᵢ·c(yᵢ) (SPEC §4). The engine accumulates its sums per
class and applies c only at `result()`: the sums are linear in c, so explicit and
``balanced`` weights (which need the class counts of the whole input) take one pass and
merge like everything else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from losscli.errors import InputError, option

ClassWeight = str | Mapping[str | int, float] | None
_EXAMPLE = option("class_weight", {0: 1, 1: 4}, cli="0=1,1=4")


def _quoted(text: str) -> str:
    return f"'{text}'"


def parse_class_weight(text: str | None) -> str | dict[str, float] | None:
    """``balanced`` or ``0=1,1=4`` / ``cat=2,dog=0.5`` into a dict of class → weight."""
    if text is None:
        return None
    text = text.strip()
    if text.lower() == "balanced":
        return "balanced"
    out: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not sep or not key or not math.isfinite(weight) or weight < 0:
            raise InputError(
                f"{option('class_weight', text, cli=_quoted(text))} is malformed at "
                f"'{part.strip()}'",
                fix=f"Pass {option('class_weight', 'balanced')}, or CLASS=WEIGHT pairs with "
                "weights ≥ 0, such as 0=1,1=4",
            )
        if key in out:
            raise InputError(f"{option('class_weight')} names class '{key}' twice")
        out[key] = weight
    return out


def class_weight_vector(
    spec: ClassWeight, counts: NDArray[np.float64], classes: Sequence[str]
) -> NDArray[np.float64]:
    """One weight per class.

    Args:
        spec: None (all 1), ``"balanced"`` (w_c = n / (k·n_c), scikit-learn), or a mapping
            from class index or name to weight (classes left out weigh 1).
        counts: n_c, the number of rows of each class (Σ Y_ic for soft labels).
        classes: class names, in column order (for names in `spec` and in messages).
    """
    k = len(classes)
    if spec is None:
        return np.ones(k)
    if isinstance(spec, str):
        if spec != "balanced":
            raise InputError(
                f"{option('class_weight', spec, cli=_quoted(spec))} is not understood",
                fix="Pass balanced or CLASS=WEIGHT pairs",
            )
        missing = [classes[c] for c in range(k) if counts[c] == 0]
        if missing:
            raise InputError(
                f"{option('class_weight', 'balanced')} needs every class in the labels; "
                + ("class " if len(missing) == 1 else "classes ")
                + ", ".join(repr(m) for m in missing)
                + (" has no rows" if len(missing) == 1 else " have no rows"),
                fix=f"Give explicit weights, such as {_EXAMPLE}",
            )
        return counts.sum() / (k * counts)
    out = np.ones(k)
    index = {name: i for i, name in enumerate(classes)}
    for key, weight in spec.items():
        name = str(key)
        if not (math.isfinite(float(weight)) and float(weight) >= 0):
            raise InputError(
                f"class weight of '{name}' is {weight}; class weights must be finite and ≥ 0",
                fix=f"Pass weights such as {_EXAMPLE}",
            )
        if name in index:
            out[index[name]] = float(weight)
        elif name.lstrip("-").isdigit() and 0 <= int(name) < k:
            out[int(name)] = float(weight)
        else:
            raise InputError(
                f"{option('class_weight')} names class '{name}', which is not one of "
                f"{', '.join(classes)} (or 0..{k - 1})",
                fix="Use class indices or the class names",
            )
    return out
