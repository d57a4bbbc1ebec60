"""JSON output (SPEC §5): one object, numbers at full precision, never NaN.

Long lists of records (the slices' groups, the worst rows) are `Rows`: each record is
written on one line, compact, inside the indented document. That keeps a report of 10⁵
slices readable line by line (grep, `jq -c`), and fast: the records go through the json
module's C encoder, which `indent` would turn off.
"""

from __future__ import annotations

import json
import math
import re
from json.encoder import encode_basestring as _encode_text  # type: ignore[attr-defined]
from typing import Any


class Rows(list):  # type: ignore[type-arg]
    """A list written one compact record per line by `dumps`; `lines`, when given, are
    those records already written (`_compact` of each), as long tables make them."""

    def __init__(self, records: Any = (), lines: list[str] | None = None) -> None:
        super().__init__(records)
        self.lines = lines


def text(value: str | None) -> str:
    """A JSON string (or null), as `dumps` writes it."""
    return "null" if value is None else _encode_text(value)


def texts(values: list[str | None]) -> list[str]:
    """`text` of each value (one C call each when none is null)."""
    if None in values:
        return [text(v) for v in values]
    return list(map(_encode_text, values))  # type: ignore[arg-type]  # no None, as checked


def numbers(values: Any) -> list[str]:
    """JSON numbers as `dumps` writes them (shortest round-trip form; null for NaN and ±inf)
    of a float array."""
    import numpy as np

    texts = list(map(repr, values.tolist()))
    if not np.isfinite(values).all():
        texts = [t if t not in ("nan", "inf", "-inf") else "null" for t in texts]
    return texts


_PLACE = re.compile(r'^( *)(.*)"\\u0000rows(\d+)\\u0000"', re.MULTILINE)


def _clean(value: Any, rows: list[list[str]] | None = None) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Rows) and rows is not None:
        rows.append(value.lines if value.lines is not None else [_compact(v) for v in value])
        return f"\0rows{len(rows) - 1}\0"
    if isinstance(value, dict):
        return {str(k): _clean(v, rows) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, rows) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # NumPy scalars
        return _clean(value.item(), rows)
    return value


def _compact(record: Any) -> str:
    try:
        return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
    except (TypeError, ValueError):  # NumPy scalars or non-finite floats: clean first
        return json.dumps(_clean(record), ensure_ascii=False, separators=(", ", ": "))


def dumps(obj: dict[str, Any]) -> str:
    """Indented JSON; floats in Python's shortest round-trip form; NaN/inf → null."""
    rows: list[list[str]] = []
    text = json.dumps(_clean(obj, rows), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if not rows:
        return text

    def place(match: re.Match[str]) -> str:
        indent, before, records = match.group(1), match.group(2), rows[int(match.group(3))]
        if not records:
            return f"{indent}{before}[]"
        inner = f",\n{indent}  ".join(records)  # one join, not a string per record
        return f"{indent}{before}[\n{indent}  {inner}\n{indent}]"

    return _PLACE.sub(place, text)
