"""Types of a compiled function from its DWARF debug information (pyelftools).

    info = read_binary("examples/fieldmap/fieldmap")
    fn = find_function(info, "fieldmap::FieldMap::lookup")
    fn.params   # [Param(this, FieldMap const*), Param(xyz, double const*), Param(bx, double&), ...]
    info.globals  # [GlobalVar(g_config, FieldConfig, address), ...]

Only what discovery needs: a function's parameters (by value, reference, pointer, ``this``), its return type, its
address in the file, whether it has an out-of-line copy at all, and the globals and statics of the binary. Names are
the qualified names a user writes (``ns::Class<T>::method``), built from the DIE tree, not demangled symbols.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..core.errors import PhasmError

TypeKind = Literal["base", "enum", "pointer", "reference", "struct", "array", "void", "opaque"]

_SCOPES = {"DW_TAG_namespace", "DW_TAG_class_type", "DW_TAG_structure_type", "DW_TAG_union_type"}
_QUALIFIERS = {"DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_typedef", "DW_TAG_restrict_type",
               "DW_TAG_atomic_type"}
# DW_ATE_* encodings -> numpy kind
_ENCODINGS = {0x02: "bool", 0x04: "float", 0x05: "int", 0x06: "int", 0x07: "uint", 0x08: "uint", 0x10: "uint"}
DW_OP_addr = 0x03


@dataclass
class Member:
    name: str
    offset: int
    type: CType


@dataclass
class CType:
    kind: TypeKind
    name: str                    # the source spelling, e.g. `const double*`, `phys::Vec3<double>`
    size: int                    # bytes (0 when unknown: void, a declared-only struct)
    dtype: str | None = None     # numpy-style for base and enum types
    target: CType | None = None  # pointee, referee, array element
    count: int | None = None     # array length (None: not given by the type)
    const: bool = False          # the pointee/referee is const (for pointer/reference), or the type itself
    members: list[Member] = field(default_factory=list)

    @property
    def scalar(self) -> bool:
        return self.kind in ("base", "enum")


@dataclass
class Param:
    name: str
    type: CType
    artificial: bool = False     # `this`


@dataclass
class Function:
    qualname: str
    linkage_name: str | None
    low_pc: int | None           # file address of the out-of-line copy; None: inlined everywhere
    params: list[Param]
    returns: CType
    file: Path
    declared_inline: bool = False

    @property
    def signature(self) -> str:
        args = ", ".join(f"{p.type.name} {p.name}" for p in self.params if not p.artificial)
        return f"{self.returns.name} {self.qualname}({args})"


@dataclass
class GlobalVar:
    qualname: str
    address: int                 # file address
    type: CType


@dataclass
class BinaryInfo:
    path: Path
    pie: bool                    # ET_DYN: addresses are relative to the load base
    load_vaddr: int              # lowest PT_LOAD virtual address
    functions: dict[str, list[Function]]
    globals: list[GlobalVar]

    def runtime_offset(self, file_address: int) -> int:
        """Offset from the module's base at run time."""
        return file_address - self.load_vaddr


def _elf(path: Path):
    from elftools.elf.elffile import ELFFile
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise PhasmError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return ELFFile(fh), fh
    except Exception:
        fh.close()
        raise PhasmError(f"{path} is not an ELF binary: discovery of compiled functions needs one built with -g")


def check_debug_info(elf, path: Path) -> None:
    names = {s.name for s in elf.iter_sections()}
    if ".debug_info" in names:
        return
    if ".symtab" not in names:
        raise PhasmError(f"{path} is stripped (no symbol table, no debug information): use the unstripped build, "
                         f"compiled with -g (e.g. CXXFLAGS='-g -O2'), and do not run strip on it")
    raise PhasmError(f"{path} has no debug information (DWARF): rebuild it with -g (e.g. CXXFLAGS='-g -O2'); "
                     f"phasm-perf reads parameter and global types from it and never modifies the binary")


def read_binary(path: str | Path) -> BinaryInfo:
    path = Path(path)
    elf, fh = _elf(path)
    try:
        check_debug_info(elf, path)
        loads = [seg["p_vaddr"] for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
        reader = _Reader(elf.get_dwarf_info(), path)
        reader.walk()
        return BinaryInfo(path=path, pie=elf["e_type"] == "ET_DYN", load_vaddr=min(loads) if loads else 0,
                          functions=reader.functions, globals=reader.globals)
    finally:
        fh.close()


def find_function(info: BinaryInfo, spec: str) -> Function:
    """The function named ``spec``: a qualified name (``ns::Class::method``) or a unique tail of one."""
    spec = spec.strip()
    if spec.endswith("()") and not spec.endswith("::operator()") and spec != "operator()":
        spec = spec[:-2]        # `f()` names f; `Class::operator()` is the call operator's own name
    found = info.functions.get(spec)
    if not found:
        tails = [q for q in info.functions if q.endswith("::" + spec)]
        if len(tails) > 1:
            raise PhasmError(f"{spec!r} is ambiguous in {info.path.name}: {', '.join(sorted(tails)[:6])}; "
                             f"give the qualified name")
        found = info.functions.get(tails[0]) if tails else None
    if not found:
        close = difflib.get_close_matches(spec, list(info.functions), n=5, cutoff=0.5)
        close += [q for q in info.functions if q.rsplit("::", 1)[-1] == spec.rsplit("::", 1)[-1] and q not in close]
        hint = f"; close names: {', '.join(close[:5])}" if close else ""
        raise PhasmError(f"no function {spec!r} in the debug information of {info.path.name}{hint}")
    concrete = [f for f in found if f.low_pc is not None]
    if not concrete:
        f = found[0]
        raise PhasmError(f"{f.qualname} is inlined everywhere in {info.path.name}: there is no out-of-line copy to "
                         f"intercept; mark it __attribute__((noinline)) or build with -O1, then run again")
    if len({f.low_pc for f in concrete}) > 1:
        sigs = "; ".join(f.signature for f in concrete[:4])
        raise PhasmError(f"{spec!r} names {len(concrete)} overloads ({sigs}): overloads are not told apart yet, "
                         f"rename one or wrap the one you mean")
    return concrete[0]


class _Reader:
    """One pass over every compilation unit: functions by qualified name, globals with a fixed address."""

    def __init__(self, dwarf, path: Path) -> None:
        self.dwarf = dwarf
        self.path = path
        self.functions: dict[str, list[Function]] = {}
        self.globals: list[GlobalVar] = []
        self._types: dict[int, CType] = {}
        self._decl_funcs: dict[int, Function] = {}

    def walk(self) -> None:
        for cu in self.dwarf.iter_CUs():
            top = cu.get_top_DIE()
            self._children(top, [])

    def _children(self, die, scope: list[str]) -> None:
        for child in die.iter_children():
            tag = child.tag
            if tag in _SCOPES:
                name = _name(child)
                self._children(child, scope + [name or "(anonymous namespace)"] if name else scope)
            elif tag == "DW_TAG_subprogram":
                self._subprogram(child, scope)
            elif tag == "DW_TAG_variable":
                self._variable(child, scope)

    def _qualname_of(self, die) -> str:
        """The qualified name of a declaration DIE, from its parents."""
        parts = [_name(die) or "?"]
        parent = die.get_parent()
        while parent is not None and parent.tag != "DW_TAG_compile_unit":
            if parent.tag in _SCOPES:
                parts.append(_name(parent) or "(anonymous namespace)")
            parent = parent.get_parent()
        return "::".join(reversed(parts))

    def _origin(self, die):
        for attr in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if attr in die.attributes:
                return die.get_DIE_from_attribute(attr)
        return None

    def _subprogram(self, die, scope: list[str]) -> None:
        decl = die
        chain = [die]
        while (origin := self._origin(decl)) is not None and len(chain) < 4:
            decl = origin
            chain.append(decl)
        name = _name(decl)
        if not name:
            return
        qualname = self._qualname_of(decl) if decl is not die else "::".join(scope + [name])
        low_pc = die.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in die.attributes else None
        if low_pc is None and "DW_AT_ranges" in die.attributes:
            low_pc = self._first_range(die)
        linkage = next((_attr_str(d, "DW_AT_linkage_name") for d in chain
                        if _attr_str(d, "DW_AT_linkage_name")), None)
        inline = any("DW_AT_inline" in d.attributes for d in chain)
        params = self._params(die) or self._params(decl)
        rtype = next((d for d in chain if "DW_AT_type" in d.attributes), None)
        returns = self.type_of(rtype) if rtype is not None else _VOID
        fn = Function(qualname=qualname, linkage_name=linkage, low_pc=low_pc, params=params, returns=returns,
                      file=self.path, declared_inline=inline)
        self.functions.setdefault(qualname, []).append(fn)
        for child in die.iter_children():  # function-local statics
            if child.tag == "DW_TAG_variable":
                self._variable(child, scope + [name], local=True)

    def _first_range(self, die) -> int | None:
        try:
            ranges = self.dwarf.range_lists().get_range_list_at_offset(die.attributes["DW_AT_ranges"].value,
                                                                       cu=die.cu)
        except Exception:
            return None
        starts = [r.begin_offset for r in ranges if hasattr(r, "begin_offset")]
        return min(starts) if starts else None

    def _params(self, die) -> list[Param]:
        out = []
        for child in die.iter_children():
            if child.tag != "DW_TAG_formal_parameter":
                continue
            src = child
            while "DW_AT_type" not in src.attributes and (o := self._origin(src)) is not None:
                src = o
            name = _name(src) or _name(child) or f"arg{len(out)}"
            artificial = bool(src.attributes.get("DW_AT_artificial", None) and src.attributes["DW_AT_artificial"].value)
            out.append(Param(name="this" if artificial else name, type=self.type_of(src), artificial=artificial))
        return out

    def _variable(self, die, scope: list[str], local: bool = False) -> None:
        loc = die.attributes.get("DW_AT_location")
        # a fixed address is exactly [DW_OP_addr, 8 bytes]; anything longer is an expression (an optimised local)
        if loc is None or not isinstance(loc.value, list) or len(loc.value) != 9 or loc.value[0] != DW_OP_addr:
            return
        addr = int.from_bytes(bytes(loc.value[1:9]), "little")
        decl = self._origin(die) or die
        name = _name(decl)
        if not name or addr == 0:
            return
        qualname = self._qualname_of(decl) if decl is not die else "::".join(scope + [name])
        self.globals.append(GlobalVar(qualname=qualname, address=addr, type=self.type_of(decl)))

    # -- types ------------------------------------------------------------------------------------------------
    def type_of(self, die) -> CType:
        if "DW_AT_type" not in die.attributes:
            return _VOID
        return self._type(die.get_DIE_from_attribute("DW_AT_type"))

    def _type(self, die) -> CType:
        key = die.offset
        if key in self._types:
            return self._types[key]
        tag = die.tag
        if tag in _QUALIFIERS:
            inner = self.type_of(die)
            if tag == "DW_TAG_const_type":
                t = CType(**{**inner.__dict__, "const": True, "name": _const_name(inner)})
            elif tag == "DW_TAG_typedef":
                t = CType(**{**inner.__dict__})
            else:
                t = inner
            self._types[key] = t
            return t
        t = self._make(die)
        self._types[key] = t
        if t.kind == "struct":
            t.members = self._members(die)
        return t

    def _make(self, die) -> CType:
        tag, name = die.tag, _name(die)
        size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 0
        if tag == "DW_TAG_base_type":
            enc = _ENCODINGS.get(die.attributes["DW_AT_encoding"].value) if "DW_AT_encoding" in die.attributes else None
            dtype = None if enc is None else ("bool" if enc == "bool" else f"{enc}{8 * size}")
            return CType("base" if dtype else "opaque", name or "?", size, dtype=dtype)
        if tag == "DW_TAG_enumeration_type":
            return CType("enum", self._qualname_of(die) if name else "enum", size or 4, dtype=f"int{8 * (size or 4)}")
        if tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
            target = self.type_of(die)
            kind = "pointer" if tag == "DW_TAG_pointer_type" else "reference"
            mark = {"DW_TAG_pointer_type": "*", "DW_TAG_reference_type": "&"}.get(tag, "&&")
            return CType(kind, f"{target.name}{mark}", size or 8, target=target, const=target.const)
        if tag == "DW_TAG_array_type":
            elem = self.type_of(die)
            dims = [_subrange_count(c) for c in die.iter_children() if c.tag == "DW_TAG_subrange_type"]
            count = None if not dims or any(d is None for d in dims) else _product(dims)
            return CType("array", f"{elem.name}[{count if count is not None else ''}]",
                         (elem.size * count) if count else 0, target=elem, count=count)
        if tag in ("DW_TAG_structure_type", "DW_TAG_class_type"):
            return CType("struct", self._qualname_of(die) if name else "(anonymous struct)", size)
        if tag == "DW_TAG_unspecified_type" or tag == "DW_TAG_subroutine_type":
            return CType("opaque", name or "function", size)
        return CType("opaque", name or tag.removeprefix("DW_TAG_"), size)

    def _members(self, die) -> list[Member]:
        out = []
        for child in die.iter_children():
            if child.tag not in ("DW_TAG_member", "DW_TAG_inheritance"):
                continue
            if "DW_AT_data_member_location" not in child.attributes:
                continue  # a static member: a global of its own
            off = child.attributes["DW_AT_data_member_location"].value
            if not isinstance(off, int):
                continue
            name = _name(child) or ("(base)" if child.tag == "DW_TAG_inheritance" else "?")
            out.append(Member(name=name, offset=off, type=self.type_of(child)))
        return out


_VOID = CType("void", "void", 0)


def _const_name(t: CType) -> str:
    if t.kind in ("pointer", "reference"):
        return f"{t.name} const"
    return f"const {t.name}"


def _name(die) -> str | None:
    return _attr_str(die, "DW_AT_name")


def _attr_str(die, attr: str) -> str | None:
    a = die.attributes.get(attr)
    if a is None:
        return None
    v = a.value
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _subrange_count(die) -> int | None:
    if "DW_AT_count" in die.attributes and isinstance(die.attributes["DW_AT_count"].value, int):
        return die.attributes["DW_AT_count"].value
    if "DW_AT_upper_bound" in die.attributes and isinstance(die.attributes["DW_AT_upper_bound"].value, int):
        return die.attributes["DW_AT_upper_bound"].value + 1
    return None


def _product(xs: list[int | None]) -> int:
    p = 1
    for x in xs:
        p *= x or 0
    return p
