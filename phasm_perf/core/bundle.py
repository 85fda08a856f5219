"""The profile bundle: a directory written atomically (temporary directory, then rename).

Layout (``schema_version`` 1)::

    meta.json        Meta, below
    oncpu.folded     on-CPU stacks, Brendan Gregg's folded format, integer weights
    offcpu.folded    off-CPU stacks (sleeping, blocked) from the same run; empty when the collector cannot tell
    counts.json      exact call counts of the top candidates (or why there are none)
    stdout.txt       the program's output, kept apart from phasm-perf's report
    stderr.txt

Weights are in ``meta.weight_unit`` (``us`` of wall time for Austin, ``samples`` for py-spy); multiply by
``meta.seconds_per_unit`` for seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from .folded import read_folded, write_folded
from .errors import PhasmError
from .output import output_error

SCHEMA_VERSION = 1
Status = Literal["complete", "failed", "interrupted"]


class CollectorInfo(BaseModel):
    name: str
    version: str | None = None
    interval_seconds: float | None = None
    off_cpu: bool = Field(description="whether off-CPU stacks were recorded (sleeping/blocked threads)")
    command: list[str] = []


class CallCount(BaseModel):
    function: str
    file: str | None = None
    line: int | None = None
    calls: int
    inputs: int | None = Field(None, description="numbers in the flattened arguments of the first calls (most common)")
    outputs: int | None = Field(None, description="numbers in the flattened result of the first calls (most common)")
    numpy_scalars: int = Field(0, description="how many of those inputs and outputs are numpy scalars (numpy.float64 "
                                              "and the like), which marshal slower than Python numbers")


class CountsInfo(BaseModel):
    status: str = Field(description="'exact' or 'unavailable (reason)'")
    method: str | None = None
    functions: list[CallCount] = []


class Analysis(BaseModel):
    """The analysis options given when the bundle was made (``profile``/``rank`` ``--event-loop``,
    ``--min-fraction``, ``--count-top``): ``rank BUNDLE`` uses them unless it is told otherwise."""

    event_loop: str | None = Field(None, description="the frame whose time is searched for candidates; None: found "
                                                     "automatically")
    min_fraction: float = Field(0.02, description="functions under this share of the run are not candidates")
    count_top: int = Field(10, description="how many top candidates the counting pass counted")


class Meta(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tool: str = "phasm-perf"
    tool_version: str
    argv: list[str]
    cwd: str
    kind: str = Field(description="python, native or other")
    program: str | None = None
    start_time: str
    wall_seconds: float
    exit_status: int | None = Field(description="the program's exit code; negative: killed by that signal")
    status: Status
    signal: str | None = None
    collector: CollectorInfo
    weight_unit: str
    seconds_per_unit: float
    samples: int = 0
    threads: int = 0
    host: dict[str, Any] = {}
    gpu: str = "unavailable"
    counts: CountsInfo = CountsInfo(status="unavailable (not collected)")
    analysis: Analysis = Analysis()
    notes: list[str] = []


@dataclass
class Bundle:
    path: Path
    meta: Meta
    on_cpu: Counter
    off_cpu: Counter

    def seconds(self, weight: float) -> float:
        return weight * self.meta.seconds_per_unit


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read a bundle directory; a missing or malformed piece is one clear :class:`PhasmError`."""
    p = Path(path)
    meta_path = p / "meta.json"
    if not meta_path.is_file():
        raise PhasmError(f"{str(p)!r} is not a phasm-perf bundle (no meta.json); make one with `phasm-perf profile`")
    try:
        meta = Meta.model_validate_json(meta_path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PhasmError(f"{meta_path}: malformed meta.json ({first}); re-run `phasm-perf profile`") from None
    if meta.schema_version > SCHEMA_VERSION:
        raise PhasmError(f"{meta_path}: schema_version {meta.schema_version} is newer than this phasm-perf; upgrade it")
    on = read_folded(p / "oncpu.folded", missing_ok=False)
    off = read_folded(p / "offcpu.folded", missing_ok=True)
    return Bundle(p, meta, on, off)


def check_bundle_destination(dest: str | os.PathLike, overwrite: bool = False) -> None:
    """Fail before a run if a bundle cannot be written to ``dest``: only a bundle (a folder with ``meta.json``)
    (or an empty folder) is ever replaced, and only with ``overwrite`` (``--force``); a file, a device or another
    folder never is."""
    p = Path(dest)
    if not (p.exists() or p.is_symlink()):
        return
    if not p.is_dir() or p.is_symlink():
        raise PhasmError(f"{str(dest)!r} exists and is not a bundle folder; choose another -o (a bundle is a folder)")
    if not overwrite:
        raise PhasmError(f"{str(dest)!r} already exists; choose another -o or pass --force to replace it")
    if not (p / "meta.json").is_file() and any(p.iterdir()):
        raise PhasmError(f"{str(dest)!r} is a folder but not a phasm-perf bundle (no meta.json): phasm-perf only "
                         "replaces its own bundles; choose another -o")


class BundleWriter:
    """Write into a temporary sibling directory; :meth:`commit` renames it into place.

    Until ``commit`` the destination does not exist (or still holds the previous bundle), so a crash of
    phasm-perf never leaves a half bundle that looks complete.
    """

    def __init__(self, dest: str | os.PathLike, overwrite: bool = False) -> None:
        self.dest = Path(dest).resolve()
        check_bundle_destination(dest, overwrite)
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.tmp-", dir=self.dest.parent))
        except OSError as exc:
            raise output_error(dest, exc) from None

    def file(self, name: str) -> Path:
        return self.tmp / name

    def write_json(self, name: str, data: Any) -> None:
        self.file(name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def write_stacks(self, name: str, stacks: Counter) -> None:
        write_folded(self.file(name), stacks)

    def commit(self, meta: Meta) -> Path:
        self.file("meta.json").write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        if self.dest.exists():
            old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}")
            os.rename(self.dest, old)
            os.rename(self.tmp, self.dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.tmp, self.dest)
        return self.dest

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
