"""Run a Python script under ``torch.profiler`` and write its operators to ``$PHASM_PERF_TORCH_OUT``.

    python .../phasm_perf/collect/_torchwrap.py SCRIPT [ARGS...]

The script runs as ``__main__`` (``runpy``), exactly as ``python SCRIPT ARGS`` would run it; the sampler sees its
frames under this wrapper's. The operators are written even when the script fails or calls ``sys.exit``. CPU
operators always; CUDA kernels too when CUDA is available. It is run by path and imports nothing of phasm-perf,
so the profiled program's interpreter needs only torch, and its ``sys.path`` is the script's as usual.
"""

from __future__ import annotations

import json
import math
import os
import runpy
import sys

#: bytes per element of the dtype names torch.profiler reports (``input_dtypes``)
DTYPE_BYTES = {
    "float": 4, "double": 8, "c10::Half": 2, "c10::BFloat16": 2, "half": 2, "bfloat16": 2, "long int": 8,
    "int": 4, "short int": 2, "signed char": 1, "unsigned char": 1, "bool": 1, "c10::complex<float>": 8,
    "c10::complex<double>": 16, "c10::Float8_e4m3fn": 1, "c10::Float8_e5m2": 1,
}


def _input_bytes(shapes, dtypes) -> int:
    total = 0
    for shape, dtype in zip(shapes or (), dtypes or ()):
        size = DTYPE_BYTES.get(dtype or "")
        if size is None or not isinstance(shape, (list, tuple)) or not shape:
            continue  # scalars and non-tensor arguments
        try:
            total += math.prod(int(d) for d in shape) * size
        except (TypeError, ValueError):
            continue
    return total


def _op_stack(evt) -> list[str]:
    names = []
    e = evt
    while e is not None:
        names.append(e.name)
        e = e.cpu_parent
    return names[::-1]


def collect(prof) -> dict:
    """Operators aggregated by name, and folded operator stacks weighted by self CPU microseconds."""
    ops: dict[str, dict] = {}
    stacks: dict[str, float] = {}
    for evt in prof.events():
        if getattr(evt, "is_user_annotation", False) or evt.name.startswith("ProfilerStep"):
            continue
        dev = str(getattr(evt, "device_type", "CPU")).rsplit(".", 1)[-1]
        row = ops.setdefault(evt.name, {"name": evt.name, "device": dev, "calls": 0, "cpu_time_us": 0.0,
                                        "self_cpu_time_us": 0.0, "device_time_us": 0.0, "flops": 0,
                                        "input_bytes": 0, "output_bytes": 0})
        row["calls"] += 1
        row["cpu_time_us"] += float(evt.cpu_time_total)
        row["self_cpu_time_us"] += float(evt.self_cpu_time_total)
        row["device_time_us"] += float(getattr(evt, "self_device_time_total", 0.0) or 0.0)
        row["flops"] += int(evt.flops or 0)
        row["input_bytes"] += _input_bytes(getattr(evt, "input_shapes", None), getattr(evt, "input_dtypes", None))
        # memory the operator itself allocated: its outputs (and temporaries), on the CPU or the device
        row["output_bytes"] += max(0, int(getattr(evt, "self_cpu_memory_usage", 0) or 0)) + \
            max(0, int(getattr(evt, "self_device_memory_usage", 0) or 0))
        key = ";".join(n.replace(";", ":") for n in _op_stack(evt))
        stacks[key] = stacks.get(key, 0.0) + float(evt.self_cpu_time_total)
    return {"operators": sorted(ops.values(), key=lambda r: -r["cpu_time_us"]),
            "stacks": {k: round(v, 3) for k, v in stacks.items() if v > 0}}


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python _torchwrap.py SCRIPT|-m MODULE [ARGS...]", file=sys.stderr)
        return 2
    out = os.environ.get("PHASM_PERF_TORCH_OUT")
    if sys.argv[1] == "-m" and len(sys.argv) > 2:
        module = sys.argv[2]
        sys.argv = sys.argv[2:]
        sys.path[0] = os.getcwd()  # as `python -m MODULE` would have it

        def run() -> None:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script = sys.argv[1]
        sys.argv = sys.argv[1:]
        sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python SCRIPT` would have it

        def run() -> None:
            runpy.run_path(script, run_name="__main__")
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile
    except ImportError as exc:
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                json.dump({"status": f"unavailable (torch not importable: {exc})"}, fh)
        run()
        return 0
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    prof = profile(activities=activities, with_flops=True, record_shapes=True, profile_memory=True)
    prof.__enter__()
    try:
        run()
    finally:
        prof.__exit__(None, None, None)
        if out:
            data = {"status": "recorded", "torch": torch.__version__,
                    "activities": [str(a).rsplit(".", 1)[-1] for a in activities], **collect(prof)}
            tmp = out + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
            os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
