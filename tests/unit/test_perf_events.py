"""The perf collector's event logic on `perf script` text written in perf's own format: on-CPU samples, off-CPU
intervals from switch-out to switch-in, preemption kept apart, [unknown] frames counted, inlined frames noted."""

from __future__ import annotations

from phasm_perf.calltree.readers.perf_script import read_perf_script
from phasm_perf.collect.perf import explain_perf_failure, split_events

PERIOD = 1_000_000


def sample(tid: int, t: float, frames: list[str]) -> list[str]:
    return [f"prog {tid}  {t:.6f}:    {PERIOD} cpu-clock/period={PERIOD}/: \n", *(f"\t{f}\n" for f in frames), "\n"]


def switch_out(tid: int, t: float, state: str, frames: list[str]) -> list[str]:
    return [f"prog {tid} [001]  {t:.6f}:        sched:sched_switch: prev_comm=prog prev_pid={tid} prev_prio=120 "
            f"prev_state={state} ==> next_comm=swapper/1 next_pid=0 next_prio=120\n",
            *(f"\t{f}\n" for f in frames), "\n",
            f"prog {tid}  {t + 0.000010:.6f}: PERF_RECORD_SWITCH OUT{' preempt' if state.startswith('R') else ''}\n"]


def switch_in(tid: int, t: float) -> list[str]:
    return [f"prog {tid}  {t:.6f}: PERF_RECORD_SWITCH IN         \n"]


KERNEL = ["ffffffff821facd8 __schedule+0x618 ([kernel.kallsyms])",
          "ffffffff821fb643 schedule+0x23 ([kernel.kallsyms])"]
MAIN = ["    12a1 main+0x71 (/opt/prog)", "   27249 __libc_start_call_main+0x79 (/usr/lib/libc.so.6)"]
COMPUTE = ["    2150 kernel_step<double>+0xe0 (inlined)", "    2150 compute+0xe0 (/opt/prog)", *MAIN]
WAIT = [*KERNEL, "   fec20 __GI_fsync+0x10 (inlined)", "    1af6 read_out+0x4e6 (/opt/prog)", *MAIN]
SPIN = ["    3000 spin+0x10 (/opt/prog)", *MAIN]
UNKNOWN = ["    3808 [unknown] (/usr/lib/libgcc_s.so.1)", "    3000 spin+0x10 (/opt/prog)", *MAIN]


def test_on_and_off_cpu_weights_come_from_periods_and_switch_intervals():
    t0, sleep_s, preempt_s = 100.0, 0.050, 0.004
    text = (sample(7, t0, COMPUTE) + sample(7, t0 + 0.001, COMPUTE) + sample(7, t0 + 0.002, SPIN)
            + switch_out(7, t0 + 0.003, "S", WAIT) + switch_in(7, t0 + 0.003 + sleep_s)
            + sample(7, t0 + 0.060, UNKNOWN)
            + switch_out(7, t0 + 0.061, "R+", SPIN) + switch_in(7, t0 + 0.061 + preempt_s)
            + switch_out(8, t0 + 0.070, "D", WAIT))  # thread 8 never comes back before the end
    ev = split_events(iter(text), PERIOD)
    assert ev.samples == 4 and ev.switches == 3
    assert ev.threads == {7, 8}
    on = read_perf_script(ev.on_cpu_lines, kernel=True)
    off = read_perf_script(ev.off_cpu_lines, kernel=True)
    assert sum(on.values()) == 4 * PERIOD
    # the sleeping interval, from the sched_switch sample to the thread's next switch-in, on its own stack
    (stack, ns), = off.items()
    assert ns == round(sleep_s * 1e9)
    assert stack == ("prog", "__libc_start_call_main", "main", "read_out", "__GI_fsync", "schedule_[k]",
                     "__schedule_[k]")
    # preemption is not off-CPU time, but is reported; a thread that never came back is not guessed
    assert ev.preempted_ns == round(preempt_s * 1e9)
    assert ev.unmatched == 1
    # one sample of four has an [unknown] frame, in libgcc_s
    assert ev.unknown_ns == PERIOD and set(ev.unknown_modules) == {"/usr/lib/libgcc_s.so.1"}
    # the inlined frame is kept in the stack and noted with the module and address it was inlined at
    assert any("kernel_step<double>" in s for s in on)
    assert ev.inlined == {"/opt/prog": {"kernel_step<double>": "2150"}}


def test_failure_messages_name_the_fix():
    paranoid = ("Error:\nAccess to performance monitoring and observability operations is limited.\n"
                "Consider adjusting /proc/sys/kernel/perf_event_paranoid setting to open\n")
    line = explain_perf_failure(paranoid)
    assert "sudo sysctl kernel.perf_event_paranoid=1" in line and "--collector callgrind" in line
    assert "\n" not in line
    other = explain_perf_failure("Workload failed: something odd\n")
    assert other.startswith("perf cannot record here: Workload failed") and "--collector callgrind" in other
