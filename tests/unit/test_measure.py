"""`hw measure` can be trusted: load is detected (with busy processes on every core), disturbed or inconsistent
steps are measured again and flagged, flags reach the predictions; the CUDA path against a fake device."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from phasm_perf.hardware import HardwareProfile, load
from phasm_perf.hardware.measure.checks import check_layer_efficiency, check_peaks, check_runtimes, run_step
from phasm_perf.hardware.measure.cuda import measure_cuda
from phasm_perf.hardware.measure.options import MeasureOptions
from phasm_perf.hardware.measure.tables import layer_efficiency, table_spread
from phasm_perf.hardware.measure.timing import LoadMonitor, StepLoad, read_proc_stat, spread, time_groups, \
    usable_cores

STAT = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\nprocs_running 3\nprocs_blocked 0\n"


def test_proc_stat_is_read_as_busy_total_and_runnable():
    # busy = everything but idle (800) and iowait (50): 150 of 1000 ticks
    assert read_proc_stat(STAT) == (150.0, 1000.0, 3)


def test_the_load_of_other_processes_is_their_cpu_time_over_the_wall_time():
    stats = iter([(1000.0, 0.0, 2), (1000.0 + 180.0, 0.0, 5)])  # 1.8 s of CPU (hz 100) by everyone
    with LoadMonitor(stat=lambda: next(stats), ticks_per_second=100) as m:
        time.sleep(1.0)
    ld = m.load
    assert ld.wall == pytest.approx(1.0, abs=0.2) and ld.procs_running == 5
    assert ld.others_cores == pytest.approx(1.8 / ld.wall, rel=0.05)  # we slept: all of it was others'
    assert ld.oversubscribed(threads=1, cores=2) and not ld.oversubscribed(threads=1, cores=4)
    assert "other processes used 1.8 of 2 core(s)" in ld.describe(2)


def _busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


@pytest.mark.slow
def test_a_measurement_with_a_busy_process_on_every_core_is_caught_and_flagged():
    """Busy processes on every core while a step measures: the monitor sees them, the step is measured again
    and, still loaded, flagged with the reason; a quiet step is not (measured right after they stop)."""
    cores = usable_cores()
    # two busy processes per core: with ours spinning too they get 2c/(2c+1) of every core (1.6 of 2), well past
    # the 1.25 at which one thread shares a core; one per core left them 1.33, and CI once saw 1.2 (not retried)
    procs = _busy(2 * cores)
    try:
        time.sleep(0.5)
        calls = []

        def work():
            calls.append(1)
            t = time.perf_counter() + 0.6
            while time.perf_counter() < t:
                pass
            return 42

        step = run_step("linear.fp32", work, threads=1, cores=cores, retries=2, deadline=time.perf_counter() + 60)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert step.value == 42 and step.load.others_cores > 0.6 * cores - 0.1
    assert len(calls) == 2  # measured again once; loaded twice in a row: the machine is busy, not a burst
    assert step.flags and step.flags[0][0] == "linear.fp32" and "other processes used" in step.flags[0][1]


def test_a_disturbed_step_is_measured_again_and_the_clean_attempt_kept():
    loads = iter([StepLoad(1, 1, 1.9, 4, 5), StepLoad(1, 1, 0.1, 1, 1)])

    class Fake:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.load = next(loads)

    values = iter([1.0, 2.0])
    step = run_step("peak", lambda: next(values), threads=1, cores=2, retries=2, deadline=1e18, monitor=Fake)
    assert (step.value, step.attempts, step.flags) == (2.0, 2, [])


def test_an_inconsistent_step_is_measured_again_then_flagged_with_its_reason():
    quiet = StepLoad(1, 1, 0.0, 0.5, 1)

    class Fake:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.load = quiet

    tables = iter([{"seconds": [5.0, 1.0]}, {"seconds": [1.0, 4.0]}, {"seconds": [2.0, 2.0]}])
    step = run_step("linear.fp32", lambda: next(tables), threads=1, cores=2, retries=2, deadline=1e18,
                    check=lambda t: ["linear.fp32: too slow"] if max(t["seconds"]) > 1.5 else [],
                    merge=lambda ts: {"seconds": [min(v) for v in zip(*(t["seconds"] for t in ts))]}, monitor=Fake)
    # three attempts, none clean: the quietest value of each node ([1, 1]) passes the check
    assert step.attempts == 3 and step.value == {"seconds": [1.0, 1.0]} and step.flags == []


def test_a_core_whose_speed_moved_during_the_measurement_is_flagged():
    from phasm_perf.hardware.measure.checks import check_speed

    # measured on the 2-core EPYC VM: 26.1 us at the 10th percentile, 52.7 us at the 90th
    moved = check_speed({"seconds": 37.7e-6, "p10": 26.1e-6, "p90": 52.7e-6, "samples": 2509})
    assert len(moved) == 1 and moved[0].startswith("speed_probe: the core's speed moved") and "2.0x" in moved[0]
    assert check_speed({"seconds": 25e-6, "p10": 24e-6, "p90": 30e-6, "samples": 900}) == []   # 1.25x: steady
    assert check_speed(None) == []


def test_consistency_checks_by_hand():
    # a 1024 x 1024 x 1024 layer table node in 10 ms is 215 GFLOP/s; against a 200 GFLOP/s GEMM: 107%
    table = {"batches": [1, 1024], "inputs": [2, 1024], "outputs": [2, 1024], "seconds": [1e-6] * 7 + [1e-2]}
    assert layer_efficiency(table, 200e9) == pytest.approx(2 * 1024 ** 3 / 1e-2 / 200e9)
    assert check_layer_efficiency("fp32", 1.07) == []
    assert "reach 1% of the GEMM peak" in check_layer_efficiency("fp32", 0.01)[0]  # the loaded case of issue 16
    assert check_layer_efficiency("bf16", 2.0)[0].startswith("linear.bf16:")
    assert check_peaks({"fp32": 500e9, "fp64": 100e9}, {"fp32": 200e9, "fp64": 100e9}) == [
        "peak.fp32: 500 GFLOP/s is above twice the 200 GFLOP/s the cores, base clock and vector units allow "
        "(a timer problem)"]
    ok = {"forward": 3e-6, "per_kernel": 1.5e-6, "raw_forward": 3e-6, "raw_per_kernel": 1.5e-6}
    fn = {"forward": 0.0, "per_kernel": 0.4e-6, "raw_forward": -0.1e-6, "raw_per_kernel": 0.4e-6}
    assert check_runtimes({"eager": ok, "functional": fn}) == []
    cheap = dict(ok, per_kernel=0.05e-6)
    assert "below the functional calls'" in check_runtimes({"eager": cheap, "functional": fn})[0]
    neg = dict(ok, raw_forward=-5e-6, raw_per_kernel=0.0)
    assert "operators alone measured slower" in check_runtimes({"eager": neg})[0]
    assert spread([1.0, 1.5, 1.2]) == pytest.approx(0.5) and spread([1.0]) == 0.0
    assert table_spread([[1.0, 2.0, 1.0], [1.1, 1.0, 1.0]]) == {"median": pytest.approx(0.1), "p90": 1.0}


def test_groups_where_the_calling_thread_did_not_run_are_dropped(monkeypatch):
    """Two threads: a group in which the calling thread's CPU time is below 85% of the wall time was interrupted.
    Faked: a call takes 1 ms of wall and of the thread's CPU; every fourth call the thread is descheduled for 2 ms
    (3 ms of wall, 1 ms of CPU: a share of 1/3): those groups are dropped, the others kept."""
    import phasm_perf.hardware.measure.timing as timing

    state = {"wall": 0.0, "cpu": 0.0, "k": 0}

    def fn():
        state["k"] += 1
        slow = state["k"] % 4 == 0
        state["wall"] += 3e-3 if slow else 1e-3
        state["cpu"] += 1e-3

    monkeypatch.setattr(timing.time, "thread_time", lambda: state["cpu"])
    kept, dropped = time_groups(fn, seconds=0.04, threads=2, group_seconds=1e-3, clock=lambda: state["wall"])
    assert dropped >= 5 and kept and all(k == pytest.approx(1e-3) for k in kept)


def test_a_flagged_figure_reaches_the_device_and_the_prediction():
    from phasm_perf.predict import predict_report

    data = load("xeon-8380").model_dump()
    data["quality"] = {"flags": [{"figure": "linear.fp32", "reason": "measured while other processes used 1.9 of 2 "
                                                                    "core(s)"},
                                 {"figure": "linear.bf16", "reason": "not this dtype"},
                                 {"figure": "runtime.export", "reason": "not this runtime"}]}
    flagged = HardwareProfile.model_validate(data)
    dev = flagged.device("fp32", "eager")
    assert dev.flags == ("linear.fp32: measured while other processes used 1.9 of 2 core(s)",)
    rep = predict_report(flagged, 7, 6, "mlp:64x64", [1])
    assert rep.flags == list(dev.flags)
    assert flagged.device("fp32", "functional").notes[0].startswith("xeon-8380 has no figures for the functional")


# ------------------------------------------------------------------------------------------------ CUDA, faked
class FakeCuda:
    """A device with known answers: every figure of the profile can be computed by hand from them."""

    name, total_memory, multiprocessors, l2_bytes, torch_version = "Fake GPU", 16e9, 40, 4e6, "9.9"

    def gemm_seconds(self, dtype, n, tf32=False):
        return 2.0 * n ** 3 / ({"fp64": 1e12, "fp32": 10e12, "bf16": 100e12, "fp16": 100e12}[dtype]
                               * (5 if tf32 else 1))

    def triad_seconds(self, nbytes):
        return nbytes / (2e12 if nbytes < self.l2_bytes else 500e9)

    def issue_seconds(self):
        return 4e-6

    def kernel_seconds(self):
        return 2e-6

    def copy_seconds(self, nbytes, pinned):
        return 8e-6 if nbytes < 1024 else nbytes / (20e9 if pinned else 8e9)

    def forward_seconds(self, runtime, depth):
        base = {"eager": (30e-6, 6e-6), "functional": (5e-6, 4.5e-6)}[runtime]
        return base[0] + base[1] * (2 * depth - 1)


def test_the_cuda_path_against_a_fake_device():
    prof = measure_cuda(MeasureOptions(quick=True, device="cuda", runtimes=("eager", "functional")),
                        lambda what, frac: None, FakeCuda(),
                        in_program=lambda: {"cold_cache": 1e-5, "cold_cache_per_byte": 0.0, "marshal": 2e-6,
                                            "marshal_per_number": 3e-8, "marshal_per_numpy_number": 5e-8})
    assert prof.kind == "gpu" and prof.cores == 40
    assert prof.peak_flops["fp32"].value == pytest.approx(10e12) and prof.peak_flops["tf32"].value == \
        pytest.approx(50e12)
    assert [lvl.name for lvl in prof.memory] == ["L2", "HBM"]
    assert prof.memory[0].bandwidth == pytest.approx(2e12) and prof.memory[1].bandwidth == pytest.approx(500e9)
    assert prof.link.bandwidth == pytest.approx(20e9) and prof.link.pageable_bandwidth == pytest.approx(8e9)
    assert prof.link.latency == pytest.approx(8e-6)
    # per forward and per kernel from the host's time per forward, one synchronisation per group of forwards
    # (not one per kernel): the line through depths 1 and 3 of 30 us + 6 us x kernels
    assert prof.dispatch.value == pytest.approx(30e-6) and prof.launch_latency.value == pytest.approx(6e-6)
    assert prof.runtimes["functional"].per_kernel == pytest.approx(4.5e-6)
    assert prof.kernel_min.value == pytest.approx(2e-6)
    assert prof.in_program.marshal == pytest.approx(2e-6)  # the host's marshalling is kept on a GPU profile
    dev = prof.device("fp32", "functional")
    assert dev.t_dispatch == pytest.approx(5e-6) and dev.kernel_min == pytest.approx(2e-6) and dev.offload


def test_hw_measure_runtimes_option():
    import argparse

    from phasm_perf.cli.hw import _runtimes

    assert _runtimes("all") == ("eager", "inference", "functional", "export", "compile")
    assert _runtimes("no_grad,inference_mode,eager") == ("eager", "inference")
    with pytest.raises(argparse.ArgumentTypeError, match="aoti runs from C"):
        _runtimes("eager,aoti")
    with pytest.raises(argparse.ArgumentTypeError, match="not known"):
        _runtimes("jit")


def test_the_retries_help_states_the_budget_and_default_that_measure_uses():
    """The command line says its numbers literally (importing hw measure would slow every command's start-up by a
    quarter second): they must be the ones MeasureOptions uses."""
    from phasm_perf.cli.reference import commands

    measure = dict(commands())["phasm-perf hw measure"]
    retries = next(a for a in measure._actions if "--retries" in a.option_strings)
    opts = MeasureOptions()
    assert retries.default == opts.retries
    assert f"within {opts.budget_seconds:g} s of the start" in retries.help
    assert f"(default {opts.retries})" in retries.help


def test_two_passes_over_a_table_are_combined_and_checked():
    from phasm_perf.hardware.measure.tables import check_passes, combine

    assert combine(1.0, 1.2) == pytest.approx(1.1)       # close: the mean
    assert combine(1.0, 450.0) == 1.0                    # a stall hit one pass: the lower
    steady = {"passes": [[1.0] * 10, [1.1] * 10]}
    stalled = {"passes": [[1.0] * 10, [1.0] * 8 + [3.0, 400.0]]}
    assert check_passes("fp32", steady) == []
    assert check_passes("fp32", stalled)[0].startswith("linear.fp32: the two passes over the table differ")


def test_only_the_nodes_whose_passes_disagree_are_measured_a_third_time(monkeypatch):
    """Pass 2 finds one node 3x slower (the core changed speed): that node alone is measured again, keeps the two
    closest of its three figures, and the table says how many nodes it measured again; a later pass times a call
    known to take 20 ms or more in two groups, a shorter one in three."""
    pytest.importorskip("torch")
    from phasm_perf.hardware.measure import tables

    n_nodes = len(tables.QUICK_BATCHES) * len(tables.QUICK_WIDTHS) ** 2
    calls: list[tuple[float | None, int]] = []

    def fake_median(fn, *, seconds, threads, min_groups, known=None):
        calls.append((known, min_groups))
        k = len(calls)
        if k == n_nodes + 1:     # pass 2 runs in reverse: its first node is the table's last
            return 3e-3
        return 1.1e-3 if k > 2 * n_nodes else 1e-3

    monkeypatch.setattr(tables, "median_time", fake_median)
    t = tables.linear_table("fp32", MeasureOptions(quick=True), 1, lambda what, f: None, (0.0, 1.0))
    assert len(calls) == 2 * n_nodes + 1 and t["again"] == 1
    assert t["passes"][0][-1] == 1e-3 and t["passes"][1][-1] == 1.1e-3      # the 3 ms figure dropped
    assert t["seconds"][-1] == pytest.approx(1.05e-3) and t["seconds"][0] == 1e-3
    assert calls[0] == (None, 3) and calls[-1] == (1e-3, 3)
    assert tables.later_groups(0.02) == 2 and tables.later_groups(0.019) == 3 and tables.later_groups(None) == 3
    assert tables.closest_two([1.0, 2.0, 1.9]) == (2.0, 1.9) and tables.disagree(1.0, 1.6)
    assert not tables.disagree(1.0, 1.5)


def test_the_speed_probe_runs_between_groups_never_inside_one():
    from phasm_perf.hardware.measure.timing import SpeedProbe, probing, speed_summary

    log: list[str] = []
    probe = SpeedProbe(lambda: log.append("p"), calls=3, warm=1, every=0.0)
    time_groups(lambda: log.append("g"), seconds=0.0, group_seconds=0.0, min_groups=4)  # no probe outside
    assert "p" not in log and probe.samples == []
    log.clear()
    with probing(probe):
        _, dropped = time_groups(lambda: log.append("g"), seconds=0.0, group_seconds=0.0, min_groups=4)
    # a warm-up call and the sizing call, a whole group long here (group_seconds 0: it is the first group), then
    # per further group: the probe (1 warm + 3 timed calls), the group
    text = "".join(log)
    assert text.startswith("gg") and text[2:] == "ppppg" * 3 and len(probe.samples) == 3
    log.clear()
    with probing(SpeedProbe(lambda: log.append("p"), calls=3, every=3600.0)) as rare:
        time_groups(lambda: log.append("g"), seconds=0.0, group_seconds=0.0, min_groups=4)
    assert len(rare.samples) == 1  # at most one group every `every` seconds
    # the summary by hand: median 5.5 of 1..10, 10th percentile the 2nd value, 90th the 10th
    assert speed_summary([float(v) for v in range(10, 0, -1)]) == {"seconds": 5.5, "p10": 2.0, "p90": 10.0,
                                                                   "samples": 10}


def test_a_later_pass_sizes_its_groups_from_the_first_and_makes_no_warm_up_calls():
    """A node whose call is known from the first pass: its groups only (3 calls of a large node, not 5), and as
    many calls per group as the known time gives; the median over the groups ignores one slow first group."""
    clock = {"t": 0.0}
    costs = iter([0.5] + [0.1] * 20)   # a cold first call, then 0.1 s each

    def call():
        clock["t"] += next(costs)

    tick = lambda: clock["t"]  # noqa: E731
    times, _ = time_groups(call, seconds=0.0, group_seconds=1e-3, min_groups=3, clock=tick, known=0.1)
    assert times == pytest.approx([0.5, 0.1, 0.1])  # no warm-up: the cold call is the first group
    costs = iter([0.5] + [0.1] * 20)
    n = {"calls": 0}

    def counted():
        n["calls"] += 1
        call()

    times, _ = time_groups(counted, seconds=0.0, group_seconds=1e-3, min_groups=3, clock=tick)
    # the cold warm-up call not kept; the sizing call, a whole group long, is the first of the three groups
    assert times == pytest.approx([0.1, 0.1, 0.1]) and n["calls"] == 4
    # a short call only sizes the groups: two calls before three groups of 4 (2^-12 s calls, 2^-10 s groups: exact
    # in binary, so the clock's sums are too)
    clock["t"], n["calls"] = 0.0, 0
    costs = iter([2.0 ** -12] * 20)
    times, _ = time_groups(counted, seconds=0.0, group_seconds=2.0 ** -10, min_groups=3, clock=tick)
    assert len(times) == 3 and n["calls"] == 2 + 12
    # a small node: calls per group from the known time (1 ms groups of a 0.25 ms call: 4 a group)
    n = {"calls": 0}
    costs = iter([2.5e-4] * 20)
    time_groups(lambda: n.__setitem__("calls", n["calls"] + 1), seconds=0.0, group_seconds=1e-3, min_groups=3,
                clock=tick, known=2.5e-4)
    assert n["calls"] == 12


def test_no_attempt_is_started_that_would_end_past_the_deadline(monkeypatch):
    """An inconsistent step is measured again only while another attempt, as long as the one just made, ends before
    the deadline: 30 s tables with 70 s left are measured again once (the third would end at 90 s), with 50 s left
    not at all."""
    import types

    from phasm_perf.hardware.measure import checks

    now = [0.0]
    monkeypatch.setattr(checks, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    class Fake:   # each attempt takes 30 s
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            now[0] += 30.0
            self.load = StepLoad(30.0, 30.0, 0.0, 0.5, 1)

    def attempts(left: float) -> int:
        now[0] = 0.0
        step = run_step("linear.fp32", lambda: 1, threads=1, cores=2, retries=2, deadline=left,
                        check=lambda v: ["linear.fp32: passes differ"], monitor=Fake)
        assert step.flags == [("linear.fp32", "passes differ")]   # still inconsistent: flagged with its reason
        return step.attempts

    assert attempts(1e6) == 3
    assert attempts(70.0) == 2
    assert attempts(50.0) == 1
