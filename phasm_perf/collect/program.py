"""What is PROG? A ``.py`` script, an executable (ELF, or a script whose shebang names Python), or a command line."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from ..core.errors import PhasmError

Kind = Literal["python", "native", "other"]


@dataclass(frozen=True)
class Target:
    """The program to run: ``argv`` is exactly what is executed (no shell)."""

    argv: list[str]
    kind: Kind
    #: the user's script or binary when there is one (its folder marks "user code")
    program: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        return " ".join(self.argv)

    @property
    def display_name(self) -> str:
        """A short name for files about this run: the script's or binary's name (``python prog.py`` -> ``prog``)."""
        if self.program is not None:
            return self.program.stem
        args = self.argv[1:] if self.argv[0].endswith(("python", "python3")) else []
        if args[:1] == ["-m"] and len(args) > 1:  # python -m pkg.mod -> mod
            return args[1].rsplit(".", 1)[-1] or "prog"
        return Path(args[0] if args else self.argv[0]).stem or "prog"


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _shebang(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            first = fh.readline(256)
    except OSError:
        return None
    if first.startswith(b"#!"):
        return first[2:].decode("utf-8", "replace").strip()
    return None


def _names_python(word: str) -> bool:
    base = os.path.basename(word)
    return base.startswith("python") or base.startswith("pypy")


def _shebang_is_python(line: str) -> bool:
    words = line.split()
    if not words:
        return False
    if os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and _names_python(words[0])


#: commands that run another command given after their own options (the program is found among their arguments)
LAUNCHERS = frozenset({"env", "uv", "uvx", "conda", "mamba", "micromamba", "pixi", "poetry", "pdm", "hatch",
                       "pipenv", "rye", "mpirun", "mpiexec", "srun", "nice", "taskset", "numactl", "chrt", "stdbuf",
                       "timeout", "time", "nohup", "ionice", "setsid"})


def _is_shell_script(path: Path) -> bool:
    sb = _shebang(path)
    return bool(sb) and os.path.basename(sb.split()[0]) in ("sh", "bash", "dash", "zsh", "ksh") or bool(
        sb and os.path.basename(sb.split()[0]) == "env" and len(sb.split()) > 1
        and sb.split()[1] in ("sh", "bash", "dash", "zsh", "ksh"))


def _launched(exe: str, args: list[str]) -> tuple[Kind, Path | None] | None:
    """What a launcher (``uv run``, ``mpirun -n 1``, ``env``, a wrapper shell script) runs, from its arguments: a
    Python interpreter or script, or an ELF binary; None: nothing recognisable."""
    sb = _shebang(Path(exe))
    script = bool(sb) and (_is_shell_script(Path(exe)) or _shebang_is_python(sb))  # a wrapper, or `conda run`
    if os.path.basename(exe) not in LAUNCHERS and not script:
        return None
    for a in args:
        if a.endswith(".py") and os.path.isfile(a):
            return "python", Path(a).resolve()
        if _names_python(a) and not a.startswith("-"):
            script = next((b for b in args[args.index(a) + 1:] if b.endswith(".py") and os.path.isfile(b)), None)
            return "python", Path(script).resolve() if script else None
    for a in args:
        found = shutil.which(a) if os.sep not in a else (a if os.path.isfile(a) else None)
        if found and _is_elf(Path(found)) and os.path.basename(found) not in LAUNCHERS:
            return "native", Path(found).resolve()
    return None


def resolve_target(prog: str, args: Sequence[str] = (), *, as_command: bool = False) -> Target:
    """Turn the user's ``PROG ARGS...`` into a :class:`Target`, or raise a one-line :class:`PhasmError`.

    ``as_command`` is true when the program came after ``--``: it is then run exactly as given
    (``-- python -m pkg.mod``), with only the executable looked up on ``PATH``.
    """
    args = list(args)
    if as_command:
        exe = shutil.which(prog) if os.sep not in prog else (prog if os.path.exists(prog) else None)
        if exe is None:
            raise PhasmError(f"program not found: {prog!r} (is it installed and on PATH?)")
        kind: Kind = "python" if _names_python(prog) else "other"
        program: Path | None = None
        launched = None if kind == "python" else _launched(exe, args)
        if launched is not None:
            kind, program = launched
        elif kind == "python":
            script = next((a for a in args if a.endswith(".py") and os.path.isfile(a)), None)
            program = Path(script).resolve() if script else None
        else:
            p = Path(exe)
            if _is_elf(p):
                kind = "native"
            elif (sb := _shebang(p)) and _shebang_is_python(sb):
                kind = "python"
            program = p.resolve()
        return Target([prog, *args], kind, program)

    path = Path(prog)
    if not path.exists():
        found = shutil.which(prog) if os.sep not in prog else None
        if found is None:
            raise PhasmError(
                f"program not found: {prog!r} (give a path to a .py script or an executable, "
                "or a whole command after --, e.g. `-- python -m pkg.mod`)"
            )
        path = Path(found)
    if path.is_dir():
        raise PhasmError(f"{prog!r} is a directory, not a program (a bundle directory needs meta.json)")
    path = path.resolve()
    if path.suffix == ".py":
        return Target([sys.executable, str(path), *args], "python", path)
    if not os.access(path, os.X_OK):
        raise PhasmError(f"{prog!r} is not executable and not a .py script (chmod +x it, or run it after --)")
    if _is_elf(path):
        return Target([str(path), *args], "native", path)
    sb = _shebang(path)
    if sb and _shebang_is_python(sb):
        return Target([str(path), *args], "python", path)
    return Target([str(path), *args], "other", path)
