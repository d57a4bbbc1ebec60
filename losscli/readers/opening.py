"""Opening the input files: paths, NPZ keys, the tables and the column roles.

`open_inputs` opens PREDS (and LABELS) without reading their data, decides which columns
play which role from the column names (`losscli.readers._roles`), and refuses what can be
told from the schema alone: a stream given twice, list or date columns, and one column
given as both the predictions and the labels.
"""

from __future__ import annotations

from typing import Any

from losscli.errors import InputError
from losscli.readers import open_table
from losscli.readers._roles import LABELS, PREDS, ColumnRoles, Side, assign_roles
from losscli.readers._source import reads_once

__all__ = ["open_inputs", "split_key"]


def open_inputs(
    preds,
    labels,
    pred_cols,
    label_cols,
    weight_col,
    id_col,
    input_format,
    key,
    delimiter,
    nan_policy="raise",
    extra_cols=(),
    opened=None,
):  # type: ignore[no-untyped-def]
    """The opened tables by side (PREDS, LABELS) and the columns each role takes; `opened`,
    tables by side already open (another model's columns of the same table), are reused."""
    if preds == "-" and labels == "-":
        raise InputError(
            "'-' (standard input) is given for both predictions and labels; it can be read once",
            fix="Save one of them to a file",
        )
    if labels is not None and preds == labels and reads_once(preds):
        raise InputError(
            f"'{preds}' (a pipe or FIFO) is given for both predictions and labels; "
            "it can be read once",
            fix="Save it to a file and pass that file",
        )
    options = dict(input_format=input_format, delimiter=delimiter)
    paths = {PREDS: split_key(preds)}
    if labels is not None:
        paths[LABELS] = split_key(labels)
    keys = _keys(paths, key)
    tables = opened or {role: open_table(path, key=keys[role], **options)
                        for role, (path, _) in paths.items()}  # fmt: skip
    for role, (_, own) in paths.items():
        if own is not None:
            tables[role].own_key = own  # named in messages and the JSON as file.npz:key
    sides = [
        Side(role, t.source.name, list(t.names), _positional(t), dict(getattr(t, "arrays", {})))
        for role, t in tables.items()
    ]
    roles = assign_roles(sides, pred_cols, label_cols, weight_col, id_col, extra_cols)
    roles.empty_is_nan = nan_policy == "omit"
    _check_types(tables, roles)
    _refuse_same_array({role: path for role, (path, _) in paths.items()}, tables, roles)
    for t in tables.values():
        roles.notes.extend(getattr(t, "notes", []))
    return tables, roles


def split_key(path: str) -> tuple[str, str | None]:
    """`file.npz:labels` -> ("file.npz", "labels"): the array of an NPZ archive for one file.

    Only when the path does not exist as written and the part before the last ':' names
    an archive (ends in .npz, or is a file with NPZ bytes), so that a file whose name holds
    a ':' and Windows drive letters (`C:\\x.npz`) are read as they are.
    """
    import os

    if path == "-" or ":" not in path or os.path.exists(path):
        return path, None
    head, _, key = path.rpartition(":")
    if not head or not key or "/" in key or "\\" in key:
        return path, None
    if head.lower().endswith(".npz"):
        return head, key
    from losscli.readers import sniff_format

    if os.path.isfile(head) and sniff_format(head) == "npz":
        return head, key
    return path, None


def _keys(paths: dict[str, tuple[str, str | None]], key: str | None) -> dict[str, str | None]:
    """The array key each file is opened with: its own (`file.npz:key`), else `--key`.

    With two files `--key` goes to the archive(s) among those without their own key (NPZ
    predictions beside NPY or CSV labels), and is an error only when none is an archive.
    """
    keys = {role: own for role, (_, own) in paths.items()}
    if key is None:
        return keys
    free = [role for role, own in keys.items() if own is None]
    if not free:
        raise InputError(
            f"--key {key} applies to no file: each file names its own array",
            fix="Leave out --key",
        )
    if len(paths) == 2:
        from losscli.readers import sniff_format

        npz = [r for r in free if paths[r][0] != "-" and sniff_format(paths[r][0]) == "npz"]
        free = npz or free
    for role in free:
        keys[role] = key
    return keys


def _check_types(tables: dict[str, Any], roles: ColumnRoles) -> None:
    """Refuse list, struct, map, date and bytes columns from the schema, before reading."""
    from losscli.readers._convert import unsupported_type

    checked = [(roles.preds, "--pred-col"), (roles.labels, "--label-col")]
    if roles.weight is not None:
        checked.append(((roles.weight[0], [roles.weight[1]]), "--weight-col"))
    checked.extend(((side, [name]), "--by") for name, side in roles.extras.items())
    for (side, columns), flag in checked:
        types = getattr(tables[side], "arrow_types", {})
        for column in columns:
            if column not in types:
                continue
            found = unsupported_type(types[column], column, flag)
            if found is not None and flag == "--by" and found[0].startswith("holds dates"):
                continue  # a slice key: read as its ISO text
            if found is not None:
                raise InputError(
                    found[0], fix=found[1], source=tables[side].source.name, column=column
                )
    if roles.id_check is not None:
        for t in tables.values():
            kind = getattr(t, "arrow_types", {}).get(roles.id_check)
            if kind is not None and unsupported_type(kind, roles.id_check, "") is not None:
                roles.id_check = None  # lists or records as ids: not compared
                return


def _refuse_same_array(paths: dict[str, str], tables: dict[str, Any], roles: ColumnRoles) -> None:
    """PREDS and LABELS that are one file read the same way must not give one column (or
    NPZ array) to both roles: every loss would be 0 with exit 0."""
    import os

    if len(paths) < 2 or "-" in paths.values() or roles.preds[0] == roles.labels[0]:
        return
    try:
        if not os.path.samefile(paths[PREDS], paths[LABELS]):
            return
    except OSError:
        return
    key = getattr(tables[PREDS], "key", None)
    if key != getattr(tables[LABELS], "key", None):
        return
    shared = [c for c in roles.preds[1] if c in roles.labels[1]]
    if not shared:
        return
    name = tables[PREDS].source.name
    if key is not None:
        others = [m for m in getattr(tables[PREDS], "members", []) if m != key]
        raise InputError(
            f"the predictions and the labels are the same array '{key}' of {name}",
            fix=f"Name the labels' array, e.g. {name}:{others[0] if others else 'KEY'}",
        )
    if tables[PREDS].format == "npy":
        raise InputError(
            f"{name} is given for both the predictions and the labels (the same array)",
            fix="Pass the labels' own file",
        )
    raise InputError(
        f"the predictions and the labels are the same column '{shared[0]}' of {name}",
        fix="Pass the labels file, or --label-col with another column",
    )


def _positional(table: Any) -> bool:
    """NumPy arrays read without NPZ keys: their columns are positions, not names."""
    return table.format in ("npy", "npz") and all(n.isdigit() for n in table.names)
