"""Bounds and tolerances of `losscli check`, parsed from the CLI's ``NAME=V`` items, the
settings file, and `check`'s keywords: names resolved (aliases too), each value finite, and
one loss given two different values an error naming both."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from losscli.errors import InputError


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the baseline still passes: relative (0.02 = 2%) or absolute."""

    amount: float
    relative: bool

    def bound(self, baseline: float, higher_is_better: bool) -> float:
        slack = abs(baseline) * self.amount if self.relative else self.amount
        return baseline - slack if higher_is_better else baseline + slack

    def __str__(self) -> str:
        return f"{self.amount * 100:g}%" if self.relative else f"abs:{self.amount:g}"


ZERO = Tolerance(0.0, relative=False)


def parse_tolerance(text: str, flag: str = "--tolerance") -> Tolerance:
    """``2%`` or ``rel:0.02`` (relative), ``abs:0.01`` (absolute); a bare number is an error.

    `flag` is what errors call the value: the CLI's flag, or `check`'s keyword."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            tol = Tolerance(float(raw[:-1]) / 100.0, relative=True)
        elif raw.lower().startswith("abs:"):
            tol = Tolerance(float(raw[4:]), relative=False)
        elif raw.lower().startswith("rel:"):
            tol = Tolerance(float(raw[4:]), relative=True)
        else:
            # a bare number is ambiguous (2 = 2% or 200%?): say which
            float(raw)
            raise InputError(
                f"{flag} '{text}' needs a unit",
                fix=f"Pass {raw}% for a relative tolerance or abs:{raw} for an absolute one",
            )
    except ValueError:
        raise InputError(
            f"{flag} '{text}' is malformed",
            fix="Pass a relative tolerance such as 2% or an absolute one such as abs:0.01",
        ) from None
    if not math.isfinite(tol.amount) or tol.amount < 0:
        raise InputError(
            f"{flag} '{text}' must be finite and ≥ 0", fix="Pass such as 2% or abs:0.01"
        )
    return tol


def parse_tolerances(
    items: Iterable[str], flag: str = "--tolerance", source: str | None = None
) -> tuple[Tolerance | None, dict[str, Tolerance]]:
    """Repeatable ``--tolerance``: a default (``2%``) and per-loss ones (``bce=1%``).

    Two different tolerances for the same loss (or two defaults) are an error naming both:
    letting the last one win silently could loosen a gate (a copy-pasted CI line)."""
    default: tuple[str, Tolerance] | None = None
    per_loss: dict[str, tuple[str, Tolerance]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if sep:
            loss = _loss_name(name, item, "--tolerance")
            tol = parse_tolerance(value)
            _once(per_loss.get(loss), (value.strip(), tol), flag, f" for {loss}", source)
            per_loss[loss] = (value.strip(), tol)
        else:
            tol = parse_tolerance(item)
            _once(default, (item.strip(), tol), flag, "", source)
            default = (item.strip(), tol)
    return (
        default[1] if default else None,
        {loss: tol for loss, (_, tol) in per_loss.items()},
    )


def parse_bounds(items: Iterable[str], flag: str, source: str | None = None) -> dict[str, float]:
    """Repeatable ``--max``/``--min`` items into loss → bound; one loss given two different
    bounds (also by an alias) is an error naming both, never the last one winning."""
    bounds: dict[str, tuple[str, float]] = {}
    for item in items:
        loss, bound = parse_bound(item, flag)
        text = item.partition("=")[2].strip()
        _once(bounds.get(loss), (text, bound), flag, f" for {loss}", source)
        bounds[loss] = (text, bound)
    return {loss: bound for loss, (_, bound) in bounds.items()}


def _once(
    old: tuple[str, object] | None,
    new: tuple[str, object],
    flag: str,
    what: str,
    source: str | None,
) -> None:
    if old is not None and old[1] != new[1]:
        raise InputError(
            f"{flag} is given twice{what} ({old[0]} and {new[0]})",
            source=source,
            fix="Keep one of them",
        )


def _loss_name(name: str, item: str, flag: str) -> str:
    from losscli.engine.registry import resolve

    if not name.strip():
        raise InputError(f"{flag} '{item}' has no loss name", fix=f"Pass {flag} NAME=VALUE")
    return resolve(name).name


def parse_bound(item: str, flag: str) -> tuple[str, float]:
    """``bce=0.3`` → ('bce', 0.3); the loss name may be an alias."""
    name, sep, value = item.partition("=")
    if not sep:
        raise InputError(
            f"{flag} '{item}' is malformed", fix=f"Pass {flag} NAME=VALUE, such as {flag} bce=0.3"
        )
    loss = _loss_name(name, item, flag)
    try:
        bound = float(value)
    except ValueError:
        bound = math.nan
    if not math.isfinite(bound):
        raise InputError(
            f"{flag} '{item}': '{value.strip()}' is not a finite number",
            fix=f"Pass {flag} NAME=VALUE, such as {flag} bce=0.3",
        )
    return loss, bound


def bound_map(bounds: Mapping[str, float] | None, keyword: str) -> dict[str, float]:
    """``max``/``min`` of `check`: names resolved (aliases too), each a finite number; one
    loss given two different bounds is an error, as with ``--max`` twice."""
    seen: dict[str, tuple[str, float]] = {}
    for name, value in (bounds or {}).items():
        loss = _loss_name(str(name), f"{name}={value}", keyword)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InputError(
                f"{keyword}: the bound for {name} is {value!r}, not a finite number",
                fix=f"Pass a number, such as {keyword}={{'bce': 0.3}}",
            )
        _once(seen.get(loss), (repr(value), float(value)), keyword, f" for {loss}", None)
        seen[loss] = (repr(value), float(value))
    return {loss: bound for loss, (_, bound) in seen.items()}


def tolerance_pair(
    default: str | Tolerance | None, per_loss: Mapping[str, str | Tolerance] | None
) -> tuple[Tolerance | None, dict[str, Tolerance]]:
    """``tolerance`` and ``tolerances`` of `check` as Tolerance objects, names resolved."""

    def one(value: str | Tolerance, keyword: str) -> Tolerance:
        return value if isinstance(value, Tolerance) else parse_tolerance(str(value), keyword)

    seen: dict[str, tuple[str, Tolerance]] = {}
    for name, value in (per_loss or {}).items():
        loss = _loss_name(str(name), f"{name}={value}", "tolerances")
        tol = one(value, f"tolerances[{name!r}]")
        _once(seen.get(loss), (str(value), tol), "tolerances", f" for {loss}", None)
        seen[loss] = (str(value), tol)
    tols = {loss: tol for loss, (_, tol) in seen.items()}
    return (None if default is None else one(default, "tolerance")), tols
