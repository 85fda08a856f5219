"""The model (ARCHITECTURE.md, "The model") against hand-computed values, and its properties (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasm_perf.model.laws import accelerated_serial_fraction, amdahl_limit, amdahl_speedup, batch_count, \
    batched_program_seconds, brent_bound, brent_floor, end_to_end, fill_wait, gustafson_speedup
from phasm_perf.model.roofline import MemoryLevel, attainable, hierarchical_time, level_for, ridge_point, \
    roofline_time
from phasm_perf.model.spec import SurrogateSpec, hidden_text, parse_batches, parse_dtype, parse_hidden, powers_of_two
from phasm_perf.model.roofline import levels_for_cores
from phasm_perf.model.surrogate import MLP, Device, Kernel, activation_bytes, activation_flops, break_even_batch, \
    best_batch, kernels, layer_bytes, layer_flops, link_time, offload_timeline, predict_batch, program_batch_seconds, \
    sweep, threads_used
from phasm_perf.model.tables import Table1, Table3

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
    t_new, s = end_to_end(T=10.0, T_f=7.0, replaced=1000 * 1e-3)
    assert (t_new, s) == (pytest.approx(4.0), pytest.approx(2.5))


def test_gustafson_takes_the_serial_fraction_of_the_accelerated_run():
    # T = 10 s, f takes 7 s and runs k = 7x faster: T' = 3 + 1 = 4 s. Serial fraction of the accelerated run
    # s' = 3 / 4 = 0.75 (the old run's 0.3 is the wrong one): S_G = 0.75 + 0.25 x 7 = 2.5 = T / T'
    s_acc = accelerated_serial_fraction(10.0, 7.0, 1.0)
    assert s_acc == pytest.approx(0.75)
    assert gustafson_speedup(s_acc, 7.0) == pytest.approx(2.5) == pytest.approx(end_to_end(10.0, 7.0, 1.0)[1])
    # boris_push on the A100 (theory.md): T = 2.873 s, T_f = 2.231 s, 1000 calls at 0.130 us each, k = 17,184:
    # s' = 0.642 / 0.64213 = 0.99980, S_G = 0.99980 + 0.00020 x 17,184 = 4.47 (the misapplied law gave 13,344)
    s_b = accelerated_serial_fraction(2.873, 2.231, 1000 * 0.130e-6)
    assert s_b == pytest.approx(0.642 / (0.642 + 1.3e-4))
    assert gustafson_speedup(s_b, 2.231e-3 / 0.130e-6) == pytest.approx(4.474, rel=1e-3)
    assert accelerated_serial_fraction(1.0, 2.0, 0.0) == 1.0  # a meaningless T' <= 0 is clamped


def test_brent_floor_is_the_larger_term_and_the_bound_their_sum():
    # W = 1 GFLOP at 1 GFLOP/s (1 s) through 3 steps of 1 us: the floor is max(1 s, 3 us) = 1 s, the greedy bound
    # 1 s + 3 us; with W = 1 kFLOP the critical path dominates: floor 3 us, bound 4 us
    assert brent_floor(1e9, 1e9, 3, 1e-6) == pytest.approx(1.0)
    assert brent_bound(1e9, 1e9, 3, 1e-6) == pytest.approx(1.0 + 3e-6)
    assert brent_floor(1e3, 1e9, 3, 1e-6) == pytest.approx(3e-6)
    assert brent_bound(1e3, 1e9, 3, 1e-6) == pytest.approx(4e-6)


def test_batches_the_program_can_form_and_the_composition():
    # n = 1000 calls at B = 64: ceil(1000 / 64) = 16 forwards; T' = T - T_f + 16 t_batch,prog(64)
    assert batch_count(1000, 64) == 16
    assert batched_program_seconds(2.0, 1.0, 1000, 64, 1e-4) == (pytest.approx(1.0016), pytest.approx(2 / 1.0016))
    # only 25 calls per event are independent (particles.py): 40 events; at B = 16 each event takes 2 forwards
    # (16 + 9), at B = 25 one, and a batch of 512 is one of 25
    assert batch_count(1000, 16, independent=25) == 80
    assert batch_count(1000, 25, independent=25) == 40
    assert batch_count(1000, 512, independent=25) == 40
    assert batch_count(0, 8) == 0
    # the wait to fill a batch of 8 when calls stream in one per ms: the first call waits 7 ms
    assert fill_wait(8, 1e-3) == pytest.approx(7e-3)
    assert fill_wait(1, 1e-3) == 0.0


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
    # out of place on a CPU: the output line is read before it is written (write-allocate): 2 x B d_out
    assert layer_bytes(2, 2, 3, 4, write_allocate=True) == 4 * (6 + 3 + 4 + 12)
    assert activation_bytes(2, 3, 4) == 48
    assert activation_bytes(2, 3, 4, write_allocate=True) == 72  # 3 s B h
    assert link_time(2, 2, 1, 4, 1e9, 1e-6) == pytest.approx(2e-6 + 24e-9)


def test_each_activation_is_priced_as_its_own_kind():
    # roofline: operations per element relu 1, tanh 1, silu 5, gelu 5 (B = 2, h = 3: 6 elements)
    assert [activation_flops(2, 3, k) for k in ("relu", "tanh", "silu", "gelu")] == [6, 6, 30, 30]
    # with tables each kind has its own: relu 1 us, tanh 3 us flat; a 2 -> 3 -> 1 MLP at B = 2 pays the kind's
    tables = {"relu": Table1((1.0, 1e6), (1e-6, 1e-6)), "tanh": Table1((1.0, 1e6), (3e-6, 3e-6))}
    dev = device(activation_tables=tables, t_dispatch=0.0, t_launch=0.0)
    relu = predict_batch(MLP.of(2, [3], 1), 2, dev, activation="relu")
    tanh = predict_batch(MLP.of(2, [3], 1), 2, dev, activation="tanh")
    assert tanh.seconds_per_batch - relu.seconds_per_batch == pytest.approx(2e-6)
    assert [k.name for k in tanh.kernels] == ["linear1", "tanh1", "linear2"]
    assert tanh.kernels[1].source == "table" and tanh.kernels[0].source == "roofline"


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
    assert p.brent_floor_seconds == pytest.approx(3e-6)  # max(42 ns of work, 3 kernels x 1 us)
    assert p.brent_bound_seconds == pytest.approx(42 / 1e9 + 3e-6)


def test_link_adds_to_an_offload_device_only():
    host = predict_batch(MLP.of(2, [3], 1), 2, device())
    gpu = predict_batch(MLP.of(2, [3], 1), 2, device(link_bandwidth=1e9, link_latency=1e-6))
    assert gpu.link_seconds == pytest.approx(2.024e-6)
    # on the device the three tiny kernels (76, 48 and 48 ns) run while the next is issued: the forward ends 48 ns
    # after the last issue (10 us + 3 x 1 us), not after the sum of all terms
    assert gpu.seconds_per_batch == pytest.approx(2.024e-6 + 13e-6 + 48e-9)
    assert host.seconds_per_batch == pytest.approx(13e-6 + 172e-9)
    slow_link = predict_batch(MLP.of(1000, [8], 1000), 4096, device(link_bandwidth=1e6, t_dispatch=0.0))
    assert slow_link.bound == "link"


def test_a_gpu_overlaps_kernel_launches_with_running_kernels():
    # dispatch 10 us, launch 5 us; kernels of 1, 20, 1 us: issued at 15, 20, 25 us; kernel 1 runs 15-16, kernel 2
    # 20-40, kernel 3 waits for it: 40-41. The forward ends at 41 us (serially: 10 + 3 x 5 + 22 = 47 us)
    ks = [Kernel("a", 0, 0, 1e-6, "memory", "L2"), Kernel("b", 0, 0, 20e-6, "compute", "L2"),
          Kernel("c", 0, 0, 1e-6, "memory", "L2")]
    dev = device(t_dispatch=10e-6, t_launch=5e-6, link_bandwidth=1e9)
    assert offload_timeline(ks, dev) == pytest.approx(41e-6)
    assert offload_timeline([], dev) == pytest.approx(10e-6)
    # a device's shortest kernel: 2 us each for the tiny kernels of a 2 -> 3 -> 1 MLP, issued 1 us apart after
    # 10 us: 11-13, 13-15, 15-17 us, plus the link
    p = predict_batch(MLP.of(2, [3], 1), 2, device(link_bandwidth=1e9, link_latency=1e-6, kernel_min=2e-6))
    assert p.seconds_per_batch == pytest.approx(2.024e-6 + 17e-6)


def test_the_link_runs_at_the_pageable_rate_when_there_is_one():
    # 7 -> 64 -> 64 -> 6 fp32 at B = 1 on a link of 25 GB/s pinned, 12.5 GB/s pageable, 10 us latency:
    # 2 x 10 us + 13 x 4 B / 12.5 GB/s = 20.00416 us
    dev = device(link_bandwidth=25e9, link_pageable_bandwidth=12.5e9, link_latency=10e-6)
    assert predict_batch(MLP.of(7, (64, 64), 6), 1, dev).link_seconds == pytest.approx(20.00416e-6)


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


# ------------------------------------------------------------------------------------------ the measured tables
def test_multilinear_tables_reproduce_a_bilinear_cost_exactly_between_nodes():
    # t = 1 us + 2 ns B + 3 ns K + 4 ns N + 0.5 ps B K N: multilinear interpolation on a box is exact for it
    def t(b, k, n):
        return 1e-6 + 2e-9 * b + 3e-9 * k + 4e-9 * n + 5e-13 * b * k * n
    bs, ks, ns = (1, 16, 256), (2, 12, 48), (2, 12, 48)
    tab = Table3(bs, ks, ns, tuple(t(b, k, n) for b in bs for k in ks for n in ns))
    for b, k, n in ((5, 7, 30), (100, 3, 40), (16, 12, 48), (200, 47, 2)):
        assert tab(b, k, n) == pytest.approx(t(b, k, n), rel=1e-12)
    # beyond the last node: extended linearly from the last two nodes (here exactly, since t is linear in B)
    assert tab(1024, 12, 12) == pytest.approx(t(1024, 12, 12))
    # below the first node: held at it (a width of 1 fills a vector register as a width of 2 does)
    assert tab(1, 1, 2) == pytest.approx(t(1, 2, 2))
    one = Table1((1.0, 100.0, 1000.0), (1e-6, 2e-6, 20e-6))
    assert one(550.0) == pytest.approx(11e-6) and one(1900.0) == pytest.approx(38e-6) and one(0.5) == 1e-6
    with pytest.raises(ValueError):
        Table1((2.0, 1.0), (1.0, 1.0))
    with pytest.raises(ValueError):
        Table3((1,), (2,), (2,), (1.0, 2.0))


def test_a_prediction_with_tables_sums_the_tables_and_the_runtime():
    # 2 -> 3 -> 1 at B = 4: linear tables flat 5 us, relu 1 us; the runtime adds 10 us per forward and 2 us per
    # kernel: 5 + 1 + 5 + 10 + 3 x 2 = 27 us
    lin = Table3((1, 8), (1, 8), (1, 8), (5e-6,) * 8)
    dev = device(linear_table=lin, activation_tables={"relu": Table1((1.0,), (1e-6,))}, t_dispatch=10e-6,
                 t_launch=2e-6)
    p = predict_batch(MLP.of(2, [3], 1), 4, dev)
    assert p.seconds_per_batch == pytest.approx(27e-6)
    # a table's smallest node is an operator's fixed cost: here all of each kernel's time, so all of it is latency
    assert p.latency_seconds == pytest.approx(27e-6) and p.bound == "latency"
    # a table that grows with the batch: 1 us fixed, + 1 ns per row: at B = 4096 the layers are 5.1 us of work each
    grow = Table3((1, 8192), (1, 8), (1, 8), (1e-6,) * 4 + (1e-6 + 8191e-9,) * 4)
    q = predict_batch(MLP.of(2, [3], 1), 4096, device(linear_table=grow, t_dispatch=0.0, t_launch=0.0))
    assert sum(k.fixed for k in q.kernels if k.source == "table") == pytest.approx(2e-6)
    assert q.latency_seconds == pytest.approx(2e-6)
    assert q.compute_seconds + q.memory_seconds == pytest.approx(q.seconds_per_batch - 2e-6)


def test_a_kernel_sees_the_cores_it_runs_on():
    # a 40-core CPU listed with L1 2 MB over all cores at 10 TB/s (private) and a shared L3: one core sees 50 KB
    # at 250 GB/s of L1, and all of the L3
    levels = (MemoryLevel("L1", 2e6, 1e13, private=True), MemoryLevel("L3", 6e7, 1e12),
              MemoryLevel("DRAM", math.inf, 2e11))
    one = levels_for_cores(levels, 1, 40)
    assert (one[0].size, one[0].bandwidth) == (pytest.approx(5e4), pytest.approx(2.5e11))
    assert one[1:] == levels[1:]
    # PyTorch splits an operator in grains of 32,768 outputs: 1,000 outputs run on 1 thread, 100,000 on 4
    assert threads_used(1000, 40) == 1 and threads_used(100_000, 40) == 4 and threads_used(1e9, 8) == 8
    cpu = device(peak=40e9, levels=levels, cores=40, threads=40, write_allocate=True)
    small = kernels(MLP.of(64, [], 8), 8, cpu)[0]       # 64 outputs: one core's peak, 1 GFLOP/s
    assert small.threads == 1 and small.seconds >= layer_flops(8, 64, 8) / 1e9
    big = kernels(MLP.of(64, [], 512), 8192, cpu)[0]    # 4M outputs: all 40 cores
    assert big.threads == 40


def test_a_level_that_does_not_keep_data_between_kernels_never_serves_one():
    # a GPU's L1 (10 MB summed over the SMs) is reset at each kernel: a 1 MB working set comes from L2
    levels = (MemoryLevel("L1", 1e7, 1e13, persistent=False), MemoryLevel("L2", 6e6, 3e12),
              MemoryLevel("HBM", math.inf, 9e11))
    assert level_for(1e6, levels).name == "L2"
    assert level_for(1e8, levels).name == "HBM"
    with pytest.raises(ValueError):
        level_for(1.0, (MemoryLevel("L1", 1.0, 1.0, persistent=False),))


def test_the_cold_cache_cost_grows_with_the_weights():
    # t_cold + t_marshal = 20 us, + W x 20 ps/B: 8 -> 512 -> 512 -> 8 fp32 has 271,368 parameters (1,085,472 B):
    # 41.71 us per forward
    mlp = MLP.of(8, (512, 512), 8)
    assert mlp.parameters == 271_368
    p = predict_batch(mlp, 1, device(t_in_program=20e-6, t_cold_per_byte=20e-12))
    assert p.in_program_seconds == pytest.approx(20e-6 + 1_085_472 * 20e-12)
    small = predict_batch(MLP.of(2, [3], 1), 1, device(t_in_program=20e-6, t_cold_per_byte=20e-12))
    assert small.in_program_seconds == pytest.approx(20e-6 + 52 * 20e-12)


def test_tensors_the_allocator_maps_fresh_each_forward_cost_their_pages():
    # 8 -> 1024 -> 8 fp32 at B = 8192: the hidden output and its activation are 32 MiB each, at glibc's largest mmap
    # threshold: fresh pages every forward, 2 x 33,554,432 B x 0.2 ns = 13.42 ms; at B = 4096 (16 MiB) nothing
    from phasm_perf.model.surrogate import intermediate_seconds

    dev = device(fresh_page_seconds=2e-10, fresh_from_bytes=32 << 20)
    assert intermediate_seconds(MLP.of(8, [1024], 8), 8192, dev) == pytest.approx(2 * 33_554_432 * 2e-10)
    assert intermediate_seconds(MLP.of(8, [1024], 8), 4096, dev) == 0.0
    # the result counts too: 8 -> 1024 at B = 8192 returns 32 MiB
    assert intermediate_seconds(MLP.of(8, [], 1024), 8192, dev) == pytest.approx(33_554_432 * 2e-10)
    assert intermediate_seconds(MLP.of(8, [1024], 8), 8192, device()) == 0.0
