"""`losscli losses`: every loss with its aliases, tasks, formula and reference, as a table,
JSON and Markdown. (The README's loss table is checked against it in tests/test_docs.py.)"""

from __future__ import annotations

import json

from tests.cli.conftest import ANSI, invoke


def test_losses_table_lists_every_loss():
    names = [
        r["name"]
        for r in json.loads(invoke(["losses", "--format", "json"], expect=0).out)["losses"]
    ]
    out = invoke(["losses"], expect=0).out
    for name in names:
        assert name in out
    assert not ANSI.search(invoke(["losses"], env={"NO_COLOR": "1"}, expect=0).out)


def test_losses_json_every_loss_has_formula_and_reference():
    rows = json.loads(invoke(["losses", "--format", "json"], expect=0).out)["losses"]
    names = {r["name"] for r in rows}
    assert names >= {"mse", "rmse", "mae", "huber", "pseudo_huber", "log_cosh", "bce", "hinge",
                     "squared_hinge", "ce", "kl", "focal", "dice"}  # fmt: skip
    for r in rows:
        assert isinstance(r["formula"], str) and r["formula"].strip(), r["name"]
        assert isinstance(r["reference"], str) and r["reference"].strip(), r["name"]
        assert r["tasks"], r["name"]
    aliases = {r["name"]: set(r["aliases"]) for r in rows}
    assert {"log_loss", "logloss", "binary_crossentropy"} <= aliases["bce"]


def test_losses_markdown():
    out = invoke(["losses", "--format", "markdown"], expect=0).out
    assert out.splitlines()[0].startswith("| name |")
