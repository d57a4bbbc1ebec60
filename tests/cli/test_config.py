"""Settings files (`losscli.toml`, `[tool.losscli]` in pyproject.toml, `--config FILE`).

Gates, baselines and default options that `check` takes from a settings file, and how flags
replace them. Issue 9's findings: values checked against their flag's type and range (W5,
C4), files that are not UTF-8 (C4), the class-weight table (C4), `[tool.losscli]` in
losscli.toml (M7) and the note that a settings file was read (M9).

Each test writes a settings file in its own folder and runs the CLI end to end; values are
checked against scikit-learn and against the same option given as a flag.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from tests.cli.conftest import BINARY, assert_usage_error, edit_report, gate_json, invoke

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_data"
B = ["b.csv", "--pred-col", "prob", "--label-col", "label"]
REGRESSION = str(DATA / "regression.csv")


@pytest.fixture(autouse=True)
def _folder(chdir_tmp, monkeypatch):
    for var in (
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "LOSSCLI_DEBUG",
        "NO_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    shutil.copy(DATA / "binary.csv", "b.csv")
    return chdir_tmp


def settings(text: str | bytes, name: str = "losscli.toml") -> None:
    Path(name).write_bytes(text.encode() if isinstance(text, str) else text)


def losses(*argv) -> dict[str, float]:
    r = invoke(["eval", *B, *argv, "-f", "json"])
    assert r.code == 0, r.err
    return json.loads(r.out)["losses"]


def assert_error(r, *needles):
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.out == "", r.out
    assert r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    for needle in needles:
        assert needle in r.err, (needle, r.err)


# --- W5, C4: every value is checked against its flag's type and range --------------------


@pytest.mark.parametrize(
    "line, key, expected",
    [
        ('from-logits = "false"', "from-logits", "true or false"),
        ('renormalize = "yes"', "renormalize", "true or false"),
        ("renormalize = 1", "renormalize", "true or false"),
        ("focal-gamma = true", "focal-gamma", "a number"),
        ('eps = "tiny"', "eps", "a number"),
        ('label-smoothing = "0.1"', "label-smoothing", "a number"),
        ("huber-delta = [1]", "huber-delta", "a number"),
        ("dice-smooth = 1979-05-27", "dice-smooth", "a number"),
        ("precision = 0", "precision", "an integer from 1 to 17"),
        ("precision = 18", "precision", "an integer from 1 to 17"),
        ('precision = "3"', "precision", "an integer from 1 to 17"),
        ("precision = 3.0", "precision", "an integer from 1 to 17"),
        ("weight-col = 3", "weight-col", "a string"),
        ("id-col = true", "id-col", "a string"),
        ("loss = 5", "loss", "a string or a list of strings"),
        ('loss = ["bce", 5]', "loss", "a string or a list of strings"),
        ("pred-col = 5", "pred-col", "a string or a list of strings"),
        ('task = "bin"', "task", "one of auto, regression, binary, multiclass"),
        ("task = 1", "task", "one of auto, regression, binary, multiclass"),
        ('format = "yaml"', "format", "one of table, json"),
        ('nan-policy = "drop"', "nan-policy", "one of raise, omit"),
        ("class-weight = 3", "class-weight", "a string"),
        ("class-weight = { 0 = true }", "class-weight.0", "a number"),
        ('class-weight = { 0 = "2" }', "class-weight.0", "a number"),
        ("max = { bce = true }", "max.bce", "a number"),
        ('min = { bce = "0.1" }', "min.bce", "a number"),
        ("baseline = 3", "baseline", "a string"),
        ("tolerance = 0.02", "tolerance", "a string with a unit"),
        ("tolerance = { bce = 0.01 }", "tolerance.bce", "a string with a unit"),
    ],
)
def test_W5_C4_wrong_type_is_an_error_naming_file_key_and_type(line, key, expected):
    settings(line + "\n")
    r = invoke(["check", *B, "--max", "mse=1"])
    assert_error(r, "losscli.toml", f"key '{key}' must be {expected}", "(got ")
    # eval reads the same file the same way, with or without the flag on the command line
    assert_error(invoke(["eval", *B]), f"key '{key}'")


def test_W5_quoted_boolean_suggests_the_bare_one():
    settings('from-logits = "false"\n')
    assert_error(invoke(["eval", *B]), 'got "false"', "from-logits = false")


def test_W5_C4_right_types_give_what_the_flags_give():
    df = pd.read_csv("b.csv")
    settings(
        "huber-delta = 2\nlabel-smoothing = 0.1\nfrom-logits = false\nprecision = 3\n"
        'classes = ["0", "1"]\n'  # a TOML list for the flag's comma list
    )
    got = losses()
    flags = ["--huber-delta", "2", "--label-smoothing", "0.1", "--no-from-logits"]
    assert got == losses(*flags, "--classes", "0,1", "--config", "/dev/null")
    # Keras' smoothing for bce: y → y·(1 − s) + s/2
    y = df.label * 0.9 + 0.05
    p = df.prob.clip(np.finfo(float).eps, 1 - np.finfo(float).eps)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    assert got["bce"] == pytest.approx(expected, rel=1e-12)
    r = invoke(["eval", *B, "-l", "bce,huber"])  # precision = 3 in the table
    assert r.code == 0, r.err
    assert f" {got['bce']:.3f} " in r.out and f"{got['bce']:.6f}" not in r.out


# --- C4: a settings file that is not UTF-8 -------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "max = { bce = 0.1 }\n".encode("utf-16"),
        "max = { bce = 0.1 }\n".encode("utf-16-be"),
        'label-col = "étiquette"\n'.encode("latin-1"),
    ],
    ids=["utf-16-bom", "utf-16-be", "latin-1"],
)
@pytest.mark.parametrize("name", ["losscli.toml", "pyproject.toml"])
def test_C4_settings_not_utf8_is_an_error_naming_the_file(data, name):
    settings(data, name)
    assert_error(invoke(["check", *B]), name, "UTF-8")


def test_C4_utf8_with_a_byte_order_mark_is_read():
    settings(b"\xef\xbb\xbf" + b"max = { bce = 0.1 }\n")
    r = invoke(["check", *B, "-f", "json"])
    assert r.code == 0, r.err
    assert [g["bound"] for g in json.loads(r.out)["gates"]] == [0.1]


# --- C4: class-weight as a TOML table ------------------------------------------------------


def test_C4_class_weight_table_is_the_flag():
    df = pd.read_csv("b.csv")
    settings("class-weight = { 0 = 1, 1 = 3 }\n")
    got = losses("-l", "bce,mse")
    assert got == losses("-l", "bce,mse", "--class-weight", "0=1,1=3", "--config", "/dev/null")
    w = np.where(df.label == 1, 3.0, 1.0)
    assert got["bce"] == pytest.approx(log_loss(df.label, df.prob, sample_weight=w), rel=1e-13)
    settings("class-weight = { 0 = 1, 1 = 2.5 }\n")
    w = np.where(df.label == 1, 2.5, 1.0)
    got = losses("-l", "bce")
    assert got["bce"] == pytest.approx(log_loss(df.label, df.prob, sample_weight=w), rel=1e-13)


# --- M7: [tool.losscli] in losscli.toml -----------------------------------------------------


README_SNIPPET = """\
[tool.losscli]
max = { bce = 0.1, mse = 0.03 }
baseline = "reports/baseline.json"   # made by `losscli eval ... --save reports/baseline.json`
tolerance = { default = "2%", bce = "1%" }
pred-col = ["prob"]
label-col = ["label"]
"""


def test_M7_readme_snippet_works_in_losscli_toml():
    Path("reports").mkdir()
    assert invoke(["eval", *B, "-q", "--save", "reports/baseline.json"]).code == 0
    settings(README_SNIPPET)
    r = invoke(["check", "b.csv", "-f", "json"])
    assert r.code == 0, r.err
    gates = {(g["loss"], g["kind"]): g for g in json.loads(r.out)["gates"]}
    assert gates[("bce", "max")]["bound"] == 0.1 and gates[("mse", "max")]["bound"] == 0.03
    assert gates[("bce", "baseline")]["tolerance"] == "1%"
    assert gates[("mse", "baseline")]["tolerance"] == "2%"


def test_M7_top_level_keys_and_tool_table_together_is_an_error():
    settings('pred-col = "prob"\n' + README_SNIPPET)
    assert_error(invoke(["check", "b.csv"]), "losscli.toml", "[tool.losscli]", "pred-col")


# --- M9: a note says that a settings file was read ------------------------------------------


@pytest.mark.parametrize(
    "name, text",
    [
        ("losscli.toml", "label-smoothing = 0.1\n"),
        ("pyproject.toml", '[project]\nname = "x"\n[tool.losscli]\nlabel-smoothing = 0.1\n'),
    ],
)
def test_M9_settings_file_read_gets_a_note_unless_quiet(name, text):
    settings(text, name)
    r = invoke(["eval", *B, "-l", "bce", "-f", "csv"])
    assert r.code == 0, r.err
    assert f"note: settings from {name}\n" in r.err
    r = invoke(["eval", *B, "-l", "bce", "-f", "csv", "-q"])
    assert r.code == 0 and r.err == ""
    r = invoke(["check", *B, "--max", "bce=1", "-f", "csv"])
    assert f"note: settings from {name}\n" in r.err


# --- gates and options of `check` from pyproject.toml and losscli.toml ---------------------------------------------------------------------


def pyproject(text: str) -> None:
    Path("pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.losscli]\n' + text)


def losscli_toml(text: str) -> None:
    Path("losscli.toml").write_text(text)


def test_pyproject_gates():
    pyproject('pred-col = "prob"\nmax = { bce = 0.01 }\n')
    code, doc, err = gate_json(BINARY)
    assert code == 1, err
    assert [(g["loss"], g["kind"], g["bound"]) for g in doc["gates"]] == [("bce", "max", 0.01)]


def test_losscli_toml_gates():
    losscli_toml('pred-col = ["prob"]\nmax = { bce = 0.3 }\nmin = { mse = 0.001 }\n')
    code, doc, err = gate_json(BINARY)
    assert code == 0, err
    assert {(g["loss"], g["kind"]) for g in doc["gates"]} == {("bce", "max"), ("mse", "min")}


def test_losscli_toml_wins_over_pyproject():
    pyproject('pred-col = "prob"\nmax = { bce = 0.01 }\n')
    losscli_toml('pred-col = "prob"\nmax = { mse = 0.3 }\n')
    code, doc, _ = gate_json(BINARY)
    assert code == 0
    assert [g["loss"] for g in doc["gates"]] == ["mse"]


def test_pyproject_without_table_is_no_config():
    Path("pyproject.toml").write_text('[project]\nname = "x"\n[tool.other]\nmax = 1\n')
    assert_usage_error(*invoke(["check", *B]), "no gates")


def test_cli_gate_replaces_file_gate_on_same_loss():
    pyproject('pred-col = "prob"\nmax = { bce = 0.01, mse = 0.3 }\n')
    code, doc, err = gate_json(BINARY, "--max", "bce=0.5")
    assert code == 0, err
    gates = sorted((g["loss"], g["kind"], g["bound"]) for g in doc["gates"])
    assert gates == [("bce", "max", 0.5), ("mse", "max", 0.3)]


def test_cli_gate_by_alias_replaces_file_gate():
    pyproject('pred-col = "prob"\nmax = { log_loss = 0.01 }\n')
    code, doc, _ = gate_json(BINARY, "--max", "bce=0.5")
    assert code == 0
    assert [(g["loss"], g["bound"]) for g in doc["gates"]] == [("bce", 0.5)]


def test_cli_max_keeps_file_min_on_same_loss():
    pyproject('pred-col = "prob"\nmin = { bce = 0.5 }\n')
    code, doc, _ = gate_json(BINARY, "--max", "bce=1")
    assert code == 1
    assert {(g["loss"], g["kind"]) for g in doc["gates"]} == {("bce", "min"), ("bce", "max")}


def test_config_baseline_and_tolerance(baseline, binary_losses):
    edit_report(baseline, bce=binary_losses["bce"] * 0.95)
    pyproject('pred-col = "prob"\nbaseline = "base.json"\ntolerance = "2%"\n')
    assert invoke(["check", BINARY]).code == 1
    assert invoke(["check", BINARY, "--tolerance", "10%"]).code == 0
    pyproject(
        'pred-col = "prob"\nbaseline = "base.json"\ntolerance = { default = "2%", bce = "10%" }\n'
    )
    assert invoke(["check", BINARY]).code == 0


def test_cli_baseline_replaces_config_baseline(baseline):
    pyproject('pred-col = "prob"\nbaseline = "missing.json"\n')
    assert_usage_error(*invoke(["check", BINARY]), "missing.json")
    assert invoke(["check", BINARY, "--baseline", baseline]).code == 0


def test_config_default_options(binary_losses):
    losscli_toml(
        'task = "binary"\nloss = ["mse"]\npred-col = "logit"\nlabel-col = "label"\n'
        "from-logits = true\nmax = { bce = 0.3 }\n"
    )
    code, doc, err = gate_json(BINARY)
    assert code == 0, err
    assert doc["options"]["from_logits"] is True
    assert doc["inputs"]["preds"]["columns"] == ["logit"]
    assert set(doc["losses"]) == {"mse", "bce"}
    assert doc["losses"]["bce"] == pytest.approx(binary_losses["bce"], rel=1e-6)


def test_cli_option_replaces_config_option(binary_losses):
    losscli_toml('pred-col = "logit"\nloss = ["mse"]\ntask = "regression"\nmax = { mse = 1 }\n')
    code, doc, err = gate_json(BINARY, "--pred-col", "prob", "--loss", "mae", "--task", "binary")
    assert code == 0, err
    assert doc["task"] == "binary"
    assert doc["inputs"]["preds"]["columns"] == ["prob"]
    assert set(doc["losses"]) == {"mae", "mse"}
    assert doc["losses"]["mse"] == binary_losses["mse"]


def test_cli_can_turn_off_config_from_logits(binary_losses):
    losscli_toml("from-logits = true\nmax = { bce = 0.3 }\n")
    code, doc, err = gate_json(BINARY, "--pred-col", "prob", "--no-from-logits")
    assert code == 0, err
    assert doc["losses"]["bce"] == binary_losses["bce"]


def test_explicit_config_file():
    Path("gates.toml").write_text('pred-col = "prob"\nmax = { bce = 0.01 }\n')
    assert invoke(["check", BINARY, "--config", "gates.toml"]).code == 1
    assert_usage_error(*invoke(["check", BINARY, "--config", "none.toml"]), "none.toml")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("max = { bce = 0.3 }\nmaxx = 1\n", "maxx"),
        ("max = { bce = 0.3 \n", ""),
        ("max = 0.3\n", "max"),
        ('max = { bce = "abc" }\n', "abc"),
        ("max = { hueber = 1 }\n", "hueber"),
        ('pred-col = "prob"\nmax = { bce = 0.3 }\ntolerance = "-2%"\nbaseline = "b.json"\n', "-2%"),
    ],
)
def test_bad_config_is_exit_2(text, needle):
    Path("b.json").write_text("{}")
    losscli_toml('pred-col = "prob"\n' + text if "pred-col" not in text else text)
    assert_usage_error(*invoke(["check", BINARY]), needle)


def test_empty_config_gates_is_no_gates():
    losscli_toml('pred-col = "prob"\nmax = {}\nmin = {}\n')
    assert_usage_error(*invoke(["check", BINARY]), "no gates")


def test_config_gate_on_loss_the_task_lacks_is_exit_2():
    losscli_toml("max = { bce = 1 }\n")
    assert_usage_error(*invoke(["check", REGRESSION]), "bce")


def test_config_tolerance_without_baseline_is_a_default_not_an_error():
    pyproject('pred-col = "prob"\ntolerance = "2%"\n')
    code, out, err = invoke(["check", BINARY, "--max", "bce=0.3"])
    assert code == 0, err
