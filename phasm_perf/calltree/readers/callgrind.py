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
from ...core.folded import MAX_WEIGHT, make_frame
from ..tree import CallTree
from .base import Profile, damaged
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


class _Parser:
    """The state of reading one callgrind file, a line at a time (:meth:`feed`); :meth:`profile` at the end.

    A line it cannot read raises ``ValueError`` with the line's number; a record cut short (``calls=`` with no cost
    line after it, a ``summary:`` with no ``totals:``, costs that do not add up to the totals) is kept in
    :attr:`damage` for :func:`read_callgrind` to refuse (or, with ``force``, to note)."""

    def __init__(self) -> None:
        self.names: dict[str, dict[str, str]] = {"fl": {}, "fn": {}, "ob": {}}
        self.events: list[str] = []
        self.positions = ["line"]
        self.prev_pos = [0]
        self.self_cost: dict[str, np.ndarray] = {}
        self.call_in: dict[str, np.ndarray] = {}
        self.call_out: dict[str, np.ndarray] = {}
        self.calls_in: Counter = Counter()
        self.edges: dict[tuple[str, str], list] = {}
        self.meta: dict[str, tuple[str, str, str]] = {}
        self.first_line: dict[str, int] = {}
        self.owner: dict[str, str] = {}
        self.totals: np.ndarray | None = None
        self.summary: np.ndarray | None = None
        self.cmd = ""
        self.obj = self.fl = self.cur_file = self.cur = self.cfile = self.cfn_key = ""
        self.fn: str | None = None
        self.pending_calls = 0
        self.pending_line = 0
        self.damage: list[str] = []

    @property
    def nev(self) -> int:
        return len(self.events)

    def uncompress(self, kind: str, text: str) -> str:
        m = _NAME.match(text.strip())
        if not m:
            return text.strip()
        table = self.names[kind]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
            return m.group(2)
        return table.get(m.group(1), f"({m.group(1)})")

    def feed(self, lineno: int, line: str) -> None:
        c0 = line[0]
        if c0.isdigit() or c0 in "+-*" or line.startswith("0x"):
            self.cost_line(lineno, line)
            return
        if self.pending_calls:
            self.damage.append(f"the call on line {self.pending_line} has no cost line after it")
            self.pending_calls = 0
        key, sep, value = line.partition("=")
        if sep and key in _SPECS:
            getattr(self, _SPECS[key])(lineno, key, value)
        else:
            self.header(lineno, line)

    def positions_of(self, lineno: int, tokens: list[str]) -> list[int]:
        vals = []
        for i, tok in enumerate(tokens):
            if not _POS.match(tok):
                raise ValueError(f"line {lineno}: bad position {tok!r}")
            if tok == "*":
                v = self.prev_pos[i]
            elif tok[0] in "+-":
                v = self.prev_pos[i] + int(tok)
            else:
                v = int(tok, 16) if tok.startswith("0x") else int(tok)
            vals.append(v)
        self.prev_pos = vals + self.prev_pos[len(vals):]
        return vals

    def cost_line(self, lineno: int, line: str) -> None:
        if self.fn is None:
            raise ValueError(f"line {lineno}: a cost line before any fn=")
        parts = line.split()
        npos = len(self.positions)
        pos_vals = self.positions_of(lineno, parts[:npos])
        cost = np.zeros(self.nev)
        vals = parts[npos:npos + self.nev]
        if vals:
            cost[:len(vals)] = [_count(v, lineno) for v in vals]
        if self.pending_calls:
            self.call_cost(cost)
            return
        self.self_cost[self.cur] += cost
        ln = pos_vals[self.positions.index("line")] if "line" in self.positions and pos_vals else None
        if ln and (self.cur not in self.first_line or ln < self.first_line[self.cur]):
            self.first_line[self.cur] = ln

    def call_cost(self, cost: np.ndarray) -> None:
        """The cost line after ``calls=``: the call's inclusive cost, added to the edge and both ends."""
        cur, callee, n = self.cur, self.cfn_key, self.pending_calls
        e = self.edges.setdefault((cur, callee), [0, np.zeros(self.nev)])
        e[0] += n
        e[1] += cost
        self.calls_in[callee] += n
        self.call_in[callee] = self.call_in.get(callee, np.zeros(self.nev)) + cost
        self.call_out[cur] = self.call_out.get(cur, np.zeros(self.nev)) + cost
        self.pending_calls = 0

    def spec_fn(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        self.fn = self.uncompress("fn", value)
        self.cur_file = self.fl
        self.function(f"{self.cur_file}:{self.fn}", self.fn, self.cur_file, self.obj)

    def function(self, key: str, name: str, file: str, obj: str) -> None:
        self.cur = key
        self.self_cost.setdefault(key, np.zeros(self.nev))
        self.meta.setdefault(key, (name, file, obj))

    def spec_fl(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        self.fl = self.cur_file = self.uncompress("fl", value)

    def spec_fi(self, lineno: int, key: str, value: str) -> None:
        if self.fn is None:
            raise ValueError(f"line {lineno}: {key}= before any fn=")
        self.cur_file = self.uncompress("fl", value)
        key = f"{self.cur_file}:{self.fn}"
        if self.cur_file != self.fl:
            self.owner.setdefault(key, f"{self.fl}:{self.fn}")
        self.function(key, self.fn, self.cur_file, self.obj)

    def spec_ob(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        if key == "ob":
            self.obj = self.uncompress("ob", value)
        else:
            self.uncompress("ob", value)

    def spec_cfl(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        self.cfile = self.uncompress("fl", value)

    def spec_cfn(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        cfunc = self.uncompress("fn", value)
        file = self.cfile or self.cur_file
        self.cfn_key = f"{file}:{cfunc}"
        self.meta.setdefault(self.cfn_key, (cfunc, file, ""))
        self.self_cost.setdefault(self.cfn_key, np.zeros(self.nev))
        self.cfile = ""

    def spec_calls(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        words = value.split()
        if not words or not words[0].isdigit():
            raise ValueError(f"line {lineno}: bad call count {value[:20]!r}")
        self.pending_calls, self.pending_line = int(words[0]), lineno

    def spec_jump(self, lineno: int, key: str, value: str) -> None:  # noqa: ARG002
        if key in ("jfi", "jfn"):
            self.uncompress("fl" if key == "jfi" else "fn", value)

    def header(self, lineno: int, line: str) -> None:
        if line.startswith("events:"):
            if self.self_cost:
                raise ValueError(f"line {lineno}: 'events:' after costs")
            self.events = line.split(":", 1)[1].split()
        elif line.startswith("positions:"):
            self.positions = line.split(":", 1)[1].split() or ["line"]
            self.prev_pos = [0] * len(self.positions)
        elif line.startswith(("totals:", "summary:")):
            values = [_count(v, lineno) for v in line.split(":", 1)[1].split()][:self.nev] or [0.0]
            setattr(self, "totals" if line.startswith("totals:") else "summary", np.array(values))
        elif line.startswith("cmd:"):
            self.cmd = line.split(":", 1)[1].strip()
        elif not re.match(r"^[a-z]+:", line):
            raise ValueError(f"line {lineno}: not a callgrind line: {line[:60]!r}")
        # else: version, creator, pid, part, desc, event: ...

    def finish(self) -> None:
        """The checks of a whole file: the last call's cost line, and the costs against the totals."""
        if self.pending_calls:
            self.damage.append(f"it was cut short (the call on line {self.pending_line} has no cost line)")
        if self.summary is not None and self.totals is None:
            self.damage.append("it was cut short (its summary: line is not matched by a totals: line at the end)")
        expected = self.totals if self.totals is not None else self.summary
        if expected is not None and expected.any():
            computed = sum(self.self_cost.values(), np.zeros(self.nev))
            n = min(len(expected), len(computed))
            if not np.allclose(computed[:n], expected[:n], rtol=1e-6, atol=0.5):
                self.damage.append(f"its costs add up to {computed[0]:,.0f} {self.events[0]} but its totals say "
                                   f"{expected[0]:,.0f}: records are missing or damaged")

    def profile(self, event: str | None, path: Path) -> CallgrindProfile:
        funcs: dict[str, CallgrindFunction] = {}
        nev = self.nev
        for key, sc in self.self_cost.items():
            name, file, ob = self.meta.get(key, (key, "", ""))
            incl = self.call_in[key] if key in self.call_in else sc + self.call_out.get(key, np.zeros(nev))
            funcs[key] = CallgrindFunction(key, name, file, ob, self.first_line.get(key), sc, incl,
                                           int(self.calls_in.get(key, 0)))
        computed = sum((f.self_cost for f in funcs.values()), np.zeros(nev))
        if event is None:
            event = self.events[0]
        elif event not in self.events:
            raise PhasmError(f"event {event!r} is not in {str(path)!r}; it has: {', '.join(self.events)}")
        totals = self.totals if self.totals is not None and self.totals.any() and len(self.totals) == nev \
            else computed
        return CallgrindProfile(self.events, funcs, {k: (v[0], v[1]) for k, v in self.edges.items()}, totals,
                                event, self.cmd, {k: v for k, v in self.owner.items() if v in funcs})


_SPECS = {"fn": "spec_fn", "fl": "spec_fl", "fi": "spec_fi", "fe": "spec_fi", "ob": "spec_ob", "cob": "spec_ob",
          "cfi": "spec_cfl", "cfl": "spec_cfl", "cfn": "spec_cfn", "calls": "spec_calls", "jump": "spec_jump",
          "jcnd": "spec_jump", "jfi": "spec_jump", "jfn": "spec_jump"}


def _count(text: str, lineno: int) -> float:
    """A cost: a whole number (decimal or 0x hex), not negative, that a float64 holds."""
    try:
        v = float(int(text, 16) if text.startswith("0x") else int(text))
    except (ValueError, OverflowError):
        raise ValueError(f"line {lineno}: {text[:20]!r} is not a cost") from None
    if not 0 <= v <= MAX_WEIGHT:
        raise ValueError(f"line {lineno}: cost {text[:20]} is out of range")
    return v


def read_callgrind(path: str | os.PathLike, event: str | None = None, force: bool = False) -> CallgrindProfile:
    """Read a callgrind file. ``event`` picks the event type for :meth:`~CallgrindProfile.stacks` (default: first).
    A file cut short or whose costs disagree with its totals is an error; ``force`` reads it anyway (and notes it).
    """
    path = Path(path)
    parser = _Parser()
    try:
        for lineno, raw in enumerate(open_text_lines(path), 1):
            line = raw.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                parser.feed(lineno, line)
        parser.finish()
    except ValueError as exc:
        raise PhasmError(f"{str(path)!r}: malformed callgrind file ({exc})") from None
    if not parser.events:
        raise PhasmError(f"{str(path)!r} is not a callgrind file (no 'events:' line)")
    if not parser.self_cost:
        raise PhasmError(f"{str(path)!r} holds no function cost")
    notes = [damaged(path, what, force) for what in parser.damage[:3]]
    prof = parser.profile(event, path)
    prof.notes = notes
    return prof


def read(path: Path, event: str | None = None, force: bool = False) -> Profile:
    return read_callgrind(path, event, force).profile()


__all__ = ["read_callgrind", "CallgrindProfile", "CallgrindFunction", "read", "sniff"]
