"""Losses of segmentation masks (SPEC §12): every pixel is a sample of the one engine.

`evaluate_masks` pairs PREDS with LABELS (`losscli.readers.masks`), streams whole images as
rows of pixels through `losscli.api.evaluate_stream`, and reads per-image values off the
same sums: the image of each pixel is a slice key (`losscli.engine.slices`), so every loss,
the dataset-level dice, iou and tversky included, has a value per image with no code of
its own. ``reduction='per-image'`` is the mean of those values over the images; ``worst=K``
lists the K images of largest loss with the share of their pixels left out by
``ignore_index``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.errors import InputError, option
from losscli.readers.masks import MaskChunk, MaskPair, open_masks

PER_IMAGE = "per-image"
# pixels per chunk: whole images, about this many pixels at a time
CHUNK_PIXELS = 1 << 18


@dataclass
class MaskInputs:
    """What was read, for the JSON "inputs" object and the table's title."""

    pair: MaskPair
    notes: list[str]

    def describe(self) -> dict[str, Any]:
        return self.pair.describe()


def evaluate_masks(
    preds: str,
    labels: str,
    losses: Sequence[str] | str | None = None,
    *,
    layout: str | None = None,
    ignore_index: int | None = None,
    key: str | None = None,
    reduction: str | None = None,
    worst: int | None = None,
    worst_by: str | None = None,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_pixels: int | None = None,
    **options: Any,
) -> tuple[Any, MaskInputs]:
    """Losses of the masks in PREDS against LABELS (paths: NPY/NPZ arrays or folders).

    Args:
        layout: ``channels-first`` (N, C, *spatial) or ``channels-last`` (N, *spatial, C);
            inferred from the labels' shape when only one fits.
        ignore_index: pixels whose label is this value are left out (PyTorch's
            ``ignore_index``; class-weighted means divide by Σw_y over the pixels kept).
        reduction: ``mean`` over every pixel (PyTorch's default), ``sum``, ``none`` (one
            row per pixel) or ``per-image`` (each image's value, then the mean over images).
        worst: list the K images of largest loss (`worst_by`, default the first loss).
        **options: the engine's options (`losscli.evaluate`).

    Returns:
        (EvaluationResult, MaskInputs). With ``worst``, ``result.worst`` holds one entry per
        image: ``file`` (a folder's), ``image`` (0-based index), ``pixels`` evaluated,
        ``ignored`` (the share left out) and ``loss``.
    """
    from losscli.api import evaluate_stream

    pair = open_masks(preds, labels, layout=layout, key=key)
    if ignore_index is not None and pair.reading.kind == "onehot":
        raise InputError(
            f"{option('ignore_index', ignore_index)} needs class-index labels, but "
            f"{pair.labels.name} holds one-hot or soft rows",
            fix=f"Leave out {option('ignore_index')}, or give labels as class indices",
        )
    per_image = reduction == PER_IMAGE
    if worst is not None and worst < 1:
        raise InputError(f"{option('worst', worst)} must be at least 1")
    if worst and reduction == "none":
        raise InputError(
            f"{option('worst')} ranks images by their loss; {option('reduction', 'none')} "
            "lists pixels",
            fix="Leave out one of them",
        )
    if worst_by is not None and not worst:
        raise InputError(f"{option('worst_by')} ranks the images that {option('worst')} lists",
                         fix=f"Pass {option('worst', 5)} too")  # fmt: skip
    by_image = per_image or bool(worst)
    if task == "auto":
        task = "binary" if pair.reading.kind == "binary" else "multiclass"
    names = None
    if pair.reading.kind != "binary":
        names = [str(c) for c in range(pair.reading.n_classes)]
    ignored = np.zeros(pair.n_images, dtype=np.int64)
    pixels = np.zeros(pair.n_images, dtype=np.int64)

    def chunks() -> Iterator[MaskChunk]:
        size = chunk_pixels or CHUNK_PIXELS
        for chunk in pair.chunks(size, ignore_index, by_image):
            stop = chunk.first_image + len(chunk.shapes)
            ignored[chunk.first_image : stop] = chunk.ignored
            pixels[chunk.first_image : stop] = [int(np.prod(s)) for s in chunk.shapes]
            yield chunk

    result = evaluate_stream(
        chunks(),
        losses,
        task=task,
        classes=classes,
        pred_names=names,
        threads=threads,
        progress=progress,
        locate=_place,
        by=["image"] if by_image else None,
        max_slices=max(pair.n_images, 1),
        reduction="mean" if per_image else reduction,
        **options,
    )
    notes = _notes(ignored, pixels, ignore_index)
    if by_image:
        _per_image(result, pair, ignored, pixels, per_image, worst, worst_by, notes)
    result.notes.extend(notes)
    return result, MaskInputs(pair, [])


def _place(chunk: Any, exc: InputError) -> InputError:
    """An engine error at a pixel row, as the image and pixel (`MaskChunk.place`)."""
    return chunk.place(exc)  # type: ignore[no-any-return]


def _notes(ignored: np.ndarray, pixels: np.ndarray, ignore_index: int | None) -> list[str]:
    total = int(ignored.sum())
    if ignore_index is None or not total:
        return []
    share = total / max(int(pixels.sum()), 1)
    return [
        f"left out {total:,} pixel{'s' * (total > 1)} labelled {ignore_index} "
        f"({share:.2%} of {int(pixels.sum()):,})"
    ]


def _per_image(
    result: Any,
    pair: MaskPair,
    ignored: np.ndarray,
    pixels: np.ndarray,
    per_image: bool,
    worst: int | None,
    worst_by: str | None,
    notes: list[str],
) -> None:
    """Per-image values from the image slicing: their mean, the worst images; the slicing
    itself is not shown (one group per image)."""
    slicing = result.slices[0]
    groups = slicing.groups + slicing.hidden
    values = {int(g.key["image"]): g.losses for g in groups}
    names = list(result.losses)
    result.slices = []
    if per_image:
        empty = pair.n_images - len(values)
        for name in names:
            seen = [v[name] for v in values.values() if v.get(name) is not None]
            result.losses[name] = float(np.mean(seen)) if seen else float("nan")
        result.options["reduction"] = PER_IMAGE
        if empty:
            notes.append(
                f"{empty} image{'s' * (empty > 1)} with every pixel left out "
                f"{'have' if empty > 1 else 'has'} no value and no part in the mean over images"
            )
    if not worst:
        return
    by = worst_by or names[0]
    if by not in names:
        raise InputError(
            f"{option('worst_by', by)} is not one of the losses computed",
            fix=f"Choose one of {', '.join(names)}",
        )

    def rank(i: int) -> tuple[bool, float, int]:
        v = values[i].get(by)
        return (v is None, -(v if v is not None else 0.0), i)

    entries = []
    for i in sorted(values, key=rank)[:worst]:
        entry: dict[str, Any] = {}
        if pair.folder:
            entry["file"] = pair.image_name(i)
        entry.update(
            image=i,
            pixels=int(pixels[i] - ignored[i]),
            ignored=float(ignored[i] / pixels[i]) if pixels[i] else 0.0,
            loss=values[i].get(by),
        )
        entries.append(entry)
    result.worst = entries
    result.worst_by = by
