"""Readers: every profile format phasm-perf reads, one module each, all returning a :class:`~.base.Profile`.

:func:`detect_format` looks at the content, not the name; :func:`read_profile` reads with the detected reader or
the one named by ``fmt`` (the command line's ``--input-format``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from ...core.errors import PhasmError, input_error
from .base import Profile, check_weights
from .text import head_text

#: format name -> reader module in this package (``read(path) -> Profile``, ``sniff(head) -> bool``), in detection
#: order. Imported when first used: the callgrind reader needs pandas, which a collector starting a program must not
#: wait for (start-up time, ARCHITECTURE.md).
READER_MODULES = {
    "speedscope": "speedscope",
    "scalene": "scalene",
    "callgrind": "callgrind",
    "austin": "austin",
    "perf-script": "perf_script",
    "pyspy-raw": "folded",
    "folded": "folded",
}
FORMATS = list(READER_MODULES)


def reader(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{READER_MODULES[name]}")


def __getattr__(name: str):
    """``READERS`` (format -> module) and the readers' own entry points, imported on first use."""
    if name == "READERS":
        return {fmt: reader(fmt) for fmt in READER_MODULES}
    lazy = {"CallgrindProfile": "callgrind", "read_callgrind": "callgrind", "read_perf_script": "perf-script"}
    if name in lazy:
        return getattr(reader(lazy[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def detect_format(path: str | os.PathLike) -> str:
    """The format of a profile file, from its first 64 KiB; a clear error when nothing matches."""
    p = Path(path)
    head = head_text(p)
    if not head.strip():
        raise PhasmError(f"{str(p)!r} is empty")
    for name in READER_MODULES:
        if reader(name).sniff(head):
            if name == "pyspy-raw" and not reader("folded").is_pyspy(head):
                continue
            return name
    first = next((ln for ln in head.splitlines() if ln.strip()), "")[:60]
    raise PhasmError(f"{str(p)!r} holds no stacks in a format phasm-perf reads (it starts {first!r}); give a bundle "
                     f"directory, a profile file, or --input-format, one of: {', '.join(FORMATS)}")


def read_profile(path: str | os.PathLike, fmt: str | None = None, force: bool = False, **options) -> Profile:
    """Read any supported profile file. ``options`` go to the reader (e.g. ``kernel=True`` for perf-script,
    ``event='Ir'`` for callgrind). A damaged file (cut short, not what its format says, weights that are not counts)
    is one :class:`PhasmError`; ``force`` reads what can be read and says what was skipped in ``Profile.notes``."""
    p = Path(path)
    if p.is_dir():
        raise PhasmError(f"{str(p)!r} is a directory; give a profile file")
    if not p.exists():
        raise PhasmError(f"{str(p)!r} not found")
    name = fmt or detect_format(p)
    if name not in READER_MODULES:
        raise PhasmError(f"unknown input format {name!r}; choose one of: {', '.join(FORMATS)}")
    try:
        if name in ("folded", "pyspy-raw"):
            profile = reader("folded").read(p, fmt=name, force=force)
        else:
            profile = reader(name).read(p, force=force, **options)
    except OSError as exc:  # the file went away, or the disk failed, while it was read
        raise input_error(p, exc) from None
    return check_weights(profile, p, force)


__all__ = ["Profile", "READERS", "FORMATS", "detect_format", "read_profile", "read_perf_script", "read_callgrind",
           "CallgrindProfile"]
