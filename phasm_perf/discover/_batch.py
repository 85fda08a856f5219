"""Inside the program: do the function's calls depend on each other, and how many does one iteration offer?

- :class:`Flows`       between consecutive observed calls: an output of one call found in an input of the next
                       (the same object, the same array, or equal values)
- :class:`Iterations`  calls grouped by iteration: the calls made from one frame of the caller (or of the
                       ``--event-loop`` function above it) with no other function called from that frame in
                       between; watched over a window only (a global ``sys.settrace`` that looks at new frames:
                       the program runs traced meanwhile), closed after four iterations, or two past 0.1 s, or at
                       0.5 s
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .values import equal, is_array

MAX_FLAT = 100_000  # values larger than this take part through their identity only
GROUPS = 4  # iterations to see before the window closes
WINDOW = 200_000  # calls at most in the window
WINDOW_SECONDS = (0.1, 0.5)  # the window closes after two iterations past the first figure, or at the second


@dataclass
class CallIO:
    index: int
    ins: dict  # name -> flat numbers (a list or an array)
    outs: dict
    objects: dict  # name -> the object at that path (arrays, lists, dicts: identity)
    returned: Any = None


def _contains(small, big) -> bool:
    if len(small) == 0 or len(small) > 16 or len(big) > 4096:
        return False
    have = set(big.tolist() if is_array(big) else big)
    return all(x in have for x in (small.tolist() if is_array(small) else small))


class Flows:
    def __init__(self) -> None:
        self.prev: CallIO | None = None
        self.pairs = 0
        self.changed: dict[str, int] = {}
        self.hits: dict[tuple, int] = {}

    def add(self, cur: CallIO) -> None:
        prev, self.prev = self.prev, cur
        if prev is None or prev.index != cur.index - 1:
            return
        self.pairs += 1
        for name, obj in cur.objects.items():
            if prev.returned is not None and obj is prev.returned and name in cur.ins:
                self._hit("return", name, "same object")
        for name, vin in cur.ins.items():
            before = prev.ins.get(name)
            if before is not None and equal(before, vin):
                continue  # unchanged since the last call: says nothing
            self.changed[name] = self.changed.get(name, 0) + 1
            for oname, vout in prev.outs.items():
                if (len(vin) == len(vout) and equal(vin, vout)) or _contains(vin, vout):
                    same = oname == name and prev.objects.get(name) is not None and \
                        prev.objects.get(name) is cur.objects.get(name)
                    self._hit(oname, name, "same array" if same and is_array(cur.objects.get(name))
                              else "same object" if same else "equal values")

    def _hit(self, out: str, inp: str, how: str) -> None:
        self.hits[(out, inp, how)] = self.hits.get((out, inp, how), 0) + 1

    def chains(self, skip: set[str]) -> list[dict]:
        """The flows seen in most of the pairs where the input changed (at least two); one per output and input,
        the strongest way (the same object or array before equal values)."""
        best: dict[tuple, dict] = {}
        rank = {"same object": 0, "same array": 0, "equal values": 1}
        for (o, i, how), n in sorted(self.hits.items()):
            if o in skip or i in skip:
                continue
            base = self.changed.get(i, 0) if how == "equal values" else self.pairs
            if n >= 2 and n >= 0.8 * max(1, base):
                old = best.get((o, i))
                if old is None or rank[how] < rank[old["how"]]:
                    best[(o, i)] = {"out": o, "in": i, "how": how, "calls": n, "pairs": self.pairs}
        return list(best.values())


@dataclass
class Iterations:
    event_loop: str | None = None
    own_codes: tuple = ()  # the trampoline's and the function's code: not a boundary
    on: bool = True
    watched: Any = None
    boundary: bool = False
    group: int = 0
    groups: list = field(default_factory=list)
    calls: int = 0
    loop_found: bool | None = None
    started: float | None = None
    observed_at_start: float = 0.0
    seconds: float = 0.0  # how long the window was open, observed calls apart (the program runs traced meanwhile)

    def tick(self, caller, observing: float = 0.0) -> None:
        """One call of the function, made from frame ``caller`` (``observing``: the seconds spent in observed calls
        so far, which do not count towards the window's time)."""
        now = time.perf_counter()
        if self.started is None:
            self.started, self.observed_at_start = now, observing
        self.seconds = now - self.started - (observing - self.observed_at_start)
        w = self._watched(caller)
        if w is not self.watched or self.boundary:
            if self.watched is not None and self.group:
                self.groups.append(self.group)
            self.watched, self.group, self.boundary = w, 0, False
        self.group += 1
        self.calls += 1
        if len(self.groups) >= GROUPS or self.calls >= WINDOW or self.seconds > WINDOW_SECONDS[1] or \
                (len(self.groups) >= 2 and self.seconds > WINDOW_SECONDS[0]):
            self.close()

    def on_call(self, frame) -> None:
        """A new frame started (global trace): a call made from the watched frame ends the iteration."""
        if frame.f_back is self.watched and self.watched is not None and frame.f_code not in self.own_codes:
            self.boundary = True

    def close(self) -> None:
        self.on = False
        self.watched = None

    def _watched(self, caller):
        if not self.event_loop:
            return caller
        f, n = caller, 0
        while f is not None and n < 64:
            q = getattr(f.f_code, "co_qualname", f.f_code.co_name)
            if q == self.event_loop or q.endswith("." + self.event_loop) or f.f_code.co_name == self.event_loop:
                self.loop_found = True
                return f
            f, n = f.f_back, n + 1
        self.loop_found = bool(self.loop_found)
        return caller

    def result(self) -> dict:
        done = list(self.groups)
        partial = self.group if not done else None
        return {"groups": done, "partial": partial, "calls": self.calls, "event_loop_found": self.loop_found}
