"""Hardware profiles: the YAML files found by name (the shipped ones, ``local``, a path), read and validated, and
written back. The schema (``HardwareProfile`` and its parts, the format) is :mod:`.schema`, re-exported here."""

from __future__ import annotations

import difflib
import os
import sys
import sysconfig
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..core.errors import PhasmError
from .schema import (SCHEMA_VERSION, Achievable, Figure, HardwareProfile, InProgram, Level, Link, NativeRuntime)

__all__ = ["SCHEMA_VERSION", "Achievable", "Figure", "HardwareProfile", "InProgram", "Level", "Link", "NativeRuntime",
           "LOCAL_ENV", "PATH_ENV", "shipped_dirs", "available", "local_path", "parse_profile", "load_file",
           "close_names", "load", "dump"]

#: where the measured profile of this machine lives unless ``$PHASM_PERF_LOCAL_PROFILE`` says otherwise
LOCAL_ENV = "PHASM_PERF_LOCAL_PROFILE"
#: extra folders of profiles (``os.pathsep``-separated), searched before the shipped ones
PATH_ENV = "PHASM_PERF_HARDWARE_PATH"


def shipped_dirs() -> list[Path]:
    """Folders that hold the shipped profiles, in search order.

    ``$PHASM_PERF_HARDWARE_PATH``; the repository's ``hardware_profiles/`` next to the package (a source checkout
    or an editable install); the copy a wheel installs under ``<prefix>/share/phasm-perf/hardware_profiles``.
    """
    dirs: list[Path] = [Path(p) for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "hardware_profiles")
    for scheme_prefix in {sysconfig.get_path("data"), sys.prefix, sys.base_prefix}:
        dirs.append(Path(scheme_prefix) / "share" / "phasm-perf" / "hardware_profiles")
    user = sysconfig.get_path("data", f"{os.name}_user") if os.name == "posix" else None
    if user:
        dirs.append(Path(user) / "share" / "phasm-perf" / "hardware_profiles")
    seen, out = set(), []
    for d in dirs:
        if d not in seen and d.is_dir():
            seen.add(d)
            out.append(d)
    return out


def available() -> dict[str, Path]:
    """Every shipped profile by name (the first folder that has a name wins)."""
    found: dict[str, Path] = {}
    for d in shipped_dirs():
        for f in sorted(d.glob("*.yaml")):
            found.setdefault(f.stem, f)
    return found


def local_path() -> Path:
    """Where ``hw measure`` keeps this machine's profile: ``$PHASM_PERF_LOCAL_PROFILE`` or the user cache."""
    env = os.environ.get(LOCAL_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phasm-perf" / "local.yaml"


def parse_profile(text: str, origin: str = "<text>") -> HardwareProfile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise PhasmError(f"{origin}: not valid YAML{at}; fix the file or re-create it") from None
    if not isinstance(data, dict):
        raise PhasmError(f"{origin}: a hardware profile is a YAML mapping (name, kind, peak_flops, memory, ...)")
    try:
        prof = HardwareProfile.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e["loc"]) or "profile"
        raise PhasmError(f"{origin}: invalid hardware profile: {loc}: {e['msg']} "
                         f"({exc.error_count()} problem(s) in all)") from None
    if prof.schema_version > SCHEMA_VERSION:
        raise PhasmError(f"{origin}: schema_version {prof.schema_version} is newer than this phasm-perf; upgrade it")
    return prof


def load_file(path: str | os.PathLike) -> HardwareProfile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PhasmError(f"hardware profile {str(p)!r} not found") from None
    except OSError as exc:
        raise PhasmError(f"cannot read hardware profile {str(p)!r}: {exc.strerror}") from None
    return parse_profile(text, str(p))


def close_names(name: str, names: list[str], n: int = 4) -> list[str]:
    """The names nearest to ``name`` (difflib), for a one-line 'did you mean'."""
    low = name.lower()
    head = [c for c in names if c.startswith(low) or low.startswith(c)]
    fuzzy = difflib.get_close_matches(low, names, n=n, cutoff=0.4)
    return list(dict.fromkeys(head + fuzzy))[:n]


def _looks_like_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or os.sep in name or name.startswith(".")


def load(name: str) -> HardwareProfile:
    """A profile by name (``a100-40gb-sxm``), ``local`` (this machine, measured), or a path to a YAML file.

    ``local`` must already exist here; :func:`phasm_perf.hardware.resolve` also measures it the first time.
    """
    if name == "local":
        p = local_path()
        if not p.exists():
            raise PhasmError(f"no profile of this machine yet ({p}); run `phasm-perf hw measure`")
        return load_file(p)
    if _looks_like_path(name) or Path(name).is_file():
        return load_file(name)
    names = available()
    if name in names:
        return load_file(names[name])
    if name.lower() in names:
        return load_file(names[name.lower()])
    close = close_names(name, sorted(names) + ["local"])
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise PhasmError(f"unknown hardware {name!r}{hint} (`phasm-perf hw list` shows all)")


class _Dumper(yaml.SafeDumper):
    """Lists of numbers on one line (a table is hundreds of them); everything else block style."""


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flow = bool(data) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump(profile: HardwareProfile) -> str:
    """The profile as YAML, in the order of the schema (optional parts left out when unset)."""
    data = profile.model_dump(mode="json", exclude_none=False)
    for key in ("measured", "in_program", "kernel_min", "tables", "quality", "speed_probe"):
        if data.get(key) is None:
            data.pop(key, None)
    for key in ("notes", "runtimes"):
        if not data.get(key):
            data.pop(key, None)
    for lvl in data["memory"]:
        if lvl.get("persistent") is True:
            lvl.pop("persistent")
        if lvl.get("private") is False:
            lvl.pop("private")
    if data.get("link") and data["link"].get("pageable_bandwidth") is None:
        data["link"].pop("pageable_bandwidth")
    if data.get("in_program") and not data["in_program"].get("cold_cache_per_byte"):
        data["in_program"].pop("cold_cache_per_byte", None)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
