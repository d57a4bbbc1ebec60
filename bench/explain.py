"""`make bench`, section 11 (issue 13): memory and time of `losscli explain` as the file
doubles, beside `eval` of the same losses.

`explain` streams like `eval`, with one accumulator for losscli, one per framework and one
per prefix of each framework's rules (SPEC §9), all fed from one pass over the chunks: the
peak RSS should stay where it is as the rows double, and the time is a small multiple of
eval's. Run alone with BENCH_SKIP=engine,startup,files,memory,compare,tasks,scale,slices,
plots,remote.
"""

from __future__ import annotations

from pathlib import Path

from run import GB, PY, make_sized, run_timed, table

LOSSES = "bce,mse,focal"


def bench_explain() -> None:
    exe = str(Path(PY).with_name("losscli"))
    rows = []
    for command in ("eval", "explain"):
        peaks = []
        for gb in (GB, 2 * GB):
            path = make_sized(gb, "parquet")
            argv = [exe, command, str(path), "--loss", LOSSES, "-f", "json", "-q"]
            wall, rss = run_timed(argv, repeat=1)
            peaks.append(rss)
            growth = "" if len(peaks) == 1 else f"{(peaks[1] / peaks[0] - 1) * 100:+.0f}%"
            size = f"{path.stat().st_size / 1e9:.2f} GB"
            rows.append([f"{command} --loss {LOSSES}, {size}", f"{wall:.1f}", f"{rss:.0f}", growth])
    table(
        f"11. explain: peak RSS (MiB) and seconds as the file doubles, beside eval "
        f"(BENCH_GB={GB:g})",
        ["what", "seconds", "peak MiB", "growth"],
        rows,
    )


if __name__ == "__main__":
    bench_explain()
