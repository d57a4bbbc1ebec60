"""Issue 9, real pipes and devices: exit 141 when the reader of stdout goes away (M2), and
a full disk is an `error:` with exit 2, not "a bug" (C5). Every test runs `losscli` as a
real process (`spawn`; a Popen where the test closes the pipe itself), since what is tested
is the operating system's pipe and device behaviour.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys

import numpy as np
import pytest

from tests.cli.conftest import spawn

PY = sys.executable
TIMEOUT = 120
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = os.path.join(ROOT, "sample_data")
B = os.path.join(SAMPLE, "binary.csv")
COLS = ["--pred-col", "prob", "--label-col", "label"]

COMMANDS = {
    "eval-table": ["eval", B, *COLS],
    "eval-json": ["eval", B, *COLS, "-f", "json"],
    "eval-csv": ["eval", B, *COLS, "-f", "csv"],
    "eval-markdown": ["eval", B, *COLS, "-f", "markdown"],
    "eval-none": ["eval", B, *COLS, "--reduction", "none", "-l", "bce"],
    "check-pass": ["check", B, *COLS, "--max", "bce=1"],
    "check-json": ["check", B, *COLS, "--max", "bce=1", "-f", "json"],
    "compare": [
        "compare",
        B,
        "--label-col",
        "label",
        "--model-col",
        "a=prob",
        "--model-col",
        "b=prob",
        "--method",
        "normal",
    ],  # fmt: skip
    "losses": ["losses"],
    "losses-json": ["losses", "--format", "json"],
    "help": ["--help"],
    "eval-help": ["eval", "--help"],
    "no-arguments": [],
    "version": ["--version"],
}


def _clean(err: bytes) -> str:
    text = err.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    return text


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_M2_closed_pipe_is_exit_141_for_every_command(args):
    # the reader closes its end before losscli writes anything (`| true`)
    proc = subprocess.Popen(
        [PY, "-m", "losscli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=SAMPLE
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(TIMEOUT) == 141, err
    assert _clean(err) == "" or "note:" in err.decode(), err


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_M2_pipe_into_true_under_pipefail_is_141(args):
    cmd = " ".join(shlex.quote(a) for a in [PY, "-m", "losscli", *args])
    proc = spawn(
        shell=f"{cmd} 2>/dev/null | true; echo ${{PIPESTATUS[0]}}", cwd=SAMPLE, timeout=TIMEOUT
    )
    assert proc.stdout.decode().strip() == "141"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """12,000 rows: per-sample output of about 250 KB or more, far beyond any pipe buffer
    (64 KiB)."""
    rng = np.random.default_rng(9)
    n = 12_000
    p = rng.uniform(0.01, 0.99, n)
    y = (rng.uniform(size=n) < p).astype(int)
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "w") as fh:
        fh.write("prob,label\n")
        fh.writelines(f"{a!r},{b}\n" for a, b in zip(p.tolist(), y.tolist(), strict=True))
    return str(path)


@pytest.mark.parametrize("fmt", ["csv", "json", "tsv", "markdown", "table"])
def test_M2_head_one_of_large_output_is_141(big_csv, fmt):
    cmd = (
        f"{shlex.quote(PY)} -m losscli eval {shlex.quote(big_csv)} --reduction none -q "
        f"-f {fmt} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    )
    proc = spawn(shell=cmd, timeout=TIMEOUT)
    _clean(proc.stderr)
    assert proc.stdout.decode().strip() == "141"


def test_M2_passing_check_is_not_reported_as_a_failed_gate_under_pipefail():
    cmd = " ".join(shlex.quote(a) for a in [PY, "-m", "losscli", *COMMANDS["check-pass"]])
    proc = spawn(shell=f"set -o pipefail; {cmd} | true", cwd=SAMPLE, timeout=TIMEOUT)
    assert proc.returncode == 141


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")

FULL = COMMANDS


@needs_dev_full
@pytest.mark.parametrize("args", FULL.values(), ids=FULL.keys())
def test_C5_stdout_on_a_full_disk_is_exit_2_with_what_failed(args):
    with open("/dev/full", "w") as full:
        proc = spawn(args, stdout=full, cwd=SAMPLE, timeout=TIMEOUT)
    lines = _clean(proc.stderr).splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert proc.returncode == 2, lines
    assert len(errors) == 1, lines
    assert "No space left on device" in errors[0] and "standard output" in errors[0]
    assert "bug" not in errors[0] and "internal error" not in errors[0]


@needs_dev_full
def test_C5_save_onto_a_full_device_is_exit_2_naming_it(tmp_path):
    # as root, a copy of /dev/full of our own: a version that replaces device nodes must
    # not be able to replace the system's /dev/full while this test runs
    full = "/dev/full"
    if os.geteuid() == 0:
        full = str(tmp_path / "full")
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    proc = spawn([*COMMANDS["eval-csv"], "-q", "--save", full], cwd=SAMPLE, timeout=TIMEOUT)
    err = _clean(proc.stderr)
    assert proc.returncode == 2, err
    assert err.startswith(f"error: cannot write to {full}: No space left on device"), err
    assert proc.stdout == b""
    assert stat.S_ISCHR(os.lstat(full).st_mode)
