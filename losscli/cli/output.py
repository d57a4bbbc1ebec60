"""Writing results to stdout in the chosen format (the renderers do the formatting)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from losscli.render import format_number
from losscli.report import write_stream

# a table or message line is never wrapped when stdout is not a terminal (M8): pipes, files
# and CI logs keep one line per row for grep and cut
NO_WRAP_WIDTH = 10_000


def console(stream: IO[str]) -> Any:
    """A Rich console on `stream`: colour only on a terminal and without NO_COLOR (Rich
    reads NO_COLOR, FORCE_COLOR and COLUMNS itself and ignores values it cannot parse).

    On a terminal the width is the terminal's (or COLUMNS); anywhere else lines are not
    wrapped. Trailing padding is stripped, and blank lines at the end are left out."""
    from rich.console import Console

    width = None if _isatty(stream) else NO_WRAP_WIDTH
    out = Console(file=TidyStream(stream), highlight=False, soft_wrap=False, width=width)
    out.on_broken_pipe = _stdout_closed  # Rich's own would exit 1; `run` exits 141 (M2)
    return out


def _stdout_closed() -> None:
    from losscli.cli import StdoutClosed

    raise StdoutClosed()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class TidyStream:
    """A text stream in front of `stream` that strips the spaces Rich pads lines with,
    and holds back blank lines until more text follows (a table's blank bottom edge at
    the end of the output is dropped; a blank line between two blocks stays, empty)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._blank = 0  # blank lines held back
        self._partial = ""  # the text after the last newline, not yet written

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            line = line.rstrip(" ")
            if not line:
                self._blank += 1
                continue
            out.append("\n" * self._blank + line + "\n")
            self._blank = 0
        if out:
            write_stream(self._stream, "".join(out))
        return len(text)

    def flush(self) -> None:
        if self._partial.strip(" "):
            write_stream(self._stream, "\n" * self._blank + self._partial)
            self._blank, self._partial = 0, ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


def emit_evaluation(result: Any, inputs: Any, fmt: str, precision: int, stream: IO[str]) -> None:
    # each format imports only its renderer: JSON and CSV need no Rich (~35 ms)
    described = inputs.describe() if inputs is not None else {}
    if result.per_sample is not None:
        _emit_per_sample(result, inputs, fmt, precision, stream)
        return
    if (result.slices or result.worst is not None) and fmt in ("csv", "tsv"):
        _emit_slices_delimited(result, fmt, stream)
        return
    if fmt == "json":
        write_stream(stream, result.to_json(described))
        return
    if fmt in ("csv", "tsv"):
        from losscli.render import delimited

        rows = [(name, value) for name, value in result.losses.items()]
        write_stream(
            stream, delimited.dumps(["loss", "value"], rows, "," if fmt == "csv" else "\t")
        )
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
        if result.slices:
            stream.write(_slices_markdown(result, precision))
        else:
            stream.write(markdown.table(["loss", "value", "shaped by"], rows, "lrl"))
        if result.worst:
            stream.write(_worst_markdown(result, precision))
        if result.calibration is not None:
            from losscli.render import calibration

            head, cells = calibration.HEADER, calibration.rows(result, precision)
            stream.write(f"\n**{calibration.title(result)}**\n\n")
            stream.write(markdown.table(head, cells, "rlrrrrr"))
    else:
        out = console(stream)
        out.print(table.title_line(result, described), markup=False, soft_wrap=True)
        if result.slices:
            _print_slices(out, result, precision)
        else:
            out.print(table.evaluation_table(result, described, precision))
        if result.worst:
            _print_worst(out, result, precision)
        if result.calibration is not None:
            from losscli.render import calibration

            out.print(calibration.title(result), markup=False, soft_wrap=True)
            cells = calibration.rows(result, precision)
            out.print(table.simple_table(calibration.HEADER, cells, calibration.RIGHT))


def _emit_per_sample(result: Any, inputs: Any, fmt: str, precision: int, stream: IO[str]) -> None:
    """--reduction none: one row per sample (row number or id, weight, one column per loss).

    Only per-sample losses: dataset-level ones (rmse, dice) have no value per row (a note
    says so), and the JSON holds no means, which `none` would mislabel (M1). Rows keep the
    input's numbers when --nan-policy omit drops some (W4)."""
    from losscli.render import delimited, json, markdown

    header, columns = per_sample_columns(result, inputs)
    rows = zip(*columns, strict=True)
    if fmt == "json":
        document = result.to_dict(inputs.describe() if inputs else None)
        del document["losses"]  # means; `none` gives the rows below
        document["options"]["losses"] = list(result.per_sample)
        document["per_sample"] = [dict(zip(header, r, strict=True)) for r in rows]
        write_stream(stream, json.dumps(document))
    elif fmt == "markdown":
        fmt_rows = [[r[0], *(format_number(v, precision) for v in r[1:])] for r in rows]
        write_stream(stream, markdown.table(header, fmt_rows, "l" + "r" * (len(header) - 1)))
    else:  # table, csv: CSV (SPEC §5); tsv: TSV
        write_stream(stream, delimited.dumps(header, rows, "\t" if fmt == "tsv" else ","))


def per_sample_columns(result: Any, inputs: Any) -> tuple[list[str], list[list[Any]]]:
    """The header and the columns of per-sample output: `row` (1-based, in the input's
    numbering) or `id`, then `weight` when weighted, then one column per loss."""
    import numpy as np

    names = list(result.per_sample)
    n = len(next(iter(result.per_sample.values()))) if names else 0
    # 0-based rows of the input that were evaluated (rows dropped by --nan-policy omit
    # are absent, W4); a result built without them counts 0..n-1
    kept = result.sample_rows
    positions = np.arange(n) if kept is None else np.asarray(kept, dtype=np.int64)
    ids = getattr(inputs, "ids", None)
    usable = ids is not None and (
        len(ids) == n if kept is None else len(ids) > int(positions.max(initial=-1))
    )
    key = "id" if usable else "row"
    if key == "id":
        ids = np.asarray(ids)[positions]
        if ids.dtype.kind == "f" and np.all(ids == np.round(ids)):
            ids = ids.astype(np.int64)  # CSV ids read as floats print as in the file
        index = ids.tolist()
    else:
        index = (positions + 1).tolist()
    columns: list[list[Any]] = [index]
    header = [key]
    if result.sample_weight is not None:
        header.append("weight")
        columns.append(np.asarray(result.sample_weight).tolist())
    header += names
    columns += [np.asarray(result.per_sample[name]).tolist() for name in names]
    return header, columns


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
        write_stream(stream, json.dumps(document))
    elif fmt in ("csv", "tsv"):
        header = ["loss", "kind", "value", "bound", "baseline", "margin", "result"]
        rows = [
            [
                v.gate.loss,
                v.gate.kind,
                v.value,
                v.gate.bound,
                v.gate.baseline,
                v.margin,
                "pass" if v.passed else "fail",
            ]
            for v in verdicts
        ]
        if any(v.gate.slice is not None or v.gate.by is not None for v in verdicts):
            # which slice each gate judges (`region=eu`, or the slicing of a gap gate)
            header.insert(1, "slice")
            for row, v in zip(rows, verdicts, strict=True):
                row.insert(
                    1,
                    v.gate.label[len(v.gate.loss) + 1 : -1] if v.gate.label != v.gate.loss else "",
                )
        stream.write(delimited.dumps(header, rows, "," if fmt == "csv" else "\t"))
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


# --- slices and worst rows (SPEC §8) -------------------------------------------------------


def _emit_slices_delimited(result: Any, fmt: str, stream: IO[str]) -> None:
    """One row per (slicing, group), the whole input first as ``all``; without slices, one
    row per worst row."""
    from losscli.render import delimited, slices

    if result.slices:
        header, rows = slices.delimited_rows(result)
    else:
        header = slices.worst_header(result)
        rows = [[e[k] for k in header] for e in result.worst]
    write_stream(stream, delimited.dumps(header, rows, "," if fmt == "csv" else "\t"))


def _print_slices(out: Any, result: Any, precision: int) -> None:
    """One table per slicing, the whole input first, then worst, best and gap per loss."""
    from losscli.render import slices, table

    losses = list(result.losses)
    for s in result.slices:
        out.print(f"by {', '.join(s.by)}", markup=False)
        rows = slices.slice_rows(result, s, precision)
        out.print(table.simple_table(slices.slice_header(losses), rows, range(1, 3 + len(losses))))
        for line in slices.summary_lines(s, precision):
            out.print(line, markup=False, soft_wrap=True)


def _what(result: Any) -> str:
    """What the worst entries are: rows, or images of masks (SPEC §12)."""
    return "images" if "image" in result.worst[0] else "rows"


def _print_worst(out: Any, result: Any, precision: int) -> None:
    from losscli.render import slices, table

    out.print(f"worst {len(result.worst)} {_what(result)} by {result.worst_by}", markup=False)
    head = slices.worst_header(result)
    cells = slices.worst_cells(result, precision)
    out.print(table.simple_table(head, cells, range(len(head) - 4, len(head))))


def _slices_markdown(result: Any, precision: int) -> str:
    from losscli.render import markdown, slices

    losses = list(result.losses)
    parts = []
    for s in result.slices:
        rows = slices.slice_rows(result, s, precision)
        parts.append(
            f"**by {', '.join(s.by)}**\n\n"
            + markdown.table(slices.slice_header(losses), rows, "lrr" + "r" * len(losses))
            + "\n"
            + "".join(f"- {line}\n" for line in slices.summary_lines(s, precision))
        )
    return "\n".join(parts)


def _worst_markdown(result: Any, precision: int) -> str:
    from losscli.render import markdown, slices

    head = slices.worst_header(result)
    return (
        f"\n**worst {len(result.worst)} {_what(result)} by {result.worst_by}**\n\n"
        + markdown.table(head, slices.worst_cells(result, precision))
    )
