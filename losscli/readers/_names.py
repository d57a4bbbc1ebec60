"""Column-name helpers shared by the readers: listings and "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from losscli.errors import InputError

_SHOWN = 12  # a 10^5-column file must not print 10^5 names


def listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    if len(names) > _SHOWN:
        shown += f" and {len(names) - _SHOWN} more"
    return shown or "(none)"


def did_you_mean(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_column(
    name: str, names: Sequence[str], source: str, flag: str = "--pred-col"
) -> InputError:
    return InputError(
        f"no column '{name}'; columns are {listing(names)}{did_you_mean(name, names)}",
        fix=f"Pass {flag} with one of these columns",
        source=source,
    )
