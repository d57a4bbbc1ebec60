"""Report files: written whole or not at all, read back as baselines (SPEC §5, §6).

Where an output goes (D1–D4 of issue 9): `-` is standard output; /dev/stdout, /dev/stderr
and /dev/fd/N are those open streams; character devices and FIFOs are written straight
into (never replaced); a symlink is followed and its target replaced, the link kept; a
regular file or a new path is written atomically (a temporary file in the target's folder,
then os.replace) with the mode of the file it replaces, or the umask's mode when new.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Mapping
from typing import IO, Any

from losscli.errors import InputError

STDIO = "-"
# writes to a stream go in pieces: one huge write() to a pipe closed midway loses its
# EPIPE in CPython's buffered writer (exit 0 on a truncated output instead of 141)
CHUNK_CHARS = 1 << 16
_FD_PATH = re.compile(r"/(?:dev|proc/self)/fd/(\d+)")
_STD_PATHS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


class WriteError(InputError):
    """An output stream could not be written (disk full, a broken device): the
    environment's problem, exit 2 with what failed, never "a bug" (C5)."""


def write_stream(stream: IO[str], text: str) -> None:
    """Write `text` to an open text stream in pieces, so a closed pipe raises
    BrokenPipeError (exit 141) however long the text is; any other failure is a
    WriteError that names the stream."""
    try:
        for start in range(0, len(text), CHUNK_CHARS):
            stream.write(text[start : start + CHUNK_CHARS])
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(
            f"cannot write to {stream_name(stream)}: {exc.strerror or exc}",
            fix="Free space, or write to another file or device",
        ) from None


def stream_name(stream: IO[str]) -> str:
    """'standard output', 'standard error' or the stream's file name, for messages."""
    if stream is sys.__stdout__ or stream is sys.stdout:
        return "standard output"
    if stream is sys.__stderr__ or stream is sys.stderr:
        return "standard error"
    return str(getattr(stream, "name", "the output"))


def stream_fd(path: str) -> int | None:
    """The file descriptor that `path` names (/dev/stdout, /dev/fd/3, /proc/self/fd/1, or
    a symlink to one of them), else None. Such a path is the open stream itself: replacing
    it would replace /dev/stdout (as root) or the file the shell redirected to."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's symlink limit
        if current in _STD_PATHS:
            return _STD_PATHS[current]
        match = _FD_PATH.fullmatch(current)
        if match:
            return int(match.group(1))
        if not os.path.islink(current):
            return None
        link = os.readlink(current)
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


def output_kind(path: str) -> str:
    """'stdout', 'fd', 'stream' (a device or FIFO, written straight), 'file' (a regular
    file, replaced atomically), 'new' (no such file yet; symlinks followed), 'dir' or 'url' (an
    object in a store, put whole: `losscli.readers.remote`)."""
    if path == STDIO:
        return "stdout"
    if _is_url(path):
        return "url"
    if stream_fd(path) is not None:
        return "fd"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "new"
    except OSError:
        return "file"  # let the write report it
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "stream"


def _is_url(path: str) -> bool:
    from losscli.readers.remote import is_url

    return is_url(path)


def check_writable(path: str, flag: str) -> None:
    """Fail before any work when `path` cannot be written (BAD_INPUTS 62)."""
    kind = output_kind(path)
    if kind == "dir":
        raise InputError(f"{flag} {path} is a directory", fix="Give a file path")
    if kind == "stdout":
        return
    if kind == "url":
        from losscli.readers.remote import check_writable as check_url

        check_url(path, flag)
        return
    if kind == "fd":
        fd = stream_fd(path)
        try:
            os.fstat(fd)  # type: ignore[arg-type]
        except OSError:
            raise InputError(
                f"{flag} {path}: file descriptor {fd} is not open", fix="Choose another path"
            ) from None
        return
    target = os.path.realpath(path)  # a symlink's target is what gets written
    if kind == "stream":
        if not os.access(target, os.W_OK):
            raise InputError(f"{flag} {path} is not writable", fix="Choose a path you can write")
        return
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InputError(f"{flag} {path}: folder {folder} does not exist", fix="Create it first")
    if not os.access(folder, os.W_OK) or (kind == "file" and not os.access(target, os.W_OK)):
        raise InputError(f"{flag} {path} is not writable", fix="Choose a path you can write")


def _file_id(path: str) -> tuple[str, tuple[int, int] | None] | None:
    """(real path, (device, inode)) of a file that would be written or read, or None for
    standard streams, devices and FIFOs (writing one never destroys another file)."""
    if path != STDIO and _is_url(path):
        from losscli.readers.remote import object_id

        return object_id(path), None  # s3a://b//k/ and s3://b/k are one object
    if path == STDIO or output_kind(path) not in ("file", "new"):
        return None
    try:
        st = os.stat(path)
        inode = (st.st_dev, st.st_ino)
    except OSError:
        inode = None
    return os.path.realpath(path), inode


def _folder_id(path: str) -> str | None:
    """The prefix of what lies inside an input folder (a dataset): its real path and a
    separator, or a URL's object name and `/` (an object's name is no folder's prefix
    unless it is one); None for anything else."""
    if path == STDIO:
        return None
    if _is_url(path):
        from losscli.readers.remote import object_id

        return object_id(path) + "/"
    return os.path.join(os.path.realpath(path), "") if os.path.isdir(path) else None


def _input_id(path: str) -> tuple[str, tuple[int, int] | None] | None:
    """Like `_file_id` for an input; `file.npz:key` names the file `file.npz`."""
    if _is_url(path):
        return _file_id(path)
    if path != STDIO and not os.path.lexists(path) and ":" in path:
        head = path.rsplit(":", 1)[0]
        if os.path.lexists(head):
            path = head
    return _file_id(path) if os.path.lexists(path) else None


def _same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def check_outputs(outputs: Mapping[str, str | None], inputs: Mapping[str, str | None]) -> None:
    """Fail before any work when an output would destroy an input or another output.

    `outputs` maps a flag to its path (`{"--report": "r.json", "--junit": "j.xml"}`),
    `inputs` a label to its path (`{"PREDS": ..., "LABELS": ..., "--baseline": ...}`);
    None values are skipped. Each output must be writable (`check_writable`), must not be
    an input (same real path after symlinks, or the same inode: a hard link), and must not
    be another output. Standard streams, devices and FIFOs are never "the same file": two
    writes to /dev/null or to stdout destroy nothing.
    """
    seen: list[tuple[str, str, tuple[str, Any]]] = []
    known_inputs = [(label, path, _input_id(path)) for label, path in inputs.items() if path]
    folders = [(label, path, _folder_id(path)) for label, path in inputs.items() if path]
    for flag, path in outputs.items():
        if not path:
            continue
        check_writable(path, flag)
        ident = _file_id(path)
        if ident is None:
            continue
        for label, in_path, in_ident in known_inputs:
            if in_ident is not None and _same(ident, in_ident):
                what = in_path if label == in_path else f"{label} {in_path}"
                raise InputError(
                    f"{flag} {path} is the input {what}; writing it would destroy the input",
                    fix=f"Choose another path for {flag}",
                )
        for label, in_path, folder in folders:
            if folder is not None and ident[0].startswith(folder):
                what = in_path if label == in_path else f"{label} {in_path}"
                raise InputError(
                    f"{flag} {path} is inside the input folder {what}; the next read of the "
                    "folder would take it for one of its files",
                    fix=f"Choose a path outside the folder for {flag}",
                )
        for other_flag, other_path, other in seen:
            if _same(ident, other):
                raise InputError(
                    f"{flag} {path} and {other_flag} {other_path} are the same file; "
                    "one would overwrite the other",
                    fix="Give each output its own path",
                )
        seen.append((flag, path, ident))


def write_text_atomic(path: str, text: str) -> None:
    """Write `text` to the output `path` (see the module docstring for where it goes).

    A regular file is replaced whole: a reader sees the old file or the new one, never
    half of one. A failed write (disk full, a broken device) is an `error:` (exit 2) that
    says what failed, never an internal error.
    """
    _write_output(path, text)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write `data` (an image) to the output `path` as `write_text_atomic` writes text."""
    _write_output(path, data)


def _write_output(path: str, data: str | bytes) -> None:
    kind = output_kind(path)
    binary = isinstance(data, bytes)
    try:
        if kind == "stdout" and binary:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)  # type: ignore[arg-type]
            sys.stdout.buffer.flush()
        elif kind == "stdout":
            write_stream(sys.stdout, data)  # type: ignore[arg-type]
        elif kind == "fd":
            _write_fd(stream_fd(path), data)  # type: ignore[arg-type]
        elif kind == "stream":
            mode = "wb" if binary else "w"
            with open(os.path.realpath(path), mode, encoding=None if binary else "utf-8") as fh:
                fh.write(data)
        elif kind == "url":
            from losscli.readers.remote import write_bytes

            # one PUT: the object is replaced whole
            write_bytes(path, data if binary else data.encode("utf-8"))  # type: ignore[union-attr, arg-type]
        else:
            _write_replace(os.path.realpath(path), data)
    except BrokenPipeError:
        raise
    except OSError as exc:
        left = "; it was left as it was" if kind in ("file", "new") else ""
        raise InputError(
            f"cannot write to {path}: {exc.strerror or exc}{left}",
            fix="Free space or choose another path",
        ) from None


def _write_fd(fd: int, data: str | bytes) -> None:
    """Write to an open descriptor; text to 1 and 2 through sys.stdout and sys.stderr, so
    the output keeps its order with what they print."""
    if isinstance(data, str):
        if fd in (1, 2):
            write_stream(sys.stdout if fd == 1 else sys.stderr, data)
            return
        data = data.encode("utf-8")
    elif fd in (1, 2):
        (sys.stdout if fd == 1 else sys.stderr).flush()
    while data:
        data = data[os.write(fd, data) :]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_replace(target: str, text: str | bytes) -> None:
    """A temporary file beside `target`, renamed over it. The new file gets the old one's
    mode (and owner, when running as root), or 0666 less the umask when there was none:
    mkstemp's 0600 would hide a CI report from a runner that runs as another user."""
    try:
        old: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        old = None
    mode = stat.S_IMODE(old.st_mode) if old else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=".losscli-", suffix=".tmp", dir=os.path.dirname(target))
    try:
        binary = isinstance(text, bytes)
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if old is not None and os.geteuid() == 0:
                os.fchown(fh.fileno(), old.st_uid, old.st_gid)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
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
        if _is_url(path):
            from losscli.readers.remote import read_bytes

            data = json.loads(read_bytes(path).decode("utf-8"))
        else:
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
