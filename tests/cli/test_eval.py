"""`losscli eval` end to end: real files on tmp_path, run in-process through `invoke`.

Reference values come from scikit-learn (`log_loss`, `mean_squared_error`) or are worked by
hand with NumPy from the definitions of SPEC §4; each test says which.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error

from losscli._version import __version__
from losscli.cli import cli
from tests.cli.conftest import invoke

pytestmark = pytest.mark.usefixtures("chdir_tmp")

N = 200
FORMATS = ("table", "json", "csv", "tsv", "markdown")


def as_json(args, **kw) -> dict:
    return json.loads(invoke([*args, "--format", "json"], **kw, expect=0).out)


def losses_csv(args, **kw) -> dict[str, float]:
    rows = list(csv.reader(io.StringIO(invoke([*args, "--format", "csv"], **kw, expect=0).out)))
    assert rows[0] == ["loss", "value"]
    return {name: float(value) for name, value in rows[1:]}


def to_csv(df: pd.DataFrame, path, **kw) -> None:
    df.to_csv(path, index=False, float_format="%.17g", **kw)


# -- data ------------------------------------------------------------------------------------


@pytest.fixture
def binary(rng):
    y = rng.integers(0, 2, N)
    p = np.clip(rng.beta(2, 2, N) * 0.6 + 0.4 * y, 1e-3, 1 - 1e-3)
    w = rng.uniform(0.5, 2.0, N)
    return pd.DataFrame({"id": np.arange(1000, 1000 + N), "pred": p, "label": y, "w": w})


@pytest.fixture
def regression(rng):
    y = rng.normal(10, 3, N)
    p = y + rng.normal(0, 1.5, N)
    w = rng.uniform(0.5, 2.0, N)
    return pd.DataFrame({"id": np.arange(N), "y_pred": p, "y_true": y, "w": w})


CLASSES = ["cat", "dog", "bird"]


@pytest.fixture
def multiclass(rng):
    logits = rng.normal(0, 1.5, (N, 3))
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    idx = rng.integers(0, 3, N)
    df = pd.DataFrame({f"p_{c}": prob[:, i] for i, c in enumerate(CLASSES)})
    df["label"] = [CLASSES[i] for i in idx]
    for i, c in enumerate(CLASSES):
        df[f"y_{c}"] = (idx == i).astype(int)
    return df, prob, idx


def bce_sklearn(df, **kw) -> float:
    # oracle: scikit-learn log_loss, which clips at float64 machine epsilon like losscli
    return log_loss(df["label"], df["pred"], labels=[0, 1], **kw)


# -- every input format ----------------------------------------------------------------------


def _write_one_file(df: pd.DataFrame, fmt: str) -> list[str]:
    """Write pred and label columns in format `fmt`; return the arguments for eval."""
    df = df[["pred", "label"]]
    if fmt == "csv":
        to_csv(df, "data.csv")
        return ["data.csv"]
    if fmt == "tsv":
        to_csv(df, "data.tsv", sep="\t")
        return ["data.tsv"]
    if fmt == "csv.gz":
        to_csv(df, "data.csv.gz", compression="gzip")
        return ["data.csv.gz"]
    if fmt == "parquet":
        df.to_parquet("data.parquet", index=False)
        return ["data.parquet"]
    if fmt == "feather":
        df.to_feather("data.feather")
        return ["data.feather"]
    if fmt == "npy":
        np.save("preds.npy", df["pred"].to_numpy())
        np.save("labels.npy", df["label"].to_numpy())
        return ["preds.npy", "labels.npy"]
    if fmt == "npz":
        np.savez("data.npz", pred=df["pred"].to_numpy(), label=df["label"].to_numpy())
        return ["data.npz"]
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "csv.gz", "parquet", "feather", "npy", "npz"])
def test_every_input_format_gives_the_sklearn_value(binary, fmt):
    args = _write_one_file(binary, fmt)
    got = as_json(["eval", *args, "--loss", "bce,mse"])
    assert got["task"] == "binary"
    assert got["n_samples"] == N
    assert got["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)
    # oracle: Brier score = mean_squared_error of probabilities against 0/1 labels
    assert got["losses"]["mse"] == pytest.approx(
        mean_squared_error(binary["label"], binary["pred"]), rel=1e-12
    )


def test_two_csv_files(binary):
    to_csv(binary[["id", "pred"]], "preds.csv")
    to_csv(binary[["id", "label"]], "labels.csv")
    got = as_json(["eval", "preds.csv", "labels.csv", "--pred-col", "pred", "--label-col",
                   "label", "--loss", "bce"])  # fmt: skip
    assert got["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)
    assert got["inputs"]["preds"]["path"] == "preds.csv"
    assert got["inputs"]["labels"]["path"] == "labels.csv"


def test_mixed_formats_parquet_preds_npy_labels(binary):
    binary[["pred"]].to_parquet("preds.parquet", index=False)
    np.save("labels.npy", binary["label"].to_numpy())
    got = as_json(["eval", "preds.parquet", "labels.npy", "--loss", "bce"])
    assert got["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)


def test_id_col_join_of_shuffled_labels_equals_aligned_rows(binary, rng):
    to_csv(binary[["id", "pred"]], "preds.csv")
    to_csv(binary[["id", "label", "w"]], "aligned.csv")
    to_csv(binary[["id", "label", "w"]].iloc[rng.permutation(N)], "shuffled.csv")
    common = ["--id-col", "id", "--label-col", "label", "--weight-col", "w"]
    aligned = as_json(["eval", "preds.csv", "aligned.csv", *common])
    shuffled = as_json(["eval", "preds.csv", "shuffled.csv", *common])
    assert shuffled["losses"].keys() == aligned["losses"].keys()
    for name, value in aligned["losses"].items():
        assert shuffled["losses"][name] == pytest.approx(value, rel=1e-12), name
    assert shuffled["inputs"]["id_column"] == "id"
    assert aligned["losses"]["bce"] == pytest.approx(
        bce_sklearn(binary, sample_weight=binary["w"]), rel=1e-12
    )


def test_id_col_per_sample_rows_follow_the_predictions(binary, rng):
    to_csv(binary[["id", "pred"]], "preds.csv")
    order = rng.permutation(N)
    to_csv(binary[["id", "label"]].iloc[order], "labels.csv")
    out = invoke(["eval", "preds.csv", "labels.csv", "--id-col", "id", "--loss", "bce",
              "--reduction", "none"], expect=0).out  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["id"]) for r in rows] == binary["id"].tolist()
    y, p = binary["label"].to_numpy(), binary["pred"].to_numpy()
    # by hand: −[y log p + (1−y) log(1−p)]
    expected = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    np.testing.assert_allclose([float(r["bce"]) for r in rows], expected, rtol=1e-12)


def test_id_col_per_sample_ids_are_printed_as_in_the_file(binary):
    to_csv(binary[["id", "pred"]], "preds.csv")
    to_csv(binary[["id", "label"]], "labels.csv")
    out = invoke(["eval", "preds.csv", "labels.csv", "--id-col", "id", "--loss", "bce",
              "--reduction", "none"], expect=0).out  # fmt: skip
    ids = [r["id"] for r in csv.DictReader(io.StringIO(out))]
    assert ids == [str(i) for i in binary["id"]]


# -- multiclass -------------------------------------------------------------------------------


def test_multiclass_glob_and_text_labels_named_like_the_columns(multiclass):
    df, prob, idx = multiclass
    # columns in a non-alphabetical order: the class order is the columns', not sorted names
    to_csv(df[["p_cat", "p_dog", "p_bird", "label"]], "m.csv")
    got = as_json(["eval", "m.csv", "--pred-col", "p_*", "--label-col", "label"])
    assert got["task"] == "multiclass"
    assert got["options"]["classes"] == CLASSES
    # oracle: scikit-learn log_loss with class indices in column order
    assert got["losses"]["ce"] == pytest.approx(log_loss(idx, prob, labels=[0, 1, 2]), rel=1e-12)
    # by hand: mse averages over all n·k elements of (P − onehot)²
    onehot = np.eye(3)[idx]
    assert got["losses"]["mse"] == pytest.approx(np.mean((prob - onehot) ** 2), rel=1e-12)
    assert got["losses"]["mae"] == pytest.approx(np.mean(np.abs(prob - onehot)), rel=1e-12)


ONE_HOT = ["--label-col", "y_cat", "--label-col", "y_dog", "--label-col", "y_bird"]


def test_multiclass_one_hot_label_columns_equal_text_labels(multiclass):
    df, prob, idx = multiclass
    to_csv(df, "m.csv")
    chosen = ["--loss", "mse,rmse,mae,huber,pseudo_huber,log_cosh,ce,kl"]
    text = losses_csv(["eval", "m.csv", "--pred-col", "p_*", "--label-col", "label", *chosen])
    onehot = losses_csv(["eval", "m.csv", "--pred-col", "p_*", *ONE_HOT, *chosen])
    assert onehot.keys() == text.keys()
    for name in text:
        assert onehot[name] == pytest.approx(text[name], rel=1e-12), name
    assert onehot["ce"] == pytest.approx(log_loss(idx, prob, labels=[0, 1, 2]), rel=1e-12)


def test_multiclass_one_hot_labels_without_loss_option(multiclass):
    df, prob, idx = multiclass
    to_csv(df, "m.csv")
    text = losses_csv(["eval", "m.csv", "--pred-col", "p_*", "--label-col", "label"])
    onehot = losses_csv(["eval", "m.csv", "--pred-col", "p_*", *ONE_HOT])
    assert {"mse", "ce", "kl"} <= onehot.keys() <= text.keys()
    for name in onehot:
        assert onehot[name] == pytest.approx(text[name], rel=1e-12), name


def test_multiclass_class_indices_in_npy(multiclass):
    _, prob, idx = multiclass
    np.save("p.npy", prob)
    np.save("y.npy", idx)
    got = as_json(["eval", "p.npy", "y.npy", "--loss", "ce"])
    assert got["losses"]["ce"] == pytest.approx(log_loss(idx, prob, labels=[0, 1, 2]), rel=1e-12)


def test_multiclass_from_logits_equals_softmax_probabilities(multiclass, rng):
    _, prob, idx = multiclass
    z = np.log(prob) + rng.normal(0, 1, (N, 1))  # softmax is shift-invariant per row
    np.save("z.npy", z)
    np.save("p.npy", prob)
    np.save("y.npy", idx)
    from_z = losses_csv(["eval", "z.npy", "y.npy", "--loss", "ce", "--from-logits"])
    assert from_z["ce"] == pytest.approx(log_loss(idx, prob, labels=[0, 1, 2]), rel=1e-10)


# -- weights ------------------------------------------------------------------------------------


def test_weight_col_binary_equals_sklearn_sample_weight(binary):
    to_csv(binary, "b.csv")
    got = as_json(["eval", "b.csv", "--pred-col", "pred", "--weight-col", "w", "--loss", "bce,mse"])
    assert got["sum_weights"] == pytest.approx(binary["w"].sum(), rel=1e-12)
    assert got["losses"]["bce"] == pytest.approx(
        bce_sklearn(binary, sample_weight=binary["w"]), rel=1e-12
    )
    assert got["losses"]["mse"] == pytest.approx(
        mean_squared_error(binary["label"], binary["pred"], sample_weight=binary["w"]), rel=1e-12
    )


def test_weight_col_regression_equals_sklearn_sample_weight(regression):
    to_csv(regression, "r.csv")
    got = as_json(["eval", "r.csv", "--weight-col", "w", "--pred-col", "y_pred"])
    y, p, w = regression["y_true"], regression["y_pred"], regression["w"]
    assert got["task"] == "regression"
    assert got["losses"]["mse"] == pytest.approx(mean_squared_error(y, p, sample_weight=w),
                                                 rel=1e-12)  # fmt: skip
    assert got["losses"]["mae"] == pytest.approx(mean_absolute_error(y, p, sample_weight=w),
                                                 rel=1e-12)  # fmt: skip
    assert got["losses"]["rmse"] == pytest.approx(
        math.sqrt(mean_squared_error(y, p, sample_weight=w)), rel=1e-12
    )


def test_weight_col_beside_the_labels_in_a_second_file(binary):
    to_csv(binary[["pred"]], "p.csv")
    to_csv(binary[["label", "w"]], "y.csv")
    got = as_json(["eval", "p.csv", "y.csv", "--weight-col", "w", "--label-col", "label",
                   "--loss", "bce"])  # fmt: skip
    assert got["losses"]["bce"] == pytest.approx(
        bce_sklearn(binary, sample_weight=binary["w"]), rel=1e-12
    )


def test_reduction_sum_is_weighted_sum(binary):
    to_csv(binary, "b.csv")
    got = as_json(["eval", "b.csv", "--pred-col", "pred", "--weight-col", "w", "--loss", "bce",
                   "--reduction", "sum"])  # fmt: skip
    expected = bce_sklearn(binary, sample_weight=binary["w"]) * binary["w"].sum()
    assert got["losses"]["bce"] == pytest.approx(expected, rel=1e-12)


# -- output formats -----------------------------------------------------------------------------


def test_json_has_the_spec_keys_and_sklearn_numbers(regression):
    to_csv(regression[["y_pred", "y_true"]], "r.csv")
    got = as_json(["eval", "r.csv"])
    for key in ("losscli", "task", "n_samples", "sum_weights", "losses", "options", "inputs"):
        assert key in got, key
    assert got["losscli"] == __version__
    assert got["task"] == "regression"
    assert got["n_samples"] == N
    assert got["sum_weights"] == N
    assert set(got["losses"]) == {"mse", "rmse", "mae", "huber", "pseudo_huber", "log_cosh"}
    y, p = regression["y_true"].to_numpy(), regression["y_pred"].to_numpy()
    assert got["losses"]["mse"] == pytest.approx(mean_squared_error(y, p), rel=1e-12)
    # by hand, from the definitions of SPEC §4
    r = p - y
    huber = np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5)
    assert got["losses"]["huber"] == pytest.approx(huber.mean(), rel=1e-12)
    pseudo = np.sqrt(1 + r**2) - 1
    assert got["losses"]["pseudo_huber"] == pytest.approx(pseudo.mean(), rel=1e-12)
    assert got["losses"]["log_cosh"] == pytest.approx(np.log(np.cosh(r)).mean(), rel=1e-12)
    assert got["inputs"]["preds"] == {"path": "r.csv", "format": "csv", "columns": ["y_pred"]}
    assert got["inputs"]["labels"]["columns"] == ["y_true"]


def test_json_binary_numbers_equal_sklearn(binary):
    to_csv(binary[["pred", "label"]], "b.csv")
    got = as_json(["eval", "b.csv"])
    assert got["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)
    assert got["losses"]["ce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)
    assert got["losses"]["mse"] == pytest.approx(
        mean_squared_error(binary["label"], binary["pred"]), rel=1e-12
    )


def test_csv_and_tsv_parse_and_agree_with_json(binary):
    to_csv(binary[["pred", "label"]], "b.csv")
    from_json = as_json(["eval", "b.csv"])["losses"]
    from_csv = losses_csv(["eval", "b.csv"])
    tsv = invoke(["eval", "b.csv", "--format", "tsv"], expect=0).out
    rows = list(csv.reader(io.StringIO(tsv), delimiter="\t"))
    assert rows[0] == ["loss", "value"]
    from_tsv = {name: float(value) for name, value in rows[1:]}
    assert list(from_csv) == list(from_json) == list(from_tsv)
    for name, value in from_json.items():
        # full precision in every data format
        assert from_csv[name] == value and from_tsv[name] == value, name


def test_table_shows_every_loss(binary):
    to_csv(binary[["pred", "label"]], "b.csv")
    names = list(as_json(["eval", "b.csv"])["losses"])
    out = invoke(["eval", "b.csv"], expect=0).out
    for name in names:
        assert name in out, name
    assert "binary" in out and "b.csv" in out


def test_markdown_has_a_header_row(binary):
    to_csv(binary[["pred", "label"]], "b.csv")
    out = invoke(["eval", "b.csv", "--format", "markdown", "--loss", "bce,mse"], expect=0).out
    lines = [ln for ln in out.splitlines() if ln.startswith("|")]
    cells = [c.strip() for c in lines[0].strip("|").split("|")]
    assert cells[:2] == ["loss", "value"]
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:", ":---", ":---:"}
    assert [ln.split("|")[1].strip() for ln in lines[2:]] == ["bce", "mse"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_ansi_codes_when_not_a_terminal_or_with_no_color(binary, fmt):
    to_csv(binary[["pred", "label"]], "b.csv")
    for env in ({}, {"NO_COLOR": "1"}, {"TERM": "xterm-256color", "COLUMNS": "junk"}):
        r = invoke(
            ["eval", "b.csv", "--format", fmt], env=env, expect=0
        )  # expect=0 asserts no ANSI
        assert r.out.strip()


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "markdown"])
def test_data_formats_never_carry_ansi_even_with_force_color(binary, fmt):  # BAD_INPUTS 64
    to_csv(binary[["pred", "label"]], "b.csv")
    invoke(["eval", "b.csv", "--format", fmt], env={"FORCE_COLOR": "1"}, expect=0)


# -- --reduction none ---------------------------------------------------------------------------


def test_reduction_none_one_row_per_sample_regression(regression):
    to_csv(regression[["y_pred", "y_true"]], "r.csv")
    out = invoke(["eval", "r.csv", "--reduction", "none", "--loss", "mse,mae,huber",
              "--huber-delta", "2"], expect=0).out  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == N
    assert list(rows[0]) == ["row", "mse", "mae", "huber"]
    assert [int(r["row"]) for r in rows] == list(range(1, N + 1))
    r = (regression["y_pred"] - regression["y_true"]).to_numpy()
    # by hand: r², |r|, Huber with δ = 2
    np.testing.assert_allclose([float(x["mse"]) for x in rows], r**2, rtol=1e-12)
    np.testing.assert_allclose([float(x["mae"]) for x in rows], np.abs(r), rtol=1e-12)
    huber = np.where(np.abs(r) <= 2, 0.5 * r**2, 2 * (np.abs(r) - 1))
    np.testing.assert_allclose([float(x["huber"]) for x in rows], huber, rtol=1e-12)


def test_reduction_none_binary_with_weights_json(binary):
    to_csv(binary, "b.csv")
    got = as_json(["eval", "b.csv", "--pred-col", "pred", "--weight-col", "w", "--loss", "bce",
                   "--reduction", "none"])  # fmt: skip
    rows = got["per_sample"]
    assert len(rows) == N
    y, p = binary["label"].to_numpy(), binary["pred"].to_numpy()
    expected = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    np.testing.assert_allclose([r["bce"] for r in rows], expected, rtol=1e-12)
    np.testing.assert_allclose([r["weight"] for r in rows], binary["w"], rtol=0)


def test_reduction_none_multiclass_ce(multiclass):
    df, prob, idx = multiclass
    to_csv(df[["p_cat", "p_dog", "p_bird", "label"]], "m.csv")
    out = invoke(["eval", "m.csv", "--pred-col", "p_*", "--label-col", "label", "--loss", "ce",
              "--reduction", "none", "--format", "tsv"], expect=0).out  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out), delimiter="\t"))
    assert len(rows) == N
    expected = -np.log(prob[np.arange(N), idx])
    np.testing.assert_allclose([float(r["ce"]) for r in rows], expected, rtol=1e-12)


# -- --loss -------------------------------------------------------------------------------------


def test_loss_comma_lists_aliases_and_repeats(binary):
    to_csv(binary[["pred", "label"]], "b.csv")
    got = losses_csv(["eval", "b.csv", "--loss", "log_loss,l2", "-l", "l1", "--loss", "brier"])
    assert set(got) == {"bce", "mse", "mae"}
    assert got["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)
    assert got["mae"] == pytest.approx(
        mean_absolute_error(binary["label"], binary["pred"]), rel=1e-12
    )


@pytest.mark.parametrize(
    "alias,name",
    [("logloss", "bce"), ("binary_crossentropy", "bce"), ("cross_entropy", "ce"), ("nll", "ce"),
     ("kld", "kl"), ("kl_div", "kl"), ("logcosh", "log_cosh"), ("l2", "mse"), ("l1", "mae")],
)  # fmt: skip
def test_each_alias_reports_the_canonical_loss(binary, alias, name):
    to_csv(binary[["pred", "label"]], "b.csv")
    assert list(losses_csv(["eval", "b.csv", "--loss", alias])) == [name]


def test_no_loss_given_reports_every_loss_of_the_task(regression):
    to_csv(regression[["y_pred", "y_true"]], "r.csv")
    assert list(losses_csv(["eval", "r.csv"])) == [
        "mse", "rmse", "mae", "huber", "pseudo_huber", "log_cosh",
    ]  # fmt: skip


# -- --save ---------------------------------------------------------------------------------------


def test_save_writes_the_json_report(binary, chdir_tmp):
    to_csv(binary[["pred", "label"]], "b.csv")
    printed = as_json(["eval", "b.csv", "--save", "report.json"])
    saved = json.loads((chdir_tmp / "report.json").read_text())
    assert saved["losses"] == printed["losses"]
    assert saved["task"] == "binary" and saved["n_samples"] == N
    assert saved["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)


def test_save_with_table_output_still_writes_json(binary, chdir_tmp):
    to_csv(binary[["pred", "label"]], "b.csv")
    invoke(["eval", "b.csv", "--save", "out.json", "--loss", "bce"], expect=0)
    saved = json.loads((chdir_tmp / "out.json").read_text())
    assert list(saved["losses"]) == ["bce"]


# -- stdin through invoke ---------------------------------------------------------------------------


def test_csv_on_stdin(binary):
    buf = io.StringIO()
    to_csv(binary[["pred", "label"]], buf)
    got = as_json(["eval", "-", "--loss", "bce"], input=buf.getvalue())
    assert got["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)


def test_npy_preds_on_stdin_with_labels_file(binary):
    buf = io.BytesIO()
    np.save(buf, binary["pred"].to_numpy())
    np.save("y.npy", binary["label"].to_numpy())
    got = as_json(["eval", "-", "y.npy", "--loss", "bce"], input=buf.getvalue())
    assert got["losses"]["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)


# -- the shipped sample data (README reference values) ---------------------------------------------

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data"


@pytest.mark.parametrize(
    "args,loss,expected",
    [
        (["binary.csv", "--pred-col", "prob"], "bce", 0.0857951510196059),
        (["binary_preds.csv", "binary_labels.csv", "--id-col", "id"], "bce", 0.0857951510196059),
        (["binary_preds.npy", "binary_labels.npy"], "bce", 0.0857951510196059),
        (["binary.parquet", "--pred-col", "logit", "--from-logits"], "bce", 0.0857951510196059),
        (["multiclass.csv", "--pred-col", "p_*", "--label-col", "species"], "ce",
         0.1208148915183713),
        (["multiclass_logits.csv", "--pred-col", "z_*", "--from-logits"], "ce",
         0.1208148915183713),
        (["multiclass_preds.npy", "multiclass_labels.npy"], "ce", 0.1208148915183713),
        (["regression.csv", "--pred-col", "y_pred"], "mse", 3192.318470451015),
        (["regression.parquet", "--pred-col", "y_pred"], "mse", 3192.318470451015),
    ],
)  # fmt: skip
def test_sample_data_reference_values(args, loss, expected):
    files = [str(SAMPLES / a) if "." in a and not a.startswith(("-", "p_", "z_")) else a
             for a in args]  # fmt: skip
    got = as_json(["eval", *files, "--loss", loss])
    assert got["losses"][loss] == pytest.approx(expected, rel=1e-9)


# -- --version, --help ----------------------------------------------------------------------------


def test_version():
    r = invoke(["--version"], expect=0)
    assert r.out == f"losscli {__version__}\n"


def _commands():
    return sorted(cli.commands)


@pytest.mark.parametrize("command", [[]] + [[c] for c in ["eval", "check", "losses", "compare"]])
def test_help_of_each_command(command):
    assert not command or command[0] in cli.commands, f"no {command[0]} command"
    r = invoke([*command, "--help"], expect=0)
    assert r.out.startswith("Usage: ")
    assert r.out == invoke([*command, "-h"], expect=0).out
    if not command:
        for name in _commands():
            assert name in r.out


def test_eval_help_mentions_every_option():
    out = invoke(["eval", "--help"], expect=0).out
    for flag in ("--pred-col", "--label-col", "--weight-col", "--id-col", "--loss", "--task",
                 "--from-logits", "--eps", "--huber-delta", "--label-smoothing",
                 "--class-weight", "--reduction", "--renormalize", "--nan-policy", "--format",
                 "--save", "--input-format", "--key"):  # fmt: skip
        assert flag in out, flag


# -- label forms, options and text-format details -----------------------------------------------


def test_class_named_na_survives():  # BAD_INPUTS 36: keep_default_na=False
    with open("na.csv", "w") as fh:
        fh.write("p_NA,p_EU,region\n0.7,0.3,NA\n0.2,0.8,EU\n0.6,0.4,NA\n")
    got = as_json(["eval", "na.csv", "--pred-col", "p_*", "--label-col", "region", "--loss", "ce"])
    assert got["options"]["classes"] == ["NA", "EU"]
    # by hand: −log of the true class's probability
    assert got["losses"]["ce"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.6])), rel=1e-12)


@pytest.mark.parametrize("labels", [("True", "False"), ("1", "-1"), ("1", "0")])
def test_binary_label_encodings_give_the_same_bce(labels):
    pos, neg = labels
    with open("b.csv", "w") as fh:
        fh.write(f"pred,label\n0.7,{pos}\n0.2,{neg}\n0.6,{pos}\n")
    got = losses_csv(["eval", "b.csv", "--loss", "bce"])
    assert got["bce"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.6])), rel=1e-12)


def test_binary_hinge_equals_sklearn(binary, rng):
    from sklearn.metrics import hinge_loss

    z = rng.normal(0, 2, N)
    df = pd.DataFrame({"score": z, "label": binary["label"]})
    to_csv(df, "s.csv")
    got = losses_csv(["eval", "s.csv", "--task", "binary", "--loss", "hinge"])
    # oracle: scikit-learn hinge_loss with labels mapped to ±1
    assert got["hinge"] == pytest.approx(hinge_loss(2 * df["label"] - 1, z), rel=1e-12)


def test_from_logits_binary_equals_sklearn_on_sigmoid(binary, rng):
    z = rng.normal(0, 3, N)
    df = pd.DataFrame({"logit": z, "label": binary["label"]})
    to_csv(df, "z.csv")
    got = losses_csv(["eval", "z.csv", "--from-logits", "--loss", "bce,mse"])
    p = 1 / (1 + np.exp(-z))
    assert got["bce"] == pytest.approx(log_loss(df["label"], p), rel=1e-10)
    assert got["mse"] == pytest.approx(mean_squared_error(df["label"], p), rel=1e-10)


def test_class_weight_balanced_equals_sklearn_balanced_sample_weight(binary):
    from sklearn.utils.class_weight import compute_sample_weight

    to_csv(binary[["pred", "label"]], "b.csv")
    got = losses_csv(["eval", "b.csv", "--class-weight", "balanced", "--loss", "bce"])
    w = compute_sample_weight("balanced", binary["label"])
    assert got["bce"] == pytest.approx(bce_sklearn(binary, sample_weight=w), rel=1e-12)


def test_explicit_class_weight_by_index(binary):
    to_csv(binary[["pred", "label"]], "b.csv")
    got = losses_csv(["eval", "b.csv", "--class-weight", "0=1,1=4", "--loss", "bce"])
    w = np.where(binary["label"] == 1, 4.0, 1.0)
    assert got["bce"] == pytest.approx(bce_sklearn(binary, sample_weight=w), rel=1e-12)


def test_label_smoothing_by_hand():
    with open("t.csv", "w") as fh:
        fh.write("pred,label\n0.1,0\n0.2,1\n")
    got = losses_csv(["eval", "t.csv", "--loss", "bce", "--label-smoothing", "0.1"])
    # by hand: Y → 0.9·Y + 0.05
    y, p = np.array([0.05, 0.95]), np.array([0.1, 0.2])
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert got["bce"] == pytest.approx(expected, rel=1e-12)


def test_probabilities_at_0_and_1_are_clipped_like_sklearn():  # BAD_INPUTS 39
    with open("c.csv", "w") as fh:
        fh.write("pred,label\n0.0,1\n1.0,1\n0.5,0\n")
    r = invoke(["eval", "c.csv", "--loss", "bce", "--format", "csv"], expect=0)
    value = float(r.out.splitlines()[1].split(",")[1])
    # oracle: scikit-learn log_loss clips at float64 machine epsilon, as losscli does
    assert value == pytest.approx(log_loss([1, 1, 0], [0.0, 1.0, 0.5]), rel=1e-12)
    assert "clipped" in r.err


def test_multi_output_regression_averages_over_every_element():
    with open("mo.csv", "w") as fh:
        fh.write("a,b,ya,yb\n1,2,1.5,2.5\n3,4,2,5\n")
    got = losses_csv(["eval", "mo.csv", "--pred-col", "a", "--pred-col", "b", "--label-col", "ya",
                      "--label-col", "yb", "--task", "regression", "--loss", "mse"])  # fmt: skip
    # oracle: scikit-learn multioutput='uniform_average'
    expected = mean_squared_error([[1.5, 2.5], [2, 5]], [[1, 2], [3, 4]])
    assert got["mse"] == pytest.approx(expected, rel=1e-12)


def test_delimiter_and_input_format_options():
    with open("semi.txt", "w") as fh:
        fh.write("pred;label\n0.7;1\n0.2;0\n")
    got = losses_csv(["eval", "semi.txt", "--input-format", "csv", "--delimiter", ";",
                      "--loss", "bce"])  # fmt: skip
    assert got["bce"] == pytest.approx(-np.mean(np.log([0.7, 0.8])), rel=1e-12)


def test_npz_key_selects_the_predictions(binary):
    np.savez("p.npz", a=binary["pred"].to_numpy(), b=1 - binary["pred"].to_numpy())
    np.save("y.npy", binary["label"].to_numpy())
    got = losses_csv(["eval", "p.npz", "y.npy", "--key", "a", "--loss", "bce"])
    assert got["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)


def test_nan_policy_omit_with_weights_equals_sklearn_on_the_rest(binary):
    df = binary.copy()
    df.loc[[3, 50, 51], "pred"] = np.nan
    to_csv(df, "b.csv", na_rep="nan")
    r = invoke(["eval", "b.csv", "--pred-col", "pred", "--weight-col", "w", "--loss", "bce",
            "--nan-policy", "omit", "--format", "json"], expect=0)  # fmt: skip
    got = json.loads(r.out)
    keep = df["pred"].notna()
    assert got["n_samples"] == N - 3
    assert got["losses"]["bce"] == pytest.approx(
        bce_sklearn(df[keep], sample_weight=df["w"][keep]), rel=1e-12
    )
    assert "omitted 3 rows" in r.err and "row 4" in r.err


def test_npz_key_with_a_single_npz_file(binary):
    np.savez("d.npz", pred=binary["pred"].to_numpy(), label=binary["label"].to_numpy(),
             other=np.zeros(N))  # fmt: skip
    got = losses_csv(["eval", "d.npz", "--pred-col", "pred", "--label-col", "label",
                      "--loss", "bce"])  # fmt: skip
    assert got["bce"] == pytest.approx(bce_sklearn(binary), rel=1e-12)


def test_quiet_hides_notes_but_not_results(binary):
    to_csv(binary[["pred", "label", "w"]].rename(columns={"pred": "guess"}), "b.csv")
    loud = invoke(
        ["eval", "b.csv", "--pred-col", "guess", "--label-col", "label", "--loss", "bce"], expect=0
    )
    quiet = invoke(["eval", "b.csv", "--pred-col", "guess", "--label-col", "label", "--loss", "bce",
                "--quiet"], expect=0)  # fmt: skip
    assert quiet.out == loud.out
    assert "note:" not in quiet.err


def test_nan_policy_omit_drops_rows_with_empty_cells(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("p,y\n0.2,0\n,1\n0.7,1\n0.9,\n0.4,0\n")
    (tmp_path / "kept.csv").write_text("p,y\n0.2,0\n0.7,1\n0.4,0\n")
    omitted = invoke(
        ["eval", "a.csv", "--nan-policy", "omit", "-f", "json", "--loss", "bce,mse"], expect=0
    )
    assert "omitted 2 rows" in omitted.err
    kept = as_json(["eval", "kept.csv", "--loss", "bce,mse"])
    assert json.loads(omitted.out)["losses"] == kept["losses"]
