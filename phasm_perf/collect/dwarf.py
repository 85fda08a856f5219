"""Where a compiled program's functions are defined, from its DWARF debug information (pyelftools, the ``native``
extra): ``DW_TAG_subprogram`` name -> the file and line of its declaration (``DW_AT_decl_file``/``decl_line``).

An inlined function has no symbol of its own; the profiler names it from the inline chain at a sample's address,
and the source line *at that address* moves with every sample (a function defined at line 2601 shown at 284, then
1117). Its definition's line does not: that is the line a frame of it carries.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _file_names(dwarf, cu) -> dict[int, str]:
    """The CU's line-program file table: index -> path (DWARF 4: 1-based, directory 0 is the compilation's; 5:
    0-based)."""
    lp = dwarf.line_program_for_CU(cu)
    if lp is None:
        return {}
    top = cu.get_top_DIE().attributes
    comp_dir = _text(top["DW_AT_comp_dir"].value) if "DW_AT_comp_dir" in top else ""
    hdr = lp.header
    v5 = hdr["version"] >= 5
    dirs = [_text(d) for d in hdr["include_directory"]]
    out = {}
    for i, fe in enumerate(hdr["file_entry"]):
        name = _text(fe.name)
        if v5:
            d = dirs[fe.dir_index] if fe.dir_index < len(dirs) else comp_dir
        else:
            d = comp_dir if fe.dir_index == 0 else (dirs[fe.dir_index - 1] if fe.dir_index - 1 < len(dirs) else "")
        if not os.path.isabs(d):
            d = os.path.join(comp_dir, d)
        out[i if v5 else i + 1] = os.path.normpath(name if os.path.isabs(name) else os.path.join(d, name))
    return out


def _declaration(die):
    """The DIE that holds a subprogram's name and declaration (itself, or its specification / abstract origin)."""
    seen = 0
    while die is not None and seen < 4:
        attrs = die.attributes
        if "DW_AT_name" in attrs and "DW_AT_decl_line" in attrs:
            return die
        ref = next((a for a in ("DW_AT_specification", "DW_AT_abstract_origin") if a in attrs), None)
        if ref is None:
            return None
        try:
            die = die.get_DIE_from_attribute(ref)
        except Exception:  # a reference pyelftools cannot follow
            return None
        seen += 1
    return None


@lru_cache(maxsize=16)
def declarations(binary: str) -> dict[str, tuple[tuple[str, int], ...]]:
    """Subprogram name (``DW_AT_name``: ``gamma_p<double>``, ``operator()``) -> its declarations' (file, line);
    empty when pyelftools is missing or the file has no DWARF."""
    try:
        from elftools.elf.elffile import ELFFile  # the native extra (pyelftools)
    except ImportError:
        return {}
    found: dict[str, set[tuple[str, int]]] = {}
    try:
        with open(binary, "rb") as fh:
            elf = ELFFile(fh)
            if not elf.has_dwarf_info():
                return {}
            dwarf = elf.get_dwarf_info()
            for cu in dwarf.iter_CUs():
                files = _file_names(dwarf, cu)
                for die in cu.iter_DIEs():
                    if die.tag != "DW_TAG_subprogram":
                        continue
                    decl = _declaration(die)
                    if decl is None:
                        continue
                    a = decl.attributes
                    f = a.get("DW_AT_decl_file")
                    path = files.get(f.value) if f is not None else None
                    if path:
                        found.setdefault(_text(a["DW_AT_name"].value), set()).add((path, int(a["DW_AT_decl_line"].value)))
    except Exception:  # damaged or unusual DWARF: no definitions rather than a failed profile
        return {}
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _last_component(name: str) -> str:
    """``a::b<std::x>::f<int>`` -> ``f<int>`` (``::`` inside template brackets does not split)."""
    depth, cut = 0, 0
    for i, ch in enumerate(name):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == ":" and depth == 0 and name[i:i + 2] == "::":
            cut = i + 2
    return name[cut:]


def definition(binary: Path, name: str, file: str | None = None) -> tuple[str, int] | None:
    """Where ``name`` (as a profiler names an inlined frame: its DWARF name, maybe qualified) is defined: the one
    declaration of that name, or the one in ``file``; None when unknown or ambiguous."""
    decls = declarations(str(binary))
    got = decls.get(name) or decls.get(_last_component(name)) or ()
    if file is not None:
        here = [d for d in got if os.path.normpath(d[0]) == os.path.normpath(file)]
        if len(here) == 1:
            return here[0]
    return got[0] if len(got) == 1 else None


__all__ = ["declarations", "definition"]
