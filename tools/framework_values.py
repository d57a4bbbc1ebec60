"""Reference values for the framework conventions (SPEC §9), from the frameworks themselves.

Run once, in a virtual environment of its own that has the frameworks (never losscli's):

    python3 -m venv /tmp/fw
    /tmp/fw/bin/pip install torch torchvision keras jax scikit-learn numpy
    /tmp/fw/bin/python tools/framework_values.py   # writes tests/data/framework_values.json

To add cases without moving the stored ones, pin the versions recorded in the JSON
(``versions``): with them, a re-run gives the earlier values byte for byte.

Each case calls the framework's standard loss in float64 (Keras on the JAX backend with
x64) on fixed arrays: binary and multiclass, probabilities at exactly 0 and 1, logits of
±1000, sample and class weights, label smoothing, hard and soft labels, rows that do not
sum to 1. The JSON holds the inputs, the losscli options that reproduce the call, the value
and the frameworks' versions; `tests/engine/test_conventions.py` reads it, so the test
suite never installs PyTorch or Keras.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "framework_values.json"


def data() -> dict[str, Any]:
    """The fixed inputs, from one seeded generator."""
    rng = np.random.default_rng(20261130)
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0], dtype=np.float64)
    p = rng.uniform(0.02, 0.98, y.size)
    p[[0, 1]] = [0.0, 1.0]  # certain and wrong: clipping decides the value
    p[[2, 3]] = [1.0, 0.0]  # certain and right
    z = rng.normal(0, 2, y.size)
    z[[0, 1, 2, 3]] = [-1000.0, 1000.0, 1000.0, -1000.0]
    soft = rng.uniform(0, 1, y.size)
    w = rng.uniform(0.2, 3.0, y.size)
    k, n = 3, 10
    c = np.array([0, 1, 2, 2, 1, 0, 0, 2, 1, 1])
    P = rng.dirichlet(np.ones(k), n)
    P[0] = [1.0, 0.0, 0.0]  # certain and right
    P[1] = [0.3, 0.7, 0.0]  # exactly 0 on a class that is not the label
    Pu = P.copy()
    Pu[[2, 5, 7]] *= [[1.1], [0.8], [1.3]]  # rows that do not sum to 1
    Z = rng.normal(0, 2, (n, k))
    Z[3] = [1000.0, -1000.0, 0.0]
    S = rng.normal(0, 1.5, (n, k))
    S[4] = [-2.0, -1.0, -3.0]  # every score negative: Keras's categorical hinge differs
    Y_soft = rng.dirichlet(np.ones(k), n)
    Ppos = rng.dirichlet(np.ones(k) * 2, n)  # no zero, for log P as is (PyTorch KL, NLL)
    wm = rng.uniform(0.2, 3.0, n)
    r_true = rng.normal(0, 1, (n, 2))
    r_pred = r_true + rng.normal(0, 1.5, (n, 2))
    return {
        "y": y, "p": p, "z": z, "soft": soft, "w": w, "c": c, "P": P, "Pu": Pu, "Z": Z,
        "S": S, "Y_soft": Y_soft, "Ppos": Ppos, "wm": wm, "r_true": r_true, "r_pred": r_pred,
        "Y": np.eye(k)[c],
    }  # fmt: skip


@contextlib.contextmanager
def float64_mean() -> Iterator[None]:
    """Keras's jax-backend mean, computed in float64 for float64 tensors."""
    import jax.numpy as jnp
    import keras.src.backend.jax.numpy as backend_numpy

    shipped = backend_numpy.mean

    def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        x = backend_numpy.convert_to_tensor(x)
        if x.dtype == jnp.float64:
            return jnp.mean(x, axis=axis, keepdims=keepdims)
        return shipped(x, axis=axis, keepdims=keepdims)

    backend_numpy.mean = mean
    try:
        yield
    finally:
        backend_numpy.mean = shipped


def cases(d: dict[str, Any]) -> list[dict[str, Any]]:
    """(convention, loss, task, preds, labels, weights, options, framework call, value)."""
    import keras
    import sklearn.metrics as skm
    import torch
    import torch.nn.functional as F
    from torchvision.ops import sigmoid_focal_loss

    keras.config.set_floatx("float64")
    keras.config.set_epsilon(1e-7)
    T = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
    col = lambda a: np.asarray(a, dtype=np.float64).reshape(-1, 1)  # noqa: E731
    L = keras.losses
    y, p, z, soft, w, c = d["y"], d["p"], d["z"], d["soft"], d["w"], d["c"]
    P, Pu, Z, S, Y, Y_soft, Ppos, wm = (
        d["P"], d["Pu"], d["Z"], d["S"], d["Y"], d["Y_soft"], d["Ppos"], d["wm"]
    )  # fmt: skip
    rt, rp = d["r_true"], d["r_pred"]
    out: list[dict[str, Any]] = []
    shipped_values: list[float] = []

    def add(conv, loss, task, preds, labels, value, call, weights=None, **options):
        if conv == "keras":
            options_shipped = {"as_shipped": shipped_values.pop()}
        else:
            options_shipped = {}
        out.append(
            dict(
                convention=conv, loss=loss, task=task, call=call, options=options,
                preds=np.asarray(preds).tolist(), labels=np.asarray(labels).tolist(),
                weights=None if weights is None else np.asarray(weights).tolist(),
                value=float(value),
                **options_shipped,
            )
        )  # fmt: skip

    def k(loss, yt, yp, sw=None):
        # Keras 3's ops.mean computes in float32 even for float64 tensors (its jax backend's
        # mean: compute_dtype = result_type(x.dtype, "float32")), which costs about 1e-8 of
        # relative precision wherever a loss averages over its last axis. The value stored
        # is Keras's loss with that one mean in float64; the value as shipped is kept
        # beside it ("as_shipped") with its relative distance.
        shipped = float(loss(yt, yp, sample_weight=sw))
        with float64_mean():
            exact = float(loss(yt, yp, sample_weight=sw))
        shipped_values.append(shipped)
        return exact

    # --- scikit-learn ----------------------------------------------------------------------
    add("sklearn", "bce", "binary", p, y, skm.log_loss(y, p), "log_loss")
    add(
        "sklearn",
        "bce",
        "binary",
        p,
        y,
        skm.log_loss(y, p, sample_weight=w),
        "log_loss(sample_weight)",
        w,
    )
    add("sklearn", "ce", "multiclass", P, c, skm.log_loss(c, P), "log_loss")
    add(
        "sklearn",
        "ce",
        "multiclass",
        P,
        c,
        skm.log_loss(c, P, sample_weight=wm),
        "log_loss(sample_weight)",
        wm,
    )
    add("sklearn", "mse", "binary", p, y, skm.brier_score_loss(y, p), "brier_score_loss")
    add(
        "sklearn",
        "mse",
        "multiclass",
        P,
        c,
        skm.brier_score_loss(c, P, labels=[0, 1, 2]),
        "brier_score_loss (multiclass)",
    )
    add(
        "sklearn",
        "mse",
        "multiclass",
        P,
        c,
        skm.brier_score_loss(c, P, labels=[0, 1, 2], sample_weight=wm),
        "brier_score_loss(sample_weight)",
        wm,
    )
    add(
        "sklearn",
        "rmse",
        "regression",
        rp,
        rt,
        skm.root_mean_squared_error(rt, rp),
        "root_mean_squared_error",
    )
    add(
        "sklearn",
        "rmse",
        "regression",
        rp,
        rt,
        skm.root_mean_squared_error(rt, rp, sample_weight=wm),
        "root_mean_squared_error(sample_weight)",
        wm,
    )
    add(
        "sklearn",
        "rmse",
        "multiclass",
        P,
        c,
        skm.root_mean_squared_error(Y, P),
        "root_mean_squared_error(one-hot, P)",
    )
    add(
        "sklearn",
        "mae",
        "regression",
        rp,
        rt,
        skm.mean_absolute_error(rt, rp, sample_weight=wm),
        "mean_absolute_error",
        wm,
    )
    add(
        "sklearn", "mse", "regression", rp, rt, skm.mean_squared_error(rt, rp), "mean_squared_error"
    )
    add("sklearn", "hinge", "binary", z / 400, y, skm.hinge_loss(y, z / 400), "hinge_loss")
    add(
        "sklearn",
        "hinge",
        "multiclass",
        S,
        c,
        skm.hinge_loss(c, S, labels=[0, 1, 2]),
        "hinge_loss (multiclass)",
    )
    add(
        "sklearn",
        "ce",
        "multiclass",
        Pu,
        c,
        skm.log_loss(c, Pu, labels=[0, 1, 2]),
        "log_loss (rows not summing to 1)",
    )
    add("sklearn", "ce", "multiclass", P, Y, skm.log_loss(Y, P), "log_loss (one-hot label rows)")
    add(
        "sklearn",
        "mse",
        "binary",
        p,
        soft,
        skm.mean_squared_error(soft, p),
        "mean_squared_error (soft targets)",
    )
    add(
        "sklearn",
        "hinge",
        "multiclass",
        S,
        c,
        skm.hinge_loss(c, S, labels=[0, 1, 2], sample_weight=wm),
        "hinge_loss(sample_weight)",
        wm,
    )

    # --- PyTorch ---------------------------------------------------------------------------
    add(
        "torch", "bce", "binary", p, y, F.binary_cross_entropy(T(p), T(y)), "F.binary_cross_entropy"
    )
    add(
        "torch",
        "bce",
        "binary",
        p,
        y,
        F.binary_cross_entropy(T(p), T(y), weight=T(w)),
        "F.binary_cross_entropy(weight)",
        w,
    )
    add(
        "torch",
        "bce",
        "binary",
        p,
        soft,
        F.binary_cross_entropy(T(p), T(soft)),
        "F.binary_cross_entropy (soft targets)",
    )
    add(
        "torch",
        "bce",
        "binary",
        z,
        y,
        F.binary_cross_entropy_with_logits(T(z), T(y), weight=T(w)),
        "F.binary_cross_entropy_with_logits(weight)",
        w,
        from_logits=True,
    )
    # class weights c as PyTorch takes them in BCE with logits: pos_weight = c₁/c₀ and
    # weight = c₀ (times the sample weight); with c₀ = 0, weight = s·c(y) row by row
    add(
        "torch",
        "bce",
        "binary",
        z,
        y,
        F.binary_cross_entropy_with_logits(T(z), T(y), pos_weight=T([2.5])),
        "F.binary_cross_entropy_with_logits(pos_weight)",
        from_logits=True,
        class_weight={"0": 1.0, "1": 2.5},
    )
    add(
        "torch",
        "bce",
        "binary",
        z,
        y,
        F.binary_cross_entropy_with_logits(T(z), T(y), weight=T(0.4 * w), pos_weight=T([7.5])),
        "F.binary_cross_entropy_with_logits(weight=0.4·s, pos_weight=3/0.4)",
        w,
        from_logits=True,
        class_weight={"0": 0.4, "1": 3.0},
    )
    add(
        "torch",
        "bce",
        "binary",
        z,
        y,
        F.binary_cross_entropy_with_logits(T(z), T(y), weight=T(w * np.where(y == 1, 2.0, 0.0))),
        "F.binary_cross_entropy_with_logits(weight=s·c(y), c₀ = 0)",
        w,
        from_logits=True,
        class_weight={"0": 0.0, "1": 2.0},
    )
    add(
        "torch",
        "bce",
        "binary",
        p,
        y,
        F.binary_cross_entropy(T(p), T(y), weight=T(w * np.where(y == 1, 3.0, 0.4))),
        "F.binary_cross_entropy(weight=s·c(y))",
        w,
        class_weight={"0": 0.4, "1": 3.0},
    )
    n1 = float(y.sum())
    c0, c1 = y.size / (2 * (y.size - n1)), y.size / (2 * n1)  # scikit-learn's "balanced"
    add(
        "torch",
        "bce",
        "binary",
        z,
        y,
        F.binary_cross_entropy_with_logits(T(z), T(y), weight=T([c0]), pos_weight=T([c1 / c0])),
        "F.binary_cross_entropy_with_logits(weight=c₀, pos_weight=c₁/c₀), balanced",
        from_logits=True,
        class_weight="balanced",
    )
    add(
        "torch",
        "ce",
        "multiclass",
        Pu,
        c,
        F.nll_loss(torch.log(T(Pu)), torch.tensor(c)),
        "F.nll_loss(log P) (rows not summing to 1, p of 0 and 1)",
    )
    add(
        "torch",
        "focal",
        "binary",
        z,
        y,
        sigmoid_focal_loss(T(z), T(y), reduction="mean"),
        "sigmoid_focal_loss",
        from_logits=True,
    )
    add(
        "torch",
        "focal",
        "binary",
        z,
        y,
        sigmoid_focal_loss(T(z), T(y), alpha=0.4, gamma=1.5, reduction="mean"),
        "sigmoid_focal_loss(alpha, gamma)",
        from_logits=True,
        focal_alpha=0.4,
        focal_gamma=1.5,
    )
    add("torch", "mse", "regression", rp, rt, F.mse_loss(T(rp), T(rt)), "F.mse_loss")
    add("torch", "mae", "multiclass", P, c, F.l1_loss(T(P), T(Y)), "F.l1_loss(P, one-hot)")
    add(
        "torch",
        "huber",
        "regression",
        rp,
        rt,
        F.huber_loss(T(rp), T(rt), delta=0.5),
        "F.huber_loss(delta)",
        huber_delta=0.5,
    )
    cw = {"0": 1.0, "1": 2.5, "2": 0.5}
    tw = T([1.0, 2.5, 0.5])
    add(
        "torch",
        "ce",
        "multiclass",
        Z,
        c,
        F.cross_entropy(T(Z), torch.tensor(c)),
        "F.cross_entropy",
        from_logits=True,
    )
    add(
        "torch",
        "ce",
        "multiclass",
        Z,
        c,
        F.cross_entropy(T(Z), torch.tensor(c), weight=tw),
        "F.cross_entropy(weight)",
        from_logits=True,
        class_weight=cw,
    )
    add(
        "torch",
        "ce",
        "multiclass",
        Z,
        c,
        F.cross_entropy(T(Z), torch.tensor(c), label_smoothing=0.1),
        "F.cross_entropy(label_smoothing)",
        from_logits=True,
        label_smoothing=0.1,
    )
    add(
        "torch",
        "ce",
        "multiclass",
        Z,
        Y_soft,
        F.cross_entropy(T(Z), T(Y_soft)),
        "F.cross_entropy (soft labels)",
        from_logits=True,
    )
    add(
        "torch",
        "ce",
        "multiclass",
        Ppos,
        c,
        F.nll_loss(torch.log(T(Ppos)), torch.tensor(c), weight=tw),
        "F.nll_loss(log P, weight)",
        class_weight=cw,
    )
    add(
        "torch",
        "kl",
        "multiclass",
        Ppos,
        Y_soft,
        F.kl_div(torch.log(T(Ppos)), T(Y_soft), reduction="mean"),
        "F.kl_div(log P, Y, reduction='mean')",
    )
    add(
        "torch",
        "kl",
        "multiclass",
        Z,
        Y_soft,
        F.kl_div(F.log_softmax(T(Z), 1), T(Y_soft), reduction="mean"),
        "F.kl_div(log_softmax, Y, reduction='mean')",
        from_logits=True,
    )
    add(
        "torch",
        "hinge",
        "multiclass",
        S,
        c,
        F.multi_margin_loss(T(S), torch.tensor(c)),
        "F.multi_margin_loss",
    )
    add(
        "torch",
        "hinge",
        "multiclass",
        S,
        c,
        F.multi_margin_loss(T(S), torch.tensor(c), weight=tw),
        "F.multi_margin_loss(weight)",
        class_weight=cw,
    )

    # --- Keras 3 ---------------------------------------------------------------------------
    add(
        "keras",
        "bce",
        "binary",
        p,
        y,
        k(L.BinaryCrossentropy(), col(y), col(p)),
        "BinaryCrossentropy",
    )
    add(
        "keras",
        "bce",
        "binary",
        p,
        y,
        k(L.BinaryCrossentropy(), col(y), col(p), w),
        "BinaryCrossentropy(sample_weight)",
        w,
    )
    add(
        "keras",
        "bce",
        "binary",
        p,
        y,
        k(L.BinaryCrossentropy(label_smoothing=0.1), col(y), col(p)),
        "BinaryCrossentropy(label_smoothing)",
        label_smoothing=0.1,
    )
    add(
        "keras",
        "bce",
        "binary",
        p,
        soft,
        k(L.BinaryCrossentropy(), col(soft), col(p)),
        "BinaryCrossentropy (soft targets)",
    )
    add(
        "keras",
        "bce",
        "binary",
        z,
        y,
        k(L.BinaryCrossentropy(from_logits=True), col(y), col(z)),
        "BinaryCrossentropy(from_logits)",
        from_logits=True,
    )
    add(
        "keras",
        "focal",
        "binary",
        p,
        y,
        k(L.BinaryFocalCrossentropy(), col(y), col(p)),
        "BinaryFocalCrossentropy",
    )
    add(
        "keras",
        "focal",
        "binary",
        p,
        y,
        k(
            L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.0),
            col(y),
            col(p),
            w,
        ),
        "BinaryFocalCrossentropy(apply_class_balancing, alpha, gamma, sample_weight)",
        w,
        focal_alpha=0.3,
        focal_gamma=1.0,
    )
    add(
        "keras",
        "focal",
        "binary",
        z,
        y,
        k(L.BinaryFocalCrossentropy(from_logits=True), col(y), col(z)),
        "BinaryFocalCrossentropy(from_logits)",
        from_logits=True,
    )
    add("keras", "dice", "binary", p, y, k(L.Dice(), col(y), col(p)), "Dice")
    add(
        "keras",
        "mse",
        "binary",
        p,
        y,
        k(L.MeanSquaredError(), col(y), col(p), w),
        "MeanSquaredError(sample_weight)",
        w,
    )
    add(
        "keras",
        "mae",
        "regression",
        rp,
        rt,
        k(L.MeanAbsoluteError(), rt, rp, wm),
        "MeanAbsoluteError(sample_weight)",
        wm,
    )
    add(
        "keras",
        "huber",
        "regression",
        rp,
        rt,
        k(L.Huber(delta=0.5), rt, rp),
        "Huber(delta)",
        huber_delta=0.5,
    )
    add(
        "keras",
        "log_cosh",
        "regression",
        rp,
        rt,
        k(L.LogCosh(), rt, rp, wm),
        "LogCosh(sample_weight)",
        wm,
    )
    add("keras", "hinge", "binary", z / 400, y, k(L.Hinge(), col(y), col(z / 400)), "Hinge")
    add(
        "keras",
        "squared_hinge",
        "binary",
        z / 400,
        y,
        k(L.SquaredHinge(), col(y), col(z / 400), w),
        "SquaredHinge(sample_weight)",
        w,
    )
    add("keras", "hinge", "multiclass", S, c, k(L.CategoricalHinge(), Y, S), "CategoricalHinge")
    add(
        "keras",
        "ce",
        "multiclass",
        Pu,
        c,
        k(L.SparseCategoricalCrossentropy(), c, Pu),
        "SparseCategoricalCrossentropy (rows not summing to 1)",
    )
    add(
        "keras",
        "ce",
        "multiclass",
        Pu,
        Y,
        k(L.CategoricalCrossentropy(), Y, Pu, wm),
        "CategoricalCrossentropy(sample_weight)",
        wm,
    )
    add(
        "keras",
        "ce",
        "multiclass",
        P,
        Y,
        k(L.CategoricalCrossentropy(label_smoothing=0.2), Y, P),
        "CategoricalCrossentropy(label_smoothing)",
        label_smoothing=0.2,
    )
    add(
        "keras",
        "ce",
        "multiclass",
        Z,
        Y_soft,
        k(L.CategoricalCrossentropy(from_logits=True), Y_soft, Z),
        "CategoricalCrossentropy(from_logits, soft labels)",
        from_logits=True,
    )
    add("keras", "kl", "multiclass", P, Y_soft, k(L.KLDivergence(), Y_soft, P), "KLDivergence")
    add(
        "keras",
        "kl",
        "multiclass",
        P,
        c,
        k(L.KLDivergence(), Y, P, wm),
        "KLDivergence(one-hot, sample_weight)",
        wm,
    )
    # --- every call on every task it serves, and each option and weight it takes --------
    add(
        "sklearn",
        "mse",
        "binary",
        p,
        y,
        skm.brier_score_loss(y, p, sample_weight=w),
        "brier_score_loss(sample_weight)",
        w,
    )
    add(
        "sklearn",
        "rmse",
        "binary",
        p,
        y,
        skm.root_mean_squared_error(y, p),
        "root_mean_squared_error (binary)",
    )
    add(
        "sklearn",
        "mae",
        "binary",
        p,
        y,
        skm.mean_absolute_error(y, p, sample_weight=w),
        "mean_absolute_error (binary, sample_weight)",
        w,
    )
    add(
        "sklearn",
        "mae",
        "multiclass",
        P,
        c,
        skm.mean_absolute_error(Y, P),
        "mean_absolute_error(one-hot, P)",
    )
    add("sklearn", "ce", "binary", p, y, skm.log_loss(y, p), "log_loss (ce, binary)")
    add("torch", "mse", "binary", p, soft, F.mse_loss(T(p), T(soft)), "F.mse_loss (binary, soft)")
    add("torch", "mse", "multiclass", P, c, F.mse_loss(T(P), T(Y)), "F.mse_loss(P, one-hot)")
    add("torch", "mae", "binary", p, y, F.l1_loss(T(p), T(y)), "F.l1_loss (binary)")
    add("torch", "mae", "regression", rp, rt, F.l1_loss(T(rp), T(rt)), "F.l1_loss")
    add(
        "torch",
        "huber",
        "binary",
        p,
        y,
        F.huber_loss(T(p), T(y), delta=0.3),
        "F.huber_loss (binary, delta)",
        huber_delta=0.3,
    )
    add(
        "torch",
        "huber",
        "multiclass",
        Pu,
        Y_soft,
        F.huber_loss(T(Pu), T(Y_soft), delta=0.2),
        "F.huber_loss (multiclass, soft rows, delta)",
        huber_delta=0.2,
    )
    add(
        "keras",
        "mse",
        "multiclass",
        Pu,
        Y_soft,
        k(L.MeanSquaredError(), Y_soft, Pu, wm),
        "MeanSquaredError (multiclass, soft rows, sample_weight)",
        wm,
    )
    add("keras", "mse", "regression", rp, rt, k(L.MeanSquaredError(), rt, rp), "MeanSquaredError")
    add(
        "keras",
        "mae",
        "binary",
        p,
        soft,
        k(L.MeanAbsoluteError(), col(soft), col(p)),
        "MeanAbsoluteError (binary, soft)",
    )
    add(
        "keras",
        "mae",
        "multiclass",
        P,
        c,
        k(L.MeanAbsoluteError(), Y, P),
        "MeanAbsoluteError(one-hot, P)",
    )
    add(
        "keras",
        "huber",
        "binary",
        p,
        y,
        k(L.Huber(delta=0.3), col(y), col(p), w),
        "Huber (binary, delta, sample_weight)",
        w,
        huber_delta=0.3,
    )
    add("keras", "huber", "multiclass", P, c, k(L.Huber(), Y, P), "Huber(one-hot, P)")
    add("keras", "log_cosh", "binary", p, y, k(L.LogCosh(), col(y), col(p)), "LogCosh (binary)")
    add(
        "keras",
        "log_cosh",
        "multiclass",
        Pu,
        c,
        k(L.LogCosh(), Y, Pu, wm),
        "LogCosh (multiclass, rows not summing to 1, sample_weight)",
        wm,
    )
    add(
        "keras",
        "hinge",
        "binary",
        z / 400,
        y,
        k(L.Hinge(), col(y), col(z / 400), w),
        "Hinge(sample_weight)",
        w,
    )
    add(
        "keras",
        "hinge",
        "multiclass",
        S,
        c,
        k(L.CategoricalHinge(), Y, S, wm),
        "CategoricalHinge(sample_weight)",
        wm,
    )
    add(
        "keras",
        "ce",
        "binary",
        p,
        y,
        k(L.BinaryCrossentropy(label_smoothing=0.1), col(y), col(p), w),
        "BinaryCrossentropy (ce, label_smoothing, sample_weight)",
        w,
        label_smoothing=0.1,
    )
    add(
        "keras",
        "ce",
        "binary",
        z,
        soft,
        k(L.BinaryCrossentropy(from_logits=True), col(soft), col(z)),
        "BinaryCrossentropy (ce, from_logits, soft)",
        from_logits=True,
    )
    add(
        "keras",
        "focal",
        "binary",
        p,
        y,
        k(L.BinaryFocalCrossentropy(label_smoothing=0.1), col(y), col(p)),
        "BinaryFocalCrossentropy(label_smoothing)",
        label_smoothing=0.1,
    )
    return out


def main() -> None:
    import jax
    import keras
    import sklearn
    import torch
    import torchvision

    jax.config.update("jax_enable_x64", True)
    values = cases(data())
    doc = {
        "generated_by": "tools/framework_values.py",
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "keras": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "jax": jax.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "cases": values,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"{len(values)} cases → {OUT}")


if __name__ == "__main__":
    main()
