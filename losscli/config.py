"""Gates and default options from a file, so CI needs no long command.

Looked up in the working directory: ``losscli.toml`` (top-level keys, or the same keys
under ``[tool.losscli]``), else the ``[tool.losscli]`` table of ``pyproject.toml`` (as
coverage's ``fail_under`` or pytest's options live there); ``--config FILE`` names one
explicitly. Flags on the command line win: an option given there replaces the file's, and
a gate given there replaces the file's gate on the same loss.

Every value is checked against the type and range of its flag (the Click parameter's own
type), so a quoted ``"false"`` is an error rather than a truthy string, and ``true`` is not
the number 1. The file must be UTF-8 (a UTF-8 byte-order mark is allowed).

    [tool.losscli]
    max = { bce = 0.35, mse = 0.12 }
    min = {}
    max-gap = { bce = 0.1 }           # with by = ["region"]: spread across the slices
    baseline = "reports/baseline.json"
    tolerance = "2%"                  # or { default = "2%", bce = "1%" }
    task = "binary"
    loss = ["bce", "mse", "hinge"]
    from-logits = false
    pred-col = ["logit"]
    class-weight = { 0 = 1, 1 = 3 }   # or "0=1,1=3", or "balanced"
"""

from __future__ import annotations

import codecs
import json
import math
import os
import tomllib
from collections.abc import Mapping
from typing import Any

from losscli.errors import InputError

GATE_KEYS = ("max", "min", "max-gap", "baseline", "tolerance")
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
    "tversky-alpha": "tversky_alpha",
    "tversky-beta": "tversky_beta",
    "no-background": "no_background",
    "layout": "layout",
    "ignore-index": "ignore_index",
    "calibration-bins": "calibration_bins",
    "reduction": "reduction",
    "renormalize": "renormalize",
    "nan-policy": "nan_policy",
    "convention": "convention",
    "pred-col": "pred_cols",
    "label-col": "label_cols",
    "weight-col": "weight_col",
    "id-col": "id_col",
    "input-format": "input_format",
    "key": "key",
    "delimiter": "delimiter",
    "storage-option": "storage_options",
    "format": "fmt",
    "precision": "precision",
    "by": "by",
    "per-class": "per_class",
    "bins": "bins",
    "min-slice-rows": "min_slice_rows",
    "max-slices": "max_slices",
    "sort-slices": "sort_slices",
    "top-slices": "top_slices",
    "worst": "worst",
    "worst-by": "worst_by",
    "show-col": "show_cols",
}


def find_config(explicit: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(path, table) of the config in force, or None."""
    if explicit:
        table = _load(explicit)
        if os.path.basename(explicit) == "pyproject.toml":
            return explicit, _tool_table(explicit, table) or {}
        return explicit, _settings_table(explicit, table)
    if os.path.isfile("losscli.toml"):
        return "losscli.toml", _settings_table("losscli.toml", _load("losscli.toml"))
    if os.path.isfile("pyproject.toml"):
        table = _tool_table("pyproject.toml", _load("pyproject.toml"))
        if table is not None:
            return "pyproject.toml", table
    return None


def _tool_table(path: str, table: dict[str, Any]) -> dict[str, Any] | None:
    """The ``[tool.losscli]`` table, None when there is none."""
    tool = table.get("tool")
    if not isinstance(tool, dict) or "losscli" not in tool:
        return None
    found = tool["losscli"]
    if not isinstance(found, dict):
        raise InputError(
            f"'tool.losscli' must be a table (got {shown(found)})",
            source=path,
            fix="Write the settings under a [tool.losscli] header",
        )
    return found


def _settings_table(path: str, table: dict[str, Any]) -> dict[str, Any]:
    """A losscli settings file: its top-level keys, or its ``[tool.losscli]`` table (the
    README's pyproject snippet pasted as it is), never both."""
    found = _tool_table(path, table)
    if found is None:
        return table
    others = [key for key in table if key != "tool"]
    if others:
        raise InputError(
            f"settings both at the top level ({', '.join(others)}) and in [tool.losscli]",
            source=path,
            fix="Keep them in one place",
        )
    return found


def _load(path: str) -> dict[str, Any]:
    """The TOML document at `path`; a file that is not UTF-8 is an error, not a crash."""
    from losscli.readers.remote import is_url, read_bytes

    try:
        if is_url(path):
            data = read_bytes(path)
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except FileNotFoundError:
        raise InputError("config file does not exist", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the config file ({exc.strerror})", source=path) from None
    data = data.removeprefix(codecs.BOM_UTF8)  # Windows editors add one; TOML is UTF-8
    try:
        text = data.decode("utf-8")
        if "\x00" in text:  # UTF-16 without a byte-order mark decodes, NULs and all
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
    except UnicodeDecodeError:
        wide = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data
        raise InputError(
            "the settings file is not UTF-8 text" + (" (it looks like UTF-16)" if wide else ""),
            source=path,
            fix="Save it as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", source=path) from None


def split_config(
    path: str, table: dict[str, Any], params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Click defaults for options, gate settings) from a config table.

    `params` maps Click parameter names to the command's parameters: each option value is
    checked and converted with its flag's own type. Unknown keys and wrong types are errors.
    """
    defaults: dict[str, Any] = {}
    gates: dict[str, Any] = {}
    for key, value in table.items():
        if key in GATE_KEYS:
            gates[key] = _gate_value(path, key, value)
        elif key in OPTION_KEYS:
            param = params.get(OPTION_KEYS[key])
            if param is not None:
                defaults[OPTION_KEYS[key]] = option_value(path, key, value, param)
        else:
            known = ", ".join([*GATE_KEYS, *OPTION_KEYS])
            where = " (at the top level or under [tool.losscli])" if key == "tool" else ""
            raise InputError(
                f"unknown key '{key}' in the losscli settings",
                source=path,
                fix=f"Known keys{where}: {known}",
            )
    return defaults, gates


def shown(value: Any) -> str:
    """A value as TOML writes it: "text" quoted, true/false, numbers, [lists], {tables}."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def type_error(path: str, key: str, expected: str, value: Any) -> InputError:
    """``<file>: key '<key>' must be <type> (got <value>)``, with the unquoted spelling when
    a quoted value would have been right."""
    fix = None
    if isinstance(value, str):
        bare = value.strip().lower()
        if expected == "true or false" and bare in ("true", "false"):
            fix = f"Write it without quotes: {key} = {bare}"
        elif expected.startswith(("a number", "an integer")) and _is_number(value):
            fix = f"Write it without quotes: {key.rpartition('.')[2]} = {value.strip()}"
    return InputError(f"key '{key}' must be {expected} (got {shown(value)})", source=path, fix=fix)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(value: Any) -> bool:
    # bool is an int subclass in Python: `true` must not be read as 1
    return isinstance(value, int | float) and not isinstance(value, bool)


def option_value(path: str, key: str, value: Any, param: Any) -> Any:
    """`value` checked and converted as the flag `param` would convert its text."""
    if key == "class-weight" and isinstance(value, dict):
        value = _class_weight_text(path, value)
    elif key == "classes" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if param.multiple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise type_error(path, key, "a string or a list of strings", value)
        return tuple(items)
    expected, fits = _expected(param)
    if not fits(value):
        raise type_error(path, key, expected, value)
    from click import BadParameter

    try:
        return param.type.convert(value, param, None)
    except BadParameter:
        raise type_error(path, key, expected, value) from None


def _expected(param: Any) -> tuple[str, Any]:
    """What a flag's Click type takes, in words, and a test of a TOML value's Python type."""
    kind = param.type
    name = getattr(kind, "name", "")
    if name == "boolean":
        return "true or false", lambda v: isinstance(v, bool)
    if name in ("float", "float range", "integer", "integer range"):
        integer = name.startswith("integer")
        words = "an integer" if integer else "a number"
        low, high = getattr(kind, "min", None), getattr(kind, "max", None)
        if low is not None and high is not None:
            words += f" from {low} to {high}"
        elif low is not None:
            words += f" ≥ {low}"
        elif high is not None:
            words += f" ≤ {high}"
        if integer:
            return words, lambda v: _number(v) and isinstance(v, int)
        return words, _number
    if name == "choice":
        return "one of " + ", ".join(map(str, kind.choices)), lambda v: isinstance(v, str)
    return "a string", lambda v: isinstance(v, str)


def _class_weight_text(path: str, table: dict[str, Any]) -> str:
    """``{ 0 = 1, 1 = 3 }`` → ``0=1,1=3``, the text --class-weight takes."""
    parts = []
    for name, weight in table.items():
        if not _number(weight):
            raise type_error(path, f"class-weight.{name}", "a number", weight)
        if not name.strip() or any(c in name for c in ",="):
            raise InputError(
                f"class-weight names a class '{name}' that --class-weight cannot spell",
                source=path,
                fix="Name classes without ',' or '='",
            )
        parts.append(f"{name}={weight!r}")
    return ",".join(parts)


def _gate_value(path: str, key: str, value: Any) -> Any:
    """A gate setting checked for type: max/min/max-gap tables of numbers, a baseline path,
    a tolerance text or table of texts."""
    if key in ("max", "min", "max-gap"):
        if not isinstance(value, dict):
            raise InputError(f"'{key}' must be a table such as {{ bce = 0.3 }}", source=path)
        for name, bound in value.items():
            if not _number(bound):
                raise type_error(path, f"{key}.{name}", "a number", bound)
    elif key == "baseline":
        if not isinstance(value, str):
            raise type_error(path, key, "a string (a report's path)", value)
    else:
        units = 'a string with a unit, such as "2%" or "abs:0.01"'
        for name, tol in value.items() if isinstance(value, dict) else [(None, value)]:
            if not isinstance(tol, str):
                raise type_error(path, key if name is None else f"{key}.{name}", units, tol)
    return value


def gate_items(settings: dict[str, Any], kind: str) -> list[str]:
    """A config's gates of one kind as command-line items (``bce=0.3``)."""
    return [f"{name}={value!r}" for name, value in settings.get(kind, {}).items()]


def tolerance_items(settings: dict[str, Any]) -> list[str]:
    tol = settings.get("tolerance")
    if tol is None:
        return []
    if isinstance(tol, dict):
        return [str(v) if k == "default" else f"{k}={v}" for k, v in tol.items()]
    return [str(tol)]
