"""losscli: loss functions for predictions in files, exact and stable.

    >>> import losscli
    >>> round(losscli.evaluate([0.9, 0.2], [1, 0], losses=["bce"]).losses["bce"], 6)
    0.164252

The public names are loaded on first use, so that `losscli --version` and `--help` do not
import NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from losscli._version import __version__

if TYPE_CHECKING:
    from losscli.api import EvaluationResult, evaluate, evaluate_stream
    from losscli.comparison import ComparisonResult, compare, compare_stream
    from losscli.engine.accumulate import Accumulator
    from losscli.engine.registry import LOSSES, LossSpec
    from losscli.errors import InputError, LossCliError
    from losscli.explaining import explain, explain_stream
    from losscli.masks import evaluate_masks

_LAZY = {
    "evaluate": "losscli.api",
    "evaluate_stream": "losscli.api",
    "EvaluationResult": "losscli.api",
    "compare": "losscli.comparison",
    "compare_stream": "losscli.comparison",
    "ComparisonResult": "losscli.comparison",
    "explain": "losscli.explaining",
    "explain_stream": "losscli.explaining",
    "evaluate_masks": "losscli.masks",
    "Accumulator": "losscli.engine.accumulate",
    "LOSSES": "losscli.engine.registry",
    "LossSpec": "losscli.engine.registry",
    "InputError": "losscli.errors",
    "LossCliError": "losscli.errors",
}

__all__ = [
    "LOSSES",
    "Accumulator",
    "ComparisonResult",
    "EvaluationResult",
    "InputError",
    "LossCliError",
    "LossSpec",
    "__version__",
    "compare",
    "compare_stream",
    "evaluate",
    "evaluate_masks",
    "evaluate_stream",
    "explain",
    "explain_stream",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API (loaded lazily, so not yet in the module's namespace) and the module's
    own dunders; not the helpers this file imports (`Any`, `TYPE_CHECKING`)."""
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__") and n.endswith("__")})
