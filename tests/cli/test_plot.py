"""`losscli plot` (SPEC §11): the images are opened and their marks counted on data whose
shape is known. PNGs are decoded (matplotlib.image), SVGs parsed (xml.etree): each bar,
point set and line carries an id (`losscli.plots.figures`)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from losscli.plots.data import EDGES, LossHistogram
from tests.cli.conftest import BINARY, assert_usage_error, csv_text, invoke, write

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


def svg_ids(path) -> dict[str, ET.Element]:
    tree = ET.parse(path)
    return {e.get("id"): e for e in tree.iter() if e.get("id")}


def count(ids: dict, prefix: str) -> int:
    return sum(1 for i in ids if i.startswith(prefix + "-") and i[len(prefix) + 1 :].isdigit())


def marks(group: ET.Element) -> int:
    """Markers (<use>) or shapes (<path> outside <defs>) drawn in a group."""
    uses = list(group.iter(SVG + "use"))
    if uses:
        return len(uses)
    defs = {id(p) for d in group.iter(SVG + "defs") for p in d.iter(SVG + "path")}
    return sum(1 for p in group.iter(SVG + "path") if id(p) not in defs)


@pytest.fixture
def calibration_csv(tmp_path):
    # 4 bins: 2 rows in bin 1, 1 in bin 2, none in bin 3, 2 in bin 4
    rows = [[0.1, 0], [0.2, 1], [0.3, 1], [0.8, 1], [0.9, 0]]
    return str(tmp_path / write(tmp_path / "cal.csv", csv_text(["pred", "label"], rows)))


def test_calibration_svg_has_a_bar_and_a_point_per_full_bin_and_is_deterministic(
    tmp_path, calibration_csv
):
    out = tmp_path / "cal.svg"
    argv = ["plot", calibration_csv, "--kind", "calibration", "--calibration-bins", "4"]
    invoke([*argv, "-o", out], expect=0)
    ids = svg_ids(out)
    assert count(ids, "bar") == 3 and count(ids, "count") == 3
    assert marks(ids["points"]) == 3 and "diagonal" in ids
    first = out.read_bytes()
    invoke([*argv, "-o", out], expect=0)
    assert out.read_bytes() == first  # the same input, the same bytes


def test_png_decodes_and_pdf_is_a_pdf(tmp_path, calibration_csv):
    import matplotlib.image

    png, pdf = tmp_path / "cal.png", tmp_path / "cal.pdf"
    invoke(["plot", calibration_csv, "--kind", "calibration", "-o", png], expect=0)
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[:2] == (480, 640) and float(pixels[..., :3].std()) > 0.05
    invoke(["plot", calibration_csv, "--kind", "calibration", "-o", pdf], expect=0)
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_loss_histogram_bins_and_scales():
    # three losses a decade apart: a short tail, 40 equal-width bars from 0
    h = LossHistogram().add(np.array([0.5, 0.5, 1.0, 2.0]))
    edges, counts, log = h.bars()
    assert not log and len(counts) == 40 and counts.sum() == 4 and edges[0] == 0.0
    # a long tail (99th percentile > 100 × median): 10 log bars per decade
    values = np.concatenate([np.full(980, 1e-3), np.full(20, 10.0)])
    edges, counts, log = LossHistogram().add(values).bars()
    assert log and counts.sum() == 1000 and counts[0] == 980 and counts[-1] == 20
    assert edges[0] <= 1e-3 < edges[1] and edges[-2] <= 10.0 < edges[-1]
    assert len(counts) == 41  # 1e-3 … 1e1: four decades and the bar that holds 10
    # chunks add up to the whole
    a, b = LossHistogram().add(values[:300]), LossHistogram().add(values[300:])
    assert ((a.counts + b.counts) == LossHistogram().add(values).counts).all()
    assert len(EDGES) == 24 * 40 + 2


def test_losses_svg_draws_the_histogram_of_the_chosen_loss(tmp_path):
    # regression residuals 1 and 3: mae 1 (×3) and 3 (×1): one bar holds 3 rows, one 1
    rows = [[1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [4.0, 1.0]]
    path = write(tmp_path / "r.csv", csv_text(["pred", "label"], rows))
    out = tmp_path / "l.svg"
    invoke(["plot", tmp_path / path, "--kind", "losses", "--loss", "mae", "-o", out], expect=0)
    ids = svg_ids(out)
    assert count(ids, "bar") == 40
    heights = []
    for i in range(40):
        d = ids[f"bar-{i}"].find(SVG + "path").get("d")  # M x y L x y L x y L x y z
        ys = [float(v) for v in d.split() if v not in ("M", "L", "z")][1::2]
        heights.append(round(max(ys) - min(ys), 3))
    full = [h for h in heights if h > 0]
    assert len(full) == 2 and max(full) / min(full) == pytest.approx(3.0, rel=1e-3)
    assert_usage_error(*invoke(["plot", tmp_path / path, "--kind", "losses", "--loss", "rmse",
                                "-o", out]), "rmse has no value per row")  # fmt: skip


def test_residuals_draw_one_cell_per_occupied_grid_cell(tmp_path):
    # predictions at three places, residual 0 everywhere: three cells
    rows = [[p, p] for p in (1.0, 1.0, 5.0, 9.0, 9.0, 9.0)]
    path = write(tmp_path / "r.csv", csv_text(["pred", "label"], rows))
    out = tmp_path / "res.svg"
    invoke(["plot", tmp_path / path, "--kind", "residuals", "-o", out], expect=0)
    assert marks(svg_ids(out)["cells"]) == 3
    assert_usage_error(*invoke(["plot", BINARY, "--pred-col", "prob", "--kind", "residuals",
                                "--task", "binary", "-o", out]), "residuals are for regression")  # fmt: skip


def test_slices_draw_a_bar_per_slice_and_the_overall_line(tmp_path):
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, 60)
    y = (rng.uniform(size=60) < p).astype(int)
    region = np.array(["eu", "us", "apac"])[np.arange(60) % 3]
    path = write(
        tmp_path / "s.csv", csv_text(["pred", "label", "region"], zip(p, y, region, strict=True))
    )
    out = tmp_path / "s.svg"
    invoke(["plot", tmp_path / path, "--kind", "slices", "--by", "region", "--loss", "bce",
            "-o", out], expect=0)  # fmt: skip
    ids = svg_ids(out)
    assert count(ids, "bar") == 3 and "overall" in ids
    assert_usage_error(*invoke(["plot", tmp_path / path, "--kind", "slices", "-o", out]),
                       "--kind slices needs --by")  # fmt: skip


def test_compare_draws_each_difference_with_its_interval(tmp_path):
    p = np.linspace(0.05, 0.95, 40)
    y = (np.arange(40) % 2).astype(int)
    path = write(tmp_path / "m.csv", csv_text(["a", "b", "label"], zip(p, p[::-1], y, strict=True)))
    ran = invoke(["compare", tmp_path / path, "--model-col", "a=a", "--model-col", "b=b",
                  "--label-col", "label", "--loss", "mse,mae", "--bootstrap", "100", "-f", "json"],
                 expect=0)  # fmt: skip
    cmp = write(tmp_path / "cmp.json", ran.out)
    out = tmp_path / "c.svg"
    invoke(["plot", tmp_path / cmp, "--kind", "compare", "-o", out], expect=0)
    assert marks(svg_ids(out)["points"]) == len(json.loads(ran.out)["comparisons"]) == 2
    assert_usage_error(*invoke(["plot", BINARY, "--kind", "compare", "-o", out]),
                       "not the JSON of `losscli compare")  # fmt: skip


def test_outputs_are_checked_before_any_work(tmp_path, calibration_csv):
    base = ["plot", calibration_csv, "--kind", "calibration"]
    assert_usage_error(*invoke([*base, "-o", tmp_path / "x.gif"]), "the image format follows")
    cmp = write(tmp_path / "cmp.svg", '{"comparisons": []}')  # an input named like an image
    assert_usage_error(*invoke(["plot", tmp_path / cmp, "--kind", "compare", "-o",
                                tmp_path / cmp]), "would destroy the input")  # fmt: skip
    assert_usage_error(*invoke(base), "is not one", "-o FILE.png")  # stdout is not a terminal


def test_without_matplotlib_the_error_names_the_extra(tmp_path, calibration_csv):
    code = ("import sys; sys.modules['matplotlib'] = None; from losscli.cli import main; "
            "sys.argv[1:] = sys.argv[1:]; main()")  # fmt: skip
    ran = subprocess.run([sys.executable, "-c", code, "plot", calibration_csv, "--kind",
                          "calibration", "-o", str(tmp_path / "c.png")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert ran.returncode == 2 and "pip install 'losscli[plot]'" in ran.stderr
    assert "Traceback" not in ran.stderr and not (tmp_path / "c.png").exists()


def test_on_a_terminal_the_plot_is_text_as_wide_as_the_terminal(calibration_csv):
    argv = ["plot", calibration_csv, "--kind", "calibration", "--calibration-bins", "4"]
    lines = _pty_run(argv, 72).splitlines()
    assert lines[0].startswith("reliability (4 bins): ece")
    bins = [line for line in lines if line.startswith("[")]
    assert len(bins) == 4 and all(len(line) <= 72 for line in lines)
    assert "█" in bins[1] and "│" in bins[1]  # bin 2: accuracy 1, confidence .3


README_SECTION = "## Calibration: ece, mce and pictures"


def _pty_run(argv: list[str], columns: int) -> str:
    """stdout of `python -m losscli ARGV` on a terminal of `columns` columns."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40"}
    proc = subprocess.Popen([sys.executable, "-m", "losscli", *argv], stdout=follower,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_readme_calibration_section_shows_what_the_commands_print(monkeypatch):
    import re
    import shlex

    from tests.test_docs import README, _console_blocks

    monkeypatch.chdir(ROOT)
    blocks = _console_blocks(README_SECTION)
    assert blocks and any("--calibration" in c for c, _ in blocks)
    for command, expected in blocks:
        ran = invoke(shlex.split(command)[1:])
        assert ran.code == 0 and ran.out.rstrip("\n") == expected
    section = README[README.index(README_SECTION) :]
    shown = section.split("```text\n", 1)[1].split("\n```", 1)[0]
    command = re.search(r"`(losscli plot sample_data[^`]+)`", section.replace("\n", " ")).group(1)
    assert _pty_run(shlex.split(command)[1:], 80).rstrip("\n") == shown
    # the picture the README shows is in the repository, made by `make demo`
    import matplotlib.image

    assert "(docs/calibration.png)" in section
    assert matplotlib.image.imread(ROOT / "docs" / "calibration.png").shape == (480, 640, 4)
    assert "-o docs/calibration.png" in (ROOT / "Makefile").read_text()


def test_text_plots_of_every_kind_fit_the_width_and_show_the_data():
    from losscli.plots import text

    width = 60
    lines = text.bars(["eu", "us"], [0.2, 0.4], width, "bce by region", line=0.3).splitlines()
    assert lines[0] == "bce by region" and all(len(x) <= width for x in lines)
    eu, us = lines[1], lines[2]
    assert abs(us.count("█") - 2 * eu.count("█")) <= 1  # 0.4 is twice 0.2
    assert "│" in eu and "│" in us  # the overall value, marked on every bar
    rows = [{"model": "b", "baseline": "a", "loss": "mse", "difference": -0.5, "ci": [-1.0, -0.2]},
            {"model": "c", "baseline": "a", "loss": "mse", "difference": 0.3, "ci": [None, None]}]  # fmt: skip
    lines = text.intervals(rows, width).splitlines()
    assert len(lines) == 3 and all(len(x) <= width for x in lines)
    assert lines[1].index("─") < lines[1].index("●") < lines[1].index("┊")  # below 0
    assert lines[2].index("┊") < lines[2].index("●") and "─" not in lines[2]
    counts = np.zeros((60, 40), np.int64)
    counts[0, 0], counts[59, 39] = 1, 100
    grid = text.grid(counts, np.linspace(0, 1, 61), np.linspace(-1, 1, 41), width).splitlines()
    assert len(grid) == 41 and all(len(x) <= width for x in grid)
    assert grid[1].rstrip().endswith("@") and grid[-1].split()[-1] in text.SHADES
    hist = text.histogram(np.linspace(0, 4, 41), np.arange(40), False, "mae", width)
    assert len(hist.splitlines()) == 41 and hist.splitlines()[-1].endswith(" 39")


def test_a_bad_row_in_a_later_chunk_is_named_in_the_file(tmp_path, monkeypatch):
    from losscli.cli import options

    monkeypatch.setattr(options, "STREAM_ROWS", 10)
    rows = [[round(0.02 * i, 2), i % 2] for i in range(1, 41)]
    rows[27][0] = 1.7  # data row 28, line 29, in the third chunk
    path = write(tmp_path / "bad.csv", csv_text(["pred", "label"], rows))
    assert_usage_error(*invoke(["plot", tmp_path / path, "--kind", "losses", "--loss", "bce",
                                "-o", tmp_path / "x.svg"]),
                       "column 'pred', row 28 (line 29)", "found 1.7")  # fmt: skip
