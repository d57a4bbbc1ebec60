"""CSV and TSV output: a header row, then one row per loss (or per sample)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def dumps(header: Sequence[str], rows: Iterable[Sequence[object]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row]
        )
    return buf.getvalue()
