"""Flame graphs out: one module per format (html, svg, folded, speedscope), all behind :func:`render_flamegraph`."""

from __future__ import annotations

from ...core.bundle import Bundle
from ..formats import FLAME_SUFFIX_FORMATS, RANK_LIMIT, flame_format_for
from . import folded, html, speedscope, svg
from .data import DEFAULT_MIN_WIDTH, FlameData, Highlight, flame_data, function_stacks, highlights_of

#: format -> (module, file suffix, needs the drawn tree)
WRITERS = {
    "html": (html, ".html", True),
    "svg": (svg, ".svg", True),
    "folded": (folded, ".folded", False),
    "speedscope": (speedscope, ".speedscope.json", False),
}
SUFFIX_FORMATS = FLAME_SUFFIX_FORMATS
format_for = flame_format_for


def render_flamegraph(bundle: Bundle, fmt: str = "html", other: Bundle | None = None, view: str = "both",
                      min_width: float = DEFAULT_MIN_WIDTH, highlight: bool | None = None,
                      title: str | None = None, tree=None, rank_options=None,
                      lines: bool = False) -> tuple[str, list[str]]:
    """The flame graph of a bundle (or of ``bundle`` against ``other``) as text in ``fmt``, and notes about it
    (how many narrow call paths were merged, how a differential view was scaled). ``highlight``: outline the ranked
    candidates (None: when the profile has at most :data:`RANK_LIMIT` distinct stacks). A frame is a function
    unless ``lines`` (a frame per source line)."""
    module, _, drawn = WRITERS[fmt]
    if not drawn:
        if not lines:
            bundle = Bundle(bundle.path, bundle.meta, function_stacks(bundle.on_cpu), function_stacks(bundle.off_cpu))
        return module.render(bundle, view=view), []
    notes = []
    if highlight is None:  # auto: rank unless there are so many distinct stacks that ranking would dominate
        distinct = len(bundle.on_cpu) + len(bundle.off_cpu)
        highlight = distinct <= RANK_LIMIT
        if not highlight:
            notes.append(f"candidates not ranked: {distinct:,} distinct stacks (more than {RANK_LIMIT:,}); "
                         "pass --candidates to rank them anyway (slower), or run `phasm-perf rank`")
    hl = highlights_of(bundle, rank_options, tree=tree) if highlight else {}
    data = flame_data(bundle, other, min_width=min_width, highlights=hl, title=title, tree=tree, ranked=highlight,
                      lines=lines)
    data.notes[:0] = notes
    return module.render(data, view=view), list(data.notes)


__all__ = ["RANK_LIMIT", "WRITERS", "SUFFIX_FORMATS", "format_for", "render_flamegraph", "flame_data", "FlameData", "Highlight",
           "highlights_of", "DEFAULT_MIN_WIDTH"]
