"""The HTML pages' one Jinja2 environment: a template per page under ``report/templates/``, autoescaped.

Names from profiles are untrusted, so every value a template prints is escaped unless it is marked safe here:
the page's own CSS and JavaScript (:func:`inline`: package files, inlined so that each page stays self-contained
and works offline), JSON through ``|tojson`` (escaped for a ``<script>`` element: ``<``, ``>``, ``&``, ``'``,
U+2028 and U+2029 become ``\\uXXXX``), and the markup a renderer vouches for with :func:`trusted` (a matplotlib
SVG whose labels went through :func:`phasm_perf.report.roofline_plot.literal`). Quantities are printed through
:mod:`phasm_perf.core.units`, as filters: ``{{ x|seconds }}``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..core.units import (fmt_bandwidth, fmt_bytes, fmt_flop_count, fmt_flops, fmt_seconds, fmt_share,
                          fmt_signed_share, fmt_speedup)

#: the folder of templates and static files inside the package (shipped as package data)
TEMPLATES = "templates"
_CLOSING_TAG = re.compile(r"</(script|style)", re.IGNORECASE)


def _script_json(obj: Any, **_: Any) -> str:
    """Compact JSON, no NaN; U+2028 and U+2029 escaped (``|tojson`` then escapes ``<``, ``>``, ``&``, ``'``)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("phasm_perf.report", TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.policies["json.dumps_function"] = _script_json
    env.policies["json.dumps_kwargs"] = {}
    env.globals["inline"] = inline
    env.filters.update(seconds=fmt_seconds, bytes=fmt_bytes, bandwidth=fmt_bandwidth, flops=fmt_flops,
                       flop_count=fmt_flop_count, speedup=fmt_speedup, share=fmt_share,
                       signed_share=fmt_signed_share, unsigned_share=_unsigned_share, factor=_factor, number=_number)
    return env


def _unsigned_share(x: float | None) -> str:
    """A relative error without its sign: ``0.083`` -> ``'8.3%'``."""
    return fmt_signed_share(x).lstrip("+")


def _factor(x: float | None) -> str:
    """A measured or predicted speedup, three significant digits: ``0.0764`` -> ``'0.0764x'`` (``-``: none)."""
    return f"{x:.3g}x" if x else "-"


def _number(x: float | None) -> str:
    """A dimensionless number, three significant digits (``-``: none)."""
    return "-" if x is None else f"{x:.3g}"


def inline(name: str) -> Markup:
    """A static file of the package (``flamegraph.js``, ``rank.css``), its text as it stands, to sit inside a
    ``<script>`` or ``<style>`` element; one that would close its element is refused."""
    env = environment()
    source, _, _ = env.loader.get_source(env, name)
    if _CLOSING_TAG.search(source):
        raise ValueError(f"{name} contains a closing </script> or </style>: it cannot be inlined")
    return Markup(source)


def trusted(markup: str) -> Markup:
    """Markup that a renderer built from escaped parts (a matplotlib SVG with :func:`literal` labels)."""
    return Markup(markup)


def render_page(template: str, **context: Any) -> str:
    """The page ``template`` (a file under ``report/templates/``) with ``context``: plain dicts, lists and strings."""
    return environment().get_template(template).render(**context)


__all__ = ["TEMPLATES", "environment", "inline", "render_page", "trusted"]
