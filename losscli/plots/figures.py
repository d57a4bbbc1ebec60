"""The plots drawn with matplotlib, to PNG, SVG or PDF bytes.

Every figure is made with the same settings (`STYLE`: DejaVu Sans, which matplotlib ships;
a fixed SVG hash salt; no date in the file), so the same input gives the same bytes. Each
bar, point set and line carries an id (``gid``) in the SVG, which is how the tests count
them: ``bar`` (one per bar), ``count`` (the calibration histogram), ``points``,
``diagonal``, ``overall``, ``cells``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from losscli.plots import matplotlib

STYLE = {
    "svg.hashsalt": "losscli",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100.0,
    "savefig.dpi": 100.0,
    "path.simplify": True,
}
METADATA = {
    "svg": {"Date": None, "Creator": "losscli"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "losscli", "Producer": "losscli"},
    "png": {"Software": "losscli"},
}
BLUE, ORANGE, GREY = "#3b6ea8", "#d9822b", "#777777"


def render(draw: Any, fmt: str, size: tuple[float, float] = (6.4, 4.8)) -> bytes:
    """The bytes of the figure that `draw(figure)` fills, in `fmt` (png, svg, pdf)."""
    mpl = matplotlib()
    from matplotlib.figure import Figure

    with mpl.rc_context(STYLE):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        out = io.BytesIO()
        fig.savefig(out, format=fmt, metadata=METADATA[fmt])
    return out.getvalue()


def _bars(ax: Any, left: Any, height: Any, width: Any, gid: str, **kw: Any) -> None:
    """Bars from `left` (edges), each with the id ``gid-i`` in an SVG."""
    bars = ax.bar(left, height, width=width, align="edge", **kw)
    for i, patch in enumerate(bars.patches):
        patch.set_gid(f"{gid}-{i}")


def calibration(table: list[dict[str, Any]], losses: dict[str, float], n: int) -> Any:
    """The reliability diagram: accuracy per bin with the diagonal, (confidence, accuracy)
    points, and the rows per bin under it."""
    full = [e for e in table if e["sum_weights"] > 0]
    bins = len(table)

    def draw(fig: Any) -> None:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        top.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, gid="diagonal",
                 label="perfect calibration")  # fmt: skip
        _bars(top, [e["low"] for e in full], [e["accuracy"] for e in full],
              [e["high"] - e["low"] for e in full], "bar", color=BLUE, alpha=0.6,
              edgecolor="white", label="accuracy")  # fmt: skip
        top.plot([e["confidence"] for e in full], [e["accuracy"] for e in full], "o",
                 color=ORANGE, markersize=4, gid="points", label="(confidence, accuracy)")  # fmt: skip
        top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy (observed rate)")
        top.legend(loc="upper left")
        parts = [f"{k} {losses[k]:.4g}" for k in ("ece", "mce") if k in losses]
        top.set_title(" · ".join([*parts, f"{bins} bins", f"{n:,} rows"]))
        nonzero = [e for e in table if e["n_samples"] > 0]
        _bars(bottom, [e["low"] for e in nonzero], [e["n_samples"] for e in nonzero],
              [e["high"] - e["low"] for e in nonzero], "count", color=GREY, edgecolor="white")  # fmt: skip
        bottom.set(xlabel="confidence", ylabel="rows")

    return draw


def losses(edges: np.ndarray, counts: np.ndarray, log: bool, loss: str, below: int) -> Any:
    """The histogram of per-sample losses (log-scaled x when the tail is long)."""

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        _bars(ax, edges[:-1], counts, np.diff(edges), "bar", color=BLUE, edgecolor="white",
              linewidth=0.5)  # fmt: skip
        if log:
            ax.set_xscale("log")
        note = f" ({below:,} under 1e-12 not shown)" if log and below else ""
        ax.set(xlabel=f"{loss} per row" + (" (log scale)" if log else ""), ylabel="rows",
               title=f"{loss}: {int(counts.sum()) + (below if log else 0):,} rows{note}")  # fmt: skip

    return draw


def residuals(x_edges: np.ndarray, y_edges: np.ndarray, counts: np.ndarray) -> Any:
    """Rows per (prediction, residual) cell, darker for more; empty cells are not drawn."""

    def draw(fig: Any) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.colors import LogNorm

        ax = fig.subplots()
        i, j = np.nonzero(counts)
        cells = [[(x_edges[a], y_edges[b]), (x_edges[a + 1], y_edges[b]),
                  (x_edges[a + 1], y_edges[b + 1]), (x_edges[a], y_edges[b + 1])]
                 for a, b in zip(i.tolist(), j.tolist(), strict=True)]  # fmt: skip
        values = counts[i, j]
        poly = PolyCollection(cells, array=values, cmap="viridis", gid="cells",
                              norm=LogNorm(vmin=1, vmax=max(int(values.max()), 2)))  # fmt: skip
        ax.add_collection(poly)
        ax.axhline(0.0, color=GREY, linewidth=1)
        ax.set(xlim=(x_edges[0], x_edges[-1]), ylim=(y_edges[0], y_edges[-1]),
               xlabel="prediction", ylabel="residual (prediction − label)",
               title=f"residuals: {int(counts.sum()):,} values")  # fmt: skip
        fig.colorbar(poly, ax=ax, label="rows")

    return draw


def slices(names: list[str], values: list[float | None], overall: float, loss: str,
           title: str) -> Any:  # fmt: skip
    """One bar per slice, the overall value as a line."""

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        shown = [0.0 if v is None else v for v in values]
        _bars(ax, np.arange(len(names)) - 0.4, shown, [0.8] * len(names), "bar", color=BLUE)
        ax.axhline(overall, color=ORANGE, linewidth=1.5, gid="overall", label=f"all {overall:.4g}")
        ax.set_xticks(np.arange(len(names)), names, rotation=30 if len(names) > 6 else 0,
                      ha="right" if len(names) > 6 else "center")  # fmt: skip
        ax.set(ylabel=loss, title=title)
        ax.legend()

    return draw


def compare(rows: list[dict[str, Any]]) -> Any:
    """Each model's difference to the baseline with its interval, per loss."""

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        d = np.array([r["difference"] for r in rows], dtype=float)
        lo = np.array([r["ci"][0] if r["ci"][0] is not None else np.nan for r in rows], dtype=float)
        hi = np.array([r["ci"][1] if r["ci"][1] is not None else np.nan for r in rows], dtype=float)
        ax.errorbar(d, y, xerr=[d - lo, hi - d], fmt="o", color=BLUE, capsize=3, gid="points")
        ax.axvline(0.0, color=GREY, linewidth=1, gid="zero")
        ax.set_yticks(y, [f"{r['model']} − {r['baseline']} · {r['loss']}" for r in rows])
        ax.set(xlabel="difference (model − baseline) with its interval",
               title=f"{len(rows)} comparison{'s' * (len(rows) != 1)}")  # fmt: skip

    return draw
