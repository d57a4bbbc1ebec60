"""Report files: written whole or not at all, read back as baselines (SPEC §5, §6)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from losscli.errors import InputError


def check_writable(path: str, flag: str) -> None:
    """Fail before any work when `path` cannot be written (BAD_INPUTS 62)."""
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise InputError(f"{flag} {path} is a directory", fix="Give a file path")
    if not os.path.isdir(folder):
        raise InputError(f"{flag} {path}: folder {folder} does not exist", fix="Create it first")
    if not os.access(folder, os.W_OK) or (
        os.path.exists(target) and not os.access(target, os.W_OK)
    ):
        raise InputError(f"{flag} {path} is not writable", fix="Choose a path you can write")


def write_text_atomic(path: str, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`: a reader sees
    the old file or the new one, never half of one."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        _write(path, folder, text)
    except OSError as exc:
        raise InputError(
            f"cannot write the file ({exc.strerror or exc}); it was left as it was",
            source=path,
            fix="Free space or choose another path",
        ) from None


def _write(path: str, folder: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".losscli-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(path: str, report: dict[str, Any]) -> None:
    from losscli.render.json import dumps

    write_text_atomic(path, dumps(report))


def read_report(path: str) -> dict[str, Any]:
    """A report written by `eval --save` or `check --report`, checked for the keys gates need."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise InputError(
            "baseline file does not exist",
            source=path,
            fix="Write one with `losscli eval ... --save FILE`",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the baseline ({exc.__class__.__name__})", source=path
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not a JSON report (line {exc.lineno}: {exc.msg})",
            source=path,
            fix="Write one with `losscli eval ... --save FILE`",
        ) from None
    if (
        not isinstance(data, dict)
        or "losscli" not in data
        or not isinstance(data.get("losses"), dict)
    ):
        raise InputError(
            "not a losscli report (no 'losscli' and 'losses' keys)",
            source=path,
            fix="Write one with `losscli eval ... --save FILE`",
        )
    return data
