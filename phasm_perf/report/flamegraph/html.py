"""The interactive flame graph: one self-contained HTML file (no network), drawn on a canvas, root at the top.

Click a frame to zoom, search by substring, switch on-CPU / off-CPU / both, see the rank candidates outlined with
their scores, and, for two profiles, the differential view (red: more in SOURCE, blue: less, both counts in the
tooltip). The page is ``report/templates/flamegraph.html`` with its ``flamegraph.css`` and ``flamegraph.js``
inlined. Frame names travel as JSON inside ``<script type="application/json">`` (``|tojson``: ``<``, ``>``, ``&``,
``'``, U+2028 and U+2029 escaped), and reach the page only through ``textContent`` and the canvas: a name is never
markup.
"""

from __future__ import annotations

import math

from ...calltree.tree import function_key
from ..pages import render_page
from .data import FlameData


def _names(data: FlameData, order: list[int]) -> tuple[list[str], list[int], list[int]]:
    """The distinct frame names in drawing order, each node's index into them, and per name the index of its
    candidate (-1: not a candidate)."""
    frame = data.trie.frame.tolist()
    merged = data.trie.merged.tolist()
    ranks = sorted({h.rank for h in data.highlights.values()})
    cand_index = {rank: i for i, rank in enumerate(ranks)}
    names: list[str] = []
    name_id: dict[str, int] = {}
    cand_of: list[int] = []
    node_name = []
    for n in order:
        if n == 0:
            nm = "all"
        elif frame[n] < 0:
            nm = f"[{merged[n]:,} narrow call paths merged]"
        else:
            nm = data.frames[frame[n]]
        i = name_id.get(nm)
        if i is None:
            i = name_id[nm] = len(names)
            names.append(nm)
            h = data.highlights.get(function_key(nm)) if n else None
            cand_of.append(cand_index[h.rank] if h else -1)
        node_name.append(i)
    return names, node_name, cand_of


def payload(data: FlameData) -> dict:
    """What the page's script reads: plain lists, nodes in drawing order (depth first)."""
    order = data.order()
    pos = {n: i for i, n in enumerate(order)}
    parent = data.trie.parent.tolist()
    names, node_name, cand_of = _names(data, order)
    a = data.trie.incl[:, 0].tolist()
    b = data.trie.incl[:, 1].tolist()
    ranked = sorted({h.rank: h for h in data.highlights.values()}.items())
    return {
        "title": data.title, "unit": data.unit, "spu": data.seconds_per_unit, "diff": data.diff,
        "labels": list(data.labels), "offKnown": data.off_cpu_known, "notes": data.notes,
        "names": names,
        "parent": [pos[parent[n]] if parent[n] >= 0 else -1 for n in order],
        "name": node_name,
        "a": [_short(a[n]) for n in order],
        "b": [_short(b[n]) for n in order],
        "candidates": [[h.rank, h.share, _finite(h.amdahl_limit), h.kind, h.on_cpu_fraction, h.function]
                       for _, h in ranked],
        "cand": cand_of, "ranked": data.ranked,
        "merged": int(data.trie.merged_paths), "minWidth": data.min_width,
    }


def _short(x: float) -> float:
    """Seven significant digits: enough to draw and to read, and a smaller page."""
    return float(f"{x:.7g}")


def _finite(x: float) -> float | None:
    """JSON has no Infinity: an unbounded Amdahl limit travels as null (the page shows "inf")."""
    return x if math.isfinite(x) else None


def render(data: FlameData, **_) -> str:
    return render_page("flamegraph.html", title=data.title, data=payload(data))


__all__ = ["render", "payload"]
