"""While an observed call runs, inside the program: what it does that a surrogate cannot reproduce (printing,
opening files), and which code is the program's own (not the standard library's, not an installed package's)."""

from __future__ import annotations

import builtins
import os
import sys
import sysconfig

from ._call import Call


def library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # phasm_perf itself
    for p in sys.path:
        if p.endswith(("site-packages", "dist-packages")):
            dirs.add(p)
    return tuple(sorted(d.rstrip(os.sep) + os.sep for d in dirs if d))


class Effects:
    """While an observed call runs: writes to ``sys.stdout``/``sys.stderr`` and ``open()`` are noted."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def __enter__(self):
        self.saved = (sys.stdout, sys.stderr, builtins.open)
        sys.stdout = _Stream(sys.stdout, self.call)
        sys.stderr = _Stream(sys.stderr, self.call)
        real_open, call = builtins.open, self.call

        def watched_open(file, mode="r", *args, **kwargs):
            what = "reads a file" if set(mode) <= {"r", "b", "t"} else "writes a file"
            call.effects.setdefault(what, f"open({os.path.basename(str(file))!r}, {mode!r})")
            return real_open(file, mode, *args, **kwargs)

        builtins.open = watched_open
        return self

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr, builtins.open = self.saved


class _Stream:
    def __init__(self, stream, call: Call) -> None:
        self._stream, self._call = stream, call

    def write(self, text):
        self._call.effects.setdefault("prints", "writes to sys.stdout or sys.stderr")
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)
