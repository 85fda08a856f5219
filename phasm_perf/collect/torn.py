"""Python stacks that can be trusted: torn samples repaired, and phasm-perf's own frames taken out.

A sampler that reads a running interpreter's frames from outside (Austin, py-spy) sometimes reads a stack while it
changes: the caller's frame already stands at a later line while the frame of the function it called a moment ago
is still read below it. Such a sample puts time on an edge that cannot exist (``boris_push`` at line 42, which
calls nothing, "calling" ``field_at``): the callee's inclusive time grows and the caller's own time shrinks.

Austin and py-spy read a stack from its innermost frame outwards, so the frames read last (the callers) are the
ones that may have moved on. Where the caller's function does call the callee at another line, the sample is
repaired by putting the caller back at that line (the nearest such line before the one read, where there are
several): the time stays where it was spent. Where the caller's function cannot call the callee at all (a frame
read after its memory was reused by another call), the stale frames below the caller are dropped and the time is
the caller's own.

An edge ``caller (file:L) -> callee`` is impossible when the statement at line L of the caller's source cannot call
the callee: it names it nowhere (neither as a function, an attribute nor an argument), it has nothing that resumes
or calls code indirectly (``for``, ``with``, ``yield``, ``await``, comprehensions, lambdas, ``import``, ``del``),
and every call in it is to a function it names statically (a name defined or imported in that module, a builtin,
or an attribute of an imported module). Dunder methods (``__add__``, ``__del__``, ``__init__``...) run from almost
any statement and are never judged, nor is anything whose source cannot be read, nor a library's code (the standard
library, site-packages: never a candidate, and the repair's cost was mostly parsing them). A torn sample is repaired by
dropping the stale frames below the caller: its time becomes the caller's own, at the line it was at.

A frame's function name is checked against the source at its line (:func:`source_name`): Austin can report a
function under the name of another one whose string lived at the same address before (CPython 3.11 frees a name's
string once nothing uses it); such a frame is renamed after the function whose body holds the line.

The counting hook's cost is taken out of the stacks: a sample in the hook's own frames (sizing a function's first
calls, or installing the hook at start-up) and a sample in the counter compiled into a function (the leaf at the
line of its ``def``, where the counter's instructions are placed and no statement of a body stands, one-line
functions aside) are time the program would not have spent unprofiled: they are dropped, and the note says how
much.
"""

from __future__ import annotations

import ast
import builtins
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from ..core.codepaths import make_is_user_code
from ..core.folded import make_frame, split_frame

_INDIRECT = (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.Import, ast.ImportFrom, ast.Delete, ast.Await,
             ast.Yield, ast.YieldFrom, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
             ast.Raise, ast.Assert, ast.Try, ast.Match)
_BUILTINS = frozenset(dir(builtins))
#: only the user's code is judged: a library's source (argparse, re, tempfile... run at the program's start-up) is
#: never a candidate, and parsing it cost most of the repair's time (0.6 s of a 4 s rank on examples/particles.py)
_is_user = make_is_user_code()


@dataclass
class _Module:
    statements: dict[int, ast.AST]          # line -> the innermost statement (its own part) covering it
    static: frozenset[str]                  # names bound at module level (defs, classes, imports)
    modules: frozenset[str]                 # names bound to imported modules
    functions: list[tuple[int, int, ast.AST]]  # (first line, last line, def) of every function
    #: (first body line, last line, qualified name) of every function and class, outer scopes first
    scopes: list[tuple[int, int, str]] = field(default_factory=list)


def _own_nodes(stmt: ast.stmt):
    """The expressions of a statement itself, not of the statements in its body."""
    for name, value in ast.iter_fields(stmt):
        if name in ("body", "orelse", "finalbody", "handlers", "cases"):
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, ast.AST):
                yield from ast.walk(v)


@lru_cache(maxsize=256)
def _module(path: str) -> _Module | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    statements: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            end = getattr(node, "end_lineno", node.lineno) or node.lineno
            body_start = min((s.lineno for f in ("body", "orelse", "finalbody", "handlers")
                              for s in getattr(node, f, []) or [] if isinstance(s, ast.AST)), default=end + 1)
            for line in range(node.lineno, min(end, body_start - 1) + 1):
                statements[line] = node  # walk is breadth-first: inner statements overwrite outer ones
    functions = [(n.lineno, getattr(n, "end_lineno", n.lineno) or n.lineno, n) for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    static, modules = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            static.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                bound = (a.asname or a.name).split(".")[0]
                static.add(bound)
                if isinstance(node, ast.Import):
                    modules.add(bound)
    return _Module(statements, frozenset(static), frozenset(modules), functions, _scopes(tree))


def _scopes(tree: ast.Module) -> list[tuple[int, int, str]]:
    """Every function's and class's body lines and qualified name (``f.<locals>.g``, ``C.m``), as CPython names
    their code."""
    out: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child.body:
                qual = prefix + child.name
                out.append((child.body[0].lineno, getattr(child, "end_lineno", None) or child.lineno, qual))
                visit(child, qual + (".<locals>." if not isinstance(child, ast.ClassDef) else "."))
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


@lru_cache(maxsize=65536)
def cannot_call(file: str, line: int, callee: str) -> bool:
    """True when the statement at ``file:line`` cannot call the function named ``callee`` (see the module doc)."""
    short = callee.rsplit(".", 1)[-1]
    if short.startswith("<") or (short.startswith("__") and short.endswith("__")):
        return False
    mod = _module(file) if os.path.isabs(file) and _is_user(file) else None
    stmt = mod.statements.get(line) if mod else None
    if stmt is None or isinstance(stmt, _INDIRECT):
        return False
    parts = set(callee.split(".")) | {short}
    for node in _own_nodes(stmt):
        if isinstance(node, _INDIRECT):
            return False
        if isinstance(node, ast.Name) and node.id in parts:
            return False
        if isinstance(node, ast.Attribute) and node.attr in parts:
            return False
        if isinstance(node, ast.Call) and not _static_call(node.func, mod):
            return False
    return True


def _static_call(func: ast.AST, mod: _Module) -> bool:
    if isinstance(func, ast.Name):
        return func.id in mod.static or func.id in _BUILTINS
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id in mod.modules
    return False


@lru_cache(maxsize=65536)
def calling_line(file: str, line: int, callee: str) -> int | None:
    """The line of the function around ``file:line`` that can call ``callee`` (the nearest before ``line``, else
    the first after it); None when no line of that function can."""
    mod = _module(file)
    if mod is None:
        return None
    around = [(a, b, n) for a, b, n in mod.functions if a <= line <= b]
    if not around:
        return None
    start, end, _ = max(around, key=lambda t: t[0])  # the innermost function
    inner = [(a, b) for a, b, _ in mod.functions if start < a and b <= end]  # nested defs are not this function
    lines = sorted({ln for ln, st in mod.statements.items() if start < ln <= end
                    and not any(a <= ln <= b for a, b in inner)})
    can = [ln for ln in lines if ln != line and not cannot_call(file, ln, callee)]
    before = [ln for ln in can if ln < line]
    return before[-1] if before else (can[0] if can else None)


def one_liner(file: str, line: int) -> bool:
    """Whether the function defined at ``file:line`` has its body on that line (``def f(x): return x``)."""
    mod = _module(file)
    if mod is None:
        return True  # unknown: never drop its samples
    for a, _b, node in mod.functions:
        if a <= line <= node.lineno:  # decorators start before the def
            return bool(node.body) and node.body[0].lineno == node.lineno
    return True


@lru_cache(maxsize=65536)
def source_name(file: str, line: int, name: str) -> str | None:
    """The name of the function whose body holds ``file:line``, when the sampler gave another (None: the name is
    right, or cannot be judged: a library's code, a source that cannot be read, a line outside any function's
    body, a comprehension's, a lambda's or a generator expression's frame).

    Austin keeps the names it has read by the address of their string: in CPython 3.11 a name's string can be
    freed (``del def_op`` at the end of ``opcode``) and its memory reused for another function's name, which
    Austin then reports under the old one: ``boris_push`` as ``def_op`` for a whole run (one run in about seven of
    ``examples/particles.py`` here), and the function is missing from the ranking."""
    short = name.rsplit(".", 1)[-1]
    if short.startswith("<") and short != "<module>":
        return None
    mod = _module(file) if os.path.isabs(file) and _is_user(file) and os.path.isfile(file) else None
    if mod is None:
        return None
    inner = [(a, qual) for a, b, qual in mod.scopes if a <= line <= b]
    if not inner:
        return None
    qual = max(inner)[1]  # the innermost: the last to start
    return None if qual.rsplit(".", 1)[-1] == short else qual


def _rename(frames: tuple[str, ...]) -> tuple[str, ...]:
    out = None
    for i, f in enumerate(frames):
        name, file, line = split_frame(f)
        if file and line:
            right = source_name(file, line, name)
            if right is not None:
                out = out or list(frames)
                out[i] = make_frame(right, file, line)
    return tuple(out) if out is not None else frames


@dataclass
class Repair:
    stacks: Counter
    torn: float = 0.0            # weight of the torn samples (repaired or cut)
    cut: float = 0.0             # of which: cut below the caller (it cannot call the callee anywhere)
    hook: float = 0.0            # weight of the samples dropped as the counting hook's cost
    edges: Counter = field(default_factory=Counter)   # (caller frame, callee name) -> weight, the worst first
    renamed: float = 0.0         # weight of the samples with a frame the sampler misnamed (renamed from the source)
    names: Counter = field(default_factory=Counter)   # (name read, file's name, right name) -> weight


def repair(stacks: Counter, hook_dir: str | None = None, def_lines: dict[tuple[str, str], int] | None = None) \
        -> Repair:
    """The stacks with torn samples repaired and the counting hook's cost dropped (``def_lines``: each counted
    function's ``def`` line by (file, name), where its counter runs)."""
    out = Repair(Counter())
    def_lines = def_lines or {}
    for frames, w in stacks.items():
        if hook_dir and any(hook_dir in f for f in frames):
            out.hook += w
            continue
        kept = _rename(frames)
        if _in_counter(kept[-1], def_lines):
            out.hook += w
            continue
        if kept is not frames:
            out.renamed += w
            for a, b in zip(frames, kept):
                if a != b:
                    read, file, line = split_frame(a)
                    out.names[(read, os.path.basename(file), split_frame(b)[0])] += w
                    break
        fixed = _fix(kept)
        if fixed is not kept:
            out.torn += w
            if len(fixed) < len(kept):
                out.cut += w
            i = next(i for i, (a, b) in enumerate(zip(fixed, kept)) if a != b) if len(fixed) == len(kept) \
                else len(fixed) - 1
            out.edges[(kept[i], split_frame(kept[i + 1])[0])] += w
            kept = fixed
        out.stacks[kept] += w
    return out


def _in_counter(leaf: str, def_lines: dict[tuple[str, str], int]) -> bool:
    name, file, line = split_frame(leaf)
    return bool(file and line) and def_lines.get((file, name)) == line and not one_liner(file, line)


def _fix(frames: tuple[str, ...]) -> tuple[str, ...]:
    """The stack with each impossible edge repaired (the caller put back at its calling line) or cut."""
    out = list(frames)
    for i in range(len(out) - 1):
        name, file, line = split_frame(out[i])
        if not (file and line):
            continue
        callee, cfile, _ = split_frame(out[i + 1])
        if not cfile or not cannot_call(file, line, callee):
            continue
        good = calling_line(file, line, callee)
        if good is None:
            return tuple(out[: i + 1])
        out[i] = make_frame(name, file, good)
    return tuple(out) if out != list(frames) else frames


__all__ = ["Repair", "repair", "cannot_call", "calling_line", "source_name"]
