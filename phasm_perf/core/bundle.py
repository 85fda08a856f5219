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

``meta.files`` records, at profile time, every file's size and SHA-256 (the program's own output and the
collector's log aside) and, for the folded files, how many stacks they hold and their total weight: a bundle whose
files no longer match is refused when it is read (:func:`load_bundle`; ``force`` reads what can be read and says
what was skipped). Bundles made before these fields existed are read without the check (the fields are optional,
so ``schema_version`` stays 1: older phasm-perf ignores them).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from .bundle_files import LOGS, BundleWriter, FileRecord, check_bundle_destination, sha256  # noqa: F401 (API too)
from .errors import PhasmError, input_error
from .folded import FoldedParse, parse_folded_file

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
    sampled_seconds: float | None = Field(None, description="the span of the run its samples cover (Austin: the "
                                          "longest sum of one thread's sample intervals); less than wall_seconds by "
                                          "what the sampler missed while it attached; None: not known")
    exit_status: int | None = Field(description="the program's exit code; negative: killed by that signal")
    status: Status
    partial: bool = Field(False, description="the run was cut short (interrupted, or the program killed by a "
                                             "signal): the stacks hold what was collected until then")
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
    files: dict[str, FileRecord] = Field({}, description="every file but meta.json and the logs, as written (size, "
                                                          "SHA-256; a folded file's stacks and weight)")
    notes: list[str] = []


@dataclass
class Bundle:
    path: Path
    meta: Meta
    on_cpu: Counter
    off_cpu: Counter

    def seconds(self, weight: float) -> float:
        return weight * self.meta.seconds_per_unit


def load_bundle(path: str | os.PathLike, force: bool = False) -> Bundle:
    """Read a bundle directory; a missing, malformed or damaged piece (a file that does not match ``meta.json``, a
    folded file cut short or full of garbage) is one clear :class:`PhasmError`. ``force`` reads what can be read
    and says in ``meta.notes`` what was skipped."""
    p = Path(path)
    meta_path = p / "meta.json"
    if not meta_path.is_file():
        raise PhasmError(f"{str(p)!r} is not a phasm-perf bundle (no meta.json); make one with `phasm-perf profile`")
    try:
        meta = Meta.model_validate_json(meta_path.read_bytes())
    except OSError as exc:
        raise input_error(meta_path, exc) from None
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PhasmError(f"{meta_path}: malformed meta.json ({first}); re-run `phasm-perf profile`") from None
    if meta.schema_version > SCHEMA_VERSION:
        raise PhasmError(f"{meta_path}: schema_version {meta.schema_version} is newer than this phasm-perf; upgrade it")
    on = parse_folded_file(p / "oncpu.folded", missing_ok=bool(meta.files) and "oncpu.folded" not in meta.files)
    off = parse_folded_file(p / "offcpu.folded", missing_ok=True)
    damage = _damage(p, meta, {"oncpu.folded": on, "offcpu.folded": off})
    if damage:
        if not force or not (on.stacks or off.stacks):
            more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
            hint = "; re-run `phasm-perf profile`, or pass --force to read what can be read" if on.stacks or \
                off.stacks else "; re-run `phasm-perf profile`"
            raise PhasmError(f"{str(p)!r} is damaged: {damage[0]}{more}{hint}")
        meta.notes[:0] = [f"read with --force although {d}" for d in damage]
    return Bundle(p, meta, on.stacks, off.stacks)


def _damage(path: Path, meta: Meta, folded: dict[str, FoldedParse]) -> list[str]:
    """What does not match: each file against its record in ``meta.files``, each folded file's content."""
    out = []
    for name, rec in meta.files.items():
        f = path / name
        if not f.is_file():
            out.append(f"{name} is missing")
            continue
        size = f.stat().st_size
        if size != rec.bytes or sha256(f) != rec.sha256:
            what = f"{size:,} bytes, {rec.bytes:,} when written" if size != rec.bytes else "its SHA-256 differs"
            out.append(f"{name} does not match its meta.json ({what}: changed or damaged since it was written)")
        if name in folded and (rec.weight is not None or rec.stacks is not None):
            got = folded[name]
            if (rec.stacks is not None and len(got.stacks) != rec.stacks) or \
                    (rec.weight is not None and not abs(got.total - rec.weight) <= 1e-9 * max(1.0, abs(rec.weight))):
                said = f"{rec.stacks:,}" if rec.stacks is not None else "?"
                weight = f"{rec.weight:,.6g}" if rec.weight is not None else "?"
                out.append(f"{name} holds {len(got.stacks):,} stacks weighing {got.total:,.6g}; meta.json says "
                           f"{said} weighing {weight}")
    for name, parsed in folded.items():
        if parsed.truncated or (parsed.invalid and len(parsed.invalid) > len(parsed.stacks)):
            out.append(f"{name}: {parsed.damage()}")
        elif parsed.invalid:
            out.append(f"{name}: {len(parsed.invalid)} line(s) are not folded stacks (line {parsed.invalid[0][0]})")
    return out
