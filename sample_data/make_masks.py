"""Regenerate the synthetic segmentation samples in sample_data/masks/ (SPEC §12).

    .venv/bin/python sample_data/make_masks.py

Six 64×64 images of discs on a background, drawn from one seeded generator:

- binary_preds.npy (6, 64, 64) float32 probabilities, binary_labels.npy (6, 64, 64) 0/1;
- seg3_logits.npy (6, 3, 64, 64) float32 logits in PyTorch's layout (background, disc, ring) and
  seg3_labels.npy (6, 64, 64) class indices, with a 2-pixel border of 255 (void);
- seg3_folder/preds/ and seg3_folder/labels/: the same images, one .npy file per image.

The "model" blurs the truth and adds noise, worse on later images, so that the worst
images differ. Running the script twice gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "masks"
N, SIZE, VOID = 6, 64, 255


def scenes(rng: np.random.Generator) -> np.ndarray:
    """(N, 64, 64) labels: 0 background, 1 a disc, 2 a ring around it."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    out = np.zeros((N, SIZE, SIZE), dtype=np.uint8)
    for i in range(N):
        cy, cx = rng.uniform(20, 44, 2)
        r = rng.uniform(8, 14)
        d = np.hypot(yy - cy, xx - cx)
        out[i][d < r + 4] = 2
        out[i][d < r] = 1
    return out


def main() -> None:
    rng = np.random.default_rng(15)
    labels = scenes(rng)
    noise = np.linspace(0.5, 2.5, N)[:, None, None, None]
    onehot = np.eye(3)[labels].transpose(0, 3, 1, 2)
    logits = 4.0 * onehot - 2.0 + noise * rng.normal(size=onehot.shape)
    logits = np.round(logits, 4).astype(np.float32)
    void = labels.copy()
    void[:, :2, :] = void[:, -2:, :] = void[:, :, :2] = void[:, :, -2:] = VOID
    binary = (labels > 0).astype(np.uint8)
    z = logits[:, 1:].max(axis=1) - logits[:, 0]
    probs = np.clip(1.0 / (1.0 + np.exp(-z.astype(np.float64))), 1e-4, 1 - 1e-4)
    probs = np.round(probs, 4).astype(np.float32)
    OUT.mkdir(exist_ok=True)
    np.save(OUT / "binary_preds.npy", probs)
    np.save(OUT / "binary_labels.npy", binary)
    np.save(OUT / "seg3_logits.npy", logits)
    np.save(OUT / "seg3_labels.npy", void)
    for side in ("preds", "labels"):
        (OUT / "seg3_folder" / side).mkdir(parents=True, exist_ok=True)
    for i in range(N):
        np.save(OUT / "seg3_folder" / "preds" / f"img{i}.npy", logits[i])
        np.save(OUT / "seg3_folder" / "labels" / f"img{i}.npy", void[i])


if __name__ == "__main__":
    main()
