"""Which columns of which file are predictions, labels, weights and ids (SPEC §2).

Pure name logic, no data: `assign_roles` takes the column names of one or two files and
the column options, and returns the `ColumnRoles` or raises an InputError that lists the
columns. (Not to be confused with `losscli.api.Plan`, the engine's plan of a run.)

Rules, in order:
- A named column (`--pred-col` globs, `--label-col`, `--weight-col`) is looked up in both
  files; present in both is an error, except the `--id-col`, which must be in both.
- `--pred-col` and `--label-col` take shell-style globs (order kept); an NPZ array's name
  stands for all its columns (`--pred-col probs` is `probs_0`..`probs_{k-1}`).
- Unnamed roles are found: a file of NumPy arrays (no column names) is all predictions or
  all labels; one column left over in a file is used; otherwise the usual names are tried
  (exactly one must match); for predictions, then a family of columns such as `p_*`.
- Only when all of that finds nothing: the usual names again, ignoring case and
  surrounding spaces, with a few more names (`LOOSE_PRED_NAMES`, `LOOSE_LABEL_NAMES`),
  an NPZ array counting as one candidate; then the families ignoring case. Coming last,
  these never change a column that the rules above choose.
- Anything still ambiguous is an error suggesting the flag: no guessing.
Weights and ids are never guessed. Columns that both files hold under an id-like name
(`ID_NAMES`, or a name ending in `_id`) are compared row by row when no `--id-col` is given
(`ColumnRoles.id_check`, checked in `losscli.readers.lockstep`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

from losscli.errors import InputError
from losscli.readers._names import did_you_mean, listing

PRED_NAMES = (
    "pred", "prediction", "y_pred", "score", "logit", "prob",
    "preds", "predictions", "scores", "logits", "probs", "proba", "probability", "y_hat", "yhat", "p",
)  # fmt: skip
LABEL_NAMES = ("label", "y", "y_true", "target", "labels", "targets", "truth")
PRED_FAMILIES = ("p_*", "prob_*", "proba_*", "pred_*", "logit_*", "score_*")
# Tried last, ignoring case and surrounding spaces (module docstring): scikit-learn's
# y_test/y_score/y_prob/y_proba, and actual/predicted as spreadsheets name them.
LOOSE_PRED_NAMES = PRED_NAMES + ("predicted", "y_score", "y_prob", "y_proba")
LOOSE_LABEL_NAMES = LABEL_NAMES + ("actual", "y_test", "ground_truth", "class")
# Columns that identify a row: when both files have one under the same name, the ids must
# agree row by row (or --id-col joins by them). Compared ignoring case; also any `*_id`.
ID_NAMES = ("id", "ids", "row_id", "rowid", "uid", "uuid", "key", "index", "idx")

PREDS, LABELS = "preds", "labels"


@dataclass
class Side:
    """One input file as `assign_roles` sees it."""

    role: str  # PREDS or LABELS: which positional argument it was
    source: str
    names: list[str]
    positional: bool  # NumPy arrays: columns are positions, not names
    # NPZ arrays of two dimensions: array name -> its columns (`probs` -> probs_0, probs_1)
    arrays: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ColumnRoles:
    """Which columns of which file play each role: predictions, labels, weights, ids."""

    preds: tuple[str, list[str]]  # (side role, columns)
    labels: tuple[str, list[str]]
    weight: tuple[str, str] | None = None
    id_column: str | None = None
    notes: list[str] = field(default_factory=list)
    empty_is_nan: bool = False  # --nan-policy omit: an empty numeric cell reads as NaN
    # without --id-col: an id-like column both files hold, compared row by row
    id_check: str | None = None
    # columns read for slices and shown rows (--by, --show-col): name → side holding it
    # (PREDS first); those in both files are read from both and compared row by row
    extras: dict[str, str] = field(default_factory=dict)
    extras_in_both: list[str] = field(default_factory=list)

    def needed(self, side: str) -> list[str]:
        """Columns to read from a side, without repeats."""
        cols: list[str] = []
        if self.id_column is not None:
            cols.append(self.id_column)
        elif self.id_check is not None:
            cols.append(self.id_check)
        for role_side, names in (self.preds, self.labels):
            if role_side == side:
                cols.extend(names)
        if self.weight is not None and self.weight[0] == side:
            cols.append(self.weight[1])
        cols.extend(n for n, s in self.extras.items() if s == side or n in self.extras_in_both)
        return list(dict.fromkeys(cols))


def assign_roles(
    sides: Sequence[Side],
    pred_cols: Sequence[str] = (),
    label_cols: Sequence[str] = (),
    weight_col: str | None = None,
    id_col: str | None = None,
    extra_cols: Sequence[tuple[str, str]] = (),
) -> ColumnRoles:
    """The columns of each role, by the rules of the module docstring; `extra_cols` are
    (name, flag) of columns read besides the roles (`ColumnRoles.extras`)."""
    notes: list[str] = []
    if id_col is not None:
        for side in sides:
            if id_col not in side.names:
                raise _unknown(id_col, side, "--id-col")
    taken: dict[str, set[str]] = {s.role: {id_col} if id_col else set() for s in sides}

    weight = None
    if weight_col is not None:
        weight = (_locate(weight_col, sides, "--weight-col"), weight_col)
        taken[weight[0]].add(weight_col)

    preds = _named(pred_cols, sides, "--pred-col") if pred_cols else None
    labels = _named(label_cols, sides, "--label-col") if label_cols else None
    for found in (preds, labels):
        if found:
            taken[found[0]].update(found[1])
    if preds and labels and set(preds[1]) & set(labels[1]):
        both = sorted(set(preds[1]) & set(labels[1]))[0]
        raise InputError(f"column '{both}' is named as both a prediction and a label")

    if labels is None and len(sides) == 1:
        # One file: a usual label name settles the labels first, so that a single other
        # column can then be taken as the predictions.
        left = [n for n in sides[0].names if n not in taken[PREDS]]
        usual = [n for n in left if n in LABEL_NAMES]
        if not usual:
            loose = [c for c in _loose_usual(sides[0], left, LABELS).values() if len(c) == 1]
            usual = loose[0] if len(loose) == 1 else []
        if len(usual) == 1:
            labels = (PREDS, usual)
            taken[PREDS].update(usual)
    if preds is None:
        preds = _find(sides[0], taken, PREDS, notes)
        taken[preds[0]].update(preds[1])
    if labels is None:
        side = sides[1] if len(sides) > 1 else sides[0]
        labels = _find(side, taken, LABELS, notes)
    if weight is None:
        notes.extend(_unused_weights(sides, taken, preds, labels))
    roles = ColumnRoles(preds, labels, weight, id_col, notes)
    if id_col is None and len(sides) == 2:
        roles.id_check = _shared_id(sides, roles)
    for name, flag in extra_cols:
        holders = [s.role for s in sides if name in s.names]
        if not holders:
            _locate(name, sides, flag)  # raises, listing the columns
        roles.extras[name] = holders[0]  # PREDS first (SPEC §8)
        if len(holders) > 1 and name != id_col:
            roles.extras_in_both.append(name)
    return roles


WEIGHT_NAMES = ("weight", "weights", "sample_weight", "sample_weights", "w")


def _unused_weights(
    sides: Sequence[Side], taken: dict[str, set[str]], *roles: tuple[str, list[str]]
) -> list[str]:
    """A note for each column named like sample weights that no role uses: weights are
    never guessed (a wrong guess changes every number), but a user should know that they
    were not applied."""
    used = {(side, c) for side, cols in roles for c in cols}
    return [
        f"column '{name}' of {side.source} is not used as sample weights; "
        f"pass --weight-col {name} to use it"
        for side in sides
        for name in side.names
        if name.lower() in WEIGHT_NAMES
        and (side.role, name) not in used
        and name not in taken[side.role]
    ]


def _shared_id(sides: Sequence[Side], roles: ColumnRoles) -> str | None:
    """An id-like column that both files hold under one name and no role uses."""
    used = set(roles.preds[1]) | set(roles.labels[1])
    if roles.weight is not None:
        used.add(roles.weight[1])
    if any(s.positional for s in sides):
        return None
    for name in sides[0].names:
        low = name.strip().lower()
        if (low in ID_NAMES or low.endswith("_id")) and name in sides[1].names:
            if name not in used:
                return name
    return None


def _loose_usual(side: Side, left: list[str], role: str) -> dict[str, list[str]]:
    """Candidates by the usual names ignoring case and spaces (module docstring), by name:
    one column, or all the columns of an NPZ array with such a name."""
    names = LOOSE_PRED_NAMES if role == PREDS else LOOSE_LABEL_NAMES
    found: dict[str, list[str]] = {}
    in_array = {c for cols in side.arrays.values() for c in cols}
    for array, cols in side.arrays.items():
        if array.strip().lower() in names and all(c in left for c in cols):
            found[array] = list(cols)
    for n in left:
        if n not in in_array and n.strip().lower() in names:
            found[n] = [n]
    return found


def _unknown(name: str, side: Side, flag: str) -> InputError:
    return InputError(
        f"no column '{name}'; columns are {listing(side.names)}{did_you_mean(name, side.names)}",
        fix=f"Pass {flag} with one of these columns",
        source=side.source,
    )


def _locate(name: str, sides: Sequence[Side], flag: str) -> str:
    """The side holding a named column: in exactly one file."""
    holders = [s for s in sides if name in s.names]
    if len(holders) > 1:
        raise InputError(
            f"column '{name}' is in both {sides[0].source} and {sides[1].source}",
            fix="Rename it in one file, or pass a single file that holds every column",
        )
    if not holders:
        if len(sides) == 1:
            raise _unknown(name, sides[0], flag)
        everything = sides[0].names + [n for n in sides[1].names if n not in sides[0].names]
        raise InputError(
            f"no column '{name}' in {sides[0].source} or {sides[1].source}; columns are "
            f"{listing(everything)}{did_you_mean(name, everything)}",
            fix=f"Pass {flag} with one of these columns",
        )
    return holders[0].role


def _named(
    patterns: Sequence[str], sides: Sequence[Side], flag: str, globs: bool = True
) -> tuple[str, list[str]]:
    """Expand names and globs, keeping the order given and dropping repeats."""
    chosen: list[str] = []
    side_role: str | None = None
    for pattern in patterns:
        if globs and any(ch in pattern for ch in "*?["):
            hits = {s.role: [n for n in s.names if fnmatch.fnmatchcase(n, pattern)] for s in sides}
            matched = [role for role, names in hits.items() if names]
            if len(matched) > 1:
                raise InputError(
                    f"{flag} '{pattern}' matches columns in both files",
                    fix=f"Make {flag} specific to one file",
                )
            if not matched:
                everything = [n for s in sides for n in s.names]
                raise InputError(
                    f"{flag} '{pattern}' matches no column; columns are {listing(everything)}",
                    fix=f"Pass {flag} with a name or glob that matches",
                    source=sides[0].source if len(sides) == 1 else None,
                )
            role, names = matched[0], hits[matched[0]]
        elif not any(pattern in s.names for s in sides) and any(pattern in s.arrays for s in sides):
            side = next(s for s in sides if pattern in s.arrays)  # an NPZ array: its columns
            role, names = side.role, side.arrays[pattern]
        else:
            role, names = _locate(pattern, sides, flag), [pattern]
        if side_role is not None and role != side_role:
            raise InputError(
                f"the columns of {flag} come from both files", fix=f"Take {flag} from one file"
            )
        side_role = role
        chosen.extend(names)
    assert side_role is not None
    return side_role, list(dict.fromkeys(chosen))


def _find(
    side: Side, taken: dict[str, set[str]], role: str, notes: list[str]
) -> tuple[str, list[str]]:
    """Find the prediction or label columns that were not named (module docstring)."""
    left = [n for n in side.names if n not in taken[side.role]]
    flag = "--pred-col" if role == PREDS else "--label-col"
    what = "predictions" if role == PREDS else "labels"
    if side.positional and left:
        return side.role, left
    if len(left) == 1:
        if (
            len(side.names) > 1
            and left[0].strip().lower() not in LOOSE_PRED_NAMES + LOOSE_LABEL_NAMES
        ):
            notes.append(f"using column '{left[0]}' of {side.source} as {what}")
        return side.role, left
    usual = [n for n in left if n in (PRED_NAMES if role == PREDS else LABEL_NAMES)]
    if len(usual) == 1:
        return side.role, usual
    if role == PREDS and not usual:
        families = [
            hits for pattern in PRED_FAMILIES
            if (hits := [n for n in left if fnmatch.fnmatchcase(n, pattern)])
        ]  # fmt: skip
        if len(families) == 1:
            notes.append(f"using columns {', '.join(families[0])} of {side.source} as {what}")
            return side.role, families[0]
    if not usual:
        loose = _loose(side, left, role, notes)
        if loose is not None:
            return side.role, loose
        usual = list(_loose_usual(side, left, role))
    if not left:
        if role == LABELS:
            raise InputError(
                f"no label column: every column of {side.source} is already used",
                fix="Pass a LABELS file, or --label-col to name the label column",
            )
        raise InputError("no prediction column left", fix=f"Pass {flag}", source=side.source)
    detail = f" (several usual names: {', '.join(usual)})" if len(usual) > 1 else ""
    raise InputError(
        f"cannot tell which column holds the {what}{detail}; columns are {listing(left)}",
        fix=f"Pass {flag} (globs such as 'p_*' allowed)"
        if role == PREDS
        else f"Pass {flag}, or a LABELS file",
        source=side.source,
    )


def _loose(side: Side, left: list[str], role: str, notes: list[str]) -> list[str] | None:
    """The last try (module docstring): one candidate by the loose names, else for
    predictions one family ignoring case; None when that is not exactly one."""
    found = _loose_usual(side, left, role)
    if len(found) == 1:
        return next(iter(found.values()))
    if found or role != PREDS:
        return None
    families = [
        hits for pattern in PRED_FAMILIES
        if (hits := [n for n in left if fnmatch.fnmatchcase(n.strip().lower(), pattern)])
    ]  # fmt: skip
    if len(families) == 1:
        notes.append(f"using columns {', '.join(families[0])} of {side.source} as predictions")
        return families[0]
    return None
