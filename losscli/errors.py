"""The exceptions users see as one `error:` line.

Readers and the engine raise these; they never print or exit. Only `losscli.cli.main`
turns them into a line on stderr and an exit code (SPEC §6).

Where an error comes from is filled in as it travels outward: the engine knows the role of
an array (``preds``, ``labels``, ``weights``), the 1-based row and, for a matrix, the column
index; the CLI knows which file and column each role came from and fills in ``source`` and
``column`` (see `InputError.locate`).

Messages name options by their API keyword (``class_weight='balanced'``); `option` marks
such a mention, and `format` writes it for the reader: the keyword for a library caller
(``str(exc)``), the flag for the CLI (``exc.format()``, which `losscli.cli.run` prints). The
keyword → flag translation is here, in `flag`, and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Style = Literal["cli", "api"]

# API keywords whose flag is not the keyword with "--" and "-" for "_"
_FLAGS = {"losses": "--loss", "confidence": "--ci", "n_resamples": "--bootstrap",
          "show_cols": "--show-col"}  # fmt: skip
_UNSET = object()
_MARK = re.compile("\ue000([^\ue001]*)\ue001([^\ue002]*)\ue002")


def flag(keyword: str) -> str:
    """The CLI flag of an API keyword: ``class_weight`` → ``--class-weight``."""
    return _FLAGS.get(keyword, "--" + keyword.replace("_", "-"))


def option(
    keyword: str, value: Any = _UNSET, *, cli: str | None = None, api: str | None = None
) -> str:
    """A mention of an option inside a message, written per reader by `render`.

    For the API: ``keyword`` or ``keyword=repr(value)`` (or ``keyword=`` + `api`); for the
    CLI: the flag, followed by `cli` or the value (nothing for True: ``--from-logits``).
    """
    if api is not None:
        api = f"{keyword}={api}"
    else:
        api = keyword if value is _UNSET else f"{keyword}={value!r}"
    shown = cli if cli is not None else "" if value is _UNSET or value is True else str(value)
    return f"\ue000{api}\ue001{flag(keyword)}{' ' + shown if shown else ''}\ue002"


def render(text: str, style: Style = "cli") -> str:
    """`text` with every `option` mention written for the CLI (flags) or the API (keywords)."""
    return _MARK.sub(lambda m: m.group(2 if style == "cli" else 1), text)


# A locator maps (role, column index, 1-based row in the evaluated arrays) to where that is
# in the user's files: (source, column name, 1-based data row in that file, 1-based editor
# line or None for binary formats). The readers build one from their provenance; a join by
# id makes the row in a file differ from the row in the evaluated arrays.
Locator = Callable[
    [str, int | None, int | None], tuple[str | None, str | None, int | None, int | None]
]


def sentence(text: str) -> str:
    """`text` ending in one full stop; a question or an exclamation keeps its own mark
    ("Did you mean 'eval'?", never "'eval'?.")."""
    text = text.rstrip(".")
    return text if text.endswith(("?", "!")) else text + "."


class LossCliError(Exception):
    """Base class of every error losscli reports to its users (exit code 2)."""

    exit_code = 2

    def format(self, style: Style = "cli") -> str:
        """The message, naming options by flag (the CLI's) or by keyword (``style='api'``)."""
        return render(super().__str__(), style)

    def __str__(self) -> str:
        return self.format("api")


@dataclass
class InputError(LossCliError):
    """A problem with what the user gave: a file, a column, a value or an option.

    Attributes:
        problem: what is wrong, as a clause without a final full stop.
        fix: what to do about it, a sentence (may be None when obvious).
        source: the file (or ``stdin``) the problem is in.
        column: the column name.
        row: 1-based data row.
        line: 1-based line in a text file, when it differs from the row.
        role: ``preds``, ``labels`` or ``weights`` when raised by the engine.
        col_index: for a matrix, the 0-based column inside it.
        kind: what went wrong, for callers that add context (``preds_range``: predictions
            outside [0, 1]; ``labels_range``: labels outside what the task takes).
    """

    problem: str
    fix: str | None = None
    source: str | None = None
    column: str | None = None
    row: int | None = None
    line: int | None = None
    role: str | None = None
    col_index: int | None = None
    notes: list[str] = field(default_factory=list)
    kind: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        super().__init__(self.format("api"))

    def __str__(self) -> str:
        return self.format("api")

    def where(self) -> str:
        parts: list[str] = []
        if self.source:
            parts.append(self.source)
        elif self.role:
            parts.append(self.role)
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        elif self.col_index is not None and self.role:
            parts.append(f"column {self.col_index}")
        if self.row is not None:
            text = f"row {self.row}"
            if self.line is not None and self.line != self.row:
                text += f" (line {self.line})"
            parts.append(text)
        return ", ".join(parts)

    def format(self, style: Style = "cli") -> str:
        """The one-line message: where, what, and the fix; options as flags for the CLI
        (the default, what `losscli.cli.run` prints) or keywords (``str(exc)``)."""
        where = self.where()
        text = sentence(f"{where}: {self.problem}" if where else self.problem)
        if self.fix:
            text += " " + sentence(self.fix)
        return render(text, style)

    def locate(self, locator: Locator) -> InputError:
        """Return a copy with source, column and editor line filled in from the CLI's map."""
        if self.role is None or self.source is not None:
            return self
        source, column, row, line = locator(self.role, self.col_index, self.row)
        return replace(
            self,
            source=source or self.source,
            column=column if column is not None else self.column,
            row=row if row is not None else self.row,
            line=line,
        )


class UsageError(LossCliError):
    """A wrong combination of options or arguments (not a problem inside a file)."""
