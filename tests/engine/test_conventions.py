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


def _kinds(case: dict) -> set[str]:
    """The case kinds of issue 13 that one stored case exercises."""
    preds, labels = np.array(case["preds"], dtype=float), np.array(case["labels"], dtype=float)
    opts, kinds = case["options"], {case["task"]}
    probabilities = not opts.get("from_logits") and case["loss"] not in ("hinge", "squared_hinge")
    if case["task"] != "regression" and probabilities:
        kinds |= {"p = 0"} if (preds == 0).any() else set()
        kinds |= {"p = 1"} if (preds == 1).any() else set()
        if preds.ndim == 2 and (np.abs(preds.sum(axis=1) - 1) > 1e-9).any():
            kinds.add("rows not summing to 1")
    if opts.get("from_logits") and np.abs(preds).max() == 1000:
        kinds.add("logits ±1000")
    kinds |= {"sample weights"} if case["weights"] else set()
    kinds |= {"class weights"} if "class_weight" in opts else set()
    kinds |= {"label smoothing"} if "label_smoothing" in opts else set()
    if case["task"] != "regression":
        soft = ((labels > 0) & (labels < 1)).any()
        kinds.add("soft labels" if soft else "hard labels")
    return kinds


# what each framework's calls take, of the case kinds; the rest it refuses (below)
HAS = {
    "sklearn": {"binary", "multiclass", "p = 0", "p = 1", "sample weights", "hard labels",
                "rows not summing to 1", "soft labels"},  # soft: mean_squared_error only
    "torch": {"binary", "multiclass", "p = 0", "p = 1", "logits ±1000", "sample weights",
              "class weights", "label smoothing", "hard labels", "soft labels",
              "rows not summing to 1"},
    "keras": {"binary", "multiclass", "p = 0", "p = 1", "logits ±1000", "sample weights",
              "label smoothing", "hard labels", "soft labels", "rows not summing to 1"},
}  # fmt: skip


@pytest.mark.parametrize("convention", sorted(HAS))
def test_each_framework_has_a_stored_value_for_every_case_kind_it_takes(convention) -> None:
    seen = set().union(*(_kinds(c) for c in CASES if c["convention"] == convention))
    assert seen >= HAS[convention]


# the case kinds a framework lacks, each refused: (convention, evaluate keywords, message)
LACKS = [
    ("sklearn", {"losses": ["bce"], "from_logits": True}, "sklearn's log_loss (bce) takes probabilities"),
    ("sklearn", {"losses": ["bce"], "class_weight": {"0": 1.0, "1": 2.0}}, "takes no class_weight"),
    ("sklearn", {"losses": ["bce"], "label_smoothing": 0.1}, "takes no label_smoothing"),
    ("sklearn", {"losses": ["bce"], "soft": True}, "sklearn's log_loss (bce) takes class labels, but the labels are soft (found 0.3)"),
    ("keras", {"losses": ["bce"], "class_weight": {"0": 1.0, "1": 2.0}}, "takes no class_weight"),
    ("torch", {"losses": ["mse"], "class_weight": {"0": 1.0, "1": 2.0}},
     "torch's F.mse_loss (mse) takes no class_weight"),
]  # fmt: skip


@pytest.mark.parametrize(("convention", "kwargs", "message"), LACKS)
def test_what_a_framework_lacks_is_refused(convention, kwargs, message) -> None:
    y, p = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.2, 0.7, 0.9, 0.4])
    kwargs = dict(kwargs)
    if kwargs.pop("soft", False):
        y = np.array([0.3, 1.0, 1.0, 0.0])
    with pytest.raises(InputError) as err:
        losscli.evaluate(p, y, task="binary", convention=convention, **kwargs)
    assert message in err.value.format("api")


OPTION_VALUES = {
    "huber_delta": 0.5, "eps": 1e-5, "label_smoothing": 0.1, "hinge_mode": "weston-watkins",
    "focal_gamma": 1.0, "focal_alpha": 0.3, "dice_smooth": 0.5, "renormalize": True,
}  # fmt: skip


def _inputs(task: str, from_logits: bool) -> tuple[np.ndarray, np.ndarray, dict]:
    rng = np.random.default_rng(3)
    if task == "regression":
        return rng.normal(size=6), rng.normal(size=6), {}
    if task == "binary":
        z = rng.normal(size=6)
        return (z if from_logits else 1 / (1 + np.exp(-z))), np.array([0, 1, 1, 0, 1, 0]), {
            "0": 1.0, "1": 2.0}  # fmt: skip
    Z = rng.normal(size=(6, 3))
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    return (Z if from_logits else P), np.array([0, 1, 2, 2, 1, 0]), {"0": 1.0, "1": 2.0, "2": 1.0}


def _calls():
    from losscli.engine import conventions

    for conv in ("sklearn", "torch", "keras"):
        for call in conventions.get(conv).calls:
            for task in sorted(call.tasks):
                for logits in (False, True) if call.logits is None else (call.logits,):
                    yield pytest.param(
                        conv, call, task, logits, id=f"{conv}-{call.call}-{task}-{logits}"
                    )


@pytest.mark.parametrize(("convention", "call", "task", "logits"), list(_calls()))
def test_every_option_a_call_lacks_is_an_error_and_every_one_it_takes_works(
    convention, call, task, logits
) -> None:
    """For each standard call of each framework: each option of its loss that the call
    lacks is one error naming the call; each it takes gives a value (never ignored)."""
    from losscli.engine.registry import LOSSES

    spec = LOSSES[call.loss]
    preds, labels, class_weight = _inputs(task, logits)
    base = dict(losses=[call.loss], task=task, from_logits=logits, convention=convention)
    values = dict(OPTION_VALUES, class_weight=class_weight)
    applicable = {n for n in values if n in spec.options}
    if task != "regression":
        applicable.add("class_weight")
    if task == "multiclass" and not logits and not spec.raw_scores:
        applicable.add("renormalize")
    if "focal_alpha" in applicable and convention == "torch":
        applicable.discard("focal_alpha")  # taken: torch's α
    plain = losscli.evaluate(preds, labels, **base).losses[call.loss]
    for name in sorted(applicable):
        if name == "hinge_mode" and task != "multiclass":
            continue
        if name == "label_smoothing" and task == "regression":
            continue
        kw = {**base, name: values[name]}
        if name in call.options:
            got = losscli.evaluate(preds, labels, **kw).losses[call.loss]
            assert np.isfinite(got)
            if name not in ("renormalize",):  # keras renormalises anyway
                assert got != plain, f"{name} was ignored"
        else:
            with pytest.raises(InputError) as err:
                losscli.evaluate(preds, labels, **kw)
            assert f"{convention}'s {call.call} ({call.loss}) takes no {name}" in err.value.format(
                "api"
            )


def test_torch_pos_weight_slices_and_sample_weights() -> None:
    """Under torch, bce's class weights leave the denominator in each slice too: a slice's
    value is the slice's own value."""
    rng = np.random.default_rng(1)
    n = 40
    y, z, w, g = (
        rng.integers(0, 2, n),
        rng.normal(0, 2, n),
        rng.uniform(0.2, 3, n),
        rng.integers(0, 2, n),
    )
    kw = dict(
        losses=["bce"], from_logits=True, convention="torch", class_weight={"0": 0.4, "1": 3.0}
    )
    whole = losscli.evaluate(z, y, sample_weight=w, by=g, **kw)
    for group in whole.slices[0].groups:
        rows = g == int(group.key["by"])
        alone = losscli.evaluate(z[rows], y[rows], sample_weight=w[rows], **kw).losses["bce"]
        assert group.losses["bce"] == pytest.approx(alone, rel=1e-12)
    # by hand: Σ sᵢ·c(yᵢ)·ℓᵢ / N
    ell = np.logaddexp(0, np.where(y == 1, -z, z))
    expected = np.mean(w * np.where(y == 1, 3.0, 0.4) * ell)
    assert whole.losses["bce"] == pytest.approx(expected, rel=1e-12)


def test_renormalize_is_refused_where_the_framework_does_not_renormalise() -> None:
    P, c = np.array([[0.5, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.9]]), np.array([0, 2, 1])
    for conv, loss in [("keras", "mse"), ("keras", "kl"), ("torch", "mse"), ("sklearn", "mse")]:
        with pytest.raises(InputError, match="takes no renormalize"):
            losscli.evaluate(P, c, losses=[loss], convention=conv, renormalize=True)
    kept = losscli.evaluate(P, c, losses=["ce"], convention="keras", renormalize=True)
    assert kept["ce"] == losscli.evaluate(P, c, losses=["ce"], convention="keras")["ce"]


def test_sklearn_refuses_soft_label_rows_where_its_call_takes_labels() -> None:
    P = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]])
    soft = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.9, 0.1]])
    for loss, call in [("ce", "log_loss"), ("mse", "brier_score_loss")]:
        with pytest.raises(InputError) as err:
            losscli.evaluate(P, soft, losses=[loss], convention="sklearn")
        assert f"sklearn's {call} ({loss}) takes class labels" in err.value.format("api")
        assert err.value.row == 3
    # root_mean_squared_error takes them (its value is stored above)
    assert losscli.evaluate(P, soft, losses=["rmse"], convention="sklearn")["rmse"] > 0


@pytest.mark.parametrize(
    ("convention", "loss"), [("keras", "mse"), ("torch", "bce"), ("sklearn", "bce")]
)
def test_a_slice_under_a_convention_is_the_slice_evaluated_alone(convention, loss) -> None:
    """Slices keep the convention's denominator (N under Keras and PyTorch, not Σω)."""
    rng = np.random.default_rng(2)
    y, p, w, g = (
        rng.integers(0, 2, 60),
        rng.uniform(0, 1, 60),
        rng.uniform(0.2, 3, 60),
        rng.integers(0, 3, 60),
    )
    whole = losscli.evaluate(p, y, losses=[loss], sample_weight=w, by=g, convention=convention)
    for group in whole.slices[0].groups:
        rows = g == int(group.key["by"])
        alone = losscli.evaluate(
            p[rows], y[rows], losses=[loss], sample_weight=w[rows], convention=convention
        )
        assert group.losses[loss] == pytest.approx(alone.losses[loss], rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "c"),
    [
        ({"convention": "torch", "class_weight": {"0": 0.4, "1": 3.0}}, (0.4, 3.0)),
        ({"convention": "keras"}, (1.0, 1.0)),
    ],
)
def test_compare_resamples_the_conventions_own_mean(kwargs, c) -> None:
    """compare's interval is of the difference as the convention divides it (N, not Σω):
    the normal interval is d ± z·sd(ωᵢ(ℓBᵢ − ℓAᵢ))/√n with d their mean over N rows."""
    from statistics import NormalDist

    rng = np.random.default_rng(0)
    n = 300
    y, a, w = rng.integers(0, 2, n), rng.normal(0, 2, n), rng.uniform(0.2, 3, n)
    b = a + rng.normal(0, 1, n)
    kw = dict(losses=["bce"], sample_weight=w, from_logits=True, **kwargs)
    got = losscli.compare({"a": a, "b": b}, y, method="normal", **kw).comparisons[0]
    terms = w * np.where(y == 1, c[1], c[0])
    terms = terms * (
        np.logaddexp(0, np.where(y == 1, -b, b)) - np.logaddexp(0, np.where(y == 1, -a, a))
    )
    half = NormalDist().inv_cdf(0.975) * terms.std(ddof=1) / np.sqrt(n)
    assert got.difference == pytest.approx(terms.mean(), rel=1e-12)
    assert got.ci == pytest.approx((terms.mean() - half, terms.mean() + half), rel=1e-9)
    boot = losscli.compare({"a": a, "b": b}, y, method="bootstrap", **kw).comparisons[0]
    assert boot.ci[0] < terms.mean() < boot.ci[1]
    assert np.mean(boot.ci) == pytest.approx(terms.mean(), abs=half / 4)


def _stored_for(convention: str, call, task: str | None = None, logits: bool | None = None):
    """The stored cases of one framework call (on one task, from logits or not)."""
    for case in CASES:
        from_logits = bool(case["options"].get("from_logits"))
        if (
            case["convention"] == convention
            and case["loss"] == call.loss
            and case["task"] in call.tasks
            and (task is None or case["task"] == task)
            and (call.logits is None or from_logits == call.logits)
            and (logits is None or from_logits == logits)
        ):
            yield case


@pytest.mark.parametrize(("convention", "call", "task", "logits"), list(_calls()))
def test_every_call_on_every_task_has_a_stored_framework_value(convention, call, task, logits):
    """Each framework call is checked against the framework on each task it serves (raw
    scores for hinge), and with each option and sample weights, if it takes them."""
    if call.loss in ("hinge", "squared_hinge") and logits:
        return  # raw scores: from_logits changes nothing
    assert list(
        _stored_for(convention, call, task, None if call.loss.endswith("hinge") else logits)
    )
    stored = list(_stored_for(convention, call))
    for name in call.options - {"renormalize"}:  # Keras renormalises CE anyway
        assert any(name in c["options"] for c in stored), name
    if call.sample_weight:
        assert any(c["weights"] for c in stored)
