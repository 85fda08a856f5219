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

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field, ValidationError

from .folded import FoldedParse, parse_folded_file, write_folded
from .errors import PhasmError, input_error
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


class FileRecord(BaseModel):
    """One bundle file as it was written: the check that it was not changed or damaged since."""

    bytes: int
    sha256: str
    stacks: int | None = Field(None, description="folded files: distinct stacks")
    weight: float | None = Field(None, description="folded files: total weight, in meta.weight_unit")


#: files a bundle keeps but never reads back (the program's output, the collector's messages): not recorded
LOGS = ("stdout.txt", "stderr.txt", "stderr.counting.txt", "collector.log")


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
    files: dict[str, FileRecord] = Field({}, description="every file but meta.json and the logs, as written")
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
        if size != rec.bytes or _sha256(f) != rec.sha256:
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise input_error(path, exc) from None
    return h.hexdigest()


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
    phasm-perf never leaves a half bundle that looks complete. The rename happens under a lock on the parent folder:
    two runs writing the same destination at once never mix their files (the second finds the first's bundle and
    keeps its own beside it, unless it may replace it). A temporary folder left by a phasm-perf that was killed
    (``.NAME.tmp-PID-...``, PID no longer running) is removed by the next writer of the same name.
    """

    def __init__(self, dest: str | os.PathLike, overwrite: bool = False) -> None:
        self.dest = Path(dest).resolve()
        self.given = str(dest)
        self.overwrite = overwrite
        check_bundle_destination(dest, overwrite)
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale(self.dest)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.tmp-{os.getpid()}-", dir=self.dest.parent))
        except OSError as exc:
            raise output_error(dest, exc) from None
        self.stacks: dict[str, tuple[int, float]] = {}

    def file(self, name: str) -> Path:
        return self.tmp / name

    def write_json(self, name: str, data: Any) -> None:
        self.file(name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def write_stacks(self, name: str, stacks: Counter) -> None:
        write_folded(self.file(name), stacks)
        kept = [w for w in stacks.values() if w > 0]  # what write_folded writes
        self.stacks[name] = (len(kept), float(sum(kept)))

    def records(self) -> dict[str, FileRecord]:
        """Every file written so far (logs aside) with its size, hash and, for folded files, stacks and weight."""
        out = {}
        for f in sorted(self.tmp.iterdir()):
            if f.is_file() and f.name != "meta.json" and f.name not in LOGS:
                n, w = self.stacks.get(f.name, (None, None))
                out[f.name] = FileRecord(bytes=f.stat().st_size, sha256=_sha256(f), stacks=n, weight=w)
        return out

    def commit(self, meta: Meta) -> Path:
        """Record the files in ``meta.files``, write ``meta.json`` (every file fsynced), rename into place."""
        meta.files = self.records()
        self.file("meta.json").write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        _fsync_tree(self.tmp)
        with _locked(self.dest.parent):
            if not (self.dest.exists() or self.dest.is_symlink()):
                os.rename(self.tmp, self.dest)
            elif self.overwrite and _replaceable(self.dest):
                old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}")
                os.rename(self.dest, old)
                os.rename(self.tmp, self.dest)
                shutil.rmtree(old, ignore_errors=True)
            else:  # another run wrote it while this one ran: keep both, never mixed
                kept = _free_name(self.dest)
                os.rename(self.tmp, kept)
                raise PhasmError(f"{self.given!r} was written by another run while this one ran; this run's bundle "
                                 f"is kept in {str(kept)!r}", 1)
        _fsync_tree(self.dest.parent, files=False)
        return self.dest

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _replaceable(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink() and ((p / "meta.json").is_file() or not any(p.iterdir()))


def _free_name(dest: Path) -> Path:
    """``run.phasm`` -> the first of ``run-2.phasm``, ``run-3.phasm``, ... that does not exist."""
    stem, suffix = (dest.stem, dest.suffix) if dest.suffix else (dest.name, "")
    i = 2
    while (dest.parent / f"{stem}-{i}{suffix}").exists():
        i += 1
    return dest.parent / f"{stem}-{i}{suffix}"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (flock on the folder itself: no lock file is left behind)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove_stale(dest: Path) -> None:
    """Temporary and old folders of ``dest`` left by a phasm-perf that no longer runs (killed while writing)."""
    for p in dest.parent.glob(f".{glob.escape(dest.name)}.*-*"):
        m = re.fullmatch(rf"\.{re.escape(dest.name)}\.(?:tmp-(\d+)-.*|old-(\d+))", p.name)
        if m and p.is_dir() and not _alive(int(m.group(1) or m.group(2))):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_tree(folder: Path, files: bool = True) -> None:
    """Every file of ``folder`` (unless not ``files``) and the folder itself on disk (best effort where a file
    system refuses to fsync a folder)."""
    for f in folder.iterdir() if files else ():
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
