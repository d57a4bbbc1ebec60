"""Issue 9, `check` findings: which losses a baseline gates (M3), --reduction none (M1),
repeated gates (M9), error artefacts on exit 2 (D5), outputs that would destroy an input
(D1, D4), GitHub step outputs (M9), the help text (E9) and `compare --name a,b` (E8).

Each test runs the CLI end to end in its own folder; numbers are checked against
scikit-learn or against the baseline's own values worked by hand.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from tests.cli.conftest import invoke

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_data"
B = ["b.csv", "--pred-col", "prob", "--label-col", "label"]


@pytest.fixture(autouse=True)
def _folder(chdir_tmp, monkeypatch):
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "LOSSCLI_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    shutil.copy(DATA / "binary.csv", "b.csv")
    return chdir_tmp


@pytest.fixture
def base() -> Path:
    """A baseline of b.csv written by `eval --save`."""
    r = invoke(["eval", *B, "-q", "--save", "base.json"])
    assert r.code == 0, r.err
    return Path("base.json")


def check_json(*argv, env=None):
    r = invoke(["check", *argv, "-f", "json"], env=env)
    assert r.code in (0, 1), r.err
    return r, json.loads(r.out)


def edit_losses(path: Path, factor: float) -> dict[str, float]:
    """Scale every loss of a baseline (factor < 1: the model now looks worse)."""
    doc = json.loads(path.read_text())
    doc["losses"] = {k: v * factor for k, v in doc["losses"].items()}
    path.write_text(json.dumps(doc))
    return doc["losses"]


def assert_error(r, *needles):
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.count("error: ") == 1 and "Traceback" not in r.err, r.err
    for needle in needles:
        assert needle in r.err, (needle, r.err)


# --- M3: which losses a baseline gates ---------------------------------------------------


def test_M3_loss_flag_limits_the_baseline_gates(base):
    r, doc = check_json(*B, "--baseline", base, "--tolerance", "2%", "-l", "bce")
    assert [(g["loss"], g["kind"]) for g in doc["gates"]] == [("bce", "baseline")]
    bce = json.loads(base.read_text())["losses"]["bce"]
    assert doc["gates"][0]["bound"] == bce + abs(bce) * 0.02


def test_M3_per_loss_tolerance_gates_only_that_loss_never_zero_for_the_others(base):
    # the model is 0.05 % worse on every loss: a zero tolerance would fail all of them
    old = edit_losses(base, 1 / 1.0005)
    r, doc = check_json(*B, "--baseline", base, "--tolerance", "bce=5%")
    assert r.code == 0, r.err
    assert [g["loss"] for g in doc["gates"]] == ["bce"]
    assert doc["gates"][0]["bound"] == old["bce"] + old["bce"] * 0.05
    note = next(line for line in r.err.splitlines() if "no tolerance for" in line)
    for loss in ("mse", "hinge", "ce", "kl", "dice"):
        assert loss in note


def test_M3_binary_default_gates_bce_once_not_ce_and_kl(base):
    r, doc = check_json(*B, "--baseline", base, "--tolerance", "2%")
    gated = [g["loss"] for g in doc["gates"]]
    assert "bce" in gated and "ce" not in gated and "kl" not in gated
    assert len(gated) == len(doc["losses"]) - 2 == len(set(gated))
    # all three are the same number here, as scikit-learn's log_loss
    df = pd.read_csv("b.csv")
    assert doc["losses"]["ce"] == doc["losses"]["kl"] == doc["losses"]["bce"]
    assert doc["losses"]["bce"] == pytest.approx(log_loss(df.label, df.prob), rel=1e-13)
    assert "ce and kl are not gated against the baseline" in r.err
    # asked for by name, they are gated
    _, doc = check_json(*B, "--baseline", base, "--tolerance", "2%", "-l", "bce,ce,kl")
    assert [g["loss"] for g in doc["gates"]] == ["bce", "ce", "kl"]


def test_M3_multiclass_default_gates_ce_once_not_kl():
    shutil.copy(DATA / "multiclass.csv", "m.csv")
    m = ["m.csv", "--pred-col", "p_*", "--label-col", "species"]
    assert invoke(["eval", *m, "-q", "--save", "mb.json"]).code == 0
    r, doc = check_json(*m, "--baseline", "mb.json", "--tolerance", "1%")
    gated = [g["loss"] for g in doc["gates"]]
    assert "ce" in gated and "kl" not in gated
    assert doc["losses"]["kl"] == doc["losses"]["ce"]
    assert "kl is not gated against the baseline" in r.err


def test_M3_no_tolerance_at_all_says_so(base):
    r, doc = check_json(*B, "--baseline", base, "-l", "bce,mse")
    assert r.code == 0
    assert [(g["loss"], g["tolerance"]) for g in doc["gates"]] == [
        ("bce", "abs:0"),
        ("mse", "abs:0"),
    ]
    assert "no tolerance given" in r.err


def test_M3_loss_missing_from_the_baseline_is_an_error(base):
    doc = json.loads(base.read_text())
    del doc["losses"]["mse"]
    base.write_text(json.dumps(doc))
    assert_error(invoke(["check", *B, "--baseline", base, "--tolerance", "1%", "-l", "mse"]), "mse")


# --- M1: check refuses --reduction none ------------------------------------------------


@pytest.mark.parametrize("where", ["flag", "settings"])
def test_M1_check_refuses_reduction_none(where):
    argv = ["check", *B, "--max", "bce=1"]
    if where == "flag":
        argv += ["--reduction", "none"]
    else:
        Path("losscli.toml").write_text('reduction = "none"\n')
    r = invoke(argv)
    assert_error(r, "--reduction none")
    assert r.out == ""


# --- M9: a repeated gate is an error, never the last one winning -------------------------


@pytest.mark.parametrize(
    "flags, needles",
    [
        (["--max", "bce=0.1", "--max", "bce=0.2"], ["--max", "bce", "0.1", "0.2"]),
        (["--max", "bce=0.2", "--max", "log_loss=0.1"], ["--max", "bce", "0.2", "0.1"]),
        (["--min", "mse=0.01", "--min", "l2=0.02"], ["--min", "mse", "0.01", "0.02"]),
        (["--tolerance", "2%", "--tolerance", "abs:0.01"], ["--tolerance", "2%", "abs:0.01"]),
        (["--tolerance", "bce=1%", "--tolerance", "bce=9%"], ["--tolerance", "bce", "1%", "9%"]),
    ],
)
def test_M9_repeated_gate_flag_is_an_error_naming_both(base, flags, needles):
    assert_error(invoke(["check", *B, "--baseline", base, *flags]), *needles)


def test_M9_repeated_gate_in_settings_by_alias_is_an_error():
    Path("losscli.toml").write_text("max = { bce = 0.1, log_loss = 0.5 }\n")
    assert_error(invoke(["check", *B]), "losscli.toml", "bce", "0.1", "0.5")
    # the same bound twice loosens nothing: one gate
    Path("losscli.toml").write_text("max = { bce = 0.1, log_loss = 0.1 }\n")
    r, doc = check_json(*B, "--max", "mse=0.1", "--max", "l2=0.1")
    assert [(g["loss"], g["bound"]) for g in doc["gates"]] == [("bce", 0.1), ("mse", 0.1)]


# --- D5: error artefacts -----------------------------------------------------------------


def _green_artefacts():
    r = invoke(["check", *B, "--max", "bce=0.1", "--junit", "j.xml", "--report", "r.json"])
    assert r.code == 0, r.err
    assert 'failures="0"' in Path("j.xml").read_text()


@pytest.mark.parametrize(
    "case",
    ["missing-file", "unknown-loss", "broken-settings", "baseline-not-comparable", "reduction"],
)
def test_D5_junit_and_report_hold_the_error_after_exit_2(base, case):
    _green_artefacts()
    argv = [*B, "--max", "bce=0.1"]
    if case == "missing-file":
        argv[0] = "missing.csv"
    elif case == "unknown-loss":
        argv[-1] = "hueber=0.1"
    elif case == "broken-settings":
        Path("losscli.toml").write_text("max = { bce = 0.1\n")
    elif case == "baseline-not-comparable":
        doc = json.loads(base.read_text())
        doc["n_samples"] = 7
        base.write_text(json.dumps(doc))
        argv += ["--baseline", str(base)]
    else:
        argv += ["--reduction", "none"]
    r = invoke(["check", *argv, "--junit", "j.xml", "--report", "r.json"])
    assert_error(r)
    message = r.err.strip().removeprefix("error: ")

    root = ET.parse("j.xml").getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == 1
    error = cases[0].find("error")
    assert error is not None and error.get("message") == message
    assert cases[0].find("failure") is None
    assert [s.get("errors") for s in root.iter("testsuite")] == ["1"]

    report = json.loads(Path("r.json").read_text())
    assert report["passed"] is False and report["error"] == message
    assert "gates" not in report and "losses" not in report  # never a usable baseline


def test_D5_error_report_is_refused_as_a_baseline():
    assert invoke(["check", "missing.csv", "--max", "bce=1", "--report", "r.json"]).code == 2
    assert json.loads(Path("r.json").read_text())["passed"] is False
    assert_error(invoke(["check", *B, "--baseline", "r.json"]), "r.json")


# --- D1, D4: outputs that would destroy an input or each other ---------------------------


@pytest.mark.parametrize(
    "extra, victim",
    [
        (["--report", "b.csv"], "b.csv"),
        (["--junit", "b.csv"], "b.csv"),
        (["--baseline", "base.json", "--report", "base.json"], "base.json"),
        (["--config", "gates.toml", "--junit", "gates.toml"], "gates.toml"),
    ],
)
def test_D1_D4_check_output_that_is_an_input_is_refused(base, extra, victim):
    Path("gates.toml").write_text("max = { mse = 1 }\n")
    before = Path(victim).read_bytes()
    r = invoke(["check", *B, "--max", "bce=1", *extra])
    assert_error(r, victim)
    assert Path(victim).read_bytes() == before


def test_D4_report_and_junit_on_one_path_is_refused():
    r = invoke(["check", *B, "--max", "bce=1", "--report", "out", "--junit", "out"])
    assert_error(r, "--report", "--junit")
    assert not Path("out").exists()


# --- M9: GitHub step outputs -------------------------------------------------------------


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_M9_github_output_gets_the_losses_and_passed(tmp_path):
    out = tmp_path / "gh_output"
    out.write_text("earlier=1\n")
    env = {"GITHUB_OUTPUT": str(out)}
    r, doc = check_json(*B, "--max", "bce=0.1", "-l", "bce,mse", env=env)
    assert r.code == 0
    found = _outputs(out)
    assert found.pop("earlier") == "1"  # appended, never replaced
    assert found == {"bce": repr(doc["losses"]["bce"]), "mse": repr(doc["losses"]["mse"]),
                     "passed": "true"}  # fmt: skip
    df = pd.read_csv("b.csv")
    assert float(found["bce"]) == pytest.approx(log_loss(df.label, df.prob), rel=1e-13)
    assert float(found["mse"]) == pytest.approx(np.mean((df.prob - df.label) ** 2), rel=1e-13)

    r = invoke(["check", *B, "--max", "bce=0.01", "-l", "bce"], env=env)
    assert r.code == 1
    assert out.read_text().splitlines()[-1] == "passed=false"
    r = invoke(["check", "missing.csv", "--max", "bce=0.01"], env=env)
    assert r.code == 2
    assert out.read_text().splitlines()[-1] == "passed=false"


# --- E9: help text -----------------------------------------------------------------------


def test_E9_check_help_paragraph_after_the_examples_is_its_own():
    r = invoke(["check", "--help"])
    assert r.code == 0
    lines = r.out.splitlines()
    last_example = max(
        i for i, line in enumerate(lines) if line.strip().startswith("losscli check")
    )
    assert lines[last_example + 1].strip() == ""
    assert "losscli.toml" in " ".join(lines[last_example + 2 : last_example + 6])


# --- E8: compare --name a,b --------------------------------------------------------------


def test_E8_compare_name_takes_a_comma_list():
    for name in ("binary_preds.csv", "binary_labels.csv"):
        shutil.copy(DATA / name, name)
    files = ["--labels", "binary_labels.csv", "binary_preds.csv", "binary_preds.csv", "-l", "bce"]
    a = invoke(["compare", *files, "--name", "old,new", "-f", "json"])
    b = invoke(["compare", *files, "--name", "old", "--name", "new", "-f", "json"])
    assert a.code == 0, a.err
    assert json.loads(a.out) == json.loads(b.out)
    assert list(json.loads(a.out)["models"]) == ["old", "new"]
    assert_error(invoke(["compare", *files, "--name", "old,"]), "--name")
