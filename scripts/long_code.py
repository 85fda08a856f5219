"""List the functions over 60 lines and the modules over 400 lines of a package (ARCHITECTURE.md, "Size").

    .venv/bin/python scripts/long_code.py [phasm_perf]

Prints one line per long function (``F LINES path:line name``) and module (``M LINES path``) and the two counts.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_FUNCTION = 60
MAX_MODULE = 400


def long_code(root: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    functions, modules = [], []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE:
            modules.append((text.count("\n"), str(path)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION:
                    functions.append((n, f"{path}:{node.lineno} {node.name}"))
    return sorted(functions, reverse=True), sorted(modules, reverse=True)


def main(argv: list[str]) -> int:
    functions, modules = long_code(Path(argv[0] if argv else "phasm_perf"))
    for n, where in functions:
        print(f"F {n:4d} {where}")
    for n, where in modules:
        print(f"M {n:4d} {where}")
    print(f"functions over {MAX_FUNCTION} lines: {len(functions)}; modules over {MAX_MODULE} lines: {len(modules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
