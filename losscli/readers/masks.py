"""Segmentation masks as pixels (SPEC §12): pair PREDS with LABELS, read the layout, and
stream whole images as the rows the engine takes.

A side is one N-D array (an NPY file, memory-mapped, or an NPZ member; images along the
first axis) or a folder of per-image ``.npy`` files paired by file name. How the two
shapes pair up is a `Reading`:

- ``binary``: the same shape (N, *spatial); a singleton class axis, (N, 1, *spatial) or
  (N, *spatial, 1), on either side is no class axis;
- ``indices``: predictions (N, C, *spatial) (``channels-first``) or (N, *spatial, C)
  (``channels-last``) against class indices (N, *spatial): the layout is the one the
  labels' shape allows, and an error asks for ``--layout`` when both do;
- ``onehot``: labels in the predictions' own shape and layout (one-hot or soft), which
  only ``--layout`` can tell from a binary mask of that shape.

`MaskPair.chunks` yields `MaskChunk`s of whole images: predictions as rows of pixels (one
column per class), labels as indices or rows, the image of each pixel (for per-image
values), pixels whose label is ``ignore_index`` left out. Every pixel is then a row to the
one engine (`losscli.api.evaluate_stream`); `MaskChunk.place` turns the engine's row back
into the image and pixel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from losscli.errors import InputError, option
from losscli.readers._source import Source, resolve
from losscli.readers.npy import mask_shape, open_mask, read_rows

LAYOUTS = ("channels-first", "channels-last")
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Reading:
    """How predictions and labels of these shapes are read (module docstring)."""

    kind: str  # binary, indices, onehot
    layout: str | None  # channels-first / channels-last, None for binary
    n_classes: int  # 1 for binary

    def describe(self) -> str:
        if self.kind == "binary":
            return "binary"
        labels = "class indices" if self.kind == "indices" else "one-hot/soft labels"
        return f"{self.n_classes} classes, {self.layout}, {labels}"


def _shape(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def read_layout(
    preds: Shape, labels: Shape, layout: str | None, names: tuple[str, str], one: bool = False
) -> Reading:
    """The `Reading` of predictions and labels of these shapes (N first; `one`: the shapes
    of one file of a folder, with N = 1 put in front by the caller)."""
    p, y = tuple(preds), tuple(labels)
    pn, yn = names
    shown = (lambda s: _shape(s[1:])) if one else _shape

    def mismatch(why: str) -> InputError:
        return InputError(
            f"{pn} has shape {shown(p)} and {yn} has shape {shown(y)}, which do not pair up: {why}",
            fix="Give labels of the predictions' shape (a binary mask, or one-hot with "
            f"{option('layout')}) or without their class axis (class indices)",
        )

    if p[0] != y[0]:
        raise mismatch(f"{p[0]} images against {y[0]}")
    if layout is not None and layout not in LAYOUTS:
        raise InputError(
            f"{option('layout')} is {layout}; it must be channels-first or channels-last"
        )
    if p == y:
        if layout is None:
            return Reading("binary", None, 1)
        if len(p) < 3:
            raise mismatch(f"{option('layout', layout)} needs (N, C, *spatial) or (N, *spatial, C)")
        c = p[1] if layout == "channels-first" else p[-1]
        return Reading("binary", None, 1) if c == 1 else Reading("onehot", layout, c)
    if len(p) == len(y) + 1:
        fits = {
            "channels-first": p[2:] == y[1:],
            "channels-last": p[1:-1] == y[1:],
        }
        if layout is not None:
            if not fits[layout]:
                other = "channels-last" if layout == "channels-first" else "channels-first"
                hint = f" (it reads as {other})" if fits[other] else ""
                raise mismatch(f"not as {layout}{hint}")
            chosen = layout
        else:
            matching = [name for name, ok in fits.items() if ok]
            if not matching:
                raise mismatch("the spatial axes differ")
            c_first, c_last = p[1], p[-1]
            if len(matching) == 2 and not (c_first == 1 and c_last == 1):
                raise InputError(
                    f"{pn} has shape {shown(p)} against labels {shown(y)}: both channels-first "
                    f"({c_first} classes) and channels-last ({c_last} classes) fit",
                    fix=f"Pass {option('layout', 'channels-first')} (PyTorch's (N, C, H, W)) or "
                    f"{option('layout', 'channels-last')} (Keras's (N, H, W, C))",
                )
            chosen = matching[0]
        c = p[1] if chosen == "channels-first" else p[-1]
        return Reading("binary", None, 1) if c == 1 else Reading("indices", chosen, c)
    if len(y) == len(p) + 1 and (
        (y[1] == 1 and y[2:] == p[1:]) or (y[-1] == 1 and y[1:-1] == p[1:])
    ):
        return Reading("binary", None, 1)  # labels with a singleton class axis
    raise mismatch("labels are the predictions' shape, or that shape without its class axis")


# --- the two sides ----------------------------------------------------------------------


@dataclass
class MaskSide:
    """One side: an array of images along its first axis, or a folder of per-image files."""

    name: str
    format: str  # npy, npz, or "npy folder"
    array: np.ndarray | None = None
    folder: str | None = None
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files) if self.folder is not None else int(self.array.shape[0])  # type: ignore[union-attr]

    def image(self, i: int) -> np.ndarray:
        """Image `i` with a leading axis of 1 (a folder's file, memory-mapped)."""
        if self.folder is None:
            assert self.array is not None
            return self.array[i : i + 1]
        path = os.path.join(self.folder, self.files[i])
        return open_mask(Source(self.file_name(i), "npy", path=path))[None]

    def file_name(self, i: int) -> str:
        return os.path.join(self.name, self.files[i])


def is_mask_path(path: str | None, key: str | None = None) -> bool:
    """Whether `path` is a mask input: a folder holding ``.npy`` files, or an NPY/NPZ
    array of three or more dimensions (a 2-D array stays k columns, as it always was)."""
    if path is None or path == "-":
        return False
    if os.path.isdir(path):
        return any(f.endswith(".npy") for f in os.listdir(path))
    if not os.path.isfile(path):
        return False
    try:
        source = resolve(path)
    except InputError:
        return False
    if source.format not in ("npy", "npz"):
        return False
    shape = mask_shape(source, key)
    return shape is not None and len(shape) >= 3


def open_side(path: str, key: str | None) -> MaskSide:
    if os.path.isdir(path):
        files = sorted(f for f in os.listdir(path) if f.endswith(".npy"))
        if not files:
            raise InputError("the folder holds no .npy files", source=path)
        return MaskSide(path, "npy folder", folder=path, files=files)
    source = resolve(path)
    if source.format not in ("npy", "npz"):
        raise InputError(
            f"masks are NPY or NPZ arrays (or folders of .npy files), but this is {source.format}",
            source=source.name,
        )
    return MaskSide(source.name, source.format, array=open_mask(source, key))


def _pair_files(preds: MaskSide, labels: MaskSide) -> None:
    """Folders pair by file name: the first name without a partner is an error."""
    theirs, mine = set(labels.files), set(preds.files)
    for side, other, names in ((preds, labels, theirs), (labels, preds, mine)):
        for f in side.files:
            if f not in names:
                raise InputError(
                    f"{f} has no file of the same name in {other.name}",
                    fix="Name each label file as its prediction file",
                    source=side.name,
                )


# --- chunks -------------------------------------------------------------------------------


@dataclass
class MaskChunk:
    """Whole images as rows of pixels, ready for `losscli.api.evaluate_stream`."""

    preds: np.ndarray  # (m,) or (m, C)
    labels: np.ndarray  # (m,) or (m, C)
    row_offset: int  # pixels kept before this chunk
    first_image: int
    shapes: list[Shape]  # each image's spatial shape
    names: list[str]  # each image's name for messages (a file, or "preds.npy image 3")
    kept: NDArray[np.bool_] | None  # pixels kept (ignore_index), None for all
    ignored: NDArray[np.int64]  # pixels left out, per image
    extras: dict[str, tuple[np.ndarray, None]] = field(default_factory=dict)
    weights: None = None  # masks carry no sample weights

    def where(self, row: int) -> tuple[int, str, Shape]:
        """(image index, its name, pixel coordinates) of the chunk's 0-based kept row."""
        if self.kept is not None:
            row = int(np.flatnonzero(self.kept)[row])
        for j, shape in enumerate(self.shapes):
            n = int(np.prod(shape))
            if row < n:
                coords = tuple(int(c) for c in np.unravel_index(row, shape))
                return self.first_image + j, self.names[j], coords
            row -= n
        raise IndexError(row)

    def place(self, exc: InputError) -> InputError:
        """An engine error at a row of the pixel stream, as the image and pixel it is at."""
        from dataclasses import replace

        if exc.row is None or exc.source is not None:
            return exc
        local = exc.row - self.row_offset - 1
        if not 0 <= local < len(self.preds):
            return exc
        _, name, coords = self.where(local)
        problem = exc.problem
        if exc.col_index is not None and np.ndim(self.preds) == 2:
            problem += f" (class {exc.col_index})"
        side = self.label_name(name) if exc.role == "labels" else name
        return replace(
            exc, source=f"{side}, pixel {coords}", row=None, column=None,
            col_index=None, problem=problem,
        )  # fmt: skip

    def label_name(self, name: str) -> str:
        """The labels' name of an image named after the predictions."""
        return self.relabel(name) if self.relabel is not None else name

    relabel: Callable[[str], str] | None = None


@dataclass
class MaskPair:
    """PREDS and LABELS paired: how they read, and their images as chunks of pixels."""

    preds: MaskSide
    labels: MaskSide
    reading: Reading
    n_images: int
    spatial: Shape | None  # the spatial shape of every image (None: a folder's may differ)

    @property
    def folder(self) -> bool:
        return self.preds.folder is not None

    def image_name(self, i: int) -> str:
        """A folder's file name, or the image's index."""
        return self.preds.files[i] if self.folder else str(i)

    def describe(self) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for role, side in (("preds", self.preds), ("labels", self.labels)):
            entry: dict[str, object] = {"path": side.name, "format": side.format}
            if side.array is not None:
                entry["shape"] = list(side.array.shape)
            else:
                entry["files"] = len(side.files)
            out[role] = entry
        out["masks"] = {
            "images": self.n_images,
            "classes": self.reading.n_classes if self.reading.kind != "binary" else 2,
            "layout": self.reading.layout,
            "labels": {"binary": "binary", "indices": "class indices"}.get(
                self.reading.kind, "one-hot"
            ),
        }
        return out

    def chunks(
        self, pixels_per_chunk: int, ignore_index: float | None = None, by_image: bool = False
    ) -> Iterator[MaskChunk]:
        """Whole images, about `pixels_per_chunk` pixels at a time (at least one image)."""
        offset = 0
        i = 0
        while i < self.n_images:
            if self.folder:
                stop = i + 1
                p_img, y_img = self.preds.image(i), self.labels.image(i)
                reading = self._reading_of(i, p_img.shape, y_img.shape)
                p_parts, y_parts = [p_img], [y_img]
                pixels = _pixels(p_img.shape, reading)
                while stop < self.n_images and pixels < pixels_per_chunk:
                    p_next, y_next = self.preds.image(stop), self.labels.image(stop)
                    self._reading_of(stop, p_next.shape, y_next.shape)
                    p_parts.append(p_next)
                    y_parts.append(y_next)
                    pixels += _pixels(p_next.shape, reading)
                    stop += 1
            else:
                assert self.spatial is not None
                per_image = max(1, int(np.prod(self.spatial)))
                stop = min(self.n_images, i + max(1, pixels_per_chunk // per_image))
                assert self.preds.array is not None and self.labels.array is not None
                p_parts = [read_rows(self.preds.array, i, stop)]
                y_parts = [read_rows(self.labels.array, i, stop)]
            chunk = self._chunk(p_parts, y_parts, i, offset, ignore_index, by_image)
            offset += len(chunk.preds)
            i = stop
            yield chunk

    def _reading_of(self, i: int, p: Shape, y: Shape) -> Reading:
        names = (self.preds.file_name(i), self.labels.file_name(i))
        layout = self.reading.layout
        got = read_layout(p, y, layout, names, one=True)
        if got != self.reading:
            raise InputError(
                f"reads as {got.describe()}, but {self.preds.file_name(0)} as "
                f"{self.reading.describe()}",
                fix="Give every image the same classes and layout",
                source=names[0],
            )
        return got

    def _chunk(
        self,
        p_parts: list[np.ndarray],
        y_parts: list[np.ndarray],
        first: int,
        offset: int,
        ignore_index: float | None,
        by_image: bool,
    ) -> MaskChunk:
        r = self.reading
        shapes = [_spatial(p.shape[1:], r) for p in p_parts for _ in range(p.shape[0])]
        n_img = len(shapes)
        p_rows = np.concatenate([_rows(np.asarray(p), r) for p in p_parts])
        if r.kind == "onehot":
            y_rows = np.concatenate([_rows(np.asarray(y), r) for y in y_parts])
        else:
            y_rows = np.concatenate([np.asarray(y).reshape(-1) for y in y_parts])
        sizes = np.array([int(np.prod(s)) for s in shapes], dtype=np.int64)
        if self.folder:
            names = [self.preds.file_name(first + j) for j in range(n_img)]
        else:
            names = [f"{self.preds.name}, image {first + j}" for j in range(n_img)]
        kept = None
        ignored = np.zeros(n_img, dtype=np.int64)
        image = (
            np.repeat(np.arange(first, first + n_img, dtype=np.int64), sizes) if by_image else None
        )
        if ignore_index is not None:
            drop = y_rows == ignore_index
            if drop.any():
                kept = ~drop
                local = np.repeat(np.arange(n_img), sizes)
                ignored = np.bincount(local[drop], minlength=n_img).astype(np.int64)
                p_rows, y_rows = p_rows[kept], y_rows[kept]
                if image is not None:
                    image = image[kept]
        chunk = MaskChunk(p_rows, y_rows, offset, first, shapes, names, kept, ignored)
        chunk.relabel = self._label_name
        if image is not None:
            chunk.extras = {"image": (image, None)}
        if r.kind != "onehot":
            self._check_labels(chunk, ignore_index)
        return chunk

    def _label_name(self, name: str) -> str:
        if self.folder:
            return os.path.join(self.labels.name, os.path.basename(name))
        return self.labels.name + name[len(self.preds.name) :]

    def _check_labels(self, chunk: MaskChunk, ignore_index: float | None) -> None:
        """Class indices in 0..C−1 (binary: labels in [0, 1]), whatever is not ignored."""
        y = chunk.labels
        if y.dtype.kind == "b" or len(y) == 0:
            return
        c = self.reading.n_classes
        if self.reading.kind == "binary":
            bad = (y < 0) | (y > 1)
        else:
            bad = (y < 0) | (y >= c)
            if y.dtype.kind == "f":
                bad |= y != np.floor(y)
        bad |= np.isnan(y) if y.dtype.kind == "f" else False
        if not bad.any():
            return
        at = int(np.argmax(bad))
        value = y[at].item()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        _, name, coords = chunk.where(at)
        if self.reading.kind == "binary":
            what = f"label {value} is not in [0, 1] (a binary mask)"
        else:
            what = f"class index {value} is out of range for {c} classes (0 to {c - 1})"
        ignore = (
            f"; {option('ignore_index', ignore_index)} leaves out only {ignore_index:g}"
            if ignore_index is not None
            else ""
        )
        fix = (
            f"Pass {option('ignore_index', value)} if it marks pixels to leave out (void)"
            if isinstance(value, int)
            else "Labels are class indices"
        )
        raise InputError(what + ignore, fix=fix, source=f"{self._label_name(name)}, pixel {coords}")


def _spatial(shape: Shape, r: Reading) -> Shape:
    """The spatial shape of one image of predictions of this (per-image) shape."""
    if r.kind == "binary":
        return tuple(shape)
    return tuple(shape[1:]) if r.layout == "channels-first" else tuple(shape[:-1])


def _pixels(shape: Shape, r: Reading) -> int:
    return int(np.prod(shape[1:])) // (r.n_classes if r.kind != "binary" else 1)


def _rows(arr: np.ndarray, r: Reading) -> np.ndarray:
    """(n, ...) images as rows of pixels: (pixels,) for binary, (pixels, C) otherwise."""
    if r.kind == "binary":
        return arr.reshape(-1)
    if r.layout == "channels-first":
        return np.moveaxis(arr, 1, -1).reshape(-1, r.n_classes)
    return arr.reshape(-1, r.n_classes)


def open_masks(
    preds: str, labels: str, layout: str | None = None, key: str | None = None
) -> MaskPair:
    """PREDS and LABELS opened and paired (headers only; nothing is read yet)."""
    p, y = open_side(preds, key), open_side(labels, key)
    if (p.folder is None) != (y.folder is None):
        folder, array = (p, y) if p.folder is not None else (y, p)
        raise InputError(
            f"{folder.name} is a folder of .npy files but {array.name} is one array",
            fix="Give two folders of per-image files, or two arrays of images",
        )
    if p.folder is not None:
        _pair_files(p, y)
        first_p, first_y = p.image(0).shape, y.image(0).shape
        reading = read_layout(first_p, first_y, layout, (p.file_name(0), y.file_name(0)), one=True)
        return MaskPair(p, y, reading, len(p), None)
    assert p.array is not None and y.array is not None
    reading = read_layout(p.array.shape, y.array.shape, layout, (p.name, y.name))
    spatial = _spatial(p.array.shape[1:], reading)
    return MaskPair(p, y, reading, len(p), spatial)
