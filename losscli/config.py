"""Gates and default options from a file, so CI needs no long command.

Looked up in the working directory: ``losscli.toml`` (top-level keys), else the
``[tool.losscli]`` table of ``pyproject.toml`` (as coverage's ``fail_under`` or pytest's
options live there); ``--config FILE`` names one explicitly. Flags on the command line win:
an option given there replaces the file's, and a gate given there replaces the file's gate
on the same loss.

    [tool.losscli]
    max = { bce = 0.35, mse = 0.12 }
    min = {}
    baseline = "reports/baseline.json"
    tolerance = "2%"                  # or { default = "2%", bce = "1%" }
    task = "binary"
    loss = ["bce", "mse", "hinge"]
    from-logits = false
    pred-col = ["logit"]
"""

from __future__ import annotations

import os
import tomllib
from typing import Any

from losscli.errors import InputError

GATE_KEYS = ("max", "min", "baseline", "tolerance")
# option keys (as on the command line, without --) → Click parameter names
OPTION_KEYS = {
    "loss": "losses",
    "task": "task",
    "from-logits": "from_logits",
    "eps": "eps",
    "huber-delta": "huber_delta",
    "label-smoothing": "label_smoothing",
    "class-weight": "class_weight",
    "classes": "classes",
    "hinge-mode": "hinge_mode",
    "focal-gamma": "focal_gamma",
    "focal-alpha": "focal_alpha",
    "dice-smooth": "dice_smooth",
    "reduction": "reduction",
    "renormalize": "renormalize",
    "nan-policy": "nan_policy",
    "pred-col": "pred_cols",
    "label-col": "label_cols",
    "weight-col": "weight_col",
    "id-col": "id_col",
    "input-format": "input_format",
    "key": "key",
    "delimiter": "delimiter",
    "format": "fmt",
    "precision": "precision",
}
MULTIPLE = {"losses", "pred_cols", "label_cols"}


def find_config(explicit: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(path, table) of the config in force, or None."""
    if explicit:
        table = _load(explicit)
        if os.path.basename(explicit) == "pyproject.toml":
            table = table.get("tool", {}).get("losscli", {})
        return explicit, table
    if os.path.isfile("losscli.toml"):
        return "losscli.toml", _load("losscli.toml")
    if os.path.isfile("pyproject.toml"):
        table = _load("pyproject.toml").get("tool", {}).get("losscli")
        if table is not None:
            return "pyproject.toml", table
    return None


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError("config file does not exist", source=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the config file ({exc.strerror})", source=path) from None


def split_config(path: str, table: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Click defaults for options, gate settings) from a config table; unknown keys are errors."""
    defaults: dict[str, Any] = {}
    gates: dict[str, Any] = {}
    for key, value in table.items():
        if key in GATE_KEYS:
            gates[key] = value
        elif key in OPTION_KEYS:
            name = OPTION_KEYS[key]
            if name in MULTIPLE and isinstance(value, str):
                value = [value]
            defaults[name] = value
        else:
            known = ", ".join([*GATE_KEYS, *OPTION_KEYS])
            raise InputError(
                f"unknown key '{key}' in the losscli settings",
                source=path,
                fix=f"Known keys: {known}",
            )
    for kind in ("max", "min"):
        if kind in gates and not isinstance(gates[kind], dict):
            raise InputError(f"'{kind}' must be a table such as {{ bce = 0.3 }}", source=path)
    return defaults, gates


def gate_items(settings: dict[str, Any], kind: str) -> list[str]:
    """A config's gates of one kind as command-line items (``bce=0.3``)."""
    return [f"{name}={value}" for name, value in settings.get(kind, {}).items()]


def tolerance_items(settings: dict[str, Any]) -> list[str]:
    tol = settings.get("tolerance")
    if tol is None:
        return []
    if isinstance(tol, dict):
        return [str(v) if k == "default" else f"{k}={v}" for k, v in tol.items()]
    return [str(tol)]
