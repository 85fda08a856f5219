"""Attribute a traced call's memory accesses to the variables a user writes: ``xyz[0:3]``, ``bx``, ``this->gain``,
``fmap::g_config.coils``, ``layers[0:48]``.

A *region* is a typed span of memory named after the way the function reaches it: a pointer or reference parameter
(its pointee; a struct is split into its members), ``this`` (members), a pointer member (what it points to), a global
or static. A region whose length the types do not give (``double*``) is *open*: the trace decides its length (the
elements the function touched), the same in every call or it is unresolved. Accesses to the function's own stack
frame and to the constants of the code and of libraries are not variables; any other access is unresolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import PhasmError
from .abi import ArgLoc, RetLoc
from .dwarf import BinaryInfo, CType, Function
from .schema import Unresolved

STACK_BELOW = 8 << 20      # the function's frame and its callees' lie below the stack pointer at entry
OPEN_LIMIT = 1 << 16       # elements an open region may reach from its start
_C_TYPES = {"double": ("float64", 8), "float": ("float32", 4), "int": ("int32", 4), "long": ("int64", 8),
            "int64": ("int64", 8), "int32": ("int32", 4), "float64": ("float64", 8), "float32": ("float32", 4),
            "short": ("int16", 2), "char": ("int8", 1), "bool": ("bool", 1), "unsigned": ("uint32", 4)}
_OVERRIDE = re.compile(r"^\s*([A-Za-z_][\w:>.\-]*)\s*:\s*([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]\s*$")


@dataclass
class Override:
    name: str
    dtype: str
    esize: int
    count: int
    direction: str


def parse_overrides(texts: list[str], direction: str) -> list[Override]:
    out = []
    for text in texts:
        m = _OVERRIDE.match(text)
        if not m or m.group(2) not in _C_TYPES:
            raise PhasmError(f"--{'input' if direction == 'in' else 'output'} {text!r}: write NAME:TYPE[COUNT], "
                             f"e.g. 'hits:double[64]' (types: {', '.join(sorted(_C_TYPES))})")
        dtype, esize = _C_TYPES[m.group(2)]
        out.append(Override(m.group(1), dtype, esize, int(m.group(3)), direction))
    return out


def check_overrides(overrides: list[Override], args: list[ArgLoc]) -> None:
    names = {a.name for a in args}
    for o in overrides:
        base = o.name.split("->")[0].split(".")[0]
        if base not in names and "::" not in o.name and not o.name.startswith("this"):
            raise PhasmError(f"--input/--output {o.name!r}: the function has no parameter {base!r} "
                             f"(parameters: {', '.join(sorted(names))})")


def snapshot_requests(args: list[ArgLoc]) -> list[tuple[dict, int]]:
    """Pointee structs read at entry (their pointer members lead to more regions): ({arg, size}, arg index)."""
    out = []
    for i, a in enumerate(args):
        t = a.type
        if a.reg and t.kind in ("pointer", "reference") and t.target is not None and t.target.kind == "struct" \
                and t.target.size:
            out.append(({"arg": i, "size": t.target.size}, i))
    return out


@dataclass
class Region:
    name: str                 # the variable's name without the element range
    kind: str                 # argument | reference | pointer | member | global
    start: int
    dtype: str
    esize: int
    count: int | None         # None: open (length from the trace)
    in_signature: bool
    ctype: str
    forced: Override | None = None
    #: how the function reaches it, for code that reads and writes it in the program (bench's shim):
    #: ("arg", i, offset) through parameter i; ("argmember", i, member offset, 0) through a pointer member of
    #: what parameter i points to; ("global", offset from the module's base)
    path: tuple = ()

    @property
    def end(self) -> int:
        return self.start + self.esize * (self.count or 0)


@dataclass
class Context:
    fn: Function
    args: list[ArgLoc]
    ret: RetLoc
    info: BinaryInfo
    base: int
    overrides: list[Override] = field(default_factory=list)


def _dtype(t: CType) -> tuple[str, int] | None:
    if t.kind in ("base", "enum") and t.dtype:
        return t.dtype, t.size
    return None


def _leaves(t: CType, name: str, sep: str, start: int, kind: str, sig: bool) -> list[Region]:
    """A struct split into scalar and array members (pointer members are followed separately)."""
    if t.kind == "struct":
        out = []
        for m in t.members:
            out += _leaves(m.type, f"{name}{sep}{m.name}", ".", start + m.offset, kind, sig)
        return out
    if t.kind == "array" and t.target is not None and _dtype(t.target) and t.count:
        d, s = _dtype(t.target)  # type: ignore[misc]
        return [Region(name, kind, start, d, s, t.count, sig, t.name)]
    if (ds := _dtype(t)) is not None:
        return [Region(name, kind, start, ds[0], ds[1], 1, sig, t.name)]
    return []


def _pointer_members(t: CType, name: str, sep: str, blob: bytes,
                     base_off: int = 0) -> list[tuple[str, int, int, CType]]:
    """(name, offset in the struct, value read at entry, type) of each pointer member, nested structs included."""
    out: list[tuple[str, int, int, CType]] = []
    if t.kind != "struct":
        return out
    for m in t.members:
        off = base_off + m.offset
        if m.type.kind == "pointer" and m.type.target is not None and off + 8 <= len(blob):
            out.append((f"{name}{sep}{m.name}", off, int.from_bytes(blob[off:off + 8], "little"), m.type))
        elif m.type.kind == "struct":
            out += _pointer_members(m.type, f"{name}{sep}{m.name}", ".", blob, off)
    return out


def _open_region(name: str, kind: str, start: int, ptype: CType, sig: bool, ctx: Context) -> Region | None:
    forced = next((o for o in ctx.overrides if o.name == name), None)
    target = ptype.target
    if forced is not None:
        return Region(name, kind, start, forced.dtype, forced.esize, forced.count, sig, ptype.name, forced)
    if target is None or (ds := _dtype(target)) is None:
        return Region(name, kind, start, "opaque", 1, None, sig, ptype.name)
    return Region(name, kind, start, ds[0], ds[1], None, sig, ptype.name)


def call_regions(ctx: Context, call: dict) -> list[Region]:
    """The regions of one call, from its argument values and the structs read at entry."""
    regions: list[Region] = []
    snaps = {i: s for (req, i), s in zip(snapshot_requests(ctx.args), call.get("snapshots") or [])}
    for i, (a, v) in enumerate(zip(ctx.args, call["args"])):
        t = a.type
        if t.kind not in ("pointer", "reference") or "value" not in v:
            continue
        p = int(v["value"], 16)
        if p == 0 or t.target is None:
            continue
        this = a.name == "this"
        kind = "member" if this else t.kind
        sep = "->" if t.kind == "pointer" else "."
        found: list[Region] = []
        if t.target.kind == "struct":
            found += _leaves(t.target, a.name, sep, p, kind, not this)
            snap = snaps.get(i)
            if snap and snap.get("hex"):
                blob = bytes.fromhex(snap["hex"])
                for name, moff, q, mtype in _pointer_members(t.target, a.name, sep, blob):
                    if q and (r := _open_region(name, "member" if this else kind, q, mtype, not this, ctx)):
                        r.path = ("argmember", i, moff, 0)
                        regions.append(r)
        elif t.kind == "reference" and (_dtype(t.target) or t.target.kind == "array"):
            found += _leaves(t.target, a.name, "", p, "reference", True)
        elif (r := _open_region(a.name, "pointer", p, t, True, ctx)) is not None:
            found.append(r)
        for r in found:
            r.path = ("arg", i, r.start - p)
        regions += found
    for g in ctx.info.globals:
        off = ctx.info.runtime_offset(g.address)
        start = ctx.base + off
        for r in _leaves(g.type, g.qualname, ".", start, "global", False):
            r.path = ("global", off + (r.start - start))
            regions.append(r)
    return regions


@dataclass
class Cell:
    """One element of a region in one call."""

    first: str
    read: bool = False
    written: bool = False
    before: bytes | None = None
    after: bytes | None = None


@dataclass
class Seen:
    region: Region
    calls: dict[int, dict[int, Cell]] = field(default_factory=dict)   # call -> element index -> cell


@dataclass
class Found:
    ctx: Context
    seen: dict[str, Seen] = field(default_factory=dict)
    args: list[list[tuple[str, float]]] = field(default_factory=list)  # per call, by-value args
    rets: list[list[tuple[str, float]]] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unattributed: int = 0
    stray: list = field(default_factory=list)


def _locate(regions: list[Region], fixed: list[Region], addr: int) -> tuple[Region, int] | None:
    for r in fixed:
        if r.start <= addr < r.end:
            return r, (addr - r.start) // r.esize
    best = None
    for r in regions:
        if r.count is None and r.start <= addr < r.start + OPEN_LIMIT * r.esize:
            if best is None or r.start > best.start:
                best = r
    if best is not None:
        return best, (addr - best.start) // best.esize
    return None


def attribute_calls(ctx: Context, calls: list[dict], modules: list[tuple[int, int]] | None = None) -> Found:
    found = Found(ctx)
    for call in calls:
        k = call["index"]
        regions = call_regions(ctx, call)
        fixed = [r for r in regions if r.count is not None]
        sp = int(call["sp"], 16)
        for acc in call.get("accesses", []):
            addr, size = int(acc["address"], 16), int(acc["size"])
            if sp - STACK_BELOW <= addr < sp:
                continue  # the frame of the function and of its callees
            hit = _locate(regions, fixed, addr)
            if hit is None:
                if not _in_modules(addr, modules):
                    found.unattributed += 1
                    found.stray.append((addr, acc))
                continue
            _record(found, hit, acc, addr, size, k)
        found.args.append(_arg_values(ctx, call))
        found.rets.append(_ret_values(ctx, call))
    if found.unattributed:
        found.unresolved.append(Unresolved(
            name="(memory not reachable from the parameters, this or a global)", kind="pointer",
            reason=f"{found.unattributed} addresses read or written through a pointer the types do not lead to "
                   f"(e.g. a pointer inside a pointed-to array); a surrogate would not see them"))
    return found


def _in_modules(addr: int, modules) -> bool:
    """Code and data of a loaded module that is not a variable the types know: constants, libraries' tables."""
    return any(b <= addr < b + s for b, s in modules or ())


def _record(found: Found, hit: tuple[Region, int], acc: dict, addr: int, size: int, k: int) -> None:
    region, idx = hit
    seen = found.seen.setdefault(region.name, Seen(region))
    if region.count is not None and seen.region.count is None:
        seen.region = region
    cells = seen.calls.setdefault(k, {})
    es = region.esize
    before = bytes.fromhex(acc["value"]) if acc.get("value") else b""
    after = bytes.fromhex(acc["after"]) if acc.get("after") else b""
    n = max(1, size // es) if region.dtype != "opaque" else 1
    for j in range(n):
        i = idx + j
        if region.count is not None and i >= region.count:
            break
        c = cells.get(i)
        if c is None:
            c = cells[i] = Cell(first=acc["first"])
            if acc["first"] == "r" and len(before) >= (j + 1) * es:
                c.before = before[j * es:(j + 1) * es]
        c.read |= bool(acc.get("read"))
        c.written |= bool(acc.get("written"))
        if acc.get("written") and len(after) >= (j + 1) * es:
            c.after = after[j * es:(j + 1) * es]


def decode(blob: bytes, dtype: str) -> float | None:
    if not blob or dtype in ("opaque", "pointer"):
        return None
    try:
        return float(np.frombuffer(blob, dtype=np.dtype(dtype))[0])
    except (TypeError, ValueError):
        return None


def _arg_values(ctx: Context, call: dict) -> list[tuple[str, float]]:
    out = []
    for a, v in zip(ctx.args, call["args"]):
        ds = _dtype(a.type)
        if ds is None:
            if a.type.kind == "struct" and v.get("hex"):
                blob = bytes.fromhex(v["hex"])
                for leaf in _leaves(a.type, a.name, ".", 0, "argument", True):
                    for e in range(leaf.count or 1):
                        o = leaf.start + e * leaf.esize
                        out.append((leaf.name, decode(blob[o:o + leaf.esize], leaf.dtype)))
            continue
        if "value" in v:
            raw = int(v["value"], 16).to_bytes(8, "little", signed=False)[:ds[1]]
        elif v.get("hex"):
            raw = bytes.fromhex(v["hex"])[:ds[1]]
        else:
            continue
        out.append((a.name, decode(raw, ds[0])))
    return out


def _ret_values(ctx: Context, call: dict) -> list[tuple[str, float]]:
    r = call.get("ret")
    t = ctx.fn.returns
    if not r or t.kind == "void":
        return []
    if "value" in r:
        blob = int(r["value"], 16).to_bytes(8, "little")
    else:
        blob = bytes.fromhex(r.get("hex") or "")
        if r.get("hex1") and ctx.ret.kind == "xmm" and t.size > 8:
            blob = blob[:8] + bytes.fromhex(r["hex1"])
    out = []
    for leaf in _leaves(t, "return", ".", 0, "return", True):
        for e in range(leaf.count or 1):
            o = leaf.start + e * leaf.esize
            out.append((leaf.name if (leaf.count or 1) == 1 else f"{leaf.name}[{e}]",
                        decode(blob[o:o + leaf.esize], leaf.dtype)))
    return out
