"""The command-line reference of ``playbook/cli.md``, generated from the argparse parsers so that it cannot drift.

Each command's section on the page holds a generated part between two markers::

    <!-- cli-reference: phasm-perf rank -->
    ...what :func:`render` gives for that command...
    <!-- /cli-reference -->

``python -m phasm_perf.cli.reference playbook/cli.md`` rewrites those parts; ``--check`` exits 1 when the page is
not what the parsers give (``tests/unit/test_cli_reference.py`` does the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from ..core.output import write_output
from . import build_parser

MARK = re.compile(r"(<!-- cli-reference: (?P<prog>[^>]+?) -->\n)(?P<body>.*?)(<!-- /cli-reference -->)", re.S)


def commands(parser: argparse.ArgumentParser | None = None, prog: str = "phasm-perf"
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and subcommand with its parser, depth first: ("phasm-perf hw measure", parser), ..."""
    parser = parser or build_parser()
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{prog} {name}")


def _metavar(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.metavar is not None:
        return action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    if action.choices is not None:
        return "|".join(map(str, action.choices))
    return action.dest.upper()


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = parser._get_formatter()._expand_help(action) if action.help else ""
    return " ".join(text.split()).replace(str(Path.home()), "~")   # a default under $HOME: the same on every machine


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _synopsis(prog: str, parser: argparse.ArgumentParser) -> str:
    words = [prog]
    words += [f"{a.option_strings[-1]} {_metavar(a)}".strip() for a in parser._actions if a.required and a.option_strings]
    words.append("[OPTIONS]")
    for action in parser._actions:
        if action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            words.append("|".join(action.choices))
            continue
        name = _metavar(action)
        if action.nargs == argparse.REMAINDER and "..." in name:
            words.append(name)
            continue
        words.append({"?": f"[{name}]", "*": f"[{name} ...]", "+": f"{name} [...]",
                      argparse.REMAINDER: f"[{name} ...]"}.get(action.nargs, name))
    return " ".join(words)


def render(prog: str, parser: argparse.ArgumentParser) -> str:
    """The synopsis and a table of every option: its spellings, its argument, what it does."""
    lines = ["```text", _synopsis(prog, parser), "```", ""]
    rows = [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]
    if rows:
        lines += ["| option | argument | what it does |", "|---|---|---|"]
        for a in rows:
            spell = ", ".join(f"`{s}`" for s in a.option_strings)
            arg = f"`{_cell(_metavar(a))}`" if _metavar(a) else ""
            lines.append(f"| {spell} | {arg} | {_cell(_help(parser, a))} |")
        lines.append("")
    return "\n".join(lines)


def update(text: str) -> str:
    """The page with every generated part replaced by what the parsers give now."""
    known = dict(commands())

    def part(m: re.Match) -> str:
        prog = m.group("prog")
        if prog not in known:
            raise SystemExit(f"phasm-perf: error: the page names '{prog}', which is no command "
                             f"(known: {', '.join(known)})")
        return m.group(1) + render(prog, known[prog]) + m.group(4)

    return MARK.sub(part, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m phasm_perf.cli.reference", description=__doc__.splitlines()[0])
    ap.add_argument("page", type=Path)
    ap.add_argument("--check", action="store_true", help="exit 1 if the page is not what the parsers give")
    args = ap.parse_args(argv)
    text = args.page.read_text()
    new = update(text)
    if args.check:
        if new != text:
            print(f"phasm-perf: error: {args.page} is not what the parsers give: "
                  f"run python -m phasm_perf.cli.reference {args.page}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        write_output(new, args.page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
