"""`losscli compare` output: the JSON document (SPEC §5) → table, CSV/TSV or Markdown.

Every renderer takes the document `compare` builds, so the text formats can never show a
number the JSON does not hold. No maths here beyond picking the best value per loss.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.text import Text

from losscli.engine.keys import key_text
from losscli.render import format_number
from losscli.render.table import simple_table

BEST = " *"


def _best(doc: dict[str, Any], loss: str, slice_: Any = None) -> set[str]:
    """Names of the models with the best value of `loss` (ties all marked), over the whole
    input or over one slice (`slice_`, as `_slice_values` names it)."""
    higher = loss in doc.get("higher_is_better", [])
    values = {}
    for name, m in doc["models"].items():
        losses = m["losses"] if slice_ is None else _slice_values(m).get(slice_, {})
        if losses.get(loss) is not None and math.isfinite(losses[loss]):
            values[name] = losses[loss]
    if len(values) < 2:
        return set()
    target = max(values.values()) if higher else min(values.values())
    return {name for name, v in values.items() if v == target}


def describe_method(doc: dict[str, Any]) -> str:
    o = doc["options"]
    if doc["method"] == "bootstrap":
        how = f"paired bootstrap, {o['bootstrap']:,} resamples, seed {doc['seed']}"
    else:
        how = "normal approximation (delta method)"
    return f"{how} · {o['ci'] * 100:g}% CI"


def title(doc: dict[str, Any], sep: str = " · ") -> str:
    data = f"{doc['task']} · {doc['n_samples']:,} rows · {len(doc['models'])} models"
    if "convention" in doc.get("options", {}):  # SPEC §9: absent for losscli's own
        data += f" · convention: {doc['options']['convention']}"
    return f"{data} · baseline {doc['baseline']}{sep}{describe_method(doc)}"


def loss_rows(doc: dict[str, Any], precision: int) -> tuple[list[str], list[list[str]]]:
    """Losses as rows, models as columns; the best value per loss ends in ' *'."""
    names = list(doc["models"])
    header = ["loss", *names]
    rows = []
    for loss in doc["options"]["losses"]:
        best = _best(doc, loss)
        cells = [loss]
        for name in names:
            text = format_number(doc["models"][name]["losses"].get(loss), precision)
            cells.append(text + (BEST if name in best else " " * len(BEST)))
        rows.append(cells)
    return header, rows


def _sliced(doc: dict[str, Any]) -> bool:
    return any("slice" in c for c in doc["comparisons"])


def _name(key: dict[str, Any]) -> tuple[str, ...]:
    """A slice as `_slice_values` keys it: its columns, then its key's texts."""
    return (*key, "\0", *(str(v) for v in key.values()))


def _slice_values(model: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """A model's loss values of each slice it lists."""
    return {_name(g["key"]): g["losses"] for sl in model.get("slices", []) for g in sl["groups"]}


def slice_text(c: dict[str, Any]) -> str:
    """``region=eu``, ``region=eu (small)``; empty for the whole input."""
    if "slice" not in c:
        return ""
    text = key_text(list(c["slice"]), tuple(c["slice"].values()))
    return text + (" (small)" if c.get("small") else "")


def comparison_rows(doc: dict[str, Any], precision: int) -> tuple[list[str], list[list[str]]]:
    """One row per comparison; with slices, a slice column (empty for the whole input)."""
    holm = bool(doc["options"].get("holm"))
    sliced = _sliced(doc)
    header = ["model", "loss", *(["slice"] if sliced else []), "difference", "CI low", "CI high"]
    header.append("p")
    if holm:
        header.append("p (Holm)")
    rows = []
    for c in doc["comparisons"]:
        low, high = c["ci"]
        row = [
            c["model"],
            c["loss"],
            *([slice_text(c)] if sliced else []),
            format_number(c["difference"], precision),
            format_number(low, precision),
            format_number(high, precision),
            _p(c["p_value"]),
        ]
        if holm:
            row.append(_p(c.get("p_value_holm")))
        rows.append(row)
    return header, rows


def _p(value: float | None) -> str:
    if value is None or value != value:
        return "nan"
    return f"{value:.3g}" if value >= 1e-4 else f"{value:.1e}"


def footer(doc: dict[str, Any], sep: str = " ") -> str:
    text = (
        f"Best value per loss marked *.{sep}difference = loss(model) − loss({doc['baseline']}), "
        "paired over the same rows; p for no difference, two-sided."
    )
    slicings = doc["models"][doc["baseline"]].get("slices", [])
    hidden = sum(sl.get("left_out", 0) for sl in slicings)
    if hidden:
        text += f"{sep}{hidden:,} more slices compared, not shown (--top-slices)."
    return text


def table(doc: dict[str, Any], precision: int) -> Any:
    """Title, the losses of every model, the comparisons, and what the marks mean."""
    h1, r1 = loss_rows(doc, precision)
    h2, r2 = comparison_rows(doc, precision)
    first_number = 3 if _sliced(doc) else 2
    return Group(
        Text(title(doc, "\n")),
        simple_table(h1, r1, range(1, len(h1))),
        simple_table(h2, r2, range(first_number, len(h2))),
        Text(footer(doc, "\n")),
    )


def markdown(doc: dict[str, Any], precision: int) -> str:
    from losscli.render import markdown as md

    h1, r1 = loss_rows(doc, precision)
    h2, r2 = comparison_rows(doc, precision)
    text = 3 if _sliced(doc) else 2  # model, loss (and slice) are text
    return (
        f"**{title(doc)}**\n\n"
        + md.table(
            h1, [[r[0], *(c.strip() for c in r[1:])] for r in r1], "l" + "r" * len(r1[0][1:])
        )
        + "\n"
        + md.table(h2, r2, "l" * text + "r" * (len(h2) - text))
        + f"\n{footer(doc)}\n"
    )


def delimited(doc: dict[str, Any], delimiter: str) -> str:
    """One row per (model, loss): its value, and against the baseline d, CI and p; with
    slices, then one row per (slice, loss, model), with a slice column (empty for the whole
    input) and whether the slice is small."""
    from losscli.render import delimited as dl

    holm = bool(doc["options"].get("holm"))
    sliced = _sliced(doc)
    header = ["model", "loss", *(["slice"] if sliced else []), "value", "best", "baseline"]
    header += ["difference", "ci_low", "ci_high"]
    header += ["p_value", *(["p_value_holm"] if holm else []), "method"]
    header += ["small"] if sliced else []
    found = {(c["model"], c["loss"], _where(c)): c for c in doc["comparisons"]}
    slices = {_where(c): c for c in doc["comparisons"] if "slice" in c}
    rows = []
    for where, first in [(None, None), *slices.items()]:
        for loss in doc["options"]["losses"]:
            rows += _rows(doc, loss, found, where, first, holm)
    return dl.dumps(header, rows, delimiter)


def _where(c: dict[str, Any]) -> tuple[str, ...] | None:
    return _name(c["slice"]) if "slice" in c else None


def _rows(
    doc: dict[str, Any],
    loss: str,
    found: dict[Any, dict[str, Any]],
    where: tuple[str, ...] | None,
    first: dict[str, Any] | None,
    holm: bool,
) -> list[list[Any]]:
    """The rows of one loss over the whole input (`first` None) or over the slice of the
    comparison `first`."""
    best = _best(doc, loss, where)
    sliced = _sliced(doc)
    rows = []
    for name, model in doc["models"].items():
        c = found.get((name, loss, where))
        row: list[Any] = [name, loss]
        if first is None:
            row += [""] * sliced + [model["losses"].get(loss)]
        else:
            key = first["slice"]
            value = _slice_values(model).get(_name(key), {}).get(loss)
            row += [key_text(list(key), tuple(key.values())), value]
        row.append(name in best)
        if c is None:
            row += [doc["baseline"], None, None, None, None, *([None] if holm else []), None]
        else:
            row += [c["baseline"], c["difference"], c["ci"][0], c["ci"][1], c["p_value"]]
            row += [*([c.get("p_value_holm")] if holm else []), c["method"]]
        if sliced:
            row.append(None if first is None else bool(first["small"]))
        rows.append(row)
    return rows
