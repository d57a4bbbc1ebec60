"""Rendering `check` verdicts: a table, Markdown (pull requests, GitHub step summary),
JUnit XML (Jenkins, GitLab, GitHub test reporters) and GitHub workflow commands."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from losscli.render import format_number


def bound_text(v: Any) -> str:
    g = v.gate
    if g.kind == "baseline":
        return f"{format_number(g.bound)} (baseline {format_number(g.baseline)} + {g.tolerance})"
    return f"{g.kind} {format_number(g.bound)}"


def rows(verdicts: Sequence[Any], precision: int) -> list[list[str]]:
    return [
        [
            v.gate.label,
            format_number(v.value, precision),
            bound_text(v),
            format_number(v.margin, precision),
            "pass" if v.passed else "FAIL",
        ]
        for v in verdicts
    ]


HEADER = ["loss", "value", "bound", "margin", "result"]


def summary_line(verdicts: Sequence[Any]) -> str:
    failed = [v for v in verdicts if not v.passed]
    if failed:
        return f"FAILED: {len(failed)} of {len(verdicts)} gates: " + "; ".join(
            v.message() for v in failed
        )
    return f"PASSED: {len(verdicts)} of {len(verdicts)} gates"


def markdown(verdicts: Sequence[Any], title: str, precision: int) -> str:
    from losscli.render.markdown import table

    marked = [
        [*r[:4], "✅ pass" if r[4] == "pass" else "❌ FAIL"] for r in rows(verdicts, precision)
    ]
    head = "✅" if all(v.passed for v in verdicts) else "❌"
    return (
        f"### {head} losscli check\n\n{title}\n\n"
        + table(HEADER, marked, "lrlrl")
        + f"\n{summary_line(verdicts)}\n"
    )


def junit(verdicts: Sequence[Any], name: str = "losscli check") -> str:
    """JUnit XML, one test case per gate; failures carry value, bound and baseline."""
    failures = sum(not v.passed for v in verdicts)
    suites = ET.Element("testsuites", name=name, tests=str(len(verdicts)), failures=str(failures))
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=name,
        tests=str(len(verdicts)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for v in verdicts:
        g = v.gate
        case = ET.SubElement(
            suite,
            "testcase",
            classname="losscli.check",
            name=f"{g.label} {g.kind} {g.bound!r}",
            time="0",
        )
        ET.SubElement(case, "properties")
        props = case.find("properties")
        assert props is not None
        for key, value in (
            ("value", v.value),
            ("bound", g.bound),
            ("baseline", g.baseline),
            ("margin", v.margin),
        ):
            if value is not None:
                ET.SubElement(props, "property", name=key, value=repr(float(value)))
        if not v.passed:
            failure = ET.SubElement(case, "failure", message=v.message(), type="GateFailed")
            detail = f"value={v.value!r} bound={g.bound!r}"
            if g.baseline is not None:
                detail += f" baseline={g.baseline!r} tolerance={g.tolerance}"
            failure.text = detail
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def junit_error(message: str, kind: str = "InputError", name: str = "losscli check") -> str:
    """JUnit XML for a check that could not run (an input or usage error, exit 2): one
    test case holding an <error>, so a CI test report shows red, never an old green."""
    suites = ET.Element("testsuites", name=name, tests="1", failures="0", errors="1")
    suite = ET.SubElement(
        suites, "testsuite", name=name, tests="1", failures="0", errors="1", skipped="0"
    )
    case = ET.SubElement(suite, "testcase", classname="losscli.check", name=name, time="0")
    error = ET.SubElement(case, "error", message=message, type=kind)
    error.text = f"error: {message}"
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def github_commands(verdicts: Sequence[Any]) -> str:
    """`::error` workflow commands for failed gates (GitHub escapes: %, CR, LF)."""

    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    return "".join(
        f"::error title=losscli gate failed::{esc(v.message())}\n" for v in verdicts if not v.passed
    )
