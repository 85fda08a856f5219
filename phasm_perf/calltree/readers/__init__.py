"""Readers: every profile format phasm-perf reads, one module each, all returning a :class:`~.base.Profile`.

:func:`detect_format` looks at the content, not the name; :func:`read_profile` reads with the detected reader or
the one named by ``fmt`` (the command line's ``--input-format``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...core.errors import PhasmError, input_error
from . import austin, callgrind, folded, perf_script, scalene, speedscope
from .base import Profile, check_weights
from .callgrind import CallgrindProfile, read_callgrind
from .perf_script import read_perf_script
from .text import head_text

#: format name -> reader module (``read(path) -> Profile``, ``sniff(head) -> bool``), in detection order
READERS = {
    "speedscope": speedscope,
    "scalene": scalene,
    "callgrind": callgrind,
    "austin": austin,
    "perf-script": perf_script,
    "pyspy-raw": folded,
    "folded": folded,
}
FORMATS = list(READERS)


def detect_format(path: str | os.PathLike) -> str:
    """The format of a profile file, from its first 64 KiB; a clear error when nothing matches."""
    p = Path(path)
    head = head_text(p)
    if not head.strip():
        raise PhasmError(f"{str(p)!r} is empty")
    for name, mod in READERS.items():
        if mod.sniff(head):
            if name == "pyspy-raw" and not folded.is_pyspy(head):
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
    if name not in READERS:
        raise PhasmError(f"unknown input format {name!r}; choose one of: {', '.join(FORMATS)}")
    try:
        if name in ("folded", "pyspy-raw"):
            profile = folded.read(p, fmt=name, force=force)
        else:
            profile = READERS[name].read(p, force=force, **options)
    except OSError as exc:  # the file went away, or the disk failed, while it was read
        raise input_error(p, exc) from None
    return check_weights(profile, p, force)


__all__ = ["Profile", "READERS", "FORMATS", "detect_format", "read_profile", "read_perf_script", "read_callgrind",
           "CallgrindProfile"]
