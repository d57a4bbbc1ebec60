"""The README tells the truth: its loss table, its commands, its sample-data figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from losscli.cli import cli
from losscli.engine.registry import SPECS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_loss_table_is_losscli_losses_markdown():
    out = CliRunner().invoke(cli, ["losses", "--format", "markdown"], catch_exceptions=False)
    assert out.output in README


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_and_is_in_the_readme(command):
    out = CliRunner().invoke(cli, [command, "--help"], catch_exceptions=False)
    assert out.exit_code == 0 and "Usage:" in out.output
    assert f"losscli {command}" in README


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_loss_has_formula_and_reference(spec):
    assert spec.formula and spec.reference and spec.summary
    assert spec.name in README


def test_readme_starts_with_the_two_commands():
    head = README.split("## ", 1)[0]
    assert "make demo" in head and "make test" in head


def test_readme_tour_figures_are_what_eval_prints():
    # the multiclass line of the tour, run as written (from the repository root)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "losscli",
            "eval",
            "sample_data/multiclass.csv",
            "--pred-col",
            "p_*",
            "--label-col",
            "species",
            "-f",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    losses = json.loads(run.stdout)["losses"]
    assert json.dumps(losses, separators=(",", ":")) in README
