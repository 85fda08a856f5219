"""The Python API that the command line and the notebooks share.

    >>> from phasm_perf import api
    >>> bundle = api.profile("examples/particles.py", ["--steps", "200"], "out.phasm")   # doctest: +SKIP
    >>> report = api.rank(bundle)                                                       # doctest: +SKIP
    >>> api.candidates_frame(report)                                                    # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import pandas as pd

from .calltree.folded import parse_folded_lines, _decode
from .calltree.tree import CallTree
from .collect.bundle import Bundle, CollectorInfo, CountsInfo, Meta, load_bundle
from .collect.program import resolve_target
from .collect.run import ProfileOptions, profile as _profile
from .errors import PhasmError
from .report import RankOptions, RankReport, build_report


def profile(prog: str, args: Sequence[str] = (), out: str | os.PathLike = "out.phasm", **options) -> Bundle:
    """Run ``prog args`` under the default collector and write a bundle to ``out``."""
    return _profile(resolve_target(prog, args), out, ProfileOptions(**options))


def load_profile(path: str | os.PathLike) -> Bundle:
    """A bundle directory, or a profile file (folded stacks), as a :class:`Bundle`."""
    p = Path(path)
    if p.is_dir():
        return load_bundle(p)
    if not p.exists():
        raise PhasmError(f"{str(p)!r} not found")
    parsed = parse_folded_lines(_decode(p.read_bytes()).splitlines())
    if not parsed.stacks:
        detail = f" (line {parsed.invalid[0][0]}: {parsed.invalid[0][1][:60]!r})" if parsed.invalid else ""
        raise PhasmError(f"{str(p)!r} holds no stacks in a format phasm-perf reads{detail}; "
                         "give a bundle directory or a folded-stacks file")
    notes = [f"{len(parsed.invalid)} invalid line(s) skipped, first at line {parsed.invalid[0][0]}"] if parsed.invalid else []
    meta = Meta(tool_version="", argv=[], cwd=os.getcwd(), kind="other", start_time="", wall_seconds=0.0,
                exit_status=None, status="complete",
                collector=CollectorInfo(name="folded", off_cpu=False), weight_unit="samples", seconds_per_unit=1.0,
                samples=int(sum(parsed.stacks.values())),
                counts=CountsInfo(status="unavailable (a profile file has no call counts)"), notes=notes)
    return Bundle(p, meta, parsed.stacks, Counter())


def load(path: str | os.PathLike) -> Bundle:
    return load_profile(path)


def rank(source: Bundle | str | os.PathLike, **options) -> RankReport:
    """Rank the candidates of a bundle (or a bundle path); ``options`` as :class:`RankOptions`."""
    bundle = source if isinstance(source, Bundle) else load_profile(source)
    return build_report(bundle, RankOptions(**options))


def call_tree(source: Bundle | str | os.PathLike) -> CallTree:
    bundle = source if isinstance(source, Bundle) else load_profile(source)
    return CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)


def candidates_frame(report: RankReport) -> pd.DataFrame:
    """The ranked candidates as a DataFrame (one row each, the JSON fields as columns)."""
    rows = [c.model_dump(exclude={"predicted"}) for c in report.candidates]
    return pd.DataFrame(rows).set_index("rank") if rows else pd.DataFrame()
