"""One profile run: start the program, attach the sampler, keep everything when things go wrong.

- The program runs in its own session, so Ctrl-C reaches phasm-perf, which forwards it (a second Ctrl-C kills
  the program); SIGTERM and SIGHUP are forwarded the same way. The run then ends ``interrupted`` and the samples
  taken so far are kept.
- A program that exits non-zero (or crashes) ends ``failed``; its samples, stderr and exit status are kept.
- The bundle is assembled in a temporary directory and renamed into place at the end.
"""

from __future__ import annotations

import datetime as _dt
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .. import __version__
from ..core.errors import PhasmError, ProgramInterrupted
from ..core.output import output_error
from ..calltree.readers.base import Profile
from ..core.bundle import Analysis, Bundle, BundleWriter, CollectorInfo, CountsInfo, Meta, load_bundle
from .base import first_message
from .collectors import make_collector
from .counts import count_calls
from .native_counts import count_native_calls
from .host import host_info
from .program import Target
from .extras import RunExtras, pick_collector

INTERRUPT_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL, signal.SIGQUIT}


@dataclass
class ProfileOptions:
    collector: str = "auto"          # auto | austin | py-spy
    interval: float = 0.001          # seconds between samples
    counts: bool = True              # run the exact call-counting pass
    analysis: Analysis = field(default_factory=Analysis)  # event loop, min fraction, how many to count (kept in meta)
    show_output: bool = False        # let the program write to the terminal instead of the bundle
    force: bool = False              # replace an existing bundle
    cwd: str | None = None
    torch_profiler: bool = False     # record PyTorch operators (FLOPs, bytes) with torch.profiler
    gpu_interval: float = 0.1        # seconds between NVML samples (when a GPU is present)


@dataclass
class _RunState:
    signal: int | None = None
    killed: bool = False
    notes: list[str] = field(default_factory=list)


@contextmanager
def _forward_signals(get_proc: Callable[[], subprocess.Popen | None], state: _RunState) -> Iterator[None]:
    def handler(signum, frame):  # noqa: ARG001
        proc = get_proc()
        first = state.signal is None
        state.signal = state.signal or signum
        if proc is None or proc.poll() is not None:
            return
        try:
            if first:
                os.killpg(proc.pid, signum)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
                state.killed = True
        except ProcessLookupError:
            pass

    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def default_collector(target: Target) -> str:
    if target.kind == "python":
        return "austin"
    if target.kind == "native":
        return "perf"
    raise PhasmError(
        f"cannot tell what kind of program {target.argv[0]!r} is; for a Python program run it as "
        "`phasm-perf rank -- python prog.py ...`"
    )


@dataclass
class _Ran:
    """What running the program under the collector gave."""

    rc: int
    wall: float
    start: _dt.datetime
    sampler_rc: int | None


def profile(target: Target, out: str | os.PathLike, options: ProfileOptions = ProfileOptions(),
            on_status: Callable[[str], None] | None = None, choose: Chooser | None = None) -> Bundle:
    """Run ``target`` under the collector, write the bundle to ``out`` and return it (whatever the exit status).
    ``choose`` picks the functions whose calls the counting pass counts (none: no counting pass).

    The caller decides what a failed or interrupted status means for it; this function only raises
    :class:`PhasmError` when there is nothing to keep (the collector is missing or cannot attach).
    """
    say = on_status or (lambda msg: None)
    name, choice_note = pick_collector(target, options.collector, default_collector)
    collector = make_collector(name, options.interval)
    writer = BundleWriter(out, overwrite=options.force)
    state = _RunState(notes=[choice_note] if choice_note else [])
    state.notes.extend(_interval_notes(options.interval, collector, say))
    extra = RunExtras(collector, target, options, writer, state.notes)
    procs: list[subprocess.Popen] = []
    path: Path | None = None
    try:
        with _abort_on_signals():  # while the program runs, _run forwards signals to it instead
            raw = writer.file(f"{collector.name}.raw")
            ran = _run(target, options, collector, extra, writer, raw, state, say, procs)
            samples = extra.parse(raw)
            _check_sampled(samples, ran, collector, writer)
            status = _status(ran.rc, state)
            state.notes.extend(_sample_notes(samples, collector))
            writer.write_stacks("oncpu.folded", samples.on_cpu)
            writer.write_stacks("offcpu.folded", samples.off_cpu)
            raw.unlink(missing_ok=True)
            counts = _counts(target, samples, status, options, extra, writer, say, state, choose)
            meta = _meta(target, options, collector, extra, samples, ran, status, counts, state)
            writer.write_json("counts.json", counts.model_dump())
            with _signals_held():  # the rename and knowing it happened are one step
                path = writer.commit(meta)
    except BaseException as exc:
        _kill(procs)
        if path is None:
            writer.abort()
        if isinstance(exc, OSError):  # writing the bundle (a full disk, a folder that went away)
            raise output_error(out, exc) from None
        if isinstance(exc, KeyboardInterrupt) and path is not None:
            raise ProgramInterrupted(f"phasm-perf was interrupted ({_Stopped.name(exc)}) just after it wrote the "
                                     f"bundle {str(path)!r}, which is complete") from None
        if isinstance(exc, KeyboardInterrupt):  # phasm-perf itself, after the program: nothing half-written is kept
            raise ProgramInterrupted(f"phasm-perf was interrupted ({_Stopped.name(exc)}) while it wrote the bundle: "
                                     f"nothing was kept in {str(out)!r}") from None
        raise
    return load_bundle(path)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held back (delivered at the end of the block)."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (or SIGINT) to phasm-perf when no program runs: stop, as Ctrl-C does."""

    @staticmethod
    def name(exc: BaseException) -> str:
        return signal.Signals(exc.args[0]).name if isinstance(exc, _Stopped) else "SIGINT"


@contextmanager
def _abort_on_signals() -> Iterator[None]:
    def handler(signum, frame):  # noqa: ARG001
        raise _Stopped(signum)

    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _kill(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _run(target: Target, options: ProfileOptions, collector, extra: RunExtras, writer: BundleWriter, raw: Path,
         state: _RunState, say, procs: list) -> _Ran:
    """Start the program (and, for an attaching collector, the sampler on it); wait for both."""
    out_f = None if options.show_output else open(writer.file("stdout.txt"), "wb")
    err_f = None if options.show_output else open(writer.file("stderr.txt"), "wb")
    coll_err = open(writer.file("collector.log"), "wb")
    start = _dt.datetime.now(_dt.timezone.utc)
    try:
        with _forward_signals(lambda: procs[0] if procs else None, state):
            say(f"running {target.display}")
            t0 = time.perf_counter()
            try:
                procs.append(subprocess.Popen(extra.argv(raw), cwd=options.cwd, env=extra.env(), stdout=out_f,
                                              stderr=err_f, start_new_session=True, preexec_fn=_allow_sampler))
            except OSError as exc:
                raise PhasmError(f"cannot run {target.argv[0]!r}: {exc.strerror}") from None
            proc = procs[0]
            extra.started()
            sampler = extra.sampler(proc, raw)
            if sampler is None:
                sampler, tries = attach_sampler(collector.command(proc.pid, raw), proc, coll_err)
                if tries > 1 and sampler.returncode in (None, 0):
                    state.notes.append(f"{collector.name} could not attach at first and was started again "
                                       f"({tries} tries; its messages are in collector.log)")
            rc = _wait(proc)
            wall = time.perf_counter() - t0
            extra.stopped(rc)
            if not _stop(sampler):
                state.notes.append(f"{collector.name} did not stop by itself after the program ended")
    finally:
        for f in (out_f, err_f, coll_err):
            if f:
                f.close()
    return _Ran(rc, wall, start, sampler.returncode)


def _stop(sampler: subprocess.Popen) -> bool:
    """Wait for the sampler to finish writing; terminate (then kill) it if it does not. False: it had to be."""
    try:
        sampler.wait(timeout=15)
        return True
    except subprocess.TimeoutExpired:
        sampler.terminate()
        try:
            sampler.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sampler.kill()
        return False


def _interval_notes(interval: float, collector, say) -> list[str]:
    """A warning (said now, kept in the notes) for an interval the sampler cannot keep, or too long to be useful."""
    floor = collector.min_interval
    if interval < floor:
        note = (f"--interval {interval:g} s is below {collector.name}'s floor of {floor * 1e6:g} µs: sampled every "
                f"{floor * 1e6:g} µs")
    elif interval > 1.0:
        note = f"--interval {interval:g} s: fewer than one sample a second, so short functions may not be seen"
    else:
        return []
    say(f"warning: {note}")
    return [note]


def _check_sampled(samples: Profile, ran: _Ran, collector, writer: BundleWriter) -> None:
    """A collector that took no sample of a program that ran, and exited with an error, could not attach: that is
    the error (with the collector's own explanation), and nothing is kept."""
    if samples.samples == 0 and ran.wall > 0.5 and ran.sampler_rc not in (0, None):
        log = writer.file("collector.log").read_text(errors="replace")
        hint = collector.explain_failure(log)
        raise PhasmError(hint or f"{collector.name} took no sample and exited {ran.sampler_rc}: "
                         f"{first_message(log) or 'no message'}")


def _status(rc: int, state: _RunState) -> str:
    if state.signal is not None or (rc < 0 and -rc in INTERRUPT_SIGNALS):
        return "interrupted"
    return "failed" if rc != 0 else "complete"


def _sample_notes(samples: Profile, collector) -> list[str]:
    notes = []
    if samples.invalid:
        notes.append(f"{samples.invalid} of {samples.samples} samples could not be read and were skipped")
    if not collector.off_cpu:
        notes.append(collector.off_cpu_note
                     or f"{collector.name} records on-CPU stacks only: off-CPU time is not split out")
    return notes


def _counts(target: Target, samples: Profile, status: str, options: ProfileOptions, extra: RunExtras,
            writer: BundleWriter, say, state: _RunState, choose: Chooser | None) -> CountsInfo:
    if not options.counts:
        return CountsInfo(status="unavailable (not collected: --no-counts)")
    if status != "complete":
        return CountsInfo(status=f"unavailable (the program's run was {status}; no counting pass)")
    if not samples.on_cpu and not samples.off_cpu:
        return CountsInfo(status="unavailable (no samples)")
    own = extra.own_counts(samples)  # callgrind counts in its own run
    return own if own is not None else _counting_pass(target, samples, options, writer, say, state, choose)


def _signal_name(rc: int, state: _RunState) -> str | None:
    if state.signal:
        return signal.Signals(state.signal).name
    if rc < 0 and -rc in {s.value for s in signal.Signals}:
        return signal.Signals(-rc).name
    return None


def _meta(target: Target, options: ProfileOptions, collector, extra: RunExtras, samples: Profile, ran: _Ran,
          status: str, counts: CountsInfo, state: _RunState) -> Meta:
    meta = Meta(
        tool_version=__version__, argv=list(target.argv), cwd=os.path.abspath(options.cwd or os.getcwd()),
        kind=target.kind, program=str(target.program) if target.program else None,
        start_time=ran.start.isoformat(timespec="seconds"), wall_seconds=round(ran.wall, 6), exit_status=ran.rc,
        status=status, signal=_signal_name(ran.rc, state),
        collector=CollectorInfo(name=collector.name, version=collector.version, interval_seconds=options.interval,
                                off_cpu=collector.off_cpu, command=extra.command_shown()),
        weight_unit=samples.weight_unit, seconds_per_unit=samples.seconds_per_unit, samples=samples.samples,
        threads=samples.threads, host=host_info(), counts=counts, analysis=options.analysis, notes=state.notes,
        partial=status == "interrupted",
    )
    if meta.partial:
        meta.notes.insert(0, f"partial: the run was cut short ({meta.signal or 'interrupted'}) after "
                             f"{ran.wall:.2f} s; the bundle holds the {samples.samples:,} samples taken until then")
    meta.gpu = extra.gpu_status(meta.host.get("gpu", {}).get("status", "unavailable"))
    return meta


def _allow_sampler() -> None:
    """In the child, before exec: let a non-parent sampler attach where Yama restricts ptrace (PR_SET_PTRACER).

    Without Yama the call fails harmlessly.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(0x59616D61, ctypes.c_ulong(-1 & 0xFFFFFFFFFFFFFFFF), 0, 0, 0)  # PR_SET_PTRACER, ANY
    except Exception:
        pass


def attach_sampler(command: list[str], proc: subprocess.Popen, log, tries: int = 3,
                   settle: float = 1.0) -> tuple[subprocess.Popen, int]:
    """Start an attaching sampler on ``proc``; ``(sampler, tries used)``.

    A sampler that exits with an error within ``settle`` seconds while the program still runs did not attach (an
    attach can land while the program's interpreter is still starting: Austin 3 then says "not a Python process",
    rarely, and the run would go unsampled): it is started again, up to ``tries`` times. Its messages go to
    ``log`` (all tries, so a failure that persists is explained by them)."""
    attempt = 1
    while True:
        sampler = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and sampler.poll() is None and proc.poll() is None:
            time.sleep(0.01)
        if sampler.returncode in (None, 0) or proc.poll() is not None or attempt >= tries:
            return sampler, attempt
        attempt += 1
        time.sleep(0.05)


def _wait(proc: subprocess.Popen) -> int:
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # only if our handler was replaced; keep waiting for the child
            continue


#: what the counting pass needs of each function to count: its call-tree key, source file and name
CountTarget = tuple[str, str, str]
#: chooses the functions to count from the run's stacks (the candidates' job, passed in by the caller: collection
#: does not rank)
Chooser = Callable[[Profile, Target, ProfileOptions], list[CountTarget]]


def _counting_pass(target, samples: Profile, options: ProfileOptions, writer: BundleWriter, say, state: _RunState,
                   choose: Chooser | None) -> CountsInfo:
    functions = [f for f in choose(samples, target, options) if f[1]] if choose else []
    if not functions:
        return CountsInfo(status="unavailable (no candidate to count)")
    say(f"counting calls of {len(functions)} candidate(s): running the program a second time")
    with _forward_signals(lambda: None, state):
        if target.kind == "native":
            info = count_native_calls(target, functions, cwd=options.cwd,
                                      stderr_path=writer.file("stderr.counting.txt"))
        else:
            info = count_calls(target, functions, cwd=options.cwd, stderr_path=writer.file("stderr.counting.txt"))
    if state.signal is not None:
        return CountsInfo(status="unavailable (interrupted during the counting pass)")
    return info
