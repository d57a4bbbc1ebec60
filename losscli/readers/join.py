"""Joining the labels file to the predictions file by id, and what that join costs.

A join by id holds both files whole, so its memory is estimated from the files' sizes
before anything is read (`join_memory`), and checked against what the machine has
(`available_memory`: /proc/meminfo and the cgroup's limit). A stream cannot be joined
(`refuse_streamed_join`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.readers._frame import Frame, editor_line
from losscli.readers._roles import LABELS, PREDS, ColumnRoles
from losscli.readers.arrays import assemble, check_empty
from losscli.readers.inputs import EXTRA, Inputs, InputsHeader

__all__ = [
    "JOIN_BYTES_PER_ROW",
    "JOIN_BYTES_PER_VALUE",
    "JOIN_NOTE_BYTES",
    "available_memory",
    "check_join_memory",
    "comparable_ids",
    "join_by_id",
    "join_memory",
    "refuse_streamed_join",
]


# A join by id holds both files whole: per value, Arrow's column and its float64 copy; per
# row of each file, the id (a Python string for text ids), its sort order and the index
# arrays of the join. Measured with two files of 2·10⁶ rows (an id and one value each):
# peak 0.45 GB with integer ids, 0.71 GB with text ids; this estimate says 0.64 GB.
JOIN_BYTES_PER_VALUE = 16
JOIN_BYTES_PER_ROW = 128
# joins estimated at this size or more say so in a note
JOIN_NOTE_BYTES = 1 << 30


def join_memory(tables: dict[str, Any], roles: ColumnRoles) -> tuple[int, int]:
    """(bytes, rows) a join by id of these tables needs; (0, 0) when a size is unknown
    (standard input, compressed CSV)."""
    need = rows = 0
    for role, t in tables.items():
        n = t.rows_hint()
        if n is None:
            return 0, 0
        need += n * (JOIN_BYTES_PER_VALUE * len(roles.needed(role)) + JOIN_BYTES_PER_ROW)
        rows = max(rows, n)
    return need, rows


def available_memory() -> int | None:
    """Bytes this process can still take: MemAvailable, within a cgroup's limit if lower;
    None where neither can be read (not Linux)."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current") as fh:
            used = int(fh.read().strip())
        if limit != "max":
            found.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def check_join_memory(tables: dict[str, Any], roles: ColumnRoles) -> None:
    """Refuse a join that would not fit in the memory available; note a large one."""
    need, rows = join_memory(tables, roles)
    if not need:
        return
    available = available_memory()
    names = " and ".join(t.source.name for t in tables.values())
    if available is not None and need > available:
        raise InputError(
            f"joining {names} by --id-col holds both files in memory: about {_size(need)} "
            f"for {rows:,} rows, and {_size(available)} is available",
            fix="Sort both files by id (they must hold the same ids) and drop --id-col; "
            "files aligned by position are streamed in bounded memory",
        )
    if need >= JOIN_NOTE_BYTES:
        roles.notes.append(
            f"--id-col joins {names} in memory: about {_size(need)} for {rows:,} rows "
            "(files aligned by position are streamed in bounded memory)"
        )


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1024:.1f} KiB"


def refuse_streamed_join(tables: dict[str, Any], roles: ColumnRoles) -> None:
    """A join by id needs both files whole: streaming cannot give it (`--id-col`)."""
    if roles.id_column is not None and len(tables) == 2:
        need, _ = join_memory(tables, roles)
        size = f"about {_size(need)} for these files" if need else "both files whole"
        raise InputError(
            f"--id-col cannot be used while streaming: a join by id holds {size} in memory",
            fix="Read the files whole (load_inputs), or sort both files by id and drop --id-col",
        )


def _id_keys(frames: dict[str, Frame], column: str) -> dict[str, np.ndarray]:
    """The id column of each file: int64 when both hold whole numbers, else text as str
    objects (a whole number as its digits, so 7 in one file matches "7" in the other)."""
    for f in frames.values():
        check_empty(f, column, "--id-col")
    return comparable_ids({role: f.columns[column] for role, f in frames.items()})


def comparable_ids(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Ids of two files made comparable (see `_id_keys`)."""
    whole = {
        role: v.dtype.kind in "iu"
        or v.dtype.kind == "f"
        and bool(np.all(np.isfinite(v)))
        and bool(np.all(v == np.round(v)))
        for role, v in values.items()
    }
    if all(whole.values()):
        return {role: v.astype(np.int64) for role, v in values.items()}
    # text columns arrive as str objects; numbers become their digits (whole) or repr
    return {
        role: v
        if v.dtype == object
        else (v.astype(np.int64) if whole[role] else v).astype(str).astype(object)
        for role, v in values.items()
    }


def join_by_id(header: InputsHeader, frames: dict[str, Frame], roles: ColumnRoles) -> Inputs:
    """Align the labels file to the predictions file's row order by `--id-col`.

    Integer ids are sorted and binary-searched in NumPy (2·10⁶ rows in 0.6 s, where a
    Python dict took 5.9 s and Arrow's hash kernels 1.7 s on this machine). Text ids are
    joined the same way on their 64-bit hashes, then checked string by string (1.9 s for
    2·10⁶ rows); a hash
    collision, or any duplicate or missing id, sends them to the exact dict join, which
    also words the error.
    """
    id_col = roles.id_column
    assert id_col is not None
    keys = _id_keys(frames, id_col)
    names = {role: frames[role].source for role in keys}
    if keys[PREDS].dtype != object:
        order = _sorted_join(keys, names, id_col)
    else:
        hashed = {
            role: np.fromiter(map(hash, k), dtype=np.int64, count=len(k))
            for role, k in keys.items()
        }
        try:
            order = _sorted_join(hashed, names, id_col)
        except InputError:
            order = None
        if order is None or not np.array_equal(keys[LABELS][order], keys[PREDS]):
            order = _dict_join(keys, names, id_col)
    labels_frame = frames[LABELS]
    aligned = Frame(
        labels_frame.source, labels_frame.format,
        {n: v[order] for n, v in labels_frame.columns.items()},
        len(order), labels_frame.line_offset, 0,
        {n: m[order] for n, m in labels_frame.nulls.items()}, labels_frame.types,
        labels_frame.line_of,
    )  # fmt: skip
    from losscli.readers.lockstep import check_same

    try:
        for column in roles.extras_in_both:  # a slice column in both files, after the join
            check_same({PREDS: frames[PREDS], LABELS: aligned}, column, id_like=False)
        inputs = assemble(header, {PREDS: frames[PREDS], LABELS: aligned}, roles, {}, 0)
    except InputError as exc:
        raise _unalign(exc, labels_frame, order) from None
    # Rows from the labels file were reordered: remember each one's own row for locate().
    inputs._file_rows = {role: order for role in header._origins if _side_of(roles, role) == LABELS}
    return inputs


def _sorted_join(keys: dict[str, np.ndarray], names: dict[str, str], id_col: str) -> np.ndarray:
    """For each predictions row, the labels row with its id (int64 keys).

    Both sides are sorted once; duplicates are equal neighbours, and the binary search
    runs on sorted queries, so it walks memory forward (2·10⁶ hashes: 5.2 s unsorted
    through a sorter, 0.07 s sorted).
    """
    order, ordered = {}, {}
    for role, k in keys.items():
        order[role] = np.argsort(k, kind="stable")
        ordered[role] = k[order[role]]
        s = ordered[role]
        same = s[1:] == s[:-1]
        if same.any():
            dupes = s[1:][same]
            count = int(np.count_nonzero(np.diff(dupes) != 0)) + 1
            raise _duplicate_ids(count, _first_distinct(k[np.isin(k, dupes)]), names[role], id_col)
    pos = np.searchsorted(ordered[LABELS], ordered[PREDS])
    n_labels = len(ordered[LABELS])
    found = pos < n_labels
    found[found] = ordered[LABELS][pos[found]] == ordered[PREDS][found]
    if not found.all():
        absent = np.zeros(len(found), dtype=bool)
        absent[order[PREDS][~found]] = True  # back in file order
        raise _missing_ids(int(np.count_nonzero(absent)), len(found),
                           _first_distinct(keys[PREDS][absent]), names, PREDS, LABELS, id_col)  # fmt: skip
    if n_labels > len(found):  # every prediction found a distinct label row: the rest are extra
        absent = np.ones(n_labels, dtype=bool)
        absent[order[LABELS][pos]] = False
        raise _missing_ids(int(np.count_nonzero(absent)), n_labels,
                           _first_distinct(keys[LABELS][absent]), names, LABELS, PREDS, id_col)  # fmt: skip
    joined = np.empty(len(found), dtype=np.int64)
    joined[order[PREDS]] = order[LABELS][pos]
    return joined


def _dict_join(keys: dict[str, np.ndarray], names: dict[str, str], id_col: str) -> np.ndarray:
    """The same join with Python dicts: exact for any hashable id, and slow."""
    index: dict[str, dict[object, int]] = {}
    for role, k in keys.items():
        seen: dict[object, int] = {}
        dupes: list[object] = []
        for i, value in enumerate(k.tolist()):
            if value in seen:
                dupes.append(value)
            else:
                seen[value] = i
        if dupes:
            unique = list(dict.fromkeys(dupes))
            raise _duplicate_ids(len(unique), [str(v) for v in unique[:3]], names[role], id_col)
        index[role] = seen
    for role, other in ((PREDS, LABELS), (LABELS, PREDS)):
        missing = [v for v in keys[role].tolist() if v not in index[other]]
        if missing:
            raise _missing_ids(len(missing), len(keys[role]),
                               [str(v) for v in list(dict.fromkeys(missing))[:3]],
                               names, role, other, id_col)  # fmt: skip
    return np.fromiter(
        (index[LABELS][v] for v in keys[PREDS].tolist()), dtype=np.int64, count=len(keys[PREDS])
    )


def _first_distinct(values: np.ndarray, limit: int = 3) -> list[str]:
    """The first `limit` distinct values, in row order."""
    _, first = np.unique(values, return_index=True)
    return [str(values[i]) for i in np.sort(first)[:limit]]


def _duplicate_ids(count: int, first: list[str], source: str, id_col: str) -> InputError:
    return InputError(
        f"{count} id(s) appear more than once in column '{id_col}' (first: {', '.join(first)})",
        fix="Make the ids unique",
        source=source,
    )


def _missing_ids(count: int, total: int, first: list[str], names: dict[str, str], role: str,
                 other: str, id_col: str) -> InputError:  # fmt: skip
    return InputError(
        f"{count} of {total} ids in {names[role]} are not in {names[other]} "
        f"(first: {', '.join(first)})",
        fix=f"Give both files the same ids in column '{id_col}'",
    )


def _side_of(roles: ColumnRoles, role: str) -> str:
    if role == "preds":
        return roles.preds[0]
    if role == "labels":
        return roles.labels[0]
    if role.startswith(EXTRA):
        return roles.extras[role[len(EXTRA) :]]
    assert roles.weight is not None
    return roles.weight[0]


def _unalign(exc: InputError, frame: Frame, order: np.ndarray) -> InputError:
    """An error found in the aligned labels names the labels file's own row."""
    if exc.source != frame.source or exc.row is None:
        return exc
    row = int(order[exc.row - 1]) + 1
    return InputError(
        exc.problem, fix=exc.fix, source=exc.source, column=exc.column, row=row,
        line=editor_line(frame, row),
    )  # fmt: skip
