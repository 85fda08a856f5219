"""The numpy call tree against a plain-Python reference, on random stacks with recursion, and the merging of narrow
call paths that flame graphs rely on."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasm_perf.calltree.encoded import StackTable, build_trie, group
from phasm_perf.calltree.tree import CallTree, function_key

FRAMES = ["a (m.py:1)", "a (m.py:2)", "b (m.py:5)", "c", "d (n.py:9)", "e"]
stacks_st = st.dictionaries(st.tuples(*[st.sampled_from(FRAMES)] * 1) | st.lists(st.sampled_from(FRAMES), min_size=1,
                                                                                  max_size=7).map(tuple),
                            st.integers(1, 50), max_size=40)


def reference(on: Counter, off: Counter):
    """Per function: inclusive once per stack, exclusive at the leaf; callees after the innermost occurrence."""
    incl, excl = defaultdict(lambda: [0.0, 0.0]), defaultdict(lambda: [0.0, 0.0])
    callees = defaultdict(lambda: defaultdict(float))
    for col, stacks in enumerate((on, off)):
        for frames, w in stacks.items():
            keys = [function_key(f) for f in frames]
            last = {k: i for i, k in enumerate(keys)}
            for k, i in last.items():
                incl[k][col] += w
                if i + 1 < len(keys):
                    callees[k][keys[i + 1]] += w
            excl[keys[-1]][col] += w
    return incl, excl, callees


@settings(max_examples=60, deadline=None)
@given(stacks_st, stacks_st)
def test_functions_and_callees_match_the_reference(on, off):
    on, off = Counter(on), Counter(off)
    if not on and not off:
        return
    tree = CallTree(on, off, 0.5)
    incl, excl, callees = reference(on, off)
    df = tree.functions
    assert set(df.index) == set(incl)
    for k in incl:
        assert df.loc[k, "on_incl"] == pytest.approx(incl[k][0] * 0.5)
        assert df.loc[k, "off_incl"] == pytest.approx(incl[k][1] * 0.5)
        assert df.loc[k, "on_excl"] == pytest.approx(excl[k][0] * 0.5)
        assert df.loc[k, "off_excl"] == pytest.approx(excl[k][1] * 0.5)
    assert set(tree.callees) == set(callees)
    for k, kids in callees.items():
        assert tree.callees[k] == pytest.approx({g: w * 0.5 for g, w in kids.items()})


@settings(max_examples=60, deadline=None)
@given(stacks_st)
def test_nodes_are_the_prefix_tree(on):
    on = Counter(on)
    if not on:
        return
    nodes = CallTree(on, Counter(), 1.0).nodes
    by_id = nodes.set_index("node")
    path_of = {}
    for r in nodes.itertuples():
        path_of[r.node] = () if r.node == 0 else path_of[r.parent] + (r.frame,)
    prefix = Counter()
    for frames, w in on.items():
        for d in range(1, len(frames) + 1):
            prefix[frames[:d]] += w
    assert {p: by_id.loc[n, "on_incl"] for n, p in path_of.items() if n} == prefix
    assert by_id.loc[0, "on_incl"] == sum(on.values())
    assert (by_id["on_excl"].sum()) == sum(on.values())


def test_narrow_paths_are_merged_per_parent_and_counted():
    on = Counter({("main", "big"): 1000, ("main", "tiny1"): 1, ("main", "tiny2"): 2, ("other",): 5})
    table = StackTable.from_counters([on])
    trie = build_trie(table, min_weight=10)
    names = ["all" if f < 0 and i == 0 else ("MERGED" if f < 0 else table.frames[f])
             for i, f in enumerate(trie.frame.tolist())]
    assert "tiny1" not in names and "other" not in names
    assert trie.merged_paths == 3
    merged = [i for i, n in enumerate(names) if n == "MERGED"]
    weights = sorted(float(trie.incl[i, 0]) for i in merged)
    assert weights == [3.0, 5.0]          # main's two narrow callees, and the narrow root
    assert float(trie.incl[0, 0]) == 1008


def test_group_is_numpy_unique():
    rng = np.random.default_rng(0)
    for key in (rng.integers(0, 50, 1000), rng.integers(0, 10**12, 1000), np.array([], dtype=np.int64)):
        u, inv = group(key)
        u2, inv2 = np.unique(key, return_inverse=True)
        assert np.array_equal(u, u2) and np.array_equal(inv, inv2.ravel())


@pytest.mark.parametrize("n_functions", [50, 5000])   # 5000: callee pairs too many for a dense table
def test_sums_in_small_slices_match_the_reference(monkeypatch, n_functions):
    import phasm_perf.calltree.encoded as enc

    monkeypatch.setattr(enc, "CHUNK_FRAMES", 97)
    rng = np.random.default_rng(7)
    names = [f"f{i}" for i in range(n_functions)]
    on = Counter()
    for _ in range(3000):
        on[tuple(names[j] for j in rng.integers(0, n_functions, rng.integers(1, 12)))] += int(rng.integers(1, 9))
    tree = CallTree(on, Counter(), 1.0)
    incl, excl, callees = reference(on, Counter())
    df = tree.functions
    for k in incl:
        assert df.loc[k, "on_incl"] == incl[k][0] and df.loc[k, "on_excl"] == excl[k][0]
    assert {k: dict(v) for k, v in tree.callees.items()} == {k: dict(v) for k, v in callees.items()}


def test_innermost_packed_sort_is_the_stable_sort():
    """The innermost occurrence of each function on each stack: one sort of packed (stack, function, position) keys
    gives what the stable sort of (stack, function) keys gives, in the same order (empty stacks and recursion in)."""
    import phasm_perf.calltree.encoded as enc

    rng = np.random.default_rng(3)
    for _ in range(50):
        lengths = rng.integers(0, 12, int(rng.integers(0, 300)))
        nfn = int(rng.integers(1, 20))
        offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
        fn = rng.integers(0, nfn, int(offsets[-1])).astype(np.int32)
        packed, stable = enc._innermost(offsets, lengths, fn, nfn), enc._innermost_stable(offsets, lengths, fn, nfn)
        assert np.array_equal(packed[0], stable[0]) and np.array_equal(packed[1], stable[1])


def test_tower_filter_reads_the_largest_other_callee():
    """``Callees.largest_others`` (numpy) is what the tower filter would take from each caller's dict."""
    from phasm_perf.candidates.filters import largest_callees

    on = Counter({("a", "b", "c"): 5, ("a", "c"): 7, ("a", "a", "b"): 2, ("b", "b"): 3, ("c",): 1})
    callees = CallTree(on, Counter(), 0.5).callees
    plain = {k: dict(v) for k, v in callees.items()}
    assert largest_callees(callees) == largest_callees(plain) == {"a": 3.5, "b": 2.5}

