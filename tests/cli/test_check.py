"""`losscli check`: gates, baselines, tolerances, config files, JUnit, GitHub outputs.

Every test runs the CLI in-process (`invoke`) in its own tmp directory (so no config file
of the repository is picked up) and checks the exit code of SPEC §6: 0 every gate passes,
1 a gate fails, 2 a usage or input error (an `error:` line on stderr, never a silent pass).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli.conftest import (
    BINARY,
    assert_usage_error,
    edit_report,
    gate_json,
    invoke,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_data"
REGRESSION = str(DATA / "regression.csv")
# binary.csv has id, prob, logit, label: name the prediction column
B = [BINARY, "--pred-col", "prob"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "LOSSCLI_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


# --- exit codes -----------------------------------------------------------------------


def test_exit_0_when_every_gate_passes():
    code, out, err = invoke(
        ["check", *B, "--max", "bce=0.3", "--max", "mse=0.1", "--min", "mae=0.01"]
    )
    assert code == 0, err
    assert "PASSED" in out


def test_exit_1_when_any_gate_fails():
    code, out, err = invoke(["check", *B, "--max", "bce=0.3", "--max", "mse=0.001"])
    assert code == 1, (out, err)
    assert "FAIL" in out
    assert not err.startswith("error:")


def test_exit_1_when_a_min_gate_fails():
    code, out, _ = invoke(["check", *B, "--min", "bce=0.5"])
    assert code == 1
    assert "FAIL" in out


def test_exit_2_when_there_are_no_gates():
    assert_usage_error(*invoke(["check", *B]), "no gates")


def test_exit_2_on_input_error():
    assert_usage_error(*invoke(["check", "nope.csv", "--max", "bce=1"]), "nope.csv")


def test_exit_2_on_unknown_option():
    assert_usage_error(*invoke(["check", *B, "--max", "bce=1", "--frobnicate"]))


# --- bounds: exact values, aliases, repetition ----------------------------------------


def test_value_equal_to_its_bound_passes_for_every_loss(binary_losses):
    argv = []
    for name, value in binary_losses.items():
        assert value is not None and math.isfinite(value)
        argv += ["--max", f"{name}={value!r}", "--min", f"{name}={value!r}"]
    code, doc, err = gate_json(*B, *argv)
    assert code == 0, [g for g in doc["gates"] if not g["passed"]]
    assert len(doc["gates"]) == 2 * len(binary_losses)
    assert all(g["value"] == g["bound"] for g in doc["gates"])
    assert all(g["passed"] for g in doc["gates"])


def test_one_ulp_beyond_the_bound_fails(binary_losses):
    v = binary_losses["bce"]
    assert invoke(["check", *B, "--max", f"bce={math.nextafter(v, 0)!r}"]).code == 1
    assert invoke(["check", *B, "--min", f"bce={math.nextafter(v, 1)!r}"]).code == 1


@pytest.mark.parametrize("alias", ["log_loss", "logloss", "binary_crossentropy", "BCE"])
def test_gate_on_an_alias_gates_the_loss(alias, binary_losses):
    code, doc, _ = gate_json(*B, "--max", f"{alias}=0.3")
    assert code == 0
    assert [(g["loss"], g["kind"], g["bound"]) for g in doc["gates"]] == [("bce", "max", 0.3)]
    assert doc["gates"][0]["value"] == binary_losses["bce"]


def test_gate_on_l1_alias_and_min_of_the_same_loss():
    code, doc, _ = gate_json(*B, "--max", "l1=0.1", "--min", "mae=0.01")
    assert code == 0
    assert {(g["loss"], g["kind"]) for g in doc["gates"]} == {("mae", "max"), ("mae", "min")}


def test_gated_loss_outside_loss_list_is_computed():
    code, doc, err = gate_json(*B, "--loss", "mse", "--max", "bce=0.3")
    assert code == 0, err
    assert "bce" in doc["losses"] and "mse" in doc["losses"]
    assert [g["loss"] for g in doc["gates"]] == ["bce"]


# --- malformed gates, unknown losses, losses the task does not have -------------------


@pytest.mark.parametrize(
    "gate",
    ["mse=abc", "=1", "mse", "mse=", "mse=nan", "mse=inf", "mse=-inf", " =0.3"],
)
@pytest.mark.parametrize("flag", ["--max", "--min"])
def test_malformed_gate_is_exit_2(flag, gate):
    assert_usage_error(*invoke(["check", *B, flag, gate]), flag)


def test_unknown_loss_is_exit_2_and_suggests():
    assert_usage_error(*invoke(["check", *B, "--max", "hueber=1"]), "hueber", "huber")


def test_unknown_loss_among_good_gates_is_exit_2():
    assert_usage_error(*invoke(["check", *B, "--max", "bce=1", "--min", "nope=0"]), "nope")


def test_gate_on_loss_the_task_does_not_have_is_exit_2():
    assert_usage_error(*invoke(["check", REGRESSION, "--max", "bce=1"]), "bce", "regression")


def test_gate_on_loss_the_task_does_not_have_with_loss_list():
    code, out, err = invoke(
        ["check", REGRESSION, "--loss", "mse", "--max", "ce=1", "--format", "json"]
    )
    assert_usage_error(code, out, err, "regression")
    assert out == ""


def test_gate_on_loss_the_forced_task_does_not_have():
    assert_usage_error(*invoke(["check", *B, "--task", "regression", "--max", "hinge=1"]), "hinge")


# --- same inputs and options as eval --------------------------------------------------


@pytest.mark.parametrize(
    "inputs",
    [
        [str(DATA / "binary_preds.csv"), str(DATA / "binary_labels.csv"), "--id-col", "id"],
        [str(DATA / "binary_preds.npy"), str(DATA / "binary_labels.npy")],
        [str(DATA / "binary.parquet"), "--pred-col", "prob", "--label-col", "label"],
    ],
    ids=["two-csv", "npy", "parquet"],
)
def test_check_reads_what_eval_reads(inputs, binary_losses):
    code, doc, err = gate_json(*inputs, "--max", "bce=0.3")
    assert code == 0, err
    assert doc["task"] == "binary" and doc["n_samples"] == 143
    assert doc["losses"]["bce"] == pytest.approx(binary_losses["bce"], rel=1e-12)


def test_check_takes_eval_options(binary_losses):
    code, doc, err = gate_json(BINARY, "--pred-col", "logit", "--from-logits", "--max", "bce=0.3")
    assert code == 0, err
    assert doc["options"]["from_logits"] is True
    assert doc["losses"]["bce"] == pytest.approx(binary_losses["bce"], rel=1e-6)
    code, doc, _ = gate_json(*B, "--eps", "1e-7", "--huber-delta", "0.5", "--max", "bce=1")
    assert doc["options"]["eps"] == 1e-7 and doc["options"]["huber_delta"] == 0.5


def test_check_values_match_eval_exactly(binary_losses):
    code, doc, _ = gate_json(*B, "--max", "bce=1")
    assert doc["losses"] == binary_losses


# --- output formats -------------------------------------------------------------------


def test_json_has_gates_and_passed(binary_losses):
    code, doc, _ = gate_json(*B, "--max", "bce=0.3", "--min", "mse=0.5")
    assert code == 1
    assert doc["passed"] is False
    for key in ("losscli", "task", "n_samples", "sum_weights", "losses", "options", "inputs"):
        assert key in doc
    gates = {(g["loss"], g["kind"]): g for g in doc["gates"]}
    assert set(gates) == {("bce", "max"), ("mse", "min")}
    for g in doc["gates"]:
        assert {"loss", "kind", "bound", "value", "passed"} <= set(g)
    assert gates[("bce", "max")]["passed"] is True
    assert gates[("bce", "max")]["bound"] == 0.3
    assert gates[("bce", "max")]["value"] == binary_losses["bce"]
    assert gates[("mse", "min")]["passed"] is False
    assert gates[("mse", "min")]["value"] == binary_losses["mse"]


def test_json_passed_true():
    code, doc, _ = gate_json(*B, "--max", "bce=0.3")
    assert code == 0 and doc["passed"] is True


def test_table_shows_each_gate():
    code, out, _ = invoke(
        ["check", *B, "--max", "bce=0.3", "--max", "mse=0.001", "--min", "mae=0.01"]
    )
    assert code == 1
    header = next(line for line in out.splitlines() if "loss" in line and "bound" in line)
    for word in ("loss", "value", "bound", "margin"):
        assert word in header
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "0.3" in lines["bce"] and "pass" in lines["bce"]
    assert "max" in lines["mse"] and "FAIL" in lines["mse"]
    assert "min" in lines["mae"] and "pass" in lines["mae"]
    assert "FAILED" in out and "mse" in out.split("FAILED")[1]


def test_table_shows_the_baseline(baseline):
    code, out, _ = invoke(
        ["check", *B, "--loss", "bce", "--baseline", baseline, "--tolerance", "2%"]
    )
    assert code == 0
    line = next(x for x in out.splitlines() if x.strip().startswith("bce"))
    assert "baseline" in line and "pass" in line


def test_markdown_for_a_pull_request():
    code, out, _ = invoke(
        ["check", *B, "--max", "bce=0.3", "--max", "mse=0.001", "--format", "markdown"]
    )
    assert code == 1
    assert "losscli check" in out
    rows = [x for x in out.splitlines() if x.startswith("|")]
    assert "loss" in rows[0] and "bound" in rows[0] and "margin" in rows[0]
    assert re.match(r"^\|[\s:|-]+\|$", rows[1])
    body = rows[2:]
    assert len(body) == 2
    assert any("bce" in r and "pass" in r for r in body)
    assert any("mse" in r and "FAIL" in r for r in body)


def test_csv_format_one_row_per_gate():
    code, out, _ = invoke(
        ["check", *B, "--max", "bce=0.3", "--max", "mse=0.001", "--format", "csv"]
    )
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].split(",")[:2] == ["loss", "kind"]


# --- baselines ------------------------------------------------------------------------


def test_eval_save_writes_a_spec_report(baseline, binary_losses):
    doc = json.loads(baseline.read_text())
    assert doc["task"] == "binary" and doc["n_samples"] == 143
    assert doc["losses"] == binary_losses
    assert "losscli" in doc and "options" in doc


def test_baseline_equal_passes_without_tolerance(baseline, binary_losses):
    code, doc, err = gate_json(*B, "--baseline", baseline)
    assert code == 0, err
    kinds = {g["kind"] for g in doc["gates"]}
    assert kinds == {"baseline"}
    # M3: ce and kl are bce on a binary task, gated once as bce
    assert {g["loss"] for g in doc["gates"]} == set(binary_losses) - {"ce", "kl"}
    assert all(g["value"] == g["bound"] for g in doc["gates"])


def test_baseline_worse_beyond_tolerance_fails(baseline, binary_losses):
    edit_report(baseline, bce=binary_losses["bce"] * 0.95)  # we are now 5.3% worse on bce
    code, doc, _ = gate_json(*B, "--baseline", baseline, "--tolerance", "2%")
    assert code == 1
    failed = [g for g in doc["gates"] if not g["passed"]]
    assert [(g["loss"], g["kind"]) for g in failed] == [("bce", "baseline")]
    assert failed[0]["bound"] == pytest.approx(binary_losses["bce"] * 0.95 * 1.02)
    assert doc["passed"] is False


@pytest.mark.parametrize(
    "tolerances, expected",
    [
        (["2%"], 1),
        (["10%"], 0),
        (["2%", "bce=10%"], 0),
        (["10%", "bce=1%"], 1),
        (["2%", "log_loss=10%"], 0),
        (["abs:0.01"], 0),
        (["abs:0.001"], 1),
        (["bce=abs:0.01"], 0),
    ],
)
def test_tolerances(baseline, binary_losses, tolerances, expected):
    edit_report(baseline, bce=binary_losses["bce"] * 0.95)
    argv = [x for t in tolerances for x in ("--tolerance", t)]
    code, out, err = invoke(["check", *B, "--baseline", baseline, *argv])
    assert code == expected, (out, err)


def test_baseline_better_now_passes(baseline, binary_losses):
    edit_report(baseline, bce=binary_losses["bce"] * 1.5)
    assert invoke(["check", *B, "--baseline", baseline]).code == 0


def test_baseline_and_bounds_together(baseline):
    code, doc, _ = gate_json(*B, "--loss", "bce", "--baseline", baseline, "--max", "mse=0.001")
    assert code == 1
    kinds = {(g["loss"], g["kind"]): g["passed"] for g in doc["gates"]}
    assert kinds[("mse", "max")] is False
    assert kinds[("bce", "baseline")] is True


def test_check_report_is_a_baseline():
    code, _, err = invoke(["check", *B, "--max", "bce=0.3", "--report", "r.json"])
    assert code == 0, err
    doc = json.loads(Path("r.json").read_text())
    assert doc["passed"] is True and doc["gates"][0]["loss"] == "bce"
    code, doc2, err = gate_json(*B, "--baseline", "r.json", "--tolerance", "abs:0")
    assert code == 0, err
    assert {g["loss"] for g in doc2["gates"]} == set(doc["losses"]) - {"ce", "kl"}  # M3


def test_report_is_written_when_a_gate_fails():
    code, _, _ = invoke(["check", *B, "--max", "bce=0.01", "--report", "r.json"])
    assert code == 1
    doc = json.loads(Path("r.json").read_text())
    assert doc["passed"] is False
    assert doc["gates"][0]["passed"] is False


@pytest.mark.parametrize(
    "tolerance", ["-2%", "abs:-0.01", "bce=-1%", "rel:-0.1", "-0.02", "nan%", "two%", "abs:"]
)
def test_bad_tolerance_is_exit_2(baseline, tolerance):
    assert_usage_error(
        *invoke(["check", *B, "--baseline", baseline, f"--tolerance={tolerance}"]), "--tolerance"
    )


def test_tolerance_on_unknown_loss_is_exit_2(baseline):
    assert_usage_error(*invoke(["check", *B, "--baseline", baseline, "--tolerance", "hueber=1%"]))


def test_tolerance_without_baseline_is_exit_2():
    assert_usage_error(*invoke(["check", *B, "--max", "bce=1", "--tolerance", "2%"]), "baseline")


def test_baseline_missing_is_exit_2():
    assert_usage_error(*invoke(["check", *B, "--baseline", "nope.json"]), "nope.json")


@pytest.mark.parametrize(
    "content",
    ["{not json", "", "\x00\x01binary", "[1, 2, 3]", '{"a": 1}', '{"losses": {"bce": 0.1}}',
     '{"losscli": "0.1.0"}', '{"losscli": "0.1.0", "losses": [0.1]}', "null"],
    ids=["broken", "empty", "binary", "list", "other", "no-version", "no-losses",
         "losses-list", "null"],
)  # fmt: skip
def test_baseline_not_a_report_is_exit_2(content):
    Path("b.json").write_text(content)
    assert_usage_error(*invoke(["check", *B, "--max", "bce=1", "--baseline", "b.json"]), "b.json")


def test_baseline_from_another_task_is_exit_2():
    assert invoke(["eval", *B, "--task", "regression", "--save", "reg.json"]).code == 0
    assert_usage_error(*invoke(["check", *B, "--baseline", "reg.json"]), "reg.json", "task")


def test_baseline_from_regression_data_is_exit_2():
    assert invoke(["eval", REGRESSION, "--loss", "mse", "--save", "reg.json"]).code == 0
    assert_usage_error(*invoke(["check", *B, "--baseline", "reg.json"]), "reg.json")


def test_baseline_with_other_n_samples_is_exit_2(baseline):
    edit_report(baseline, n_samples=142)
    assert_usage_error(*invoke(["check", *B, "--baseline", baseline]), "n_samples")


@pytest.mark.parametrize(
    "saved, checked",
    [
        (["--eps", "1e-7"], []),
        ([], ["--eps", "1e-7"]),
        (["--huber-delta", "2"], []),
        (["--label-smoothing", "0.1"], []),
        (["--class-weight", "balanced"], []),
        (["--focal-gamma", "1"], []),
    ],
)
def test_baseline_with_other_options_is_exit_2(saved, checked):
    assert invoke(["eval", *B, *saved, "--save", "b.json"]).code == 0
    assert_usage_error(*invoke(["check", *B, *checked, "--baseline", "b.json"]), "b.json")


def test_baseline_with_other_from_logits_is_exit_2():
    assert (
        invoke(["eval", BINARY, "--pred-col", "logit", "--from-logits", "--save", "b.json"]).code
        == 0
    )
    assert_usage_error(*invoke(["check", *B, "--baseline", "b.json"]), "from_logits")


def test_baseline_with_same_nondefault_options_passes():
    opts = ["--eps", "1e-7", "--huber-delta", "2"]
    assert invoke(["eval", *B, *opts, "--save", "b.json"]).code == 0
    assert invoke(["check", *B, *opts, "--baseline", "b.json"]).code == 0


def test_baseline_with_other_weights_is_exit_2(baseline):
    assert_usage_error(
        *invoke(["check", *B, "--weight-col", "id", "--baseline", baseline]), "weight"
    )


def test_baseline_with_a_null_loss_is_exit_2(baseline):
    edit_report(baseline, bce=None)
    assert_usage_error(*invoke(["check", *B, "--baseline", baseline]), "bce")


def test_baseline_with_no_losses_is_not_a_silent_pass(baseline):
    edit_report(baseline, losses={})
    assert_usage_error(*invoke(["check", *B, "--baseline", baseline]))


def test_baseline_with_a_string_loss_is_exit_2(baseline):
    edit_report(baseline, bce="0.1")
    assert_usage_error(*invoke(["check", *B, "--baseline", baseline]), "bce")


# --- report files: whole or not at all -------------------------------------------------


def _must_not_evaluate(monkeypatch):
    import losscli.cli.check as check_mod

    def boom(*a, **k):
        raise AssertionError("evaluated before checking the output paths")

    monkeypatch.setattr(check_mod, "evaluate_files", boom)


@pytest.mark.parametrize("flag", ["--report", "--junit"])
@pytest.mark.parametrize("where", ["missing-dir/out.file", "adir"])
def test_unwritable_output_is_exit_2_before_computing(monkeypatch, flag, where):
    os.mkdir("adir")
    _must_not_evaluate(monkeypatch)
    code, out, err = invoke(["check", *B, "--max", "bce=1", flag, where])
    assert_usage_error(code, out, err, flag)
    assert not os.path.exists("missing-dir")
    assert os.listdir("adir") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_read_only_folder_is_exit_2_before_computing(monkeypatch):
    os.mkdir("ro")
    os.chmod("ro", 0o555)
    _must_not_evaluate(monkeypatch)
    try:
        assert_usage_error(*invoke(["check", *B, "--max", "bce=1", "--report", "ro/r.json"]))
        assert os.listdir("ro") == []
    finally:
        os.chmod("ro", 0o755)


def test_existing_report_replaced_by_the_error_on_input_error():
    Path("r.json").write_text('{"old": true}\n')
    code, out, err = invoke(["check", "nope.csv", "--max", "bce=1", "--report", "r.json"])
    assert_usage_error(code, out, err)
    # D5: an old report must not survive an error (it could show a stale pass)
    doc = json.loads(Path("r.json").read_text())
    assert doc["passed"] is False and "nope.csv" in doc["error"] and "old" not in doc


def test_existing_report_replaced_by_the_error_on_gate_error():
    Path("r.json").write_text('{"old": true}\n')
    assert_usage_error(*invoke(["check", REGRESSION, "--max", "bce=1", "--report", "r.json"]))
    doc = json.loads(Path("r.json").read_text())  # D5
    assert doc["passed"] is False and "bce" in doc["error"] and "old" not in doc


def test_existing_report_replaced_whole():
    Path("r.json").write_text("x" * 100_000)
    assert invoke(["check", *B, "--max", "bce=1", "--report", "r.json"]).code == 0
    assert json.loads(Path("r.json").read_text())["passed"] is True


def _disk_full(monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)


def test_failed_write_leaves_old_report_and_no_temp_file(monkeypatch):
    Path("r.json").write_text('{"old": true}\n')
    _disk_full(monkeypatch)
    code, out, err = invoke(["check", *B, "--max", "bce=1", "--report", "r.json"])
    assert code != 0, (out, err)
    assert err.startswith("error:")
    assert Path("r.json").read_text() == '{"old": true}\n'
    assert sorted(os.listdir(".")) == ["r.json"]


def test_failed_write_is_an_input_error_not_a_bug(monkeypatch):
    _disk_full(monkeypatch)
    code, out, err = invoke(["check", *B, "--max", "bce=1", "--report", "r.json"])
    assert_usage_error(code, out, err, "r.json")
    assert "internal error" not in err


# --- JUnit ----------------------------------------------------------------------------


def _junit(path="j.xml"):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases = [c for s in suites for c in s.iter("testcase")]
    return root, suites, cases


def test_junit_one_testcase_per_gate(binary_losses):
    code, _, err = invoke(["check", *B, "--max", "bce=0.3", "--max", "mse=0.001", "--min", "mae=0.5",
        "--junit", "j.xml"])  # fmt: skip
    assert code == 1, err
    root, suites, cases = _junit()
    assert len(cases) == 3
    assert sum(int(s.get("tests")) for s in suites) == 3
    assert sum(int(s.get("failures")) for s in suites) == 2
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert sum(f is not None for f in failures.values()) == 2
    mse = next(f for name, f in failures.items() if name.startswith("mse"))
    text = (mse.get("message") or "") + (mse.text or "")
    assert repr(binary_losses["mse"]) in text or f"{binary_losses['mse']:.7g}" in text
    assert "0.001" in text


def test_junit_all_pass():
    assert invoke(["check", *B, "--max", "bce=0.3", "--junit", "j.xml"]).code == 0
    _, suites, cases = _junit()
    assert len(cases) == 1
    assert sum(int(s.get("failures")) for s in suites) == 0
    assert cases[0].find("failure") is None


def test_junit_baseline_failure_carries_the_baseline(baseline, binary_losses):
    old = binary_losses["bce"] * 0.9
    edit_report(baseline, bce=old)
    code, _, _ = invoke(
        ["check", *B, "--baseline", baseline, "--tolerance", "2%", "--junit", "j.xml"]
    )
    assert code == 1
    _, suites, cases = _junit()
    assert len(cases) == len(binary_losses) - 2  # M3: not ce and kl, which are bce
    assert sum(int(s.get("failures")) for s in suites) == 1
    (bad,) = [c for c in cases if c.find("failure") is not None]
    failure = bad.find("failure")
    text = (failure.get("message") or "") + (failure.text or "")
    assert "bce" in text
    assert repr(old) in text
    assert repr(binary_losses["bce"]) in text
    props = {p.get("name"): p.get("value") for p in bad.iter("property")}
    assert float(props["baseline"]) == old
    assert float(props["value"]) == binary_losses["bce"]


def test_junit_holds_the_error_on_usage_error():
    assert_usage_error(*invoke(["check", *B, "--max", "hueber=1", "--junit", "j.xml"]))
    _, suites, cases = _junit()  # D5: one test case with an <error>, never a pass
    assert len(cases) == 1 and cases[0].find("error") is not None
    assert "hueber" in cases[0].find("error").get("message")


# --- GitHub Actions -------------------------------------------------------------------


def test_github_error_commands_and_summary(monkeypatch, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = invoke(
        ["check", *B, "--max", "bce=0.3", "--max", "mse=0.001", "--min", "mae=0.5"]
    )
    assert code == 1
    errors = [x for x in err.splitlines() if x.startswith("::error")]
    assert len(errors) == 2
    assert any("mse" in x for x in errors) and any("mae" in x for x in errors)
    assert not any("bce" in x.split("::")[-1] for x in errors)
    assert "::error" not in out
    text = summary.read_text()
    assert text.startswith("previous step\n")
    added = text[len("previous step\n") :]
    assert "mse" in added and "bce" in added and "FAIL" in added
    assert "|" in added


def test_github_passing_gates_no_error_commands(monkeypatch, tmp_path):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = invoke(["check", *B, "--max", "bce=0.3"])
    assert code == 0
    assert "::error" not in err + out
    assert "bce" in summary.read_text()


def test_summary_appended_twice(monkeypatch, tmp_path):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    invoke(["check", *B, "--max", "bce=0.3"])
    first = summary.read_text()
    invoke(["check", *B, "--max", "mse=0.3"])
    second = summary.read_text()
    assert second.startswith(first) and len(second) > len(first)


def test_no_github_output_outside_actions(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = invoke(["check", *B, "--max", "mse=0.001"])
    assert code == 1
    assert "::error" not in err
    assert not summary.exists()


def test_unwritable_step_summary_is_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    assert_usage_error(*invoke(["check", *B, "--max", "bce=0.3"]), "summary")


# --- README's CI commands -------------------------------------------------------------


def _readme_ci_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^(#+)\s+[^\n]*\bCI\b[^\n]*\n(.*?)(?=^\1\s|\Z)", text, re.M | re.S)
    if not match:
        return []
    blocks = re.findall(r"```(?:sh|bash|shell|console|yaml|toml)?\n(.*?)```", match.group(2), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            # shell lines, and the commands of GitHub (`- run: ...`) and GitLab (`- ...`) jobs
            line = line.strip().removeprefix("$ ").removeprefix("- ").removeprefix("run: ").strip()
            if re.match(r"^(\S*/)?losscli\s", line):
                commands.append(line)
    return commands


def test_readme_ci_commands_run_on_sample_data():
    """Each losscli command of the README's CI section, as written, from the repo root."""
    commands = _readme_ci_commands()
    assert commands, "README.md has no CI section with losscli commands"
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    before = set(os.listdir(REPO))
    try:
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    finally:
        # files the commands wrote into the repo root (reports, JUnit) are removed again
        for name in set(os.listdir(REPO)) - before:
            if any(name in c for c in commands) and (REPO / name).is_file():
                (REPO / name).unlink()


def test_check_judges_as_the_library_gate_check_does(tmp_path):
    # The CLI parses and prints; the gates are losscli.gate.check's. The same baseline,
    # tolerances and bounds given to the library (on the reports `eval --save` writes)
    # give the very gates, verdict and notes of `check -f json`.
    from losscli import gate
    from losscli.report import read_report

    # the baseline's model was less wrong on data row 10 (label 0): 0.5 where now 0.91
    lines = (DATA / "binary.csv").read_text().splitlines()
    row = lines[10].split(",")
    assert (row[1], row[3]) == ("0.90992436060660542", "0")
    row[1] = "0.5"
    Path("old.csv").write_text("\n".join([*lines[:10], ",".join(row), *lines[11:]]) + "\n")
    assert invoke(["eval", "old.csv", "--pred-col", "prob", "--save", "base.json", "-q"]).code == 0
    assert invoke(["eval", *B, "--save", "new.json", "-q"]).code == 0
    flags = ["--tolerance", "1%", "--tolerance", "mse=abs:0.001", "--max", "bce=0.1"]
    code, document, err = gate_json(*B, "--baseline", "base.json", *flags)
    checked = gate.check(
        read_report("new.json"),
        baseline=read_report("base.json"),
        tolerance="1%",
        tolerances={"mse": "abs:0.001"},
        max={"bce": 0.1},
    )
    assert document["gates"] == json.loads(json.dumps(checked.to_dict()["gates"]))
    assert document["passed"] is checked.passed
    assert code == (0 if checked.passed else 1)
    notes = checked.format_notes("cli")
    assert [line.removeprefix("note: ") for line in err.splitlines()] == notes
    assert len(checked.verdicts) > 2 and "ce" not in [v.gate.loss for v in checked.verdicts]
    # bce regressed by (ln 0.5 − ln 0.09)/143 ≈ 0.012, far beyond 1%; its max passes
    verdicts = {(v.gate.loss, v.gate.kind): v.passed for v in checked.verdicts}
    assert verdicts[("bce", "max")] is True and verdicts[("bce", "baseline")] is False
    assert code == 1
