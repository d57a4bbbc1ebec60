"""Engine errors name the API's keywords for a library caller (``str(exc)``) and the CLI's
flags where the CLI prints them (``exc.format()``, what `losscli.cli.run` writes), from one
message (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

from losscli import InputError, evaluate, evaluate_stream
from losscli.engine.weights import class_weight_vector, parse_class_weight
from losscli.errors import flag, option, render


def raised(fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as exc:
        fn(*args, **kwargs)
    return exc.value


@pytest.mark.parametrize(
    ("kwargs", "api", "cli"),
    [
        (
            {"huber_delta": 0.0},
            "huber_delta is 0.0; it must be > 0. Pass huber_delta > 0.",
            "--huber-delta is 0.0; it must be > 0. Pass --huber-delta > 0.",
        ),
        (
            {"nan_policy": "drop"},
            "nan_policy is drop; it must be raise or omit",
            "--nan-policy is drop; it must be raise or omit",
        ),
        (
            {"task": "clustering"},
            "Pass task='auto' or 'regression' or 'binary' or 'multiclass'.",
            "Pass --task auto or regression or binary or multiclass.",
        ),
    ],
)
def test_option_errors_name_the_keyword_and_the_cli_the_flag(kwargs, api, cli):
    e = raised(evaluate, np.array([0.2, 0.7]), np.array([0.0, 1.0]), **kwargs)
    assert api in str(e) and "--" not in str(e)
    assert cli in e.format()


def test_nan_error_offers_nan_policy_by_keyword():
    e = raised(evaluate, np.array([0.1, np.nan]), np.array([0, 1]))
    assert str(e).endswith("pass nan_policy='omit' to drop rows with NaN.")
    assert e.format().endswith("pass --nan-policy omit to drop rows with NaN.")


def test_probabilities_out_of_range_offer_from_logits_by_keyword():
    e = raised(evaluate, np.array([0.2, 1.5]), np.array([0, 1]), losses=["bce"], task="binary")
    assert "Pass from_logits=True for raw scores (logits), or losses to choose" in str(e)
    assert "Pass --from-logits for raw scores (logits), or --loss to choose" in e.format()


def test_class_weight_errors_name_the_keyword():
    e = raised(parse_class_weight, "0=1,x")
    assert str(e) == (
        "class_weight='0=1,x' is malformed at 'x'. Pass class_weight='balanced', or "
        "CLASS=WEIGHT pairs with weights ≥ 0, such as 0=1,1=4."
    )
    assert e.format().startswith("--class-weight '0=1,x' is malformed at 'x'. Pass --class-weight")
    e = raised(class_weight_vector, "balanced", np.array([3.0, 0.0]), ["a", "b"])
    assert str(e).startswith("class_weight='balanced' needs every class in the labels")
    assert str(e).endswith("such as class_weight={0: 1, 1: 4}.")
    assert e.format().endswith("such as --class-weight 0=1,1=4.")


def test_the_translation_is_one_table():
    assert [flag(k) for k in ("class_weight", "losses", "confidence", "n_resamples")] == [
        "--class-weight",
        "--loss",
        "--ci",
        "--bootstrap",
    ]
    text = f"leave out {option('class_weight')} or pass {option('from_logits', True)}"
    assert render(text, "api") == "leave out class_weight or pass from_logits=True"
    assert render(text) == "leave out --class-weight or pass --from-logits"


# The plan's messages (task, classes, reduction, a wrong task guess): keywords for the
# library, the same flags as before for the CLI.
P3 = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])


@pytest.mark.parametrize(
    ("preds", "labels", "kwargs", "api", "cli"),
    [
        (
            np.array([0.2, 0.7]),
            np.array(["a", "b"]),
            {"task": "regression"},
            "Pass task='binary' or task='multiclass', or give numeric labels.",
            "Pass --task binary or --task multiclass, or give numeric labels.",
        ),
        (
            np.array([0.2, 0.7]),
            np.array([0, 1]),
            {"losses": ["dice"], "reduction": "none"},
            "reduction='none' gives one value per row, but dice are dataset-level losses. "
            "Choose per-sample losses with losses, or another reduction.",
            "--reduction none gives one value per row, but dice are dataset-level losses. "
            "Choose per-sample losses with --loss, or another --reduction.",
        ),
        (
            np.array([0.2, 0.7]),
            np.array([0, 1]),
            {"task": "binary", "classes": ["a", "b", "c"]},
            "classes=['a', 'b', 'c'] names 3 classes, but a binary task has 2. "
            "Pass classes=['NEGATIVE', 'POSITIVE'], or task='multiclass'.",
            "--classes names 3 classes, but a binary task has 2. "
            "Pass --classes NEGATIVE,POSITIVE, or --task multiclass.",
        ),
        (
            np.array([0.2, 0.7, 0.4]),
            np.array([1, 2, 3]),
            {"task": "binary", "classes": ["1", "2"]},
            "classes=['NEGATIVE', 'POSITIVE'] names the two label values; check it.",
            "--classes NEGATIVE,POSITIVE names the two label values; check it.",
        ),
        (
            P3,
            np.array([0, 1, 5]),
            {"classes": ["2", "0", "1"]},
            "classes names each prediction column's class, in column order; check it.",
            "--classes names each prediction column's class, in column order; check it.",
        ),
        (
            np.array([0.2, 1.5, 0.4]),
            np.array([0, 1, 0]),
            {"losses": ["bce"]},
            "The task was guessed as binary from the 0/1 labels: pass task='regression' if "
            "the labels are regression targets, or from_logits=True for raw scores (logits).",
            "The task was guessed as binary from the 0/1 labels: pass --task regression if "
            "the labels are regression targets, or --from-logits for raw scores (logits).",
        ),
    ],
    ids=[
        "text-labels-regression",
        "reduction-none",
        "binary-classes-count",
        "binary-classes-values",
        "classes-order",
        "guess-binary",
    ],
)
def test_plan_errors_name_the_keyword_and_the_cli_the_flag(preds, labels, kwargs, api, cli):
    e = raised(evaluate, preds, labels, **kwargs)
    assert str(e).endswith(api) and "--" not in str(e)
    assert e.format().endswith(cli)


def test_a_wrong_guess_in_a_stream_names_the_keyword():
    chunks = [(np.array([0.2, 0.7]), np.array([0, 1])), (np.array([1.5]), np.array([1]))]
    e = raised(evaluate_stream, chunks, losses=["bce"])
    assert e.row == 3 and str(e).endswith("or from_logits=True for raw scores (logits).")
    assert e.format().endswith("or --from-logits for raw scores (logits).")
