"""The bundle's folder on disk, written atomically (a temporary sibling folder, then a rename): the part of
:mod:`phasm_perf.core.bundle` a profile run needs before its program starts, apart from the bundle's types
(pydantic, whose import would delay the program's start: start-up time, ARCHITECTURE.md)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from .errors import PhasmError
from .folded import write_folded
from .output import output_error


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

    def commit(self, meta) -> Path:
        """Write ``meta`` (a :class:`~phasm_perf.core.bundle.Meta`) and rename the folder into place."""
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
