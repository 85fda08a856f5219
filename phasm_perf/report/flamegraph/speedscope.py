"""speedscope's JSON file format out: one sampled profile for on-CPU and one for off-CPU stacks, shared frames
with their file and line; valid against speedscope's own schema."""

from __future__ import annotations

import json
from collections import Counter

from ... import __version__
from ...core.folded import split_frame
from ...calltree.readers.speedscope import SCHEMA_URL
from ...core.bundle import Bundle

TIME_UNITS = {1.0: "seconds", 1e-3: "milliseconds", 1e-6: "microseconds", 1e-9: "nanoseconds"}


def _profile(name: str, stacks: Counter, index: dict[str, int], unit: str, scale: float) -> dict:
    samples, weights = [], []
    for frames, w in sorted(stacks.items()):
        if w <= 0:
            continue
        samples.append([index.setdefault(f, len(index)) for f in frames])
        weights.append(w * scale)
    total = sum(weights)
    return {"type": "sampled", "name": name, "unit": unit, "startValue": 0, "endValue": total,
            "samples": samples, "weights": weights}


def render(bundle: Bundle, view: str = "both", **_) -> str:
    spu = bundle.meta.seconds_per_unit
    time_based = bundle.meta.weight_unit in ("us", "ns", "ms", "s", "seconds", "samples") and spu > 0
    unit = TIME_UNITS.get(spu, "seconds") if time_based else "none"
    scale = 1.0 if (not time_based or spu in TIME_UNITS) else spu
    index: dict[str, int] = {}
    profiles = []
    if view in ("on", "both") and bundle.on_cpu:
        profiles.append(_profile("on-CPU", bundle.on_cpu, index, unit, scale))
    if view in ("off", "both") and bundle.off_cpu:
        profiles.append(_profile("off-CPU", bundle.off_cpu, index, unit, scale))
    frames = []
    for f in index:
        name, file, line = split_frame(f)
        fr: dict = {"name": name}
        if file:
            fr["file"] = file
        if line is not None:
            fr["line"] = line
        frames.append(fr)
    doc = {"$schema": SCHEMA_URL, "exporter": f"phasm-perf@{__version__}", "name": str(bundle.path.name),
           "activeProfileIndex": 0, "shared": {"frames": frames}, "profiles": profiles}
    return json.dumps(doc, separators=(",", ":")) + "\n"


__all__ = ["render"]
