"""Where a code object reads or writes something that is not its own local: its *sites*, found in the bytecode.

A site is an instruction that loads a local, a global or a closure variable and the chain of plain accesses that
follows it (``self.glass.index``, ``CONFIG['scale']``, ``ray[0]``, ``TABLE[i]``), with how the chain ends: its value
is used, a method is called on it, or something is stored into it (``out[0] = ...``, ``self.x = ...``). The chain
is evaluated when the base instruction is about to run (the values of the locals used as indices are current
then: nothing is stored between the base and the subscript). ``STORE_GLOBAL`` and ``STORE_DEREF`` are sites too.

CPython 3.10 to 3.13: ``LOAD_METHOD`` (3.10, 3.11) or ``LOAD_ATTR`` with its method flag (3.12+),
``LOAD_FAST_LOAD_FAST`` (3.13), ``DUP_TOP``/``COPY`` of augmented assignments. Pure: no state, cached per code.
"""

from __future__ import annotations

import dis
import sys
import types
from functools import lru_cache
from typing import NamedTuple

_FAST = {"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW"}
_GLOBAL = {"LOAD_GLOBAL", "LOAD_NAME"}
_DEREF = {"LOAD_DEREF", "LOAD_CLASSDEREF"}
_SKIP = {"EXTENDED_ARG", "CACHE", "NOP"}
_DUP1 = {"DUP_TOP"}
_METHOD_FLAG = sys.version_info >= (3, 12)


class Site(NamedTuple):
    base: str  # fast, global, deref, store_global, store_deref
    name: str
    steps: tuple = ()  # ("attr", name) | ("item", const) | ("itemvar", local name)
    end: str = "value"  # value, method, store_attr, store_item, store_itemvar (store_* sites: the name itself)
    end_arg: object = None  # the method's or attribute's name, the constant key, the index variable


@lru_cache(maxsize=4096)
def sites(code: types.CodeType) -> dict[int, tuple[Site, ...]]:
    """``{offset: (Site, ...)}`` for the instructions of ``code`` where a chain starts or a global is stored."""
    ins = [i for i in dis.get_instructions(code) if i.opname not in _SKIP]
    out: dict[int, list[Site]] = {}
    for k, i in enumerate(ins):
        op = i.opname
        if op == "STORE_GLOBAL":
            out.setdefault(i.offset, []).append(Site("store_global", i.argval))
        elif op == "STORE_DEREF":
            out.setdefault(i.offset, []).append(Site("store_deref", i.argval))
        elif op == "LOAD_FAST_LOAD_FAST":  # 3.13: two locals at once (a[b], or a then b.chain)
            a, b = i.argval
            skip = _dup2(ins, k + 1)
            nxt = ins[k + 1 + skip].opname if k + 1 + skip < len(ins) else ""
            if nxt == "BINARY_SUBSCR":
                steps, end, arg = _chain(ins, k + 2 + skip)
                found = [Site("fast", a, (("itemvar", b), *steps), end, arg)]
            elif nxt == "STORE_SUBSCR" and not skip:
                found = [Site("fast", a, (), "store_itemvar", b)]
            else:
                steps, end, arg = _chain(ins, k + 1)
                found = [Site("fast", a), Site("fast", b, steps, end, arg)]
            out.setdefault(i.offset, []).extend(found)
        elif op in _FAST or op in _GLOBAL or op in _DEREF:
            base = "fast" if op in _FAST else "global" if op in _GLOBAL else "deref"
            steps, end, arg = _chain(ins, k + 1)
            out.setdefault(i.offset, []).append(Site(base, i.argval, steps, end, arg))
    return {o: tuple(s) for o, s in out.items()}


def _is_method(i: dis.Instruction) -> bool:
    return i.opname == "LOAD_METHOD" or (_METHOD_FLAG and i.opname == "LOAD_ATTR" and bool((i.arg or 0) & 1))


def _dup2(ins: list, j: int) -> int:
    """How many instructions duplicate the two top items at ``j`` (``a[i] += ...``): 0, 1 or 2."""
    if j < len(ins) and ins[j].opname == "DUP_TOP_TWO":
        return 1
    if j + 1 < len(ins) and all(ins[j + n].opname == "COPY" and ins[j + n].arg == 2 for n in (0, 1)):
        return 2
    return 0


def _chain(ins: list, j: int) -> tuple[tuple, str, object]:
    """The steps that follow a base load at ``ins[j:]``, and how the chain ends."""
    steps: list = []
    n = len(ins)
    while j < n:
        i = ins[j]
        op = i.opname
        if op in _DUP1 or (op == "COPY" and i.arg == 1):
            j += 1
            continue
        if _is_method(i):
            return tuple(steps), "method", i.argval
        if op == "LOAD_ATTR":
            steps.append(("attr", i.argval))
            j += 1
            continue
        if op == "STORE_ATTR":
            return tuple(steps), "store_attr", i.argval
        if op in ("LOAD_CONST", *_FAST) and j + 1 < n:
            kind = "item" if op == "LOAD_CONST" else "itemvar"
            skip = _dup2(ins, j + 1)
            after = ins[j + 1 + skip].opname if j + 1 + skip < n else ""
            if after == "BINARY_SUBSCR":
                steps.append((kind, i.argval))
                j += 2 + skip
                continue
            if after == "STORE_SUBSCR" and not skip:
                return tuple(steps), "store_" + kind, i.argval
        break
    return tuple(steps), "value", None
