"""`losscli compare --labels LABELS A B ...`: several models on the same rows, side by side,
with paired confidence intervals and p-values for each model against a baseline (SPEC §1, §5).

The normal approximation streams: every model's file is read in lockstep, chunk by chunk,
into one engine accumulator per model (so its losses are what `eval` prints) and the sums
and moments of the paired terms, in memory that does not grow with the rows. The bootstrap
resamples rows, so it holds them all: `--method bootstrap` reads the files whole, and
`--method auto` buffers chunks up to `AUTO_NORMAL_ROWS` rows, bootstraps them if the input
ends there, and streams the normal approximation past that. A join by `--id-col` reads the
files whole whatever the method.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from losscli.cli.options import (
    ENGINE_OPTIONS,
    apply_config,
    config_option,
    input_options,
    keep_freed_memory,
    loss_options,
    output_options,
    place_in_chunk,
    print_notes,
    read_options,
)


@click.command("compare")
@click.argument("preds", nargs=-1, metavar="PREDS...")
@click.option("--labels", metavar="LABELS", help="Labels shared by every model.")
@click.option(
    "--model-col",
    "model_cols",
    multiple=True,
    metavar="NAME=COL",
    help="One table, one prediction column (or glob) per model; repeatable.",
)
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="NAME",
    help="Model names, in order; repeatable, comma lists allowed.",
)
@click.option("--baseline", metavar="NAME", help="The reference model. [default: the first]")
@click.option("--ci", type=float, default=0.95, show_default=True, help="Interval coverage.")
@click.option(
    "--bootstrap", "n_resamples", type=int, default=1000, show_default=True, help="Resamples."
)
@click.option(
    "--method",
    type=click.Choice(["auto", "bootstrap", "normal"]),
    default="auto",
    show_default=True,
    help="auto: bootstrap up to 200,000 rows, normal approximation above.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the resampling.")
@click.option("--holm", is_flag=True, help="Also give Holm-adjusted p-values (per loss).")
@input_options
@loss_options
@output_options
@config_option
@click.pass_context
def compare_command(
    ctx: click.Context, preds: tuple[str, ...], config_path: str | None, **params: Any
) -> None:
    """Compare models on the same labels: losses side by side, and for each model against
    the baseline the difference d = loss(model) − loss(baseline), its confidence interval
    and a p-value for "no difference", paired over the same rows.

    \b
      losscli compare --labels labels.csv a.csv b.parquet c.npy
      losscli compare scores.csv --model-col old=p_old --model-col new=p_new --holm
    """
    from losscli.cli.output import console
    from losscli.engine import resample
    from losscli.render import compare as render
    from losscli.render import json
    from losscli.report import write_stream

    apply_config(ctx, params, config_path)
    resample.check_settings(params["ci"], params["n_resamples"])
    models = _models(preds, params)
    baseline = params["baseline"] or models[0][0]
    index = _baseline_index([m[0] for m in models], baseline)
    if params.get("nan_policy") == "omit":
        raise _error(
            "--nan-policy omit could drop different rows for each model",
            "Remove the rows with NaN from every file",
        )
    _stdin_once(models, params)
    keep_freed_memory()

    settings = _settings(params)
    if params["method"] == "bootstrap" or params.get("id_col"):
        run = _in_memory(models, params, settings, index)
    else:
        run = _by_chunks(models, params, settings, index)
    results, inputs, found, the_plan, notes = run
    doc = _document(models, results, inputs, found, the_plan, params, baseline)
    print_notes(notes, params["quiet"])
    fmt, out = params["fmt"], sys.stdout
    if fmt == "json":
        write_stream(out, json.dumps(doc))
    elif fmt in ("csv", "tsv"):
        write_stream(out, render.delimited(doc, "," if fmt == "csv" else "\t"))
    elif fmt == "markdown":
        write_stream(out, render.markdown(doc, params["precision"]))
    else:
        console(out).print(render.table(doc, params["precision"]))


# What a run gives `_document`: results and inputs per model, the comparisons, the plan of
# the baseline, and the notes for stderr.
Run = tuple[list[Any], list[Any], list[Any], Any, list[str]]


def _in_memory(
    models: list[tuple[str, str, tuple]],
    params: dict[str, Any],
    settings: tuple[list[str] | None, dict[str, Any]],
    index: int,
    loaded: list[Any] | None = None,
) -> Run:
    """Every model's rows in memory (read whole, or `loaded` from buffered chunks): the
    bootstrap needs them, and so does a join by id. The normal approximation streams."""
    from losscli.api import plan
    from losscli.engine import resample

    notes: list[str] = []
    results: list[Any] = []
    inputs: list[Any] = []
    for m, (name, path, cols) in enumerate(models):
        own: list[str] = []
        task = results[0].task if results else params.get("task") or "auto"
        model_params = {**params, "pred_cols": cols}
        if loaded is None:
            i = _load(path, params["labels"], model_params, own)
        else:
            i = loaded[m]
            own.extend(i.notes)
        r = _evaluate(i, task, settings, own)
        _add_notes(notes, name, own)
        _same_rows(name, i, r, models[0][0], inputs[0] if inputs else None, results)
        results.append(r)
        inputs.append(i)

    first = inputs[index]
    losses, options = settings
    the_plan, y = plan(
        first.preds,
        first.labels,
        losses,
        task=results[0].task,
        pred_names=first.pred_columns,
        **options,
    )
    terms = resample.paired_terms(
        the_plan.task,
        the_plan.specs,
        the_plan.options,
        [i.preds for i in inputs],
        y,
        first.weights,
        classes=the_plan.classes or [],
        baseline=index,
    )
    base = results[index].losses
    found = resample.compare(
        terms,
        method=params["method"],
        confidence=params["ci"],
        n_resamples=params["n_resamples"],
        seed=params["seed"],
        differences=[results[c.model].losses[c.loss] - base[c.loss] for c in terms.contrasts],
    )
    return results, inputs, found, the_plan, notes


def _add_notes(notes: list[str], name: str, own: list[str]) -> None:
    for note in own:  # per model, once each
        warn = note.startswith("warning: ")
        text = f"{'warning: ' if warn else ''}{name}: {note.removeprefix('warning: ')}"
        if text not in notes:
            notes.append(text)


# --- streaming: the normal approximation in bounded memory --------------------------------


def _by_chunks(
    models: list[tuple[str, str, tuple]],
    params: dict[str, Any],
    settings: tuple[list[str] | None, dict[str, Any]],
    index: int,
) -> Run:
    """Read every model's file in lockstep, chunk by chunk.

    ``--method normal`` streams through `_streamed`. ``--method auto`` first buffers chunks:
    when the input ends within `AUTO_NORMAL_ROWS` rows, the buffered rows go to the
    in-memory bootstrap (the same numbers as reading the files whole); past that, the
    buffered chunks and the rest of the files are streamed with the normal approximation.
    """
    import itertools

    from losscli.engine.resample import AUTO_NORMAL_ROWS

    headers, tuples = _open_streams(models, params)
    buffered: list[tuple[Any, ...]] = []
    if params["method"] == "auto":
        rows = 0
        for chunks in tuples:
            buffered.append(chunks)
            rows += _rows(chunks[0])
            if rows > AUTO_NORMAL_ROWS:
                break
        else:
            return _in_memory(models, params, settings, index, _joined(buffered))
    if settings[1]["class_weight"] == "balanced" and _reads_stdin(models, params):
        # balanced class weights need the class counts before the first row's terms, which
        # takes a first pass over the labels; standard input can be read once, so it is
        # read whole instead
        buffered.extend(tuples)
        return _in_memory(models, params, settings, index, _joined(buffered))
    return _streamed(
        models, headers, itertools.chain(_drain(buffered), tuples), params, settings, index
    )


def _drain(items: list[Any]) -> Iterator[Any]:
    """The items in order, each let go of once it is taken."""
    items.reverse()
    while items:
        yield items.pop()


def _streamed(
    models: list[tuple[str, str, tuple]],
    headers: list[Any],
    tuples: Iterator[tuple[Any, ...]],
    params: dict[str, Any],
    settings: tuple[list[str] | None, dict[str, Any]],
    index: int,
) -> Run:
    """The normal approximation over aligned chunks (one per model, the same rows).

    Per chunk: each model's rows go into an engine accumulator of their own, merged in row
    order (as `evaluate_stream` does, so each model's losses are what `losscli eval` prints
    for its file), and the paired terms of the chunk into `PairedSums` (column sums and
    moments). Memory holds one chunk per model and one piece of the terms, whatever n.
    """
    from losscli.api import finish
    from losscli.cli.output import progress_bar
    from losscli.engine import resample

    names = [m[0] for m in models]
    plans: list[Any] = []
    totals: list[Any] = [None] * len(models)
    sums: Any = None
    the_plan: Any = None
    class_weights = None
    paths, quiet = [models[0][1], params["labels"]], bool(params["quiet"])
    with progress_bar(paths, quiet, total=headers[0].rows_hint) as advance:
        for chunks in tuples:
            if not plans:
                plans, labels = _plans(chunks, headers, params, settings)
                the_plan = plans[index]
                resample.check_reduction(the_plan.options)
                class_weights = _class_weights(the_plan, models[index], params)
            else:
                labels = [_encoded(p, c) for p, c in zip(plans, chunks, strict=True)]
            for m, c in enumerate(chunks):
                totals[m] = _accumulate(totals[m], plans[m], c, labels[m])
                if m:
                    _same_labels(names[m], c, names[0], chunks[0])
            sums = _add_terms(sums, the_plan, chunks, labels[index], index, class_weights)
            advance(_rows(chunks[0]))
    if not plans:
        raise _error("no rows to evaluate", "A mean over no rows is undefined")

    notes: list[str] = []
    results = []
    for name, header, p, acc in zip(names, headers, plans, totals, strict=True):
        r = finish(p, acc)
        _add_notes(notes, name, [*header.notes, *r.notes])
        results.append(r)
    base = results[index].losses
    found = resample.compare_sums(
        sums,
        confidence=params["ci"],
        differences=[results[c.model].losses[c.loss] - base[c.loss] for c in sums.contrasts],
    )
    return results, headers, found, the_plan, notes


def _plans(
    chunks: tuple[Any, ...],
    headers: list[Any],
    params: dict[str, Any],
    settings: tuple[list[str] | None, dict[str, Any]],
) -> tuple[list[Any], list[Any]]:
    """Each model's plan and numeric labels, decided from its first chunk as
    `evaluate_stream` does; every model takes the first model's task, as in memory."""
    import numpy as np

    from losscli.api import plan
    from losscli.errors import InputError

    losses, options = settings
    plans: list[Any] = []
    labels = []
    for c, header in zip(chunks, headers, strict=True):
        task = plans[0].task if plans else params.get("task") or "auto"
        try:
            p, y = plan(
                np.asarray(c.preds),
                np.asarray(c.labels),
                losses,
                task=task,
                pred_names=header.pred_columns,
                **options,
            )
        except InputError as exc:
            raise place_in_chunk(c, exc) from None
        plans.append(p)
        labels.append(y)
    return plans, labels


def _encoded(the_plan: Any, chunk: Any) -> Any:
    """A later chunk's labels as the plan encodes them (class names → indices)."""
    import numpy as np

    from losscli.api import encode_chunk_labels
    from losscli.errors import InputError

    try:
        return encode_chunk_labels(the_plan, np.asarray(chunk.labels), chunk.row_offset)
    except InputError as exc:
        raise place_in_chunk(chunk, exc) from None


def _accumulate(total: Any, the_plan: Any, chunk: Any, labels: Any) -> Any:
    """The chunk's rows in an accumulator of their own, merged after the rows before."""
    import numpy as np

    from losscli.api import make_accumulator, update_in_pieces
    from losscli.errors import InputError

    try:
        acc = update_in_pieces(
            make_accumulator(the_plan),
            np.asarray(chunk.preds),
            labels,
            chunk.weights,
            chunk.row_offset,
        )
    except InputError as exc:
        raise place_in_chunk(chunk, exc) from None
    return acc if total is None else total.merge(acc)


def _add_terms(
    sums: Any, the_plan: Any, chunks: tuple[Any, ...], y: Any, index: int, class_weights: Any
) -> Any:
    """Add the paired terms of one chunk of rows to the sums, in pieces cut where the
    in-memory path cuts the whole matrix (at multiples of MOMENT_CHUNK rows)."""
    import numpy as np

    from losscli.engine import resample

    base = chunks[index]
    preds = [np.asarray(c.preds) for c in chunks]
    w = base.weights
    for s, e in resample.moment_pieces(base.row_offset, _rows(base)):
        terms = resample.paired_terms(
            the_plan.task,
            the_plan.specs,
            the_plan.options,
            [p[s:e] for p in preds],
            y[s:e],
            None if w is None else w[s:e],
            classes=the_plan.classes or [],
            baseline=index,
            class_weights=class_weights,
        )
        if sums is None:
            sums = resample.PairedSums.like(terms)
        sums.update(terms)
    return sums


def _class_weights(the_plan: Any, model: tuple[str, str, tuple], params: dict[str, Any]) -> Any:
    """One weight per class for the terms of every chunk, or None (no class weights).

    Explicit weights need nothing of the data. ``balanced`` weights n/(k·n_c) need the class
    counts of the whole input before the first chunk's terms: they are counted in a first
    pass over the baseline model's file (every model has the same labels; a model whose
    labels differ is an error in the main pass). Exact: the weights are those the in-memory
    path computes from all rows, so every term is the same number. (Keeping the terms'
    moments per class instead would avoid the pass for one-hot labels, but not for soft
    labels, whose cross-class products it cannot recover.)
    """
    from losscli.engine.weights import class_weight_vector

    spec = the_plan.options.class_weight
    if spec is None or the_plan.task == "regression":
        return None
    import numpy as np

    k = the_plan.n_classes
    names = list(the_plan.classes or []) or [str(c) for c in range(k)]
    counts = _count_classes(the_plan, model, params) if spec == "balanced" else np.ones(k)
    return class_weight_vector(spec, counts, names)


def _count_classes(the_plan: Any, model: tuple[str, str, tuple], params: dict[str, Any]) -> Any:
    """Σ Y_ic per class over every row of one model's inputs (a pass of its own)."""
    import numpy as np

    from losscli.api import encode_chunk_labels
    from losscli.cli import options as cli
    from losscli.engine.accumulate import CompensatedSum
    from losscli.engine.batch import Batch
    from losscli.errors import InputError
    from losscli.readers.columns import stream_inputs

    _, path, cols = model
    read = read_options({**params, "pred_cols": cols})
    _, chunks = stream_inputs(path, params["labels"], batch_rows=cli.STREAM_ROWS, **read)
    k = the_plan.n_classes
    counts = CompensatedSum.zeros((k,))
    for c in chunks:
        try:
            y = encode_chunk_labels(the_plan, np.asarray(c.labels), c.row_offset)
            batch = Batch(
                the_plan.task,
                np.asarray(c.preds),
                y,
                c.weights,
                the_plan.options,
                the_plan.specs,
                row_offset=c.row_offset,
            )
        except InputError as exc:
            raise place_in_chunk(c, exc) from None
        counts.add(batch.group_count(k))
    return counts.value()


def _open_streams(
    models: list[tuple[str, str, tuple]], params: dict[str, Any]
) -> tuple[list[Any], Iterator[tuple[Any, ...]]]:
    """Each model's inputs as a stream of chunks, and the chunks of all models aligned."""
    from losscli.cli import options as cli
    from losscli.readers.columns import stream_inputs

    headers, streams = [], []
    for _, path, cols in models:
        read = read_options({**params, "pred_cols": cols})
        header, chunks = stream_inputs(path, params["labels"], batch_rows=cli.STREAM_ROWS, **read)
        headers.append(header)
        streams.append(chunks)
    return headers, _aligned([m[0] for m in models], streams)


def _rows(chunk: Any) -> int:
    return int(chunk.preds.shape[0])


def _aligned(names: list[str], streams: list[Iterator[Any]]) -> Iterator[tuple[Any, ...]]:
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
        n_rows=stop - start,
        row_offset=chunk.row_offset + start,
    )


def _joined(buffered: list[tuple[Any, ...]]) -> list[Any]:
    """Each model's buffered chunks as one `Inputs` (what reading the file whole gives)."""
    from dataclasses import replace

    import numpy as np

    def cat(parts: list[Any]) -> Any:
        if parts[0] is None:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    out = []
    for m in range(len(buffered[0])):
        chunks = [t[m] for t in buffered]
        out.append(
            replace(
                chunks[0],
                preds=cat([c.preds for c in chunks]),
                labels=cat([c.labels for c in chunks]),
                weights=cat([c.weights for c in chunks]),
                ids=cat([c.ids for c in chunks]),
                n_rows=sum(_rows(c) for c in chunks),
                row_offset=0,
            )
        )
    return out


def _reads_stdin(models: list[tuple[str, str, tuple]], params: dict[str, Any]) -> bool:
    """Whether an input can be read only once (`-`, a FIFO, `<(...)`), so no second pass."""
    from losscli.readers._source import reads_once

    labels = params["labels"]
    return (labels is not None and reads_once(labels)) or any(
        reads_once(path) for _, path, _ in models
    )


def _stdin_once(models: list[tuple[str, str, tuple]], params: dict[str, Any]) -> None:
    """Standard input, a FIFO or `<(...)` can be read once: by one model's predictions, or
    by the labels of one model (every model reads the labels file)."""
    from losscli.readers._source import reads_once

    paths = [path for _, path, _ in models]
    if params["labels"] is not None:
        paths += [params["labels"]] * len(models)
    for path in dict.fromkeys(p for p in paths if reads_once(p)):
        uses = paths.count(path)
        if uses > 1:
            what = "'-' (standard input)" if path == "-" else f"'{path}' (a pipe or FIFO)"
            raise _error(
                f"{what} would be read {uses} times, once for each model that "
                "uses it; it can be read once",
                "Save it to a file and pass the file's path",
            )


def _settings(params: dict[str, Any]) -> tuple[list[str] | None, dict[str, Any]]:
    """Losses and the keywords of `evaluate`/`plan` (classes and engine options)."""
    from losscli.engine.weights import parse_class_weight

    options: dict[str, Any] = {k: params.get(k) for k in ENGINE_OPTIONS}
    options["class_weight"] = parse_class_weight(params.get("class_weight"))
    classes = params.get("classes")
    options["classes"] = [c.strip() for c in classes.split(",")] if classes else None
    return list(params.get("losses") or ()) or None, options


def _load(path: str, labels: str | None, params: dict[str, Any], notes: list[str]) -> Any:
    """One model's file read whole."""
    from losscli.readers.columns import load_inputs

    inputs = load_inputs(path, labels, **read_options(params))
    notes.extend(inputs.notes)
    return inputs


def _evaluate(
    inputs: Any,
    task: str,
    settings: tuple[list[str] | None, dict[str, Any]],
    notes: list[str],
) -> Any:
    """One model's rows evaluated; engine errors are placed in the user's files."""
    from losscli.api import evaluate
    from losscli.errors import InputError

    losses, options = settings
    try:
        result = evaluate(
            inputs.preds,
            inputs.labels,
            losses,
            task=task,
            sample_weight=inputs.weights,
            pred_names=inputs.pred_columns,
            **options,
        )
    except InputError as exc:
        raise exc.locate(inputs.locate) from None
    notes.extend(result.notes)
    return result


def _error(problem: str, fix: str | None = None) -> Exception:
    from losscli.errors import InputError

    return InputError(problem, fix=fix)


def _stem(path: str) -> str:
    """A model's default name: its file's name up to the first dot, and `:key` for an NPZ
    array named per file (`m.npz:a` and `m.npz:b` are two models, `m:a` and `m:b`)."""
    if path == "-":
        return "stdin"
    from losscli.readers.columns import split_key

    path, key = split_key(path)
    name = Path(path).name
    stem = name.split(".")[0] or name
    return f"{stem}:{key}" if key else stem


def _models(preds: tuple[str, ...], params: dict[str, Any]) -> list[tuple[str, str, tuple]]:
    """(name, file, prediction columns) of each model, from files or --model-col."""
    if params["model_cols"]:
        if len(preds) != 1:
            raise _error(
                f"--model-col reads the models from one table, but {len(preds)} files are given",
                "Give one PREDS file with --model-col, or one file per model without it",
            )
        if params.get("pred_cols"):
            raise _error(
                "--pred-col and --model-col both name prediction columns",
                "Use --model-col NAME=COL for each model",
            )
        models = []
        for item in params["model_cols"]:
            name, sep, col = item.partition("=")
            models.append((name.strip(), preds[0], ((col if sep else name).strip(),)))
    else:
        models = [(_stem(p), p, tuple(params.get("pred_cols") or ())) for p in preds]
    names = _names(params["names"])
    if names:
        if len(names) != len(models):
            raise _error(
                f"{len(names)} --name given for {len(models)} models",
                "Pass one --name per model, in order",
            )
        models = [(n, p, c) for n, (_, p, c) in zip(names, models, strict=True)]
    if len(models) < 2:
        raise _error(
            f"compare needs at least two models, got {len(models)}",
            "Pass two or more PREDS files, or --model-col NAME=COL for each model",
        )
    seen: set[str] = set()
    for name, _, _ in models:
        if name in seen:
            raise _error(f"two models are named '{name}'", "Pass --name for each model, in order")
        seen.add(name)
    return models


def _names(items: tuple[str, ...]) -> list[str]:
    """--name values, each a name or a comma list of names (as --loss takes them)."""
    names = [name.strip() for item in items for name in item.split(",")]
    if any(not name for name in names):
        raise _error(
            f"--name {','.join(items)} has an empty model name",
            "Pass names such as --name old,new",
        )
    return names


def _baseline_index(names: list[str], baseline: str) -> int:
    if baseline not in names:
        raise _error(
            f"--baseline '{baseline}' is not a model; models are {', '.join(names)}",
            "Pass one of the model names",
        )
    return names.index(baseline)


def _same_rows(name: str, i: Any, r: Any, first: str, i0: Any, results: list[Any]) -> None:
    """Every model must have the same rows, labels and weights as the first."""
    if i0 is None:
        return
    if r.n_samples != results[0].n_samples:
        raise _length_error(name, r.n_samples, first, results[0].n_samples)
    _same_labels(name, i, first, i0)


def _length_error(name: str, n: int, first: str, n0: int) -> Exception:
    return _error(
        f"model '{name}' has {n} rows, model '{first}' has {n0}",
        "Every model must predict the same rows",
    )


def _same_labels(name: str, i: Any, first: str, i0: Any) -> None:
    """The same labels and weights as the first model (whole inputs, or one chunk each)."""
    import numpy as np

    w0, w = i0.weights, i.weights
    if (
        not np.array_equal(i.labels, i0.labels)
        or (w0 is None) != (w is None)
        or (w is not None and not np.array_equal(w, w0))
    ):
        raise _error(
            f"model '{name}' has other labels or weights than model '{first}'",
            "Pass --labels FILE to give every model the same labels",
        )


def _document(models, results, inputs, found, the_plan, params, baseline) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from losscli._version import __version__
    from losscli.engine.resample import holm

    names = [m[0] for m in models]
    comparisons = [
        {
            "model": names[c.model],
            "baseline": baseline,
            "loss": c.loss,
            "difference": c.difference,
            "ci": list(c.ci),
            "p_value": c.p_value,
            "method": c.method,
        }
        for c in found
    ]
    if params["holm"]:  # one family per loss: the models compared with the baseline
        for loss in {c["loss"] for c in comparisons}:
            family = [c for c in comparisons if c["loss"] == loss]
            for c, p in zip(family, holm([c["p_value"] for c in family]), strict=True):
                c["p_value_holm"] = p
    options = {
        **results[0].options,
        "losses": list(results[0].losses),
        "ci": params["ci"],
        "bootstrap": params["n_resamples"],
        "method": params["method"],
        "baseline": baseline,
        "holm": params["holm"],
    }
    return {
        "losscli": __version__,
        "task": results[0].task,
        "n_samples": results[0].n_samples,
        "seed": params["seed"],
        "method": found[0].method if found else None,
        "baseline": baseline,
        "options": options,
        "higher_is_better": [s.name for s in the_plan.specs if s.higher_is_better],
        "models": {
            n: {"losses": r.losses, "inputs": i.describe()}
            for n, r, i in zip(names, results, inputs, strict=True)
        },
        "comparisons": comparisons,
    }
