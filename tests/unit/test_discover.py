"""Model-variable discovery's pure parts: bytecode sites, paths, values and their changes, the report built from
the observer's aggregate (inputs, outputs, counters, batching), and bench's plan of what a surrogate reads and
writes."""

from __future__ import annotations

import numpy as np
import pytest

from phasm_perf.bench.plan import plan, root_of
from phasm_perf.bench.variables import getter, setter
from phasm_perf.core.errors import PhasmError
from phasm_perf.core.hook.function import FunctionRef
from phasm_perf.core.hook.trampoline import FunctionHook, _parameters
from phasm_perf.discover import DEPENDENT, largest_batch
from phasm_perf.discover.bytecode import Site, sites
from phasm_perf.discover.paths import MISSING, assign, format_name, get_attr, get_item, parse_name
from phasm_perf.discover.python import batching, build_report
from phasm_perf.discover.schema import Unresolved, Variable, VarsReport
from phasm_perf.discover.values import Stats, changes, describe, snapshot


# ----------------------------------------------------------------------------------------------- bytecode sites
G = {"a": 1.0}


def _kernel(self, arr, i, out):
    global COUNT
    x = self.p.q + G["a"] + arr[i] + arr[0]
    self.count += 1
    COUNT = 3
    self.hist.append(x)
    out[0] = x
    out[i] = x
    self.last = x
    return x


def test_sites_follow_chains_and_stores():
    found = [s for group in sites(_kernel.__code__).values() for s in group]
    assert Site("fast", "self", (("attr", "p"), ("attr", "q"))) in found
    assert Site("global", "G", (("item", "a"),)) in found
    assert Site("fast", "arr", (("itemvar", "i"),)) in found
    assert Site("fast", "arr", (("item", 0),)) in found
    assert Site("fast", "self", (("attr", "count"),)) in found  # the read of an augmented assignment
    assert Site("store_global", "COUNT") in found
    assert Site("fast", "self", (("attr", "hist"),), "method", "append") in found
    assert Site("fast", "out", (), "store_item", 0) in found
    assert Site("fast", "out", (), "store_itemvar", "i") in found
    assert Site("fast", "self", (), "store_attr", "last") in found


# ----------------------------------------------------------------------------------------------- paths
class _Obj:
    gain = 2.0  # class-level data: read

    def __init__(self):
        self.x = 1.5
        self.called = 0

    @property
    def costly(self):
        self.called += 1
        return 3.0


@pytest.mark.parametrize("name, root, steps", [
    ("state", "state", []), ("self.gain", "self", [("attr", "gain")]),
    ("CONFIG['scale']", "CONFIG", [("item", "scale")]), ("u[1, 2]", "u", [("item", (1, 2))]),
    ("self.glass.index[3]", "self", [("attr", "glass"), ("attr", "index"), ("item", 3)]),
])
def test_names_round_trip(name, root, steps):
    assert parse_name(name) == (root, steps)
    assert format_name(root, steps) == name


def test_attributes_are_read_without_running_code():
    o = _Obj()
    assert get_attr(o, "x") == 1.5 and get_attr(o, "gain") == 2.0
    assert get_attr(o, "costly") is MISSING and o.called == 0  # a property is code: the observer sees it run
    assert get_attr(o, "nope") is MISSING
    assert get_item([1, 2], 1) == 2 and get_item({"a": 3}, "a") == 3 and get_item(o, 0) is MISSING
    target = {"k": [0.0, 0.0]}
    assign(target, [("item", "k"), ("item", 1)], 5.0)
    assert target == {"k": [0.0, 5.0]}


# ----------------------------------------------------------------------------------------------- values
def test_describe_numbers_and_reasons():
    assert describe(2.5).dtype == "float64" and describe(3).dtype == "int64" and describe(True).dtype == "bool"
    d = describe(np.float32(1.5))
    assert (d.dtype, d.itemsize, d.shape) == ("float32", 4, [])
    a = describe(np.zeros((2, 3), dtype=np.int32))
    assert (a.dtype, a.shape, a.size, a.itemsize) == ("int32", [2, 3], 6, 4)
    lst = describe([[1.0, 2.0], [3.0, 4.0]])
    assert (lst.dtype, lst.shape, lst.flat()) == ("float64", [2, 2], [1.0, 2.0, 3.0, 4.0])
    assert describe({"a": 1, "b": 2.5}).shape == [2]
    assert describe("BK7") == "a str" and describe(["a", 1.0]).startswith("a list holding")
    assert describe(_Obj()) is None and describe(np) is None and describe(None) is None


def test_stats_range_and_constancy():
    s = Stats()
    for v in (1.0, 1.0):
        s.add(describe(v))
    assert s.to_json()["constant"] and (s.min, s.max) == (1.0, 1.0)
    s.add(describe(-2.0))
    assert not s.to_json()["constant"] and (s.min, s.max) == (-2.0, 1.0)
    once = Stats()
    once.add(describe(4.0))
    assert not once.to_json()["constant"]  # one call says nothing about constancy


def test_changes_find_written_paths():
    arr = np.zeros(6)
    obj = _Obj()
    table = {"a": 1.0, "b": [1.0, 2.0]}
    snaps = [snapshot(arr), snapshot(obj), snapshot(table)]
    arr[[1, 4]] = 7.0
    obj.x = 9.0
    obj.extra = 1.0
    table["b"][1] = 5.0
    assert changes(snaps[0], arr) == [((), {1, 4})]
    assert sorted(changes(snaps[1], obj)) == [((("attr", "extra"),), None), ((("attr", "x"),), None)]
    assert changes(snaps[2], table) == [((("item", "b"), ("item", 1)), None)]
    grown = [1.0]
    snap = snapshot(grown)
    grown.append(2.0)
    assert changes(snap, grown) == [((), None)]
    big = np.zeros(100)
    snap = snapshot(big)
    big[:] = 1.0
    assert changes(snap, big) == [((), "many")]


# ----------------------------------------------------------------------------------------------- the report
def _stats(dtype="float64", shape=(), lo=0.0, hi=1.0, constant=False, itemsize=8):
    size = int(np.prod(shape)) if shape else 1
    return {"dtype": dtype, "shape": list(shape), "size": size, "itemsize": itemsize, "calls": 10, "min": lo,
            "max": hi, "constant": constant, "shape_varies": False}


RAW = {
    "status": "called", "calls": 1000, "observed": 80, "python": "3.11.7", "backend": "SettraceBackend",
    "variables": [
        {"name": "x", "kind": "argument", "in_signature": True, "in": _stats(), "out": None, "counter": None},
        {"name": "self.k", "kind": "attribute", "in_signature": True, "in": _stats(constant=True), "out": None,
         "counter": None},
        {"name": "CONFIG", "kind": "global", "in_signature": False, "in": _stats(shape=(2,), constant=True),
         "out": None, "counter": None},
        {"name": "CONFIG['a']", "kind": "global", "in_signature": False, "in": _stats(constant=True), "out": None,
         "counter": None},
        {"name": "N", "kind": "global", "in_signature": False, "in": _stats("int64", lo=0, hi=999),
         "out": _stats("int64", lo=1, hi=1000), "counter": 1.0},
        {"name": "out", "kind": "argument", "in_signature": True, "in": None, "out": _stats(shape=(4,)),
         "counter": None},
        {"name": "out[0]", "kind": "element", "in_signature": True, "in": None, "out": _stats(), "counter": None},
    ],
    "unresolved": [{"name": "label", "kind": "argument", "reason": "a str"}],
    "effects": [], "notes": [], "flows": [], "pairs": 63,
    "iterations": {"groups": [25, 25, 24], "partial": None, "calls": 74, "event_loop_found": None},
}


def test_report_from_the_observers_aggregate():
    r = build_report(RAW, FunctionRef("m", "f"), ["python", "m.py"])
    assert [(v.name, v.kind, v.direction, v.constant) for v in r.inputs] == [
        ("x", "argument", "in", False), ("self.k", "attribute", "in", True),
        ("CONFIG", "global", "in", True), ("N", "global", "inout", False)]  # CONFIG['a']: inside CONFIG
    assert [(v.name, v.direction) for v in r.outputs] == [("out", "out"), ("N", "inout")]  # out[0]: inside out
    n = next(v for v in r.inputs if v.name == "N")
    assert n.counter == 1.0 and n.note == "counter +1/call"
    s = r.summary  # the counter and the constants are not surrogate inputs; the counter is no output either
    assert (s.input_size, s.output_size, s.constant_inputs, s.input_bytes, s.output_bytes) == (1, 4, 3, 8, 32)
    assert s.outside_signature == pytest.approx(3 / 5)  # CONFIG (2) and N (1) of the 5 scalars read
    assert r.unresolved == [Unresolved(name="label", kind="argument", reason="a str")]
    assert r.batching.dependent is False and r.batching.independent_calls == 25
    assert "ranged 24-25 over 3 iterations" in r.batching.note and largest_batch(r) == 25


def test_a_flow_between_calls_means_batch_one():
    raw = dict(RAW, flows=[{"out": "return", "in": "u", "how": "same object", "calls": 11, "pairs": 11}])
    b = batching(raw)
    assert b.dependent and b.independent_calls == 1 and b.note.startswith(DEPENDENT)
    assert b.chains == ["return -> u (same object, 11 of 11 consecutive calls)"]
    assert batching(dict(RAW, pairs=0, iterations={})).dependent is None


# ----------------------------------------------------------------------------------------------- bench's plan
def _report(inputs, outputs, effects=(), unresolved=()):
    from phasm_perf.discover.schema import Summary

    return VarsReport(tool_version="t", function="m:f", language="python", calls=10, observed_calls=10,
                      inputs=inputs, outputs=outputs, unresolved=list(unresolved), effects=list(effects),
                      summary=Summary(input_size=0, output_size=0, input_bytes=0, output_bytes=0))


def _var(name, kind, direction="in", constant=False, counter=None):
    return Variable(name=name, kind=kind, direction=direction, dtype="float64", size=1, bytes=8, constant=constant,
                    counter=counter)


def test_plan_reads_varying_inputs_writes_outputs_and_replays_counters():
    rep = _report([_var("ray[0]", "element"), _var("self.t", "attribute"), _var("G", "global", constant=True),
                   _var("N", "global", "inout", counter=1.0)],
                  [_var("out", "argument", "out"), _var("N", "global", "inout", counter=1.0),
                   _var("return", "return", "out")])
    p = plan(rep)
    assert p.inputs == [{"name": "ray[0]", "root": "arg"}, {"name": "self.t", "root": "arg"}]
    assert p.outputs == [{"name": "out", "root": "arg"}, {"name": "return", "root": "return"}]
    assert p.counters == [{"name": "N", "root": "global", "step": 1.0}] and p.dropped == ["G"]
    assert root_of(_var("k", "closure")) == "cell"


@pytest.mark.parametrize("effects, unresolved, message", [
    (["prints (print())"], [], "has effects a surrogate cannot reproduce: prints"),
    ([], [Unresolved(name="self.name", kind="attribute", reason="written: a str")], "writes self.name"),
    ([], [Unresolved(name="return", kind="return", reason="a str")], "returns something that is not numeric"),
])
def test_plan_refuses_what_a_surrogate_cannot_reproduce(effects, unresolved, message):
    rep = _report([_var("x", "argument")], [_var("return", "return", "out")], effects, unresolved)
    with pytest.raises(PhasmError, match=message):
        plan(rep)


def test_plan_needs_a_varying_input_and_an_output():
    with pytest.raises(PhasmError, match=r"no varying numeric inputs \(constant: G\)"):
        plan(_report([_var("G", "global", constant=True)], [_var("return", "return", "out")]))
    with pytest.raises(PhasmError, match="returns and writes nothing numeric"):
        plan(_report([_var("x", "argument")], []))


# ----------------------------------------------------------------------------------------------- reading and writing
SCALE = 2.0
TABLE = {"k": 1.0}


def _f(state, out, k=1):
    return state.v * SCALE + out[0] + k


def test_getters_and_setters_reach_arguments_globals_and_write_arrays_in_place():
    class State:
        v = 0.0

    state, out = State(), np.zeros(3)
    names = ["state", "out", "k"]
    vals = [state, out, 1]
    assert getter({"name": "SCALE", "root": "global"}, names, _f)(vals) == 2.0
    assert getter({"name": "TABLE['k']", "root": "global"}, names, _f)(vals) == 1.0
    keep = out
    setter({"name": "out", "root": "arg"}, names, _f)(vals, np.array([1.0, 2.0, 3.0]))
    assert keep is out and out.tolist() == [1.0, 2.0, 3.0]  # in place: the caller's array
    setter({"name": "out[1]", "root": "arg"}, names, _f)(vals, 9.0)
    setter({"name": "state.v", "root": "arg"}, names, _f)(vals, 4.0)
    setter({"name": "TABLE['k']", "root": "global"}, names, _f)(vals, 5.0)
    assert out[1] == 9.0 and state.v == 4.0 and TABLE["k"] == 5.0
    with pytest.raises(RuntimeError, match="needs argument 'nope'"):
        getter({"name": "nope.x", "root": "arg"}, names, _f)


# ----------------------------------------------------------------------------------------------- the fast trampoline
def test_the_counting_trampoline_keeps_the_signature_defaults_and_keywords():
    def f(a, b=2.0, /, c=3.0, *rest, d, e=5.0, **kw):
        return (a, b, c, rest, d, e, kw)

    params, passed, packed = _parameters(f.__code__)
    assert params == "a, b, /, c, *rest, d, e, **kw"
    counter, limit, seen = [0], [3], []

    class Hook(FunctionHook):
        def handlers(self, orig, sig):
            def entry(args, kwargs):
                seen.append((args, kwargs))
                return orig(*args, **kwargs)
            self.fast = (counter, limit, orig, entry)
            return entry, None

    Hook({"module": __name__, "qualname": "f"}).swap(f, "definition")
    assert f(1.0, d=4.0) == (1.0, 2.0, 3.0, (), 4.0, 5.0, {})  # below the limit: straight to the original
    assert f(1.0, 2.5, d=4.0, z=1) == (1.0, 2.5, 3.0, (), 4.0, 5.0, {"z": 1})
    assert f(1.0, 2.0, 3.0, 7, d=0.0) == (1.0, 2.0, 3.0, (7,), 0.0, 5.0, {})  # third call: through the entry
    assert counter == [3] and seen == [((1.0, 2.0, 3.0, 7), {"d": 0.0, "e": 5.0})]
