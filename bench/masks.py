"""Segmentation masks (SPEC §12, issue 15): streaming memory and the cost of the mask path.

1. Peak memory of `losscli eval` on a float32 mask file of GB/2 and of GB (default 2 GB,
   ``BENCH_MASK_GB``), with its uint8 labels: flat, since whole images are read a chunk
   at a time from the memory-mapped file.
2. bce of ``BENCH_MASK_PIXELS`` pixels (default 10⁸) as a mask (N, 1000, 1000) against the
   same values as one flat column (a 1-D NPY): the target is at most 1.5×.

Run from bench/run.py (section "masks") or alone: ``python bench/masks.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DATA, PY, run_timed, table  # noqa: E402

GB = float(os.environ.get("BENCH_MASK_GB", "2"))
PIXELS = int(float(os.environ.get("BENCH_MASK_PIXELS", "1e8")))
SIDE = 512  # images of 512 × 512 for the memory files


def _write(path: Path, shape: tuple[int, ...], dtype: str, fill) -> Path:
    """A large .npy written in slabs of images (never whole in memory)."""
    if path.exists():
        return path
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    rng = np.random.default_rng(15)
    step = max(1, (1 << 26) // int(np.prod(shape[1:])))
    for i in range(0, shape[0], step):
        arr[i : i + step] = fill(rng, (min(step, shape[0] - i), *shape[1:]))
    arr.flush()
    del arr
    return path


def _probs(rng, shape):
    return rng.uniform(0.01, 0.99, shape).astype(np.float32)


def _labels(rng, shape):
    return (rng.uniform(size=shape) < 0.3).astype(np.uint8)


def mask_files(n: int, tag: str, shape: tuple[int, ...]) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    p = _write(DATA / f"mask_{tag}_preds.npy", (n, *shape), "float32", _probs)
    y = _write(DATA / f"mask_{tag}_labels.npy", (n, *shape), "uint8", _labels)
    return p, y


def bench_memory() -> list[list[str]]:
    rows = []
    per_image = SIDE * SIDE * 4
    for gb in (GB / 2, GB):
        n = max(1, int(gb * (1 << 30)) // per_image)
        p, y = mask_files(n, f"{n}x{SIDE}", (SIDE, SIDE))
        argv = [PY, "-m", "losscli", "eval", str(p), str(y), "-l", "bce,dice", "-q"]
        wall, peak = run_timed(argv, repeat=1)
        rows.append([f"{p.stat().st_size / (1 << 30):.2f} GB", f"{n * SIDE * SIDE:.2e}",
                     f"{wall:.1f}", f"{peak:.0f}"])  # fmt: skip
    return rows


def bench_speed() -> list[list[str]]:
    n = max(1, PIXELS // 1_000_000)
    p, y = mask_files(n, f"{n}x1000", (1000, 1000))
    flat_p, flat_y = DATA / f"flat_{n}_preds.npy", DATA / f"flat_{n}_labels.npy"
    if not flat_p.exists():  # the same values, one column
        np.save(flat_p, np.load(p, mmap_mode="r").reshape(-1))
        np.save(flat_y, np.load(y, mmap_mode="r").reshape(-1))
    rows, times = [], {}
    for name, (a, b) in (("flat column", (flat_p, flat_y)), ("mask", (p, y))):
        argv = [PY, "-m", "losscli", "eval", str(a), str(b), "-l", "bce", "-q"]
        if name == "flat column":
            argv += ["--task", "binary"]
        times[name], peak = run_timed(argv, repeat=2)
        rows.append([name, f"{n * 1_000_000:.0e}", f"{times[name]:.2f}", f"{peak:.0f}"])
    rows.append(["mask / flat", "", f"{times['mask'] / times['flat column']:.2f}×", ""])
    return rows


def bench_masks() -> None:
    table(
        f"masks: peak memory as the mask file doubles ({SIDE}×{SIDE} float32 images, "
        "uint8 labels; bce, dice)",
        ["preds file", "pixels", "s", "peak MiB"],
        bench_memory(),
    )
    table(
        "masks: bce of the same pixels as a mask (N, 1000, 1000) and as one flat column",
        ["input", "pixels", "s", "peak MiB"],
        bench_speed(),
    )


if __name__ == "__main__":
    bench_masks()
