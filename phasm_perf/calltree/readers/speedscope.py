"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): sampled and evented profiles,
several of them (one per thread, as py-spy writes them) summed into one set of stacks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ...core.errors import PhasmError
from ...core.folded import make_frame
from .base import Profile
from .text import encoding_of, head_bytes

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
UNIT_SECONDS = {"nanoseconds": 1e-9, "microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1.0}


def sniff(head: str) -> bool:
    h = head.lstrip()
    return h.startswith("{") and ("speedscope" in h[:4000] or ('"profiles"' in h and '"shared"' in h))


def _frames(doc: dict) -> list[str]:
    out = []
    for f in doc.get("shared", {}).get("frames", []):
        name = str(f.get("name", "?"))
        line = f.get("line")
        out.append(make_frame(name, f.get("file"), int(line) if isinstance(line, (int, float)) else None))
    return out


def _sampled(p: dict, frames: list[str], out: Counter) -> None:
    samples = p.get("samples", [])
    weights = p.get("weights") or [1] * len(samples)
    if len(weights) != len(samples):
        raise ValueError("samples and weights differ in length")
    for s, w in zip(samples, weights):
        if s:
            out[tuple(frames[i] for i in s)] += w


def _evented(p: dict, frames: list[str], out: Counter) -> None:
    stack: list[int] = []
    last = p.get("startValue", 0)
    for ev in p.get("events", []):
        at = ev["at"]
        if stack and at > last:
            out[tuple(frames[i] for i in stack)] += at - last
        last = at
        if ev["type"] == "O":
            stack.append(ev["frame"])
        elif ev["type"] == "C":
            if not stack or stack[-1] != ev["frame"]:
                raise ValueError(f"close event of frame {ev['frame']} does not match the open frame")
            stack.pop()


def read(path: Path) -> Profile:
    enc = encoding_of(head_bytes(path, 4))
    try:
        doc = json.loads(Path(path).read_text(encoding=enc))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PhasmError(f"{str(path)!r} is not valid JSON ({exc}); expected a speedscope profile") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
        raise PhasmError(f"{str(path)!r} is not a speedscope file (no 'profiles' list)")
    frames = _frames(doc)
    stacks: Counter = Counter()
    units = set()
    try:
        for p in doc["profiles"]:
            units.add(p.get("unit", "none"))
            (_evented if p.get("type") == "evented" else _sampled)(p, frames, stacks)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PhasmError(f"{str(path)!r}: malformed speedscope profile ({type(exc).__name__}: {exc})") from None
    if not stacks:
        raise PhasmError(f"{str(path)!r} holds no sample")
    mixed = len(units) > 1
    unit = units.pop() if not mixed else "none"
    notes = [f"{len(doc['profiles'])} profiles (threads) summed"] if len(doc["profiles"]) > 1 else []
    if mixed:
        notes.append("the profiles use different units: weights are summed as they are")
    return Profile(stacks, format="speedscope", weight_unit=unit, seconds_per_unit=UNIT_SECONDS.get(unit, 1.0),
                   threads=len(doc["profiles"]), notes=notes)


__all__ = ["read", "sniff", "SCHEMA_URL"]
