"""`losscli report` (SPEC §11): one self-contained HTML page, checked as HTML and in a real
browser: Debian's headless Chromium opens it, logs no console message, and its screenshot
is not blank. `.ci/run` installs Chromium, so CI always runs these."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import assert_usage_error, csv_text, invoke, write

ROOT = Path(__file__).resolve().parents[2]
SLICES = str(ROOT / "sample_data" / "binary_slices.csv")
SLICED = ["--pred-col", "prob", "--label-col", "label", "--by", "radius", "--bins",
          "radius=12,15,18"]  # fmt: skip


class Page(HTMLParser):
    """Tags, the URLs a page would fetch, and its headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href", "data") and v
                      and not v.startswith("#")]  # fmt: skip
        self._in_heading = tag in ("h1", "h2")

    def handle_data(self, data):
        if self._in_heading and data.strip():
            self.headings.append(data.strip())

    def handle_endtag(self, tag):
        self._in_heading = False


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def chromium(page: Path, tmp_path: Path) -> tuple[str, list[str], np.ndarray]:
    """(the rendered DOM, console messages, screenshot pixels) of a page in headless
    Chromium, with network access cut off."""
    import matplotlib.image

    browser = shutil.which("chromium")
    assert browser, "headless Chromium is needed (Debian: apt-get install chromium)"
    shot = tmp_path / f"{page.stem}.png"
    ran = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1400",
         f"--screenshot={shot}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    console = [line for line in ran.stderr.splitlines() if ":CONSOLE" in line]
    return ran.stdout, console, matplotlib.image.imread(shot)


@pytest.fixture(scope="module")
def sliced_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    ran = invoke(["report", SLICES, *SLICED, "-o", out], expect=0)
    assert f"wrote {out}" in ran.err and ran.out == ""
    return out


def test_report_holds_every_part_and_fetches_nothing(sliced_report):
    page = parse(sliced_report)
    assert page.headings == ["losscli report", "Losses", "Calibration", "Per-sample losses",
                             "Slices by radius", "Worst 10 rows by mse", "Signature"]  # fmt: skip
    assert page.tags.count("svg") == 3  # reliability diagram, loss histogram, slices
    assert page.urls == [] and "script" not in page.tags and "link" not in page.tags
    assert "img" not in page.tags and "iframe" not in page.tags
    text = sliced_report.read_text()
    assert "losscli:" in text and "task:binary" in text  # the signature
    assert text.count("<tr>") >= 16 + 15 + 5 + 10  # losses, bins, slices (and all), worst


def test_report_renders_in_headless_chromium(sliced_report, tmp_path):
    dom, console, pixels = chromium(sliced_report, tmp_path)
    assert console == []
    assert "<h1>losscli report</h1>" in dom and dom.count("<svg") == 3
    rgb = pixels[..., :3]
    assert rgb.shape[:2] == (1400, 1000)
    assert float(rgb.std()) > 0.05 and float(rgb.min()) < 0.2  # ink on the white page


def test_the_browser_check_sees_console_errors_and_blank_pages(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>console.error('broken')</script>"
                   "</body></html>")  # fmt: skip
    _, console, pixels = chromium(bad, tmp_path)
    assert len(console) == 1 and "broken" in console[0]
    assert float(pixels[..., :3].std()) == 0.0  # nothing drawn: a blank page is caught


def test_a_regression_report_has_no_calibration(tmp_path):
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    path = write(tmp_path / "r.csv", csv_text(["pred", "label"],
                                               zip(y + rng.normal(0, 0.3, 200), y, strict=True)))  # fmt: skip
    out = tmp_path / "r.html"
    invoke(["report", tmp_path / path, "--loss", "mae,rmse", "-o", out], expect=0)
    page = parse(out)
    assert "Calibration" not in page.headings and "Residuals" in page.headings
    assert page.tags.count("svg") == 2  # residuals, loss histogram
    assert "Worst 10 rows by mae" in page.headings


def test_report_refusals_leave_the_old_file_whole(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("old")
    assert_usage_error(*invoke(["report", SLICES, *SLICED, "-o", tmp_path / "r.txt"]),
                       "the report is HTML")  # fmt: skip
    assert_usage_error(*invoke(["report", "-", "-o", out], input="pred,label\n0.5,1\n"),
                       "standard input can be read once")  # fmt: skip
    # an error found while reading (row 3 is not a probability) writes nothing
    bad = write(tmp_path / "b.csv", csv_text(["pred", "label"], [[0.2, 0], [0.7, 1], [1.5, 1]]))
    assert_usage_error(*invoke(["report", tmp_path / bad, "--task", "binary", "-o", out]),
                       "found 1.5")  # fmt: skip
    assert out.read_text() == "old"
    html_input = write(tmp_path / "in.html", "pred,label\n0.5,1\n")
    assert_usage_error(*invoke(["report", tmp_path / html_input, "--input-format", "csv",
                                "-o", tmp_path / html_input]), "would destroy the input")  # fmt: skip


def test_report_to_standard_output_or_a_device_whatever_its_name(tmp_path):
    """`-o -` writes the page to stdout and `-o /dev/null` into the device (a dry run),
    as --save and --report do; a regular file must still be named .html."""
    argv = ["report", str(ROOT / "sample_data" / "regression.csv"), "--pred-col", "y_pred",
            "--label-col", "y_true", "-q"]  # fmt: skip
    out = invoke([*argv, "-o", "-"], expect=0).out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    invoke([*argv, "-o", "/dev/null"], expect=0)
    err = invoke([*argv, "-o", str(tmp_path / "r.txt")], expect=2).err
    assert "Name it FILE.html" in err and not (tmp_path / "r.txt").exists()
