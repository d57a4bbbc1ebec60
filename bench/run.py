"""`make bench`: losscli against what users would otherwise run, as ratios from one run.

Sections (each prints a table; figures are wall time, best of REPEAT, and peak RSS of a
fresh process):

1. engine   the binary suite (mse, mae, huber, log_cosh, bce, hinge, squared_hinge, focal)
            on 10⁷ in-memory rows, against the scikit-learn functions for the four losses it
            has, and against one `np.log` pass over the same array (the floor of any BCE).
2. startup  `losscli --version` beside `python -c "import click"`.
3. files    `losscli eval` end to end on a 10⁷-row Parquet file and CSV file, against
            (a) pandas read_csv/read_parquet + scikit-learn, (b) pyarrow reading +
            scikit-learn, (c) pyarrow reading + NumPy one-liners, and the floors (pyarrow
            reading alone, + one np.log pass).
4. memory   peak RSS of `losscli eval` on CSV and Parquet files of BENCH_GB and 2·BENCH_GB
            gigabytes (default 0.5; BENCH_GB=4 for the issue's 4 GB figure).
5. compare  three models × 10⁶ rows with intervals, against `eval` on one of them.
6. tasks    multiclass (k = 10, k = 1000) and regression Parquet files, against pandas +
            scikit-learn (log_loss, one-hot Brier; mse, mae, SciPy huber).
7. scale    binary Parquet and CSV of 10⁶, 10⁷ and 10⁸ rows (BENCH_SCALE), end to end,
            against pandas + scikit-learn (where its ~120 bytes a row fit in 60% of the
            machine's memory) and the floor (pyarrow read + one np.log pass).
8. slices   `eval --by` on a 10⁷-row Parquet file: a column of 1,000 values and one of
            100,000 against the unsliced eval (targets 1.5× and 2×), and peak memory as the
            file doubles.

Environment: BENCH_ROWS (default 10⁷), BENCH_GB, BENCH_SCALE (comma list of row counts),
BENCH_SKIP (comma list of sections).
Data is generated under bench/data/ (ignored by git) and reused across runs.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
PY = sys.executable
ROWS = int(float(os.environ.get("BENCH_ROWS", "1e7")))
GB = float(os.environ.get("BENCH_GB", "0.5"))
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
REPEAT = 5
SUITE = ["mse", "mae", "huber", "log_cosh", "bce", "hinge", "squared_hinge", "focal"]


def best(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_timed(code: str | list[str], repeat: int = REPEAT) -> tuple[float, float]:
    """(best wall seconds, peak RSS MiB) of a fresh process; code is Python or argv."""
    argv = code if isinstance(code, list) else [PY, "-c", code]
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(dt, rss, r.returncode)\n"
    )
    walls, peaks = [], []
    for _ in range(repeat):
        out = subprocess.run([PY, "-c", wrapper, *argv], capture_output=True, text=True, check=True)
        dt, rss, rc = out.stdout.split()
        if rc != "0":
            raise SystemExit(f"benchmark command failed ({rc}): {argv}")
        walls.append(float(dt))
        peaks.append(float(rss))
    return min(walls), max(peaks)


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def binary_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 1.0, n)
    y = (rng.uniform(0.0, 1.0, n) < p).astype(np.int64)
    return p, y


# --- 1. engine ------------------------------------------------------------------------------


def bench_engine() -> None:
    from sklearn.metrics import hinge_loss, log_loss, mean_absolute_error, mean_squared_error

    import losscli

    p, y = binary_data(ROWS)
    t_log = best(lambda: np.log(p))
    t_suite = best(lambda: losscli.evaluate(p, y, SUITE))
    t_one = best(lambda: losscli.evaluate(p, y, SUITE, threads=1))

    def sklearn_four() -> None:
        mean_squared_error(y, p)
        mean_absolute_error(y, p)
        log_loss(y, p)
        hinge_loss(y, p)

    t_sk = best(sklearn_four, repeat=1)
    four = ["mse", "mae", "bce", "hinge"]
    t_four = best(lambda: losscli.evaluate(p, y, four))
    rows = [
        ["np.log pass (floor of any BCE)", f"{t_log:.3f}", "1.0×"],
        [
            f"losscli, {len(SUITE)} losses, 2 threads",
            f"{t_suite:.3f}",
            f"{t_suite / t_log:.1f}× the np.log pass",
        ],
        [
            f"losscli, {len(SUITE)} losses, 1 thread",
            f"{t_one:.3f}",
            f"{t_one / t_log:.1f}× the np.log pass",
        ],
        [
            "scikit-learn: mse, mae, log_loss, hinge_loss",
            f"{t_sk:.3f}",
            f"{t_sk / t_suite:.0f}× slower than losscli's 8",
        ],
        [
            "losscli: the same 4 losses",
            f"{t_four:.3f}",
            f"{t_sk / t_four:.0f}× faster than scikit-learn",
        ],
    ]
    table(
        f"1. engine: binary suite on {ROWS:,} rows in memory (seconds, best of {REPEAT})",
        ["what", "seconds", "ratio"],
        rows,
    )


# --- 2. startup -----------------------------------------------------------------------------


def bench_startup() -> None:
    exe = str(Path(PY).with_name("losscli"))
    t_click, _ = run_timed("import click", repeat=10)
    t_version, _ = run_timed([exe, "--version"], repeat=10)
    t_help, _ = run_timed([exe, "--help"], repeat=10)
    t_losses, _ = run_timed([exe, "losses"], repeat=5)
    rows = [
        ['python -c "import click"', f"{t_click * 1000:.0f}", "—"],
        ["losscli --version", f"{t_version * 1000:.0f}", f"+{(t_version - t_click) * 1000:.0f} ms"],
        ["losscli --help", f"{t_help * 1000:.0f}", f"+{(t_help - t_click) * 1000:.0f} ms"],
        ["losscli losses", f"{t_losses * 1000:.0f}", f"+{(t_losses - t_click) * 1000:.0f} ms"],
    ]
    table(
        "2. start-up (milliseconds, best of 10 fresh processes)",
        ["command", "ms", "above import click"],
        rows,
    )


# --- 3. files -------------------------------------------------------------------------------


def make_files(n: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    DATA.mkdir(exist_ok=True)
    pq_path, csv_path = DATA / f"binary_{n}.parquet", DATA / f"binary_{n}.csv"
    if not pq_path.exists() or not csv_path.exists():
        p, y = binary_data(n, seed=1)
        tbl = pa.table({"prob": p, "label": y})
        pq.write_table(tbl, pq_path)
        pcsv.write_csv(tbl, csv_path)
    return pq_path, csv_path


FLOOR_IMPORTS = "import pyarrow.parquet as pq, pyarrow.csv as pcsv, numpy as np\n"
SK = "from sklearn.metrics import mean_squared_error as a, mean_absolute_error as b, log_loss as c, hinge_loss as d\n"
SK_CALLS = "a(y, p); b(y, p); c(y, p); d(y, p)\n"
NUMPY_FOUR = (
    "import numpy as np\n"
    "r = p - y; (r * r).mean(); np.abs(r).mean()\n"
    "q = np.clip(p, 1e-15, 1 - 1e-15); (-(y * np.log(q) + (1 - y) * np.log1p(-q))).mean()\n"
    "np.maximum(0, 1 - (2 * y - 1) * p).mean()\n"
)


def bench_files() -> None:
    pq_path, csv_path = make_files(ROWS)
    exe = str(Path(PY).with_name("losscli"))
    four = "mse,mae,bce,hinge"
    rows = []
    for label, path, pd_read, pa_read in (
        (
            "Parquet",
            pq_path,
            f"pd.read_parquet({str(pq_path)!r})",
            f"pq.read_table({str(pq_path)!r})",
        ),
        ("CSV", csv_path, f"pd.read_csv({str(csv_path)!r})", f"pcsv.read_csv({str(csv_path)!r})"),
    ):
        imports = "import pandas as pd, pyarrow.parquet as pq, pyarrow.csv as pcsv, numpy as np\n"
        # the floors import what they use: pyarrow and NumPy, not pandas (~0.25 s)
        floor_read = FLOOR_IMPORTS + f"t = {pa_read}\n"
        floor_log = floor_read + "np.log(t['prob'].to_numpy())\n"
        pandas_sk = (
            imports
            + SK
            + f"d_ = {pd_read}\ny, p = d_['label'].to_numpy(), d_['prob'].to_numpy()\n"
            + SK_CALLS
        )
        arrow_sk = (
            FLOOR_IMPORTS
            + SK
            + f"t = {pa_read}\ny, p = t['label'].to_numpy(), t['prob'].to_numpy()\n"
            + SK_CALLS
        )
        arrow_np = (
            FLOOR_IMPORTS
            + f"t = {pa_read}\ny, p = t['label'].to_numpy(), t['prob'].to_numpy()\n"
            + NUMPY_FOUR
        )
        ours4, m4 = run_timed([exe, "eval", str(path), "--loss", four, "-f", "json"])
        ours8, m8 = run_timed([exe, "eval", str(path), "--loss", ",".join(SUITE), "-f", "json"])
        results = [
            ("losscli eval, mse mae bce hinge", ours4, m4),
            ("losscli eval, all 8 binary losses", ours8, m8),
            ("(a) pandas + scikit-learn, 4 losses", *run_timed(pandas_sk, repeat=1)),
            ("(b) pyarrow + scikit-learn, 4 losses", *run_timed(arrow_sk, repeat=1)),
            ("(c) pyarrow + NumPy one-liners, 4 losses", *run_timed(arrow_np)),
            ("floor: pyarrow read alone", *run_timed(floor_read)),
            ("floor: pyarrow read + one np.log pass", *run_timed(floor_log)),
        ]
        for name, wall, rss in results:
            rows.append([f"{label}: {name}", f"{wall:.2f}", f"{rss:.0f}", f"{wall / ours4:.2f}×"])
    table(
        f"3. files: {ROWS:,} binary rows, end to end in a fresh process (seconds, best of {REPEAT}; "
        "peak RSS MiB; time ÷ losscli's 4-loss time)",
        ["what", "seconds", "peak MiB", "vs losscli"],
        rows,
    )


# --- 4. memory ------------------------------------------------------------------------------


def make_sized(gb: float, kind: str) -> Path:
    """A binary prediction file of about `gb` GB, written in chunks (never whole in memory)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    DATA.mkdir(exist_ok=True)
    path = DATA / f"binary_{gb:g}GB.{kind}"
    if path.exists():
        return path
    bytes_per_row = 24 if kind == "csv" else 16  # "0.12345678901234567,1\n"; 8 + 8 for Parquet
    rows = int(gb * 1e9 / bytes_per_row)
    step = 2_000_000
    rng = np.random.default_rng(2)
    writer = None
    tmp = path.with_suffix(".tmp")
    try:
        for start in range(0, rows, step):
            n = min(step, rows - start)
            p = rng.uniform(0.0, 1.0, n)
            y = (rng.uniform(0.0, 1.0, n) < p).astype(np.int64)
            tbl = pa.table({"prob": p, "label": y})
            if writer is None:
                writer = (
                    pcsv.CSVWriter(tmp, tbl.schema)
                    if kind == "csv"
                    else pq.ParquetWriter(tmp, tbl.schema)
                )
            writer.write_table(tbl)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)
    return path


def bench_memory() -> None:
    exe = str(Path(PY).with_name("losscli"))
    rows = []
    for kind in ("csv", "parquet"):
        peaks = []
        for gb in (GB, 2 * GB):
            path = make_sized(gb, kind)
            wall, rss = run_timed(
                [exe, "eval", str(path), "--loss", "bce,mse", "-f", "json"], repeat=1
            )
            peaks.append(rss)
            size = path.stat().st_size / 1e9
            rows.append(
                [
                    f"{kind}, {size:.2f} GB",
                    f"{wall:.1f}",
                    f"{rss:.0f}",
                    "" if len(peaks) == 1 else f"{(peaks[1] / peaks[0] - 1) * 100:+.0f}%",
                ]
            )
    table(
        f"4. memory: peak RSS of losscli eval (MiB) as the file doubles (BENCH_GB={GB:g})",
        ["file", "seconds", "peak MiB", "growth"],
        rows,
    )


# --- 5. compare ------------------------------------------------------------------------------


def bench_compare() -> None:
    """Three models × 10⁶ rows with intervals for every binary loss, against eval on one."""
    DATA.mkdir(exist_ok=True)
    n = 1_000_000
    rng = np.random.default_rng(3)
    y = (rng.uniform(0.0, 1.0, n) < 0.4).astype(np.int64)
    np.save(DATA / "compare_labels.npy", y)
    models = []
    for i, name in enumerate("abc"):
        noise = rng.normal(0.0, 0.2 + 0.05 * i, n)
        np.save(DATA / f"compare_{name}.npy", np.clip(0.4 + 0.3 * (y - 0.4) + noise, 0.001, 0.999))
        models.append(str(DATA / f"compare_{name}.npy"))
    exe = str(Path(PY).with_name("losscli"))
    labels = str(DATA / "compare_labels.npy")
    t_eval, _ = run_timed([exe, "eval", models[0], labels, "-f", "json"])
    t_cmp, m_cmp = run_timed([exe, "compare", "--labels", labels, *models, "-f", "json"])
    table(
        "5. compare: 3 models × 1,000,000 binary rows, every binary loss, 95% intervals "
        "(normal approximation, chosen by --method auto, streamed on every core; "
        "target: within 2.5× of one eval)",
        ["what", "seconds", "peak MiB", "ratio"],
        [
            ["losscli eval, one model", f"{t_eval:.2f}", "", "1.0×"],
            [
                "losscli compare, three models",
                f"{t_cmp:.2f}",
                f"{m_cmp:.0f}",
                f"{t_cmp / t_eval:.1f}×",
            ],
        ],
    )


# --- 6. multiclass and regression ---------------------------------------------------------------


def bench_tasks() -> None:
    """Multiclass (k = 10 and k = 1000) and regression Parquet files, end to end."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    exe = str(Path(PY).with_name("losscli"))
    DATA.mkdir(exist_ok=True)
    rows = []
    cases = [
        ("multiclass", 10, min(ROWS // 10, 1_000_000)),
        ("multiclass", 1000, 20_000),
        ("regression", 1, ROWS),
    ]
    for task, k, n in cases:
        path = DATA / f"{task}_{k}_{n}.parquet"
        rng = np.random.default_rng(4)
        if not path.exists():
            if task == "regression":
                y = rng.normal(size=n)
                pq.write_table(pa.table({"y_pred": y + rng.normal(0, 0.5, n), "y_true": y}), path)
            else:
                logits = rng.normal(size=(n, k))
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs /= probs.sum(axis=1, keepdims=True)
                cols = {f"p_{j}": probs[:, j] for j in range(k)}
                cols["label"] = rng.integers(0, k, n)
                pq.write_table(pa.table(cols), path)
        if task == "regression":
            ours = [
                exe,
                "eval",
                str(path),
                "--pred-col",
                "y_pred",
                "--label-col",
                "y_true",
                "--loss",
                "mse,mae,huber",
                "-f",
                "json",
            ]
            theirs = (
                "import pandas as pd\nfrom sklearn.metrics import mean_squared_error as a, "
                "mean_absolute_error as b\nfrom scipy.special import huber\n"
                f"d = pd.read_parquet({str(path)!r})\n"
                "a(d.y_true, d.y_pred); b(d.y_true, d.y_pred); huber(1.0, d.y_pred - d.y_true).mean()\n"
            )
        else:
            ours = [
                exe,
                "eval",
                str(path),
                "--pred-col",
                "p_*",
                "--label-col",
                "label",
                "--loss",
                "ce,mse",
                "-f",
                "json",
            ]
            theirs = (
                "import numpy as np, pandas as pd\nfrom sklearn.metrics import log_loss\n"
                f"d = pd.read_parquet({str(path)!r})\n"
                "P = d.filter(like='p_').to_numpy(); y = d['label'].to_numpy()\n"
                f"log_loss(y, P, labels=np.arange({k})); Y = np.eye({k})[y]; ((P - Y) ** 2).mean()\n"
            )
        t_ours, m_ours = run_timed(ours)
        t_theirs, m_theirs = run_timed(theirs, repeat=1)
        label = f"{task}, k={k}" if task != "regression" else "regression"
        rows.append(
            [
                f"{label}, {n:,} rows",
                f"{t_ours:.2f}",
                f"{m_ours:.0f}",
                f"{t_theirs:.2f}",
                f"{m_theirs:.0f}",
                f"{t_theirs / t_ours:.1f}×",
            ]
        )
    table(
        "6. other tasks, Parquet end to end: losscli eval vs pandas + scikit-learn/NumPy "
        "(seconds, peak MiB)",
        ["file", "losscli s", "MiB", "pandas+sklearn s", "MiB", "speed-up"],
        rows,
    )


# --- 7. scale -------------------------------------------------------------------------------

SCALE = [int(float(v)) for v in os.environ.get("BENCH_SCALE", "1e6,1e7,1e8").split(",") if v]
PANDAS_BYTES_PER_ROW = 120  # pandas + scikit-learn on a binary file: the frame, copies, clips


def _total_memory() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def bench_scale() -> None:
    exe = str(Path(PY).with_name("losscli"))
    imports = "import pandas as pd, pyarrow.parquet as pq, pyarrow.csv as pcsv, numpy as np\n"
    rows = []
    for n in SCALE:
        pq_path, csv_path = make_files(n)
        repeat = 1 if n > 20_000_000 else 3
        for label, path, pd_read, pa_read in (
            ("Parquet", pq_path, "pd.read_parquet", "pq.read_table"),
            ("CSV", csv_path, "pd.read_csv", "pcsv.read_csv"),
        ):
            ours, ours_mb = run_timed(
                [exe, "eval", str(path), "--loss", "mse,mae,bce,hinge", "-f", "json"], repeat
            )
            floor, floor_mb = run_timed(
                FLOOR_IMPORTS + f"t = {pa_read}({str(path)!r})\nnp.log(t['prob'].to_numpy())\n",
                repeat,
            )
            if n * PANDAS_BYTES_PER_ROW < 0.6 * _total_memory():
                pandas_code = (
                    imports + SK + f"d_ = {pd_read}({str(path)!r})\n"
                    "y, p = d_['label'].to_numpy(), d_['prob'].to_numpy()\n" + SK_CALLS
                )
                theirs, theirs_mb = run_timed(pandas_code, repeat=1)
                pandas_cells = [f"{theirs:.2f}", f"{theirs_mb:.0f}", f"{theirs / ours:.1f}×"]
            else:
                pandas_cells = ["—", "—", "(would not fit)"]
            rows.append(
                [f"{label}, {n:,} rows", f"{ours:.2f}", f"{ours_mb:.0f}", f"{floor:.2f}",
                 f"{ours / floor:.2f}×", *pandas_cells]
            )  # fmt: skip
    table(
        "7. scale: binary files end to end, 4 losses (seconds; peak MiB; floor = pyarrow read "
        "+ one np.log pass)",
        ["file", "losscli s", "MiB", "floor s", "÷ floor", "pandas+sklearn s", "MiB", "speed-up"],
        rows,
    )


# --- 8. slices ----------------------------------------------------------------------------------


def make_sliced(n: int) -> Path:
    """Binary predictions with a slice column of 1,000 values and one of 100,000."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"sliced_{n}.parquet"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        p, y = binary_data(n, seed=8)
        rng = np.random.default_rng(8)
        table = pa.table(
            {
                "prob": p,
                "label": y,
                "region": rng.integers(0, 1_000, n),
                "user": rng.integers(0, 100_000, n),
            }
        )
        pq.write_table(table, path, row_group_size=1 << 20)
    return path


def bench_slices() -> None:
    exe = str(Path(PY).with_name("losscli"))
    path = str(make_sliced(ROWS))
    base = [exe, "eval", path, "--pred-col", "prob", "--label-col", "label", "--loss", "bce,mse"]
    runs = {"": [*base, "-f", "json"], "region": [*base, "--by", "region", "-f", "json"],
            "user": [*base, "--by", "user", "-f", "json"]}  # fmt: skip
    # interleaved (one run of each, REPEAT times), so that a slow spell of a shared machine
    # falls on all three alike; best and median of each
    walls: dict[str, list[float]] = {k: [] for k in runs}
    peaks: dict[str, float] = {k: 0.0 for k in runs}
    for _ in range(REPEAT):
        for k, argv in runs.items():
            t, m = run_timed(argv, repeat=1)
            walls[k].append(t)
            peaks[k] = max(peaks[k], m)
    t0, m0 = min(walls[""]), peaks[""]
    med0 = float(np.median(walls[""]))
    rows = [["eval, no slices", f"{t0:.2f}", f"{med0:.2f}", f"{m0:.0f}", "1.0×", ""]]
    for col, values, target in (("region", "1,000", "≤ 1.5×"), ("user", "100,000", "≤ 2×")):
        t, m, med = min(walls[col]), peaks[col], float(np.median(walls[col]))
        ratios = f"{t / t0:.2f}× ({med / med0:.2f}×)"
        rows.append(
            [f"--by {col} ({values} slices)", f"{t:.2f}", f"{med:.2f}", f"{m:.0f}", ratios, target]
        )
    big = str(make_sliced(2 * ROWS))
    t2, m2 = run_timed([exe, "eval", big, "--pred-col", "prob", "--label-col", "label",
                        "--loss", "bce,mse", "--by", "user", "-f", "json"], repeat=1)  # fmt: skip
    rows.append(
        [f"--by user, {2 * ROWS:,} rows", f"{t2:.2f}", "", f"{m2:.0f}", f"{t2 / t0:.2f}×",
         f"memory {(m2 / peaks['user'] - 1) * 100:+.0f}% as the file doubles"]
    )  # fmt: skip
    table(
        f"8. slices: eval --by on a {ROWS:,}-row Parquet file, bce and mse; {REPEAT} interleaved "
        "runs of each (seconds: best, median; peak MiB; ratios of bests and of medians)",
        ["what", "best s", "median s", "peak MiB", "÷ no slices", "target"],
        rows,
    )


def main() -> None:
    import compileall

    import losscli

    # pip compiles an installed package's bytecode; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE=1 (as here) would otherwise recompile losscli in every process
    # (~75 ms), a cost no user of the installed tool pays, while the libraries compared
    # against are installed and compiled
    compileall.compile_dir(str(Path(losscli.__file__).parent), quiet=1)
    print(
        f"losscli {losscli.__version__} · {date.today()} · {platform.machine()}, "
        f"{os.cpu_count()} cores · Python {platform.python_version()} · NumPy {np.__version__}"
    )
    for name, fn in (
        ("engine", bench_engine),
        ("startup", bench_startup),
        ("files", bench_files),
        ("memory", bench_memory),
        ("compare", bench_compare),
        ("tasks", bench_tasks),
        ("scale", bench_scale),
        ("slices", bench_slices),
        ("plots", lambda: __import__("plots").bench_plots()),  # bench/plots.py, issue 14
        ("remote", lambda: __import__("remote").bench_remote()),  # bench/remote.py, issue 12
        ("explain", lambda: __import__("explain").bench_explain()),  # bench/explain.py, issue 13
        ("masks", lambda: __import__("masks").bench_masks()),  # bench/masks.py, issue 15
    ):
        if name not in SKIP:
            fn()


if __name__ == "__main__":
    main()
