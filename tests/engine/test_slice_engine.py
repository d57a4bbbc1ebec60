"""The engine's slice axis, keys and worst rows, below the API (SPEC §8)."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.engine.accumulate import Accumulator
from losscli.engine.keys import Bins, encode, key_text, order_of_parts
from losscli.engine.options import Options
from losscli.engine.registry import resolve_many
from losscli.engine.slices import SliceTable
from losscli.engine.worst import WorstRows
from losscli.errors import InputError


def _obj(*values: object) -> np.ndarray:
    return np.array(values, dtype=object)


# --- keys ------------------------------------------------------------------------------


def test_text_keys_null_is_its_own_slice() -> None:
    codes, keys = encode([("r", _obj("eu", "us", None, "eu", float("nan")), None)], {})
    assert [keys[c] for c in codes] == [("eu",), ("us",), (None,), ("eu",), (None,)]


def test_null_mask_overrides_the_value() -> None:
    codes, keys = encode([("r", _obj("eu", "us"), np.array([False, True]))], {})
    assert [keys[c] for c in codes] == [("eu",), (None,)]


def test_integers_and_integral_floats_are_their_text() -> None:
    codes, keys = encode([("n", np.array([3.0, 10.0, 3.0]), None)], {})
    assert [keys[c] for c in codes] == [("3",), ("10",), ("3",)]
    codes, keys = encode([("b", np.array([True, False]), None)], {})
    assert [keys[c] for c in codes] == [("true",), ("false",)]


def test_fractional_numbers_need_bins_and_the_error_names_the_row() -> None:
    with pytest.raises(InputError) as err:
        encode([("score", np.array([1.0, 2.5]), None)], {}, row_offset=10)
    assert err.value.row == 12 and err.value.column == "score"
    assert "--bins score=" in err.value.format("cli")
    with pytest.raises(InputError):
        encode([("score", _obj("a", "0.25"), None)], {})


def test_bins_are_half_open_and_keyed_by_the_edges_as_written() -> None:
    bins = {"age": Bins.parse("age", "18, 65")}
    codes, keys = encode([("age", np.array([5.0, 18.0, 64.9, 65.0, np.nan]), None)], bins)
    assert [keys[c][0] for c in codes] == ["(-inf, 18)", "[18, 65)", "[18, 65)", "[65, inf)", None]


@pytest.mark.parametrize("text", ["", "a,b", "3,1", "1,1", "1,inf"])
def test_bad_bin_edges_are_errors(text: str) -> None:
    with pytest.raises(InputError):
        Bins.parse("age", text)


def sort_order(keys: list, bins: dict, by: list) -> list[int]:
    """The output order of whole keys (tuples), through the engine's column form."""
    return order_of_parts([[k[j] for k in keys] for j in range(len(by))], bins, by).tolist()


def _table(keys: list, n_samples: np.ndarray, sum_weights: np.ndarray, losses: dict) -> SliceTable:
    return SliceTable([list(p) for p in zip(*keys, strict=True)], n_samples, sum_weights, losses)


def test_cross_of_two_columns() -> None:
    codes, keys = encode(
        [("r", _obj("eu", "us", "eu", "eu"), None), ("d", _obj("ios", "ios", "web", "ios"), None)],
        {},
    )
    assert [keys[c] for c in codes] == [("eu", "ios"), ("us", "ios"), ("eu", "web"), ("eu", "ios")]


def test_order_numbers_by_value_text_by_text_null_last() -> None:
    keys = [("10",), (None,), ("9",)]
    assert [keys[i] for i in sort_order(keys, {}, ["n"])] == [("9",), ("10",), (None,)]
    keys = [("b",), (None,), ("a10",), ("a9",)]
    assert [keys[i] for i in sort_order(keys, {}, ["t"])] == [("a10",), ("a9",), ("b",), (None,)]
    bins = {"x": Bins.parse("x", "5,100")}
    keys = [("[100, inf)",), ("(-inf, 5)",), ("[5, 100)",)]
    got = [keys[i][0] for i in sort_order(keys, bins, ["x"])]
    assert got == ["(-inf, 5)", "[5, 100)", "[100, inf)"]
    assert key_text(["r", "d"], ("eu", None)) == "r=eu,d=null"


# --- worst rows --------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 50])
def test_worst_rows_equal_a_full_sort_with_ties_to_the_earlier_row(chunk: int) -> None:
    rng = np.random.default_rng(chunk)
    losses = rng.integers(0, 5, 50).astype(float)  # many ties
    k = 9
    parts = []
    for start in range(0, 50, chunk):
        w = WorstRows(k)
        part = losses[start : start + chunk]
        w.offer(part, np.arange(start, start + len(part)), lambda pick: {"at": list(pick)})
        parts.append(w)
    merged = parts[0]
    for w in reversed(parts[1:]):  # any merge order
        merged = w.merged(merged)
    expect = np.lexsort((np.arange(50), -losses))[:k]
    assert merged.rows.tolist() == expect.tolist()
    assert merged.loss.tolist() == losses[expect].tolist()


# --- accumulator -------------------------------------------------------------------------


def _acc(**kw: object) -> Accumulator:
    specs = resolve_many(["bce", "rmse", "dice"], "binary")
    return Accumulator(specs, "binary", 2, Options(), ["neg", "pos"], **kw)  # type: ignore[arg-type]


def test_slices_merge_in_any_order_with_different_first_keys() -> None:
    p = np.array([0.9, 0.2, 0.7, 0.4, 0.6, 0.1])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    region = _obj("eu", "us", "us", "eu", "apac", "us")
    whole = _acc(slicings=[("region",)])
    whole.update(p, y, slices=[encode([("region", region, None)], {})])
    a, b = _acc(slicings=[("region",)]), _acc(slicings=[("region",)])
    a.update(p[3:], y[3:], row_offset=3, slices=[encode([("region", region[3:], None)], {})])
    b.update(p[:3], y[:3], row_offset=0, slices=[encode([("region", region[:3], None)], {})])
    expect = _losses_by_key(whole.result().slices[0][1])
    got = _losses_by_key(a.merge(b).result().slices[0][1])
    assert got.keys() == expect.keys()
    for key, losses in expect.items():
        for name, value in losses.items():
            assert got[key][name] == pytest.approx(value, rel=1e-14)


def _losses_by_key(table: SliceTable) -> dict:
    return {
        key: {name: float(v[j]) for name, v in table.losses.items()}
        for j, key in enumerate(table.keys)
    }


def test_chunks_of_one_run_share_their_key_numbers_and_merge_by_adding() -> None:
    """Accumulators made by `empty_like` number keys alike (their sums line up row by row);
    a merge with an accumulator of another run matches keys instead. Both give the sums of
    the whole input, whichever chunk saw a key first."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.99, 40)
    y = (rng.random(40) < 0.5).astype(float)
    region = _obj(*rng.choice(["eu", "us", "apac", None], 40).tolist())
    whole = _acc(slicings=[("region",)])
    whole.update(p, y, slices=[encode([("region", region, None)], {})])
    first = _acc(slicings=[("region",)])
    second = first.empty_like()
    cols = lambda lo, hi: [[("region", region[lo:hi], None)]]  # noqa: E731
    second.update(p[25:], y[25:], row_offset=25,
                  slices=[(c, None) for c in second.number_slices(cols(25, 40), {}, 25)])  # fmt: skip
    first.update(p[:25], y[:25], row_offset=0,
                 slices=[(c, None) for c in first.number_slices(cols(0, 25), {}, 0)])  # fmt: skip
    assert first._sliced[0].index is second._sliced[0].index
    other = _acc(slicings=[("region",)])  # another run: its own numbering
    other.update(
        p[25:], y[25:], row_offset=25, slices=[encode([("region", region[25:], None)], {})]
    )
    expect = _losses_by_key(whole.result().slices[0][1])
    for merged in (first.merge(second), second.merge(first), first.merge(other)):
        got = _losses_by_key(merged.result().slices[0][1])
        assert got.keys() == expect.keys()
        for key, losses in expect.items():
            assert got[key] == pytest.approx(losses, rel=1e-14)


def test_per_class_keys_are_class_names_and_absent_classes_are_left_out() -> None:
    acc = _acc(per_class=True)
    acc.update(np.array([0.9, 0.8]), np.array([1.0, 1.0]))
    [(by, table)] = acc.result().slices
    assert by == ("class",) and table.keys == [("pos",)]


def test_too_many_slices_is_an_error() -> None:
    acc = _acc(slicings=[("id",)], max_slices=3)
    with pytest.raises(InputError, match="more than 3 distinct slices"):
        acc.update(np.full(4, 0.5), np.ones(4), slices=[encode([("id", np.arange(4), None)], {})])


def test_worst_by_a_dataset_level_loss_is_an_error() -> None:
    with pytest.raises(InputError, match="no value per row"):
        _acc(worst=3, worst_by="dice")
    with pytest.raises(InputError, match="not one of the losses"):
        _acc(worst=3, worst_by="mse")


@pytest.mark.parametrize(
    "column",
    ["strings", "strings with null", "integers with null", "table"],
)
def test_a_pyarrow_array_or_table_is_slice_data(column: str) -> None:
    """SPEC §7: evaluate takes pyarrow data; slice columns are no exception (found by an
    independent test writer: pyarrow arrays crashed in to_numpy)."""
    import pyarrow as pa

    import losscli

    values = {
        "strings": ["eu", "us", "eu", "us"],
        "strings with null": ["eu", None, "eu", "us"],
        "integers with null": [1, None, 2, 1],
        "table": ["eu", "us", "eu", "us"],
    }[column]
    p, y = np.array([0.2, 0.7, 0.4, 0.9]), np.array([0, 1, 1, 0])
    by = pa.table({"region": values}) if column == "table" else {"region": pa.array(values)}
    got = losscli.evaluate(p, y, ["bce"], by=by)
    want = losscli.evaluate(p, y, ["bce"], by={"region": np.array(values, dtype=object)})
    assert [g.key for g in got.slices[0].groups] == [g.key for g in want.slices[0].groups]
    assert [g.losses for g in got.slices[0].groups] == [g.losses for g in want.slices[0].groups]


def test_evaluate_stream_slices_by_what_by_names_and_by_nothing_when_it_is_empty() -> None:
    import losscli

    p, y = np.array([0.2, 0.7, 0.4, 0.9]), np.array([0, 1, 1, 0])
    data = {"region": np.array(["eu", "us", "eu", "us"], dtype=object), "tier": np.arange(4)}
    chunks = lambda: [(p[:2], y[:2], None, {k: v[:2] for k, v in data.items()}),  # noqa: E731
                      (p[2:], y[2:], None, {k: v[2:] for k, v in data.items()})]  # fmt: skip
    every = losscli.evaluate_stream(chunks(), ["bce"])
    assert [s.by for s in every.slices] == [["region"], ["tier"]]
    named = losscli.evaluate_stream(chunks(), ["bce"], by=["tier"])
    assert [s.by for s in named.slices] == [["tier"]]
    assert losscli.evaluate_stream(chunks(), ["bce"], by=[]).slices == []


def test_json_lines_of_slices_are_what_the_json_module_writes() -> None:
    """`Slicing._json_lines` formats slices column by column; each line must equal the
    record's own compact JSON: odd key texts, null keys, NaN and inf values, ints."""
    from losscli.render.json import _compact
    from losscli.slicing import build

    keys = [("eu",), (None,), ('q"uo\\te',), ("ünï\n",), ("3",)]
    table = _table(
        keys,
        np.array([1, 2, 3, 4, 5]),
        np.array([1.0, 2.5, 1e-300, 3.0, 7.0]),
        {
            "bce": np.array([0.1, np.nan, 1 / 3, 2.0, 0.0]),
            "mse": np.array([1e300, 2.0, 3.0, 4.0, -0.0]),
        },
    )
    sl = build(["reg %s ion%"], table, ["bce", "mse"], {}, min_rows=3, top=3)
    for every in (False, True):
        doc = sl.to_dict(every=every)
        rows = doc["groups"]
        assert rows.lines == [_compact(r) for r in rows]
        assert len(rows) == (5 if every else 3)


@pytest.mark.parametrize(
    "sum_weights",
    [[0.0, 12.0, 3.0, 9999999999999998.0], [0.0, 12.0, 3.0, 1e16], [0.0, 12.0, 3.0, 2.5]],
    ids=["whole", "whole, one of 1e16", "one fraction"],
)
def test_json_lines_write_whole_sums_of_weights_as_json_does(sum_weights: list[float]) -> None:
    """Σω of unweighted slices are whole numbers, written from ints; 1e16 and fractions go
    through repr, as `json.dumps` writes them."""
    from losscli.render.json import _compact
    from losscli.slicing import build

    keys = [("a",), ("b",), ("c",), ("d",)]
    table = _table(
        keys, np.array([0, 12, 3, 4]), np.array(sum_weights), {"mse": np.array([0.1] * 4)}
    )
    rows = build(["k"], table, ["mse"], {}).to_dict()["groups"]
    assert rows.lines == [_compact(r) for r in rows]


def test_values_of_many_slices_equal_the_value_of_each() -> None:
    """`Statistic.values` (vectorised for means, looped for the rest) equals `value`."""
    from losscli.engine.options import Options
    from losscli.engine.registry import LOSSES

    rng = np.random.default_rng(5)
    weights = np.array([2.0, 0.0, 3.5, 1.0])
    options = Options.build()
    for spec in LOSSES.values():
        stat = spec.statistic
        sums = [rng.uniform(0.1, 2.0, 4) for _ in range(stat.size(options))]
        got = stat.values(weights, sums, options)
        for i, w in enumerate(weights):
            if w > 0:
                want = stat.value(float(w), [float(s[i]) for s in sums], options)
                assert got[i] == pytest.approx(want, rel=1e-15), spec.name
            else:
                assert np.isnan(got[i])


def _reference_order(keys: list, bins: dict, by: list) -> list[int]:
    """SPEC §8's order spelled out: per part numbers by value (then text), bins by edge,
    else text; null last; a Python sort of whole keys."""

    def num(t: str) -> float | None:
        try:
            x = float(t)
        except ValueError:
            return None
        return x if np.isfinite(x) else None

    ranks = []
    for j, name in enumerate(by):
        values = {k[j] for k in keys}
        if name in bins:
            r = {t: (0, i) for i, t in enumerate(bins[name].labels())}
        elif all(v is None or num(v) is not None for v in values):
            r = {v: (0, num(v), v) for v in values if v is not None}
        else:
            r = {v: (0, v) for v in values if v is not None}
        r[None] = (1,)
        ranks.append(r)
    return sorted(range(len(keys)), key=lambda i: tuple(r[keys[i][j]] for j, r in enumerate(ranks)))


@pytest.mark.parametrize("seed", range(6))
def test_sort_order_equals_a_sort_of_whole_keys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    numeric = ["3", "03", "-1", "10", "2.5", "1e3", None]
    text = ["b", "a", "B", "ä", "a b", "", None, "10"]
    bins = {"age": Bins.parse("age", "18,65")}
    labels = bins["age"].labels() + [None]
    keys = [
        (str(rng.choice(numeric)) if rng.random() > 0.1 else None,
         rng.choice(text) if rng.random() > 0.1 else None,
         labels[rng.integers(len(labels))])
        for _ in range(60)
    ]  # fmt: skip
    keys = [tuple(None if v == "None" else v for v in k) for k in keys]
    keys = list(dict.fromkeys(keys))
    by = ["n", "t", "age"]
    assert sort_order(keys, bins, by) == _reference_order(keys, bins, by)
    assert sort_order([k[:1] for k in keys[:1]], {}, ["n"]) == [0]


def test_a_number_and_its_text_are_one_key_whichever_comes_first() -> None:
    """Chunks of one column may read as integers, whole floats or text (a CSV column
    whose later chunk holds a word): 3, 3.0 and "3" are one slice; "03" is another."""
    from losscli.engine.keys import KeyIndex

    for chunks in (
        [np.array([3, 5, 2**63 - 1]), np.array(["3", "03", "x"], dtype=object)],
        [np.array(["3", "03", "x"], dtype=object), np.array([3.0, 5.0]), np.array([5, 3])],
        [np.array([2**64 - 1], dtype=np.uint64), np.array(["18446744073709551615"], dtype=object)],
    ):
        index = KeyIndex(["c"], max_slices=100)
        numbers = [index.number([("c", c, None)], {}).tolist() for c in chunks]
        texts = [[index.keys[i][0] for i in n] for n in numbers]
        for chunk, names in zip(chunks, texts, strict=True):
            want = [str(int(v)) if not isinstance(v, str) else v for v in chunk.tolist()]
            assert names == want
        assert len(index.keys) == len({k for t in texts for k in t})


def test_integers_spread_wide_and_narrow_number_alike() -> None:
    """Integers in a narrow range go through a table, scattered ones are hashed; a run that
    sees both (the range widens past the table) keeps every earlier number."""
    from losscli.engine.keys import TABLE_SPAN, KeyIndex

    index = KeyIndex(["id"], max_slices=100)
    first = index.number([("id", np.array([7, 3, 7, 5]), None)], {})
    wide = index.number([("id", np.array([3, 7 + 4 * TABLE_SPAN, -(2**40), 5]), None)], {})
    again = index.number([("id", np.array([5, 3, 7]), None)], {})
    keys = [k[0] for k in index.keys]
    assert [keys[i] for i in first] == ["7", "3", "7", "5"]
    assert [keys[i] for i in wide] == ["3", str(7 + 4 * TABLE_SPAN), str(-(2**40)), "5"]
    assert [keys[i] for i in again] == ["5", "3", "7"]
    assert len(keys) == len(set(keys)) == 5


def test_grouped_moments_equal_each_groups_own_moments_across_pieces() -> None:
    """compare --by keeps every slice's paired moments as arrays (`GroupedMoments`): they
    must pool to what `Moments` gives on each group's rows, whatever the pieces."""
    from losscli.engine.delta_method import GroupedMoments, Moments

    rng = np.random.default_rng(11)
    x = rng.normal(size=(500, 3)) * [1.0, 10.0, 0.1]
    groups = rng.integers(0, 7, 500)
    groups[groups == 4] = 5  # group 4 never seen
    pooled = None
    for lo, hi in ((0, 130), (130, 131), (131, 400), (400, 500)):
        part = GroupedMoments.of_rows(x[lo:hi], groups[lo:hi], int(groups[lo:hi].max()) + 1)
        pooled = part if pooled is None else pooled.merge(part)
    assert pooled is not None
    for g in range(7):
        got, want = pooled.at(g), Moments(3).update(x[groups == g])
        assert got.n == want.n
        if want.n:
            np.testing.assert_allclose(got.mean, want.mean, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(got.m2, want.m2, rtol=1e-12, atol=1e-12)
