"""Stacks as numpy arrays, for call trees of millions of stacks.

A :class:`StackTable` holds several Counters of stacks (on-CPU and off-CPU, or two profiles to compare) as one
table: every distinct frame gets an integer id, the stacks are the concatenation of their frame ids (``flat``)
cut by ``offsets``, and ``weights`` has one column per Counter. :func:`build_trie` merges the stacks into the tree
of call paths depth by depth with ``numpy.unique`` (no Python loop over the stacks), optionally merging the call
paths narrower than a threshold (what a flame graph cannot draw anyway).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import chain
from typing import Sequence

import numpy as np


def group(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(key, return_inverse=True)`` for non-negative integer keys, much faster: a dense count when the
    keys span a small range, else a stable sort (fast on the nearly sorted keys built from stack order)."""
    if len(key) == 0:
        return key.astype(np.int64), np.zeros(0, dtype=np.int64)
    top = int(key.max()) + 1
    if top <= 4 * len(key) + 1_000_000:
        present = np.bincount(key, minlength=top) > 0
        idmap = np.cumsum(present) - 1
        return np.flatnonzero(present), idmap[key]
    order = np.argsort(key, kind="stable")
    sk = key[order]
    start = np.ones(len(sk), dtype=bool)
    start[1:] = sk[1:] != sk[:-1]
    inv = np.empty(len(sk), dtype=np.int64)
    inv[order] = np.cumsum(start) - 1
    return sk[start], inv


@dataclass
class StackTable:
    frames: list[str]          # frame id -> frame string
    flat: np.ndarray           # int32, the frame ids of all stacks, root first, one stack after the other
    offsets: np.ndarray        # int64, len n+1: stack i is flat[offsets[i]:offsets[i+1]]
    weights: np.ndarray        # float64 (n, k): weight of stack i in Counter j

    @classmethod
    def from_counters(cls, counters: Sequence[Counter]) -> "StackTable":
        keys: list[tuple] = []
        cols: list[int] = []
        vals: list[float] = []
        for j, c in enumerate(counters):
            for s, w in c.items():
                if s and w:
                    keys.append(s)
                    cols.append(j)
                    vals.append(w)
        lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        offsets = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids: defaultdict = defaultdict()
        ids.default_factory = ids.__len__  # a new frame gets the next id, in one C-level pass over all frames
        flat = np.fromiter(map(ids.__getitem__, chain.from_iterable(keys)), dtype=np.int32, count=int(offsets[-1]))
        frames = list(ids)
        weights = np.zeros((len(keys), max(1, len(counters))), dtype=np.float64)
        if keys:
            weights[np.arange(len(keys)), np.asarray(cols)] = np.asarray(vals, dtype=np.float64)
        return cls(frames, flat, offsets, weights)

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def rows(self) -> np.ndarray:
        """The stack index of every entry of ``flat``."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)


@dataclass
class Trie:
    """The tree of call paths. Node 0 is the root (``frame`` -1). Weights are inclusive / exclusive per column."""

    parent: np.ndarray         # int64
    frame: np.ndarray          # int32, id into StackTable.frames, -1 for the root and for merged nodes
    depth: np.ndarray          # int32
    incl: np.ndarray           # float64 (nodes, k)
    excl: np.ndarray           # float64 (nodes, k)
    merged: np.ndarray         # int64: how many call paths a merged node (frame -1, depth > 0) stands for
    merged_paths: int = 0      # call paths merged in all

    def __len__(self) -> int:
        return len(self.parent)


def _column_sums(inv: np.ndarray, weights: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """``(n, k)``: the ``rows`` of ``weights`` summed by group (``inv``: each row's group), column by column (one
    contiguous column at a time: no copy of the selected rows)."""
    out = np.zeros((n, weights.shape[1]))
    for j in range(weights.shape[1]):
        out[:, j] = np.bincount(inv, weights=weights[rows, j], minlength=n)
    return out


class _Nodes:
    """The trie's node arrays, built level by level (one block of nodes per :meth:`add`)."""

    def __init__(self, root_weight: np.ndarray) -> None:
        k = root_weight.shape[1]
        self.parents = [np.array([-1], dtype=np.int64)]
        self.frames = [np.array([-1], dtype=np.int32)]
        self.depths = [np.array([0], dtype=np.int32)]
        self.incls = [root_weight]
        self.excls = [np.zeros((1, k))]
        self.merged = [np.zeros(1, dtype=np.int64)]
        self.n = 1

    def add(self, parents: np.ndarray, frames: np.ndarray, depth: int, incl: np.ndarray, excl: np.ndarray,
            merged: np.ndarray) -> None:
        self.parents.append(parents)
        self.frames.append(frames)
        self.depths.append(np.full(len(parents), depth, dtype=np.int32))
        self.incls.append(incl)
        self.excls.append(excl)
        self.merged.append(merged)
        self.n += len(parents)


def build_trie(table: StackTable, min_weight: float = 0.0) -> Trie:
    """Merge the stacks into a tree. Call paths whose total weight (all columns) is below ``min_weight`` are merged,
    per parent, into one node with ``frame == -1`` whose ``merged`` says how many paths it holds."""
    k = table.weights.shape[1]
    lengths = table.lengths
    nodes = _Nodes(table.weights.sum(axis=0, keepdims=True))
    merged_paths = 0
    alive = np.flatnonzero(lengths > 0)
    node_of = np.zeros(table.n, dtype=np.int64)  # current node of each alive stack
    final = np.full(table.n, -1, dtype=np.int64)  # the leaf node of each stack (-1: merged away)
    nf = max(1, len(table.frames))
    d = 0
    while len(alive):
        fr = table.flat[table.offsets[alive] + d].astype(np.int64)
        uniq, inv = group(node_of[alive] * nf + fr)
        w = _column_sums(inv, table.weights, alive, len(uniq))
        keep_node = w.sum(axis=1) >= min_weight if min_weight > 0 else np.ones(len(uniq), dtype=bool)
        ids = np.full(len(uniq), -1, dtype=np.int64)
        n_keep = int(keep_node.sum())
        ids[keep_node] = np.arange(nodes.n, nodes.n + n_keep)
        nodes.add(uniq[keep_node] // nf, (uniq[keep_node] % nf).astype(np.int32), d + 1, w[keep_node],
                  np.zeros((n_keep, k)), np.zeros(n_keep, dtype=np.int64))
        if n_keep < len(uniq):
            merged_paths += _merge_narrow(nodes, uniq, w, ~keep_node, nf, d + 1)
        new_node = ids[inv]
        node_of[alive] = new_node
        alive = alive[new_node >= 0]
        leaf = lengths[alive] == d + 1
        final[alive[leaf]] = node_of[alive[leaf]]
        alive = alive[~leaf]
        d += 1
    excl = np.concatenate(nodes.excls)
    ends = np.flatnonzero(final >= 0)
    for j in range(k):
        excl[:, j] += np.bincount(final[ends], weights=table.weights[ends, j], minlength=nodes.n)
    return Trie(np.concatenate(nodes.parents), np.concatenate(nodes.frames), np.concatenate(nodes.depths),
                np.concatenate(nodes.incls), excl, np.concatenate(nodes.merged), merged_paths)


def _merge_narrow(nodes: _Nodes, uniq: np.ndarray, w: np.ndarray, small: np.ndarray, nf: int, depth: int) -> int:
    """The narrow paths of one level (``small``): one merged node per parent, holding their weight. How many paths
    were merged."""
    mpar, minv = group(uniq[small] // nf)
    mw = _column_sums(minv, w, small, len(mpar))
    nodes.add(mpar, np.full(len(mpar), -1, dtype=np.int32), depth, mw, mw.copy(),
              np.bincount(minv, minlength=len(mpar)).astype(np.int64))
    return int(small.sum())


@dataclass
class FunctionSums:
    """Per function (ids into ``names``): inclusive (each stack once per function), exclusive, and direct callees."""

    names: list[str]
    incl: np.ndarray            # (functions, k)
    excl: np.ndarray            # (functions, k)
    callee_pairs: np.ndarray    # (m, 2) int64: caller id, callee id
    callee_weight: np.ndarray   # (m,) float64, all columns summed


#: stacks are summed in slices of about this many frames, so the temporaries stay small whatever the profile's size
CHUNK_FRAMES = 1 << 21


def function_sums(table: StackTable, frame_fn: np.ndarray, names: list[str]) -> FunctionSums:
    """``frame_fn[frame id]`` is the function id of a frame. Recursion is not double counted: a stack adds its weight
    once to every function on it; the callee of a function is the frame just above its innermost occurrence.

    The stacks are taken in slices (:data:`CHUNK_FRAMES`): memory beyond the table itself stays bounded."""
    nfn = max(1, len(names))
    k = table.weights.shape[1]
    frame_fn = frame_fn.astype(np.int32 if nfn < 2**31 else np.int64)
    incl = np.zeros((nfn, k))
    excl = np.zeros((nfn, k))
    dense = nfn * nfn <= 1 << 24  # callee pairs summed in an nfn x nfn array, else grouped at the end
    pair_sum = np.zeros(nfn * nfn if dense else 0)
    pairs: list[np.ndarray] = []
    pair_w: list[np.ndarray] = []
    offsets = table.offsets
    bounds = np.unique(np.searchsorted(offsets, np.arange(0, int(offsets[-1]) + 1, CHUNK_FRAMES), side="right") - 1)
    bounds = np.unique(np.concatenate([[0], bounds, [table.n]]))
    for r0, r1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if r1 <= r0:
            continue
        off = offsets[r0:r1 + 1] - offsets[r0]
        fn = frame_fn[table.flat[offsets[r0]:offsets[r1]]]
        weights = table.weights[r0:r1]
        lengths = np.diff(off)
        pos, prow = _innermost(off, lengths, fn, nfn)
        pfn = fn[pos]
        nonempty = lengths > 0
        leaf_fn = fn[off[1:][nonempty] - 1]
        for j in range(k):
            col = weights[:, j]
            if col.any():
                incl[:, j] += np.bincount(pfn, weights=col[prow], minlength=nfn)
                excl[:, j] += np.bincount(leaf_fn, weights=col[nonempty], minlength=nfn)
        has_callee = pos + 1 < off[prow + 1]
        pair = pfn[has_callee].astype(np.int64) * nfn + fn[pos[has_callee] + 1]
        w = weights.sum(axis=1)[prow[has_callee]]
        if dense:
            pair_sum += np.bincount(pair, weights=w, minlength=nfn * nfn)
        else:
            up, pinv = group(pair)
            pairs.append(up)
            pair_w.append(np.bincount(pinv, weights=w, minlength=len(up)))
    if dense:
        up = np.flatnonzero(pair_sum)
        pw = pair_sum[up]
        del pair_sum
    else:
        allp = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
        del pairs
        up, pinv = group(allp)
        del allp
        pw = np.bincount(pinv, weights=np.concatenate(pair_w) if pair_w else np.zeros(0), minlength=len(up))
    return FunctionSums(names, incl[: len(names)], excl[: len(names)], _split_pairs(up, nfn), pw)


def _split_pairs(pairs: np.ndarray, nfn: int) -> np.ndarray:
    """``caller * nfn + callee`` keys -> an ``(m, 2)`` array, written in place (no temporaries of its size)."""
    out = np.empty((len(pairs), 2), dtype=np.int64)
    np.floor_divide(pairs, nfn, out=out[:, 0])
    np.remainder(pairs, nfn, out=out[:, 1])
    return out


def _innermost(offsets: np.ndarray, lengths: np.ndarray, fn: np.ndarray, nfn: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the slice's frames) of the innermost occurrence of each function on each stack, and their
    stack index, ordered by (stack, function): one sort of (stack, function, position) packed into an int64 (the
    last of each (stack, function) run is the innermost), no argsort and no search for the stacks."""
    n = len(fn)
    shift = max(1, n.bit_length())  # a position fits in `shift` bits
    if (len(lengths) * nfn) >> (62 - shift):  # the packed key would overflow: sort (stack, function) keys
        return _innermost_stable(offsets, lengths, fn, nfn)
    key = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    key *= nfn
    key += fn
    key <<= shift
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    stack_fn = key >> shift
    last = np.ones(n, dtype=bool)
    if n:
        last[:-1] = stack_fn[1:] != stack_fn[:-1]
    pos = key[last] & ((1 << shift) - 1)
    return pos, stack_fn[last] // nfn


def _innermost_stable(offsets: np.ndarray, lengths: np.ndarray, fn: np.ndarray,
                      nfn: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_innermost` for keys too wide to pack: a stable sort of (stack, function) keys, the last of each run."""
    key = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    key *= nfn
    key += fn
    order = np.argsort(key, kind="stable")   # nearly sorted already (stack by stack): a fast merge
    sk = key[order]
    del key
    last = np.ones(len(sk), dtype=bool)
    if len(sk):
        last[:-1] = sk[1:] != sk[:-1]
    del sk
    pos = order[last]
    del order, last
    return pos, np.searchsorted(offsets, pos, side="right") - 1


__all__ = ["StackTable", "Trie", "build_trie", "FunctionSums", "function_sums"]
