"""The user's own shared libraries of an executable: DT_NEEDED entries found through RPATH, RUNPATH and
LD_LIBRARY_PATH, outside the system's library folders (the C++ runtime, libm and libc are never searched)."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib/python")


def _dynamic(path: Path) -> tuple[list[str], list[str]]:
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    needed: list[str] = []
    paths: list[str] = []
    try:
        with path.open("rb") as fh:
            elf = ELFFile(fh)
            for sec in elf.iter_sections():
                if not isinstance(sec, DynamicSection):
                    continue
                for tag in sec.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)
                    elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                        paths += (tag.rpath if tag.entry.d_tag == "DT_RPATH" else tag.runpath).split(":")
    except Exception:
        return [], []
    origin = str(path.resolve().parent)
    return needed, [p.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for p in paths if p]


def user_libraries(exe: Path) -> list[Path]:
    needed, paths = _dynamic(exe)
    paths += [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    found = []
    for name in needed:
        for d in paths:
            cand = Path(d) / name
            if cand.is_file() and not str(cand.resolve()).startswith(SYSTEM_DIRS):
                found.append(cand.resolve())
                break
    return found
