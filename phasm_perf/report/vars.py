"""A function's real inputs and outputs (:class:`~phasm_perf.discover.schema.VarsReport`, Python or compiled) as a
terminal table, as markdown and as JSON. Names come from the user's program: escaped for rich markup, and ``|``
escaped in markdown."""

from __future__ import annotations

import io
import shutil

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..discover.schema import Variable, VarsReport

COLUMNS = ("name", "kind", "dir", "dtype", "shape", "size", "bytes", "range", "const", "note")


def _range(v: Variable) -> str:
    if v.min is None:
        return ""
    if v.min == v.max:
        return f"{v.min:.4g}"
    return f"{v.min:.4g} .. {v.max:.4g}"


def _shape(v: Variable) -> str:
    return "scalar" if not v.shape else "x".join(str(d) for d in v.shape)


def _columns(r: VarsReport) -> tuple[str, ...]:
    """The columns; ``type`` (the source language's type: C++) when the report has one."""
    if any(v.type for v in r.inputs + r.outputs):
        return COLUMNS[:-1] + ("type", "note")
    return COLUMNS


def _row(v: Variable, columns: tuple[str, ...]) -> list[str]:
    row = [v.name, v.kind + ("" if v.in_signature else "*"), v.direction, v.dtype, _shape(v), f"{v.size:,}",
           f"{v.bytes:,}", _range(v), "yes" if v.constant else ""]
    return row + ([v.type or ""] if "type" in columns else []) + [v.note or ""]


def headline(r: VarsReport) -> str:
    s = r.summary
    return (f"{r.function}: {len(r.inputs)} inputs ({s.input_size} scalars varying, {s.constant_inputs} constant), "
            f"{len(r.outputs)} outputs ({s.output_size} scalars); {s.input_bytes} B in and {s.output_bytes} B out "
            f"per call; {100 * s.outside_signature:.0f}% of what it reads is not in its signature; observed "
            f"{r.observed_calls} of {r.calls} calls")


def batching_line(r: VarsReport) -> str:
    b = r.batching
    if b.dependent:
        return f"batching: {b.note}; " + "; ".join(b.chains)
    n = f"{b.independent_calls} independent calls per iteration" if b.independent_calls else "calls per " \
        "iteration not determined"
    return f"batching: {n}" + (f" ({b.note})" if b.note else "")


def _lines(r: VarsReport) -> list[str]:
    out = [f"unresolved: {u.name} ({u.kind}): {u.reason}" for u in r.unresolved]
    out += [f"effect a surrogate cannot reproduce: {e}" for e in r.effects]
    out += [f"note: {n}" for n in r.notes]
    return out


def render_table(r: VarsReport, console: Console | None = None) -> str:
    buf = io.StringIO()
    width = shutil.get_terminal_size((160, 24)).columns  # $COLUMNS when not a terminal
    console = console or Console(file=buf, width=width, highlight=False, color_system=None, force_terminal=False)
    console.print(escape(headline(r)))
    columns = _columns(r)
    for title, rows in (("inputs", r.inputs), ("outputs", r.outputs)):
        t = Table(title=f"{title} (* not in the signature)", title_justify="left")
        for col in columns:
            t.add_column(col, justify="right" if col in ("size", "bytes") else "left", overflow="fold",
                         no_wrap=col not in ("range", "type", "note"))
        for v in rows:
            t.add_row(*(escape(x) for x in _row(v, columns)))
        console.print(t)
    console.print(escape(batching_line(r)))
    for line in _lines(r):
        console.print(escape(line))
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(r: VarsReport) -> str:
    out = [f"# Inputs and outputs of `{r.function}`", "", _md_cell(headline(r)), ""]
    columns = _columns(r)
    for title, rows in (("Inputs", r.inputs), ("Outputs", r.outputs)):
        out += [f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        out += ["| " + " | ".join(_md_cell(x) for x in _row(v, columns)) + " |" for v in rows]
        out.append("")
    out += [_md_cell(batching_line(r)), ""]
    out += [f"- {_md_cell(line)}" for line in _lines(r)]
    return "\n".join(out) + "\n"


def render_json(r: VarsReport) -> str:
    return r.model_dump_json(indent=2) + "\n"


RENDERERS = {"table": render_table, "markdown": render_markdown, "json": render_json}
