"""The same plots drawn with text characters, `width` columns wide, for a terminal."""

from __future__ import annotations

from typing import Any

import numpy as np

BLOCKS = " ▏▎▍▌▋▊▉█"
SHADES = " .:-=+*#%@"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `fraction` (0..1) of `width` cells, in eighths of a cell."""
    eighths = int(round(max(0.0, min(1.0, fraction)) * width * 8))
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


def _marked(text: str, at: float, width: int, mark: str = "│") -> str:
    i = min(width - 1, max(0, int(at * width)))
    return text[:i] + mark + text[i + 1 :]


def calibration(table: list[dict[str, Any]], losses: dict[str, float], width: int) -> str:
    """One line per bin: rows, a bar of accuracy, │ at the mean confidence."""
    span = max(10, width - 34)
    head = " · ".join(f"{k} {losses[k]:.4g}" for k in ("ece", "mce") if k in losses)
    lines = [f"reliability ({len(table)} bins){': ' + head if head else ''}",
             f"{'confidence':<14}{'rows':>7}  accuracy (bar), mean confidence (│)"]  # fmt: skip
    for e in table:
        label = f"[{e['low']:.2f},{e['high']:.2f}{']' if e['bin'] == len(table) else ')'}"
        if e["sum_weights"] > 0:
            drawn = _marked(bar(e["accuracy"], span), e["confidence"], span)
            tail = f" {e['accuracy']:.3f}"
        else:
            drawn, tail = " " * span, ""
        lines.append(f"{label:<14}{e['n_samples']:>7,}  {drawn}{tail}".rstrip())
    return "\n".join(lines) + "\n"


def bars(labels: list[str], values: list[float], width: int, title: str,
         line: float | None = None, fmt: str = "{:.4g}") -> str:  # fmt: skip
    """Horizontal bars from 0 to the largest value; `line` marked with │ on every bar."""
    pad = max((len(s) for s in labels), default=0) + 1
    span = max(10, width - pad - 12)
    top = max([abs(v) for v in values] + ([abs(line)] if line is not None else []) + [1e-300])
    out = [title]
    for name, v in zip(labels, values, strict=True):
        drawn = bar(v / top, span)
        if line is not None:
            drawn = _marked(drawn, line / top, span)
        out.append(f"{name:<{pad}}{drawn} {fmt.format(v)}".rstrip())
    return "\n".join(out) + "\n"


def grid(counts: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray, width: int) -> str:
    """A density map: columns are predictions, rows residuals (highest first)."""
    cols = max(10, min(counts.shape[0], width - 12))
    step = int(np.ceil(counts.shape[0] / cols))
    pad = (-counts.shape[0]) % step
    c = np.pad(counts, ((0, pad), (0, 0))).reshape(-1, step, counts.shape[1]).sum(axis=1)
    level = np.log1p(c) / max(np.log1p(c.max()), 1e-300)
    lines = [f"residuals: {int(counts.sum()):,} values; x: prediction "
             f"{x_edges[0]:.4g} … {x_edges[-1]:.4g}"]  # fmt: skip
    for j in range(c.shape[1] - 1, -1, -1):
        row = "".join(SHADES[int(round(v * (len(SHADES) - 1)))] if n else " "
                      for v, n in zip(level[:, j], c[:, j], strict=True))  # fmt: skip
        lines.append(f"{y_edges[j + 1]:>10.3g} {row}".rstrip())
    return "\n".join(lines) + "\n"


def intervals(rows: list[dict[str, Any]], width: int) -> str:
    """Each difference ● with its interval ─, and ┊ at 0, on one scale."""
    names = [f"{r['model']} − {r['baseline']} · {r['loss']}" for r in rows]
    pad = max(len(s) for s in names) + 1
    span = max(10, width - pad - 14)
    points = [v for r in rows for v in (r["difference"], *r["ci"]) if v is not None] + [0.0]
    lo, hi = min(points), max(points)
    scale = (hi - lo) or 1.0

    def at(v: float) -> int:
        return min(span - 1, max(0, int((v - lo) / scale * (span - 1))))

    out = ["difference to the baseline (●) with its interval (─); ┊ is 0"]
    for name, r in zip(names, rows, strict=True):
        cells = [" "] * span
        a, b = r["ci"]
        if a is not None and b is not None:
            for i in range(at(a), at(b) + 1):
                cells[i] = "─"
        cells[at(0.0)] = "┊"
        cells[at(r["difference"])] = "●"
        out.append(f"{name:<{pad}}{''.join(cells)} {r['difference']:+.4g}".rstrip())
    return "\n".join(out) + "\n"


def histogram(edges: np.ndarray, counts: np.ndarray, log: bool, loss: str, width: int) -> str:
    """One line per bar of the loss histogram, at most 40 lines (neighbours merged)."""
    group = int(np.ceil(len(counts) / 40))
    if group > 1:
        pad = (-len(counts)) % group
        counts = np.pad(counts, (0, pad)).reshape(-1, group).sum(axis=1)
        edges = np.concatenate([edges[:-1:group], edges[-1:]])[: len(counts) + 1]
    labels = [f"[{a:.3g}, {b:.3g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    title = f"{loss} per row ({'log-scaled bins' if log else 'equal-width bins'}), rows per bin"
    return bars(labels, [float(c) for c in counts], width, title, fmt="{:,.0f}")
