"""Build a shipped or generated C/C++ source into a shared library, once, in a cache folder keyed by its hash.

    lib = build_shared(source_text, "mlp", lang="c++")   # ~/.cache/phasm-perf/native/mlp-<hash>.so
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from ..core.errors import PhasmError

# the C++ runtime linked in statically: a C program (or one paused at its start) has no libstdc++ loaded yet
CXXFLAGS = ["-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC", "-std=c++17", "-static-libstdc++",
            "-static-libgcc", "-Wl,--as-needed"]
CFLAGS = ["-O2", "-shared", "-fPIC", "-std=c11"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "phasm-perf" / "native"


def shipped(name: str) -> str:
    return resources.files("phasm_perf.native").joinpath("runtime", name).read_text()


def compiler(lang: str) -> str:
    names = ["g++", "clang++"] if lang == "c++" else ["gcc", "cc", "clang"]
    env = os.environ.get("CXX" if lang == "c++" else "CC")
    for name in ([env] if env else []) + names:
        if name and shutil.which(name):
            return name
    raise PhasmError(f"no {'C++' if lang == 'c++' else 'C'} compiler for the native surrogate runtime: install "
                     f"{'g++' if lang == 'c++' else 'gcc'} (e.g. apt-get install g++) or set "
                     f"{'CXX' if lang == 'c++' else 'CC'}")


def build_shared(source: str, stem: str, lang: str = "c++", extra: list[str] | None = None) -> Path:
    cc = compiler(lang)
    flags = (CXXFLAGS if lang == "c++" else CFLAGS) + list(extra or [])
    key = hashlib.sha256("\0".join([source, cc, *flags]).encode()).hexdigest()[:16]
    out = cache_dir() / f"{stem}-{key}.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.with_suffix(".cpp" if lang == "c++" else ".c")
    src.write_text(source)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    proc = subprocess.run([cc, *flags, "-o", str(tmp), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:200])
        raise PhasmError(f"building the native runtime {stem} failed ({cc}): {first}", 1)
    os.replace(tmp, out)
    return out


def build_program(source: str, stem: str, lang: str = "c", extra: list[str] | None = None) -> Path:
    """An executable (with -g: discovery reads its DWARF), cached like the libraries."""
    cc = compiler(lang)
    flags = ["-g", "-O2"] + list(extra or [])
    key = hashlib.sha256("\0".join([source, cc, *flags]).encode()).hexdigest()[:16]
    out = cache_dir() / f"{stem}-{key}"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.with_name(out.name + (".cpp" if lang == "c++" else ".c"))
    src.write_text(source)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    proc = subprocess.run([cc, *flags, "-o", str(tmp), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise PhasmError(f"building {stem} failed ({cc}): {proc.stderr.strip()[:200]}", 1)
    os.replace(tmp, out)
    return out
