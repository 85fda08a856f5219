"""A static SVG flame graph (FlameGraph's look: root at the bottom, frames ordered by name, a tooltip per frame).
Names are escaped: a frame called ``<script>`` is drawn as that text, never as markup."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape, quoteattr

from .data import FlameData

WIDTH, ROW, PAD_TOP, PAD_BOTTOM, FONT = 1200, 16, 40, 30, 11


def view_weights(data: FlameData, view: str) -> list[float]:
    inc = data.trie.incl
    if data.diff or view == "on":
        return inc[:, 0].tolist()
    if view == "off":
        return inc[:, 1].tolist()
    return inc.sum(axis=1).tolist()


def layout(data: FlameData, view: str = "both") -> list[tuple[int, float, float, int]]:
    """``(node, x, width, depth)`` in units of weight, children side by side from their parent's left edge."""
    w = view_weights(data, view)
    depth = data.trie.depth.tolist()
    x = [0.0] * len(w)
    out = []
    for n in data.order():
        cursor = x[n]
        for c in data.children[n]:
            x[c] = cursor
            cursor += w[c]
        if w[n] > 0:
            out.append((n, x[n], w[n], depth[n]))
    return out


def colour(data: FlameData, node: int, name: str) -> str:
    if data.diff:
        a, b = data.trie.incl[node, 0], data.trie.incl[node, 1]
        delta = (a - b) / max(a, b, 1e-300)
        level = int(255 - 170 * min(1.0, abs(delta)))
        return f"rgb(255,{level},{level})" if delta > 0 else f"rgb({level},{level},255)" if delta < 0 else "#ddd"
    on, off = data.trie.incl[node, 0], data.trie.incl[node, 1]
    h = int(hashlib.md5(name.encode("utf-8", "replace")).hexdigest()[:4], 16)
    if off > on:
        return f"rgb({60 + h % 50},{120 + h % 80},{200 + h % 55})"   # waiting: blues
    return f"rgb({205 + h % 50},{80 + h % 150},{h % 55})"             # computing: warm


def render(data: FlameData, view: str = "both", **_) -> str:
    from ...calltree.tree import function_key

    boxes = layout(data, view)
    total = boxes[0][2] if boxes else 1.0
    max_depth = max((b[3] for b in boxes), default=0)
    height = PAD_TOP + (max_depth + 1) * ROW + PAD_BOTTOM
    scale = (WIDTH - 20) / total if total else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Verdana, sans-serif" font-size="{FONT}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#f8f8f8"/>',
        f'<text x="{WIDTH // 2}" y="22" text-anchor="middle" font-size="16">{escape(data.title)}</text>',
    ]
    if data.notes:
        parts.append(f'<text x="10" y="{height - 10}" font-size="10" fill="#555">{escape(data.notes[0])}</text>')
    unit = data.unit
    for node, x, w, d in boxes:
        px = 10 + x * scale
        pw = w * scale
        if pw < 0.1:
            continue
        y = height - PAD_BOTTOM - (d + 1) * ROW
        name = data.name(node)
        hl = data.highlights.get(function_key(name)) if node else None
        tip = f"{name} ({_fmt(w)} {unit}, {100 * w / total:.2f}%)"
        if data.diff:
            tip += f" {data.labels[0]}: {_fmt(data.trie.incl[node, 0])}, {data.labels[1]}: {_fmt(data.trie.incl[node, 1])}"
        if hl:
            tip += f" candidate #{hl.rank}: share {100 * hl.share:.1f}%, Amdahl {hl.amdahl_limit:.2f}x"
        stroke = ' stroke="#6a0dad" stroke-width="2"' if hl else ""
        parts.append(f'<g><title>{escape(tip)}</title><rect x="{px:.2f}" y="{y}" width="{pw:.2f}" height="{ROW - 1}" '
                     f'fill={quoteattr(colour(data, node, name))} rx="2"{stroke}/>')
        chars = int(pw / (FONT * 0.6))
        if chars >= 3:
            label = (f"#{hl.rank} " if hl else "") + name
            label = label if len(label) <= chars else label[: max(1, chars - 2)] + ".."
            parts.append(f'<text x="{px + 3:.2f}" y="{y + ROW - 4}">{escape(label)}</text>')
        parts.append("</g>")
    parts.append("</svg>\n")
    return "\n".join(parts)


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.3g}"


__all__ = ["render", "layout", "colour"]
