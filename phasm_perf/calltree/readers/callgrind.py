"""valgrind's callgrind format: per-function exclusive and inclusive costs for every event type, exact call counts,
files and lines.

Costs are read as ``callgrind_annotate --inclusive=yes`` reads them: a function is ``file:name``; the cost line after
``calls=`` is the inclusive cost of that call, added to the caller's inclusive cost and to the callee's total of
calls into it; the inclusive cost of a function that is called is the sum of the calls into it, of one that is not
(the entry point) its own cost plus its calls out. Name compression (``fn=(3) name`` then ``fn=(3)``), relative
positions (``+2``, ``-1``, ``*``), ``fi=``/``fe=`` (inlined files) and several event types are handled.

Callgrind records a call graph, not stacks: :meth:`CallgrindProfile.stacks` unfolds it from the functions nobody
calls, sharing each callee's cost among its callers in proportion to their calls' cost (recursion is cut).
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...core.errors import PhasmError
from ...core.folded import make_frame
from ..tree import CallTree
from .base import Profile
from .text import open_text_lines

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")
_POS = re.compile(r"^(0x[0-9a-fA-F]+|[+-]?\d+|\*)$")


def sniff(head: str) -> bool:
    return head.startswith("# callgrind format") or bool(
        re.search(r"^events:", head, re.M) and re.search(r"^fn=", head, re.M))


@dataclass
class CallgrindFunction:
    key: str              # "file:name", callgrind_annotate's identity
    name: str
    file: str
    object: str
    line: int | None      # the first line with a cost
    self_cost: np.ndarray
    incl_cost: np.ndarray
    calls: int            # calls into the function (exact)


@dataclass
class CallgrindProfile:
    events: list[str]
    functions: dict[str, CallgrindFunction]
    #: (caller key, callee key) -> [calls, cost per event]
    edges: dict[tuple[str, str], tuple[int, np.ndarray]]
    totals: np.ndarray
    event: str
    cmd: str = ""
    #: key of a function's code inlined from another file (``fi=``/``fe=``) -> the function's own key
    owner: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def event_index(self) -> int:
        return self.events.index(self.event)

    def table(self) -> pd.DataFrame:
        """One row per function: exclusive and inclusive cost of the chosen event, calls into it, file and line."""
        j = self.event_index
        rows = [(f.key, f.name, f.file, f.line, float(f.self_cost[j]), float(f.incl_cost[j]), f.calls)
                for f in self.functions.values()]
        df = pd.DataFrame(rows, columns=["key", "name", "file", "line", "self", "inclusive", "calls"])
        df["line"] = df["line"].astype("Int64")
        return df.sort_values("inclusive", ascending=False, kind="stable").reset_index(drop=True)

    def frame(self, key: str) -> str:
        f = self.functions[key]
        return make_frame(f.name, f.file or None, f.line)

    def stacks(self, min_fraction: float = 1e-6) -> Counter:
        """Stacks (root first) of the chosen event's cost, unfolded from the call graph (see the module doc)."""
        j = self.event_index
        out_edges: dict[str, list[tuple[str, float]]] = defaultdict(list)
        own_key = self.owner.get
        body: dict[str, float] = defaultdict(float)
        for k, f in self.functions.items():
            body[own_key(k, k)] += float(f.self_cost[j])
        for (a, b), (_, cost) in self.edges.items():
            a, b = own_key(a, a), own_key(b, b)
            if a != b:  # a recursive call's cost is already in the function's own cost
                if cost[j] > 0:
                    out_edges[a].append((b, float(cost[j])))
                body[a] += float(cost[j])
        called = {own_key(b, b) for (a, b) in self.edges} - {None}
        mains = [k for k in self.functions if k not in self.owner]
        roots = [k for k in mains if k not in called] or mains
        total = float(self.totals[j]) or 1.0
        stacks: Counter = Counter()
        frame = {k: self.frame(k) for k in self.functions}

        def walk(key: str, path: tuple[str, ...], on_path: frozenset, scale: float) -> None:
            path = path + (frame[key],)
            kids = out_edges.get(key, [])
            own = (body[key] - sum(c for _, c in kids)) * scale
            for callee, cost in kids:
                share = cost * scale
                whole = body[callee]  # its own cost plus its calls out: what one unit of it holds
                if callee in on_path or whole <= 0 or share < min_fraction * total:
                    own += share  # recursion or too small to unfold: kept on this frame
                    continue
                walk(callee, path, on_path | {callee}, share / whole)
            if own > 0:
                stacks[path] += own

        for r in roots:
            walk(r, (), frozenset({r}), 1.0)
        return stacks

    def tree(self) -> "CallTree":
        """The call tree of :meth:`stacks` (weights in the chosen event's units)."""
        return self.profile().tree()

    def profile(self) -> Profile:
        calls = {}
        for f in self.functions.values():
            if f.calls:
                k = f"{f.name} ({f.file})" if f.file else f.name
                calls[k] = calls.get(k, 0) + f.calls
        unit = self.event
        return Profile(self.stacks(), format="callgrind", weight_unit=unit, seconds_per_unit=1.0, calls=calls,
                       notes=list(self.notes) + [f"weights are {unit} (callgrind counts events, not seconds)"])


def read_callgrind(path: str | os.PathLike, event: str | None = None) -> CallgrindProfile:
    """Read a callgrind file. ``event`` picks the event type for :meth:`~CallgrindProfile.stacks` (default: first)."""
    path = Path(path)
    names: dict[str, dict[str, str]] = {"fl": {}, "fn": {}, "ob": {}}
    events: list[str] = []
    positions = ["line"]
    self_cost: dict[str, np.ndarray] = {}
    call_in: dict[str, np.ndarray] = {}
    call_out: dict[str, np.ndarray] = {}
    calls_in: Counter = Counter()
    edges: dict[tuple[str, str], list] = {}
    meta: dict[str, tuple[str, str, str]] = {}
    first_line: dict[str, int] = {}
    owner: dict[str, str] = {}
    totals = None
    cmd = ""

    def uncompress(kind: str, text: str) -> str:
        m = _NAME.match(text.strip())
        if not m:
            return text.strip()
        table = names[kind]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
            return m.group(2)
        return table.get(m.group(1), f"({m.group(1)})")

    obj = fl = cur_file = ""
    fn: str | None = None
    cur = ""
    cfile = ""
    cfn_key = ""
    pending_calls = 0
    prev_pos = [0] * len(positions)
    nev = 0
    try:
        for lineno, raw in enumerate(open_text_lines(path), 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            c0 = line[0]
            if c0.isdigit() or c0 in "+-*" or line.startswith("0x"):
                parts = line.split()
                npos = len(positions)
                pos_vals = []
                for i, tok in enumerate(parts[:npos]):
                    if not _POS.match(tok):
                        raise ValueError(f"line {lineno}: bad position {tok!r}")
                    if tok == "*":
                        v = prev_pos[i]
                    elif tok[0] in "+-":
                        v = prev_pos[i] + int(tok)
                    else:
                        v = int(tok, 16) if tok.startswith("0x") else int(tok)
                    pos_vals.append(v)
                prev_pos = pos_vals + prev_pos[len(pos_vals):]
                cost = np.zeros(nev)
                vals = parts[npos:npos + nev]
                if vals:
                    cost[:len(vals)] = [float(int(v, 16) if v.startswith("0x") else v) for v in vals]
                if fn is None:
                    raise ValueError(f"line {lineno}: a cost line before any fn=")
                if pending_calls:
                    e = edges.setdefault((cur, cfn_key), [0, np.zeros(nev)])
                    e[0] += pending_calls
                    e[1] += cost
                    calls_in[cfn_key] += pending_calls
                    call_in[cfn_key] = call_in.get(cfn_key, np.zeros(nev)) + cost
                    call_out[cur] = call_out.get(cur, np.zeros(nev)) + cost
                    pending_calls = 0
                else:
                    self_cost[cur] += cost
                    ln = pos_vals[positions.index("line")] if "line" in positions and pos_vals else None
                    if ln and (cur not in first_line or ln < first_line[cur]):
                        first_line[cur] = ln
                continue
            key, sep, value = line.partition("=")
            if sep and key in ("fn",):
                fn = uncompress("fn", value)
                cur_file = fl
                cur = f"{cur_file}:{fn}"
                self_cost.setdefault(cur, np.zeros(nev))
                meta.setdefault(cur, (fn, cur_file, obj))
            elif sep and key == "fl":
                fl = uncompress("fl", value)
                cur_file = fl
            elif sep and key in ("fi", "fe"):
                if fn is None:
                    raise ValueError(f"line {lineno}: {key}= before any fn=")
                cur_file = uncompress("fl", value)
                cur = f"{cur_file}:{fn}"
                if cur_file != fl:
                    owner.setdefault(cur, f"{fl}:{fn}")
                self_cost.setdefault(cur, np.zeros(nev))
                meta.setdefault(cur, (fn, cur_file, obj))
            elif sep and key == "ob":
                obj = uncompress("ob", value)
            elif sep and key == "cob":
                uncompress("ob", value)
            elif sep and key in ("cfi", "cfl"):
                cfile = uncompress("fl", value)
            elif sep and key == "cfn":
                cfunc = uncompress("fn", value)
                cfn_key = f"{cfile or cur_file}:{cfunc}"
                meta.setdefault(cfn_key, (cfunc, cfile or cur_file, ""))
                self_cost.setdefault(cfn_key, np.zeros(nev))
                cfile = ""
            elif sep and key == "calls":
                pending_calls = int(value.split()[0])
            elif sep and key in ("jump", "jcnd"):
                pass
            elif sep and key in ("jfi", "jfn"):
                uncompress("fl" if key == "jfi" else "fn", value)
            elif line.startswith("events:"):
                events = line.split(":", 1)[1].split()
                nev = len(events)
            elif line.startswith("positions:"):
                positions = line.split(":", 1)[1].split() or ["line"]
                prev_pos = [0] * len(positions)
            elif line.startswith("totals:") or line.startswith("summary:"):
                totals = np.array([float(v) for v in line.split(":", 1)[1].split()][:nev] or [0.0])
            elif line.startswith("cmd:"):
                cmd = line.split(":", 1)[1].strip()
            elif re.match(r"^[a-z]+:", line):
                pass  # version, creator, pid, part, desc, event: ...
            else:
                raise ValueError(f"line {lineno}: not a callgrind line: {line[:60]!r}")
    except ValueError as exc:
        raise PhasmError(f"{str(path)!r}: malformed callgrind file ({exc})") from None
    if not events:
        raise PhasmError(f"{str(path)!r} is not a callgrind file (no 'events:' line)")
    if not self_cost:
        raise PhasmError(f"{str(path)!r} holds no function cost")
    funcs: dict[str, CallgrindFunction] = {}
    for key, sc in self_cost.items():
        name, file, ob = meta.get(key, (key, "", ""))
        incl = call_in[key] if key in call_in else sc + call_out.get(key, np.zeros(nev))
        funcs[key] = CallgrindFunction(key, name, file, ob, first_line.get(key), sc, incl, int(calls_in.get(key, 0)))
    computed = sum((f.self_cost for f in funcs.values()), np.zeros(nev))
    if event is None:
        event = events[0]
    elif event not in events:
        raise PhasmError(f"event {event!r} is not in {str(path)!r}; it has: {', '.join(events)}")
    return CallgrindProfile(events, funcs, {k: (v[0], v[1]) for k, v in edges.items()},
                            computed if totals is None or not totals.any() else totals, event, cmd,
                            {k: v for k, v in owner.items() if v in funcs})


def read(path: Path, event: str | None = None) -> Profile:
    return read_callgrind(path, event).profile()


__all__ = ["read_callgrind", "CallgrindProfile", "CallgrindFunction", "read", "sniff"]
