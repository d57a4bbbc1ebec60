"""Reference values for segmentation masks (SPEC §12), from PyTorch and MONAI themselves.

Run once, in a virtual environment of its own that has the frameworks (never losscli's;
the test suite never installs them):

    python3 -m venv /tmp/maskref
    /tmp/maskref/bin/pip install numpy torch==2.13.0
    /tmp/maskref/bin/pip install --no-deps monai      # MONAI needs only numpy and torch
    /tmp/maskref/bin/python tools/mask_values.py      # writes tests/data/mask_values.json

Each case calls the framework in float64 on small seeded masks (3 images of 5×6 pixels):
`torch.nn.functional` binary_cross_entropy(_with_logits) and cross_entropy (with weight=
and ignore_index=, per pixel and per image), MONAI's DiceLoss, DiceLoss(jaccard=True) and
TverskyLoss over the batch (batch=True) and per image (batch=False), with and without
background, from probabilities and from logits, labels as indices and one-hot. The JSON
holds the inputs, the losscli keywords that reproduce the call, the value and the
versions; `tests/test_masks_reference.py` reads it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "mask_values.json"
N, H, W, C = 3, 5, 6, 3
VOID = 255


def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261201)
    z = rng.normal(0.0, 2.0, (N, H, W))
    y = (rng.uniform(size=(N, H, W)) < 0.4).astype(np.float64)
    y[0, 0, :] = 1.0  # every image has positives
    Z = rng.normal(0.0, 2.0, (N, C, H, W))
    Y = rng.integers(0, C, (N, H, W))
    Y_void = Y.copy()
    Y_void[0, :2, :] = VOID  # 12 of image 0's 30 pixels
    Y_void[2, 4, 1:4] = VOID
    return {"z": z, "y": y, "Z": Z, "Y": Y, "Y_void": Y_void}


def cases() -> list[dict[str, Any]]:
    import torch
    import torch.nn.functional as F
    from monai.losses import DiceLoss, TverskyLoss

    torch.set_default_dtype(torch.float64)
    d = data()
    t = {k: torch.from_numpy(v) for k, v in d.items()}
    p = torch.sigmoid(t["z"])
    P = torch.softmax(t["Z"], dim=1)
    d["p"] = p.numpy()
    out: list[dict[str, Any]] = []

    def add(name: str, call: str, value: Any, **case: Any) -> None:
        out.append({"name": name, "call": call, "value": float(value), **case})

    # --- binary: bce per pixel, from probabilities and logits; per image; a void label
    add(
        "bce",
        "F.binary_cross_entropy(p, y)",
        F.binary_cross_entropy(p, t["y"]),
        preds="p",
        labels="y",
        losses=["bce"],
        options={},
    )
    add(
        "bce_logits",
        "F.binary_cross_entropy_with_logits(z, y)",
        F.binary_cross_entropy_with_logits(t["z"], t["y"]),
        preds="z",
        labels="y",
        losses=["bce"],
        options={"from_logits": True},
    )
    y_void = t["y"].clone()
    y_void[1, :, :2] = VOID
    d["y_void"] = y_void.numpy()
    kept = y_void != VOID
    add(
        "bce_ignore",
        "F.binary_cross_entropy_with_logits(z[y != 255], y[y != 255])",
        F.binary_cross_entropy_with_logits(t["z"][kept], y_void[kept]),
        preds="z",
        labels="y_void",
        losses=["bce"],
        options={"from_logits": True, "ignore_index": VOID},
    )
    per = [
        F.binary_cross_entropy_with_logits(t["z"][i][kept[i]], y_void[i][kept[i]]) for i in range(N)
    ]
    add(
        "bce_ignore_per_image",
        "mean over i of F.binary_cross_entropy_with_logits(z[i], y[i]) on pixels y[i] != 255",
        torch.stack(per).mean(),
        preds="z",
        labels="y_void",
        losses=["bce"],
        options={"from_logits": True, "ignore_index": VOID, "reduction": "per-image"},
    )

    # --- multiclass ce: weight=, ignore_index=, per pixel and per image
    w = torch.tensor([0.5, 2.0, 1.25])
    add(
        "ce_logits",
        "F.cross_entropy(Z, Y)",
        F.cross_entropy(t["Z"], t["Y"]),
        preds="Z",
        labels="Y",
        losses=["ce"],
        options={"from_logits": True},
    )
    add(
        "ce_weight_ignore",
        "F.cross_entropy(Z, Y, weight=w, ignore_index=255)",
        F.cross_entropy(t["Z"], t["Y_void"], weight=w, ignore_index=VOID),
        preds="Z",
        labels="Y_void",
        losses=["ce"],
        options={
            "from_logits": True,
            "ignore_index": VOID,
            "class_weight": {"0": 0.5, "1": 2.0, "2": 1.25},
        },
    )
    kept_y = t["Y_void"][t["Y_void"] != VOID]
    counts = torch.bincount(kept_y, minlength=C).double()
    balanced = kept_y.numel() / (C * counts)  # scikit-learn's 'balanced', over kept pixels
    add(
        "ce_balanced_ignore",
        "F.cross_entropy(Z, Y, weight=n/(k·n_c), ignore_index=255)",
        F.cross_entropy(t["Z"], t["Y_void"], weight=balanced, ignore_index=VOID),
        preds="Z",
        labels="Y_void",
        losses=["ce"],
        options={"from_logits": True, "ignore_index": VOID, "class_weight": "balanced"},
    )
    per = [
        F.cross_entropy(t["Z"][i : i + 1], t["Y_void"][i : i + 1], weight=w, ignore_index=VOID)
        for i in range(N)
    ]
    add(
        "ce_weight_ignore_per_image",
        "mean over i of F.cross_entropy(Z[i], Y[i], weight=w, ignore_index=255)",
        torch.stack(per).mean(),
        preds="Z",
        labels="Y_void",
        losses=["ce"],
        options={
            "from_logits": True,
            "ignore_index": VOID,
            "reduction": "per-image",
            "class_weight": {"0": 0.5, "1": 2.0, "2": 1.25},
        },
    )
    add(
        "ce_channels_last",
        "F.cross_entropy(Z, Y) on Z given as (N, H, W, C)",
        F.cross_entropy(t["Z"], t["Y"]),
        preds="Z_last",
        labels="Y",
        losses=["ce"],
        options={"from_logits": True, "layout": "channels-last"},
    )

    # --- overlaps: MONAI over the batch and per image, with and without background
    binary_in, binary_y = t["z"][:, None], t["y"][:, None]
    onehot = F.one_hot(t["Y"], C).permute(0, 3, 1, 2).double()
    d["Y_onehot"] = onehot.numpy()
    for sigma in (1.0, 1e-5):
        for batch in (True, False):
            red = {} if batch else {"reduction": "per-image"}
            tag = f"{'batch' if batch else 'per_image'}_s{sigma:g}"
            sm = {"dice_smooth": sigma}
            call = f"batch={batch}, smooth_nr=smooth_dr={sigma:g}"
            loss = DiceLoss(sigmoid=True, batch=batch, smooth_nr=sigma, smooth_dr=sigma)
            add(
                f"dice_binary_{tag}",
                f"DiceLoss(sigmoid=True, {call})",
                loss(binary_in, binary_y),
                preds="z",
                labels="y",
                losses=["dice"],
                options={"from_logits": True, **sm, **red},
            )
            loss = DiceLoss(
                sigmoid=True, jaccard=True, batch=batch, smooth_nr=2 * sigma, smooth_dr=2 * sigma
            )
            add(
                f"iou_binary_{tag}",
                f"DiceLoss(sigmoid=True, jaccard=True, batch={batch}, "
                f"smooth_nr=smooth_dr=2·{sigma:g})",
                loss(binary_in, binary_y),
                preds="z",
                labels="y",
                losses=["iou"],
                options={"from_logits": True, **sm, **red},
            )
            loss = TverskyLoss(
                sigmoid=True, alpha=0.3, beta=0.7, batch=batch, smooth_nr=sigma, smooth_dr=sigma
            )
            add(
                f"tversky_binary_{tag}",
                f"TverskyLoss(sigmoid=True, alpha=0.3, beta=0.7, {call})",
                loss(binary_in, binary_y),
                preds="z",
                labels="y",
                losses=["tversky"],
                options={
                    "from_logits": True,
                    "tversky_alpha": 0.3,
                    "tversky_beta": 0.7,
                    **sm,
                    **red,
                },
            )
            for background in (True, False):
                btag = f"{tag}_{'bg' if background else 'nobg'}"
                nb = {} if background else {"no_background": True}
                kw = dict(
                    batch=batch, include_background=background, smooth_nr=sigma, smooth_dr=sigma
                )
                bcall = f"include_background={background}, {call}"
                loss = DiceLoss(softmax=True, to_onehot_y=True, **kw)
                add(
                    f"dice_multi_{btag}",
                    f"DiceLoss(softmax=True, to_onehot_y=True, {bcall})",
                    loss(t["Z"], t["Y"][:, None]),
                    preds="Z",
                    labels="Y",
                    losses=["dice"],
                    options={"from_logits": True, **sm, **red, **nb},
                )
                kw2 = dict(kw, smooth_nr=2 * sigma, smooth_dr=2 * sigma)
                loss = DiceLoss(softmax=True, to_onehot_y=True, jaccard=True, **kw2)
                add(
                    f"iou_multi_{btag}",
                    f"DiceLoss(softmax=True, to_onehot_y=True, jaccard=True, "
                    f"include_background={background}, batch={batch}, smooth_nr=smooth_dr=2·{sigma:g})",
                    loss(t["Z"], t["Y"][:, None]),
                    preds="Z",
                    labels="Y",
                    losses=["iou"],
                    options={"from_logits": True, **sm, **red, **nb},
                )
                loss = TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.6, beta=0.4, **kw)
                add(
                    f"tversky_multi_{btag}",
                    f"TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.6, beta=0.4, {bcall})",
                    loss(t["Z"], t["Y"][:, None]),
                    preds="Z",
                    labels="Y",
                    losses=["tversky"],
                    options={
                        "from_logits": True,
                        "tversky_alpha": 0.6,
                        "tversky_beta": 0.4,
                        **sm,
                        **red,
                        **nb,
                    },
                )
    # probabilities in, one-hot labels in the predictions' layout
    d["P"] = P.numpy()
    loss = DiceLoss(include_background=False, batch=False, smooth_nr=1.0, smooth_dr=1.0)
    add(
        "dice_probabilities_onehot",
        "DiceLoss(include_background=False, batch=False) on "
        "softmax probabilities and one-hot labels",
        loss(P, onehot),
        preds="P",
        labels="Y_onehot",
        losses=["dice"],
        options={"layout": "channels-first", "no_background": True, "reduction": "per-image"},
    )
    d["Z_last"] = np.moveaxis(d["Z"], 1, -1)
    for case in out:
        case["inputs"] = [case.pop("preds"), case.pop("labels")]
    arrays = {k: np.asarray(v).tolist() for k, v in d.items()}
    return [{"arrays": arrays}, *out]


def main() -> None:
    import monai
    import torch

    arrays, *found = cases()
    document = {
        "versions": {
            "torch": torch.__version__,
            "monai": monai.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "dtype": "float64",
        "arrays": arrays["arrays"],
        "cases": found,
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {len(found)} cases to {OUT}")


if __name__ == "__main__":
    main()
