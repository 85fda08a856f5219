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

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from .bundle_files import BundleWriter, check_bundle_destination  # noqa: F401 (this module's API too)
from .errors import PhasmError
from .folded import read_folded

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
    not_counted: dict[str, str] = Field({}, description="function key -> why it has no count (inlined, ...)")


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


