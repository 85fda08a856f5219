"""Signals during a profile run: while the program runs they are passed on to it (a second one kills it); before
and after, they stop phasm-perf as Ctrl-C does (:class:`Stopped`); around the bundle's rename they are held back,
so that the rename and knowing it happened are one step."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from typing import Any, Callable, Iterator

#: the signals a user (or a batch system) stops a run with
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def forward_signals(get_proc: Callable[[], subprocess.Popen | None], state: Any) -> Iterator[None]:
    """Pass a signal on to the program's process group (``state.signal``: the first one); a second one kills it
    (``state.killed``)."""

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

    with _handling(handler):
        yield


@contextmanager
def _handling(handler) -> Iterator[None]:
    """``handler`` for every stop signal within the block, the previous handlers restored after it."""
    old = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held back (delivered at the end of the block)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (or SIGINT) to phasm-perf when no program runs: stop, as Ctrl-C does."""

    @staticmethod
    def name(exc: BaseException) -> str:
        return signal.Signals(exc.args[0]).name if isinstance(exc, Stopped) else "SIGINT"


@contextmanager
def abort_on_signals() -> Iterator[None]:
    """A stop signal raises :class:`Stopped` (phasm-perf's own work, before or after the program)."""

    def handler(signum, frame):  # noqa: ARG001
        raise Stopped(signum)

    with _handling(handler):
        yield


def kill(procs: list[subprocess.Popen]) -> None:
    """The process groups of ``procs`` still running (the program, its sampler) killed."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
