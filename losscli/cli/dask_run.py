"""`--dask ADDRESS` (or `LOSSCLI_DASK`) for `eval`, `check` and `compare`: the files
evaluated on a Dask cluster with `losscli.dask.evaluate` and `losscli.dask.compare`
(SPEC §10).

The columns are chosen on the client as for a local run (the same names, the same notes),
and the task, classes and losses are decided on the first chunk a local run reads. The
workers read the table's partitions themselves with losscli's readers
(`readers/partitions.py`: Parquet row groups, CSV blocks, whole files), each returns a
state, and the states are merged in Dask's tree. `local` starts a LocalCluster of one
worker process per core, `local:N` of N. A scheduler that does not answer, a worker that
dies and a file that a worker cannot read are each one `error:` line.
"""

from __future__ import annotations

import re
from typing import Any

from losscli.errors import InputError

CONNECT_SECONDS = 5


def refuse(preds: str, labels: str | None, read: dict[str, Any]) -> None:
    """What --dask does not take: two files, a join by id, standard input."""
    if labels is not None or read.get("id_col"):
        raise InputError(
            "--dask reads one table (a file, folder or glob) that holds the predictions "
            "and the labels",
            fix="Write them into one Parquet or CSV dataset, or leave out --dask",
        )
    if preds == "-":
        raise InputError("--dask cannot read standard input", fix="Pass a file, folder or URL")


def evaluate_on_dask(
    address: str,
    preds: str,
    read: dict[str, Any],
    keywords: dict[str, Any],
    notes: list[str],
    quiet: bool = False,
) -> tuple[Any, Any]:
    """(EvaluationResult, inputs header) of PREDS evaluated on the cluster at `address`."""
    from losscli.dask import _require

    _require()
    table, header, roles = opened(preds, read)
    notes.extend(header.notes)
    parts, lengths = partitioned(table, [(header, roles)])
    import sys

    keywords = dict(keywords, progress=not quiet and sys.stderr.isatty(), lengths=lengths,
                    first=first_chunk(table, header, roles))  # fmt: skip
    try:
        with _client(address):
            result = _on_cluster(_evaluate, parts, header, keywords, preds)
    except InputError as exc:
        raise lined(exc, header) from None
    if result.worst:  # rows count across the files, lines are a file's: `line` null
        result.worst = [{"row": e["row"], "line": None} | {k: v for k, v in e.items() if k != "line"}
                        for e in result.worst]  # fmt: skip
    if result.worst and header._origins["preds"].line_offset is not None:
        # a text file: the `line` column is kept (empty), as a local run has it
        result.worst_kept = ("line",)
    return result, header


def compare_on_dask(
    address: str,
    models: list[tuple[str, str, tuple]],
    params: dict[str, Any],
    keywords: dict[str, Any],
    extra: list[tuple[str, str]],
) -> Any:
    """`compare` of the models' columns of one table on the cluster at `address`
    (`losscli.dask.compare`): each model's columns chosen on the client as for a local run."""
    from losscli.cli.options import read_options
    from losscli.dask import _require
    from losscli.dask_compare import BOOTSTRAP

    if params["method"] == "bootstrap":
        raise BOOTSTRAP
    paths = {path for _, path, _ in models}
    if len(paths) > 1 or params.get("labels") is not None or params.get("id_col"):
        raise InputError(
            "compare --dask reads one table (a file, folder or glob) that holds every "
            "model's predictions and the labels",
            fix="Pass one table and --model-col NAME=COL for each model, or leave out --dask",
        )
    refuse(models[0][1], None, {})
    _require()
    base = keywords["baseline"]
    opened_by: dict[str, tuple[Any, Any]] = {}
    table, first = None, []
    for name, path, cols in models:
        read = read_options({**params, "pred_cols": cols})
        read["extra_cols"] = extra if name == base else []
        table, *opened_by[name] = opened(path, read, table)  # type: ignore[assignment]
        first.append(first_chunk(table, *opened_by[name]))
    names = [m[0] for m in models]
    parts, lengths = partitioned(table, [opened_by[n] for n in names])
    h = opened_by[base][0]
    import sys

    own = {k: v for k, v in keywords.items() if k not in ("locate", "n_resamples", "seed")}
    own.update(
        weight_col=h.weight_column,
        progress=not params.get("quiet") and sys.stderr.isatty(),
        lengths=lengths,
        first=first,
        inputs={n: (hd.notes, hd.describe()) for n, (hd, _) in opened_by.items()},
    )
    models_cols = {n: opened_by[n][0].pred_columns for n in names}

    def run(parts: Any, header: Any, kw: dict[str, Any]) -> Any:
        import losscli.dask

        return losscli.dask.compare(parts, models_cols, header.label_columns, **kw)

    with _client(address):
        return _on_cluster(run, parts, h, own, models[0][1])


def lined(exc: InputError, header: Any) -> InputError:
    """An error at a row of the table with the editor line a local run gives, found here:
    a worker's line is row + 1 (it has no line finder, `partitions.for_workers`), which a
    blank line above the row makes wrong. Only for the one error, as a local run does."""
    from dataclasses import replace

    from losscli.readers._frame import editor_line

    origin = next((o for o in header._origins.values() if o.source == exc.source), None)
    if exc.row is None or origin is None or origin.line_of is None:
        return exc
    return replace(exc, line=editor_line(origin, exc.row))


def opened(preds: str, read: dict[str, Any], table: Any = None) -> tuple[Any, Any, Any]:
    """(the opened table, its inputs header, the column roles): the columns chosen on the
    client as for a local run (the same names, the same notes); no data is read. `table`,
    the same file already open, is not opened again (its footers not read again)."""
    from losscli.readers._roles import PREDS
    from losscli.readers.inputs import header_of
    from losscli.readers.opening import open_inputs

    tables, roles = open_inputs(
        preds, None, read.get("pred_cols") or (), read.get("label_cols") or (),
        read.get("weight_col"), read.get("id_col"), read.get("input_format"), read.get("key"),
        read.get("delimiter"), read.get("nan_policy") or "raise", read.get("extra_cols") or (),
        None if table is None else {PREDS: table},
    )  # fmt: skip
    return tables[PREDS], header_of(tables, roles), roles


def first_chunk(table: Any, header: Any, roles: Any) -> Any:
    """The table's first chunk of ``STREAM_ROWS`` rows, read on the client as a local run
    reads it: what the task, the classes and the losses are decided on, as locally."""
    from losscli.cli import options as cli
    from losscli.readers._roles import PREDS
    from losscli.readers.lockstep import lockstep, stream_frames

    tables = {PREDS: table}
    frames = stream_frames(tables, roles, cli.STREAM_ROWS)
    try:
        return next(lockstep(header, frames, roles, tables))
    finally:  # the reader's threads and files, not left to the garbage collector
        for stream in frames.values():
            getattr(stream, "close", lambda: None)()


def partitioned(table: Any, models: list[tuple[Any, Any]]) -> tuple[list[Any], list[int] | None]:
    """The table's partitions (Parquet row groups, CSV blocks, whole files:
    `readers.partitions`) as `losscli.dask.Later`s, each read on its worker, by the task that
    evaluates it, into one `Inputs` per (header, roles) of
    `models` by losscli's own readers (so cells are read as in a local run: the same types,
    missing markers and errors), and the partitions' row counts when the metadata tells."""
    import dask

    from losscli.dask import Later
    from losscli.readers import partitions
    from losscli.readers._roles import PREDS
    from losscli.readers.remote import storage_options

    columns = list(dict.fromkeys(c for _, roles in models for c in roles.needed(PREDS)))
    parts, settings = partitions.plan(table, columns, storage_options())
    from itertools import accumulate

    known = [p.rows for p in parts if p.rows is not None]
    lengths = known if len(known) == len(parts) else None
    offsets: list[int | None] = [None] * len(parts)
    if lengths is not None:
        offsets = list[int | None]([0, *accumulate(lengths)][:-1])
    shipped = [(partitions.for_workers(h), r) for h, r in models]
    # what every task shares is one key of the graph (sent once per worker, not walked by
    # dask.delayed for every partition)
    shared = dask.delayed((columns, settings, shipped), traverse=False)
    tasks = [Later(read_partition, part, shared, at, i)
             for i, (part, at) in enumerate(zip(parts, offsets, strict=True))]  # fmt: skip
    return tasks, lengths  # type: ignore[return-value]


def read_partition(part: Any, shared: Any, offset: int | None, index: int) -> Any:
    """One partition as `Inputs` (on a worker): `readers.partitions.read_inputs`."""
    from losscli.dask import heap_kept
    from losscli.readers.partitions import read_inputs

    columns, settings, models = shared
    with heap_kept():
        return read_inputs(part, columns, settings, models, offset, index)


def _client(address: str):  # type: ignore[no-untyped-def]
    """A client of the cluster at `address`, or of a LocalCluster for `local[:N]`."""
    import contextlib

    from distributed import Client, LocalCluster

    match = re.fullmatch(r"local(?::(\d+))?", address.strip())

    import logging
    import os
    import warnings

    # a failed task is the one `error:` line, not the scheduler's and workers' logs
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    logging.getLogger("distributed").setLevel(logging.CRITICAL)

    @contextlib.contextmanager
    def quiet():  # type: ignore[no-untyped-def]
        # distributed's warnings (a port in use, "Sending large graph of size ...") are not
        # the user's: stderr carries losscli's lines only, while the client is open
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"distributed(\.|$)")
            with connected() as c:
                yield c

    @contextlib.contextmanager
    def connected():  # type: ignore[no-untyped-def]
        if match:
            n = int(match.group(1)) if match.group(1) else None
            if n is not None and n < 1:
                raise InputError("--dask local:N needs N ≥ 1", fix="Pass e.g. --dask local:2")
            # no dashboard; the scheduler's HTTP server (its health checks) on a free port,
            # not 8787, which another cluster's dashboard may hold
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"}
                              ) as cluster, Client(cluster) as c:  # fmt: skip
                yield c
            return
        try:
            c = Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {address} ({type(exc).__name__})",
                fix="Check the address (tcp://HOST:8786) and that `dask scheduler` runs there, "
                "or pass --dask local:N",
            ) from None
        with c:
            yield c

    return quiet()


def _evaluate(parts: Any, header: Any, keywords: dict[str, Any]) -> Any:
    import losscli.dask

    return losscli.dask.evaluate(
        parts,
        header.pred_columns,
        header.label_columns,
        weight_col=header.weight_column,
        **keywords,
    )


def _on_cluster(run: Any, parts: Any, header: Any, keywords: dict[str, Any], preds: str) -> Any:
    """`run(parts, header, keywords)` with the cluster's failures as one InputError each."""
    try:
        return run(parts, header, keywords)
    except InputError:
        raise
    except (FileNotFoundError, PermissionError) as exc:
        raise InputError(
            f"a Dask worker cannot read {preds} ({exc})",
            fix="Give every worker the same path (shared storage or a URL) and its credentials",
        ) from None
    except Exception as exc:
        if type(exc).__name__ == "KilledWorker":
            raise InputError(
                f"a Dask worker died while evaluating a partition of {preds} ({exc})",
                fix="Check the workers' memory and logs, then rerun",
            ) from None
        if type(exc).__module__.split(".")[0] in ("distributed", "tornado"):
            raise InputError(
                f"the Dask cluster failed ({type(exc).__name__}: {exc})",
                fix="Check the scheduler and the workers, then rerun",
            ) from None
        raise
