"""Section 10 of `make bench`: data where it lives (issue 12, SPEC §10).

A binary dataset of BENCH_REMOTE_ROWS rows (default 10^8, the issue's size: moto then holds
about 860 MB in memory, so run it on an idle machine; BENCH_REMOTE_ROWS=1e6 checks that it
works) in 16 Parquet files of row groups of 2^20 rows:

- S3: losscli's reading of `s3://...` (the chunks `eval` hands the engine, no loss computed)
  through a local moto server (a subprocess on 127.0.0.1) against the floor of that
  transport, pyarrow's own `read_table` of the same objects through the same server
  (pyarrow's native S3 client), each in a fresh process; and the whole `losscli eval`,
  which computes four losses on the 10⁸ rows as well, on the same two cores as the server.
- Dask: `losscli eval` of the local folder in one process against `losscli eval FOLDER
  --dask ADDRESS` on a running cluster of two worker processes (`dask scheduler` and two
  `dask worker --nthreads 1` started beforehand as subprocesses), each in a fresh process,
  and the same run in a process that has imported dask and losscli already (what the run
  costs beyond the imports); then `--dask local:2`, whose start-up of a LocalCluster is
  reported on its own line.

Run alone: `.venv/bin/python bench/remote.py`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PY = sys.executable
BIN = Path(PY).parent
ROWS = int(float(os.environ.get("BENCH_REMOTE_ROWS", "1e8")))
FILES = 16
LOSSES = "mse,mae,bce,hinge"
REPEAT = 3
PAIRS = 5  # one process and the cluster, run in turns (section 10b)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, seconds: float = 60) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


def make_dataset(n: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = ROOT / "data" / f"remote_{n}"
    if (folder / f"part-{FILES - 1:02d}.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    per = n // FILES
    for i in range(FILES):
        p = rng.uniform(0.0, 1.0, per)
        y = (rng.uniform(size=per) < p).astype(np.float64)
        pq.write_table(pa.table({"prob": p, "label": y}), folder / f"part-{i:02d}.parquet",
                       row_group_size=1 << 20)  # fmt: skip
    return folder


def timed(argv: list[str], env: dict[str, str] | None = None, repeat: int = REPEAT) -> float:
    """Best wall seconds of a fresh process."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})}
        )
        best = min(best, time.perf_counter() - start)
    return best


def bench_s3(folder: Path) -> list[list[str]]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    try:
        _wait(port)
        import s3fs

        fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="bench", secret="bench")
        fs.mkdir("bench")
        for f in sorted(folder.iterdir()):
            fs.put_file(str(f), f"bench/data/{f.name}")
        losscli = timed([str(BIN / "losscli"), "eval", "s3://bench/data/", "--pred-col", "prob",
                         "--label-col", "label", "-l", LOSSES, "-f", "json"], env)  # fmt: skip
        reading = timed([PY, "-c", READ_ONLY, "s3://bench/data/"], env)
        floor = timed([PY, "-c", (
            "import pyarrow.fs as fs, pyarrow.parquet as pq\n"
            f"s3 = fs.S3FileSystem(endpoint_override='{endpoint}', scheme='http', "
            "access_key='bench', secret_key='bench', region='us-east-1')\n"
            "pq.read_table('bench/data', filesystem=s3, columns=['prob', 'label'])\n"
        )], env)  # fmt: skip
        local = timed([str(BIN / "losscli"), "eval", str(folder), "--pred-col", "prob",
                       "--label-col", "label", "-l", LOSSES, "-f", "json"])  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    return [
        ["floor: pyarrow read_table through the server", f"{floor:.2f}", "1.00×", ""],
        ["losscli's reading of s3://bench/data/ (the chunks eval gets)", f"{reading:.2f}",
         f"{reading / floor:.2f}×", "≤ 1.2×"],
        ["losscli eval s3://bench/data/, 4 losses", f"{losscli:.2f}", f"{losscli / floor:.2f}×",
         ""],
        ["losscli eval of the local folder, 4 losses", f"{local:.2f}", f"{local / floor:.2f}×", ""],
    ]  # fmt: skip


# losscli's reading alone: the chunks `eval` hands the engine (readers.columns.stream_inputs:
# the footers, the byte ranges fetched ahead, pyarrow's decoding, the checks and conversion
# of every cell), in a fresh process, with no loss computed
READ_ONLY = """
import sys
from losscli.readers.columns import stream_inputs
_, chunks = stream_inputs(sys.argv[1], pred_cols=["prob"], label_cols=["label"],
                          batch_rows=1 << 18)
print(sum(c.n_rows for c in chunks))
"""

DASK_RUN = """
import sys, time
t0 = time.perf_counter()
import dask, dask.bag, distributed, pyarrow.parquet, losscli.cli, losscli.dask_compare
t1 = time.perf_counter()
code = losscli.cli.run(sys.argv[1:])
print(time.perf_counter() - t1, t1 - t0, file=sys.stderr)
sys.exit(code)
"""

LOCAL_START = """
import time
t = time.perf_counter()
from distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
client = Client(cluster)
print(time.perf_counter() - t)
client.close(); cluster.close()
"""


def bench_dask(folder: Path) -> list[list[str]]:
    argv = ["eval", str(folder), "--pred-col", "prob", "--label-col", "label", "-l", LOSSES,
            "-f", "json", "-q"]  # fmt: skip
    port = _free_port()
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--dashboard-address", ":0"], **quiet)]  # fmt: skip
    try:
        _wait(port)
        address = f"tcp://127.0.0.1:{port}"
        for _ in range(2):
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads",
                                           "1", "--nworkers", "1", "--no-dashboard"], **quiet))  # fmt: skip
        time.sleep(5)
        timed([str(BIN / "losscli"), *argv, "--dask", address], repeat=1)  # workers' imports
        # one process and the cluster in turns: this machine's speed moves by tens of
        # percent between minutes, and both should see the same minutes
        singles, walls = [], []
        for _ in range(PAIRS):
            singles.append(timed([str(BIN / "losscli"), *argv], repeat=1))
            walls.append(timed([str(BIN / "losscli"), *argv, "--dask", address], repeat=1))
        single, wall = min(singles), min(walls)
        ratios = sorted(w / s for w, s in zip(walls, singles, strict=True))
        computes = []
        for _ in range(REPEAT):
            out = subprocess.run([PY, "-c", DASK_RUN, *argv, "--dask", address], check=True,
                                 capture_output=True, text=True)  # fmt: skip
            computes.append(float(out.stderr.split()[-2]))
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
    local2 = timed([str(BIN / "losscli"), *argv, "--dask", "local:2"])
    starts = [float(subprocess.run([PY, "-c", LOCAL_START], check=True, capture_output=True,
                                   text=True).stdout.split()[-1]) for _ in range(2)]  # fmt: skip
    compute, start = min(computes), min(starts)
    return [
        ["losscli eval, one process (2 threads)", f"{single:.2f}", "1.00×", ""],
        ["--dask on a running 2-worker cluster: whole process", f"{wall:.2f}",
         f"{wall / single:.2f}×", "≤ 1.3×"],
        [f"  the {PAIRS} pairs run in turns: median and worst ratio", "",
         f"{ratios[len(ratios) // 2]:.2f}×, {ratios[-1]:.2f}×", ""],
        ["  the same run, dask and losscli imported already", f"{compute:.2f}",
         f"{compute / single:.2f}×", ""],
        ["--dask local:2: whole process", f"{local2:.2f}", f"{local2 / single:.2f}×", ""],
        ["  of which LocalCluster(n_workers=2) start-up", f"{start:.2f}", "", ""],
        ["  --dask local:2 without its start-up", f"{local2 - start:.2f}",
         f"{(local2 - start) / single:.2f}×", ""],
    ]  # fmt: skip


def bench_remote() -> None:
    from run import table

    folder = make_dataset(ROWS)
    size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    table(
        f"10a. S3 (moto on 127.0.0.1): {ROWS:,} binary rows in {FILES} Parquet files, "
        f"{size:.0f} MB (seconds, best of {REPEAT} fresh processes)",
        ["what", "seconds", "÷ floor", "target"],
        bench_s3(folder),
    )
    table(
        f"10b. Dask: the same {ROWS:,} rows in {FILES} local Parquet files "
        f"(seconds, best of {PAIRS} runs in turns with one process; the rest best of {REPEAT})",
        ["what", "seconds", "÷ one process", "target"],
        bench_dask(folder),
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    bench_remote()
