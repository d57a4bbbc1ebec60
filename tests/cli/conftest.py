"""Helpers for the CLI tests: files on tmp_path, and the two ways every test runs the CLI.

`invoke` is the one helper for in-process runs, in every test folder: it calls
`losscli.cli.run` (what `main` does, so errors become one `error:` line and an exit code)
inside Click's `CliRunner.isolation`, which gives it a stdin of our choosing and separate
stdout and stderr. `spawn` is the one helper for a real `python -m losscli` process (or a
bash line that runs it), for what in-process runs cannot show: pipes, signals, the
interpreter's own exit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from losscli.cli import run

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]")
TIMEOUT = 60
BINARY = str(Path(__file__).resolve().parents[2] / "sample_data" / "binary.csv")


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def __iter__(self):
        """`code, out, err = invoke(...)` where a test wants all three at once."""
        return iter((self.code, self.out, self.err))


def invoke(
    argv, input: bytes | str | None = None, env: dict | None = None, *, expect: int | None = None
) -> Ran:
    """Run `losscli ARGV` in-process as `main()` would; return exit code, stdout, stderr.

    With `expect`, the run must end with that exit code, without a traceback and without
    terminal colour codes (the runner's streams are not terminals).
    """
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _), warnings.catch_warnings():
        _real_warnings()
        code = run([str(a) for a in argv])
        sys.stdout.flush()
        sys.stderr.flush()
        ran = Ran(code, out.getvalue().decode(), err.getvalue().decode())
    if expect is not None:
        assert ran.code == expect, (ran.code, ran.err)
        assert "Traceback" not in ran.err and "Traceback" not in ran.out
        assert not ANSI.search(ran.out) and not ANSI.search(ran.err)
    return ran


def spawn(
    argv=(),
    *,
    shell: str | None = None,
    input: bytes | str | None = b"",
    cwd=None,
    env: dict | None = None,
    **kw,
) -> subprocess.CompletedProcess:
    """A real `python -m losscli ARGV` process, or the bash command line `shell`.

    stdin is `input` (empty unless told), stdout and stderr are captured unless `kw` says
    where they go, `env` is added to this process's environment, and a hung run fails after
    TIMEOUT seconds.
    """
    command = ["bash", "-c", shell] if shell is not None else [sys.executable, "-m", "losscli"]
    if shell is None:
        command += [str(a) for a in argv]
    if kw.get("text") and input == b"":
        input = ""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(command, input=input, cwd=cwd, env={**os.environ, **(env or {})}, **kw)


def _show_on_stderr(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _real_warnings() -> None:
    """Python's default warning filters, printing on (the runner's) stderr, as in a real
    run: pytest would otherwise collect a RuntimeWarning that users see on their terminal."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)
    warnings.showwarning = _show_on_stderr


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def chdir_tmp(tmp_path, monkeypatch):
    """Run in tmp_path so that sources print as the short names the tests pass."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, data: bytes | str) -> str:
    """Write bytes or text (no newline translation); return the file name."""
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as fh:
        fh.write(data)
    return str(path.name) if hasattr(path, "name") else str(path)


def csv_text(header: list[str], rows) -> str:
    """CSV text with floats at full precision (repr round-trips float64)."""
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(repr(float(v)) if isinstance(v, float | np.floating) else str(v)
                              for v in row))  # fmt: skip
    return "\n".join(lines) + "\n"


# -- gates of `check` on sample_data/binary.csv (test_check.py, and test_config.py's gates) --


def gate_json(*argv):
    code, out, err = invoke(["check", *argv, "--format", "json"])
    assert out, err
    return code, json.loads(out), err


def assert_usage_error(code, out, err, *needles):
    """Exit 2, one `error:` line on stderr, no verdict on stdout, no traceback."""
    assert code == 2, (code, out, err)
    assert re.search(r"^error: ", err, re.M), err
    assert "Traceback" not in err
    assert "PASSED" not in out and '"passed"' not in out
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.fixture(scope="module")
def binary_losses():
    """Exact loss values of binary.csv (prob) as `eval --format json` reports them."""
    ran = invoke(["eval", BINARY, "--pred-col", "prob", "--format", "json"])
    assert ran.code == 0
    return json.loads(ran.out)["losses"]


@pytest.fixture
def baseline(tmp_path):
    """A baseline report of binary.csv (prob) written by `eval --save`."""
    code, _, err = invoke(["eval", BINARY, "--pred-col", "prob", "--save", "base.json"])
    assert code == 0, err
    return tmp_path / "base.json"


def edit_report(path: Path, **changes) -> str:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if key in data.get("losses", {}) and not isinstance(value, dict):
            data["losses"][key] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data))
    return str(path)
