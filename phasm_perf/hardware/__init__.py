"""Hardware profiles (one YAML file per device, every figure with its source) and ``hw measure``.

- :mod:`.profile`   the schema, loading by name / ``local`` / path, the shipped profiles
- :mod:`.measure`   an empirical roofline and cost tables of this machine, written in the same format
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Callable

from ..core.errors import PhasmError
from .profile import HardwareProfile, available, dump, load, load_file, local_path, parse_profile

__all__ = ["HardwareProfile", "available", "dump", "load", "load_file", "local_path", "parse_profile", "resolve",
           "stale_reason"]


def _torch_version() -> str | None:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def same_torch(a: str, b: str) -> bool:
    """Whether two torch versions are the same build: ``torch.__version__`` carries the build as a local part
    (``2.13.0+cu130``) that the package metadata may not (PyPI's CUDA wheels: ``2.13.0``); a local part counts only
    when both have one."""
    (pa, _, la), (pb, _, lb) = a.partition("+"), b.partition("+")
    return pa == pb and (not la or not lb or la == lb)


def stale_reason(profile: HardwareProfile, torch_version: str | None = None, cpu: str | None = None) -> str | None:
    """Why a cached measured profile no longer describes this machine, or ``None``: measured with another torch
    version, on another CPU, or by a phasm-perf without cost tables."""
    from .measure.cpu import cpu_info  # only where a local profile is checked (start-up time of rank's report)

    m = profile.measured or {}
    torch_version = torch_version if torch_version is not None else _torch_version()
    cpu = cpu if cpu is not None else cpu_info()["model"]
    if m.get("torch") and torch_version and not same_torch(str(m["torch"]), torch_version):
        return f"it was measured with torch {m['torch']}, this is torch {torch_version}"
    if m.get("cpu") and cpu and m["cpu"] != cpu:
        return f"it was measured on {m['cpu']}, this is {cpu}"
    if profile.kind == "cpu" and profile.tables is None:
        return "it was measured by an older phasm-perf, without cost tables"
    return None


def resolve(name: str, *, measure_if_missing: bool = True,
            on_status: Callable[[str], None] | None = None) -> HardwareProfile:
    """:func:`load`, except that ``local`` is measured (and kept) the first time it is asked for, and measured
    again when the cached one is stale (:func:`stale_reason`). ``on_status`` hears what is measured, for how long
    and where it is kept (the command line prints it on stderr)."""
    if name != "local" or not measure_if_missing:
        return load(name)
    path = local_path()
    why = "no profile of this machine yet"
    if path.exists():
        try:
            why = stale_reason(load(name)) or ""
        except PhasmError as exc:
            why = f"the cached profile cannot be read ({exc})"
        if not why:
            return load(name)
    from .measure import MeasureOptions, expected_seconds, measure_and_save  # start-up time (rank's report)

    # PHASM_PERF_MEASURE_QUICK=1: the quick measurement (tests, CI), a few seconds of noisier figures
    opts = MeasureOptions(quick=os.environ.get("PHASM_PERF_MEASURE_QUICK") == "1")
    if on_status:
        on_status(f"measuring this machine for the 'local' hardware ({why}): about {expected_seconds(opts)} s on a "
                  "quiet machine (longer where a disturbed figure is measured again; no attempt that would end past "
                  f"{opts.budget_seconds:.0f} s); the profile is cached in {path} (measure again any time with "
                  "`phasm-perf hw measure`)")
    measure_and_save(path, opts)
    return load(name)
