"""JSON output (SPEC §5): one object, numbers at full precision, never NaN."""

from __future__ import annotations

import json
import math
from typing import Any


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # NumPy scalars
        return _clean(value.item())
    return value


def dumps(obj: dict[str, Any]) -> str:
    """Indented JSON; floats in Python's shortest round-trip form; NaN/inf → null."""
    return json.dumps(_clean(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
