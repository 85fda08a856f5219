"""Measured cost tables and their interpolation, as pure functions of numbers.

``hw measure`` times the operators a surrogate runs (``F.linear`` over a grid of batch x inputs x outputs, each
activation over a range of element counts) the way ERT and likwid measure roofs instead of assuming them; the
model reads a layer's time off the table.

Interpolation is multilinear in (B, d_in, d_out) themselves, not in their logarithms: between two nodes a GEMM's
time is close to ``a + b B + c d_in + d d_out + ... + e B d_in d_out``, and multilinear interpolation on a box
reproduces every function of that form exactly. Beyond the last node the table is extended linearly from its last
two nodes (a per-row, per-width cost); below the first node it is held at the first node's value (a width of 1
costs what a width of 2 does: both fill one vector register).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence


def bracket(nodes: Sequence[float], v: float) -> tuple[int, int, float]:
    """``(i, j, w)``: ``v`` lies between ``nodes[i]`` and ``nodes[j]`` at weight ``w`` towards ``j`` (``w > 1``
    beyond the last node: linear extension; ``v`` below the first node: the first node, ``w = 0``)."""
    n = len(nodes)
    if n == 1 or v <= nodes[0]:
        return 0, 0, 0.0
    k = bisect.bisect_left(nodes, v)
    if k < n and nodes[k] == v:
        return k, k, 0.0
    i, j = (n - 2, n - 1) if k >= n else (k - 1, k)
    return i, j, (v - nodes[i]) / (nodes[j] - nodes[i])


def _check_nodes(name: str, nodes: Sequence[float]) -> None:
    if not nodes or any(b <= a for a, b in zip(nodes, nodes[1:])):
        raise ValueError(f"table {name} nodes must be strictly increasing and not empty (got {list(nodes)})")


@dataclass(frozen=True)
class Table1:
    """Seconds at each node of one axis (e.g. elements of an activation), linear between them."""

    nodes: tuple[float, ...]
    seconds: tuple[float, ...]

    def __post_init__(self) -> None:
        _check_nodes("1-D", self.nodes)
        if len(self.seconds) != len(self.nodes):
            raise ValueError("a 1-D table needs one time per node")

    def __call__(self, x: float) -> float:
        i, j, w = bracket(self.nodes, x)
        return max(0.0, self.seconds[i] * (1 - w) + self.seconds[j] * w)


@dataclass(frozen=True)
class Table3:
    """Seconds over a (batch, inputs, outputs) grid, ``seconds[(b * len(inputs) + i) * len(outputs) + o]``."""

    batches: tuple[float, ...]
    inputs: tuple[float, ...]
    outputs: tuple[float, ...]
    seconds: tuple[float, ...]

    def __post_init__(self) -> None:
        for name, nodes in (("batch", self.batches), ("inputs", self.inputs), ("outputs", self.outputs)):
            _check_nodes(name, nodes)
        if len(self.seconds) != len(self.batches) * len(self.inputs) * len(self.outputs):
            raise ValueError("a 3-D table needs one time per node (batches x inputs x outputs)")

    def at(self, b: int, i: int, o: int) -> float:
        return self.seconds[(b * len(self.inputs) + i) * len(self.outputs) + o]

    def __call__(self, batch: float, d_in: float, d_out: float) -> float:
        b0, b1, wb = bracket(self.batches, batch)
        i0, i1, wi = bracket(self.inputs, d_in)
        o0, o1, wo = bracket(self.outputs, d_out)
        total = 0.0
        for b, fb in ((b0, 1 - wb), (b1, wb)):
            for i, fi in ((i0, 1 - wi), (i1, wi)):
                for o, fo in ((o0, 1 - wo), (o1, wo)):
                    f = fb * fi * fo
                    if f:
                        total += f * self.at(b, i, o)
        return max(0.0, total)
