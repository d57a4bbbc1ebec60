"""The HTML report of `losscli report` (SPEC §11): one self-contained page.

Everything is in the file: the style sheet, and the plots as inline SVG (`figures`, with
their text as paths, so no font is fetched). No script, no link, no image from anywhere:
the page reads the same offline, in any browser, with scripts off.
"""

from __future__ import annotations

import html
from typing import Any

from losscli.render import format_number

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; color: #1f2328; background: #ffffff; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2rem 0.7rem; border-bottom: 1px solid #eaeef2; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f6f8fa; }
.muted { color: #59636e; font-size: 0.9rem; }
code { background: #f6f8fa; padding: 0.1rem 0.3rem; border-radius: 3px; word-break: break-all; }
figure { margin: 0.5rem 0; }
figure svg { max-width: 100%; height: auto; }
"""


def svg_inline(data: bytes) -> str:
    """An SVG file's bytes as an element to place in the page (its XML prolog dropped)."""
    text = data.decode("utf-8")
    return text[text.index("<svg") :]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(
    result: Any,
    inputs: dict[str, Any],
    figures: dict[str, str],
    precision: int = 6,
) -> str:
    """The report: title line, loss table, reliability diagram, loss histogram, slices,
    worst rows and signature; `figures` holds each plot's inline SVG by name."""
    from losscli.render import calibration, table

    title = table.title_line(result, inputs)
    parts = [f"<h1>losscli report</h1><p class='muted'>{html.escape(title)}</p>"]
    rows = [[name, format_number(v, precision), table.shaped_by(name, result.task, result.options)]
            for name, v in result.losses.items()]  # fmt: skip
    parts.append("<h2>Losses</h2>" + _table(["loss", "value", "shaped by"], rows))
    if "calibration" in figures:
        ece = result.losses.get("ece")
        parts.append(
            "<h2>Calibration</h2>"
            f"<p>ece {format_number(ece, precision)} · mce "
            f"{format_number(result.losses.get('mce'), precision)} "
            f"({len(result.calibration)} equal-width bins of confidence)</p>"
            f"<figure>{figures['calibration']}</figure>"
            + _table(list(calibration.HEADER), calibration.rows(result, precision))
        )
    if "residuals" in figures:
        parts.append(f"<h2>Residuals</h2><figure>{figures['residuals']}</figure>")
    if "losses" in figures:
        parts.append(f"<h2>Per-sample losses</h2><figure>{figures['losses']}</figure>")
    for i, s in enumerate(result.slices):
        names = list(result.losses)
        head = ["slice", "rows", "Σω", *names]
        cells = [[g.name(), f"{g.n_samples:,}", f"{g.sum_weights:.6g}",
                  *(format_number(g.losses.get(n), precision) for n in names)]
                 for g in s.groups]  # fmt: skip
        plot = figures.get(f"slices-{i}", "")
        parts.append(f"<h2>Slices by {html.escape(', '.join(s.by))}</h2>"
                     + (f"<figure>{plot}</figure>" if plot else "") + _table(head, cells))  # fmt: skip
    if result.worst:
        from losscli.render import slices

        head = slices.worst_header(result)
        parts.append(f"<h2>Worst {len(result.worst)} rows by {html.escape(result.worst_by)}</h2>"
                     + _table(list(head), slices.worst_cells(result, precision)))  # fmt: skip
    parts.append(f"<h2>Signature</h2><p><code>{html.escape(result.signature)}</code></p>")
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>losscli report</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
