"""Writing results to stdout in the chosen format (the renderers do the formatting)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from losscli.render import format_number


def console(stream: IO[str]) -> Any:
    """A Rich console on `stream`: colour only on a terminal and without NO_COLOR (Rich
    reads NO_COLOR, FORCE_COLOR and COLUMNS itself and ignores values it cannot parse)."""
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=False)


def emit_evaluation(result: Any, inputs: Any, fmt: str, precision: int, stream: IO[str]) -> None:
    # each format imports only its renderer: JSON and CSV need no Rich (~35 ms)
    described = inputs.describe() if inputs is not None else {}
    if result.per_sample is not None:
        _emit_per_sample(result, inputs, fmt, precision, stream)
        return
    if fmt == "json":
        from losscli.render import json

        stream.write(json.dumps(result.to_dict(described)))
        return
    if fmt in ("csv", "tsv"):
        from losscli.render import delimited

        rows = [(name, value) for name, value in result.losses.items()]
        stream.write(delimited.dumps(["loss", "value"], rows, "," if fmt == "csv" else "\t"))
        return
    from losscli.render import markdown, table

    if fmt == "markdown":
        rows = [
            (
                name,
                format_number(value, precision),
                table.shaped_by(name, result.task, result.options),
            )
            for name, value in result.losses.items()
        ]
        stream.write(f"**{table.title_line(result, described)}**\n\n")
        stream.write(markdown.table(["loss", "value", "shaped by"], rows, "lrl"))
    else:
        out = console(stream)
        out.print(table.title_line(result, described), markup=False, soft_wrap=True)
        out.print(table.evaluation_table(result, described, precision))


def _emit_per_sample(result: Any, inputs: Any, fmt: str, precision: int, stream: IO[str]) -> None:
    """--reduction none: one row per sample (row number or id, weight, one column per loss)."""
    import numpy as np

    from losscli.render import delimited, json, markdown

    names = list(result.per_sample)
    n = len(next(iter(result.per_sample.values()))) if names else 0
    ids = getattr(inputs, "ids", None)
    key = "id" if ids is not None and len(ids) == n else "row"
    if key == "id" and ids.dtype.kind == "f" and np.all(ids == np.round(ids)):
        ids = ids.astype(np.int64)  # CSV ids read as floats print as in the file
    index = ids.tolist() if key == "id" else list(range(1, n + 1))
    columns: list[list[Any]] = [index]
    header = [key]
    if result.sample_weight is not None:
        header.append("weight")
        columns.append(np.asarray(result.sample_weight).tolist())
    header += names
    columns += [np.asarray(result.per_sample[name]).tolist() for name in names]
    rows = zip(*columns, strict=True)
    if fmt == "json":
        stream.write(
            json.dumps(
                {
                    **result.to_dict(inputs.describe() if inputs else None),
                    "per_sample": [dict(zip(header, r, strict=True)) for r in rows],
                }
            )
        )
    elif fmt == "markdown":
        fmt_rows = [[r[0], *(format_number(v, precision) for v in r[1:])] for r in rows]
        stream.write(markdown.table(header, fmt_rows, "l" + "r" * (len(header) - 1)))
    else:  # table, csv: CSV (SPEC §5); tsv: TSV
        stream.write(delimited.dumps(header, rows, "\t" if fmt == "tsv" else ","))


def emit_check(
    result: Any,
    inputs: Any,
    verdicts: list[Any],
    document: dict[str, Any],
    fmt: str,
    precision: int,
    stream: IO[str],
) -> None:
    from losscli.render import delimited, gates, json, table

    described = inputs.describe() if inputs is not None else {}
    if fmt == "json":
        stream.write(json.dumps(document))
    elif fmt in ("csv", "tsv"):
        rows = [
            (
                v.gate.loss,
                v.gate.kind,
                v.value,
                v.gate.bound,
                v.gate.baseline,
                v.margin,
                "pass" if v.passed else "fail",
            )
            for v in verdicts
        ]
        stream.write(
            delimited.dumps(
                ["loss", "kind", "value", "bound", "baseline", "margin", "result"],
                rows,
                "," if fmt == "csv" else "\t",
            )
        )
    elif fmt == "markdown":
        stream.write(gates.markdown(verdicts, table.title_line(result, described), precision))
    else:
        out = console(stream)
        out.print(table.title_line(result, described), markup=False, soft_wrap=True)
        out.print(
            table.simple_table(
                gates.HEADER,
                gates.rows(verdicts, precision),
                right=(1, 3),
            )
        )
        out.print(gates.summary_line(verdicts), markup=False)


# inputs at least this large get a progress bar (on a terminal, without --quiet)
PROGRESS_MIN_BYTES = int(os.environ.get("LOSSCLI_PROGRESS_MIN_BYTES", 32 << 20))


@contextlib.contextmanager
def progress_bar(
    paths: Sequence[str | None], quiet: bool, total: int | None = None
) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr for long work: rows, rate, time left.

    Only on a terminal, never with --quiet, never on stdout (so JSON and CSV output stay
    byte-identical with and without a terminal). `total` is the reader's `rows_hint` (exact
    for Parquet, Feather and NPY, estimated for CSV); without it the bar counts rows.
    """
    files = [p for p in paths if p and p != "-" and os.path.isfile(p)]
    size = sum(os.path.getsize(p) for p in files)
    # Rich takes stderr for a terminal when it is one or FORCE_COLOR/TTY_COMPATIBLE say so;
    # anything else is decided here without importing Rich (~25 ms)
    maybe_terminal = sys.stderr.isatty() or any(
        os.environ.get(v) for v in ("FORCE_COLOR", "TTY_COMPATIBLE")
    )
    if quiet or size < PROGRESS_MIN_BYTES or not maybe_terminal:
        yield lambda rows: None
        return
    from rich.console import Console

    err = Console(file=sys.stderr)
    if not err.is_terminal:
        yield lambda rows: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("evaluating", total=total)
        yield lambda rows: progress.advance(task, rows)
