"""`explain`: each loss under every framework convention, and the rules behind each
difference from losscli (SPEC §9).

For a convention with rules r₁ … r_m (in the fixed order of
`losscli.engine.conventions.RULES`), the values v₀ (losscli), v₁ (r₁ on), v₂ (r₁ and r₂
on), … v_m (all on) are computed, and rule r_i accounts for v_i − v_{i−1}. The effects
therefore add up to v_m − v₀; the convention's own value v_c comes from its own
accumulator (its calls, options and weights checked), and ``unexplained`` is
v_c − v₀ − Σ effects, which is 0 when the named rules are the whole story.

One pass over the data: every chunk goes to one accumulator per step (losscli, each rule
prefix, each convention), so memory stays that of eval times the number of steps (at
most 1 + 3 + 2·6 for the three frameworks). A rule's "rows" are those whose per-row terms
it changes; a rule that acts on the reduction only (a denominator, Dice's ε, rmse per
column) touches every row when it changes the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli._version import __version__
from losscli.chunks import Chunk, as_chunks, make_accumulator, update_in_pieces
from losscli.engine import conventions as conv_mod
from losscli.engine.batch import Batch
from losscli.engine.conventions import Convention
from losscli.errors import InputError, option
from losscli.planning import Plan, encode_chunk_labels, explain_guess, make_plan

DEFAULT_CONVENTIONS = ("sklearn", "torch", "keras")


@dataclass
class RuleEffect:
    """One rule's share of a difference: the rows it changes and v_i − v_{i−1}."""

    rule: str
    text: str
    rows: int
    effect: float


@dataclass
class Difference:
    """A convention whose value differs from losscli's, and why."""

    convention: str
    difference: float
    rules: list[RuleEffect]
    unexplained: float


@dataclass
class LossExplanation:
    """One loss: its value under each convention (None where the framework lacks it, with
    the reason in `unavailable`) and the differences from losscli."""

    loss: str
    values: dict[str, float | None]
    unavailable: dict[str, InputError]
    differences: list[Difference]


@dataclass
class Explanation:
    """What `explain` returns: one `LossExplanation` per loss, in the order requested."""

    task: str
    n_samples: int
    losses: list[LossExplanation]
    options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> LossExplanation:
        return next(e for e in self.losses if e.loss == name)

    def to_dict(self, inputs: dict[str, Any] | None = None, style: str = "api") -> dict[str, Any]:
        """The JSON object of SPEC §9 (non-finite numbers become null), beside eval's task,
        n_samples, options and inputs; ``unavailable`` gives, per loss, why a framework's
        value is null, naming options as keywords (``style='api'``) or flags. A rule's
        sentence is `losscli.engine.conventions.RULE_TEXT` of its name."""

        def num(x: float | None) -> float | None:
            return x if x is not None and math.isfinite(x) else None

        return {
            "losscli": __version__,
            "task": self.task,
            "n_samples": self.n_samples,
            "explain": [
                {
                    "loss": e.loss,
                    "values": {k: num(v) for k, v in e.values.items()},
                    "unavailable": {k: v.format(style) for k, v in e.unavailable.items()},  # type: ignore[arg-type]
                    "differences": [
                        {
                            "convention": d.convention,
                            "difference": num(d.difference),
                            "rules": [
                                {
                                    "rule": r.rule,
                                    "rows": r.rows,
                                    "effect": num(r.effect),
                                }
                                for r in d.rules
                            ],  # fmt: skip
                            "unexplained": num(d.unexplained),
                        }
                        for d in e.differences
                    ],
                }
                for e in self.losses
            ],
            "options": self.options,
            "inputs": inputs or {},
        }


@dataclass
class _Track:
    """One accumulator: losscli (step 0), a rule prefix (step i) or a convention itself."""

    convention: str
    step: int | None  # None: the convention's own calls
    plan: Plan
    acc: Any = None
    values: dict[str, float] | None = None
    error: InputError | None = None

    def __post_init__(self) -> None:
        self.acc = make_accumulator(self.plan)


def explain(
    preds: Any,
    labels: Any,
    losses: Sequence[str] | str | None = None,
    *,
    sample_weight: Any = None,
    **options: Any,
) -> Explanation:
    """Each loss under losscli and the framework conventions, and the rules that make each
    difference (SPEC §9). Takes what `losscli.evaluate` takes; ``convention`` picks one
    framework to set beside losscli (default: scikit-learn, PyTorch and Keras).

        >>> from losscli.explaining import explain
        >>> bce = explain([1.0, 0.3], [0, 1], losses=["bce"])["bce"]
        >>> {k: round(v, 4) for k, v in bce.values.items()}
        {'losscli': 18.6238, 'sklearn': 18.6238, 'torch': 50.602, 'keras': 8.661}
        >>> [(d.convention, [(r.rule, r.rows) for r in d.rules]) for d in bce.differences]
        [('torch', [('log clamp −100', 1)]), ('keras', [('clip 1e-7', 1)])]
    """
    return explain_stream([(preds, labels, sample_weight)], losses, **options)


def explain_stream(
    chunks: Iterable[Any],
    losses: Sequence[str] | str | None = None,
    *,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    pred_names: Sequence[str] | None = None,
    convention: str | None = None,
    progress: Callable[[int], None] | None = None,
    locate: Callable[[Chunk, InputError], InputError] | None = None,
    **options: Any,
) -> Explanation:
    """`explain` over a stream of chunks (as `losscli.evaluate_stream` takes them), in one
    pass with bounded memory; `locate` places engine errors in the user's files."""
    if options.get("reduction") == "none":
        raise InputError(
            f"explain sets reduced losses side by side; {option('reduction', 'none')} gives one "
            "value per row",
            fix=f"Leave out {option('reduction')}, or pass {option('reduction', 'sum')}",
        )
    iterator = as_chunks(chunks)
    first = next(iterator, None)
    if first is None:
        raise InputError("no rows to explain", fix="A mean over no rows is undefined")
    located = locate or (lambda _chunk, exc: exc)
    targets = [conv_mod.get(c) for c in ([convention] if convention else DEFAULT_CONVENTIONS)]
    names_of = getattr(first, "names", None)
    kw = dict(task=task, classes=classes, pred_names=pred_names or names_of, **options)
    try:
        base, first_labels = make_plan(
            np.asarray(first.preds), np.asarray(first.labels), losses, **kw
        )
        names = [s.name for s in base.specs]
        tracks = [_Track("losscli", 0, base)]
        unavailable: dict[str, dict[str, InputError]] = {n: {} for n in names}
        for conv in targets:
            tracks += _convention_tracks(conv, first, names, kw, unavailable)
    except InputError as exc:
        raise located(first, exc) from None
    # a reason found in the first chunk names the user's file and column, as eval's would
    unavailable = {n: {c: located(first, e) for c, e in u.items()} for n, u in unavailable.items()}

    def feed(chunk: Chunk, labels: np.ndarray) -> None:
        preds, weights = np.asarray(chunk.preds), chunk.weights
        for t in tracks:
            if t.error is not None:
                continue
            try:
                update_in_pieces(t.acc, preds, labels, weights, chunk.row_offset)
            except InputError as exc:
                if t.step is not None:  # losscli's rules: the input's own error
                    raise
                # a later chunk that the framework's call refuses (soft labels, say): the
                # framework lacks these losses for this input, with that reason
                t.error = located(chunk, exc)
        _count_rows(tracks, preds, labels, weights, chunk.row_offset, touched)
        if progress is not None:
            progress(preds.shape[0])

    touched: dict[tuple[str, int, str], int] = {}
    for chunk, labels in _labelled(first, first_labels, iterator, base, located):
        try:
            feed(chunk, labels)
        except InputError as exc:
            raise located(chunk, explain_guess(base, exc)) from None
    for t in tracks:
        if t.error is not None:
            continue
        try:
            t.values = t.acc.result().losses
        except InputError as exc:
            t.error = exc
    if tracks[0].values is None:
        raise tracks[0].error or InputError("no value")
    n = tracks[0].acc.diagnostics.n_rows
    out = [_explain_loss(name, tracks, targets, unavailable[name], touched, n) for name in names]
    opts = base.options.as_dict()
    conventions = [c.name for c in targets]  # set beside losscli's, whose options these are
    return Explanation(base.task, n, out, {**opts, "losses": names, "conventions": conventions})


def _labelled(
    first: Chunk,
    first_labels: np.ndarray,
    rest: Iterable[Chunk],
    plan: Plan,
    located: Callable[[Chunk, InputError], InputError],
) -> Iterable[tuple[Chunk, np.ndarray]]:
    """Each chunk with its labels encoded as the plan decided from the first chunk."""
    yield first, first_labels
    for chunk in rest:
        try:
            labels = encode_chunk_labels(plan, np.asarray(chunk.labels), chunk.row_offset)
        except InputError as exc:
            raise located(chunk, exc) from None
        yield chunk, labels


def _convention_tracks(
    conv: Convention,
    first: Chunk,
    names: list[str],
    kw: dict[str, Any],
    unavailable: dict[str, dict[str, InputError]],
) -> list[_Track]:
    """The convention's own track (the losses its calls have, with these options and
    weights) and one track per prefix of its rules (every loss, losscli's support)."""
    preds, labels = np.asarray(first.preds), np.asarray(first.labels)
    has = []
    for name in names:
        try:
            plan, encoded = make_plan(preds, labels, [name], **kw, convention=conv)
            # the first chunk as the framework's call takes it: weights, soft labels
            Batch(plan.task, preds, encoded, first.weights, plan.options, plan.specs,
                  row_offset=first.row_offset, soft_targets=plan.soft_targets)  # fmt: skip
            has.append(name)
        except InputError as exc:
            unavailable[name][conv.name] = exc
    tracks = []
    if has:
        own, _ = make_plan(preds, labels, has, **kw, convention=conv)
        tracks.append(_Track(conv.name, None, own))
    for i in range(1, len(conv.rules) + 1):
        plan, _ = make_plan(preds, labels, names, **kw, convention=conv.with_rules(i))
        tracks.append(_Track(conv.name, i, plan))
    return tracks


def _count_rows(
    tracks: list[_Track],
    preds: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None,
    offset: int,
    touched: dict[tuple[str, int, str], int],
) -> None:
    """Add, per (convention, step, loss), the rows whose per-row terms step i changes
    from step i − 1 (−1 when the terms differ in kind: the rule acts on the reduction)."""
    keep = _kept_rows(tracks[0].plan, preds, labels, weights)
    if keep is not None:
        preds, labels = preds[keep], labels[keep]
        weights = None if weights is None else weights[keep]
    terms: dict[tuple[str, int], dict[str, tuple[np.ndarray, ...]]] = {}
    for t in tracks:
        if t.step is None:
            continue
        p = t.plan
        batch = Batch(p.task, preds, labels, weights, p.options, p.specs,
                      row_offset=offset, soft_targets=p.soft_targets)  # fmt: skip
        with np.errstate(all="ignore"):
            terms[(t.convention, t.step)] = {s.name: s.statistic.terms(batch) for s in p.specs}
    for (conv, step), now in terms.items():
        if step == 0:
            continue
        before = terms[("losscli", 0) if step == 1 else (conv, step - 1)]
        for name, values in now.items():
            key = (conv, step, name)
            rows = _rows_differing(before[name], values)
            touched[key] = -1 if rows < 0 or touched.get(key, 0) < 0 else touched.get(key, 0) + rows


def _kept_rows(
    plan: Plan, preds: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
) -> np.ndarray | None:
    """The rows ``nan_policy='omit'`` keeps (None: all), as the accumulator decides."""
    if plan.options.nan_policy != "omit":
        return None
    bad = np.zeros(preds.shape[0], dtype=bool)
    for a in (preds, labels, weights):
        if a is not None and np.asarray(a).dtype.kind == "f":
            bad |= np.isnan(np.asarray(a)).reshape(a.shape[0], -1).any(axis=1)
    return ~bad if bad.any() else None


def _rows_differing(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> int:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b, strict=True)):
        return -1
    differ = np.zeros(a[0].shape[0], dtype=bool)
    for x, y in zip(a, b, strict=True):
        differ |= (x != y) & ~(np.isnan(x) & np.isnan(y))
    return int(differ.sum())


def _explain_loss(
    name: str,
    tracks: list[_Track],
    targets: list[Convention],
    unavailable: dict[str, InputError],
    touched: dict[tuple[str, int, str], int],
    n_samples: int,
) -> LossExplanation:
    base = tracks[0].values
    assert base is not None
    v0 = base[name]
    values: dict[str, float | None] = {"losscli": v0}
    differences = []
    for conv in targets:
        own = next((t for t in tracks if t.convention == conv.name and t.step is None), None)
        if own is None or own.values is None or name not in own.values:
            values[conv.name] = None
            if own is not None and own.error and conv.name not in unavailable:
                unavailable[conv.name] = own.error
            continue
        vc = own.values[name]
        values[conv.name] = vc
        if vc == v0:
            continue
        steps = [t for t in tracks if t.convention == conv.name and t.step]
        chain = [v0] + [None if t.values is None else t.values[name] for t in steps]
        effects = []
        if all(v is not None for v in chain):
            for i, rule in enumerate(conv.rules, start=1):
                effect = float(chain[i]) - float(chain[i - 1])  # type: ignore[arg-type]
                rows = touched.get((conv.name, i, name), 0)
                if rows < 0 or (rows == 0 and effect != 0.0):
                    rows = n_samples if effect != 0.0 else 0
                if effect != 0.0 or rows:
                    effects.append(RuleEffect(rule.name, f"{conv.name} {rule.text}", rows, effect))
        explained = sum(e.effect for e in effects)
        differences.append(Difference(conv.name, vc - v0, effects, (vc - v0) - explained))
    return LossExplanation(name, values, unavailable, differences)
