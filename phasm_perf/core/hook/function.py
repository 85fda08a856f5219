"""``MODULE:QUALNAME``: the Python function a hooked run swaps, checked against the program's source first.

MODULE is the module's import name, or the script's own stem for a function defined in the script (which runs as
``__main__``); QUALNAME is dotted (``Class.method``; ``outer.<locals>.inner`` for a nested function). An unknown
function is refused before the program runs, with the closest names the source defines.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import PhasmError


@dataclass(frozen=True)
class FunctionRef:
    """``MODULE:QUALNAME``; ``script`` is set when MODULE is the program's own script (run as ``__main__``)."""

    module: str
    qualname: str
    script: str | None = None

    @property
    def display(self) -> str:
        return f"{self.module}:{self.qualname}"

    def spec(self) -> dict:
        """The fields every hooked run's spec carries."""
        return {"module": self.module, "qualname": self.qualname, "script": self.script}


def parse_function(spec: str, program: Path | None, interpreter: str) -> FunctionRef:
    """Check ``MODULE:QUALNAME`` against the program (``program``: the user's script, if any; ``interpreter``:
    what runs it) before running it: a quick, static look."""
    if ":" not in spec:
        raise PhasmError(f"--function {spec!r}: give MODULE:QUALNAME, e.g. particles:boris_push "
                         "(the script's own name for functions defined in it)")
    module, qualname = spec.split(":", 1)
    if not module or not qualname or not all(p.isidentifier() for p in module.split(".")) or \
            not all(p.isidentifier() or p == "<locals>" for p in qualname.split(".")):
        raise PhasmError(f"--function {spec!r} is not MODULE:QUALNAME (dotted Python names)")
    script = program if program and program.suffix == ".py" else None
    if script is not None and module == script.stem:
        check_source(script, qualname, spec)
        return FunctionRef(module, qualname, str(script))
    source = find_module_source(module, interpreter, script)
    if source is not None:
        check_source(source, qualname, spec)
    return FunctionRef(module, qualname, None)


def find_module_source(module: str, interpreter: str, script: Path | None) -> Path | None:
    """The module's source file, looked up the way the program would (its folder first), when we can."""
    exe = shutil.which(interpreter) or interpreter
    if os.path.realpath(exe) != os.path.realpath(sys.executable):
        return None  # another interpreter: leave it to the run to say whether the module is there
    extra = [str(script.parent)] if script else []
    saved = list(sys.path)
    sys.path[:0] = extra + [os.getcwd()]
    try:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
    finally:
        sys.path[:] = saved
    if found is None:
        where = f" (looked in {extra[0]}, the working directory and the environment)" if extra else ""
        raise PhasmError(f"unknown module {module!r}{where}; for a function of the script itself use "
                         f"{script.stem + ':FUNCTION' if script else 'SCRIPT:FUNCTION'}")
    origin = found.origin
    return Path(origin) if origin and origin.endswith(".py") else None


def check_source(path: Path, qualname: str, spec: str) -> None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
    except SyntaxError:
        return  # the run will say what is wrong with it
    if "<locals>" in qualname:
        return
    defs = definitions(tree.body, "")
    if qualname not in defs:
        close = difflib.get_close_matches(qualname, sorted(defs), n=5, cutoff=0.5)
        if close:
            raise PhasmError(f"no function {qualname!r} in {path.name} (--function {spec}); "
                             f"did you mean {', '.join(close)}?")
        top = sorted(d for d in defs if "." not in d)
        listed = ", ".join(top[:12]) + (" ..." if len(top) > 12 else "")
        raise PhasmError(f"no function {qualname!r} in {path.name} (--function {spec}); "
                         f"it defines: {listed or 'no functions'}")


def definitions(body: list, prefix: str) -> set[str]:
    """The qualified names of the functions and classes a module body defines (inside if/try/with too)."""
    out: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.add(prefix + node.name)
        elif isinstance(node, ast.ClassDef):
            out.add(prefix + node.name)
            out |= definitions(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for part in ("body", "orelse", "finalbody", "handlers"):
                for sub in getattr(node, part, []) or []:
                    out |= definitions([sub] if not isinstance(sub, ast.ExceptHandler) else sub.body, prefix)
    return out
