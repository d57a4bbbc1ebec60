"""The README tells the truth: its loss table, its commands, its sample-data figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from losscli.cli import cli
from losscli.engine.registry import SPECS
from tests.cli.conftest import invoke, spawn

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_loss_table_is_losscli_losses_markdown():
    out = invoke(["losses", "--format", "markdown"], expect=0)
    assert out.out in README


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_and_is_in_the_readme(command):
    out = invoke([command, "--help"])
    assert out.code == 0 and "Usage:" in out.out
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
    run = spawn(
        [
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
        text=True,
        check=True,
    )
    losses = json.loads(run.stdout)["losses"]
    assert json.dumps(losses, separators=(",", ":")) in README


def _console_blocks(section: str) -> list[tuple[str, str]]:
    """(command, expected stdout) of each `$ losscli ...` line in a README section's console
    blocks; the output runs to the next `$` line or the end of the block."""
    start = README.index(section)
    end = README.find("\n## ", start + 1)
    text = README[start : end if end >= 0 else None]
    found = []
    for block in text.split("```console\n")[1:]:
        lines = block.split("\n```", 1)[0].split("\n")
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ losscli "):
                j = i + 1
                while j < len(lines) and not lines[j].startswith("$ "):
                    j += 1
                found.append((lines[i][2:], "\n".join(lines[i + 1 : j])))
                i = j
            else:
                i += 1
    return found


SLICES = "## Where the model is bad"


@pytest.mark.parametrize("command, expected", _console_blocks(SLICES), ids=lambda c: c[:60])
def test_readme_slice_examples_print_what_the_readme_shows(command, expected):
    import shlex

    argv = shlex.split(command)[1:]
    run = spawn(argv, cwd=ROOT, text=True)
    assert run.stdout.rstrip("\n") == expected


MASKS = "## Segmentation masks"


@pytest.mark.parametrize("command, expected", _console_blocks(MASKS), ids=lambda c: c[:60])
def test_readme_mask_examples_print_what_the_readme_shows(command, expected):
    import shlex

    run = spawn(shlex.split(command)[1:], cwd=ROOT, text=True)
    assert run.stdout.rstrip("\n") == expected


def test_readme_has_slice_examples():
    commands = [c for c, _ in _console_blocks(SLICES)]
    assert any("--by" in c and c.startswith("losscli eval") for c in commands)
    assert any("--worst" in c for c in commands)
    assert any(c.startswith("losscli check") and "--by" in c for c in commands)
