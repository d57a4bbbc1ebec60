"""Rich tables for people at a terminal; plain text (no ANSI) when piped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from losscli.render import format_number


def shaped_by(name: str, task: str, options: dict[str, Any]) -> str:
    """What shaped one loss's value: δ, ε, logits, smoothing, γ/α, σ, hinge mode.

    Which options shape a loss is the registry's (`LossSpec.options`, `raw_scores`, the
    statistic's note); this only writes their values."""
    from losscli.engine.registry import LOSSES

    spec = LOSSES[name]
    shaping = spec.options
    parts: list[str] = []
    logits = options.get("from_logits")
    if "huber_delta" in shaping:
        parts.append(f"δ={options['huber_delta']:g}")
    if "from_logits" in shaping:
        parts.append("from logits" if logits else f"ε={options['eps']:.3g}")
        if options.get("label_smoothing"):
            parts.append(f"smoothing={options['label_smoothing']:g}")
    elif logits and task != "regression" and not spec.raw_scores:
        parts.append("on sigmoid(z)" if task == "binary" else "on softmax(z)")
    if "focal_gamma" in shaping:
        parts.append(f"γ={options['focal_gamma']:g}")
    if "focal_alpha" in shaping and options.get("focal_alpha") is not None:
        parts.append(f"α={options['focal_alpha']:g}")
    if "dice_smooth" in shaping:
        parts.append(f"σ={options['dice_smooth']:g}")
    if "tversky_alpha" in shaping:  # left out of the options at their defaults
        a, b = options.get("tversky_alpha", 0.5), options.get("tversky_beta", 0.5)
        parts.append(f"α={a:g}, β={b:g}")
    if "no_background" in shaping and options.get("no_background"):
        parts.append("no background")
    if "calibration_bins" in shaping:
        parts.append(f"{options['calibration_bins']} bins")
    if spec.statistic.note:
        parts.append(spec.statistic.note)
    if spec.raw_scores:
        parts.append("raw scores")
    if "hinge_mode" in shaping and task == "multiclass":
        parts.append(options.get("hinge_mode", "crammer-singer"))
    return ", ".join(parts)


def title_line(result: Any, inputs: dict[str, Any] | None) -> str:
    """One line: task, rows, weights and where the data came from."""
    weights = []
    if result.sample_weighted:
        weights.append("sample")
    if result.class_weights is not None:
        weights.append(
            f"class ({result.options.get('class_weight')!s})"
            if isinstance(result.options.get("class_weight"), str)
            else "class"
        )
    sources = []
    for role in ("preds", "labels"):
        src = (inputs or {}).get(role, {}).get("path")
        if src and src not in sources:
            sources.append(src)
    masks = (inputs or {}).get("masks")  # SPEC §12: every pixel is a row
    rows = f"{masks['images']:,} images · {result.n_samples:,} pixels" if masks else (
        f"{result.n_samples:,} rows"
    )  # fmt: skip
    text = f"{result.task} · {rows} · weights: {' × '.join(weights) or 'none'}"
    if result.options.get("reduction") in ("sum", "per-image"):
        text += f" · reduction: {result.options['reduction']}"
    if "convention" in result.options:  # SPEC §9: absent for losscli's own
        text += f" · convention: {result.options['convention']}"
    if sources:
        text += " · " + " + ".join(sources)
    return text


def evaluation_table(result: Any, inputs: dict[str, Any] | None, precision: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("loss")
    table.add_column("value", justify="right")
    table.add_column("shaped by", style="dim")
    for name, value in result.losses.items():
        table.add_row(
            name,
            format_number(value, precision),
            escape(shaped_by(name, result.task, result.options)),
        )
    return table


def simple_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    for i, h in enumerate(header):
        table.add_column(escape(h), justify="right" if i in right else "left")
    for row in rows:
        table.add_row(*(escape(str(c)) for c in row))
    return table
