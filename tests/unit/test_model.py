"""The model (ARCHITECTURE.md, "The model") against hand-computed values, and its properties (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasm_perf.model.laws import amdahl_limit, amdahl_speedup, brent_floor, end_to_end, gustafson_speedup
from phasm_perf.model.roofline import MemoryLevel, attainable, hierarchical_time, level_for, ridge_point, \
    roofline_time
from phasm_perf.model.spec import SurrogateSpec, hidden_text, parse_batches, parse_dtype, parse_hidden, powers_of_two
from phasm_perf.model.surrogate import MLP, Device, activation_bytes, break_even_batch, best_batch, layer_bytes, \
    layer_flops, link_time, predict_batch, program_batch_seconds, sweep

FLAT = (MemoryLevel("DRAM", math.inf, 1e9),)


def device(**kw) -> Device:
    base = dict(name="toy", dtype="fp32", peak=1e9, levels=FLAT, t_launch=1e-6, t_dispatch=1e-5, nominal_peak=1e9)
    base.update(kw)
    return Device(**base)


# ---------------------------------------------------------------------------------------------------- laws
def test_amdahl_gustafson_brent_by_hand():
    assert amdahl_limit(0.7) == pytest.approx(1 / 0.3)
    assert amdahl_limit(1.0) == math.inf
    assert amdahl_speedup(0.5, 2.0) == pytest.approx(1 / (0.5 + 0.25))
    assert amdahl_speedup(0.7, math.inf) == pytest.approx(amdahl_limit(0.7))
    assert gustafson_speedup(0.7, 7.0) == pytest.approx(0.3 + 4.9)
    assert brent_floor(1e9, 1e9, 3, 1e-6) == pytest.approx(1.0 + 3e-6)
    t_new, s = end_to_end(T=10.0, T_f=7.0, replaced=1000 * 1e-3)
    assert (t_new, s) == (pytest.approx(4.0), pytest.approx(2.5))


def test_amdahl_speedup_rejects_a_non_positive_kernel_speedup():
    with pytest.raises(ValueError):
        amdahl_speedup(0.5, 0.0)


# ------------------------------------------------------------------------------------------------ roofline
def test_roofline_and_levels_by_hand():
    assert attainable(0.5, 1e9, 1e9) == 0.5e9
    assert attainable(4.0, 1e9, 1e9) == 1e9
    assert ridge_point(2e12, 1e11) == 20.0
    assert roofline_time(100, 50, 1e9, 1e9) == (pytest.approx(1e-7), "compute")
    assert roofline_time(100, 500, 1e9, 1e9) == (pytest.approx(5e-7), "memory")
    levels = (MemoryLevel("L1", 100, 1e11), MemoryLevel("DRAM", math.inf, 1e9))
    assert level_for(50, levels).name == "L1"
    assert level_for(500, levels).name == "DRAM"
    t, bound, lvl = hierarchical_time(10, 80, 1e12, levels)
    assert (t, bound, lvl.name) == (pytest.approx(80 / 1e11), "memory", "L1")
    with pytest.raises(ValueError):
        level_for(1, ())


# ----------------------------------------------------------------------------------------------- surrogate
def test_layer_formulas_by_hand():
    assert layer_flops(2, 2, 3) == 24
    assert layer_bytes(2, 2, 3, 4) == 4 * (6 + 3 + 4 + 6)
    assert activation_bytes(2, 3, 4) == 48
    assert link_time(2, 2, 1, 4, 1e9, 1e-6) == pytest.approx(2e-6 + 24e-9)


def test_predict_batch_by_hand():
    # 2 -> 3 -> 1, fp32, B = 2: linear1 76 B, relu 48 B, linear2 48 B, all memory-bound at 1 GB/s
    p = predict_batch(MLP.of(2, [3], 1), 2, device())
    assert p.flops == 24 + 6 + 12
    assert p.memory_seconds == pytest.approx(172e-9)
    assert p.compute_seconds == 0
    assert p.latency_seconds == pytest.approx(3e-6 + 1e-5)
    assert p.seconds_per_batch == pytest.approx(1.3172e-5)
    assert p.seconds_per_call == pytest.approx(6.586e-6)
    assert p.bound == "latency"
    assert p.utilisation == pytest.approx(42 / 1.3172e-5 / 1e9)
    assert p.brent_floor_seconds == pytest.approx(42 / 1e9 + 3e-6)


def test_link_adds_to_an_offload_device_only():
    host = predict_batch(MLP.of(2, [3], 1), 2, device())
    gpu = predict_batch(MLP.of(2, [3], 1), 2, device(link_bandwidth=1e9, link_latency=1e-6))
    assert gpu.link_seconds == pytest.approx(2.024e-6)
    assert gpu.seconds_per_batch - host.seconds_per_batch == pytest.approx(2.024e-6)
    slow_link = predict_batch(MLP.of(1000, [8], 1000), 4096, device(link_bandwidth=1e6, t_dispatch=0.0))
    assert slow_link.bound == "link"


def test_compute_bound_at_large_batch_on_a_wide_mlp():
    p = predict_batch(MLP.of(512, [512, 512], 512), 8192, device(peak=1e9, levels=(MemoryLevel("M", math.inf, 1e12),)))
    assert p.bound == "compute"
    assert p.utilisation == pytest.approx(p.compute_seconds / p.seconds_per_batch, rel=1e-3)


def test_break_even_and_best_batch():
    preds = sweep(MLP.of(2, [3], 1), powers_of_two(1024), device())
    # t_s(B) = (13 us + memory terms) / B: 13.17 us at B=1, about 6.6 us at B=2
    assert break_even_batch(7e-6, preds) == 2
    assert break_even_batch(1e-12, preds) is None  # "never"
    assert best_batch(preds).batch == 1024
    with pytest.raises(ValueError):
        best_batch([])


def test_in_program_cost_by_hand():
    # the 2 -> 3 -> 1 MLP of test_predict_batch_by_hand: 13.172 us per batch of 2 in a tight loop; inside a program
    # each forward also pays t_prog = 20 us (cold caches + marshalling), once per forward, not per row
    p = predict_batch(MLP.of(2, [3], 1), 2, device(t_in_program=2e-5))
    assert p.seconds_per_batch == pytest.approx(1.3172e-5)  # the per-batch table is unchanged
    assert p.in_program_seconds == 2e-5
    assert p.program_seconds_per_batch == pytest.approx(3.3172e-5)
    assert p.program_seconds_per_call == pytest.approx(1.6586e-5)
    assert program_batch_seconds(1e-5, 2e-5) == pytest.approx(3e-5)
    preds = sweep(MLP.of(2, [3], 1), powers_of_two(8), device(t_in_program=2e-5))
    # tight loop: 13.11 us at B=1, 6.59 us at B=2; in a program: 33.11 us at B=1, 16.59 at B=2, 8.29 at B=4
    assert break_even_batch(7e-6, preds) == 2
    assert break_even_batch(7e-6, preds, in_program=True) == 8
    assert best_batch(preds, in_program=True).batch == 8
    # end to end, one call at a time: T = 2 s, T_f = 1 s over 1e5 calls: T' = 1 + 1e5 * 33.112 us = 4.3112 s
    assert end_to_end(2.0, 1.0, 100_000 * preds[0].program_seconds_per_call)[0] == pytest.approx(4.3112)
    # marshalling grows with the batch: (B - 1) (d_0 + d_L) t_num; 2 -> 3 -> 1 has 3 numbers a row; at t_num =
    # 100 ns and B = 2: t_prog(2) = 20 us + 1 * 3 * 0.1 us = 20.3 us; B = 1 pays none of it
    q = predict_batch(MLP.of(2, [3], 1), 2, device(t_in_program=2e-5, t_marshal_number=1e-7))
    assert q.in_program_seconds == pytest.approx(2.03e-5)
    assert q.program_seconds_per_batch == pytest.approx(1.3172e-5 + 2.03e-5)
    assert predict_batch(MLP.of(2, [3], 1), 1, device(t_in_program=2e-5, t_marshal_number=1e-7)) \
        .in_program_seconds == pytest.approx(2e-5)
    assert program_batch_seconds(1e-5, 2e-5, batch=101, t_row=1e-7) == pytest.approx(4e-5)


def test_parse_hidden_and_mlp_shapes():
    assert parse_hidden("mlp:64x64") == (64, 64)
    assert parse_hidden("MLP:128") == (128,)
    assert parse_hidden("mlp:linear") == ()
    for bad in ("64x64", "mlp:64xx", "mlp:0", "cnn:3"):
        with pytest.raises(ValueError):
            parse_hidden(bad)
    m = MLP.of(7, (64, 64), 6)
    assert m.layers == [(7, 64), (64, 64), (64, 6)]
    assert m.depth == 5
    assert m.parameters == 7 * 64 + 64 + 64 * 64 + 64 + 64 * 6 + 6
    assert m.spec() == "mlp:64x64"
    assert powers_of_two(10) == [1, 2, 4, 8]


def test_the_surrogate_vocabulary_parses_and_prints_each_thing_one_way():
    for text in ("mlp:64x64", "mlp:linear", "mlp:3"):
        assert hidden_text(parse_hidden(text)) == text
    assert hidden_text(parse_hidden("MLP:")) == "mlp:linear"
    assert [parse_dtype(t) for t in ("fp32", "float32", "FP32", "bfloat16", "half", "float64")] == \
        ["fp32", "fp32", "fp32", "bf16", "fp16", "fp64"]
    with pytest.raises(ValueError, match="choose one of"):
        parse_dtype("int8")
    assert parse_batches("64, 1,8") == (1, 8, 64)
    assert parse_batches("1-16") == (1, 2, 4, 8, 16)
    assert parse_batches("3-16,3") == (3, 4, 8, 16)
    for bad in ("", "x", "0", "-3", "1-x"):
        with pytest.raises(ValueError):
            parse_batches(bad)
    s = SurrogateSpec.parse("MLP:32x16", dtype="bfloat16", activation="tanh", batches="1-4")
    assert (str(s), s.hidden, s.dtype, s.torch_dtype, s.element_bytes, s.batches) == \
        ("mlp:32x16", (32, 16), "bf16", "bfloat16", 2, (1, 2, 4))
    assert SurrogateSpec.parse(str(s), s.dtype, s.activation, s.batches) == s
    with pytest.raises(ValueError, match="activation"):
        SurrogateSpec(activation="sigmoid")


# ------------------------------------------------------------------------------------------------ properties
widths = st.integers(min_value=1, max_value=512)
mlps = st.builds(lambda i, h, o: MLP.of(i, h, o), widths, st.lists(widths, min_size=0, max_size=4), widths)
devices = st.builds(
    lambda peak, bw, launch, disp, link: device(peak=peak, levels=(MemoryLevel("M", math.inf, bw),), t_launch=launch,
                                                t_dispatch=disp, link_bandwidth=link, link_latency=1e-6 if link else 0),
    st.floats(1e9, 1e15), st.floats(1e9, 1e13), st.floats(0, 1e-4), st.floats(0, 1e-3),
    st.one_of(st.none(), st.floats(1e9, 1e11)))


@settings(max_examples=200, deadline=None)
@given(mlps, devices, st.integers(1, 2 ** 16), st.integers(1, 2 ** 16))
def test_time_per_call_never_rises_with_the_batch_under_one_roof(mlp, dev, b1, b2):
    """With one memory level (no roof changes), t_s(B) falls or stays flat as B grows; t per batch never falls."""
    lo, hi = sorted((b1, b2))
    p_lo, p_hi = predict_batch(mlp, lo, dev), predict_batch(mlp, hi, dev)
    assert p_hi.seconds_per_call <= p_lo.seconds_per_call * (1 + 1e-9)
    assert p_hi.seconds_per_batch >= p_lo.seconds_per_batch * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 0.999), st.floats(1e-3, 1e4), st.integers(1, 10 ** 7), st.floats(1e-12, 10.0))
def test_predicted_speedup_never_exceeds_the_amdahl_limit(p, T, n, t_s):
    _, s = end_to_end(T, p * T, n * t_s)
    assert s <= amdahl_limit(p) * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(mlps, st.integers(1, 4096))
def test_a_slower_memory_level_never_makes_a_batch_faster(mlp, batch):
    fast = device(levels=(MemoryLevel("L2", 1e6, 1e11), MemoryLevel("DRAM", math.inf, 1e11)))
    tiered = device(levels=(MemoryLevel("L2", 1e6, 1e11), MemoryLevel("DRAM", math.inf, 1e9)))
    assert predict_batch(mlp, batch, tiered).seconds_per_batch >= predict_batch(mlp, batch, fast).seconds_per_batch


@settings(max_examples=200, deadline=None)
@given(mlps, devices, st.integers(1, 2 ** 16), st.floats(0, 1e-3), st.floats(0, 1e-6), st.floats(0.0, 0.999),
       st.integers(1, 10 ** 6))
def test_the_in_program_cost_never_makes_a_program_faster(mlp, dev, batch, t_prog, t_num, p, n):
    """t_prog >= 0 adds to every forward: the program's predicted time never falls, the per-batch time is unchanged,
    and the speedup stays under Amdahl's limit."""
    from dataclasses import replace

    tight = predict_batch(mlp, batch, dev)
    prog = predict_batch(mlp, batch, replace(dev, t_in_program=t_prog, t_marshal_number=t_num))
    assert prog.seconds_per_batch == tight.seconds_per_batch
    assert prog.program_seconds_per_call >= tight.program_seconds_per_call
    s_tight = end_to_end(1.0, p, n * tight.program_seconds_per_call)[1]
    s_prog = end_to_end(1.0, p, n * prog.program_seconds_per_call)[1]
    assert s_prog <= s_tight * (1 + 1e-12) and s_prog <= amdahl_limit(p) * (1 + 1e-9)
