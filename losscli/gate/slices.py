"""Gates per slice (SPEC §8 ``check --by``): every bound on every slice that is not small,
the gap across a slicing's slices, and a baseline with the same slicing slice by slice.

Slices are read in their JSON form (``{"by": [...], "groups": [{"key", "losses",
"small"}], "summary": {...}}``), which an `EvaluationResult` and a saved report share.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from losscli.gate.parse import Tolerance
from losscli.gate.verdicts import Gate, baseline_gates

Slices = Sequence[Mapping[str, Any]]
Judged = list[tuple[Gate, float]]


def _key(group: Mapping[str, Any]) -> tuple[tuple[str, str | None], ...]:
    return tuple((str(k), v) for k, v in group["key"].items())


def _value(losses: Mapping[str, Any], name: str) -> float:
    value = losses.get(name)
    return math.nan if value is None else float(value)


def bound_gates(slices: Slices, bounds: Mapping[tuple[str, str], float]) -> Judged:
    """Each bound on each slice that is not small, in slicing then group order."""
    out: Judged = []
    for slicing in slices:
        for group in slicing["groups"]:
            if group.get("small"):
                continue
            for (loss, kind), bound in bounds.items():
                gate = Gate(loss, kind, bound, slice=_key(group))
                out.append((gate, _value(group["losses"], loss)))
    return out


def gap_gates(slices: Slices, max_gap: Mapping[str, float]) -> Judged:
    """max − min over each slicing's slices that are not small, no more than the bound
    (NaN, which never passes, when no slice is left to compare)."""
    out: Judged = []
    for slicing in slices:
        for loss, bound in max_gap.items():
            extreme = slicing.get("summary", {}).get(loss)
            gap = math.nan if extreme is None else float(extreme["gap"])
            out.append((Gate(loss, "gap", bound, by=tuple(slicing["by"])), gap))
    return out


def baseline_slice_gates(
    slices: Slices,
    base_slices: Slices,
    gated: Sequence[str],
    tolerances: tuple[Tolerance | None, Mapping[str, Tolerance]],
    higher: Mapping[str, bool],
) -> tuple[Judged, list[str]]:
    """The baseline's gates again for each slice both sides hold (and that is not small);
    notes name the slicings and slices that only one side has."""
    out: Judged = []
    notes: list[str] = []
    base_by = {tuple(s["by"]): s for s in base_slices}
    for slicing in slices:
        by = tuple(slicing["by"])
        base = base_by.get(by)
        if base is None:
            notes.append(f"the baseline has no slices by {','.join(by)}: they are not compared")
            continue
        theirs = {_key(g): g for g in base["groups"]}
        mine = {_key(g): g for g in slicing["groups"]}
        for key, group in mine.items():
            if key not in theirs or group.get("small"):
                continue
            ref = {n: theirs[key]["losses"].get(n) for n in gated}
            usable = [n for n in gated if isinstance(ref[n], int | float) and math.isfinite(ref[n])]
            for gate in baseline_gates(ref, usable, *tolerances, higher):
                out.append(
                    (dataclasses.replace(gate, slice=key), _value(group["losses"], gate.loss))
                )
        _one_side(notes, by, [k for k in mine if k not in theirs], "the baseline does not have")
        _one_side(notes, by, [k for k in theirs if k not in mine], "only the baseline has")
    return out, notes


def _one_side(notes: list[str], by: tuple[str, ...], keys: list[Any], what: str) -> None:
    if not keys:
        return
    shown = ", ".join(",".join(f"{c}={'null' if v is None else v}" for c, v in k) for k in keys[:5])
    more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
    notes.append(f"slices by {','.join(by)} that {what}: {shown}{more} (not compared)")
