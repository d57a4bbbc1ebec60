"""Unit tests of losscli.gate: parsing bounds and tolerances, judging values, baseline gates."""

from __future__ import annotations

import math
import random

import pytest

from losscli import gate as g
from losscli.errors import InputError
from losscli.render.json import dumps

NAN = math.nan
INF = math.inf

# --- judge ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["max", "min", "baseline"])
@pytest.mark.parametrize("higher", [False, True])
def test_nan_never_passes(kind, higher):
    for bound in (0.0, 1.0, -1.0, 1e308, -1e308):
        verdict = g.judge(g.Gate("bce", kind, bound, baseline=bound), NAN, higher)
        assert verdict.passed is False
        assert math.isnan(verdict.margin)


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("value", [INF, -INF])
def test_infinite_value_never_passes(kind, value):
    assert g.judge(g.Gate("mse", kind, 1.0), value).passed is False


@pytest.mark.parametrize("kind", ["max", "min", "baseline"])
def test_equal_to_the_bound_passes(kind):
    rnd = random.Random(0)
    values = [0.0, -0.0, 5e-324, 1e-300, 0.1, 1 / 3, 0.0857951510196059, 1e300, -2.5]
    values += [rnd.uniform(-1e6, 1e6) for _ in range(200)]
    for v in values:
        verdict = g.judge(g.Gate("x", kind, v, baseline=v), v)
        assert verdict.passed, (kind, v)
        assert verdict.margin == 0


def test_zero_and_negative_zero_are_equal():
    assert g.judge(g.Gate("x", "max", 0.0), -0.0).passed
    assert g.judge(g.Gate("x", "min", -0.0), 0.0).passed


def test_max_gate():
    assert g.judge(g.Gate("bce", "max", 0.3), 0.2999).passed
    verdict = g.judge(g.Gate("bce", "max", 0.3), math.nextafter(0.3, 1))
    assert not verdict.passed
    assert verdict.margin < 0


def test_min_gate():
    assert g.judge(g.Gate("mae", "min", 0.3), 0.31).passed
    verdict = g.judge(g.Gate("mae", "min", 0.3), math.nextafter(0.3, 0))
    assert not verdict.passed
    assert verdict.margin < 0


def test_margin_is_distance_inside_the_bound():
    assert g.judge(g.Gate("x", "max", 1.0), 0.25).margin == 0.75
    assert g.judge(g.Gate("x", "min", 1.0), 1.5).margin == 0.5
    assert g.judge(g.Gate("x", "max", 1.0), 1.5).margin == -0.5


def test_baseline_gate_lower_is_better():
    gate = g.Gate("bce", "baseline", 0.102, baseline=0.1, tolerance=g.Tolerance(0.02, True))
    assert g.judge(gate, 0.09).passed
    assert g.judge(gate, 0.102).passed
    assert not g.judge(gate, 0.1021).passed


def test_baseline_gate_higher_is_better():
    gate = g.Gate("acc", "baseline", 0.98, baseline=1.0, tolerance=g.Tolerance(0.02, True))
    assert g.judge(gate, 0.99, higher_is_better=True).passed
    assert g.judge(gate, 0.98, higher_is_better=True).passed
    assert not g.judge(gate, 0.97, higher_is_better=True).passed


def test_max_and_min_ignore_higher_is_better():
    assert not g.judge(g.Gate("x", "max", 1.0), 2.0, higher_is_better=True).passed
    assert not g.judge(g.Gate("x", "min", 1.0), 0.5, higher_is_better=True).passed


# --- messages and JSON ----------------------------------------------------------------


def test_failure_message_shows_the_breach():
    verdict = g.judge(g.Gate("bce", "max", 0.1), 0.1000003)
    assert verdict.message() == "bce 0.1000003 > max 0.1"
    verdict = g.judge(g.Gate("mae", "min", 0.5), 0.25)
    assert verdict.message() == "mae 0.25 < min 0.5"


def test_baseline_failure_message_names_baseline_and_tolerance():
    tol = g.Tolerance(0.02, True)
    verdict = g.judge(g.Gate("bce", "baseline", 0.102, 0.1, tol), 0.2)
    text = verdict.message()
    assert text.startswith("bce 0.2 > 0.102")
    assert "baseline 0.1" in text and "2%" in text


def test_as_dict_keys():
    d = g.judge(g.Gate("bce", "max", 0.3), 0.1).as_dict()
    assert {k: d[k] for k in ("loss", "kind", "bound", "value", "passed")} == {
        "loss": "bce",
        "kind": "max",
        "bound": 0.3,
        "value": 0.1,
        "passed": True,
    }
    tol = g.Tolerance(0.01, False)
    d = g.judge(g.Gate("bce", "baseline", 0.11, 0.1, tol), 0.2).as_dict()
    assert d["kind"] == "baseline" and d["baseline"] == 0.1 and d["passed"] is False
    assert d["tolerance"] == "abs:0.01"


def test_nan_verdict_is_null_in_json():
    import json

    d = g.judge(g.Gate("bce", "max", 0.3), NAN).as_dict()
    doc = json.loads(dumps({"gates": [d]}))
    assert doc["gates"][0]["value"] is None
    assert doc["gates"][0]["passed"] is False
    assert "NaN" not in dumps({"gates": [d]})


# --- parse_bound ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "item, expected",
    [
        ("bce=0.3", ("bce", 0.3)),
        ("log_loss=0.3", ("bce", 0.3)),
        (" BCE = 0.3 ", ("bce", 0.3)),
        ("l2=1e-3", ("mse", 1e-3)),
        ("pseudo-huber=2", ("pseudo_huber", 2.0)),
        ("mse=-1", ("mse", -1.0)),
        ("mse=0", ("mse", 0.0)),
        ("mse=0.0857951510196059", ("mse", 0.0857951510196059)),
    ],
)
def test_parse_bound(item, expected):
    assert g.parse_bound(item, "--max") == expected


@pytest.mark.parametrize(
    "item",
    ["mse", "", "=1", " =1", "mse=", "mse=abc", "mse=nan", "mse=inf", "mse=-inf", "mse=1e400",
     "mse=0.3=0.4", "hueber=1", "nope=1"],
)  # fmt: skip
def test_parse_bound_errors(item):
    with pytest.raises(InputError) as info:
        g.parse_bound(item, "--max")
    assert info.value.exit_code == 2
    assert str(info.value)


def test_parse_bound_unknown_suggests():
    with pytest.raises(InputError, match="huber"):
        g.parse_bound("hueber=1", "--min")


def test_parse_bound_error_names_the_flag():
    with pytest.raises(InputError, match="--min"):
        g.parse_bound("mse=abc", "--min")


# --- tolerances -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, amount, relative",
    [
        ("2%", 0.02, True),
        (" 2.5% ", 0.025, True),
        ("0%", 0.0, True),
        ("abs:0.01", 0.01, False),
        ("ABS:0.01", 0.01, False),
        ("abs:0", 0.0, False),
        ("rel:0.1", 0.1, True),
    ],
)
def test_parse_tolerance(text, amount, relative):
    tol = g.parse_tolerance(text)
    assert tol.amount == pytest.approx(amount, abs=1e-15)
    assert tol.relative is relative


def test_bare_number_tolerance_asks_for_a_unit():
    # 2 could mean 2% or 200%: the message offers both spellings
    with pytest.raises(InputError) as info:
        g.parse_tolerance("2")
    assert "Pass 2% for a relative tolerance or abs:2 for an absolute one" in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["-2%", "abs:-0.01", "rel:-0.1", "-0.02", "nan%", "inf%", "abs:inf", "abs:nan", "", "%",
     "abs:", "two%", "2%%", "abs:1%"],
)  # fmt: skip
def test_parse_tolerance_errors(text):
    with pytest.raises(InputError) as info:
        g.parse_tolerance(text)
    assert info.value.exit_code == 2
    assert "--tolerance" in str(info.value)


def test_tolerance_str():
    assert str(g.parse_tolerance("2%")) == "2%"
    assert str(g.parse_tolerance("abs:0.01")) == "abs:0.01"


def test_tolerance_bound():
    rel = g.Tolerance(0.02, True)
    assert rel.bound(0.5, False) == pytest.approx(0.51)
    assert rel.bound(0.5, True) == pytest.approx(0.49)
    # a negative baseline still gets slack in the forgiving direction
    assert rel.bound(-0.5, False) == pytest.approx(-0.49)
    assert rel.bound(-0.5, True) == pytest.approx(-0.51)
    ab = g.Tolerance(0.01, False)
    assert ab.bound(0.5, False) == pytest.approx(0.51)
    assert ab.bound(0.5, True) == pytest.approx(0.49)
    assert g.ZERO.bound(0.123, False) == 0.123


def test_parse_tolerances_default_and_per_loss():
    default, per = g.parse_tolerances(["2%", "bce=1%", "l2=abs:0.01"])
    assert default == g.Tolerance(0.02, True)
    assert per == {"bce": g.Tolerance(0.01, True), "mse": g.Tolerance(0.01, False)}


def test_parse_tolerances_repeated_is_an_error_not_the_later_winning():
    # M9 (issue 9): a repeated tolerance could loosen a gate silently
    with pytest.raises(InputError, match="2%.*5%"):
        g.parse_tolerances(["2%", "bce=1%", "5%"])
    with pytest.raises(InputError, match="bce.*1%.*3%"):
        g.parse_tolerances(["bce=1%", "log_loss=3%"])
    default, per = g.parse_tolerances(["2%", "bce=1%", "rel:0.02", "log_loss=1%"])
    assert default == g.Tolerance(0.02, True)
    assert per == {"bce": g.Tolerance(0.01, True)}


def test_parse_tolerances_empty():
    assert g.parse_tolerances([]) == (None, {})


@pytest.mark.parametrize("item", ["=1%", "hueber=1%", "bce=-1%", "bce=", "bce=x"])
def test_parse_tolerances_errors(item):
    with pytest.raises(InputError):
        g.parse_tolerances([item])


# --- baseline_gates -------------------------------------------------------------------


def test_baseline_gates_default_tolerance_is_zero():
    (gate,) = g.baseline_gates({"bce": 0.1}, ["bce"], None, {}, {})
    assert gate.kind == "baseline" and gate.bound == 0.1 and gate.baseline == 0.1
    assert g.judge(gate, 0.1).passed
    assert not g.judge(gate, math.nextafter(0.1, 1)).passed


def test_baseline_gates_per_loss_overrides_default():
    gates = g.baseline_gates(
        {"bce": 0.1, "mse": 0.2},
        ["bce", "mse"],
        g.Tolerance(0.1, True),
        {"bce": g.Tolerance(0.01, False)},
        {},
    )
    by = {x.loss: x for x in gates}
    assert by["bce"].bound == pytest.approx(0.11)
    assert by["bce"].tolerance == g.Tolerance(0.01, False)
    assert by["mse"].bound == pytest.approx(0.22)


def test_baseline_gates_higher_is_better():
    (gate,) = g.baseline_gates({"acc": 0.9}, ["acc"], g.Tolerance(0.1, False), {}, {"acc": True})
    assert gate.bound == pytest.approx(0.8)


@pytest.mark.parametrize("value", [None, NAN, INF, -INF])
def test_baseline_gates_non_finite_is_an_error(value):
    with pytest.raises(InputError, match="bce"):
        g.baseline_gates({"bce": value}, ["bce"], None, {}, {})


def test_baseline_gates_missing_loss_is_an_error():
    with pytest.raises(InputError, match="mse"):
        g.baseline_gates({"bce": 0.1}, ["mse"], None, {}, {})


def test_baseline_gates_non_numeric_is_an_input_error():
    with pytest.raises(InputError):
        g.baseline_gates({"bce": "0.1"}, ["bce"], None, {}, {})


# --- check: the library entry point ----------------------------------------------------
# Real evaluations: `losscli.evaluate` on eight binary rows; the oracle for bce is
# sklearn.metrics.log_loss. The baseline's predictions are better on row 7 only (0.45
# instead of 0.4), so bce regresses by (ln 0.45 − ln 0.4)/8 ≈ 0.0147 (≈ 4.4%).

Y = [0, 1, 1, 0, 1, 0, 1, 1]
P_NEW = [0.1, 0.8, 0.6, 0.3, 0.9, 0.2, 0.4, 0.7]
P_OLD = [0.1, 0.8, 0.6, 0.3, 0.9, 0.2, 0.45, 0.7]


def _evaluate(p, losses=None):
    import numpy as np

    from losscli import evaluate

    return evaluate(np.array(p), np.array(Y), losses)


def _log_loss(p):
    from sklearn.metrics import log_loss

    return log_loss(Y, p)


def test_check_max_and_min_on_a_real_evaluation():
    result = _evaluate(P_NEW, ["bce", "mse"])
    bce = _log_loss(P_NEW)
    assert result.losses["bce"] == pytest.approx(bce, rel=1e-12)
    # max on an alias (log_loss is bce), min on the canonical name
    checked = g.check(result, max={"log_loss": 0.35, "mse": 0.09}, min={"bce": 0.3})
    assert [(v.gate.loss, v.gate.kind, v.passed) for v in checked.verdicts] == [
        ("bce", "max", True),
        ("mse", "max", False),  # mse = mean (p − y)² = 0.8/8 = 0.1 by hand
        ("bce", "min", True),
    ]
    assert checked.passed is False
    assert checked.verdicts[0].margin == pytest.approx(0.35 - bce, rel=1e-12)
    assert checked.verdicts[1].message() == "mse 0.1 > max 0.09"
    assert checked.notes == []
    assert checked.to_dict() == {"gates": [v.as_dict() for v in checked.verdicts], "passed": False}
    assert g.check(result, max={"bce": 0.35}).passed is True


@pytest.mark.parametrize(
    ("tolerance", "bound", "passed"),
    [
        # relative: baseline·(1 + t); the regression is ≈ 4.4%
        ("2%", lambda b: b * 1.02, False),
        ("5%", lambda b: b * 1.05, True),
        (g.Tolerance(0.05, relative=True), lambda b: b * 1.05, True),
        # absolute: baseline + t; the regression is ≈ 0.0147
        ("abs:0.01", lambda b: b + 0.01, False),
        ("abs:0.02", lambda b: b + 0.02, True),
    ],
)
def test_check_baseline_with_relative_and_absolute_tolerances(tolerance, bound, passed):
    old, new = _log_loss(P_OLD), _log_loss(P_NEW)
    assert (new - old) == pytest.approx((math.log(0.45) - math.log(0.4)) / 8, rel=1e-9)
    checked = g.check(
        _evaluate(P_NEW, ["bce"]), baseline=_evaluate(P_OLD, ["bce"]), tolerance=tolerance
    )
    (verdict,) = checked.verdicts
    assert (verdict.gate.loss, verdict.gate.kind, verdict.passed) == ("bce", "baseline", passed)
    assert verdict.gate.baseline == pytest.approx(old, rel=1e-12)
    assert verdict.gate.bound == pytest.approx(bound(old), rel=1e-12)
    assert verdict.value == pytest.approx(new, rel=1e-12)
    assert checked.passed is passed
    assert checked.notes == []


def test_check_baseline_without_tolerance_allows_no_regression_and_says_so():
    checked = g.check(_evaluate(P_NEW, ["bce"]), baseline=_evaluate(P_OLD, ["bce"]))
    assert not checked.passed
    assert checked.verdicts[0].gate.tolerance == g.ZERO
    assert checked.format_notes("cli") == [
        "no tolerance given: the baseline gates allow no regression at all "
        "(pass --tolerance such as 2% or abs:0.01 to allow some)"
    ]
    # a library caller reads the keyword, not the flag
    assert checked.notes == [
        "no tolerance given: the baseline gates allow no regression at all "
        "(pass tolerance such as 2% or abs:0.01 to allow some)"
    ]
    # an improvement passes at zero tolerance
    assert g.check(_evaluate(P_OLD, ["bce"]), baseline=_evaluate(P_NEW, ["bce"])).passed


def test_check_binary_leaves_ce_and_kl_to_bce():
    new, old = _evaluate(P_NEW), _evaluate(P_OLD)
    assert {"bce", "ce", "kl", "mse"} <= set(old.losses)
    # on hard binary labels ce and kl equal bce (the labels' entropy is 0)
    assert new.losses["ce"] == new.losses["kl"] == pytest.approx(_log_loss(P_NEW), rel=1e-12)
    checked = g.check(new, baseline=old, tolerance="5%")
    gated = [v.gate.loss for v in checked.verdicts]
    assert "ce" not in gated and "kl" not in gated
    assert gated == [name for name in old.losses if name not in ("ce", "kl")]
    why = (
        "ce and kl are not gated against the baseline: ce is bce on a binary task; "
        "kl is bce less the labels' entropy, which the predictions do not change, "
        "so bce gates them (pass "
    )
    assert checked.format_notes("cli") == [why + "--loss ce,kl to gate them too)"]
    assert checked.notes == [why + "losses=['ce', 'kl'] to gate them too)"]
    # named losses are gated even when they duplicate another (as --loss ce)
    named = g.check(new, baseline=old, tolerance="5%", losses=["ce"])
    assert [v.gate.loss for v in named.verdicts] == ["ce"]
    assert named.notes == []


def test_check_per_loss_tolerance_only_gates_those_losses():
    new, old = _evaluate(P_NEW, ["bce", "mse", "mae"]), _evaluate(P_OLD, ["bce", "mse", "mae"])
    checked = g.check(new, baseline=old, tolerances={"log_loss": "abs:0.02"})
    (verdict,) = checked.verdicts
    assert verdict.gate.loss == "bce" and verdict.passed
    assert verdict.gate.bound == pytest.approx(_log_loss(P_OLD) + 0.02, rel=1e-12)
    assert checked.format_notes("cli") == [
        "no tolerance for mse, mae, so only bce is gated against the baseline "
        "(pass --tolerance T, such as 2%, for every loss)"
    ]
    assert checked.notes[0].endswith("(pass tolerance=T, such as 2%, for every loss)")
    # with a default too, every loss is gated; the per-loss one wins for its loss
    both = g.check(new, baseline=old, tolerance="0%", tolerances={"bce": "abs:0.02"})
    assert [(v.gate.loss, str(v.gate.tolerance)) for v in both.verdicts] == [
        ("bce", "abs:0.02"),
        ("mse", "0%"),
        ("mae", "0%"),
    ]


def test_check_takes_reports_as_dicts_too():
    # a report saved by `eval --save` (read back from JSON) gates as its result does
    import json

    new, old = _evaluate(P_NEW), _evaluate(P_OLD)
    as_json = [json.loads(dumps(r.to_dict())) for r in (new, old)]
    direct = g.check(new, baseline=old, tolerance="5%", max={"bce": 0.35})
    from_dicts = g.check(as_json[0], baseline=as_json[1], tolerance="5%", max={"bce": 0.35})
    assert from_dicts == direct


def test_check_a_baseline_of_other_data_is_not_comparable():
    import numpy as np

    from losscli import evaluate

    other = evaluate(np.array(P_OLD[:7]), np.array(Y[:7]), ["bce"])
    with pytest.raises(InputError) as err:
        g.check(_evaluate(P_NEW, ["bce"]), baseline=other, baseline_name="main.json")
    assert str(err.value) == (
        "main.json: the baseline is not comparable: n_samples 7 ≠ 8. Regenerate it with "
        "the same data and options (losscli eval ... --save FILE)."
    )


def test_check_errors_name_the_keywords():
    result = _evaluate(P_NEW, ["bce"])
    cases = [
        (dict(max={"bce": math.nan}), "max: the bound for bce is nan, not a finite number"),
        (dict(min={"bce": True}), "min: the bound for bce is True, not a finite number"),
        (dict(max={"bce": 0.3, "log_loss": 0.4}), "max is given twice for bce (0.3 and 0.4)"),
        (dict(max={"bce": 1}, tolerance="2%"), "tolerance applies to a baseline"),
        (dict(), "no gates to check"),
        (dict(baseline=result, tolerance="2"), "tolerance '2' needs a unit"),
        (dict(baseline=result, tolerances={"bce": "x"}), "tolerances['bce'] 'x' is malformed"),
        (dict(max={"mse": 1.0}), "gated loss mse was not computed. Add it with losses."),
        (dict(baseline={"losses": [1]}), "baseline must be an EvaluationResult or its JSON"),
        (dict(max={"bce": 1.0}, result=[0.3]), "result must be an EvaluationResult or its JSON"),
    ]
    for kwargs, problem in cases:
        with pytest.raises(InputError) as err:
            g.check(kwargs.pop("result", result), **kwargs)
        assert str(err.value).startswith(problem), (kwargs, str(err.value))


def test_check_error_names_the_flag_for_the_cli():
    with pytest.raises(InputError) as err:
        g.check(_evaluate(P_NEW, ["bce"]), max={"mse": 1.0})
    assert err.value.format("cli") == "gated loss mse was not computed. Add it with --loss."


def test_needed_losses_adds_the_gated_losses_to_named_ones():
    assert g.needed_losses(None, ["bce"], ["mse"]) is None
    assert g.needed_losses(["mae", "bce"], ["bce", "hinge"], ["mse"]) == [
        "mae",
        "bce",
        "hinge",
        "mse",
    ]


def test_signature_options_are_every_engine_option_but_the_nan_policy():
    # the CLI's order (the order of the "not comparable" message) and the engine's set
    from dataclasses import fields

    from losscli.cli.options import ENGINE_OPTIONS
    from losscli.engine.options import Options

    engine = {f.name for f in fields(Options)} - {"given", "nan_policy"}
    assert set(g.SIGNATURE_OPTIONS) == engine
    assert g.SIGNATURE_OPTIONS == tuple(o for o in ENGINE_OPTIONS if o != "nan_policy")
