"""Where a function's arguments and result are at entry and exit: the System V x86-64 calling convention.

    locs, ret = locate(fn)   # fn: discover.dwarf.Function
    locs[1]  # ArgLoc(name='xyz', reg='rsi', ...)    locs[2]: ArgLoc(name='e', xmm=0, ...)

Integer-class values (pointers, references, `this`, integers, enums) take rdi, rsi, rdx, rcx, r8, r9; float and
double take xmm0-7; a struct of at most 16 bytes is split into eightbytes classed by their fields; anything larger
(or that does not fit in the registers left) is on the stack; a struct result over 16 bytes is written through a
hidden pointer in rdi (returned in rax).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import PhasmError
from .dwarf import CType, Function

INT_REGS = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]


@dataclass
class ArgLoc:
    name: str
    type: CType
    reg: str | None = None
    xmm: int | None = None
    stack: int | None = None     # offset from rsp at entry (the return address is at 0)
    size: int = 8

    def as_param(self) -> dict:
        d: dict = {"name": self.name, "size": self.size}
        if self.reg is not None:
            d["reg"] = self.reg
        elif self.xmm is not None:
            d["xmm"] = self.xmm
        elif self.stack is not None:
            d["stack"] = self.stack
        return d


@dataclass
class RetLoc:
    kind: str                    # none | int | xmm | sret
    size: int = 0

    def as_param(self) -> dict:
        return {"kind": self.kind, "size": self.size}


def _fields(t: CType, base: int = 0) -> list[tuple[int, CType]]:
    """The scalar leaves of a struct with their offsets."""
    if t.kind == "struct":
        return [leaf for m in t.members for leaf in _fields(m.type, base + m.offset)]
    if t.kind == "array" and t.target is not None and t.count:
        return [leaf for i in range(t.count) for leaf in _fields(t.target, base + i * t.target.size)]
    return [(base, t)]


def _classes(t: CType) -> list[str] | None:
    """SSE / INTEGER per eightbyte of a small struct, None for MEMORY."""
    if t.size > 16 or t.size == 0:
        return None
    words = ["NONE"] * ((t.size + 7) // 8)
    for off, leaf in _fields(t):
        if leaf.kind not in ("base", "enum", "pointer", "reference"):
            return None
        cls = "SSE" if leaf.dtype and leaf.dtype.startswith("float") and leaf.size <= 8 else "INTEGER"
        w = off // 8
        words[w] = "INTEGER" if "INTEGER" in (words[w], cls) else cls
    return words


def _scalar_class(t: CType) -> str:
    if t.kind in ("pointer", "reference", "enum"):
        return "INTEGER"
    if t.kind == "base":
        if t.dtype and t.dtype.startswith("float"):
            if t.size > 8:
                raise PhasmError(f"{t.name} (x87 long double) arguments are not supported")
            return "SSE"
        return "INTEGER"
    raise PhasmError(f"an argument of type {t.name} cannot be located")


def locate(fn: Function) -> tuple[list[ArgLoc], RetLoc]:
    ints, sses, stack = 0, 0, 8
    ret = _ret(fn.returns)
    if ret.kind == "sret":
        ints = 1
    out: list[ArgLoc] = []
    for p in fn.params:
        t = p.type
        if t.kind == "struct" or t.kind == "array":
            words = _classes(t)
            need_i = (words or []).count("INTEGER")
            need_s = (words or []).count("SSE")
            if words is not None and ints + need_i <= 6 and sses + need_s <= 8 and need_i == 0:
                out.append(ArgLoc(p.name, t, xmm=sses, size=t.size))  # all-SSE small struct: consecutive xmm
                sses += need_s
                continue
            if words is not None and need_s == 0 and ints + need_i <= 6:
                out.append(ArgLoc(p.name, t, reg=INT_REGS[ints], size=t.size))
                ints += need_i
                continue
            out.append(ArgLoc(p.name, t, stack=stack, size=t.size))
            stack += (t.size + 7) // 8 * 8
            continue
        cls = _scalar_class(t)
        if cls == "INTEGER" and ints < 6:
            out.append(ArgLoc(p.name, t, reg=INT_REGS[ints], size=t.size or 8))
            ints += 1
        elif cls == "SSE" and sses < 8:
            out.append(ArgLoc(p.name, t, xmm=sses, size=t.size))
            sses += 1
        else:
            out.append(ArgLoc(p.name, t, stack=stack, size=t.size or 8))
            stack += 8
    return out, ret


def _ret(t: CType) -> RetLoc:
    if t.kind == "void":
        return RetLoc("none")
    if t.kind in ("struct", "array"):
        words = _classes(t)
        if words is None:
            return RetLoc("sret", t.size)
        if all(w == "SSE" for w in words):
            return RetLoc("xmm", t.size)
        if all(w == "INTEGER" for w in words) and t.size <= 8:
            return RetLoc("int", t.size)
        raise PhasmError(f"a result of type {t.name} (mixed integer and floating-point fields) is not supported")
    return RetLoc("xmm" if _scalar_class(t) == "SSE" else "int", t.size or 8)
