"""What `check` writes for CI besides stdout: the GitHub Actions annotations, step summary
and step outputs, and the error artefacts that replace --report and --junit when a check
stops on an error (D5). The gates themselves are `losscli.gate`'s.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

# the settings files read when --config is not given (protected from the outputs)
DEFAULT_SETTINGS = ("losscli.toml", "pyproject.toml")


@dataclass
class Run:
    """What one check reads and writes, as far as it is known when an error stops it."""

    preds: str
    labels: str | None
    report: str | None
    junit: str | None
    config: str | None
    baseline: str | None = None
    outputs_checked: bool = False
    notes: list[str] = field(default_factory=list)

    def outputs(self) -> dict[str, str | None]:
        return {"--report": self.report, "--junit": self.junit}

    def inputs(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {"PREDS": self.preds, "LABELS": self.labels}
        found["--baseline"] = self.baseline
        settings = [self.config] if self.config else DEFAULT_SETTINGS
        for path in settings:
            found[path] = path if path and os.path.exists(path) else None
        return found


def check_ci_outputs(run: Run) -> None:
    """Before any file is read: --report and --junit are safe to write (never an input),
    and GitHub's summary and output files are writable (D1, D4)."""
    from losscli.report import check_outputs, check_writable

    check_outputs(run.outputs(), run.inputs())
    run.outputs_checked = True
    for path, flag in ((_summary_path(), "GITHUB_STEP_SUMMARY"), (_output_path(), "GITHUB_OUTPUT")):
        if path:
            check_writable(path, flag)


def _summary_path() -> str | None:
    return (
        os.environ.get("GITHUB_STEP_SUMMARY")
        if os.environ.get("GITHUB_ACTIONS") == "true"
        else None
    )


def _output_path() -> str | None:
    return os.environ.get("GITHUB_OUTPUT") or None


def github_annotations(verdicts: list[Any], result: Any, inputs: Any) -> None:
    """On GitHub Actions: ::error commands for failed gates and a step summary."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from losscli.render.gates import github_commands, markdown
    from losscli.render.table import title_line

    sys.stderr.write(github_commands(verdicts))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(
            summary,
            "GITHUB_STEP_SUMMARY",
            markdown(verdicts, title_line(result, inputs.describe()), 6) + "\n",
        )


def github_output(losses: dict[str, float], passed: bool) -> None:
    """GitHub step outputs: `<loss>=<value>` (full precision) and `passed=true|false`
    appended to the file GITHUB_OUTPUT names, for later steps (`steps.<id>.outputs.bce`)."""
    path = _output_path()
    if path:
        lines = [f"{name}={value!r}" for name, value in losses.items()]
        lines.append(f"passed={'true' if passed else 'false'}")
        _append(path, "GITHUB_OUTPUT", "".join(f"{line}\n" for line in lines))


def _append(path: str, what: str, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        sys.stderr.write(f"warning: cannot append to {what} ({exc.strerror})\n")


def error_artefacts(run: Run, exc: Any) -> None:
    """After an error, replace --report and --junit with the error (and say passed=false
    on GITHUB_OUTPUT), so CI never shows the green of an earlier run (D5). Only outputs
    that are safe to write: never an input, the baseline or the other output."""
    from losscli.errors import LossCliError
    from losscli.render.gates import junit_error
    from losscli.report import check_outputs, write_report, write_text_atomic

    if not any(run.outputs().values()):
        _github_failed()
        return
    try:
        if not run.outputs_checked:
            check_outputs(run.outputs(), run.inputs())
    except LossCliError:
        return  # the error is about the outputs themselves: leave them alone
    message = exc.format()
    from losscli._version import __version__

    for path, text in (
        (run.report, None),
        (run.junit, junit_error(message, type(exc).__name__)),
    ):
        if not path:
            continue
        try:
            if text is None:
                write_report(path, {"losscli": __version__, "passed": False, "error": message})
            else:
                write_text_atomic(path, text)
        except LossCliError:
            pass  # the error that stopped the check is the one to show
    _github_failed()


def _github_failed() -> None:
    """passed=false for later steps; quietly skipped when GITHUB_OUTPUT is what failed."""
    path = _output_path()
    if path:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("passed=false\n")
        except OSError:
            pass
