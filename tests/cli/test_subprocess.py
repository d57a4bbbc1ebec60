"""Real `python -m losscli` processes: standard input, pipes, `| head`, a closed stdout.

These cover what the in-process tests cannot: the interpreter's own handling of stdout at
exit, SIGPIPE, a terminal on stdin, and warnings Python prints on stderr.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import log_loss

from tests.cli.conftest import ANSI, TIMEOUT, spawn

PY = sys.executable


def clean_stderr(err: bytes) -> str:
    text = err.decode()
    assert "Traceback" not in text, text
    assert "Exception ignored" not in text, text
    assert "Warning:" not in text, text  # e.g. a NumPy RuntimeWarning reaching the user
    return text


def one_error_line(proc, *fragments: str) -> str:
    err = clean_stderr(proc.stderr)
    assert proc.stdout == b""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert proc.returncode == 2, (proc.returncode, err)
    return lines[0]


@pytest.fixture
def data(rng):
    y = rng.integers(0, 2, 300)
    p = np.clip(rng.uniform(0, 1, 300), 1e-6, 1 - 1e-6)
    return p, y


def csv_bytes(p, y) -> bytes:
    rows = "".join(f"{float(a)!r},{int(b)}\n" for a, b in zip(p, y, strict=True))
    return ("pred,label\n" + rows).encode()


def test_csv_on_stdin_json_parses(data):
    p, y = data
    proc = spawn(["eval", "-", "--loss", "bce,mse", "--format", "json"], input=csv_bytes(p, y))
    assert proc.returncode == 0, proc.stderr
    clean_stderr(proc.stderr)
    got = json.loads(proc.stdout)
    assert got["n_samples"] == 300
    assert got["inputs"]["preds"]["path"] == "stdin"
    # oracle: scikit-learn log_loss
    assert got["losses"]["bce"] == pytest.approx(log_loss(y, p), rel=1e-12)


def test_npy_bytes_on_stdin(data, tmp_path):
    p, y = data
    buf = io.BytesIO()
    np.save(buf, p)
    np.save(tmp_path / "y.npy", y)
    proc = spawn(["eval", "-", "y.npy", "--loss", "bce", "-f", "json"], input=buf.getvalue(), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    clean_stderr(proc.stderr)
    assert json.loads(proc.stdout)["losses"]["bce"] == pytest.approx(log_loss(y, p), rel=1e-12)


def test_parquet_bytes_on_stdin(data):
    p, y = data
    buf = io.BytesIO()
    pq.write_table(pa.table({"pred": p, "label": y}), buf)
    proc = spawn(["eval", "-", "--loss", "bce", "-f", "json"], input=buf.getvalue())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["losses"]["bce"] == pytest.approx(log_loss(y, p), rel=1e-12)


def test_json_pipes_into_a_json_reader(tmp_path, data):
    p, y = data
    (tmp_path / "b.csv").write_bytes(csv_bytes(p, y))
    reader = f"{shlex.quote(PY)} -c 'import json,sys; print(json.load(sys.stdin)[\"task\"])'"
    proc = spawn(
        shell=f"set -o pipefail; {shlex.quote(PY)} -m losscli eval b.csv -f json | {reader}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"binary\n"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """A regression file whose per-sample output (several MB) overflows any pipe buffer."""
    rng = np.random.default_rng(7)
    n = 20_000
    path = tmp_path_factory.mktemp("big") / "big.csv"
    y = rng.normal(0, 1, n)
    p = y + rng.normal(0, 0.1, n)
    np.savetxt(path, np.column_stack([p, y]), delimiter=",", header="y_pred,y_true",
               comments="", fmt="%.17g")  # fmt: skip
    return path


def test_head_one_of_large_per_sample_output_ends_quietly(big_csv):  # BAD_INPUTS 70
    cmd = (
        f"set -o pipefail; {shlex.quote(PY)} -m losscli eval {shlex.quote(str(big_csv))} "
        "--reduction none --loss mse,mae | head -1"
    )
    proc = spawn(shell=cmd)
    clean_stderr(proc.stderr)
    assert proc.stderr == b""
    assert proc.stdout == b"row,mse,mae\n"
    assert proc.returncode in (0, 141), proc.returncode


def test_head_one_of_large_json_output_ends_quietly(big_csv):  # BAD_INPUTS 70
    cmd = (
        f"set -o pipefail; {shlex.quote(PY)} -m losscli eval {shlex.quote(str(big_csv))} "
        "--reduction none --loss mse -f json | head -1"
    )
    proc = spawn(shell=cmd)
    clean_stderr(proc.stderr)
    assert proc.stdout == b"{\n"
    assert proc.returncode in (0, 141), proc.returncode


def test_closed_stdout(tmp_path, data):  # BAD_INPUTS 71
    p, y = data
    (tmp_path / "b.csv").write_bytes(csv_bytes(p, y))
    proc = spawn(shell=f"{shlex.quote(PY)} -m losscli eval b.csv -f json >&-", cwd=tmp_path)
    err = clean_stderr(proc.stderr)
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert proc.returncode == 2


def test_error_in_a_real_process_is_one_line(tmp_path):
    (tmp_path / "p.csv").write_text("pred,label\n0.1,0\nnan,1\n0.3,1\n")
    one_error_line(spawn(["eval", "p.csv"], cwd=tmp_path), "p.csv", "'pred'", "row 2 (line 3)")


@pytest.mark.parametrize(
    "content,args",
    [
        ("pred,label\n0.1,0\ninf,1\n0.3,1\n", []),
        ("pred,y_true\n1e200,0\n2e200,1\n", ["--loss", "mse"]),
        ("pred,y_true\n-1e200,0\n2e200,1\n", ["--loss", "mae,mse,huber,log_cosh"]),
    ],
    ids=["inf", "overflow", "overflow-several"],
)
def test_no_numpy_warnings_reach_stderr(tmp_path, content, args):  # 37, 49
    (tmp_path / "x.csv").write_text(content)
    one_error_line(spawn(["eval", "x.csv", *args], cwd=tmp_path))


def test_empty_stdin(tmp_path):  # BAD_INPUTS 66
    one_error_line(spawn(["eval", "-"], input=b""), "stdin", "no data")


def test_missing_file_real_process(tmp_path):  # BAD_INPUTS 1
    one_error_line(spawn(["eval", "nope.csv"], cwd=tmp_path), "nope.csv")


def test_stdin_a_terminal_does_not_hang():  # BAD_INPUTS 67
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        proc = spawn(["eval", "-"], input=None, stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    one_error_line(proc, "stdin")


def test_table_to_a_pipe_has_no_colour(data, tmp_path):
    p, y = data
    (tmp_path / "b.csv").write_bytes(csv_bytes(p, y))
    for env in ({"TERM": "xterm-256color"}, {"NO_COLOR": "1"}):
        proc = spawn(["eval", "b.csv"], cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        clean_stderr(proc.stderr)
        assert not ANSI.search(proc.stdout.decode()) and not ANSI.search(proc.stderr.decode())
        assert b"bce" in proc.stdout


def test_version_and_help_real_process():
    proc = spawn(["--version"])
    assert proc.returncode == 0 and proc.stdout.startswith(b"losscli ")
    proc = spawn(["eval", "--help"])
    assert proc.returncode == 0 and proc.stdout.startswith(b"Usage: losscli eval")


# --- what a command imports (start-up time) ---------------------------------------------

_IMPORTED = (
    "import sys\n"
    "from losscli.cli import run\n"
    "code = run(sys.argv[1:])\n"
    "heavy = ('numpy', 'pandas', 'pyarrow', 'pyarrow.compute', 'rich', 'sklearn')\n"
    "print(' '.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
)


def imported(*args, cwd=None) -> set[str]:
    done = subprocess.run(
        [PY, "-c", _IMPORTED, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.splitlines()[-1].split())


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["eval", "--help"]])
def test_help_and_version_import_no_data_library(args):
    assert imported(*args) == set()


def test_losses_imports_neither_pandas_nor_pyarrow():
    assert not imported("losses", "--format", "json") & {"pandas", "pyarrow"}


def test_json_from_parquet_needs_no_pandas_rich_or_arrow_compute(tmp_path):
    # pandas (~0.2 s), Rich (~35 ms) and pyarrow.compute (~50 ms) are for other paths
    pq.write_table(
        pa.table({"p": [0.2, 0.9, 0.6], "y": pa.array([0, 1, 1], pa.int8())}),
        tmp_path / "a.parquet",
    )
    got = imported("eval", tmp_path / "a.parquet", "--pred-col", "p", "--label-col", "y",
                   "-f", "json")  # fmt: skip
    assert got == {"numpy", "pyarrow"}
