"""Reference values for ece, mce and the reliability table (SPEC §11), from torchmetrics
and scikit-learn themselves.

Run once, in a virtual environment of its own that has the frameworks (never losscli's):

    python3 -m venv /tmp/cal
    /tmp/cal/bin/pip install torch torchmetrics scikit-learn numpy   # torch: the CPU wheel
    /tmp/cal/bin/python tools/calibration_values.py   # writes tests/data/calibration_values.json

Each case calls `BinaryCalibrationError` (update, compute) or `MulticlassCalibrationError`
(norm 'l1' and 'max', the same n_bins) on float64 tensors and, for binary cases, `sklearn.calibration.calibration_curve` with
``strategy='uniform'``. torchmetrics takes no sample weights, so the weighted cases give
integer weights to losscli and the rows repeated that many times to torchmetrics. No
confidence lies within 1e-6 of a bin edge (torchmetrics' edges are float32, and each
library closes its bins on its own side; the edges have a hand-worked test of their own),
and none is exactly 1 (torchmetrics keeps c = 1 in a bin of its own). The multiclass class
casts its confidences to float32 in `update`, which costs ~1e-7: the stored value takes its
steps (softmax if needed, the max over classes, the first argmax against the label) in
float64 and then calls its own `_ce_compute`; the class's float32 value is stored beside it. The JSON holds the
inputs, the losscli options, the values and the versions; `tests/engine/test_calibration.py`
reads it, so the test suite never installs PyTorch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "calibration_values.json"
BIN_COUNTS = (7, 10, 15)


def away_from_edges(c: np.ndarray) -> np.ndarray:
    """c moved at least 1e-6 away from every k/B of `BIN_COUNTS` (and from 0 and 1)."""
    c = c.copy()
    for b in BIN_COUNTS:
        edges = np.arange(b + 1) / b
        near = np.abs(c[..., None] - edges).min(axis=-1) < 1e-6
        c[near] += 3e-6
    return np.clip(c, 1e-5, 1 - 1e-5)


def draw(rng: np.random.Generator, P: np.ndarray, power: np.ndarray) -> np.ndarray:
    """A class per row from P^power (renormalised): power < 1 makes the rows over-confident,
    > 1 under-confident, so the bins' gaps take both signs."""
    Q = P ** power[:, None]
    Q /= Q.sum(axis=1, keepdims=True)
    return (rng.uniform(0, 1, len(P))[:, None] > np.cumsum(Q, axis=1)).sum(axis=1)


def cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(20261201)
    out: list[dict[str, Any]] = []
    n = 300
    p = away_from_edges(rng.uniform(0, 1, n))
    y = (rng.uniform(0, 1, n) < p**1.4).astype(np.float64)  # over-confident on class 1
    for bins in (15, 10):
        out.append(dict(name=f"binary p, {bins} bins", task="binary", preds=p, labels=y,
                        bins=bins))  # fmt: skip
    pz = away_from_edges(1 / (1 + np.exp(-rng.normal(0, 2.5, 200))))
    z = np.log(pz) - np.log1p(-pz)  # logits whose sigmoid keeps away from the edges
    yz = (rng.uniform(0, 1, 200) < 1 / (1 + np.exp(-0.6 * z))).astype(np.float64)
    out.append(dict(name="binary logits", task="binary", preds=z, labels=yz, bins=15,
                    from_logits=True))  # fmt: skip
    w = rng.integers(1, 4, n).astype(np.float64)
    out.append(dict(name="binary weighted (rows repeated)", task="binary", preds=p, labels=y,
                    bins=10, weights=w))  # fmt: skip
    k, m = 4, 250
    P = rng.dirichlet(np.ones(k) * 0.7, m)
    top = P.max(axis=1)
    moved = away_from_edges(top)
    order = np.argsort(-P, axis=1)
    rows = np.arange(m)
    P[rows, order[:, 0]] += moved - top  # the runner-up gives what the top takes: Σ = 1
    P[rows, order[:, 1]] -= moved - top
    P[0] = [0.31, 0.31, 0.19, 0.19]  # a tie: the first maximum is the prediction
    P[1] = [0.09, 0.41, 0.41, 0.09]
    c = draw(rng, P, np.where(np.arange(m) % 2 == 0, 0.5, 2.0))
    c[:2] = [1, 1]  # right for row 1 only (its first maximum is class 1)
    for bins in (15, 7):
        out.append(dict(name=f"multiclass P, {bins} bins", task="multiclass", preds=P,
                        labels=c.astype(np.float64), bins=bins))  # fmt: skip
    Z = rng.normal(0, 1.5, (180, 3))
    soft = np.exp(Z - Z.max(axis=1, keepdims=True))
    top = (soft / soft.sum(axis=1, keepdims=True)).max(axis=1)
    assert (away_from_edges(top) == top).all(), "a softmax lies on an edge: change the seed"
    cz = draw(rng, soft, np.where(np.arange(180) % 3 == 0, 0.4, 1.8))
    out.append(dict(name="multiclass logits", task="multiclass", preds=Z,
                    labels=cz.astype(np.float64), bins=15, from_logits=True))  # fmt: skip
    wm = rng.integers(1, 5, m).astype(np.float64)
    out.append(dict(name="multiclass weighted (rows repeated)", task="multiclass", preds=P,
                    labels=c.astype(np.float64), bins=10, weights=wm))  # fmt: skip
    return out


def reference(case: dict[str, Any]) -> dict[str, Any]:
    import torch
    from sklearn.calibration import calibration_curve
    from torchmetrics.classification import BinaryCalibrationError, MulticlassCalibrationError
    from torchmetrics.functional.classification.calibration_error import _ce_compute
    from torchmetrics.utilities.compute import normalize_logits_if_needed

    preds, labels, bins = case["preds"], case["labels"].astype(np.int64), case["bins"]
    if case.get("weights") is not None:  # torchmetrics has no weights: repeat the rows
        times = case["weights"].astype(np.int64)
        preds, labels = np.repeat(preds, times, axis=0), np.repeat(labels, times)
    tp, ty = torch.tensor(preds, dtype=torch.float64), torch.tensor(labels)
    values, shipped = {}, {}
    for norm, name in (("l1", "ece"), ("max", "mce")):
        if case["task"] == "binary":
            metric = BinaryCalibrationError(n_bins=bins, norm=norm)
            metric.update(tp, ty)  # update/compute keep float64 (forward casts to float32)
            value = metric.compute()
        else:
            metric = MulticlassCalibrationError(num_classes=preds.shape[1], n_bins=bins, norm=norm)
            metric.update(tp, ty)
            shipped[name] = float(metric.compute())
            # MulticlassCalibrationError's update casts the confidences to float32
            # (`confidences.float()`); these are its steps in float64, then its own compute
            probs = normalize_logits_if_needed(tp, "softmax")
            confidences, predictions = probs.max(dim=1)  # the first maximum
            accuracies = predictions.eq(ty).to(confidences.dtype)
            value = _ce_compute(confidences, accuracies, bins, norm=norm)
        assert value.dtype == torch.float64, value.dtype
        values[name] = float(value)
    out: dict[str, Any] = {"values": values}
    if shipped:
        out["float32_values"] = shipped
    if case["task"] == "binary":
        prob = 1 / (1 + np.exp(-preds)) if case.get("from_logits") else preds
        prob_true, prob_pred = calibration_curve(labels, prob, n_bins=bins, strategy="uniform")
        out["calibration_curve"] = {"prob_true": prob_true.tolist(),
                                    "prob_pred": prob_pred.tolist()}  # fmt: skip
    return out


def main() -> None:
    import sklearn
    import torch
    import torchmetrics

    stored = []
    for case in cases():
        ref = reference(case)
        stored.append(
            {
                "name": case["name"],
                "task": case["task"],
                "preds": case["preds"].tolist(),
                "labels": case["labels"].tolist(),
                "weights": None if case.get("weights") is None else case["weights"].tolist(),
                "options": {"calibration_bins": case["bins"],
                            "from_logits": bool(case.get("from_logits", False))},
                **ref,
            }
        )  # fmt: skip
    document = {
        "versions": {
            "torch": torch.__version__,
            "torchmetrics": torchmetrics.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "cases": stored,
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {len(stored)} cases to {OUT}")


if __name__ == "__main__":
    main()
