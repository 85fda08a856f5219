"""Which source files are the user's own code and which are libraries (the interpreter's standard library,
site-packages): one rule for the candidate filters and the torn-sample repair."""

from __future__ import annotations

import os
import sysconfig
from typing import Callable, Iterable


def _stdlib_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    out = {os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(sorted(out, key=len, reverse=True))


_LIB_MARKERS = ("/site-packages/", "/dist-packages/", "/lib/python3", "/lib64/python3")


def make_is_user_code(user_roots: Iterable[str] = (), library_prefixes: Iterable[str] | None = None) -> Callable[[str | None], bool]:
    """A predicate on a frame's file: is it the user's own code?

    A file under one of ``user_roots`` (the program's folder) is the user's. Otherwise a file in the stdlib,
    site-packages, a frozen module or with no file at all (native) is library code, and anything else (another
    project folder of the user's) is user code.
    """
    roots = tuple(os.path.realpath(r) + os.sep for r in user_roots)
    libs = tuple(p + os.sep for p in (library_prefixes if library_prefixes is not None else _stdlib_prefixes()))

    def is_user(file: str | None) -> bool:
        if not file or file.startswith("<"):
            return False
        real = os.path.realpath(file) if os.path.isabs(file) else file
        if roots and real.startswith(roots):
            return True
        if any(m in real for m in _LIB_MARKERS) or (libs and real.startswith(libs)):
            return False
        return True

    return is_user
