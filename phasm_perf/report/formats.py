"""The output formats' names and file suffixes, apart from the renderers: the command line builds its options from
them without importing pandas, numpy or the page templates (``phasm-perf --help`` starts in a fraction of a second)."""

from __future__ import annotations

import os

#: ``rank --format``
REPORT_FORMATS = ("table", "json", "csv", "markdown")
#: ``rank -o FILE``: the format from the suffix
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".txt": "table"}

#: ``vars --format``
VARS_FORMATS = ("table", "markdown", "json")

#: ``flamegraph --format``
FLAME_FORMATS = ("html", "svg", "folded", "speedscope")
FLAME_SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".svg": "svg", ".folded": "folded", ".txt": "folded",
                        ".json": "speedscope"}
#: paths narrower than this share of the total are merged (flamegraph.pl hides frames under 0.1 px of 1200 px)
DEFAULT_MIN_WIDTH = 1e-4
#: above this many distinct stacks, candidates are ranked only on request (``rank``'s filters visit every frame)
RANK_LIMIT = 2_000_000


def flame_format_for(path: str | os.PathLike | None, fmt: str | None) -> str:
    """``fmt``, or the format the output file's suffix names (html when none does)."""
    if fmt:
        return fmt
    name = str(path or "").lower()
    for suffix, f in FLAME_SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return f
    return "html"
