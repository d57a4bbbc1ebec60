"""Segmentation masks in `eval` and `check` (SPEC §12): when PREDS is a mask (an NPY/NPZ
array of three or more dimensions, or a folder of ``.npy`` files), the files go to
`losscli.masks.evaluate_masks` instead of the column readers."""

from __future__ import annotations

from typing import Any

from losscli.errors import InputError, option

# slice options that masks do not take: an image is their one slice key
_COLUMN_ONLY = ("by", "per_class", "bins", "show_cols", "min_slice_rows", "max_slices",
                "sort_slices", "top_slices")  # fmt: skip
# reading options of columns
_COLUMN_READING = ("pred_cols", "label_cols", "weight_col", "id_col", "delimiter")


def is_masks(preds: str, labels: str | None, params: dict[str, Any]) -> bool:
    """Whether these inputs are masks; mask options on column inputs are an error."""
    from losscli.readers.masks import is_mask_path

    key = params.get("key")
    if is_mask_path(preds, key) or (labels is not None and is_mask_path(labels, key)):
        return True
    for name, value in (
        ("layout", params.get("layout")),
        ("ignore_index", params.get("ignore_index")),
    ):
        if value is not None:
            raise InputError(
                f"{option(name)} applies to segmentation masks, but {preds} is not one",
                fix="Masks are NPY/NPZ arrays of three or more dimensions (N, *spatial) or "
                "(N, C, *spatial), or folders of per-image .npy files",
            )
    return False


def evaluate_mask_files(
    preds: str, labels: str | None, params: dict[str, Any], notes: list[str]
) -> tuple[Any, Any]:
    """`evaluate_files` for masks: (EvaluationResult, inputs description)."""
    from losscli.cli import options as cli_options
    from losscli.masks import evaluate_masks

    if labels is None:
        raise InputError(
            f"{preds} is a mask; its labels are a second mask",
            fix="Pass LABELS too: losscli eval PREDS LABELS",
        )
    for name in (*_COLUMN_ONLY, *_COLUMN_READING):
        if params.get(name):
            raise InputError(
                f"{option(name)} applies to columns; masks are read whole",
                fix=f"Leave out {option(name)}; {option('worst')} lists the worst images",
            )
    keywords = cli_options.engine_keywords(params)
    result, inputs = evaluate_masks(
        preds,
        labels,
        layout=params.get("layout"),
        ignore_index=params.get("ignore_index"),
        key=params.get("key"),
        worst=params.get("worst"),
        worst_by=params.get("worst_by"),
        chunk_pixels=cli_options.STREAM_ROWS,
        **keywords,
    )
    notes.extend(result.notes)
    return result, inputs
