"""One profile run: start the program, attach the sampler, keep everything when things go wrong.

- The program runs in its own session, so Ctrl-C reaches phasm-perf, which forwards it (a second Ctrl-C kills
  the program); SIGTERM and SIGHUP are forwarded the same way. The run then ends ``interrupted`` and the samples
  taken so far are kept, marked partial (:mod:`.signals`).
- A program that exits non-zero (or crashes) ends ``failed``; its samples, stderr and exit status are kept. So
  does a run whose sampler could not attach (the bundle keeps the collector's log; the error names the cause).
- The bundle is assembled in a temporary directory and renamed into place at the end
  (:class:`~phasm_perf.core.bundle_files.BundleWriter`); phasm-perf stopped outside the program's run keeps nothing.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .. import __version__
from ..core.errors import PhasmError, ProgramInterrupted
from ..core.output import output_error
from ..calltree.readers.base import Profile
from ..core.bundle_files import BundleWriter
from .base import first_message
from .collectors import make_collector
from .counts import count_calls
from .native_counts import count_native_calls
from .host import host_info
from .launch import describe, find_interpreter, script_of
from .program import Target
from .signals import Stopped, abort_on_signals, forward_signals, kill, signals_held
from .extras import RunExtras, pick_collector
from .gate import StartGate, start_piped

if TYPE_CHECKING:  # the bundle's types (pydantic): imported once the program runs, not before (start-up time)
    from ..core.bundle import Analysis, Bundle, CountsInfo, Meta

INTERRUPT_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL, signal.SIGQUIT}


@dataclass
class ProfileOptions:
    collector: str = "auto"          # auto | austin | py-spy
    interval: float = 0.001          # seconds between samples
    counts: bool = True              # run the exact call-counting pass
    #: the analysis options (event loop, min fraction, how many to count: kept in meta), as given: a mapping of the
    #: fields of :class:`~phasm_perf.core.bundle.Analysis`, or one; read through :attr:`analysis`
    analysis_given: Any = None
    show_output: bool = False        # let the program write to the terminal instead of the bundle
    force: bool = False              # replace an existing bundle
    cwd: str | None = None
    torch_profiler: bool = False     # record PyTorch operators (FLOPs, bytes) with torch.profiler
    gpu_interval: float = 0.1        # seconds between NVML samples (when a GPU is present)

    @property
    def analysis(self) -> Analysis:
        from ..core.bundle import Analysis  # pydantic: once the program runs (start-up time)

        given = self.analysis_given
        if isinstance(given, Analysis):
            return given
        return Analysis(**{k: v for k, v in (given or {}).items() if v is not None})


@dataclass
class _RunState:
    signal: int | None = None
    killed: bool = False
    notes: list[str] = field(default_factory=list)
    attached: int | None = None      # the pid an attaching sampler was started on
    attached_what: str = ""          # and what it was (for a message)


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
    sampler_started: bool = True


def profile(target: Target, out: str | os.PathLike, options: ProfileOptions = ProfileOptions(),
            on_status: Callable[[str], None] | None = None, choose: Chooser | None = None,
            on_started: Callable[[], None] | None = None) -> Bundle:
    """Run ``target`` under the collector, write the bundle to ``out`` and return it (whatever the exit status).
    ``choose`` picks the functions whose calls a counting pass counts (none: no counting pass); ``on_started`` is
    called once the program and its sampler run (the caller's chance to prepare the analysis meanwhile).

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
        with abort_on_signals():  # while the program runs, _run forwards signals to it instead
            raw = writer.file(f"{collector.name}.raw")
            ran = _run(target, options, collector, extra, writer, raw, state, say, procs, on_started)
            samples = extra.parse(raw)
            from ..core.bundle import CountsInfo, load_bundle  # pydantic, once the program has run (start-up time)

            failure = _sampler_failure(samples, ran, collector, writer, state)
            status = "failed" if failure else _status(ran.rc, state)
            state.notes.extend(([failure] if failure else []) + _sample_notes(samples, collector, ran, extra.held))
            writer.write_stacks("oncpu.folded", samples.on_cpu)
            writer.write_stacks("offcpu.folded", samples.off_cpu)
            raw.unlink(missing_ok=True)
            counts = _counts(target, samples, status, options, extra, writer, say, state, choose) if not failure \
                else CountsInfo(status="unavailable (nothing was sampled)")
            meta = _meta(target, options, collector, extra, samples, ran, status, counts, state)
            writer.write_json("counts.json", counts.model_dump())
            with signals_held():  # the rename and knowing it happened are one step
                path = writer.commit(meta)
    except BaseException as exc:
        extra.discard()
        kill(procs)
        if path is None:
            writer.abort()
        if isinstance(exc, OSError):  # writing the bundle (a full disk, a folder that went away)
            raise output_error(out, exc) from None
        if isinstance(exc, KeyboardInterrupt) and path is not None:
            raise ProgramInterrupted(f"phasm-perf was interrupted ({Stopped.name(exc)}) just after it wrote the "
                                     f"bundle {str(path)!r}, which is complete") from None
        if isinstance(exc, KeyboardInterrupt):  # phasm-perf itself, after the program: nothing half-written is kept
            raise ProgramInterrupted(f"phasm-perf was interrupted ({Stopped.name(exc)}) while it wrote the bundle: "
                                     f"nothing was kept in {str(out)!r}") from None
        raise
    if failure:
        raise PhasmError(f"{failure}; the run's bundle, with the collector's log, is kept in {path} (status failed)")
    return load_bundle(path)


def _run(target: Target, options: ProfileOptions, collector, extra: RunExtras, writer: BundleWriter, raw: Path,
         state: _RunState, say, procs: list, on_started: Callable[[], None] | None = None) -> _Ran:
    """Start the program (and, for an attaching collector, the sampler on it); wait for both."""
    out_f = None if options.show_output else open(writer.file("stdout.txt"), "wb")
    err_f = None if options.show_output else open(writer.file("stderr.txt"), "wb")
    coll_err = open(writer.file("collector.log"), "wb")
    start = _dt.datetime.now(_dt.timezone.utc)
    try:
        with forward_signals(lambda: procs[0] if procs else None, state):
            say(f"running {target.display}")
            t0 = time.perf_counter()
            try:
                procs.append(subprocess.Popen(extra.argv(raw), cwd=options.cwd, env=extra.env(), stdout=out_f,
                                              stderr=err_f, start_new_session=True, preexec_fn=_allow_sampler))
            except OSError as exc:
                raise PhasmError(f"cannot run {target.argv[0]!r}: {exc.strerror}") from None
            proc = procs[0]
            extra.started()
            if on_started:
                on_started()
            sampler = extra.sampler(proc, raw)
            if sampler is None:
                sampler = _attach(target, options, collector, extra, proc, raw, coll_err, state)
            rc = _wait(proc)
            wall = time.perf_counter() - t0
            extra.stopped(rc)
            if sampler is not None and not _stop(sampler):
                state.notes.append(f"{collector.name} did not stop by itself after the program ended")
            if sampler is not None and getattr(sampler, "pump", None) is not None:
                sampler.pump.join(timeout=30)  # the last samples copied before the raw file is read
    finally:
        for f in (out_f, err_f, coll_err):
            if f:
                f.close()
    return _Ran(rc, wall, start, sampler.returncode if sampler is not None else None,
                sampler is not None)


def _attach(target: Target, options: ProfileOptions, collector, extra: RunExtras, proc: subprocess.Popen,
            raw: Path, log, state: _RunState) -> subprocess.Popen | None:
    """Start the attaching sampler on the program's Python interpreter, which a launcher (a shim, ``env``, ``uv
    run``, ``conda run``, ``mpirun``) may start after an ``exec`` or as a child: wait for it (:mod:`.launch`).
    None: no interpreter ever ran (the program ended first)."""
    pid = proc.pid
    if target.kind == "python":
        runs = script_of(target.argv)
        interp = find_interpreter(proc, target.program, options.cwd,
                                  module=runs if runs and runs.startswith("-m ") else None)
        if interp is None:
            state.notes.append(f"no Python interpreter appeared under {target.argv[0]!r} before it ended: nothing "
                               "was sampled")
            return None
        pid = interp.pid
        if interp.pid != proc.pid or os.path.realpath(interp.exe) != os.path.realpath(shutil.which(target.argv[0])
                                                                                   or target.argv[0]):
            state.notes.append(f"{target.argv[0]!r} launched the interpreter {interp.exe} (pid {interp.pid}"
                               f"{', a child of the launcher' if interp.pid != proc.pid else ''}): it was sampled")
    state.attached = pid
    state.attached_what = f"pid {pid}, {describe(pid)}"
    gate = extra.gate
    piped = collector.piped_command(pid) if gate is not None else None
    sampler, tries = attach_sampler(piped or collector.command(pid, raw), proc, log,
                                    gate=(gate, raw) if piped else None)
    if tries > 1 and sampler.returncode in (None, 0):
        state.notes.append(f"{collector.name} could not attach at first and was started again "
                           f"({tries} tries; its messages are in collector.log)")
    return sampler


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


def _sampler_failure(samples: Profile, ran: _Ran, collector, writer: BundleWriter, state: _RunState) -> str | None:
    """Why a sampler took no sample of a program that ran (it could not attach, or never found an interpreter),
    with the collector's own explanation; None when it sampled (or the program was too short to say)."""
    if samples.samples or samples.on_cpu or samples.off_cpu or ran.wall <= 0.5:
        return None
    if not ran.sampler_started:
        return f"{collector.name} sampled nothing: no Python interpreter appeared under the command"
    if ran.sampler_rc in (0, None):
        return None
    log = writer.file("collector.log").read_text(errors="replace")
    what = f" to {state.attached_what}" if state.attached_what else ""
    hint = collector.explain_failure(log)
    return hint.replace("{what}", what) if hint else (f"{collector.name} could not attach{what}: it exited "
                                                      f"{ran.sampler_rc} ({first_message(log) or 'no message'})")


def _status(rc: int, state: _RunState) -> str:
    if state.signal is not None or (rc < 0 and -rc in INTERRUPT_SIGNALS):
        return "interrupted"
    return "failed" if rc != 0 else "complete"


def _sample_notes(samples: Profile, collector, ran: _Ran, held: bool = False) -> list[str]:
    """The notes on what was sampled; ``held``: the program waited for the sampler (the start gate), so what the
    samples miss is the interpreter's start-up, not the program's."""
    notes = []
    missed = ran.wall - samples.sampled_seconds
    if samples.sampled_seconds and not held and missed > max(0.1, 0.05 * ran.wall):
        notes.append(f"the samples cover {samples.sampled_seconds:.2f} s of the run's {ran.wall:.2f} s: the first "
                     f"{missed:.2f} s, before {collector.name} attached, are not in the profile (what the program "
                     "did then is missing: its interpreter was started by a launcher, or by py-spy's attach)")
    if samples.invalid:
        notes.append(f"{samples.invalid} of {samples.samples} samples could not be read and were skipped")
    if not collector.off_cpu:
        notes.append(collector.off_cpu_note
                     or f"{collector.name} records on-CPU stacks only: off-CPU time is not split out")
    return notes


def _counts(target: Target, samples: Profile, status: str, options: ProfileOptions, extra: RunExtras,
            writer: BundleWriter, say, state: _RunState, choose: Chooser | None) -> CountsInfo:
    from ..core.bundle import CountsInfo  # after the run (start-up time)

    if not options.counts:
        return CountsInfo(status="unavailable (not collected: --no-counts)")
    if status != "complete":
        return CountsInfo(status=f"unavailable (the run ended {status}: its counts would be partial)")
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
    from ..core.bundle import CollectorInfo, Meta  # after the run (start-up time)

    meta = Meta(
        tool_version=__version__, argv=list(target.argv), cwd=os.path.abspath(options.cwd or os.getcwd()),
        kind=target.kind, program=str(target.program) if target.program else None,
        start_time=ran.start.isoformat(timespec="seconds"), wall_seconds=round(ran.wall, 6),
        sampled_seconds=round(samples.sampled_seconds, 6) or None, exit_status=ran.rc,
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


def attach_sampler(command: list[str], proc: subprocess.Popen, log, tries: int = 3, settle: float = 1.0,
                   gate: tuple[StartGate, Path] | None = None) -> tuple[subprocess.Popen, int]:
    """Start an attaching sampler on ``proc``; ``(sampler, tries used)``.

    A sampler that exits with an error within ``settle`` seconds while the program still runs did not attach (an
    attach can land while the program's interpreter is still starting: Austin 3 then says "not a Python process",
    rarely, and the run would go unsampled): it is started again, up to ``tries`` times. Its messages go to
    ``log`` (all tries, so a failure that persists is explained by them). With a start ``gate`` (and the raw
    file), ``command`` writes its samples to standard output: they are copied to the raw file, and the first lets
    the program go (:mod:`.gate`; the sampler's ``pump`` attribute is the copying thread, to join)."""
    attempt = 1
    while True:
        if gate is not None:
            sampler = start_piped(command, log)
            sampler.pump = gate[0].pump(sampler.stdout, gate[1])
        else:
            sampler = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and sampler.poll() is None and proc.poll() is None:
            time.sleep(0.01)
        if sampler.returncode in (None, 0) or proc.poll() is not None or attempt >= tries:
            return sampler, attempt
        if gate is not None:
            sampler.pump.join()  # its output is over: the next try writes the raw file afresh
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
    from ..core.bundle import CountsInfo  # after the run (start-up time)

    functions = [f for f in choose(samples, target, options) if f[1]] if choose else []
    if not functions:
        return CountsInfo(status="unavailable (no candidate to count)")
    say(f"counting calls of {len(functions)} candidate(s): running the program a second time")
    with forward_signals(lambda: None, state):
        if target.kind == "native":
            info = count_native_calls(target, functions, cwd=options.cwd,
                                      stderr_path=writer.file("stderr.counting.txt"))
        else:
            info = count_calls(target, functions, cwd=options.cwd, stderr_path=writer.file("stderr.counting.txt"))
    if state.signal is not None:
        return CountsInfo(status="unavailable (interrupted during the counting pass)")
    return info
