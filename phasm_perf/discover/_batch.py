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
