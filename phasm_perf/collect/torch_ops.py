"""PyTorch operators in the bundle (``--torch-profiler``): what ran, how often, FLOPs, bytes and time.

The Python program runs under :mod:`._torchwrap` (``torch.profiler`` with ``with_flops=True``,
``record_shapes=True`` and ``profile_memory=True``), which writes ``torch_ops.json`` into the bundle:

- ``operators``: one row per operator name (``aten::addmm``...) with ``device``, ``calls``, ``cpu_time_us``
  (inclusive), ``self_cpu_time_us``, ``device_time_us`` (CUDA kernels, when present), ``flops`` (torch's own
  count, for the operators it knows: matmul, convolution, ...), ``input_bytes`` (the tensor inputs: shape x dtype
  size) and ``output_bytes`` (memory the operator itself allocated: its outputs). ``bytes = input + output`` is
  the traffic used for the arithmetic intensity; it ignores re-reads from cache, so it is a lower bound of DRAM
  traffic for large tensors and an upper bound for tensors that stay in cache.
- ``stacks``: operator call stacks (``aten::linear;aten::addmm``) weighted by self CPU microseconds, imported into
  the call tree as ``torch_ops.folded`` (:func:`operator_tree`).

:func:`roofline_points` places the operators with FLOPs on a hardware profile's roofline (numbers only: the roofline
plot and the table of ``rank --html`` are drawn in :mod:`phasm_perf.report.rank_html`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..calltree.tree import CallTree
from ..core.folded import read_folded, split_frame, write_folded
from ..model.roofline import attainable, ridge_point

WRAPPER = Path(__file__).with_name("_torchwrap.py")


def wrap_argv(argv: list[str]) -> list[str]:
    """``[python, *flags, SCRIPT|-m MOD, ARGS]`` -> the same with the wrapper between the flags and the script."""
    if not argv:
        return argv
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-m":
        i += 1
    return [argv[0], *argv[1:i], str(WRAPPER), *argv[i:]]


def import_ops(path: Path, samples, notes: list[str]) -> None:
    """After the run: drop the wrapper's own frames from the sampled stacks, write ``torch_ops.folded``."""
    wrapper = str(WRAPPER)

    def strip(stacks: Counter) -> Counter:
        out: Counter = Counter()
        for frames, w in stacks.items():
            kept = tuple(f for f in frames if split_frame(f)[1] != wrapper)
            if kept:  # a stack of the wrapper alone is the profiler writing its events: not the program's time
                out[kept] += w
        return out

    samples.on_cpu = strip(samples.on_cpu)
    samples.off_cpu = strip(samples.off_cpu)
    data = load_ops_file(path)
    if data is None:
        notes.append("--torch-profiler: the program wrote no operator profile (did it exit through os._exit?)")
        return
    if data.get("status") != "recorded":
        notes.append(f"--torch-profiler: {data.get('status')}")
        return
    stacks = Counter({tuple(k.split(";")): int(round(v)) for k, v in data.get("stacks", {}).items() if v >= 0.5})
    write_folded(path.with_suffix(".folded"), stacks)
    ops = data.get("operators", [])
    with_flops = sum(1 for o in ops if o.get("flops"))
    notes.append(f"--torch-profiler: {len(ops)} operators recorded ({with_flops} with FLOPs) in torch_ops.json")


def load_ops_file(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_ops(bundle_path: str | os.PathLike) -> list[dict]:
    """The operators of a bundle (empty when it has none)."""
    data = load_ops_file(Path(bundle_path) / "torch_ops.json")
    return list(data.get("operators", [])) if data and data.get("status") == "recorded" else []


def operator_tree(bundle_path: str | os.PathLike):
    """The operators' call tree (self CPU time, seconds) as a :class:`~phasm_perf.calltree.tree.CallTree`."""
    return CallTree(read_folded(Path(bundle_path) / "torch_ops.folded", missing_ok=True), seconds_per_unit=1e-6)


@dataclass(frozen=True)
class OperatorPoint:
    name: str
    calls: int
    seconds: float
    flops: int
    bytes: int
    intensity: float          # FLOPs per byte
    flops_per_second: float   # achieved
    attainable: float         # the roofline's bound at this intensity
    bound: str                # compute or memory


def roofline_points(ops: list[dict], peak: float, bandwidth: float, top: int = 8) -> list[OperatorPoint]:
    """The ``top`` operators with FLOPs, heaviest first, placed against the roofs ``peak`` and ``bandwidth``.

    Time is the device time when the operator ran on a GPU, else its inclusive CPU time.
    """
    pts = []
    for o in ops:
        flops = int(o.get("flops") or 0)
        seconds = (o.get("device_time_us") or o.get("cpu_time_us") or 0.0) * 1e-6
        nbytes = int(o.get("input_bytes", 0)) + int(o.get("output_bytes", 0))
        if flops <= 0 or seconds <= 0 or nbytes <= 0:
            continue
        inten = flops / nbytes
        pts.append(OperatorPoint(o["name"], int(o.get("calls", 0)), seconds, flops, nbytes, inten, flops / seconds,
                                 attainable(inten, peak, bandwidth),
                                 "compute" if inten >= ridge_point(peak, bandwidth) else "memory"))
    pts.sort(key=lambda p: -p.seconds)
    return pts[:top]


__all__ = ["wrap_argv", "import_ops", "load_ops", "load_ops_file", "operator_tree", "roofline_points", "OperatorPoint",
           "WRAPPER"]
