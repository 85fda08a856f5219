"""Exact call counts of native candidates: a second run under ``uftrace`` patching only those functions.

perf samples give time, not calls. uftrace's dynamic patching (``-P``) rewrites the entry of just the named
functions in the unmodified binary (no ``-pg`` build needed), so the counting run costs little more than the
program itself; ``uftrace report -f call`` then gives the exact number of calls. Functions are named by their
mangled symbols (``--demangle=no``), so C++ overloads, templates and operators are matched exactly; the counts are
keyed back to the call tree's function keys. A function that was inlined everywhere has no symbol to patch: it is
reported with no count rather than a guess. Without uftrace the counts are ``unavailable`` with the reason
(callgrind, ``--collector callgrind``, counts calls in its own run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .program import Target

if TYPE_CHECKING:  # the bundle's types (pydantic) are imported once the program has run (start-up time)
    from ..core.bundle import CountsInfo


def mangled_symbols(binary: Path) -> dict[str, list[str]]:
    """Frame name (as the stacks name it) -> the binary's mangled symbols defining it."""
    from .native import display_names

    nm = shutil.which("nm")
    if nm is None:
        return {}
    out = subprocess.run([nm, "--defined-only", str(binary)], capture_output=True, text=True, errors="replace")
    mangled = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "t", "W", "w") and not parts[2].endswith(".cold") \
                and ".cold" not in parts[2] and ".part." not in parts[2]:
            mangled.append(parts[2])
    if not mangled:
        return {}
    filt = shutil.which("c++filt")
    if filt:
        dem = subprocess.run([filt], input="\n".join(mangled) + "\n", capture_output=True, text=True,
                             errors="replace").stdout.split("\n")
    else:
        dem = mangled
    names = display_names(dem[: len(mangled)])
    result: dict[str, list[str]] = {}
    for m, d in zip(mangled, dem):
        result.setdefault(names.get(d, d), []).append(m)
        if names.get(d, d) != d:  # an overload's frame is named with its signature (``kern(double)``)
            result.setdefault(d, []).append(m)
    return result


_REPORT = re.compile(r"^\s*(\d+)\s+(\S+)\s*$")
_LDD = re.compile(r"=>\s+(/\S+)\s+\(0x")


def linked_user_libraries(binary: Path) -> list[Path]:
    """The user's own shared libraries the program loads (``ldd``), outside the system's folders."""
    from .native import user_objects

    exe = shutil.which("ldd")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, str(binary)], capture_output=True, text=True, errors="replace", timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return user_objects((m.group(1) for m in map(_LDD.search, out.splitlines()) if m), binary)


def _uftrace_calls(exe: str, cmd: list[str], target: Target, cwd, timeout, stderr_path) -> dict[str, int] | str:
    """One counting run: calls per mangled symbol, or why there are none. A run that does not exit 0 gives none:
    its counts would be partial."""
    with tempfile.TemporaryDirectory(prefix="phasm-uftrace-") as tmp:
        data = os.path.join(tmp, "data")
        err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        try:
            proc = subprocess.run([*cmd, "-d", data, "--", *target.argv], cwd=cwd, stdout=subprocess.DEVNULL,
                                  stderr=err, stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"counting pass exceeded {timeout:.0f} s"
        except OSError as exc:
            return f"uftrace could not start: {exc.strerror}"
        finally:
            if stderr_path:
                err.close()
        log = Path(stderr_path).read_text(errors="replace") if stderr_path else ""
        crashed = re.search(r"child terminated by signal: (\d+)", log)
        if crashed or proc.returncode < 0:
            sig = int(crashed.group(1)) if crashed else -proc.returncode
            return f"the program under uftrace was killed by signal {sig}, counts would be partial"
        if proc.returncode != 0:
            return f"the counting pass exited {proc.returncode}, counts would be partial"
        rep = subprocess.run([exe, "report", "--demangle=no", "-d", data, "-f", "call", "--no-pager"],
                             capture_output=True, text=True, errors="replace")
        if rep.returncode != 0:
            return f"uftrace report exited {rep.returncode}"
        calls: dict[str, int] = {}
        for line in rep.stdout.splitlines():
            m = _REPORT.match(line)
            if m:
                calls[m.group(2)] = calls.get(m.group(2), 0) + int(m.group(1))
        return calls


def count_native_calls(target: Target, functions: Iterable[tuple[str, str, str]], *, cwd: str | None = None,
                       timeout: float | None = None, stderr_path: str | os.PathLike | None = None) -> CountsInfo:
    """Run ``target`` once under uftrace and count calls of ``functions`` (``(key, file, name)`` triples), in the
    program and in its own shared libraries."""
    from ..core.bundle import CountsInfo  # after the sampled run (start-up time)

    functions = list(functions)
    if not functions:
        return CountsInfo(status="unavailable (no candidate to count)")
    exe = shutil.which("uftrace")
    if exe is None:
        return CountsInfo(status="unavailable (uftrace is not installed: `make setup` installs it; "
                                 "--collector callgrind counts calls in its own run)")
    if target.program is None:
        return CountsInfo(status="unavailable (no program binary to patch)")
    wanted, patterns, patterns_of, missing = _patterns(functions, _symbols(target.program))
    rows: dict[str, int] = {}
    crashed: list[str] = []
    if wanted:
        result, crashed = _count(exe, patterns, patterns_of, target, cwd, timeout, stderr_path)
        if isinstance(result, str):
            return CountsInfo(status=f"unavailable ({result})")
        for mangled, n in result.items():
            if mangled in wanted:
                key = wanted[mangled]
                rows[key] = rows.get(key, 0) + n
    return _counts_info(functions, rows, missing, crashed)


def _symbols(program: Path) -> dict[str, list[tuple[str, str]]]:
    """Frame name -> ``(mangled symbol, suffix)``: the program's symbols first, then its own shared libraries'
    (patched as SYMBOL@LIBRARY)."""
    symbols: dict[str, list[tuple[str, str]]] = {}
    for obj in [program, *linked_user_libraries(program)]:
        suffix = "" if obj == program else f"@{obj.name}"
        for name, syms in mangled_symbols(obj).items():
            symbols.setdefault(name, []).extend((m, suffix) for m in syms)
    return symbols


def _patterns(functions: list[tuple[str, str, str]], symbols: dict[str, list[tuple[str, str]]]):
    """``(wanted, patterns, patterns_of, missing)``: mangled symbol -> function key, every uftrace pattern, function
    key -> its patterns, and the keys with no symbol (inlined everywhere)."""
    wanted: dict[str, str] = {}          # mangled -> function key
    patterns: list[str] = []
    patterns_of: dict[str, list[str]] = {}  # function key -> its patterns
    missing = []
    for key, _file, name in functions:
        syms = symbols.get(name)
        if not syms:
            missing.append(key)
        for m, suffix in syms or ():
            wanted[m] = key
            patterns.append(f"^{re.escape(m)}${suffix}")
            patterns_of.setdefault(key, []).append(patterns[-1])
    return wanted, patterns, patterns_of, missing


def _count(exe: str, patterns: list[str], patterns_of: dict[str, list[str]], target: Target, cwd, timeout,
           stderr_path):
    """``(calls per mangled symbol or why there are none, keys whose patching crashed the program)``: one run
    patching every function, or, when that run crashes, one run per function."""
    base = [exe, "record", "--demangle=no", "--no-libcall", "--no-event"]
    result = _uftrace_calls(exe, base + [a for p in patterns for a in ("-P", p)], target, cwd, timeout, stderr_path)
    if not (isinstance(result, str) and "signal" in result):
        return result, []
    # uftrace's dynamic patching crashes some programs when it patches certain functions (seen: a constructor with
    # a .cold clone in a shared library); count each function in a run of its own, so that one bad patch costs only
    # that function's count
    result, crashed = {}, []
    for key, own in patterns_of.items():
        got = _uftrace_calls(exe, base + [a for p in own for a in ("-P", p)], target, cwd, timeout, stderr_path)
        if isinstance(got, str):
            crashed.append(key)
        else:
            result.update(got)
    return result, crashed


def _counts_info(functions: list[tuple[str, str, str]], rows: dict[str, int], missing: list[str],
                 crashed: list[str]) -> CountsInfo:
    """The counts, with what was not counted and why."""
    from ..core.bundle import CallCount, CountsInfo  # after the sampled run (start-up time)

    # a candidate has samples, so it ran: no row means uftrace could not patch it (too short), not zero calls
    unpatched = [key for key, _f, _n in functions if key not in missing and key not in rows and key not in crashed]
    out = [CallCount(function=key, file=file or None, calls=rows[key]) for key, file, _name in functions if key in rows]
    why = {**{k: "uftrace could not patch it (too short to patch, or not called through its symbol)" for k in unpatched},
           **{k: "inlined everywhere: no symbol of its own to count (its time is its callers')" for k in missing},
           **{k: "the program crashed when uftrace patched it" for k in crashed}}
    if not out:
        why = "no symbol (inlined)" if missing and not unpatched else "uftrace could not patch them"
        return CountsInfo(status=f"unavailable (none of the {len(functions)} candidates could be counted: {why})")
    status = "exact"
    if crashed:
        status += f"; {len(crashed)} not counted (the program crashed when uftrace patched it)"
    if missing:
        status += f"; {len(missing)} not counted (inlined, no symbol)"
    if unpatched:
        status += f"; {len(unpatched)} not counted (uftrace could not patch)"
    return CountsInfo(status=status, method="uftrace dynamic patching (-P) of the named functions", functions=out,
                      not_counted=why)


__all__ = ["count_native_calls", "mangled_symbols"]
