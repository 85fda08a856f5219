"""Sampling a Python program from its first line: the start gate.

An attaching sampler (Austin) starts after the program: whatever the program did before the sampler's first sample
is not in the profile. Austin attaches in about 15 ms to an interpreter that holds the GIL, but to one that waits
(``time.sleep``, a read, a lock: the GIL released) it scans the process's memory first, which took 1.6 s here, so a
program that starts by waiting lost its whole waiting phase (2.1 s of a 3.1 s run, the off-CPU flame graph empty).

The gate holds the program at its start, in :mod:`._sitehook` (``sitecustomize``, before any line of the program),
running Python code (so the sampler finds the interpreter at once) until the sampler's first sample comes out of
its output, read through a pipe (Austin's standard output, line-buffered by ``stdbuf``); the samples taken while the
program was held are left out. Only the interpreter phasm-perf started (its direct child, running the program's
script or module) waits, and never longer than :data:`HOLD_SECONDS`: a sampler that cannot attach, or a phasm-perf
that went away, lets it go.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO

from .counts import HOOK_DIR

#: the longest a program is held waiting for the sampler (then it runs, sampled or not)
HOLD_SECONDS = 10.0


class StartGate:
    """One run's gate: a file whose creation lets the program go, and the environment that makes it wait."""

    def __init__(self, folder: Path, script: str | None) -> None:
        self.go = Path(folder) / "gate-open"
        self.script = script
        self.opened = threading.Event()
        self.held = Path(str(self.go) + ".held")  # written by the program when it starts waiting

    def env(self, env: dict[str, str]) -> dict[str, str]:
        env = dict(env)
        env["PHASM_PERF_GATE"] = json.dumps({"go": str(self.go), "parent": os.getpid(), "script": self.script,
                                             "seconds": HOLD_SECONDS})
        path = env.get("PYTHONPATH", "")
        if str(HOOK_DIR) not in path.split(os.pathsep):
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOOK_DIR), path) if p)
        return env

    def open(self) -> None:
        """Let the program go (again: harmless)."""
        if not self.opened.is_set():
            self.opened.set()
            try:
                self.go.touch()
            except OSError:  # the run is over and its folder gone: nothing waits
                pass

    def pump(self, stream: IO[bytes], raw: Path) -> threading.Thread:
        """Copy the sampler's output to ``raw`` (replaced), opening the gate at its first sample, which is left
        out with every sample before it: they are of the held program."""

        def run() -> None:
            try:
                with stream, open(raw, "wb") as out:
                    for line in stream:
                        if not self.opened.is_set() and line.startswith(b"P"):
                            self.open()
                            continue
                        out.write(line)
            finally:  # the sampler ended (or failed) without a sample: the program goes on unsampled
                self.open()

        t = threading.Thread(target=run, name="phasm-perf sampler output", daemon=True)
        t.start()
        return t


def line_buffered(command: list[str]) -> list[str] | None:
    """``command`` with its standard output line-buffered (coreutils' ``stdbuf``); None when there is no stdbuf."""
    stdbuf = shutil.which("stdbuf")
    return [stdbuf, "-oL", *command] if stdbuf else None


def start_piped(command: list[str], log) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                            start_new_session=True)
