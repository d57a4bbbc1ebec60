"""Helpers for the CLI tests: files on tmp_path, the CLI run in-process with its exit code.

`invoke` calls `losscli.cli.run` (what `main` does, so errors become one `error:` line and
an exit code) inside Click's `CliRunner.isolation`, which gives it a stdin of our choosing
and separate stdout and stderr.
"""

from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from click.testing import CliRunner

from losscli.cli import run

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]")


@dataclass
class Ran:
    code: int
    out: str
    err: str


def invoke(argv, input: bytes | str | None = None, env: dict | None = None) -> Ran:
    """Run `losscli ARGV` in-process as `main()` would; return exit code, stdout, stderr."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _), warnings.catch_warnings():
        _real_warnings()
        code = run([str(a) for a in argv])
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(code, out.getvalue().decode(), err.getvalue().decode())


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
