"""`--dask ADDRESS` (or `LOSSCLI_DASK`) for `eval` and `check`: the files evaluated on a
Dask cluster with `losscli.dask.evaluate` (SPEC §10).

The columns are chosen on the client as for a local run (the same names, the same
notes); the workers read the table's partitions themselves with Dask's readers (Parquet
row groups or files, CSV blocks), each returns an accumulator state, and the states are
merged in Dask's tree. `local` starts a LocalCluster of one worker process per core,
`local:N` of N. A scheduler that does not answer, a worker that dies and a file that a
worker cannot read are each one `error:` line.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
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
    from losscli.readers._source import resolve
    from losscli.readers.columns import stream_inputs

    header, chunks = stream_inputs(preds, None, batch_rows=1, **read)  # columns only
    del chunks
    notes.extend(header.notes)
    source = resolve(preds, read.get("input_format"))
    ddf = _frame(source, header, read)
    import sys

    keywords = dict(keywords, progress=not quiet and sys.stderr.isatty())
    with _client(address):
        result = _evaluate(ddf, header, keywords, preds)
    for entry in result.worst or []:
        entry["line"] = None  # rows count across the files, lines are a file's
    return result, header


def _frame(source: Any, header: Any, read: dict[str, Any]) -> Any:
    """The table as a Dask DataFrame of one partition per file, each read on its worker by
    losscli's own reader (so cells are read as in a local run: the same types, missing
    markers and errors), with the file's Hive partition keys from its path."""
    import dask.dataframe as dd

    from losscli.readers.parquet import _partitions
    from losscli.readers.remote import storage_options

    if source.format not in ("parquet", "csv", "tsv"):
        raise InputError(
            f"--dask reads Parquet and CSV/TSV, and this is {source.format}",
            fix="Convert it to Parquet, or leave out --dask",
            source=source.name,
        )
    from losscli.readers.remote import is_url

    # workers run elsewhere (another folder, another machine): local paths go absolute
    files = [f if is_url(f) else os.path.abspath(f) for f in source.files or [source.path]]
    root = source.path or ""
    keys = (
        _partitions(root if is_url(root) else os.path.abspath(root), files)
        if source.files
        else [{}]
    )
    columns = [*header.pred_columns, *header.label_columns]
    columns += [c for c in [header.weight_column] if c]
    columns += [c for c, _ in read.get("extra_cols", ()) if c not in columns]
    options = (source.format, read.get("delimiter"), storage_options())
    items = list(zip(files, keys, strict=True))
    meta = _read_file(items[0], columns, options, rows=1).iloc[:0]
    return dd.from_map(_read_file, items, columns=columns, options=options, meta=meta,
                       enforce_metadata=False)  # fmt: skip


def _read_file(item: Any, columns: list[str], options: Any, rows: int | None = None) -> Any:
    """One file as a pandas DataFrame of `columns` (on a worker)."""
    import numpy as np
    import pandas as pd

    from losscli.readers import open_table
    from losscli.readers.remote import set_storage_options

    path, keys = item
    fmt, delimiter, storage = options
    set_storage_options(storage)
    own = [c for c in columns if c not in keys]
    try:
        table = open_table(path, input_format=fmt, delimiter=delimiter)
        frame = next(table.iterate(own, rows)) if rows else table.read(own)
    except InputError as exc:
        if exc.row is not None:
            raise
        raise replace(exc, problem=f"{exc.problem} (read by a Dask worker)") from None
    data = {c: frame.columns[c] for c in own}
    for key, value in keys.items():
        if key in columns:
            data[key] = np.full(frame.n_rows, value, dtype=object)
    return pd.DataFrame({c: data[c] for c in columns})


def _client(address: str):  # type: ignore[no-untyped-def]
    """A client of the cluster at `address`, or of a LocalCluster for `local[:N]`."""
    import contextlib

    from distributed import Client, LocalCluster

    match = re.fullmatch(r"local(?::(\d+))?", address.strip())

    import logging
    import os

    # a failed task is the one `error:` line, not the scheduler's and workers' logs
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    logging.getLogger("distributed").setLevel(logging.CRITICAL)

    @contextlib.contextmanager
    def connected():  # type: ignore[no-untyped-def]
        if match:
            n = int(match.group(1)) if match.group(1) else None
            if n is not None and n < 1:
                raise InputError("--dask local:N needs N ≥ 1", fix="Pass e.g. --dask local:2")
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as c:  # fmt: skip
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

    return connected()


def _evaluate(ddf: Any, header: Any, keywords: dict[str, Any], preds: str) -> Any:
    import losscli.dask

    try:
        return losscli.dask.evaluate(
            ddf,
            header.pred_columns,
            header.label_columns,
            weight_col=header.weight_column,
            **keywords,
        )
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
