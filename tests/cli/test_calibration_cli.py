"""eval --calibration, --calibration-bins, and ece/mce in check and compare (SPEC §11), end
to end. The numbers themselves are checked against torchmetrics and scikit-learn in
tests/engine/test_calibration.py; here the CLI must carry them unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

import losscli
from tests.cli.conftest import BINARY, assert_usage_error, csv_text, invoke, write


@pytest.fixture(scope="module")
def reference():
    import pandas as pd

    frame = pd.read_csv(BINARY)
    return frame["prob"].to_numpy(), frame["label"].to_numpy()


def test_eval_calibration_json_holds_the_table_and_the_api_numbers(reference):
    ran = invoke(["eval", BINARY, "--pred-col", "prob", "--calibration", "--calibration-bins",
                  "12", "-f", "json"], expect=0)  # fmt: skip
    doc = json.loads(ran.out)
    api = losscli.evaluate(*reference, calibration=True, calibration_bins=12)
    assert doc["losses"]["ece"] == api.losses["ece"] and doc["losses"]["mce"] == api.losses["mce"]
    assert doc["options"]["calibration_bins"] == 12
    table = doc["calibration"]
    assert [e["bin"] for e in table] == list(range(1, 13))
    assert set(table[0]) == {"bin", "low", "high", "n_samples", "sum_weights", "confidence",
                             "accuracy"}  # fmt: skip
    assert table == api.calibration
    assert sum(e["n_samples"] for e in table) == doc["n_samples"]


def test_eval_calibration_table_and_markdown_show_one_row_per_bin(tmp_path):
    # 4 bins: rows in bins 1 and 4 only; bins 2 and 3 are empty, shown with zero rows
    path = write(tmp_path / "p.csv", csv_text(["pred", "label"], [[0.1, 0], [0.2, 1], [0.9, 1]]))
    argv = [
        "eval",
        str(tmp_path / path),
        "--loss",
        "bce",
        "--calibration",
        "--calibration-bins",
        "4",
    ]
    out = invoke(argv, expect=0).out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert [r[3] for r in rows] == ["2", "0", "0", "1"]  # rows per bin
    assert rows[0][5:] == ["0.150000", "0.500000", "+0.350000"]  # confidence, accuracy, gap
    assert rows[1][5:] == ["—", "—", "—"]
    for name, value in (("ece", "0.266667"), ("mce", "0.350000")):  # ece (2·.35 + .1)/3
        assert any(line.split()[:2] == [name, value] for line in out.splitlines())
    md = invoke([*argv, "-f", "markdown"], expect=0).out
    assert "| 4 | [0.75, 1] | 1 | 1 | 0.900000 | 1.000000 | +0.100000 |" in md


def test_calibration_refuses_csv_regression_and_bad_bins(tmp_path):
    assert_usage_error(*invoke(["eval", BINARY, "--pred-col", "prob", "--calibration", "-f",
                                "csv"]), "--calibration", "-f json")  # fmt: skip
    reg = write(tmp_path / "r.csv", csv_text(["pred", "label"], [[0.5, 1.5], [2.0, 3.0]]))
    assert_usage_error(*invoke(["eval", str(tmp_path / reg), "--calibration"]),
                       "--calibration applies to classification")  # fmt: skip
    assert_usage_error(*invoke(["eval", BINARY, "--pred-col", "prob", "--loss", "ece",
                                "--calibration-bins", "0"]),
                       "--calibration-bins is 0; it must be a whole number >= 1")  # fmt: skip
    assert_usage_error(*invoke(["eval", BINARY, "--pred-col", "prob", "--loss", "bce",
                                "--calibration-bins", "10"]),
                       "--calibration-bins shapes none of the losses")  # fmt: skip


def test_check_gates_ece_overall_and_per_slice(tmp_path, reference):
    p, y = reference
    ece = losscli.evaluate(p, y, losses=["ece"]).losses["ece"]
    base = ["check", BINARY, "--pred-col", "prob", "--loss", "ece"]
    assert invoke([*base, "--max", f"ece={ece}"]).code == 0
    ran = invoke([*base, "--max", f"ece={ece * 0.99}"])
    assert ran.code == 1 and "FAIL" in ran.out
    half = np.where(np.arange(len(p)) % 2 == 0, "even", "odd")
    frame = write(
        tmp_path / "s.csv", csv_text(["prob", "label", "half"], zip(p, y, half, strict=True))
    )
    sliced = invoke(["check", str(tmp_path / frame), "--pred-col", "prob", "--loss", "ece",
                     "--by", "half", "--max", "ece=1", "-f", "json"], expect=0)  # fmt: skip
    gates = json.loads(sliced.out)["gates"]
    odd = losscli.evaluate(p[half == "odd"], y[half == "odd"], losses=["ece"]).losses["ece"]
    found = next(g for g in gates if g.get("slice") == {"half": "odd"})
    assert found["value"] == pytest.approx(odd, rel=1e-12)


def test_compare_mce_needs_the_bootstrap(tmp_path, reference):
    p, y = reference
    q = np.clip(p * 0.9 + 0.05, 0, 1)
    path = write(tmp_path / "m.csv", csv_text(["a", "b", "label"], zip(p, q, y, strict=True)))
    argv = ["compare", str(tmp_path / path), "--model-col", "a=a", "--model-col", "b=b",
            "--label-col", "label", "--loss", "ece,mce", "--bootstrap", "200"]  # fmt: skip
    assert_usage_error(*invoke([*argv, "--method", "normal"]),
                       "mce is a maximum over bins", "--method bootstrap")  # fmt: skip
    doc = json.loads(invoke([*argv, "--method", "bootstrap", "-f", "json"], expect=0).out)
    d = {c["loss"]: c["difference"] for c in doc["comparisons"]}
    models = doc["models"]
    for loss in ("ece", "mce"):
        assert d[loss] == pytest.approx(
            models["b"]["losses"][loss] - models["a"]["losses"][loss], abs=1e-15
        )
    normal = json.loads(invoke([*argv[:-4], "--loss", "ece", "--method", "normal", "-f", "json"],
                               expect=0).out)  # fmt: skip
    assert normal["comparisons"][0]["method"] == "normal"


def test_a_gate_on_ece_adds_it_to_the_default_losses(reference):
    p, y = reference
    ece = losscli.evaluate(p, y, losses=["ece"], calibration_bins=10).losses["ece"]
    ran = invoke(["check", BINARY, "--pred-col", "prob", "--max", f"ece={ece}",
                  "--calibration-bins", "10", "-f", "json"], expect=0)  # fmt: skip
    doc = json.loads(ran.out)
    assert [g["loss"] for g in doc["gates"]] == ["ece"] and doc["gates"][0]["value"] == ece
    assert {"bce", "mse", "ece", "mce"} <= set(doc["losses"])
