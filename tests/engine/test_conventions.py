"""Framework conventions (SPEC §9) against the frameworks' own values.

Oracle: tests/data/framework_values.json, written by tools/framework_values.py, which calls
scikit-learn, PyTorch (with torchvision's sigmoid_focal_loss) and Keras 3 (float64, JAX
backend) on fixed arrays and stores their versions beside the values. Keras's values are
its losses with its last-axis mean taken in float64 (it takes it in float32 as shipped;
`as_shipped` keeps that value, within 1e-7 of the stored one).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.errors import InputError

DOC = json.loads((Path(__file__).parents[1] / "data" / "framework_values.json").read_text())
CASES = DOC["cases"]


def _evaluate(case: dict, **extra: object) -> float:
    weights = None if case["weights"] is None else np.array(case["weights"])
    result = losscli.evaluate(
        np.array(case["preds"]),
        np.array(case["labels"]),
        losses=[case["loss"]],
        task=case["task"],
        sample_weight=weights,
        convention=case["convention"],
        **case["options"],
        **extra,
    )
    return result.losses[case["loss"]]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['convention']}-{c['loss']}-{c['call']}" for c in CASES]
)
def test_convention_equals_framework(case: dict) -> None:
    assert _evaluate(case) == pytest.approx(case["value"], rel=1e-12)


def test_every_framework_and_case_kind_is_covered() -> None:
    assert {c["convention"] for c in CASES} == {"sklearn", "torch", "keras"}
    assert set(DOC["versions"]) >= {"torch", "torchvision", "keras", "scikit-learn", "jax"}
    assert {c["task"] for c in CASES} == {"regression", "binary", "multiclass"}
    assert any(c["weights"] for c in CASES) and any("class_weight" in c["options"] for c in CASES)
    assert any("label_smoothing" in c["options"] for c in CASES)
    assert any(max(map(abs, np.ravel(c["preds"]))) == 1000 for c in CASES)


def test_keras_as_shipped_is_within_float32_of_the_stored_value() -> None:
    for case in CASES:
        if case["convention"] == "keras":
            assert case["as_shipped"] == pytest.approx(case["value"], rel=1e-7)


def test_the_conventions_differ_from_losscli_where_the_rules_say() -> None:
    # hand check: p = 1 for y = 0 costs −log ε: 36.04 in losscli, 16.12 in Keras (ε = 1e-7)
    # and 100 in PyTorch (log clamped at −100)
    y, p = np.array([0.0]), np.array([1.0])
    values = {c: losscli.evaluate(p, y, losses=["bce"], convention=c)["bce"]
              for c in ("losscli", "sklearn", "torch", "keras")}  # fmt: skip
    assert values["losscli"] == values["sklearn"] == pytest.approx(-np.log(2.0**-52))
    assert values["torch"] == 100.0
    assert values["keras"] == pytest.approx(-np.log(1e-7), rel=1e-9)


@pytest.mark.parametrize(
    ("convention", "kwargs", "message"),
    [
        ("torch", {"losses": ["dice"]}, "torch has no dice for a binary task"),
        ("sklearn", {"losses": ["bce"], "label_smoothing": 0.1}, "sklearn's log_loss (bce) takes no label_smoothing"),
        ("keras", {"losses": ["bce"], "class_weight": {"0": 1.0, "1": 2.0}}, "keras's BinaryCrossentropy (bce) takes no class_weight"),
        ("torch", {"losses": ["mse"], "sample_weight": np.ones(4)}, "torch's F.mse_loss (mse) takes no sample weights"),
        ("torch", {"losses": ["focal"]}, "torch's torchvision.ops.sigmoid_focal_loss (focal) takes logits"),
        ("keras", {"losses": ["dice"], "dice_smooth": 1.0}, "keras's Dice (dice) takes no dice_smooth"),
    ],
)  # fmt: skip
def test_a_loss_or_option_the_framework_lacks_is_an_error(convention, kwargs, message) -> None:
    y, p = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.2, 0.7, 0.9, 0.4])
    with pytest.raises(InputError) as err:
        losscli.evaluate(p, y, convention=convention, **kwargs)
    assert message in str(err.value)


def test_default_losses_are_those_the_framework_has() -> None:
    y, p = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.2, 0.7, 0.9, 0.4])
    assert list(losscli.evaluate(p, y, convention="torch").losses) == ["mse", "mae", "huber", "bce"]


def test_signature_and_json_name_a_convention_other_than_losscli() -> None:
    y, p = np.array([0.0, 1.0]), np.array([0.2, 0.7])
    plain = losscli.evaluate(p, y, losses=["bce"])
    keras = losscli.evaluate(p, y, losses=["bce"], convention="keras")
    assert "convention" not in plain.signature and "convention" not in plain.to_dict()["options"]
    assert keras.signature.endswith("|eps:1e-07|convention:keras")
    assert keras.to_dict()["options"]["convention"] == "keras"


def test_options_pytorch_combines_otherwise_are_errors() -> None:
    # F.cross_entropy weighs its smoothing term by every class's weight, and divides
    # class-weighted probability targets by N: neither is SPEC §4's weighting
    Z, c = np.random.default_rng(0).normal(size=(6, 3)), np.array([0, 1, 2, 0, 1, 2])
    weights = {"0": 1.0, "1": 2.0, "2": 1.0}
    with pytest.raises(InputError, match=r"mixes them.*\(class_weight and label_smoothing\)"):
        losscli.evaluate(Z, c, losses=["ce"], from_logits=True, convention="torch",
                         class_weight=weights, label_smoothing=0.1)  # fmt: skip
    with pytest.raises(InputError, match="divides class-weighted label rows by N"):
        losscli.evaluate(Z, np.eye(3)[c], losses=["ce"], from_logits=True, convention="torch",
                         class_weight=weights)  # fmt: skip


def test_torch_ce_on_probabilities_refuses_label_rows() -> None:
    """F.nll_loss takes class indices only: one-hot or soft label rows under the torch
    convention on probabilities are an error, never a value PyTorch cannot give."""
    import losscli
    from losscli.errors import InputError

    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    with pytest.raises(InputError, match="takes class indices"):
        losscli.evaluate(
            P, np.array([[0.9, 0.1, 0.0], [0.0, 1.0, 0.0]]), ["ce"], convention="torch"
        )
    got = losscli.evaluate(P, np.array([0, 1]), ["ce"], convention="torch").losses["ce"]
    assert got == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2, rel=1e-12)
