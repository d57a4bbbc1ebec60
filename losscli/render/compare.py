"""`losscli compare` output: the JSON document (SPEC §5) → table, CSV/TSV or Markdown.

Every renderer takes the document `compare` builds, so the text formats can never show a
number the JSON does not hold. No maths here beyond picking the best value per loss.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.text import Text

from losscli.render import format_number
from losscli.render.table import simple_table

BEST = " *"


def _best(doc: dict[str, Any], loss: str) -> set[str]:
    """Names of the models with the best value of `loss` (ties all marked)."""
    higher = loss in doc.get("higher_is_better", [])
    values = {
        name: m["losses"][loss]
        for name, m in doc["models"].items()
        if m["losses"].get(loss) is not None and math.isfinite(m["losses"][loss])
    }
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


def comparison_rows(doc: dict[str, Any], precision: int) -> tuple[list[str], list[list[str]]]:
    holm = bool(doc["options"].get("holm"))
    header = ["model", "loss", "difference", "CI low", "CI high", "p"]
    if holm:
        header.append("p (Holm)")
    rows = []
    for c in doc["comparisons"]:
        low, high = c["ci"]
        row = [
            c["model"],
            c["loss"],
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
    return (
        f"Best value per loss marked *.{sep}difference = loss(model) − loss({doc['baseline']}), "
        "paired over the same rows; p for no difference, two-sided."
    )


def table(doc: dict[str, Any], precision: int) -> Any:
    """Title, the losses of every model, the comparisons, and what the marks mean."""
    h1, r1 = loss_rows(doc, precision)
    h2, r2 = comparison_rows(doc, precision)
    return Group(
        Text(title(doc, "\n")),
        simple_table(h1, r1, range(1, len(h1))),
        simple_table(h2, r2, range(2, len(h2))),
        Text(footer(doc, "\n")),
    )


def markdown(doc: dict[str, Any], precision: int) -> str:
    from losscli.render import markdown as md

    h1, r1 = loss_rows(doc, precision)
    h2, r2 = comparison_rows(doc, precision)
    return (
        f"**{title(doc)}**\n\n"
        + md.table(
            h1, [[r[0], *(c.strip() for c in r[1:])] for r in r1], "l" + "r" * len(r1[0][1:])
        )
        + "\n"
        + md.table(h2, r2, "ll" + "r" * (len(h2) - 2))
        + f"\n{footer(doc)}\n"
    )


def delimited(doc: dict[str, Any], delimiter: str) -> str:
    """One row per (model, loss): its value, and against the baseline d, CI and p."""
    from losscli.render import delimited as dl

    holm = bool(doc["options"].get("holm"))
    header = ["model", "loss", "value", "best", "baseline", "difference", "ci_low", "ci_high"]
    header += ["p_value", *(["p_value_holm"] if holm else []), "method"]
    found = {(c["model"], c["loss"]): c for c in doc["comparisons"]}
    rows = []
    for loss in doc["options"]["losses"]:
        best = _best(doc, loss)
        for name, model in doc["models"].items():
            c = found.get((name, loss))
            row: list[Any] = [name, loss, model["losses"].get(loss), name in best]
            if c is None:
                row += [doc["baseline"], None, None, None, None, *([None] if holm else []), None]
            else:
                row += [c["baseline"], c["difference"], c["ci"][0], c["ci"][1], c["p_value"]]
                row += [*([c.get("p_value_holm")] if holm else []), c["method"]]
            rows.append(row)
    return dl.dumps(header, rows, delimiter)
