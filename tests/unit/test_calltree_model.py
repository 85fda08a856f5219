"""The call-tree model: inclusive/exclusive on-CPU and off-CPU time, per node and per function."""

from collections import Counter

import pytest

from phasm_perf.calltree import CallTree, function_key, make_frame, parse_folded_lines, split_frame

A = make_frame("main", "/p/sim.py", 10)
B = make_frame("step", "/p/sim.py", 20)
C = make_frame("kernel", "/p/sim.py", 30)
R = make_frame("rec", "/p/sim.py", 40)


def test_split_and_make_frame_roundtrip():
    assert split_frame("step (sim.py:12)") == ("step", "sim.py", 12)
    assert split_frame("memcpy") == ("memcpy", None, None)
    assert split_frame("Foo.bar (<frozen importlib._bootstrap>:1176)") == (
        "Foo.bar", "<frozen importlib._bootstrap>", 1176)
    assert split_frame(make_frame("a;b", "/x;y.py", 3)) == ("a:b", "/x:y.py", 3)
    assert function_key("step (sim.py:12)") == function_key("step (sim.py:99)") == "step (sim.py)"


def test_parse_folded_reports_invalid_lines_with_numbers():
    text = ["a;b 3\r\n", "garbage\n", "a;c 1.5\n", "\n", "a;b 2\n", "x;y -1\n"]
    parsed = parse_folded_lines(text)
    assert parsed.stacks == Counter({("a", "b"): 5, ("a", "c"): 1.5})
    assert [n for n, _ in parsed.invalid] == [2, 6]
    assert parsed.decimal


def test_function_table_inclusive_exclusive_on_off():
    on = Counter({(A, B, C): 6, (A, B): 2, (A,): 1})
    off = Counter({(A, B): 3})
    t = CallTree(on, off, seconds_per_unit=0.5)
    f = t.functions
    assert t.on_seconds == pytest.approx(4.5) and t.off_seconds == pytest.approx(1.5)
    step = f.loc[function_key(B)]
    assert step["on_incl"] == pytest.approx(4.0) and step["off_incl"] == pytest.approx(1.5)
    assert step["on_excl"] == pytest.approx(1.0) and step["off_excl"] == pytest.approx(1.5)
    assert step["incl"] == pytest.approx(5.5) and step["line"] == 20
    assert f.loc[function_key(A)]["incl"] == pytest.approx(6.0)
    assert f.loc[function_key(C)]["excl"] == pytest.approx(3.0)
    assert t.callees[function_key(A)][function_key(B)] == pytest.approx(5.5)


def test_recursion_is_not_double_counted():
    on = Counter({(A, R, R, R, C): 4, (A, R): 1})
    f = CallTree(on).functions
    assert f.loc[function_key(R)]["incl"] == 5  # not 4 * 3 + 1
    assert f.loc[function_key(R)]["excl"] == 1
    # the callee of the innermost rec is the kernel, so rec is not its own tower
    assert CallTree(on).callees[function_key(R)] == {function_key(C): 4}


def test_node_table_keeps_call_paths_apart():
    on = Counter({(A, B, C): 2, (A, C): 1})
    nodes = CallTree(on).nodes
    kernel = nodes[nodes["name"] == "kernel"]
    assert len(kernel) == 2 and sorted(kernel["on_incl"]) == [1.0, 2.0]
    root = nodes.iloc[0]
    assert root["frame"] == "all" and root["on_incl"] == 3
    for _, row in nodes.iloc[1:].iterrows():
        parent = nodes.loc[row["parent"]]
        assert parent["depth"] == row["depth"] - 1
        assert parent["on_incl"] >= row["on_incl"]
