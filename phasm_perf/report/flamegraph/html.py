"""The interactive flame graph: one self-contained HTML file (no network), drawn on a canvas, root at the top.

Click a frame to zoom, search by substring, switch on-CPU / off-CPU / both, see the rank candidates outlined with
their scores, and, for two profiles, the differential view (red: more in SOURCE, blue: less, both counts in the
tooltip). Frame names travel as JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&``
escaped, and reach the page only through ``textContent`` and the canvas: a name is never markup.
"""

from __future__ import annotations

import html
import json
import math

from ...calltree.tree import function_key
from .data import FlameData
from ._page import PAGE


def payload(data: FlameData) -> dict:
    order = data.order()
    pos = {n: i for i, n in enumerate(order)}
    trie = data.trie
    parent = trie.parent.tolist()
    frame = trie.frame.tolist()
    merged = trie.merged.tolist()
    names: list[str] = []
    name_id: dict[str, int] = {}
    ranks = sorted({h.rank: h for h in data.highlights.values()}.items())
    cand_index = {h.rank: i for i, (_, h) in enumerate(ranks)}
    cand_of: list[int] = []   # per name: index into candidates, or -1
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
    a = trie.incl[:, 0].tolist()
    b = trie.incl[:, 1].tolist()
    return {
        "title": data.title, "unit": data.unit, "spu": data.seconds_per_unit, "diff": data.diff,
        "labels": list(data.labels), "offKnown": data.off_cpu_known, "notes": data.notes,
        "names": names,
        "parent": [pos[parent[n]] if parent[n] >= 0 else -1 for n in order],
        "name": node_name,
        "a": [_short(a[n]) for n in order],
        "b": [_short(b[n]) for n in order],
        "candidates": [[h.rank, h.share, _finite(h.amdahl_limit), h.kind, h.on_cpu_fraction, h.function]
                       for _, h in ranks],
        "cand": cand_of, "ranked": data.ranked,
        "merged": int(trie.merged_paths), "minWidth": data.min_width,
    }


def _short(x: float) -> float:
    """Seven significant digits: enough to draw and to read, and a smaller page."""
    return float(f"{x:.7g}")


def _finite(x: float) -> float | None:
    """JSON has no Infinity: an unbounded Amdahl limit travels as null (the page shows "inf")."""
    return x if math.isfinite(x) else None


def safe_json(obj) -> str:
    """JSON that cannot close the ``<script>`` element it sits in."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render(data: FlameData, **_) -> str:
    return (PAGE.replace("__TITLE__", html.escape(data.title))
            .replace("__DATA__", safe_json(payload(data))))


__all__ = ["render", "payload", "safe_json"]
