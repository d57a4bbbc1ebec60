"""Helpers for the reader tests: files are written on tmp_path, errors read back as text."""

from __future__ import annotations

import io
import os
import sys

import pytest

from losscli.errors import InputError


@pytest.fixture
def chdir_tmp(tmp_path, monkeypatch):
    """Run in tmp_path so that sources print as the short names the user typed."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_of(fn, *args, **kwargs) -> str:
    """The message of the InputError that fn raises (fails the test if none)."""
    with pytest.raises(InputError) as info:
        result = fn(*args, **kwargs)
        # Streaming functions raise while iterating.
        if isinstance(result, tuple) and len(result) == 2 and hasattr(result[1], "__next__"):
            for _ in result[1]:
                pass
    return str(info.value)


class FakeStdin:
    def __init__(self, data: bytes, tty: bool = False) -> None:
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def stdin(monkeypatch):
    def feed(data: bytes, tty: bool = False) -> None:
        monkeypatch.setattr(sys, "stdin", FakeStdin(data, tty))

    return feed


def write(path, data: bytes | str) -> str:
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode, newline="" if mode == "w" else None) as fh:
        fh.write(data)
    return os.path.basename(str(path))
