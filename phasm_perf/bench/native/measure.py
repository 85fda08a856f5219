"""``hw measure`` for compiled programs: what a native surrogate call costs inside a program.

- the runtime (``native/runtime/mlp.cpp``): one-row forwards of several MLP shapes, fitted as
  ``t = dispatch + FLOPs / rate`` (FLOPs counted as the model counts them);
- the interception and the marshalling: a small C program (``native/runtime/callee.c``) calls a function 300,000
  times; that function is replaced exactly as bench replaces one (same discovery, same shim, same agent) by a
  surrogate of one input and one output, and of 32 and 32; each run prints its loop's own time. ``call`` is what
  a swapped-in call costs beyond the runtime's forward, and ``marshal_per_number`` the slope over the numbers read
  and written.
"""

from __future__ import annotations

import re
import statistics
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from ...collect.program import Target
from ...core.errors import PhasmError
from ...discover.native import NativeVarsOptions, discover_all
from ...hardware.profile import NativeRuntime
from ...model.surrogate import MLP, activation_flops, layer_flops
from ...native import shim as shim_mod
from ...native.build import build_program, shipped
from ...native.mlp import Runtime, weights_bytes
from . import session as S
from .plan import make_plan

SHAPES = [(4, (32,), 4), (8, (64, 64), 8), (16, (128, 128), 16), (32, (256,), 32), (2, (64, 64), 48)]
CALLS = 300_000


def forward_flops(inputs: int, hidden: tuple[int, ...], outputs: int) -> float:
    mlp = MLP.of(inputs, hidden, outputs)
    f = sum(layer_flops(1, a, b) for a, b in mlp.layers)
    return f + sum(activation_flops(1, b) for _, b in mlp.layers[:-1])


def _random_weights(widths: list[int], rng) -> bytes:
    layers = [(rng.standard_normal((b, a)).astype(np.float32) * 0.1, np.zeros(b, np.float32))
              for a, b in zip(widths[:-1], widths[1:])]
    return weights_bytes(layers, "relu")


def fit_runtime(rt: Runtime, tmp: Path) -> tuple[float, float, list[dict]]:
    rng = np.random.default_rng(0)
    points = []
    for n_in, hidden, n_out in SHAPES:
        path = tmp / "w.mlp"
        path.write_bytes(_random_weights([n_in, *hidden, n_out], rng))
        rt.load(path)
        points.append({"shape": [n_in, *hidden, n_out], "flops": forward_flops(n_in, hidden, n_out),
                       "seconds": rt.seconds(1, 31)})
    f = np.array([p["flops"] for p in points])
    t = np.array([p["seconds"] for p in points])
    slope, intercept = np.polyfit(f, t, 1)
    if slope <= 0:
        raise PhasmError("the native runtime's times did not grow with the MLP's size: machine too noisy", 1)
    return max(0.0, float(intercept)), float(1.0 / slope), points


def _loop_seconds(stdout: str) -> float:
    m = re.search(r"loop seconds: ([0-9.]+)", stdout)
    if not m:
        raise PhasmError(f"the measuring program printed no loop time: {stdout[:200]!r}", 1)
    return float(m.group(1))


def _swap_cost(callee: Path, which: str, width: int, rt: Runtime, tmp: Path, rounds: int) -> tuple[float, float]:
    """(seconds per swapped-in call beyond the plain call, seconds of a plain pass-through) for ``which``."""
    target = Target([str(callee), which, str(CALLS)], "native", callee)
    _, loc, ins, outs = discover_all(target, which, NativeVarsOptions(calls=2))
    plan = make_plan(loc, ins, outs)
    shim = shim_mod.build(plan.shim())
    weights = tmp / f"{which}.mlp"
    weights.write_bytes(weights_bytes([(np.eye(width, dtype=np.float32), np.zeros(width, np.float32))], "relu"))
    rt.load(weights)
    forward = rt.seconds(1, 31)
    argv = target.argv
    plain, passed, swapped = [], [], []
    for _ in range(rounds):
        plain.append(_loop_seconds(S.run_shim(argv, loc, None, S.NOTHING, what="measuring run").stdout))
        passed.append(_loop_seconds(S.run_shim(argv, loc, shim, S.PASS, what="measuring run").stdout))
        swapped.append(_loop_seconds(S.run_shim(argv, loc, shim, S.SWAP, runtime=rt.path, weights=weights,
                                                what="measuring run").stdout))
    base = statistics.median(plain)
    return ((statistics.median(swapped) - base) / CALLS - forward, (statistics.median(passed) - base) / CALLS)


def measure_native(on_status: Callable[[str], None] | None = None, rounds: int = 3) -> tuple[NativeRuntime, dict]:
    status = on_status or (lambda m: None)
    rt = Runtime()
    callee = build_program(shipped("callee.c"), "phasm-callee", "c")
    with tempfile.TemporaryDirectory(prefix="phasm-hw-native-") as d:
        tmp = Path(d)
        status("native runtime: one-row forwards of 5 MLP shapes")
        dispatch, rate, points = fit_runtime(rt, tmp)
        status("native call: interception and marshalling (a C program under Frida)")
        narrow, pass_narrow = _swap_cost(callee, "narrow", 1, rt, tmp, rounds)
        wide, _ = _swap_cost(callee, "wide", 32, rt, tmp, rounds)
    per_number = max(0.0, (wide - narrow) / (64 - 2))
    call = max(0.0, narrow - 2 * per_number)
    raw = {"runtime_points": points, "swap_extra_narrow": narrow, "swap_extra_wide": wide,
           "pass_through_narrow": pass_narrow, "calls": CALLS, "rounds": rounds}
    return NativeRuntime(runtime="mlp-cpp", dispatch=dispatch, flops=rate, call=call, marshal_per_number=per_number,
                         source=f"hw measure: runtime fit over {len(SHAPES)} MLP shapes (one row); a C program's "
                                f"{CALLS} calls swapped in under Frida, 1+1 and 32+32 numbers, median of {rounds}"), raw
