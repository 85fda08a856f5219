"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): sampled and evented profiles,
several of them (one per thread, as py-spy writes them) summed into one set of stacks."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from ...core.errors import PhasmError
from ...core.folded import make_frame
from .base import Profile, damaged
from .text import read_text

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
UNIT_SECONDS = {"nanoseconds": 1e-9, "microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1.0}


def sniff(head: str) -> bool:
    h = head.lstrip()
    return h.startswith("{") and ("speedscope" in h[:4000] or ('"profiles"' in h and '"shared"' in h))


def _frames(doc: dict) -> list[str]:
    shared = doc.get("shared", {})
    frames = shared.get("frames", []) if isinstance(shared, dict) else None
    if not isinstance(frames, list):
        raise ValueError("'shared.frames' is not a list")
    out = []
    for f in frames:
        if not isinstance(f, dict):
            raise ValueError(f"a frame is not an object: {str(f)[:40]!r}")
        name = str(f.get("name", "?"))
        line = f.get("line")
        line = int(line) if isinstance(line, (int, float)) and math.isfinite(line) else None
        file = f.get("file")
        out.append(make_frame(name, str(file) if file is not None else None, line))
    return out


def _stack(frames: list[str], ids) -> tuple[str, ...]:
    if not isinstance(ids, list) or not all(isinstance(i, int) and 0 <= i < len(frames) for i in ids):
        raise ValueError(f"a sample names frames that do not exist: {str(ids)[:40]}")
    return tuple(frames[i] for i in ids)


def _sampled(p: dict, frames: list[str], out: Counter, skipped: list[str]) -> None:
    samples = p.get("samples", [])
    weights = p.get("weights") or [1] * len(samples)
    if not isinstance(samples, list) or not isinstance(weights, list):
        raise ValueError("'samples' or 'weights' is not a list")
    if len(weights) != len(samples):
        raise ValueError(f"{len(samples)} samples but {len(weights)} weights")
    for s, w in zip(samples, weights):
        try:
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 <= w < float("inf"):
                raise ValueError(f"a weight is not a count: {str(w)[:20]}")
            if s:
                out[_stack(frames, s)] += w
        except ValueError as exc:
            skipped.append(str(exc))


def _evented(p: dict, frames: list[str], out: Counter, skipped: list[str]) -> None:
    stack: list[int] = []
    last = p.get("startValue", 0)
    for ev in p.get("events", []):
        at = ev["at"]
        if not isinstance(at, (int, float)) or not math.isfinite(at) or at < last:
            raise ValueError(f"event time {str(at)[:20]} goes backwards or is not a number")
        if stack and at > last:
            out[_stack(frames, stack)] += at - last
        last = at
        if ev["type"] == "O":
            stack.append(ev["frame"])
        elif ev["type"] == "C":
            if not stack or stack[-1] != ev["frame"]:
                raise ValueError(f"close event of frame {ev['frame']} does not match the open frame")
            stack.pop()


def read(path: Path, force: bool = False) -> Profile:
    try:
        doc = json.loads(read_text(Path(path)))
    except ValueError as exc:
        raise PhasmError(f"{str(path)!r} is not valid JSON ({exc}); expected a speedscope profile") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
        raise PhasmError(f"{str(path)!r} is not a speedscope file (no 'profiles' list)")
    stacks: Counter = Counter()
    units = set()
    skipped: list[str] = []
    try:
        frames = _frames(doc)
        for p in doc["profiles"]:
            if not isinstance(p, dict):
                raise ValueError("a profile is not an object")
            units.add(str(p.get("unit", "none")))
            (_evented if p.get("type") == "evented" else _sampled)(p, frames, stacks, skipped)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PhasmError(f"{str(path)!r}: malformed speedscope profile ({type(exc).__name__}: {exc})") from None
    notes = [damaged(path, f"{len(skipped)} sample(s) cannot be read ({skipped[0]})", force)] if skipped else []
    if not stacks:
        raise PhasmError(f"{str(path)!r} holds no sample")
    mixed = len(units) > 1
    unit = units.pop() if not mixed else "none"
    if len(doc["profiles"]) > 1:
        notes.append(f"{len(doc['profiles'])} profiles (threads) summed")
    if mixed:
        notes.append("the profiles use different units: weights are summed as they are")
    return Profile(stacks, format="speedscope", weight_unit=unit, seconds_per_unit=UNIT_SECONDS.get(unit, 1.0),
                   threads=len(doc["profiles"]), notes=notes)


__all__ = ["read", "sniff", "SCHEMA_URL"]
