"""Mask losses equal PyTorch's and MONAI's in float64 to a relative 1e-12 (SPEC §12).

The values were computed by `tools/mask_values.py` in a venv of its own with the versions
stored in tests/data/mask_values.json; the suite reads them and never installs a framework.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from losscli.masks import evaluate_masks

DATA = json.loads((Path(__file__).parent.parent / "data" / "mask_values.json").read_text())
CASES = DATA["cases"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mask_values")
    out = {}
    for name, values in DATA["arrays"].items():
        arr = np.asarray(values)
        if name.startswith("Y") and "onehot" not in name:
            arr = arr.astype(np.int64)
        out[name] = str(folder / f"{name}.npy")
        np.save(out[name], arr)
    return out


def test_versions_recorded():
    assert {"torch", "monai"} <= set(DATA["versions"])
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_framework_value(case, files):
    preds, labels = (files[name] for name in case["inputs"])
    result, _ = evaluate_masks(preds, labels, case["losses"], **case["options"])
    got = result.losses[case["losses"][0]]
    assert got == pytest.approx(case["value"], rel=1e-12, abs=0), case["call"]
