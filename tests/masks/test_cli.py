"""`losscli eval` on segmentation masks (SPEC §12) end to end: streaming by whole images,
folders, per-image values, the worst images, and one `error:` line for each bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from losscli.cli import options as cli_options
from tests.cli.conftest import invoke


@pytest.fixture
def rng():
    return np.random.default_rng(20261201)


@pytest.fixture(autouse=True)
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def masks(rng, n=5, h=6, w=7, c=3):
    P = rng.dirichlet(np.ones(c), size=(n, h, w))  # channels-last probabilities
    Y = rng.integers(0, c, (n, h, w))
    return P, Y


def run_json(*argv):
    r = invoke(["eval", *argv, "-f", "json"], expect=0)
    return json.loads(r.out)


def error(*argv):
    r = invoke(["eval", *argv])
    assert r.code == 2, (r.code, r.err)
    assert r.out == "" and "Traceback" not in r.err
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.err
    return lines[0]


def test_pixels_are_rows_and_chunks_hold_whole_images(rng, monkeypatch):
    P, Y = masks(rng)
    Y[1, 2, 3] = 255
    np.save("P.npy", np.moveaxis(P, -1, 1))  # PyTorch's (N, C, H, W)
    np.save("Y.npy", Y)
    keep = Y != 255
    expected = -np.mean(np.log(P[keep][np.arange(keep.sum()), Y[keep]]))
    whole = run_json("P.npy", "Y.npy", "-l", "ce,dice", "--ignore-index", "255")
    assert whole["losses"]["ce"] == pytest.approx(expected, rel=1e-12)
    assert whole["n_samples"] == Y.size - 1
    assert whole["inputs"]["masks"] == {
        "images": 5, "classes": 3, "layout": "channels-first", "labels": "class indices",
    }  # fmt: skip
    monkeypatch.setattr(cli_options, "STREAM_ROWS", 50)  # one image (42 pixels) a chunk
    streamed = run_json("P.npy", "Y.npy", "-l", "ce,dice", "--ignore-index", "255")
    for name in ("ce", "dice"):
        assert streamed["losses"][name] == pytest.approx(whole["losses"][name], rel=1e-12)


def test_per_image_and_the_worst_images(rng):
    P, Y = masks(rng)
    Y[0, :3] = 255  # half of image 0 is void
    np.save("P.npy", P)
    np.save("Y.npy", Y)
    per = []
    for i in range(5):
        keep = Y[i] != 255
        per.append(-np.mean(np.log(P[i][keep][np.arange(keep.sum()), Y[i][keep]])))
    out = run_json(
        "P.npy", "Y.npy", "-l", "ce", "--ignore-index", "255", "--reduction", "per-image",
        "--worst", "2",
    )  # fmt: skip
    assert out["options"]["reduction"] == "per-image"
    assert out["losses"]["ce"] == pytest.approx(np.mean(per), rel=1e-12)
    order = np.argsort(per)[::-1][:2]
    assert [e["image"] for e in out["worst"]] == order.tolist()
    for entry in out["worst"]:
        i = entry["image"]
        assert entry["loss"] == pytest.approx(per[i], rel=1e-12)
        assert entry["ignored"] == pytest.approx(0.5 if i == 0 else 0.0)
        assert entry["pixels"] == int((Y[i] != 255).sum())
    table = invoke(["eval", "P.npy", "Y.npy", "-l", "ce", "--ignore-index", "255", "--worst", "5"],
                   expect=0).out  # fmt: skip
    assert "worst 5 images by ce" in table and "5 images · 189 pixels" in table


def test_folder_pairs_by_name_and_names_the_worst_file(rng):
    P, Y = masks(rng, n=3)
    os.mkdir("preds")
    os.mkdir("labels")
    for i, name in enumerate(["b.npy", "a.npy", "c.npy"]):
        np.save(f"preds/{name}", np.moveaxis(P[i], -1, 0))
        np.save(f"labels/{name}", Y[i])
    out = run_json("preds", "labels", "-l", "ce", "--worst", "1", "--reduction", "per-image")
    per = {n: -np.mean(np.log(np.take_along_axis(P[i], Y[i][..., None], -1)))
           for i, n in enumerate(["b.npy", "a.npy", "c.npy"])}  # fmt: skip
    assert out["losses"]["ce"] == pytest.approx(np.mean(list(per.values())), rel=1e-12)
    worst = max(per, key=per.get)
    assert out["worst"][0]["file"] == worst
    assert out["worst"][0]["loss"] == pytest.approx(per[worst], rel=1e-12)
    os.remove("labels/c.npy")
    np.save("labels/d.npy", Y[2])
    line = error("preds", "labels")
    assert "c.npy has no file of the same name in labels" in line


def test_binary_masks_with_a_channel_axis(rng):
    p = rng.uniform(0.05, 0.95, (4, 1, 5, 5))
    y = (rng.uniform(size=(4, 5, 5)) < 0.3).astype(np.uint8)
    np.save("p.npy", p)
    np.save("y.npy", y)
    out = run_json("p.npy", "y.npy", "-l", "bce,dice")
    q = p[:, 0]
    assert out["task"] == "binary"
    assert out["losses"]["bce"] == pytest.approx(
        -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)), rel=1e-12
    )
    assert out["losses"]["dice"] == pytest.approx(
        1 - (2 * (q * y).sum() + 1) / (q.sum() + y.sum() + 1), rel=1e-12
    )


# --- one error line each ---------------------------------------------------------------------


def test_shapes_that_do_not_match_name_both(rng):
    np.save("p.npy", rng.uniform(size=(2, 3, 4, 5)))
    np.save("y.npy", np.zeros((2, 4, 6), dtype=np.int64))
    line = error("p.npy", "y.npy")
    assert "(2, 3, 4, 5)" in line and "(2, 4, 6)" in line and "do not pair up" in line


def test_ambiguous_layout_asks_for_layout(rng):
    np.save("p.npy", rng.dirichlet(np.ones(4), size=(2, 4, 4)))  # (2, 4, 4, 4)
    np.save("y.npy", np.zeros((2, 4, 4), dtype=np.int64))
    line = error("p.npy", "y.npy")
    assert "both channels-first" in line and "--layout" in line
    invoke(["eval", "p.npy", "y.npy", "--layout", "channels-last", "-l", "ce"], expect=0)


def test_class_index_out_of_range_names_image_and_pixel(rng):
    P, Y = masks(rng, n=2)
    Y[1, 4, 2] = 7
    np.save("P.npy", P)
    np.save("Y.npy", Y)
    line = error("P.npy", "Y.npy", "--ignore-index", "255")
    assert "Y.npy, image 1, pixel (4, 2)" in line and "class index 7 is out of range" in line
    assert "--ignore-index 7" in line


def test_probabilities_outside_0_1_without_logits(rng):
    z = rng.normal(size=(3, 4, 4))
    z[2, 1, 3] = 3.5
    np.save("z.npy", z)
    np.save("y.npy", np.zeros((3, 4, 4), dtype=np.uint8))
    line = error("z.npy", "y.npy", "-l", "bce")
    assert "z.npy, image" in line and "pixel" in line and "--from-logits" in line


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--reduction", "per-image"], "applies to segmentation masks"),
        (["--layout", "channels-first"], "--layout applies to segmentation masks"),
    ],
)
def test_mask_options_on_columns(argv, fragment):
    np.save("p.npy", np.array([0.2, 0.7]))
    np.save("y.npy", np.array([0.0, 1.0]))
    assert fragment in error("p.npy", "y.npy", *argv)


def test_no_background_on_binary_is_an_error(rng):
    np.save("p.npy", rng.uniform(size=(2, 3, 3)))
    np.save("y.npy", np.zeros((2, 3, 3)))
    assert "--no-background applies to multiclass" in error("p.npy", "y.npy", "-l", "dice",
                                                            "--no-background")  # fmt: skip


def test_check_gates_masks(rng):
    P, Y = masks(rng)
    Y[0, 0] = 255
    np.save("P.npy", P)
    np.save("Y.npy", Y)
    value = run_json("P.npy", "Y.npy", "-l", "ce", "--ignore-index", "255")["losses"]["ce"]
    ok = invoke(["check", "P.npy", "Y.npy", "-l", "ce", "--ignore-index", "255",
                 "--max", f"ce={value * 1.01}"], expect=0)  # fmt: skip
    assert "PASSED" in ok.out
    invoke(["check", "P.npy", "Y.npy", "-l", "ce", "--ignore-index", "255",
            "--max", f"ce={value * 0.99}"], expect=1)  # fmt: skip


def test_settings_file_takes_layout_and_ignore_index(rng):
    """losscli.toml (in the folder it runs from) sets the mask options as the flags do."""
    P, Y = masks(rng, n=2)
    Y[0, 0, 0] = 255
    np.save("P.npy", np.moveaxis(P, -1, 1))  # channels-first
    np.save("Y.npy", Y)
    with open("losscli.toml", "w") as fh:
        fh.write('ignore-index = 255\nlayout = "channels-first"\n')
    from_file = run_json("P.npy", "Y.npy", "-l", "ce", "-q")
    os.remove("losscli.toml")
    flags = run_json("P.npy", "Y.npy", "-l", "ce", "--ignore-index", "255",
                     "--layout", "channels-first")  # fmt: skip
    assert from_file["losses"] == flags["losses"] and from_file["n_samples"] == 2 * 6 * 7 - 1
    with open("losscli.toml", "w") as fh:
        fh.write('ignore-index = "void"\n')
    assert "key 'ignore-index' must be" in error("P.npy", "Y.npy", "-l", "ce")
