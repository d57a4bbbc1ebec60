"""`make bench`, section 9 (issue 14): memory of the calibration statistics and of the loss
histogram as the file doubles.

Peak RSS of a fresh process for `losscli eval --loss ece,mce --calibration` and for
`losscli plot --kind losses` and `--kind calibration` (to SVG) on the binary Parquet files
of section 4 (BENCH_GB and 2·BENCH_GB gigabytes). Both keep fixed-size sums (three per
calibration bin; 962 counts for the histogram) while the rows stream in chunks, so the
peak should stay where it is as the file doubles. Run alone with
BENCH_SKIP=engine,startup,files,memory,compare,tasks,scale,slices.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from run import GB, PY, make_sized, run_timed, table


def bench_plots() -> None:
    exe = str(Path(PY).with_name("losscli"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "plot.svg")
        commands = {
            "eval --loss ece,mce --calibration": ["eval", "--loss", "ece,mce", "--calibration",
                                                  "-f", "json"],
            "plot --kind calibration": ["plot", "--kind", "calibration", "-o", out],
            "plot --kind losses (bce)": ["plot", "--kind", "losses", "--loss", "bce", "-o", out],
        }  # fmt: skip
        for name, argv in commands.items():
            peaks = []
            for gb in (GB, 2 * GB):
                path = make_sized(gb, "parquet")
                wall, rss = run_timed([exe, argv[0], str(path), *argv[1:]], repeat=1)
                peaks.append(rss)
                rows.append(
                    [
                        f"{name}, {path.stat().st_size / 1e9:.2f} GB",
                        f"{wall:.1f}",
                        f"{rss:.0f}",
                        "" if len(peaks) == 1 else f"{(peaks[1] / peaks[0] - 1) * 100:+.0f}%",
                    ]
                )
    table(
        f"9. plots: peak RSS (MiB) of calibration and the loss histogram as the file doubles "
        f"(BENCH_GB={GB:g})",
        ["what", "seconds", "peak MiB", "growth"],
        rows,
    )


if __name__ == "__main__":
    bench_plots()
