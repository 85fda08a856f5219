"""Reading profiles and analysing them: bundles, the call tree, the ranking, flame graphs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..calltree.readers import Profile, read_profile
from ..collect.program import Target

if TYPE_CHECKING:
    import pandas as pd

    from ..calltree.tree import CallTree
    from ..core.bundle import Bundle
    from ..report import RankReport


def load_profile(path: str | os.PathLike, fmt: str | None = None, force: bool = False, **options) -> Bundle:
    """A bundle directory, or a profile file in any format phasm-perf reads (detected from its content unless
    ``fmt`` names it: see :data:`phasm_perf.calltree.readers.FORMATS`), as a :class:`Bundle`. Damaged input is one
    :class:`~phasm_perf.core.errors.PhasmError`; ``force`` reads what can be read (the notes say what was
    skipped)."""
    from ..core.bundle import load_bundle  # pydantic: start-up time (see phasm_perf/api/__init__.py)

    p = Path(path)
    if p.is_dir():
        return load_bundle(p, force=force)
    return bundle_from_profile(read_profile(p, fmt, force=force, **options), p)


def bundle_from_profile(profile: Profile, path: str | os.PathLike) -> Bundle:
    """Wrap a profile file's stacks as an in-memory :class:`Bundle` (nothing is written)."""
    from ..core.bundle import Bundle, CallCount, CollectorInfo, CountsInfo, Meta  # start-up time (see phasm_perf/api/__init__.py)

    if profile.calls:
        counts = CountsInfo(status=f"exact ({profile.format})", method=profile.format,
                            functions=[CallCount(function=k, calls=n) for k, n in profile.calls.items()])
    else:
        counts = CountsInfo(status=f"unavailable (a {profile.format} profile has no call counts)")
    meta = Meta(tool_version="", argv=[], cwd=os.getcwd(), kind="other", start_time="", wall_seconds=0.0,
                exit_status=None, status="complete",
                collector=CollectorInfo(name=profile.format, off_cpu=profile.off_cpu_known),
                weight_unit=profile.weight_unit, seconds_per_unit=profile.seconds_per_unit,
                samples=profile.samples or int(profile.total_weight), threads=profile.threads, counts=counts, notes=list(profile.notes))
    return Bundle(Path(path), meta, profile.on_cpu, profile.off_cpu)


def load(path: str | os.PathLike) -> Bundle:
    return load_profile(path)


def rank(source: Bundle | str | os.PathLike, hardware: str | None = None, surrogate: str = "mlp:64x64",
         dtype: str = "fp32", batches: Sequence[int] | None = None, inputs: int | None = None,
         outputs: int | None = None, on_status=None, runtime: str = "eager", activation: str = "relu",
         independent: int | None = None, target: Target | None = None, observe: int = 0,
         **options) -> RankReport:
    """Rank the candidates of a bundle (or a bundle path or profile file); ``options`` as :class:`RankOptions`.
    With ``hardware`` (a profile name, ``local`` or a YAML path) each candidate also gets its prediction for a
    ``surrogate`` of ``dtype`` over ``batches`` (default: a sweep), with the inputs and outputs counted in the
    first real calls unless ``inputs`` and ``outputs`` say, run by ``runtime`` (``phasm_perf.model.spec.RUNTIMES``),
    in batches of at most ``independent`` calls when the program can batch only that many. ``observe``: how many
    of the top compute candidates of the Python program ``target`` (the bundle's program) to observe with ``vars``
    first (one run of it each): their sizes and the batch the program can form then shape their predictions."""
    from ..core.bundle import Bundle
    from ..report import RankOptions, build_report  # pandas: start-up time (see phasm_perf/api/__init__.py)

    bundle = source if isinstance(source, Bundle) else load_profile(source)
    report = build_report(bundle, RankOptions(**options))
    if hardware is None:
        return report
    from ..predict import captured_io, profile_of
    from ..report.predictions import PredictOptions, attach_predictions

    prof = profile_of(hardware, on_status=on_status)
    opts = PredictOptions(hardware=hardware, surrogate=surrogate, dtype=dtype,
                          batches=tuple(batches) if batches else None, inputs=inputs, outputs=outputs,
                          runtime=runtime, activation=activation, independent=independent)
    captured, notes = captured_io(bundle), []
    if observe and target is not None:
        from ..discover.python import discover
        from ..report.observed import observe as _observe

        if on_status:
            on_status(f"observing the top {observe} candidate(s) with vars (one run of the program each)")
        found, notes = _observe(target, report, observe, lambda t, fn: discover(t, fn, calls=32))
        captured.update(found)
    report = attach_predictions(report, captured, opts, prof)
    return report.model_copy(update={"notes": report.notes + notes}) if notes else report


def rank_html(report: "RankReport", hardware: str | None = None) -> str:
    """``rank --html``: the ranking, its predictions and a roofline plot as one self-contained HTML page."""
    from ..predict import profile_of
    from ..report.rank_html import render_html

    return render_html(report, profile_of(hardware) if hardware else None)


def call_tree(source: Bundle | str | os.PathLike) -> CallTree:
    from ..calltree.tree import CallTree  # pandas: start-up time (see phasm_perf/api/__init__.py)
    from ..core.bundle import Bundle

    bundle = source if isinstance(source, Bundle) else load_profile(source)
    return CallTree(bundle.on_cpu, bundle.off_cpu, bundle.meta.seconds_per_unit)


def flamegraph(source: Bundle | str | os.PathLike, fmt: str = "html", other: Bundle | str | os.PathLike | None = None,
               input_format: str | None = None, view: str = "both", min_width: float = 1e-4,
               candidates: bool | None = None, tree: CallTree | None = None, lines: bool = False,
               force: bool = False, **rank_options) -> tuple[str, list[str]]:
    """A flame graph of ``source`` (against ``other`` for a differential view) as text, and the notes to show.
    ``tree``: ``call_tree(source)`` if already built (its tables are reused); ``rank_options`` (as
    :class:`RankOptions`: ``event_loop``, ``min_fraction``) choose the candidates highlighted; ``candidates=None``
    ranks them unless the profile has more distinct stacks than :data:`~phasm_perf.report.flamegraph.RANK_LIMIT`.
    A frame is a function; ``lines``: a frame per source line."""
    from ..core.bundle import Bundle
    from ..report import RankOptions
    from ..report.flamegraph import render_flamegraph

    bundle = source if isinstance(source, Bundle) else load_profile(source, input_format, force=force)
    base = None
    if other is not None:
        base = other if isinstance(other, Bundle) else load_profile(other, input_format, force=force)
    text, notes = render_flamegraph(bundle, fmt, other=base, view=view, min_width=min_width, highlight=candidates,
                                    tree=tree, rank_options=RankOptions(**rank_options), lines=lines)
    return text, list(bundle.meta.notes) + notes


def candidates_frame(report: RankReport) -> pd.DataFrame:
    """The ranked candidates as a DataFrame (one row each, the JSON fields as columns)."""
    import pandas as pd  # start-up time (see phasm_perf/api/__init__.py)

    rows = [c.model_dump(exclude={"predicted"}) for c in report.candidates]
    return pd.DataFrame(rows).set_index("rank") if rows else pd.DataFrame()
