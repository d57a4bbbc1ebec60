"""`losscli explain` and `losscli.explain` (`losscli.explaining`) (SPEC §9): values under each convention,
and the rules behind each difference, whose effects add up to it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.engine import conventions
from losscli.explaining import explain
from tests.cli.conftest import invoke

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def binary(rng):
    y = rng.integers(0, 2, 400)
    p = rng.uniform(0, 1, 400)
    p[:7] = 1 - y[:7]  # certain and wrong: clipping decides
    return p, y, rng.uniform(0.5, 2.0, 400)


@pytest.fixture
def multiclass(rng):
    c = rng.integers(0, 3, 300)
    P = rng.dirichlet(np.ones(3), 300)
    P[:5] *= 0.9  # rows that do not sum to 1
    return P, c, rng.normal(0, 1.5, (300, 3))


def _close(doc_loss, conv):
    return next(d for d in doc_loss.differences if d.convention == conv)


def test_effects_add_up_and_switching_rules_off_closes_the_gap(binary, multiclass):
    p, y, w = binary
    P, c, S = multiclass
    z = np.log(p.clip(1e-9, 1 - 1e-9) / (1 - p.clip(1e-9, 1 - 1e-9)))
    pos = {"from_logits": True, "class_weight": {"0": 0.4, "1": 3.0}}
    runs = [
        (explain(p, y, losses=["bce", "mse", "focal"], sample_weight=w), p, y, w, {}),
        (explain(P, c, losses=["ce", "kl", "mse", "rmse"]), P, c, None, {}),
        (explain(S, c, losses=["hinge"]), S, c, None, {}),
        (explain(z, y, losses=["bce"], sample_weight=w, **pos), z, y, w, pos),
    ]
    seen = set()
    for result, preds, labels, weights, extra in runs:
        for item in result.losses:
            for diff in item.differences:
                conv = conventions.get(diff.convention)
                explained = sum(r.effect for r in diff.rules)
                assert explained + diff.unexplained == pytest.approx(diff.difference, rel=1e-12)
                assert diff.unexplained == pytest.approx(0.0, abs=1e-12 * abs(diff.difference))
                # with rule i and those after it off, the gap left is the effects before i
                for i in range(len(conv.rules), -1, -1):
                    value = losscli.evaluate(
                        preds, labels, losses=[item.loss], sample_weight=weights,
                        convention=conv.with_rules(i), **extra,
                    ).losses[item.loss]  # fmt: skip
                    named = {r.name for r in conv.rules[:i]}
                    left = sum(r.effect for r in diff.rules if r.rule in named)
                    assert value - item.values["losscli"] == pytest.approx(left, abs=1e-12)
                seen |= {r.rule for r in diff.rules}
    assert seen >= {
        "clip 1e-7", "log clamp −100", "weights / N", "renormalise", "kl clip 1e-7",
        "kl / (N·k)", "hinge Weston–Watkins / k", "categorical hinge", "rmse per column",
        "brier sums classes", "class weights / N",
    }  # fmt: skip


def test_rows_are_those_the_rule_changes(binary):
    p, y, _ = binary
    bce = explain(p, y, losses=["bce"])["bce"]
    keras = _close(bce, "keras")
    assert [(r.rule, r.rows) for r in keras.rules] == [("clip 1e-7", 7)]
    assert [(r.rule, r.rows) for r in _close(bce, "torch").rules] == [("log clamp −100", 7)]


def test_identical_conventions_show_no_difference(binary):
    p, y, w = binary
    result = explain(p, y, losses=["bce", "mae"], sample_weight=w, convention="sklearn")
    for item in result.losses:
        assert item.values["sklearn"] == item.values["losscli"]
        assert item.differences == []
    inside = explain(p[7:], y[7:], losses=["bce"])["bce"]  # nothing to clip: keras agrees
    assert inside.values["keras"] == pytest.approx(inside.values["losscli"], rel=1e-12)


def test_a_loss_the_framework_lacks_is_not_available_with_the_reason(binary):
    p, y, _ = binary
    item = explain(p, y, losses=["dice"])["dice"]
    assert item.values["torch"] is None and item.values["sklearn"] is None
    assert "torch has no dice for a binary task" in item.unavailable["torch"].format("api")


def test_cli_table_and_json(tmp_path, binary):
    p, y, _ = binary
    path = tmp_path / "preds.csv"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    out = invoke(["explain", path, "--loss", "bce"], expect=0).out
    assert "keras clips p to [1e-7, 1 − 1e-7] before a log: 7 rows, -" in out
    assert out.splitlines()[:3] == [
        "bce",
        "  convention     value  difference",
        out.splitlines()[2],
    ]
    doc = json.loads(invoke(["explain", path, "--loss", "bce", "-f", "json"], expect=0).out)
    (item,) = doc["explain"]
    assert set(item["values"]) == {"losscli", "sklearn", "torch", "keras"}
    keras = next(d for d in item["differences"] if d["convention"] == "keras")
    assert keras["rules"][0]["rule"] == "clip 1e-7" and keras["rules"][0]["rows"] == 7
    assert keras["difference"] == pytest.approx(item["values"]["keras"] - item["values"]["losscli"])
    assert keras["unexplained"] == 0.0


def test_cli_streams_chunks_as_one_pass(tmp_path, binary, monkeypatch):
    from losscli.cli import options

    p, y, _ = binary
    path = tmp_path / "preds.csv"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    whole = json.loads(invoke(["explain", path, "-f", "json"], expect=0).out)
    monkeypatch.setattr(options, "STREAM_ROWS", 37)
    chunked = json.loads(invoke(["explain", path, "-f", "json"], expect=0).out)
    for a, b in zip(whole["explain"], chunked["explain"], strict=True):
        for conv, value in a["values"].items():
            if value is None:  # the framework lacks the loss
                assert b["values"][conv] is None
            else:
                assert b["values"][conv] == pytest.approx(value, rel=1e-12, abs=0)
        assert [r["rows"] for d in a["differences"] for r in d["rules"]] == [
            r["rows"] for d in b["differences"] for r in d["rules"]
        ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--loss", "dice", "--convention", "torch"], "error: torch has no dice for a binary task."),
        (["eval", "--loss", "bce", "--convention", "keras", "--class-weight", "0=1,1=2"],
         "error: keras's BinaryCrossentropy (bce) takes no --class-weight."),
        (["check", "--loss", "bce", "--convention", "sklearn", "--label-smoothing", "0.1", "--max", "bce=9"],
         "error: sklearn's log_loss (bce) takes no --label-smoothing."),
        (["eval", "--loss", "focal", "--convention", "torch"],
         "error: torch's torchvision.ops.sigmoid_focal_loss (focal) takes logits. Pass --from-logits with logits,"),
        (["eval", "--loss", "bce", "--convention", "sklearn", "--from-logits"],
         "error: sklearn's log_loss (bce) takes probabilities. Give probabilities, without --from-logits, "
         "or pass --convention losscli.\n"),
    ],
)  # fmt: skip
def test_unsupported_combinations_are_one_error_line(tmp_path, binary, argv, message):
    p, y, _ = binary
    path = tmp_path / "preds.csv"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    code, out, err = invoke([argv[0], path, *argv[1:]], expect=2)
    assert err.startswith(message) and err.count("\n") == 1 and out == ""


def test_check_refuses_a_baseline_of_another_convention(tmp_path, binary):
    p, y, _ = binary
    path, base = tmp_path / "preds.csv", tmp_path / "base.json"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    invoke(["eval", path, "--loss", "bce", "--convention", "keras", "--save", base], expect=0)
    assert json.loads(base.read_text())["signature"].endswith("convention:keras")
    code, _, err = invoke(["check", path, "--loss", "bce", "--baseline", base], expect=2)
    assert "convention keras ≠ losscli" in err
    invoke(["check", path, "--loss", "bce", "--convention", "keras", "--baseline", base], expect=0)
    # a baseline without the key (before SPEC §9) is losscli's, and stays comparable
    invoke(["eval", path, "--loss", "bce", "--save", base], expect=0)
    invoke(["check", path, "--loss", "bce", "--baseline", base], expect=0)
    code, _, err = invoke(
        ["check", path, "--loss", "bce", "--convention", "torch", "--baseline", base], expect=2
    )
    assert "convention losscli ≠ torch" in err


def test_readme_example_prints_what_the_readme_shows(monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Why your framework's number differs") :]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    command, expected = block.split("\n", 1)
    monkeypatch.chdir(ROOT)
    assert invoke(shlex.split(command.removeprefix("$ losscli ")), expect=0).out == expected


def test_the_title_line_names_the_convention_wherever_the_signature_does(tmp_path, binary):
    p, y, _ = binary
    path, b = tmp_path / "preds.csv", tmp_path / "b.csv"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    np.savetxt(b, np.c_[p[::-1], y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    for argv in (
        ["eval", path, "--loss", "bce"],
        ["eval", path, "--loss", "bce", "-f", "markdown"],
        ["check", path, "--loss", "bce", "--max", "bce=99"],
        ["compare", path, b, "--loss", "bce", "--method", "normal"],
    ):
        first = invoke([*argv, "--convention", "torch", "-q"], expect=0).out.splitlines()[0]
        assert " · convention: torch · " in first, argv
        assert "convention" not in invoke([*argv, "-q"], expect=0).out.splitlines()[0]


def test_settings_file_convention_is_typed_and_used(tmp_path, binary, monkeypatch):
    p, y, _ = binary
    np.savetxt(tmp_path / "preds.csv", np.c_[p, y], delimiter=",", header="pred,label",
               comments="", fmt="%.17g")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    settings = tmp_path / "losscli.toml"
    for value, shown in (("3", "3"), ('"pytorch"', '"pytorch"')):
        settings.write_text(f"convention = {value}\n")
        _, out, err = invoke(["eval", "preds.csv", "--loss", "bce"], expect=2)
        assert err == (
            "error: losscli.toml: key 'convention' must be one of losscli, sklearn, torch, "
            f"keras (got {shown}).\n"
        )
    settings.write_text('convention = "keras"\n')
    doc = json.loads(invoke(["eval", "preds.csv", "--loss", "bce", "-f", "json"], expect=0).out)
    assert doc["signature"].endswith("|convention:keras")
    # the flag wins over the file
    doc = json.loads(invoke(["eval", "preds.csv", "--loss", "bce", "-f", "json",
                             "--convention", "losscli"], expect=0).out)  # fmt: skip
    assert "convention" not in doc["signature"]


def test_json_has_exactly_the_keys_of_spec_9(tmp_path, binary):
    p, y, _ = binary
    path = tmp_path / "preds.csv"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    doc = json.loads(invoke(["explain", path, "--loss", "bce,dice", "-f", "json"], expect=0).out)
    assert set(doc) == {"losscli", "task", "n_samples", "explain", "options", "inputs"}
    for item in doc["explain"]:
        # SPEC §9's keys, and why a framework's value is null (README)
        assert set(item) == {"loss", "values", "differences", "unavailable"}
        assert set(item["unavailable"]) == {k for k, v in item["values"].items() if v is None}
        for diff in item["differences"]:
            assert set(diff) == {"convention", "difference", "rules", "unexplained"}
            assert all(set(r) == {"rule", "rows", "effect"} for r in diff["rules"])
            assert set(r["rule"] for r in diff["rules"]) <= set(conventions.RULE_TEXT)
    assert doc["explain"][1]["unavailable"]["torch"].startswith("torch has no dice")
    assert doc["options"]["conventions"] == ["sklearn", "torch", "keras"]
    assert "convention" not in doc["options"]  # the options are losscli's own
    one = invoke(
        ["explain", path, "--loss", "bce", "-f", "json", "--convention", "keras"], expect=0
    )
    assert json.loads(one.out)["options"]["conventions"] == ["keras"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "pred"], "error: explain sets the conventions side by side for the whole input; it has no slices."),
        (["--per-class"], "error: explain sets the conventions side by side for the whole input; it has no slices."),
        (["--reduction", "none"], "error: explain sets reduced losses side by side; --reduction none gives one value per row."),
        (["--convention", "pytorch"], "error: Invalid value for '--convention': 'pytorch' is not one of"),
        (["--loss", "nope"], "error: unknown loss 'nope'"),
    ],
)  # fmt: skip
def test_explain_refuses_in_one_line(tmp_path, binary, extra, message):
    p, y, _ = binary
    path = tmp_path / "preds.csv"
    np.savetxt(path, np.c_[p, y], delimiter=",", header="pred,label", comments="", fmt="%.17g")
    _, out, err = invoke(["explain", path, *extra], expect=2)
    assert err.startswith(message) and err.count("\n") == 1 and out == ""


def test_explain_on_stdin_and_on_regression(tmp_path, binary):
    p, y, _ = binary
    text = "pred,label\n" + "".join(f"{float(a)!r},{int(b)}\n" for a, b in zip(p, y, strict=True))
    doc = json.loads(
        invoke(["explain", "-", "--loss", "bce", "-f", "json"], input=text, expect=0).out
    )
    assert doc["explain"][0]["values"]["losscli"] == pytest.approx(
        losscli.evaluate(p, y, losses=["bce"])["bce"], rel=1e-12
    )
    rng = np.random.default_rng(4)
    t = rng.normal(size=50)
    reg = explain(t + rng.normal(size=50), t, losses=["mse", "huber", "log_cosh"])
    for item in reg.losses:  # the frameworks agree with losscli on regression
        assert all(v == item.values["losscli"] for v in item.values.values() if v is not None)
        assert item.differences == []


def test_an_option_the_framework_lacks_makes_its_value_unavailable_never_ignored(binary):
    p, y, _ = binary
    item = explain(p, y, losses=["bce"], label_smoothing=0.1)["bce"]
    assert item.values["sklearn"] is None and item.values["torch"] is None
    assert "takes no label_smoothing" in item.unavailable["torch"].format("api")
    assert item.values["keras"] == losscli.evaluate(p, y, losses=["bce"], label_smoothing=0.1,
                                                    convention="keras")["bce"]  # fmt: skip


def test_torch_kl_is_reproduced_for_the_mean_only():
    P = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    Y = np.array([[0.6, 0.2, 0.2], [0.1, 0.1, 0.8]])
    with pytest.raises(losscli.InputError, match="reproduced for the mean only"):
        losscli.evaluate(P, Y, losses=["kl"], convention="torch", reduction="sum")


def test_readme_rules_table_is_the_rules_in_order_with_their_conventions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Why your framework's number differs") :]
    section = section[: section.index("\n## ", 3)]
    rows = [
        line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "`" in line
    ]
    table = [(row[1].strip("`"), set(row[0].strip("| ").split(", "))) for row in rows]
    users = {
        rule.name: {c.name for c in conventions.CONVENTIONS.values() if rule in c.rules}
        for rule in conventions.RULES
    }
    assert table == list(users.items())


def test_a_reason_found_in_the_data_names_the_file_column_and_row(tmp_path):
    path = tmp_path / "soft.csv"
    path.write_text("p,y,w\n0.2,0.3,1\n0.8,1,2\n0.4,0,1\n")
    argv = ["explain", path, "--pred-col", "p", "--label-col", "y", "--task", "binary", "-q"]
    doc = json.loads(invoke([*argv, "--loss", "bce", "-f", "json"], expect=0).out)
    assert doc["explain"][0]["unavailable"]["sklearn"].startswith(
        f"{path}, column 'y', row 1 (line 2): sklearn's log_loss (bce) takes class labels"
    )
    doc = json.loads(
        invoke([*argv, "--loss", "dice", "--weight-col", "w", "-f", "json"], expect=0).out
    )
    assert doc["explain"][0]["unavailable"]["keras"].startswith(
        f"{path}, column 'w': keras's Dice (dice) takes no sample weights"
    )
