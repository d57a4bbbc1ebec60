"""How `losscli compare` reads the models' files: whole, one model after another (the
bootstrap and --id-col, through `losscli.compare`), or in lockstep, chunk by chunk, with a
progress bar (`losscli.compare_stream`). The baseline's files also give the slice columns
(--by), which every model shares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from losscli.cli.options import read_options
from losscli.errors import InputError

Model = tuple[str, str, tuple]  # name, file, prediction columns


class _WholeFiles(Mapping[str, Any]):
    """Model name → its file read whole, read when the model's turn comes (so a file that
    cannot be read is reported after the models before it are evaluated, as it always was);
    the baseline's files give the slice columns (`extra`)."""

    def __init__(self, models: list[Model], params: dict[str, Any], extra: dict[str, list]) -> None:
        self._models = {name: (path, cols) for name, path, cols in models}
        self._params = params
        self._extra = extra
        self._read: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        from losscli.readers.columns import load_inputs

        if name not in self._read:
            path, cols = self._models[name]
            read = read_options({**self._params, "pred_cols": cols})
            read["extra_cols"] = self._extra.get(name, [])
            self._read[name] = load_inputs(path, self._params["labels"], **read)
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)


def whole_files(
    models: list[Model], params: dict[str, Any], keywords: dict[str, Any], extra: list
) -> Any:
    """The bootstrap, and a join by id: every model's file read whole, one after another."""
    from losscli.comparison import compare

    files = _WholeFiles(models, params, {keywords["baseline"]: extra})
    return compare(files, **keywords)


def streamed_files(
    models: list[Model], params: dict[str, Any], keywords: dict[str, Any], extra: list
) -> Any:
    """Every model's file read in lockstep, chunk by chunk, with a progress bar; a second
    pass over the baseline's file when balanced class weights need the class counts."""
    from losscli.comparison import compare_stream

    names = [m[0] for m in models]
    headers, streams = [], []
    for model in models:
        header, chunks = _open(model, params, extra if model[0] == keywords["baseline"] else [])
        headers.append(header)
        streams.append(chunks)
    chunks = (dict(zip(names, t, strict=True)) for t in aligned(names, streams))
    base = models[names.index(keywords["baseline"])]
    rewind = None if _reads_stdin(models, params) else lambda: _rewound(base, params)
    paths, quiet = [models[0][1], params["labels"]], bool(params["quiet"])
    with ExitStack() as stack:
        advance = _progress(stack, paths, quiet, headers[0].rows_hint)
        return compare_stream(chunks, progress=advance, rewind=rewind, **keywords)


def _open(
    model: Model, params: dict[str, Any], extra: Sequence[Any] = ()
) -> tuple[Any, Iterator[Any]]:
    """One model's inputs as a stream of chunks of ``STREAM_ROWS`` rows, with the slice
    columns `extra` (the baseline's)."""
    from losscli.cli import options as cli
    from losscli.readers.columns import stream_inputs

    _, path, cols = model
    read = read_options({**params, "pred_cols": cols})
    read["extra_cols"] = list(extra)
    return stream_inputs(path, params["labels"], batch_rows=cli.STREAM_ROWS, **read)


def _rewound(model: Model, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The baseline model's chunks again, from the first row (for the class counts)."""
    _, chunks = _open(model, params)
    return ({model[0]: c} for c in chunks)


def _progress(
    stack: ExitStack, paths: list[str | None], quiet: bool, total: int | None
) -> Callable[[int], None]:
    """The progress bar's `advance`, the bar shown from the first streamed chunk on (the
    rows held for the bootstrap never show one)."""
    from losscli.cli.output import progress_bar

    shown: list[Callable[[int], None]] = []

    def advance(rows: int) -> None:
        if not shown:
            shown.append(stack.enter_context(progress_bar(paths, quiet, total=total)))
        shown[0](rows)

    return advance


def _rows(chunk: Any) -> int:
    return int(chunk.preds.shape[0])


def aligned(names: list[str], streams: list[Iterator[Any]]) -> Iterator[tuple[Any, ...]]:
    """Tuples of one chunk per model over the same rows (the same row_offset and length).

    Streams read with the same batch_rows give chunks of the same size, which pass through
    as they are; a reader that cuts its chunks smaller (wide files) makes the others' be cut
    to match. A stream that ends before the others is an error naming both row counts,
    found by counting every stream to its end.
    """
    current: list[Any] = [None] * len(streams)
    start = [0] * len(streams)
    seen = 0
    while True:
        for j, stream in enumerate(streams):
            if current[j] is None:
                current[j], start[j] = next(stream, None), 0
        ended = [c is None for c in current]
        if all(ended):
            return
        if any(ended):
            totals = [
                seen + (0 if c is None else _rows(c) - s) + sum(_rows(rest) for rest in stream)
                for c, s, stream in zip(current, start, streams, strict=True)
            ]
            j = next(j for j, n in enumerate(totals) if n != totals[0])
            raise _length_error(names[j], totals[j], names[0], totals[0])
        size = min(_rows(c) - s for c, s in zip(current, start, strict=True))
        out = []
        for j, c in enumerate(current):
            s = start[j]
            out.append(c if s == 0 and size == _rows(c) else _slice(c, s, s + size))
            start[j] += size
            if start[j] == _rows(c):
                current[j] = None
        seen += size
        yield tuple(out)


def _slice(chunk: Any, start: int, stop: int) -> Any:
    """Rows start..stop−1 of a chunk, as a chunk (views, no copies)."""
    from dataclasses import replace

    return replace(
        chunk,
        preds=chunk.preds[start:stop],
        labels=chunk.labels[start:stop],
        weights=None if chunk.weights is None else chunk.weights[start:stop],
        ids=None if chunk.ids is None else chunk.ids[start:stop],
        extras={
            k: (v[start:stop], None if m is None else m[start:stop])
            for k, (v, m) in chunk.extras.items()
        },
        n_rows=stop - start,
        row_offset=chunk.row_offset + start,
    )


def _reads_stdin(models: list[tuple[str, str, tuple]], params: dict[str, Any]) -> bool:
    """Whether an input can be read only once (`-`, a FIFO, `<(...)`), so no second pass."""
    from losscli.readers._source import reads_once

    labels = params["labels"]
    return (labels is not None and reads_once(labels)) or any(
        reads_once(path) for _, path, _ in models
    )


def _length_error(name: str, n: int, first: str, n0: int) -> Exception:
    return InputError(
        f"model '{name}' has {n} rows, model '{first}' has {n0}",
        fix="Every model must predict the same rows",
    )
