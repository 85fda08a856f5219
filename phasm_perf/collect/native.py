"""What native (ELF) collectors share: the program's symbols and source files, and frame naming.

A native frame comes out of ``perf script`` or callgrind as a bare demangled name. To decide which frames are the
user's own code (the candidates) and to key call counts the way the call tree does, a frame of a function defined in
the user's program gets its source file and line from the binary's debug information (``nm -C -l``), e.g.
``phys::shower::GammaProfile<double>::deposit (/src/profile.cpp:22)``; libc, libm, the C++ standard library
(whose code sits in ``/usr/include``) and the kernel stay bare, so the candidate filters treat them as library code.

Names are normalised the way the issue-3 ``perf script`` reader normalises them (FlameGraph's rules: the argument
list and everything after the first ``(`` go, except ``(anonymous namespace)``) by running that reader itself on
the symbol names, so the two can never disagree.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..core.folded import make_frame, split_frame

#: source files under these prefixes are the system's (C++ headers, libc sources), not the user's
SYSTEM_SOURCE_PREFIXES = ("/usr/include/", "/usr/lib/", "/usr/src/", "/usr/share/", "/build/", "<built-in>")


def normalise_names(raw: Iterable[str]) -> dict[str, str]:
    """``{raw demangled symbol: frame name}`` exactly as :func:`read_perf_script` would name each in a stack."""
    from ..calltree.readers.perf_script import read_perf_script

    raw = list(dict.fromkeys(raw))
    if not raw:
        return {}
    lines = []
    for i, name in enumerate(raw):
        lines += [f"n{i} 1/1 0.0: 1 sym:\n", f"\t0 {name} (/x)\n", "\n"]
    out: dict[str, str] = {}
    for stack in read_perf_script(lines):
        if len(stack) >= 2 and stack[0][1:].isdigit():
            out[raw[int(stack[0][1:])]] = stack[-1]
    return out


def display_names(raw: Iterable[str], normalised: dict[str, str] | None = None) -> dict[str, str]:
    """:func:`normalise_names`, but a call operator keeps its ``()``: ``phys::FieldMap::operator()``, where
    FlameGraph's rule (drop everything from the first ``(``) would leave ``phys::FieldMap::operator``."""
    out = dict(normalised) if normalised is not None else normalise_names(raw)
    for full, name in out.items():
        if name.endswith("operator") and "operator()(" in full:
            out[full] = name + "()"
    return out


def rename_frames(stacks: Counter, rename: Callable[[str], str]) -> Counter:
    """Every frame of every stack through ``rename`` (once per distinct frame); stacks that become equal merge."""
    out: Counter = Counter()
    cache: dict[str, str] = {}
    for frames, w in stacks.items():
        new = []
        for f in frames:
            g = cache.get(f)
            if g is None:
                g = cache[f] = rename(f)
            new.append(g)
        out[tuple(new)] += w
    return out


@dataclass
class SymbolIndex:
    """Functions defined in the user's program: frame name (as the reader names it) -> (display name, source
    file, line)."""

    binary: Path | None = None
    where: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)
    note: str | None = None
    #: overloads (one name, several signatures), told apart by address in the stacks
    overloads: "OverloadMap | None" = None

    def frame(self, name: str) -> str:
        """The frame string for ``name``: with its source file when it is the user's code."""
        loc = self.where.get(name)
        return make_frame(loc[0], loc[1], loc[2]) if loc else name

    def merge(self, other: "SymbolIndex") -> None:
        """Add another object's functions (a user library); the program's own win on a name clash."""
        for k, v in other.where.items():
            self.where.setdefault(k, v)

    def add_inlined(self, symbols: dict[str, str]) -> None:
        """Inlined functions (no symbol of their own): ``{name as perf printed it: an address in the binary}``.

        ``addr2line -i`` gives the source file of the code at that address; those in the user's own sources become
        the user's frames like any other function, at the line where the function is defined (its DWARF
        declaration, :mod:`.dwarf`: the line at one sample's address would move from run to run), or with no line
        where that is not known.
        """
        exe = shutil.which("addr2line")
        if not symbols or exe is None or self.binary is None:
            return
        names = normalise_names(symbols)
        todo = {n: a for n, a in ((names.get(r, r), a) for r, a in symbols.items()) if n not in self.where}
        if not todo:
            return
        try:
            out = subprocess.run([exe, "-a", "-f", "-i", "-C", "-e", str(self.binary), *(f"0x{a}" for a in todo.values())],
                                 capture_output=True, text=True, errors="replace", timeout=120).stdout.splitlines()
        except (OSError, subprocess.TimeoutExpired):
            return
        first_loc: dict[int, tuple[str, int | None]] = {}
        addr = None
        for i, line in enumerate(out):
            if line.startswith("0x"):
                addr = int(line, 16)
                if i + 2 < len(out) and not out[i + 2].startswith("0x"):
                    f, _, ln = out[i + 2].rpartition(":")
                    first_loc[addr] = (f, int(ln) if ln.isdigit() else None) if f else (out[i + 2], None)
        from .dwarf import definition

        for name, a in todo.items():
            loc = first_loc.get(int(a, 16))
            if loc and loc[0] and loc[0] != "??" and _is_user_source(loc[0], self.binary):
                # the line of its definition (DWARF), not the line at this one sample's address: stable across runs
                defined = definition(self.binary, name, loc[0])
                self.where[name] = (name, *(defined or (loc[0], None)))

    def annotate(self, stacks: Counter) -> Counter:
        return rename_frames(stacks, self.frame)


#: shared objects under these prefixes are the system's; any other ELF in the stacks is the user's own library
SYSTEM_OBJECT_PREFIXES = ("/usr/lib", "/lib", "/usr/lib64", "/lib64", "/usr/local/cuda", "/opt/conda/lib", "[", "//anon")


def user_objects(modules: Iterable[str], program: Path | None) -> list[Path]:
    """The user's own shared libraries among ``modules`` (paths perf or callgrind reported): ELF files outside the
    system's library folders, other than the program itself."""
    out = []
    for m in sorted(set(modules)):
        if not m or not m.startswith("/") or m.startswith(SYSTEM_OBJECT_PREFIXES) or "site-packages" in m:
            continue
        p = Path(m)
        if program is not None and p == program:
            continue
        if p.is_file() and is_elf(p):
            out.append(p)
    return out


#: what the C runtime links into every program (no line information; never the user's code)
_CRT_NAMES = frozenset({"data_start", "frame_dummy", "register_tm_clones", "deregister_tm_clones", "main.cold", "completed.0"})


def _is_user_source(path: str, binary: Path) -> bool:
    if not path or path.startswith(SYSTEM_SOURCE_PREFIXES):
        return False
    return True


def symbol_index(binary: Path | None) -> SymbolIndex:
    """Read the program's defined functions with ``nm -C -l``; an empty index (and a note) when that fails."""
    if binary is None:
        return SymbolIndex(note="no program binary: native frames carry no source file")
    out = _nm(binary)
    if isinstance(out, str):
        return SymbolIndex(binary, note=out)
    raw, extent = _defined_functions(out.stdout, binary)
    if not raw and out.returncode == 0:
        note = f"{binary.name} has no debug line information (build it with -g): native frames carry no source file"
    else:
        note = None
    names = normalise_names(raw)
    where, overloads = _frames(raw, names)
    ranges = sorted((*extent[f], names.get(f, f), enc) for f, enc in overloads.items() if f in extent and
                    extent[f][1] > extent[f][0])
    return SymbolIndex(binary, where, note, OverloadMap(str(binary), ranges) if ranges else None)


def _nm(binary: Path) -> subprocess.CompletedProcess | str:
    """``nm -C -l -S --defined-only`` of ``binary``, or why it did not run."""
    nm = shutil.which("nm")
    if nm is None:
        return "binutils' nm not found: native frames carry no source file (apt-get install binutils)"
    try:
        return subprocess.run([nm, "-C", "-l", "-S", "--defined-only", str(binary)], capture_output=True, text=True,
                              errors="replace", timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nm failed on {binary}: {exc}"


def _nm_symbol(line: str) -> tuple[str, str, str, str, str] | None:
    """``(address, size, type, name, location)`` of one line of ``nm -C -l -S``; None for a line that is not a
    symbol."""
    head, _, loc = line.partition("\t")
    parts = head.split(" ", 3)
    if len(parts) == 4 and len(parts[2]) == 1:   # address size type name
        return (*parts, loc)
    if len(parts) >= 3:                          # address type name (no size)
        return parts[0], "0", parts[1], " ".join(parts[2:]), loc
    return None


def _defined_functions(text: str, binary: Path):
    """``(raw, extent)`` from nm's output: the user's functions (full name -> ``(file, line)``) and every
    function's ``[start, end)`` address."""
    raw: dict[str, tuple[str, int | None]] = {}
    extent: dict[str, tuple[int, int]] = {}   # full name -> [start, end) address
    for line in text.splitlines():
        sym = _nm_symbol(line)
        if sym is None or sym[2] not in ("T", "t", "W", "w"):
            continue
        addr, size, _kind, name, loc = sym
        try:
            extent.setdefault(name, (int(addr, 16), int(addr, 16) + int(size, 16)))
        except ValueError:
            pass
        file, line_no = None, None
        if loc:
            f, _, ln = loc.rpartition(":")
            file, line_no = (f, int(ln)) if ln.isdigit() else (loc, None)
        if not file:
            # no line for its address (nm -l): its DWARF declaration, else the binary itself (a function defined
            # in the user's program is the user's, even built without -g) - never "library" for want of a file
            if name.startswith(("_", ".")) or name in _CRT_NAMES:
                continue
            from .dwarf import definition

            file, line_no = definition(binary, normalise_names([name]).get(name, name)) or (str(binary), None)
        if not _is_user_source(file, binary):
            continue
        raw.setdefault(name, (file, line_no))
    return raw, extent


def _frames(raw: dict[str, tuple[str, int | None]], names: dict[str, str]):
    """``(where, overloads)``: frame name -> ``(shown name, file, line)``, and the full name of each overload ->
    its frame name (overloads are frames apart, shown with their signature)."""
    shown = display_names(raw, names)
    signatures: dict[str, set[str]] = {}
    for full in raw:  # a compiler's clone of a function ("[clone .cold]", ".constprop") is that function
        signatures.setdefault(names.get(full, full), set()).add(re.sub(r"\s*\[clone [^]]*\]", "", full))
    overloads = {full: overload_name(full) for full in raw
                 if len(signatures[names.get(full, full)]) > 1 and "[clone" not in full}
    where: dict[str, tuple[str, str, int | None]] = {}
    for full, (file, line_no) in raw.items():
        if full in overloads:  # each overload its own frame, shown with its signature
            where[overloads[full]] = (full, file, line_no)
        else:
            where.setdefault(names.get(full, full), (shown.get(full, full), file, line_no))
    return where, overloads


def overload_name(full: str) -> str:
    """``kern(double)`` -> ``kern⟨double⟩``: a name the perf-script reader keeps whole (no parenthesis, no ``;``)."""
    return full.replace("(", "⟨").replace(")", "⟩").replace(";", ":")


@dataclass
class OverloadMap:
    """The address ranges of a binary's overloaded functions: ``perf script`` prints a C++ frame's name without its
    parameters (``kern+0x34``), so overloads are told apart by the frame's address, before the stacks are folded."""

    module: str
    ranges: list  # (start, end, short name, overload name), sorted by start

    def name_at(self, address: int, short: str) -> str | None:
        i = bisect.bisect_right([r[0] for r in self.ranges], address) - 1
        if i >= 0:
            start, end, name, enc = self.ranges[i]
            if start <= address < end and name == short:
                return enc
        return None


def keep_overloads_apart(lines: list[str], overloads: "OverloadMap | None") -> list[str]:
    """``perf script`` frame lines of an overloaded function renamed (:func:`overload_name`, found by address)."""
    if not overloads:
        return lines
    shorts = {r[2] for r in overloads.ranges}
    out = []
    for line in lines:
        m = _FRAME_LINE.match(line) if line[:1].isspace() else None
        if m and m.group(4) == overloads.module and m.group(2) in shorts:
            enc = overloads.name_at(int(m.group(1).strip(), 16), m.group(2))
            if enc:
                line = f"{m.group(1)}{enc}{m.group(3) or ''} ({m.group(4)})\n"
        out.append(line)
    return out


_FRAME_LINE = re.compile(r"^(\s*[0-9a-fA-F]+ )(.+?)(\+0x[0-9a-fA-F]+)? \((.*)\)\s*$")


def drop_inner_main(stacks: Counter) -> tuple[Counter, float]:
    """A ``main`` frame below another frame of the program's own (not at the bottom, under the C runtime's start
    frames) is an unwinding artefact (perf's DWARF unwinder, on a frame whose unwind information it misreads): the
    spurious frame is dropped, its callers and callees kept. Returns the stacks and the weight of those repaired."""
    out: Counter = Counter()
    moved = 0.0
    for frames, w in stacks.items():
        names = [split_frame(f)[0] for f in frames]
        first = next((i for i, n in enumerate(names) if n == "main"), None)
        if first is not None and "main" in names[first + 1:]:
            frames = tuple(f for i, f in enumerate(frames) if i <= first or names[i] != "main")
            moved += w
        out[frames] += w
    return out, moved


def frame_name(frame: str) -> str:
    return split_frame(frame)[0]


def is_elf(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


__all__ = ["SymbolIndex", "symbol_index", "drop_inner_main", "overload_name", "keep_overloads_apart", "normalise_names", "display_names", "rename_frames", "user_objects", "is_elf",
           "SYSTEM_SOURCE_PREFIXES"]
