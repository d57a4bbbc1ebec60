"""eval and check with --by, --per-class and --worst, end to end on real files (SPEC §8)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, mean_absolute_error

from tests.cli.conftest import invoke, spawn

ROOT = Path(__file__).resolve().parents[2]
REG = str(ROOT / "sample_data" / "regression_slices.csv")
BIN = str(ROOT / "sample_data" / "binary_slices.csv")
BIN_ARGS = ["--pred-col", "prob", "--label-col", "label"]


def _json(argv: list[str]) -> dict:
    return json.loads(invoke([*argv, "-f", "json", "-q"], expect=0).out)


def test_sliced_eval_equals_sklearn_on_each_slice_and_the_csv_agrees() -> None:
    df = pd.read_csv(REG)
    argv = ["eval", REG, "--pred-col", "y_pred", "--label-col", "y_true", "-l", "mae"]
    doc = _json([*argv, "--by", "sex", "--by", "age", "--bins", "age=40,60"])
    [by_sex, by_age] = doc["slices"]
    for g in by_sex["groups"]:
        rows = df[df.sex == int(g["key"]["sex"])]
        assert g["n_samples"] == len(rows)
        assert g["losses"]["mae"] == pytest.approx(
            mean_absolute_error(rows.y_true, rows.y_pred), rel=1e-12
        )
    cuts = {
        "(-inf, 40)": df.age < 40,
        "[40, 60)": (df.age >= 40) & (df.age < 60),
        "[60, inf)": df.age >= 60,
    }
    assert [g["key"]["age"] for g in by_age["groups"]] == list(cuts)
    for g in by_age["groups"]:
        rows = df[cuts[g["key"]["age"]]]
        assert g["losses"]["mae"] == pytest.approx(
            mean_absolute_error(rows.y_true, rows.y_pred), rel=1e-12
        )
    out = invoke(
        [*argv, "--by", "sex", "--by", "age", "--bins", "age=40,60", "-f", "csv"], expect=0
    ).out
    table = list(csv.DictReader(out.splitlines()))
    assert table[0]["slicing"] == "all" and table[0]["key"] == ""
    assert float(table[0]["mae"]) == doc["losses"]["mae"]
    assert [r["key"] for r in table[1:3]] == ["sex=1", "sex=2"]
    assert float(table[1]["mae"]) == by_sex["groups"][0]["losses"]["mae"]


def test_cross_of_two_columns_and_per_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 300
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < p).astype(int)
    region = rng.choice(["eu", "us"], n)
    device = rng.choice(["ios", "web", "android"], n)
    path = tmp_path / "d.csv"
    pd.DataFrame({"prob": p, "label": y, "region": region, "device": device}).to_csv(
        path, index=False
    )
    doc = _json(["eval", str(path), *BIN_ARGS, "-l", "bce", "--by", "region,device", "--per-class"])
    cross, per_class = doc["slices"]
    assert cross["by"] == ["region", "device"] and per_class["by"] == ["class"]
    assert len(cross["groups"]) == 6
    for g in cross["groups"]:
        m = (region == g["key"]["region"]) & (device == g["key"]["device"])
        assert g["losses"]["bce"] == pytest.approx(log_loss(y[m], p[m], labels=[0, 1]), rel=1e-12)
    for g in per_class["groups"]:
        m = y == int(g["key"]["class"])
        assert g["losses"]["bce"] == pytest.approx(log_loss(y[m], p[m], labels=[0, 1]), rel=1e-12)


def test_worst_rows_name_file_rows_and_lines_and_match_a_full_sort() -> None:
    df = pd.read_csv(BIN)
    doc = _json(["eval", BIN, *BIN_ARGS, "-l", "bce", "--worst", "5", "--show-col", "radius"])
    p = df.prob.clip(np.finfo(float).eps, 1 - np.finfo(float).eps)
    ell = -(df.label * np.log(p) + (1 - df.label) * np.log(1 - p))
    expect = np.lexsort((np.arange(len(df)), -ell.to_numpy()))[:5]
    assert [w["row"] for w in doc["worst"]] == [int(i) + 1 for i in expect]
    assert [w["line"] for w in doc["worst"]] == [int(i) + 2 for i in expect]  # the header
    assert [w["radius"] for w in doc["worst"]] == [float(df.radius[i]) for i in expect]
    assert doc["worst_by"] == "bce"


def test_check_by_gates_each_slice_and_the_gap_and_names_them_in_junit(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    argv = ["check", BIN, *BIN_ARGS, "-l", "bce", "--by", "radius", "--bins", "radius=12,15,18"]
    ran = invoke(
        [*argv, "--max", "bce=0.1", "--max-gap", "bce=0.2", "--junit", junit, "-q"], expect=1
    )
    assert "bce[radius=[12, 15)]" in ran.out  # 0.105 > 0.1: the one failing slice
    names = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    assert "bce[radius=[12, 15)] max 0.1" in names and "bce[gap by radius] gap 0.2" in names
    failed = [
        c.get("name")
        for c in ET.parse(junit).getroot().iter("testcase")
        if c.find("failure") is not None
    ]
    assert failed == ["bce[radius=[12, 15)] max 0.1"]
    report = tmp_path / "r.json"
    invoke([*argv, "--max", "bce=0.2", "--report", report, "-q"], expect=0)
    gates = json.loads(report.read_text())["gates"]
    assert {"radius": "[18, inf)"} in [g.get("slice") for g in gates]
    assert all(
        "slice" not in g for g in gates if g["kind"] == "max" and g["value"] == gates[0]["value"]
    )


def test_a_baseline_with_the_same_slicing_is_compared_slice_by_slice(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    invoke(["eval", REG, "--pred-col", "y_pred", "--label-col", "y_true", "-l", "mae",
            "--by", "sex", "--save", base, "-q"], expect=0)  # fmt: skip
    doc = json.loads(base.read_text())
    doc["slices"][0]["groups"][0]["losses"]["mae"] *= 0.9  # sex=1 was 10 % better
    base.write_text(json.dumps(doc))
    ran = invoke(["check", REG, "--pred-col", "y_pred", "--label-col", "y_true", "-l", "mae",
                  "--by", "sex", "--by", "age", "--bins", "age=50", "--baseline", base,
                  "--tolerance", "5%"], expect=1)  # fmt: skip
    assert "mae[sex=1]" in ran.out and "FAILED: 1 of" in ran.out
    assert "the baseline has no slices by age" in ran.err


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--by", "nope"], "no column 'nope'"),
        (["--by", "radius"], "--bins radius="),
        (["--by", "id", "--max-slices", "10"], "more than 10 distinct slices"),
        (["--worst", "2", "--worst-by", "rmse"], "no value per row"),
        (["--by", "radius", "--bins", "radius=5,1"], "must increase"),
        (["--per-class", "--reduction", "none"], "--reduction none"),
    ],
)
def test_bad_slice_options_are_one_error_line(extra: list[str], words: str) -> None:
    ran = invoke(["eval", BIN, *BIN_ARGS, *extra], expect=2)
    assert ran.err.startswith("error: ") and ran.err.count("\n") == 1
    assert words in ran.err


def test_a_shown_column_named_like_a_field_of_every_worst_row_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("prob,label,weight\n0.2,0,1\n0.9,1,2\n")
    ran = invoke(["eval", path, *BIN_ARGS, "--worst", "1", "--show-col", "weight"], expect=2)
    assert "a field every worst row has" in ran.err and ran.err.count("\n") == 1


def test_per_class_on_regression_is_an_error() -> None:
    ran = invoke(
        ["eval", REG, "--pred-col", "y_pred", "--label-col", "y_true", "--per-class"], expect=2
    )
    assert "per-class losses need one true class per row" in ran.err


def test_a_slice_column_in_both_files_must_agree_also_after_a_join(tmp_path: Path) -> None:
    preds, labels = tmp_path / "p.csv", tmp_path / "l.csv"
    preds.write_text("id,prob,region\n1,0.2,eu\n2,0.8,us\n3,0.6,eu\n")
    labels.write_text("id,label,region\n3,1,us\n1,0,eu\n2,1,us\n")
    ran = invoke(["eval", preds, labels, "--id-col", "id", "--by", "region"], expect=2)
    assert "the values differ at row 3" in ran.err
    labels.write_text("id,label,region\n3,1,eu\n1,0,eu\n2,1,us\n")
    doc = _json(["eval", str(preds), str(labels), "--id-col", "id", "--by", "region", "-l", "bce"])
    eu = doc["slices"][0]["groups"][0]
    assert eu["key"] == {"region": "eu"}
    assert eu["losses"]["bce"] == pytest.approx(log_loss([0, 1], [0.2, 0.6]), rel=1e-12)


def test_slices_stream_from_a_real_process_in_small_chunks(tmp_path: Path) -> None:
    """Chunks of 7 rows on two cores give the numbers of one chunk."""
    argv = ["eval", BIN, *BIN_ARGS, "-l", "bce,dice", "--by", "radius", "--bins", "radius=13",
            "--per-class", "--worst", "3", "-f", "json", "-q"]  # fmt: skip
    small = spawn(argv, env={"LOSSCLI_CHUNK_ROWS": "7"}, text=True)
    whole = spawn(argv, text=True)
    assert small.returncode == whole.returncode == 0, small.stderr
    a, b = json.loads(small.stdout), json.loads(whole.stdout)
    assert a["worst"] == b["worst"]
    for sa, sb in zip(a["slices"], b["slices"], strict=True):
        for ga, gb in zip(sa["groups"], sb["groups"], strict=True):
            assert ga["key"] == gb["key"] and ga["n_samples"] == gb["n_samples"]
            for name, value in gb["losses"].items():
                assert ga["losses"][name] == pytest.approx(value, rel=1e-12)


def test_top_slices_only_shortens_what_eval_shows_check_gates_every_slice() -> None:
    """A display option never changes which slices are gated (found by a hostile-user run:
    --top-slices 1 made a failing check pass)."""
    argv = ["check", BIN, *BIN_ARGS, "-l", "bce,mse", "--by", "radius", "--bins",
            "radius=12,15,18", "--max", "mse=0.0295", "-q"]  # fmt: skip
    assert "mse[radius=[15, 18)]" in invoke(argv, expect=1).out
    assert "mse[radius=[15, 18)]" in invoke([*argv, "--top-slices", "1"], expect=1).out


def test_infinite_keys_empty_by_and_ids_beyond_2_53(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text(
        "prob,label,x,big\n0.2,0,inf,9007199254740992\n0.7,1,-inf,9007199254740993\n0.4,1,3,1\n"
    )
    out = invoke(["eval", path, "--by", "x", "-l", "bce", "-f", "csv", "-q"], expect=0).out
    keys = [r["key"] for r in csv.DictReader(out.splitlines())][1:]
    assert sorted(keys) == ["x=-inf", "x=3", "x=inf"]
    ran = invoke(["eval", path, "--by", "", "-l", "bce"], expect=2)
    assert "--by" in ran.err and "needs a column name" in ran.err
    ran = invoke(["eval", path, "--by", "big", "-l", "bce"], expect=2)
    assert "beyond 2^53" in ran.err and "column 'big'" in ran.err


def test_check_csv_names_the_slice_of_each_gate() -> None:
    argv = ["check", BIN, *BIN_ARGS, "-l", "bce", "--by", "radius", "--bins", "radius=15",
            "--max", "bce=0.2", "--max-gap", "bce=0.1", "-f", "csv", "-q"]  # fmt: skip
    rows = list(csv.DictReader(invoke(argv, expect=0).out.splitlines()))
    assert [r["slice"] for r in rows] == [
        "",
        "radius=(-inf, 15)",
        "radius=[15, inf)",
        "gap by radius",
    ]


def test_slice_options_in_a_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "losscli.toml"
    config.write_text('by = ["radius"]\nbins = ["radius=12,15"]\nworst = 2\n')
    doc = _json(["eval", BIN, *BIN_ARGS, "-l", "bce", "--config", str(config)])
    assert [g["key"]["radius"] for g in doc["slices"][0]["groups"]] == [
        "(-inf, 12)",
        "[12, 15)",
        "[15, inf)",
    ]
    assert len(doc["worst"]) == 2
    config.write_text('worst = "x"\n')
    ran = invoke(["eval", BIN, *BIN_ARGS, "--config", config], expect=2)
    assert "key 'worst' must be an integer" in ran.err


def test_dates_and_times_slice_by_their_iso_text_in_parquet_csv_and_the_api(
    tmp_path: Path,
) -> None:
    """A date column is a natural slicing (one slice per day): Parquet gives its ISO text,
    as CSV reads the same column, and NaT/null is its own slice. As predictions it is
    still refused."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    import losscli

    p, y = [0.1, 0.9, 0.4, 0.7], [0, 1, 0, 1]
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 2), None, dt.date(2026, 1, 1)]
    stamps = [dt.datetime(2026, 1, 1, 5), None, dt.datetime(2026, 1, 1, 5), dt.datetime(2026, 1, 2)]
    table = pa.table({"p": p, "y": y, "day": days, "ts": pa.array(stamps, pa.timestamp("s"))})
    pq.write_table(table, tmp_path / "d.parquet")
    table.to_pandas().to_csv(tmp_path / "d.csv", index=False)
    argv = ["--pred-col", "p", "--label-col", "y", "-l", "bce"]
    got = {}
    for name in ("d.parquet", "d.csv"):
        doc = _json(["eval", str(tmp_path / name), *argv, "--by", "day"])
        got[name] = {g["key"]["day"]: g["losses"]["bce"] for g in doc["slices"][0]["groups"]}
    want = {
        "2026-01-01": log_loss([0, 1], [0.1, 0.7], labels=[0, 1]),
        "2026-01-02": log_loss([1], [0.9], labels=[0, 1]),
        None: log_loss([0], [0.4], labels=[0, 1]),
    }
    for name, values in got.items():
        assert values == pytest.approx(want, rel=1e-12), name
    doc = _json(["eval", str(tmp_path / "d.parquet"), *argv, "--by", "ts"])
    keys = [g["key"]["ts"] for g in doc["slices"][0]["groups"]]
    # Parquet keeps seconds as milliseconds: Arrow writes the stored precision
    assert keys == ["2026-01-01 05:00:00.000", "2026-01-02 00:00:00.000", None]
    api = losscli.evaluate(
        np.array(p), np.array(y), ["bce"], by={"day": np.array(days, dtype="datetime64[D]")}
    )
    assert [g.n_samples for g in api.slices[0].groups] == [2, 1, 1]
    err = invoke(["eval", str(tmp_path / "d.parquet"), "--pred-col", "day", "--label-col", "y"],
                 expect=2).err  # fmt: skip
    assert err.startswith("error:") and "dates or times" in err


def test_a_settings_file_sets_max_gap_like_max_and_min(tmp_path: Path) -> None:
    """`max-gap = { bce = ... }` in losscli.toml gates the spread as --max-gap does; a flag
    replaces the file's bound, a wrong type is one error line."""
    argv = ["check", BIN, *BIN_ARGS, "-l", "bce", "--by", "radius", "--bins", "radius=12,15,18"]
    config = tmp_path / "losscli.toml"
    config.write_text("max-gap = { bce = 0.01 }\n")
    ran = invoke([*argv, "--config", config, "-f", "json", "-q"], expect=1)
    [gap] = [g for g in json.loads(ran.out)["gates"] if g["kind"] == "gap"]
    assert gap["bound"] == 0.01 and not gap["passed"]
    invoke([*argv, "--config", config, "--max-gap", "bce=0.5", "-q"], expect=0)
    config.write_text('max-gap = { bce = "wide" }\n')
    err = invoke([*argv, "--config", config], expect=2).err
    assert err.startswith("error:") and "max-gap.bce" in err and len(err.splitlines()) == 1
