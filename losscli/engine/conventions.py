"""Framework conventions (SPEC §9): the few named rules by which scikit-learn, PyTorch and
Keras compute the same loss differently from losscli (SPEC §4).

A `Convention` is not a copy of each loss. It is the values of a handful of rules, read by
the engine where it already has a hook: the clipping ε (`Options.eps`), the log clamp, the
renormalisation and the KL clipping (`losscli.engine.batch.Batch` intermediates), the
hinge form, the focal α default and KL's per-element mean (the kernels' parameters in
`losscli.engine.registry`), the Dice ε and the per-column RMSE (`losscli.engine.stats`),
and the reduction denominator (`Batch.group_weight`: N instead of Σω; without the class
weights where `class_weights_per_row` says so, in the accumulator, the slices and the paired
terms of compare). Beside the rules, `calls` lists the framework's standard calls: which
losses it has, for which tasks, on probabilities or logits, which options, sample weights
and soft labels each call takes; anything else is an error naming the convention.

`RULES` fixes the order in which `losscli explain` switches rules on one at a time, so
that the effects of the rules of a convention add up to its whole difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from losscli.errors import InputError, option


@dataclass(frozen=True)
class Call:
    """One standard call of a framework: the loss it computes and what it accepts.

    Attributes:
        loss: the SPEC name it reproduces.
        call: how the framework spells it, for messages and the README.
        tasks: the tasks it serves.
        options: the API keywords it takes (``from_logits`` is `logits`, below).
        sample_weight: it takes one weight per row.
        logits: True for logits only, False for probabilities only, None for either (or
            raw scores, for hinge).
        apart: options it takes, but not together (PyTorch's cross-entropy weighs the
            smoothing term by every class's weight), nor class weights with label rows.
        soft: it takes soft labels (binary targets inside (0, 1), label rows that are not
            one-hot); scikit-learn's log_loss and brier_score_loss take class labels only.
        mean_only: reproduced for ``reduction='mean'`` only (PyTorch's KL divides each
            element by k under 'mean' alone).
    """

    loss: str
    call: str
    tasks: frozenset[str]
    options: frozenset[str] = frozenset()
    sample_weight: bool = False
    logits: bool | None = None
    apart: frozenset[str] = frozenset()
    soft: bool = True
    mean_only: bool = False


@dataclass(frozen=True)
class Rule:
    """A named rule: the convention fields it sets, and the sentence that says so."""

    name: str
    text: str
    changes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Convention:
    """The rule values of one framework, and its calls (None: every loss and option).

    Attributes:
        clip_eps: clip probabilities to [ε, 1 − ε] before a log (replaces ``eps``).
        log_clamp: no ε-clipping; binary cross-entropy clamps each log at this value
            (PyTorch −100), and log P is taken as is.
        renormalize_ce: categorical cross-entropy divides each row by its sum first.
        kl_clip: KL clips Y and P to [c, 1].
        kl_per_element: KL is the mean over the n·k elements, not over rows.
        hinge: None (``hinge_mode``), ``weston-watkins/k`` or ``categorical``.
        focal_alpha: focal α when none is given.
        dice_eps: Dice without σ, with this ε added to the denominator only.
        weights_over_n: a weighted mean divides by the number of rows N, not by Σω.
        pos_weight: the class weights of binary cross-entropy and of multiclass hinge act
            per row only, as PyTorch's ``weight`` (c₀·sᵢ) and ``pos_weight`` (c₁/c₀) in
            BCE and ``weight`` in ``multi_margin_loss``: they leave the mean's
            denominator, which is Σsᵢ (N under `weights_over_n`) instead of Σ sᵢ·c(yᵢ).
        rmse_per_column: rmse of k columns is the mean of per-column RMSEs.
        brier_sum: multiclass mse sums over classes instead of averaging.
        rules: the rules that make this convention, in `RULES` order.
    """

    name: str
    calls: tuple[Call, ...] | None = None
    clip_eps: float | None = None
    log_clamp: float | None = None
    renormalize_ce: bool = False
    kl_clip: float | None = None
    kl_per_element: bool = False
    hinge: str | None = None
    focal_alpha: float | None = None
    dice_eps: float | None = None
    weights_over_n: bool = False
    pos_weight: bool = False
    rmse_per_column: bool = False
    brier_sum: bool = False
    rules: tuple[Rule, ...] = ()

    def call(self, loss: str, task: str, from_logits: bool) -> Call | None:
        """The framework call for a loss on this task (None: the framework has none)."""
        if self.calls is None:
            return Call(loss, loss, frozenset({task}), frozenset(ALL_OPTIONS), True)
        for c in self.calls:
            if c.loss == loss and task in c.tasks and c.logits in (None, from_logits):
                return c
        return None

    def with_rules(self, count: int) -> Convention:
        """losscli with only the first `count` rules of this convention switched on, and
        every loss and option allowed: the steps of `losscli explain`'s attribution."""
        out = replace(LOSSCLI, name=f"{self.name}[{count}]", rules=self.rules[:count])
        for rule in self.rules[:count]:
            out = replace(out, **dict(rule.changes))
        return out

    def losses(self, task: str, from_logits: bool) -> list[str]:
        """The losses the framework has for a task, in SPEC order."""
        from losscli.engine.registry import SPECS

        return [s.name for s in SPECS if self.call(s.name, task, from_logits) is not None]


# the keywords that no convention refuses: they shape no formula (reduction, nan_policy),
# or are checked by the calls themselves (from_logits); every other option given, present
# or future, is refused where the framework's call lacks it
NEUTRAL_OPTIONS = frozenset({"reduction", "nan_policy", "convention", "from_logits"})
# what losscli's own convention takes, every loss option
ALL_OPTIONS = (
    "huber_delta",
    "eps",
    "label_smoothing",
    "class_weight",
    "hinge_mode",
    "focal_gamma",
    "focal_alpha",
    "dice_smooth",
    "renormalize",
)

# The rules in attribution order: clipping first (it changes the most rows), reductions last.
CLIP = Rule("clip 1e-7", "clips p to [1e-7, 1 − 1e-7] before a log", (("clip_eps", 1e-7),))
LOG_CLAMP = Rule(
    "log clamp −100",
    "clamps BCE's logs at −100 instead of clipping p (CE and KL take log P as is)",
    (("log_clamp", -100.0),),
)
RENORMALIZE = Rule(
    "renormalise", "divides each row of P by its sum before CE", (("renormalize_ce", True),)
)
KL_CLIP = Rule("kl clip 1e-7", "clips Y and P to [1e-7, 1] in KL", (("kl_clip", 1e-7),))
KL_PER_ELEMENT = Rule("kl / (N·k)", "divides KL's mean by N·k", (("kl_per_element", True),))
HINGE_WW = Rule(
    "hinge Weston–Watkins / k",
    "takes multiclass hinge as Weston–Watkins divided by k",
    (("hinge", "weston-watkins/k"),),
)
HINGE_CATEGORICAL = Rule(
    "categorical hinge",
    "takes multiclass hinge as max(0, 1 + max((1 − Y)·s) − Σ Y·s)",
    (("hinge", "categorical"),),
)
FOCAL_ALPHA = Rule("focal α 0.25", "sets focal α = 0.25 unless given", (("focal_alpha", 0.25),))
DICE_EPS = Rule(
    "dice no σ", "drops Dice's σ and adds 1e-7 to its denominator", (("dice_eps", 1e-7),)
)
WEIGHTS_OVER_N = Rule(
    "weights / N", "divides a weighted mean by N, not by Σω", (("weights_over_n", True),)
)
POS_WEIGHT = Rule(
    "class weights / N",
    "divides class-weighted BCE and hinge by N, not by Σ c(yᵢ) (pos_weight = c₁/c₀ and "
    "weight = c₀ in BCE, weight in multi_margin_loss)",
    (("pos_weight", True),),
)
RMSE_COLUMNS = Rule(
    "rmse per column",
    "takes rmse of k columns as the mean of per-column RMSEs",
    (("rmse_per_column", True),),
)
BRIER_SUM = Rule(
    "brier sums classes", "sums multiclass mse (Brier) over classes", (("brier_sum", True),)
)
RULES = (
    CLIP,
    LOG_CLAMP,
    RENORMALIZE,
    KL_CLIP,
    KL_PER_ELEMENT,
    HINGE_WW,
    HINGE_CATEGORICAL,
    FOCAL_ALPHA,
    DICE_EPS,
    WEIGHTS_OVER_N,
    POS_WEIGHT,
    RMSE_COLUMNS,
    BRIER_SUM,
)

# what each rule does, by name (the JSON of `losscli explain` gives names only)
RULE_TEXT = {r.name: r.text for r in RULES}

_ALL = frozenset({"regression", "binary", "multiclass"})
_BIN = frozenset({"binary"})
_MULTI = frozenset({"multiclass"})
_CLS = frozenset({"binary", "multiclass"})


def _make(name: str, calls: tuple[Call, ...], rules: tuple[Rule, ...]) -> Convention:
    conv = Convention(name, calls, rules=tuple(r for r in RULES if r in rules))
    for rule in conv.rules:
        conv = replace(conv, **dict(rule.changes))
    return conv


LOSSCLI = Convention("losscli")

SKLEARN = _make(
    "sklearn",
    (
        Call(
            "mse",
            "mean_squared_error / brier_score_loss",
            frozenset({"regression", "binary"}),
            sample_weight=True,
            logits=False,
        ),
        Call("mse", "brier_score_loss", _MULTI, sample_weight=True, logits=False, soft=False),
        Call("rmse", "root_mean_squared_error", _ALL, sample_weight=True, logits=False),
        Call("mae", "mean_absolute_error", _ALL, sample_weight=True, logits=False),
        Call("bce", "log_loss", _BIN, sample_weight=True, logits=False, soft=False),
        Call("ce", "log_loss", _CLS, sample_weight=True, logits=False, soft=False),
        Call("hinge", "hinge_loss", _CLS, sample_weight=True),
    ),
    (RMSE_COLUMNS, BRIER_SUM),
)

_SMOOTH = frozenset({"label_smoothing"})
TORCH = _make(
    "torch",
    (
        Call("mse", "F.mse_loss", _ALL, logits=False),
        Call("mae", "F.l1_loss", _ALL, logits=False),
        Call("huber", "F.huber_loss", _ALL, frozenset({"huber_delta"}), logits=False),
        # class weights as weight = s·c(y) row by row (it has no pos_weight), divided by N
        Call(
            "bce",
            "F.binary_cross_entropy",
            _BIN,
            frozenset({"class_weight"}),
            sample_weight=True,
            logits=False,
        ),
        # class weights as weight = c₀·s and pos_weight = c₁/c₀ (c₀ = 0: weight = s·c(y)),
        # divided by N (`POS_WEIGHT`)
        Call(
            "bce",
            "F.binary_cross_entropy_with_logits",
            _BIN,
            frozenset({"class_weight"}),
            sample_weight=True,
            logits=True,
        ),
        Call(
            "ce",
            "F.nll_loss(log P)",
            _MULTI,
            frozenset({"class_weight"}),
            logits=False,
            apart=frozenset({"class_weight"}),
        ),
        Call(
            "ce",
            "F.cross_entropy",
            _MULTI,
            frozenset({"class_weight", *_SMOOTH}),
            logits=True,
            apart=frozenset({"class_weight", *_SMOOTH}),
        ),
        Call("kl", "F.kl_div(log P, Y, reduction='mean')", _MULTI, mean_only=True),
        Call("hinge", "F.multi_margin_loss", _MULTI, frozenset({"class_weight"})),
        Call(
            "focal",
            "torchvision.ops.sigmoid_focal_loss",
            _BIN,
            frozenset({"focal_gamma", "focal_alpha"}),
            logits=True,
        ),
    ),
    (LOG_CLAMP, KL_PER_ELEMENT, HINGE_WW, FOCAL_ALPHA, WEIGHTS_OVER_N, POS_WEIGHT),
)

_KERAS_CE = frozenset({"label_smoothing", "renormalize"})
KERAS = _make(
    "keras",
    (
        Call("mse", "MeanSquaredError", _ALL, sample_weight=True, logits=False),
        Call("mae", "MeanAbsoluteError", _ALL, sample_weight=True, logits=False),
        Call("huber", "Huber", _ALL, frozenset({"huber_delta"}), True, logits=False),
        Call("log_cosh", "LogCosh", _ALL, sample_weight=True, logits=False),
        Call("bce", "BinaryCrossentropy", _BIN, _SMOOTH, True),
        Call("hinge", "Hinge", _BIN, sample_weight=True),
        Call("hinge", "CategoricalHinge", _MULTI, sample_weight=True),
        Call("squared_hinge", "SquaredHinge", _BIN, sample_weight=True),
        Call("ce", "BinaryCrossentropy", _BIN, _SMOOTH, True),
        Call("ce", "CategoricalCrossentropy", _MULTI, _KERAS_CE, True),
        Call("kl", "KLDivergence", _MULTI, sample_weight=True, logits=False),
        Call(
            "focal",
            "BinaryFocalCrossentropy",
            _BIN,
            frozenset({"focal_gamma", "focal_alpha", *_SMOOTH}),
            True,
        ),
        Call("dice", "Dice", _BIN, logits=False),
    ),
    (CLIP, RENORMALIZE, KL_CLIP, HINGE_CATEGORICAL, DICE_EPS, WEIGHTS_OVER_N),
)

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (LOSSCLI, SKLEARN, TORCH, KERAS)}


def get(name: str | Convention) -> Convention:
    """The convention of a name (or the convention itself); unknown names are an error."""
    if isinstance(name, Convention):
        return name
    if name not in CONVENTIONS:
        raise InputError(
            f"unknown convention '{name}'",
            fix=f"Pass {option('convention')} with one of {', '.join(CONVENTIONS)}",
        )
    return CONVENTIONS[name]


def class_weights_per_row(conv: Convention, loss: str) -> bool:
    """True where a loss's class weights stay out of its mean's denominator: PyTorch's
    ``pos_weight`` and ``weight`` in binary cross-entropy, ``weight`` in
    ``multi_margin_loss`` (`POS_WEIGHT`); the value is Σ sᵢ·c(yᵢ)·ℓᵢ / Σ sᵢ (N under
    `Convention.weights_over_n`)."""
    return conv.pos_weight and loss in ("bce", "hinge")


def _where(task: str, from_logits: bool) -> str:
    return f"a {task} task" + (" from logits" if from_logits else "")


def check_losses(
    conv: Convention, specs: list[Any], task: str, from_logits: bool, named: bool
) -> list[Any]:
    """The losses a convention can compute: a named loss it lacks is an error that lists
    those it has; the default set quietly keeps only those."""
    if conv.calls is None:
        return specs
    has = conv.losses(task, from_logits)
    kept = [s for s in specs if s.name in has]
    missing = [s.name for s in specs if s.name not in has]
    if (missing and named) or not kept:
        what = missing[0] if missing else "loss"
        other = conv.call(what, task, not from_logits)
        if other is not None:  # the framework has it, on logits only or probabilities only
            raise InputError(
                f"{conv.name}'s {other.call} ({what}) takes "
                + ("logits" if other.logits else "probabilities"),
                fix=(
                    f"Pass {option('from_logits', True)} with logits"
                    if other.logits
                    else f"Give probabilities, without {option('from_logits')}"
                )
                + f", or pass {option('convention', 'losscli')}",
            )
        raise InputError(
            f"{conv.name} has no {what} for {_where(task, from_logits)}",
            fix=f"Under {option('convention', conv.name)} it has {', '.join(has) or 'none'}; "
            f"or pass {option('convention', 'losscli')}",
        )
    return kept


def check_options(
    conv: Convention, specs: list[Any], task: str, opts: Any, label_rows: bool = False
) -> None:
    """An option the framework's call lacks is an error, never ignored; so are options
    it takes only apart, whose combination it computes otherwise than SPEC §4."""
    if conv.calls is None:
        return
    for spec in specs:
        call = conv.call(spec.name, task, opts.from_logits)
        assert call is not None
        if label_rows and "nll_loss" in call.call:
            raise InputError(
                f"{conv.name}'s {call.call} ({spec.name}) takes class indices, not label rows "
                "(one column per class)",
                fix=f"Give class indices in one label column, pass {option('from_logits', True)} "
                f"for logits (cross_entropy takes soft labels), or {option('convention', 'losscli')}",
            )
        if call.mean_only and opts.reduction != "mean":
            raise InputError(
                f"{conv.name}'s {call.call} ({spec.name}) is reproduced for the mean only, "
                f"not {option('reduction', opts.reduction)}",
                fix=f"Leave out {option('reduction')}, or pass {option('convention', 'losscli')}",
            )
        both = sorted(call.apart & opts.given)
        if len(both) > 1 or (both == ["class_weight"] and label_rows):
            what = " and ".join(option(n) for n in both)
            how = "mixes them" if len(both) > 1 else "divides class-weighted label rows by N"
            raise InputError(
                f"{conv.name}'s {call.call} ({spec.name}) {how}, which losscli does not "
                f"reproduce ({what})",
                fix=f"Pass one of them, or {option('convention', 'losscli')}"
                if len(both) > 1
                else f"Give class indices, or pass {option('convention', 'losscli')}",
            )
        for name in sorted(opts.given - NEUTRAL_OPTIONS):
            applies = name in spec.options or name == "class_weight"
            # --renormalize divides P's rows for every loss that reads probabilities
            applies |= name == "renormalize" and task == "multiclass" and not spec.raw_scores
            if applies and name not in call.options:
                raise InputError(
                    f"{conv.name}'s {call.call} ({spec.name}) takes no {option(name)}",
                    fix=f"Leave out {option(name)}, or pass {option('convention', 'losscli')}",
                )


def check_hard_labels(
    conv: Convention, specs: list[Any], task: str, from_logits: bool, found: str, row: int
) -> None:
    """Soft labels (`found` says which, at 1-based `row`) on a call that takes class labels
    only are an error."""
    if conv.calls is None:
        return
    for spec in specs:
        call = conv.call(spec.name, task, from_logits)
        if call is not None and not call.soft:
            raise InputError(
                f"{conv.name}'s {call.call} ({spec.name}) takes class labels, but the labels "
                f"are soft ({found})",
                role="labels",
                row=row,
                fix=f"Give class labels, or pass {option('convention', 'losscli')}",
            )


def check_sample_weights(conv: Convention, specs: list[Any], task: str, from_logits: bool) -> None:
    """Sample weights on a call that takes none are an error."""
    if conv.calls is None:
        return
    for spec in specs:
        call = conv.call(spec.name, task, from_logits)
        if call is not None and not call.sample_weight:
            takers = [s.name for s in specs if (c := conv.call(s.name, task, from_logits))
                      and c.sample_weight]  # fmt: skip
            raise InputError(
                f"{conv.name}'s {call.call} ({spec.name}) takes no sample weights",
                role="weights",
                fix=f"Leave out the weights, choose losses that take them "
                f"({', '.join(takers) or 'none of these'}), or pass "
                f"{option('convention', 'losscli')}",
            )
