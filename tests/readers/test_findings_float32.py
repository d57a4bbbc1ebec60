"""Issue 9, float32: the readers keep float32 and float16 predictions in their dtype, so the
CLI clips at that dtype's machine ε, as scikit-learn's log_loss does.

0.1.0 converted every number to float64 in the readers, so `losscli eval p32.npy y.npy`
clipped at float64 ε (1.3939 where scikit-learn gives 1.1929 in the finding). Each test
feeds files with probabilities of exactly 0 and 1 on confidently wrong rows (where the ε
decides the loss), and checks against scikit-learn's algorithm run in float64 at the
dtype's ε (`_reference`, worked with NumPy: clip, then the closed form) and against
`sklearn.metrics.log_loss` on the float32 array itself.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import feather
from sklearn import metrics

from tests.cli.conftest import invoke

EPS32 = 1.1920928955078125e-07  # np.finfo(np.float32).eps, as the JSON must show it
EPS16 = 0.0009765625  # np.finfo(np.float16).eps
EPS64 = 2.220446049250313e-16


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261130)


def _sk_log_loss(y, p, **kw) -> float:
    """sklearn.metrics.log_loss, with the probabilities passed by the name this version
    takes (scikit-learn 1.9 renamed y_pred to y_proba)."""
    if "y_proba" in inspect.signature(metrics.log_loss).parameters:
        return float(metrics.log_loss(y, y_proba=p, **kw))
    return float(metrics.log_loss(y, p, **kw))


def _reference(y: np.ndarray, p: np.ndarray, eps: float, k: int = 2) -> float:
    """scikit-learn's log_loss algorithm in float64 at `eps`: clip each probability to
    [eps, 1 − eps] (binary: p and 1 − p separately), then −mean Σ_c Y_c log P_c."""
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    y = np.asarray(y).astype(np.int64)
    if q.ndim == 1:  # binary: the column of the positive class, 1 − p for the other
        q = np.column_stack([np.clip(1 - np.asarray(p, np.float64), eps, 1 - eps), q])
    return float(-np.mean(np.log(q[np.arange(len(y)), y])))


def _binary(rng, dtype, n=2000):
    p = rng.uniform(0, 1, n).astype(dtype)
    p[:20], p[20:40] = 0, 1
    y = rng.integers(0, 2, n)
    y[:10], y[20:30] = 1, 0  # confident and wrong: the clipping decides the loss
    return p, y


def _multiclass(rng, dtype, n=1500, k=4):
    P = rng.dirichlet(np.ones(k), n).astype(dtype)
    P[:6] = np.eye(k)[0]  # one-hot rows: three zeros each
    y = rng.integers(0, k, n)
    y[:6] = 2  # the true class had probability 0
    return P, y


def _write(fmt: str, p: np.ndarray, y: np.ndarray, **table_kw) -> list[str]:
    """The predictions and labels as files of `fmt`; returns the CLI's file arguments."""
    if fmt in ("npy", "npy-big-endian"):
        np.save("p.npy", p.astype(p.dtype.newbyteorder(">")) if fmt != "npy" else p)
        np.save("y.npy", y)
        return ["p.npy", "y.npy"]
    if fmt == "npz":
        np.savez("d.npz", p=p, y=y)
        return ["d.npz:p", "d.npz:y"]
    cols = {"pred": p} if p.ndim == 1 else {f"p_{c}": p[:, c] for c in range(p.shape[1])}
    table = pa.table({**cols, "label": y})
    if fmt == "parquet":
        pq.write_table(table, "d.parquet", row_group_size=table_kw.get("rows", 700))
        return ["d.parquet"]
    feather.write_feather(table, "d.feather", chunksize=table_kw.get("rows", 700))
    return ["d.feather"]


def _json(argv) -> dict:
    ran = invoke([*argv, "-f", "json"])
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


FORMATS = ["npy", "npy-big-endian", "npz", "parquet", "feather"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_float32_bce_on_float32_files_clips_at_float32_eps_as_sklearn(chdir_tmp, rng, fmt):
    p, y = _binary(rng, np.float32)
    doc = _json(["eval", *_write(fmt, p, y), "-l", "bce"])
    assert doc["options"]["eps"] == EPS32
    assert doc["signature"].endswith("eps:1.19e-07")
    assert doc["losses"]["bce"] == pytest.approx(_reference(y, p, EPS32), rel=1e-12)
    # scikit-learn itself computes in float32: it agrees to float32 precision
    assert doc["losses"]["bce"] == pytest.approx(_sk_log_loss(y, p), rel=1e-6)
    # the float64 ε gives another number: the test can tell the two apart
    assert abs(_reference(y, p, EPS64) - _reference(y, p, EPS32)) > 0.1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.filterwarnings("ignore:The y_prob values do not sum")
def test_float32_multiclass_ce_on_float32_files_clips_at_float32_eps(chdir_tmp, rng, fmt):
    P, y = _multiclass(rng, np.float32)
    ran = invoke(["eval", *_write(fmt, P, y), "-l", "ce", "-f", "json"])
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    assert doc["task"] == "multiclass" and doc["options"]["eps"] == EPS32
    assert doc["losses"]["ce"] == pytest.approx(_reference(y, P, EPS32), rel=1e-12)
    assert doc["losses"]["ce"] == pytest.approx(_sk_log_loss(y, P, labels=range(4)), rel=1e-6)
    # the note says which ε, and why
    assert "ε = 1.19e-07 (the machine ε of the float32 predictions, as scikit-learn" in ran.err


@pytest.mark.parametrize("fmt", ["npy", "parquet", "feather"])
def test_float32_float16_files_clip_at_float16_eps(chdir_tmp, rng, fmt):
    p, y = _binary(rng, np.float16)
    doc = _json(["eval", *_write(fmt, p, y), "-l", "bce"])
    assert doc["options"]["eps"] == EPS16
    assert doc["losses"]["bce"] == pytest.approx(_reference(y, p, EPS16), rel=1e-12)


def test_float32_mixed_prediction_columns_take_the_widest_dtype(chdir_tmp, rng):
    P, y = _multiclass(rng, np.float64)
    p32 = P.astype(np.float32)
    wide = {"p_0": p32[:, 0], "p_1": P[:, 1], "p_2": p32[:, 2], "p_3": p32[:, 3]}
    pq.write_table(pa.table({**wide, "label": y}), "wide.parquet")
    doc = _json(["eval", "wide.parquet", "-l", "ce"])
    assert doc["options"]["eps"] == EPS64  # one float64 column: float64, as a stacked array
    Pw = np.column_stack(list(wide.values()))
    assert doc["losses"]["ce"] == pytest.approx(_reference(y, Pw, EPS64), rel=1e-12)
    # float16 beside float32: float32 (NumPy's promotion, and scikit-learn's on that array)
    narrow = {"p_0": p32[:, 0], "p_1": P[:, 1].astype(np.float16), "p_2": p32[:, 2],
              "p_3": p32[:, 3]}  # fmt: skip
    pq.write_table(pa.table({**narrow, "label": y}), "narrow.parquet")
    doc = _json(["eval", "narrow.parquet", "-l", "ce"])
    assert doc["options"]["eps"] == EPS32
    Pn = np.column_stack(list(narrow.values()))
    assert Pn.dtype == np.float32
    assert doc["losses"]["ce"] == pytest.approx(_reference(y, Pn, EPS32), rel=1e-12)


@pytest.mark.parametrize("fmt", ["npy", "parquet", "feather"])
def test_float32_float64_files_are_unchanged(chdir_tmp, rng, fmt):
    # float64 files keep float64's ε, and give what the same numbers give as CSV text
    p, y = _binary(rng, np.float64)
    doc = _json(["eval", *_write(fmt, p, y), "-l", "bce,ce,focal,mse"])
    lines = ["pred,label", *(f"{float(a)!r},{int(b)}" for a, b in zip(p, y, strict=True))]
    chdir_tmp.joinpath("d.csv").write_text("\n".join(lines) + "\n")
    text = _json(["eval", "d.csv", "-l", "bce,ce,focal,mse"])
    assert doc["losses"] == text["losses"] and doc["options"] == text["options"]
    assert doc["options"]["eps"] == EPS64
    assert doc["losses"]["bce"] == pytest.approx(_sk_log_loss(y, p), rel=1e-12)
    # and float32 predictions with --eps at float64's ε give the float64-ε value
    p32 = p.astype(np.float32)
    np.save("p32.npy", p32)
    doc = _json(["eval", "p32.npy", "y.npy" if fmt == "npy" else _y_npy(y), "-l", "bce",
                 "--eps", repr(EPS64)])  # fmt: skip
    assert doc["options"]["eps"] == EPS64
    assert doc["losses"]["bce"] == pytest.approx(_reference(y, p32, EPS64), rel=1e-12)


def _y_npy(y: np.ndarray) -> str:
    np.save("y.npy", y)
    return "y.npy"


@pytest.mark.parametrize("fmt", ["npy", "parquet", "feather"])
@pytest.mark.parametrize("chunk_rows", [7, 1000])
@pytest.mark.filterwarnings("ignore:The y_prob values do not sum")
def test_float32_streamed_chunks_equal_in_memory(chdir_tmp, rng, monkeypatch, fmt, chunk_rows):
    import losscli

    p, y = _binary(rng, np.float32, n=3000)
    files = _write(fmt, p, y, rows=333)
    P, Y = _multiclass(rng, np.float32, n=2000)
    chdir_tmp.joinpath("m").mkdir()
    monkeypatch.chdir(chdir_tmp / "m")
    mfiles = _write(fmt, P, Y, rows=333)
    monkeypatch.chdir(chdir_tmp)
    monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", chunk_rows)
    doc = _json(["eval", *files, "-l", "bce,focal,mse"])
    whole = losscli.evaluate(p, y, ["bce", "focal", "mse"])  # the float32 array in memory
    assert whole.options["eps"] == doc["options"]["eps"] == EPS32
    for name, value in whole.losses.items():
        assert doc["losses"][name] == pytest.approx(value, rel=1e-12, abs=0), name
    assert doc["losses"]["bce"] == pytest.approx(_reference(y, p, EPS32), rel=1e-12)
    mdoc = _json(["eval", *(f"m/{f}" for f in mfiles), "-l", "ce"])
    assert mdoc["options"]["eps"] == EPS32
    assert mdoc["losses"]["ce"] == pytest.approx(_reference(Y, P, EPS32), rel=1e-12)


@pytest.mark.parametrize("ids", [np.int64, np.float32])
def test_float32_predictions_joined_by_id(chdir_tmp, rng, ids):
    # --id-col reads both files whole; float32 ids (whole numbers) match integer ids
    p, y = _binary(rng, np.float32, n=1000)
    order = rng.permutation(len(y))
    pq.write_table(pa.table({"id": np.arange(len(y)).astype(ids), "pred": p}), "p.parquet")
    pq.write_table(pa.table({"id": order, "label": y[order]}), "y.parquet")
    doc = _json(["eval", "p.parquet", "y.parquet", "--id-col", "id", "-l", "bce"])
    assert doc["options"]["eps"] == EPS32
    assert doc["losses"]["bce"] == pytest.approx(_reference(y, p, EPS32), rel=1e-12)
    # paired by position, the same id column is checked row by row (W3) and agrees
    pq.write_table(pa.table({"id": np.arange(len(y)), "label": y}), "y_sorted.parquet")
    doc = _json(["eval", "p.parquet", "y_sorted.parquet", "-l", "bce"])
    assert doc["losses"]["bce"] == pytest.approx(_reference(y, p, EPS32), rel=1e-12)


def test_float32_empty_cells_omitted_keep_float32_eps(chdir_tmp, rng):
    p, y = _binary(rng, np.float32, n=500)
    missing = np.zeros(len(p), dtype=bool)
    missing[[3, 50, 499]] = True
    pred = pa.array(p, pa.float32(), mask=missing)
    pq.write_table(pa.table({"pred": pred, "label": y}), "d.parquet")
    doc = _json(["eval", "d.parquet", "-l", "bce", "--nan-policy", "omit"])
    assert doc["options"]["eps"] == EPS32 and doc["n_samples"] == 497
    kept = ~missing
    assert doc["losses"]["bce"] == pytest.approx(_reference(y[kept], p[kept], EPS32), rel=1e-12)


@pytest.mark.parametrize("method", ["bootstrap", "normal"])
def test_float32_compare_models_clip_at_float32_eps(chdir_tmp, rng, monkeypatch, method):
    p, y = _binary(rng, np.float32, n=3000)
    q = np.clip(p.astype(np.float64) * 0.9 + 0.05, 0, 1).astype(np.float32)
    q[40:60] = 1  # the second model is confidently wrong elsewhere
    np.save("a.npy", p)
    np.save("b.npy", q)
    np.save("y.npy", y)
    argv = ["compare", "--labels", "y.npy", "a.npy", "b.npy", "-l", "bce",
            "--method", method]  # fmt: skip
    doc = _json(argv)
    assert doc["options"]["eps"] == EPS32
    a, b = (doc["models"][m]["losses"]["bce"] for m in ("a", "b"))
    assert a == pytest.approx(_reference(y, p, EPS32), rel=1e-12)
    assert b == pytest.approx(_reference(y, q, EPS32), rel=1e-12)
    (found,) = doc["comparisons"]
    assert found["difference"] == pytest.approx(b - a, rel=1e-12)
    assert found["ci"][0] < found["difference"] < found["ci"][1]
    monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", 7)
    small = _json(argv)
    for m in ("a", "b"):
        got = small["models"][m]["losses"]["bce"]
        assert got == pytest.approx(doc["models"][m]["losses"]["bce"], rel=1e-12), m
    assert small["comparisons"][0]["difference"] == pytest.approx(found["difference"], rel=1e-12)


@pytest.mark.parametrize("method", ["normal", "bootstrap"])
def test_float32_compare_models_of_two_dtypes_each_clip_at_their_own_eps(chdir_tmp, rng, method):
    """A float64 and a float32 model: each loss clips at its own dtype's ε, and so do the
    paired terms, so the interval is about the difference that is printed."""
    p, y = _binary(rng, np.float64)
    np.save("y.npy", y)
    np.save("p64.npy", p)
    np.save("p32.npy", p.astype(np.float32))
    doc = _json(["compare", "--labels", "y.npy", "p64.npy", "p32.npy", "-l", "bce",
                 "--method", method])  # fmt: skip
    (c,) = doc["comparisons"]
    a = _reference(y, p, np.finfo(np.float64).eps)
    b = _reference(y, p.astype(np.float32), float(np.finfo(np.float32).eps))
    assert c["difference"] == pytest.approx(b - a, rel=1e-12)
    assert c["ci"][0] <= c["difference"] <= c["ci"][1]
