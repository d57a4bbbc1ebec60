"""Pictures of an evaluation (SPEC §11): what each plot shows is gathered in `data` (in
bounded memory, from streamed chunks), drawn to PNG, SVG or PDF by `figures` (matplotlib,
the optional extra ``losscli[plot]``) or to the terminal by `text`, and put together with
the numbers into one HTML page by `html`.
"""

from __future__ import annotations

from typing import Any

from losscli.errors import InputError

KINDS = ("calibration", "losses", "residuals", "slices", "compare")
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def matplotlib() -> Any:
    """matplotlib, or an error that names the extra to install."""
    try:
        import matplotlib as mpl
    except ImportError:
        raise InputError(
            "drawing plots needs matplotlib, which is not installed",
            fix="pip install 'losscli[plot]'",
        ) from None
    return mpl
