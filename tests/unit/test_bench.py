"""bench's pure parts: flattening, the swap trampoline, the batch point, the end-to-end composition, output
comparison, timing with a fake clock, training and the saved surrogate, the report schema and renderers."""

from __future__ import annotations

import json
import math
import types
import warnings

import numpy as np
import pytest

from phasm_perf.bench import batch_point
from phasm_perf.model.spec import TORCH_DTYPES
from phasm_perf.bench._runtime import Runtime
from phasm_perf.bench.batching import BATCH_ATTR
from phasm_perf.bench.capture import parse_function
from phasm_perf.core.hook.function import definitions as _definitions
from phasm_perf.bench.flatten import (Unflattenable, compile_flattener, compile_unflattener, flatten, leaf_names,
                                      schema_of, unflatten, width)
from phasm_perf.bench.predict import BatchPredicted, Prediction
from phasm_perf.model.laws import batched_seconds, end_to_end
from phasm_perf.bench.swap import compare_output, numbers_in
from phasm_perf.collect.program import Target
from phasm_perf.core.errors import PhasmError


# ----------------------------------------------------------------------------------------------- flattening
@pytest.mark.parametrize("value, n", [
    (1.5, 1), (3, 1), (True, 1), (None, 0), ((1.0, 2, False), 3), ([1.0, [2.0, 3.0]], 3),
    ({"a": 1.0, "b": (2.0, 3.0)}, 3), (np.arange(6.0).reshape(2, 3), 6), (np.float32(2.5), 1), (np.int64(4), 1),
])
def test_flatten_round_trip(value, n):
    schema = schema_of(value)
    out: list = []
    flatten(value, schema, out)
    assert len(out) == n == width(schema)
    back, pos = unflatten(out, schema)
    assert pos == n
    if isinstance(value, np.ndarray):
        assert back.shape == value.shape and back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize("value, fragment", [
    ("text", "str"), (object(), "object"), ([1.0, "x"], "[1] is a str"), (np.array(["a"]), "numpy array of"),
    ({(1, 2): 1.0}, "tuple key"),
])
def test_unflattenable_names_the_type(value, fragment):
    with pytest.raises(Unflattenable, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        schema_of(value, "arg")


def test_structure_change_is_unflattenable():
    schema = schema_of((1.0, 2.0))
    with pytest.raises(Unflattenable, match="tuple of 2"):
        flatten((1.0, 2.0, 3.0), schema, [])
    with pytest.raises(Unflattenable, match=r"shape \[2\]"):
        flatten(np.zeros(3), schema_of(np.zeros(2)), [])


def test_leaf_names():
    assert leaf_names(schema_of({"v": (1.0, 2.0)}), "s") == ["s['v'][0]", "s['v'][1]"]
    assert leaf_names(schema_of(np.zeros((2, 2))), "u") == ["u[0,0]", "u[0,1]", "u[1,0]", "u[1,1]"]


def test_compiled_fast_paths():
    f = compile_flattener([{"kind": "float"}, {"kind": "int"}])
    assert f([1.5, 2]) == [1.5, 2.0]
    g = compile_flattener([schema_of((1.0, 2.0)), {"kind": "float"}])
    assert g([(1.0, 2.0), 3.0]) == [1.0, 2.0, 3.0]
    assert compile_unflattener(schema_of((1.0, 2.0)))([3.0, 4.0]) == (3.0, 4.0)
    assert compile_unflattener({"kind": "float"})([2.5]) == 2.5
    back = compile_unflattener(schema_of(np.float32(1.0)))([2.5])
    assert back == 2.5 and type(back) is np.float32
    assert compile_unflattener(schema_of([1, 2]))([1.2, 1.7]) == [1, 2]


# ------------------------------------------------------------------------------------ trampoline and capture
def _make(src: str, name: str) -> types.FunctionType:
    ns: dict = {"__name__": "m"}
    exec(compile(src, "<m>", "exec"), ns)  # noqa: S102 - test code
    return ns[name]


def test_capture_trampoline_keeps_identity_defaults_and_results():
    f = _make("def f(a, b=2.0, *, c=1):\n    return a * b + c, a\n", "f")
    alias = f
    rt = Runtime({"mode": "capture", "module": "m", "qualname": "f", "budget": 100, "seed": 1})
    rt.swap(f, "definition")
    assert f is alias and f.__code__.co_name == "f"
    assert [f(1.0), f(2.0, 3.0), f(a=1.0, c=5)] == [(3.0, 1.0), (7.0, 2.0), (7.0, 1.0)]
    assert rt.samples == [([[1.0], [2.0], [1.0]], [3.0, 1.0]), ([[2.0], [3.0], [1.0]], [7.0, 2.0]),
                          ([[1.0], [2.0], [5.0]], [7.0, 1.0])]
    assert [p["name"] for p in rt.params] == ["a", "b", "c"]
    assert str(__import__("inspect").signature(f)) == "(a, b=2.0, *, c=1)"
    assert hasattr(f, BATCH_ATTR)


def test_capture_keeps_a_uniform_sample_within_the_budget():
    f = _make("def f(a):\n    return a * a\n", "f")
    rt = Runtime({"mode": "capture", "module": "m", "qualname": "f", "budget": 20, "seed": 3})
    rt.swap(f, "definition")
    for i in range(2000):
        f(float(i))
    assert rt.calls == 2000 and len(rt.samples) == 20
    xs = [row[0][0] for row, _ in rt.samples]
    assert all(res == [x * x] for (row, res), x in zip(rt.samples, xs))
    assert len(set(xs)) == 20 and max(xs) > 1000  # not just the first 20 calls


def test_capture_reports_arguments_that_are_not_numbers():
    f = _make("def g(x, label, rng):\n    return x + len(label)\n", "g")
    rt = Runtime({"mode": "capture", "module": "m", "qualname": "g", "budget": 10})
    rt.swap(f, "definition")
    for i in range(4):
        assert f(float(i), "ab", object()) == i + 2
    skipped = {p["name"]: p["skipped"] for p in rt.params}
    assert skipped["x"] is None and "str" in skipped["label"] and "object" in skipped["rng"]


def test_trampoline_matches_a_closure():
    outer = _make("def outer(k):\n    def inner(x):\n        return x * k\n    return inner\n", "outer")
    inner = outer(3.0)
    rt = Runtime({"mode": "capture", "module": "m", "qualname": "outer.<locals>.inner", "budget": 5})
    rt.swap(inner, "first call")
    assert inner(2.0) == 6.0 and rt.calls == 1


def test_batch_point_is_a_plain_loop_without_bench():
    assert batch_point(lambda a, b: a + b, [(1, 2), (3, 4)]) == [3, 7]


def test_batch_point_hands_the_whole_batch_to_the_handler():
    seen = []

    def f(x):
        return -x

    setattr(f, BATCH_ATTR, lambda self_, calls: seen.append((self_, calls)) or [0] * len(calls))
    assert batch_point(f, [(1,), (2,)]) == [0, 0]
    assert seen == [(None, [(1,), (2,)])]


def test_batch_point_in_capture_mode_records_batch_sizes():
    f = _make("def h(x):\n    return 2 * x\n", "h")
    rt = Runtime({"mode": "capture", "module": "m", "qualname": "h", "budget": 100})
    rt.swap(f, "definition")
    assert batch_point(f, [(1.0,), (2.0,), (3.0,)]) == [2.0, 4.0, 6.0]
    assert rt.batch_sizes == {3: 1} and rt.calls == 3


# ------------------------------------------------------------------------------------------ composition
def test_end_to_end_composition_by_hand():
    # T = 10 s, 1000 calls of 5 ms (5 s) answered in 10 batches of 100 taking 20 ms each (0.2 s)
    t_new, s = end_to_end(10.0, 1000 * 5e-3, batched_seconds({100: 10}, lambda b: 0.02))
    assert t_new == pytest.approx(5.2) and s == pytest.approx(10 / 5.2)
    assert batched_seconds({1: 3, 8: 2}, lambda b: 1e-3 * b) == pytest.approx(3e-3 + 2 * 8e-3)
    slower, s2 = end_to_end(1.0, 100 * 1e-6, batched_seconds({1: 100}, lambda b: 1e-4))
    assert slower == pytest.approx(1.0 - 1e-4 + 1e-2) and s2 < 1


def test_the_end_to_end_prediction_adds_the_in_program_cost_per_forward():
    # t_batch(1) = 25 us, t_batch(100) = 200 us in a tight loop; in the program each forward also pays
    # t_prog = 9 us, plus (B - 1) rows of 0.5 us each: 25 + 9 = 34 us at B = 1, 200 + 9 + 99 * 0.5 = 258.5 us at 100
    pred = Prediction(status="ok", t_in_program=9e-6, t_marshal_row=5e-7,
                      rows={1: BatchPredicted(1, 25e-6, "latency", 0.0), 100: BatchPredicted(100, 2e-4, "compute", 0.0)})
    assert pred.program_seconds(1) == pytest.approx(34e-6)
    assert pred.program_seconds(100) == pytest.approx(258.5e-6)
    # T = 1 s, 1000 calls of 0.5 ms one at a time: T' = 0.5 + 1000 * 34 us = 0.534 s
    t_new, s = end_to_end(1.0, 1000 * 5e-4, batched_seconds({1: 1000}, pred.program_seconds))
    assert t_new == pytest.approx(0.534) and s == pytest.approx(1 / 0.534)


def test_the_function_share_is_a_ratio_within_each_timed_run():
    from phasm_perf.bench.runs import Run
    from phasm_perf.bench.swap import Variant

    def run(program, function):
        return Run("capture", 0, program, {"program_seconds": program, "function_seconds": function, "calls": 100}, "")

    # the second run was slowed 3x by another process: its absolute t_f triples, its share does not move
    timed = Variant("timed", [run(1.0, 0.6), run(3.0, 1.8), run(1.1, 0.66)])
    assert timed.function_share == pytest.approx(0.6)
    assert timed.seconds_per_call == pytest.approx(6.6e-3)
    # composed on a baseline of 0.9 s: the function's time is 0.6 x 0.9 s, never more than the baseline itself,
    # where n t_f from the timed runs (0.66 s) could exceed a baseline measured in a quicker moment
    assert Variant("timed", [run(0.5, 0.9)]).function_share == 1.0
    assert Variant("timed", []).function_share == 0.0


def test_a_uniform_slowdown_of_every_batch_size_is_told_apart_from_the_models_shape():
    from types import SimpleNamespace

    from phasm_perf.bench.run import uniform_slowdown

    def rows(pairs):
        return [SimpleNamespace(measured_seconds=m, predicted_seconds=p) for m, p in pairs]

    # a real run on a busy core: 1.73-1.91x at every batch size from 1 to 1024
    busy = [(41.7, 24.1), (43.4, 24.1), (43.2, 24.8), (49.2, 27.7), (71.4, 39.4), (164.3, 86.2), (284.0, 148.5)]
    assert uniform_slowdown(rows(busy)) == pytest.approx(sorted(m / p for m, p in busy)[3])  # the median ratio
    # the model's own shape: right at small batches, 30% under at large ones: not a slowdown
    assert uniform_slowdown(rows([(24.6, 25.5), (26.0, 25.5), (45.7, 39.8), (110, 83.8), (196, 142)])) is None
    assert uniform_slowdown(rows([(11, 10), (11.5, 10), (10.8, 10)])) is None      # off by less than 25%
    assert uniform_slowdown(rows([(20, 10), (21, 10)])) is None                      # too few batch sizes
    assert uniform_slowdown(rows([(5, 10), (5.1, 10), (4.9, 10), (5, None)])) == pytest.approx(0.5)


def test_the_uniform_speed_note_says_which_way_the_machine_moved():
    from phasm_perf.bench.run import uniform_speed_note

    slower, faster = uniform_speed_note(1.4), uniform_speed_note(0.68)
    assert "measured 1.40x the predicted time alike" in slower and "another process on the core" in slower
    assert "measured 0.68x" in faster and "core_speed.py" in faster and "another process" not in faster


def test_the_speed_probe_takes_the_core_of_the_moment_out_of_the_error():
    from types import SimpleNamespace

    from phasm_perf.bench.run import _batch_rows, speed_check, speed_note
    from phasm_perf.hardware.schema import SpeedFigure

    ref = SpeedFigure(seconds=22e-6, p10=20e-6, p90=26e-6, samples=500, forward="ref")  # a steady core: 1.3x
    # no probe in the profile (a data sheet) or no samples: no check
    assert speed_check(SimpleNamespace(speed_probe=None), [30e-6]) is None and speed_check(None, [1.0]) is None
    assert speed_check(SimpleNamespace(speed_probe=ref), []) is None
    # the reference is the profile's fast speed (its 10th percentile), the moment's is the median of bench's groups
    sp = speed_check(SimpleNamespace(speed_probe=ref), [30e-6, 29e-6, 31e-6, 40e-6, 20e-6])
    assert sp.profile_seconds == 20e-6 and sp.seconds == pytest.approx(30e-6) and sp.ratio == pytest.approx(1.5)
    # predicted 10 and 100 us at the profile's speed; measured 15 and 180 us, each group half and six reference
    # forwards long (the probe just before it): 10 and 120 us at the reference speed
    timings = [SimpleNamespace(batch=1, seconds=15e-6, p25=14e-6, p75=16e-6, wall_seconds=15e-6, seconds_per_call=15e-6,
                               relative=0.5),
               SimpleNamespace(batch=64, seconds=180e-6, p25=170e-6, p75=190e-6, wall_seconds=180e-6,
                               seconds_per_call=180e-6 / 64, relative=6.0)]
    pred = SimpleNamespace(ok=True, rows={1: SimpleNamespace(seconds=10e-6, seconds_per_call=10e-6, bound="latency"),
                                          64: SimpleNamespace(seconds=100e-6, seconds_per_call=100e-6 / 64,
                                                              bound="latency")})
    rows = _batch_rows(timings, pred, SimpleNamespace(seconds_per_call=1e-3), sp.profile_seconds)
    assert [r.error for r in rows] == pytest.approx([10 / 15 - 1, 100 / 180 - 1])
    assert [r.measured_at_reference for r in rows] == pytest.approx([10e-6, 120e-6])
    assert [r.calibrated_error for r in rows] == pytest.approx([0.0, 100 / 120 - 1])
    note = speed_note(sp, rows)
    assert "1.50x" in note and "slower" in note and "30.0 µs against 20.0 µs" in note
    assert "within 8.3% per batch (median), 38.9% against the raw times" in note and "speed moved" not in note
    # a profile whose own probe spread 1.5x (20 to 30 us): its figures may be at either speed, and the note says so
    moved = speed_check(SimpleNamespace(speed_probe=ref.model_copy(update={"p90": 30e-6})), [30e-6])
    assert "the core's speed moved while the profile was measured (its probe 20.0-30.0 µs" in speed_note(moved, rows)
    assert all(r.calibrated_error is None for r in _batch_rows(timings, pred, SimpleNamespace(seconds_per_call=1e-3)))


def test_the_end_to_end_prediction_is_also_given_at_the_core_speed_the_surrogate_runs_measured():
    from types import SimpleNamespace

    from phasm_perf.bench.run import _end_to_end
    from phasm_perf.bench.runs import Run
    from phasm_perf.bench.swap import Variant
    from phasm_perf.hardware.schema import SpeedFigure

    def run(mode, program, extra):
        return Run(mode, 0, program, dict({"program_seconds": program, "calls": 1000}, **extra), "1.0 2.0\n")

    # baseline 1 s; the function half of it (0.5 ms a call); 1000 calls answered one at a time. Predicted
    # t_batch(1) = 25 us + 9 us in the program: T' = 0.5 + 0.034 = 0.534 s. The surrogate runs took 0.59 s, and
    # their probe (before and after each program) timed the reference forward at 30 us against the profile's 20:
    # at that speed the surrogate's part is 1.5 x 34 ms = 51 ms, T' = 0.551 s
    base = Variant("baseline", [run("baseline", 1.0, {}), run("baseline", 1.0, {})])
    timed = Variant("timed", [run("capture", 1.2, {"function_seconds": 0.6})])
    probe = {"speed_probe_seconds": [29e-6, 30e-6, 31e-6]}
    sur = Variant("surrogate", [run("surrogate", 0.59, dict(probe, function_seconds=0.05)),
                                run("surrogate", 0.59, dict(probe, function_seconds=0.05))])
    pred = Prediction(status="ok", t_in_program=9e-6, rows={1: BatchPredicted(1, 25e-6, "latency", 0.0)})
    ref = SpeedFigure(seconds=22e-6, p10=20e-6, p90=24e-6, samples=500, forward="ref")
    cap = SimpleNamespace()
    timings = [SimpleNamespace(batch=1, seconds=50e-6)]
    e = _end_to_end([base, timed, sur], cap, timings, pred, 2, SimpleNamespace(speed_probe=ref))
    v = e.variants[0]
    assert v.measured_speedup == pytest.approx(1 / 0.59)
    assert v.predicted_speedup == pytest.approx(1 / 0.534) and v.speedup_error == pytest.approx(0.59 / 0.534 - 1)
    assert v.speed.ratio == pytest.approx(1.5) and v.speed.samples == 6
    assert v.predicted_speedup_at_run_speed == pytest.approx(1 / 0.551)
    assert v.speedup_error_at_run_speed == pytest.approx(0.59 / 0.551 - 1)
    # runs without the probe (a GPU, a data-sheet profile): no figure at the runs' speed, the raw one stays
    plain = Variant("surrogate", [run("surrogate", 0.59, {"function_seconds": 0.05})])
    v = _end_to_end([base, timed, plain], cap, timings, pred, 1, SimpleNamespace(speed_probe=ref)).variants[0]
    assert v.speed is None and v.predicted_speedup_at_run_speed is None and v.speedup_error_at_run_speed is None
    assert v.predicted_speedup == pytest.approx(1 / 0.534)


def test_output_comparison():
    assert numbers_in("checksum -4.698e+01 mean 1.5 step3 x2 7") == [-46.98, 1.5, 7.0]
    oc = compare_output("a 1.0 b 2.0", "a 1.1 b 2.0")
    assert oc.numbers == 2 and oc.max_abs == pytest.approx(0.1) and oc.max_rel == pytest.approx(0.1)
    assert "printed 2 numbers" in compare_output("1 2", "1").note
    assert compare_output("none", "none").max_rel is None


# ------------------------------------------------------------------------------------------ function names
def test_parse_function_checks_the_script(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("class A:\n    def m(self):\n        pass\nif True:\n    def g(x):\n        return x\n"
                    "def f(x):\n    return x\n")
    target = Target(["python", str(prog)], "python", prog)
    assert parse_function("prog:f", target).script == str(prog)
    assert parse_function("prog:A.m", target).qualname == "A.m"
    with pytest.raises(PhasmError, match="no function 'nope' in prog.py.*A, f, g"):
        parse_function("prog:nope", target)
    with pytest.raises(PhasmError, match="MODULE:QUALNAME"):
        parse_function("prog", target)
    with pytest.raises(PhasmError, match="unknown module 'no_such_mod_xyz'"):
        parse_function("no_such_mod_xyz:f", Target([__import__("sys").executable, str(prog)], "python", prog))


def test_definitions_cover_classes_and_blocks():
    import ast

    tree = ast.parse("try:\n    def a(): pass\nexcept ImportError:\n    def b(): pass\nclass C:\n    def d(self): pass\n")
    assert _definitions(tree.body, "") == {"a", "b", "C", "C.d"}


# ------------------------------------------------------------------------------------ timing (fake clock)
def test_time_forward_with_a_fake_clock():
    pytest.importorskip("torch")
    from phasm_perf.bench.timing import time_forward

    now = [0.0]

    def module(x):  # 10 us of fixed cost plus 1 us per row
        now[0] += 10e-6 + 1e-6 * x.shape[0]

    rows = time_forward(module, 3, [1, 64], repeats=5, warmup=2, clock=lambda: now[0])
    assert [r.batch for r in rows] == [1, 64]
    assert rows[0].seconds == pytest.approx(11e-6) and rows[1].seconds == pytest.approx(74e-6)
    assert rows[1].seconds_per_call == pytest.approx(74e-6 / 64) and rows[0].inner >= 1


# ------------------------------------------------------------------------------------- training and saving
def test_train_save_load_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    from phasm_perf.bench.train import TrainOptions, load, save, train

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    Y = np.stack([3 * X[:, 0] + 1, X[:, 1] * 2], axis=1)
    t = train(X, Y, ["a", "b"], TrainOptions(hidden=(16,), epochs=150, patience=30, seed=0))
    assert t.n_train + t.n_val == 400 and t.n_val == 80
    assert all(e.relative is not None and e.relative < 0.1 for e in t.errors)
    meta = {"inputs": [{"name": "x", "schema": {"kind": "float"}}], "result_schema": {"kind": "float"},
            "input_names": ["x0", "x1"], "output_names": ["a", "b"]}
    path = save(t, tmp_path / "s.pt2", meta)
    module, back = load(path)
    assert back["surrogate"] == "mlp:16" and back["dtype"] == "fp32" and back["output_names"] == ["a", "b"]
    x = torch.tensor(X[:5], dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(module(x), t.module(x))
    from phasm_perf.bench.train import runtime_module

    eager, exported = runtime_module(module, back, "eager"), runtime_module(module, back, "export")
    assert isinstance(eager, torch.nn.Sequential) and not any(p.requires_grad for p in eager.parameters())
    assert not any(p.requires_grad for p in exported.parameters())
    with torch.no_grad():
        assert torch.allclose(eager(x), module(x)) and torch.allclose(exported(x), module(x))
    with pytest.raises(PhasmError, match="--runtime"):
        runtime_module(module, back, "onnx")


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_saved_surrogate_runs_with_plain_torch_export_load(tmp_path, dtype):
    """What a user does with the file: ``torch.export.load(path).module()``, any batch size, the trained outputs,
    the metadata inside, and no deprecation warning from torch on the way."""
    torch = pytest.importorskip("torch")
    from phasm_perf.bench.train import TrainOptions, save, train

    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(300, 3))
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)
    t = train(X, Y, ["p", "s"], TrainOptions(hidden=(16, 8), activation="silu", epochs=5, dtype=dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        path = save(t, tmp_path / "surrogate.pt2", {"input_names": ["a", "b", "c"], "output_names": ["p", "s"]})
        extra = {"phasm_surrogate.json": ""}
        program = torch.export.load(path, extra_files=extra)
    assert json.loads(extra["phasm_surrogate.json"])["surrogate"] == "mlp:16x8"
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: nothing left beside it
    module = program.module()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for batch in (1, 300, 2, 4096):
            x = torch.randn(batch, 3, generator=gen).to(getattr(torch, TORCH_DTYPES[dtype]))
            got, want = module(x), t.module(x)
            assert got.shape == (batch, 2) and got.dtype == getattr(torch, TORCH_DTYPES[dtype])
            assert torch.equal(got, want)


def test_a_bad_surrogate_file_is_a_one_line_error(tmp_path, capfd):
    pytest.importorskip("torch")
    from phasm_perf.bench.train import load

    bad = tmp_path / "bad.pt2"
    bad.write_bytes(b"not a zip archive")
    for path, why in ((bad, "not a zip"), (tmp_path / "missing.pt2", "No such file")):
        with pytest.raises(PhasmError, match=f"cannot load surrogate .*{why}") as exc:
            load(path)
        assert "\n" not in str(exc.value)
    assert "Traceback" not in capfd.readouterr().err  # torch.export.load's logged tracebacks are kept quiet


@pytest.mark.parametrize("runtime, src", [
    ("eager", "def f(a, b, label='x'):\n    raise AssertionError('the original must not run')\n"),
    ("export", "def f(a, b, label='x'):\n    raise AssertionError('the original must not run')\n"),
    ("eager", "def f(a, b):\n    raise AssertionError('the original must not run')\n"),  # the one-conversion path
])
def test_surrogate_mode_answers_calls_and_batches(tmp_path, runtime, src):
    torch = pytest.importorskip("torch")
    from phasm_perf.bench.train import TrainOptions, save, train

    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(200, 2))
    Y = np.stack([X[:, 0] + X[:, 1], X[:, 0] - X[:, 1]], axis=1)
    t = train(X, Y, ["s", "d"], TrainOptions(hidden=(8,), epochs=10))
    meta = {"inputs": [{"name": "a", "schema": {"kind": "float"}}, {"name": "b", "schema": {"kind": "float"}}],
            "result_schema": schema_of((1.0, 2.0)), "input_names": ["a", "b"], "output_names": ["s", "d"]}
    path = save(t, tmp_path / "s.pt2", meta)
    f = _make(src, "f")
    rt = Runtime({"mode": "surrogate", "module": "m", "qualname": "f", "surrogate": str(path), "threads": 1,
                  "runtime": runtime, "gc_freeze": False})
    rt.load_surrogate()
    rt.swap(f, "definition")
    with torch.no_grad():
        want = t.module(torch.tensor([[0.2, 0.7], [0.5, 0.1], [0.9, 0.9]], dtype=torch.float32)).tolist()
    got = f(0.2, 0.7)
    assert isinstance(got, tuple) and got == pytest.approx(tuple(want[0]), rel=1e-5)
    assert f(b=0.7, a=0.2) == pytest.approx(got)
    batched = batch_point(f, [(0.5, 0.1), (0.9, 0.9)])
    assert [tuple(r) for r in batched] == [pytest.approx(tuple(w), rel=1e-5) for w in want[1:]]
    assert rt.calls == 4 and rt.batch_sizes == {2: 1} and rt.fallback_calls == 0
    torch.set_grad_enabled(True)


def test_folding_the_normalisation_keeps_the_function():
    torch = pytest.importorskip("torch")
    from phasm_perf.bench.train import build_surrogate, fold

    torch.manual_seed(0)
    for hidden in ((8, 8), ()):
        m = build_surrogate(3, 2, hidden, "relu", np.array([1.0, -2.0, 5.0], dtype=np.float32),
                            np.array([0.5, 3.0, 10.0], dtype=np.float32), np.array([7.0, 0.1], dtype=np.float32),
                            np.array([2.0, 0.01], dtype=np.float32)).eval()
        folded = fold(m)
        assert isinstance(folded, torch.nn.Sequential) and len(folded) == 2 * len(hidden) + 1
        x = torch.randn(16, 3) * 4
        with torch.no_grad():
            assert torch.allclose(folded(x), m(x), rtol=1e-4, atol=1e-5)


def test_too_few_samples_to_split():
    pytest.importorskip("torch")
    from phasm_perf.bench.train import TrainOptions, train

    with pytest.raises(PhasmError, match="too few samples"):
        train(np.zeros((2, 1)), np.zeros((2, 1)), ["y"], TrainOptions(epochs=1))


# ---------------------------------------------------------------------------------------------- report
def _report():
    from phasm_perf.bench import report as R

    return R.BenchReport(
        tool_version="0", created="now", function="m:<f>&", argv=["python", "p.py"], cwd="/", seconds=1.0,
        device=R.DeviceSummary(device="cpu", name="cpu", threads=1, cuda="unavailable (test)"), options={},
        capture=R.CaptureSummary(calls=10, samples=10, budget=10, inputs=[R.InputInfo(name="x", width=1, kind="float")],
                                 skipped_inputs=[R.SkippedInput(name="<s>", reason="a str")], input_names=["x"],
                                 output_names=["out"], constant_inputs=[], result_kind="float",
                                 seconds_per_call=1e-4, function_seconds=1e-3, program_seconds=0.1, swapped_at="definition",
                                 batch_points={}),
        training=R.Training(surrogate="mlp:8", widths=[1, 8, 1], activation="relu", dtype="fp32", parameters=25,
                            seed=0, samples_train=8, samples_validation=2, epochs=3, best_epoch=3, stopped_early=False,
                            seconds=0.1, validation_loss=0.1, errors=[R.OutputErrorRow(name="out", mae=0.1, rmse=0.1,
                                                                                       max_abs=0.2, relative=0.05)],
                            max_relative_error=0.05, path="s.pt2"),
        prediction=R.PredictionInfo(status="ok", hardware="hw", dtype="fp32"),
        per_batch=[R.BatchRow(batch=b, measured_seconds=2e-5 * b ** 0.5, measured_p25=1.9e-5 * b ** 0.5,
                              measured_p75=2.1e-5 * b ** 0.5, measured_seconds_per_call=2e-5 / b ** 0.5,
                              predicted_seconds=2.2e-5 * b ** 0.5, predicted_seconds_per_call=2.2e-5 / b ** 0.5,
                              bound="latency", error=0.1, original_seconds_per_call=1e-4) for b in (1, 4, 16)],
        per_batch_median_error=0.1, end_to_end=None, end_to_end_error=None, verdict="unchanged")


def test_report_json_round_trip_and_html_escapes():
    from phasm_perf.bench.report import BenchReport
    from phasm_perf.report.bench import render_html

    r = _report()
    data = json.loads(r.model_dump_json())
    assert data["schema_version"] == 2 and BenchReport.model_validate(data) == r
    page = render_html(r)
    assert "m:&lt;f&gt;&amp;" in page and "<f>&" not in page and "&lt;s&gt;" in page
    assert 'src="data:image/png;base64,' in page and math.isfinite(data["per_batch"][0]["error"])


def test_an_input_constant_up_to_rounding_is_constant_and_not_scaled_by_its_noise():
    """The issue's case: 0.1 computed two ways (a spread of 1e-17) is constant, as an exact constant is; a real input
    of small values (uniform in [0, 1e-11]) is not."""
    import numpy as np

    from phasm_perf.bench.capture import CONSTANT_RTOL, Capture, FunctionRef
    from phasm_perf.bench.train import _stats

    n = 200
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 1, n),                       # x: varies
                         np.where(np.arange(n) % 2, 0.1, 0.1 + 2e-17),  # dt: constant up to rounding
                         np.full(n, 0.06),                                   # exactly constant
                         rng.uniform(0, 1e-11, n)])                  # tiny but varying
    cap = Capture(FunctionRef("m", "f", None), n, X, X[:, :1], ["x", "dt", "steps", "tiny"], ["y"], [], [], {},
                  1.0, 1e-3, 1.0, 1.0, n, None, False)
    assert cap.constant_inputs == ["dt", "steps"]
    X[:, 1] = 0.1 + rng.normal(0, 6e-14, n)  # std 6e-14 on 0.1: within the tolerance
    assert "dt" in cap.constant_inputs and 6e-14 / 0.1 < CONSTANT_RTOL
    _, std = _stats(X)
    assert std[1] == 1.0 and std[2] == 1.0 and std[0] != 1.0 and std[3] != 1.0
