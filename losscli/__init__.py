"""losscli: loss functions for predictions in files, exact and stable.

>>> import losscli
>>> losscli.evaluate([0.9, 0.2], [1, 0], losses=["bce"]).losses["bce"]  # doctest: +ELLIPSIS
0.16425...
"""

from losscli._version import __version__
from losscli.api import EvaluationResult, evaluate
from losscli.engine.accumulate import Accumulator
from losscli.engine.registry import LOSSES, LossSpec
from losscli.errors import InputError, LossCliError

__all__ = [
    "LOSSES",
    "Accumulator",
    "EvaluationResult",
    "InputError",
    "LossCliError",
    "LossSpec",
    "__version__",
    "evaluate",
]
