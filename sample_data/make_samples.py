"""Regenerate the sample prediction files in this folder.

Each sample comes from a real data set that scikit-learn ships with its wheel
(no download), fitted with a simple model on a train split and predicted on a
held-out split, so the losses are realistic rather than zero.

    .venv/bin/python sample_data/make_samples.py

Everything is seeded (``RANDOM_STATE``), floats are written with 17 significant
digits so every CSV value parses back to the identical float64 (integral floats
keep a ``.0`` so float columns stay float columns), and CSV lines
end in ``\\n`` on every platform. Running the script twice with the same
library versions gives byte-identical CSV and NPY files. See README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

RANDOM_STATE = 0
TEST_SIZE = 0.25
OUT_DIR = Path(__file__).resolve().parent


def _split(
    x: np.ndarray, y: np.ndarray, *, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into train/test; return the test rows sorted by source row index."""
    ids = np.arange(len(y), dtype=np.int64)
    id_tr, id_te = train_test_split(
        ids,
        test_size=TEST_SIZE,
        random_state=RANDOM_STATE,
        stratify=y if stratify else None,
    )
    id_te = np.sort(id_te)
    return x[id_tr], y[id_tr], x[id_te], y[id_te], id_te


def _fmt_float(value: float) -> str:
    """17 significant digits (exact float64 round trip), always float-looking.

    ``%.17g`` writes 75.0 as ``75``, which pandas reads back as int64; a trailing
    ``.0`` keeps a float column float64 on re-read.
    """
    text = f"{value:.17g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


def _write_csv(df: pd.DataFrame, name: str) -> None:
    path = OUT_DIR / name
    df.to_csv(path, index=False, float_format=_fmt_float, lineterminator="\n")
    _report(path, f"{len(df)} rows, columns {', '.join(df.columns)}")


def _write_parquet(df: pd.DataFrame, name: str) -> None:
    path = OUT_DIR / name
    df.to_parquet(path, index=False)
    _report(path, f"{len(df)} rows, columns {', '.join(df.columns)}")


def _write_npy(arr: np.ndarray, name: str) -> None:
    path = OUT_DIR / name
    np.save(path, arr, allow_pickle=False)
    _report(path, f"shape {arr.shape}, dtype {arr.dtype}")


def _report(path: Path, what: str) -> None:
    print(f"wrote {path.name:<24} {path.stat().st_size:>7,} bytes  {what}")


def make_regression() -> None:
    """diabetes (442 x 10) -> Ridge -> y_pred vs y_true on the held-out quarter."""
    data = load_diabetes()
    x_tr, y_tr, x_te, y_te, ids = _split(data.data, data.target, stratify=False)
    model = Ridge(alpha=1.0).fit(x_tr, y_tr)
    df = pd.DataFrame(
        {
            "id": ids,
            "y_pred": model.predict(x_te).astype(np.float64),
            "y_true": y_te.astype(np.float64),
        }
    )
    _write_csv(df, "regression.csv")
    _write_parquet(df, "regression.parquet")


def make_binary() -> None:
    """breast cancer (569 x 30) -> StandardScaler + LogisticRegression.

    label 1 = benign, 0 = malignant (scikit-learn's encoding); prob = P(label 1).
    """
    data = load_breast_cancer()
    x_tr, y_tr, x_te, y_te, ids = _split(data.data, data.target, stratify=True)
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=RANDOM_STATE)
    ).fit(x_tr, y_tr)
    prob = model.predict_proba(x_te)[:, 1].astype(np.float64)
    logit = model.decision_function(x_te).astype(np.float64)
    label = y_te.astype(np.int64)
    df = pd.DataFrame({"id": ids, "prob": prob, "logit": logit, "label": label})
    _write_csv(df, "binary.csv")
    _write_csv(df[["id", "prob"]], "binary_preds.csv")
    _write_csv(df[["id", "label"]], "binary_labels.csv")
    _write_npy(prob, "binary_preds.npy")
    _write_npy(label, "binary_labels.npy")
    _write_parquet(df, "binary.parquet")


def make_multiclass() -> None:
    """iris (150 x 4, 3 classes) -> LogisticRegression (multinomial)."""
    data = load_iris()
    names = [str(n) for n in data.target_names]  # setosa, versicolor, virginica
    x_tr, y_tr, x_te, y_te, ids = _split(data.data, data.target, stratify=True)
    model = LogisticRegression(max_iter=1000, random_state=RANDOM_STATE).fit(x_tr, y_tr)
    assert list(model.classes_) == [0, 1, 2]
    proba = model.predict_proba(x_te).astype(np.float64)
    z = model.decision_function(x_te).astype(np.float64)
    label = y_te.astype(np.int64)

    probs = pd.DataFrame({"id": ids})
    for k, name in enumerate(names):
        probs[f"p_{name}"] = proba[:, k]
    probs["species"] = [names[i] for i in label]
    _write_csv(probs, "multiclass.csv")

    logits = pd.DataFrame({"id": ids})
    for k, name in enumerate(names):
        logits[f"z_{name}"] = z[:, k]
    logits["label"] = label
    _write_csv(logits, "multiclass_logits.csv")

    _write_npy(np.ascontiguousarray(proba), "multiclass_preds.npy")
    _write_npy(label, "multiclass_labels.npy")


def make_sliced() -> None:
    """Every row with an out-of-fold prediction (5-fold `cross_val_predict`), and columns to
    slice by (SPEC §8): diabetes with age (years), sex (1/2, as the data set codes it) and
    BMI from `load_diabetes(scaled=False)`; breast cancer with the mean radius."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    raw = load_diabetes(scaled=False)
    scaled = load_diabetes()
    y_pred = cross_val_predict(Ridge(alpha=1.0), scaled.data, scaled.target, cv=5)
    df = pd.DataFrame(
        {
            "id": np.arange(len(raw.target), dtype=np.int64),
            "y_pred": y_pred.astype(np.float64),
            "y_true": raw.target.astype(np.float64),
            "age": raw.data[:, 0].astype(np.int64),
            "sex": raw.data[:, 1].astype(np.int64),
            "bmi": raw.data[:, 2].astype(np.float64),
        }
    )
    _write_csv(df, "regression_slices.csv")

    data = load_breast_cancer()
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=RANDOM_STATE)
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=RANDOM_STATE)
    prob = cross_val_predict(model, data.data, data.target, cv=cv, method="predict_proba")[:, 1]
    df = pd.DataFrame(
        {
            "id": np.arange(len(data.target), dtype=np.int64),
            "prob": prob.astype(np.float64),
            "label": data.target.astype(np.int64),
            "radius": data.data[:, 0].astype(np.float64),
        }
    )
    _write_csv(df, "binary_slices.csv")
    # a second model of the same rows, for `compare --by`: heavier regularisation (C=0.01)
    model_b = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.01, max_iter=1000, random_state=RANDOM_STATE)
    )
    prob_b = cross_val_predict(model_b, data.data, data.target, cv=cv, method="predict_proba")
    _write_csv(df.assign(prob=prob_b[:, 1].astype(np.float64)), "binary_slices_b.csv")


def main() -> None:
    make_regression()
    make_binary()
    make_multiclass()
    make_sliced()


if __name__ == "__main__":
    main()
