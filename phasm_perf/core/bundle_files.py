"""The bundle's folder on disk: written atomically (a temporary sibling folder, then a rename under a lock on the
parent folder), each file recorded with its size and SHA-256. The part of :mod:`phasm_perf.core.bundle` a profile
run needs before its program starts, apart from the bundle's types (pydantic, whose import would delay the
program's start: start-up time, ARCHITECTURE.md)."""

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
from typing import Any, Iterator

from .errors import PhasmError, input_error
from .folded import write_folded
from .output import fsync_folder, output_error

#: files a bundle keeps but never reads back (the program's output, the collector's messages): not recorded
LOGS = ("stdout.txt", "stderr.txt", "stderr.counting.txt", "collector.log")


@dataclass
class FileRecord:
    """One bundle file as it was written (``meta.files``): the check that it was not changed or damaged since.
    ``stacks`` and ``weight`` (in ``meta.weight_unit``): a folded file's distinct stacks and total weight."""

    bytes: int
    sha256: str
    stacks: int | None = None
    weight: float | None = None


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
                out[f.name] = FileRecord(bytes=f.stat().st_size, sha256=sha256(f), stacks=n, weight=w)
        return out

    def commit(self, meta) -> Path:
        """Record the files in ``meta.files`` of ``meta`` (a :class:`~phasm_perf.core.bundle.Meta`), write
        ``meta.json`` (every file fsynced), rename the folder into place."""
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


def sha256(path: Path) -> str:
    """The file's SHA-256 (hex); an unreadable file is one :class:`PhasmError` naming it."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise input_error(path, exc) from None
    return h.hexdigest()


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
    fsync_folder(folder)
