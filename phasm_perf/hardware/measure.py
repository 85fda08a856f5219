"""``hw measure``: an empirical roofline of this machine, written as a hardware profile.

- GEMM peak per dtype through PyTorch (fp64, fp32, bf16, fp16) and numpy (fp64, fp32): the best of repeated
  square matrix products, FLOP/s = 2 n^3 / t.
- A STREAM-like triad ``a = b + s c`` (one fused ``torch.add(b, c, alpha=s, out=a)``) over working sets from a few
  KB to several times the last-level cache; the cache sizes come from the OS (sysfs), the bandwidth of each level
  from the sweep points that fit in it.
- The framework's per-call cost: a small MLP (Linear + ReLU) at batch 1, at several depths; a least-squares line
  ``t = t_dispatch + kernels * t_launch`` gives the fixed cost per call and the cost per kernel.
- The in-program cost of a forward: the same small MLP (8 -> 64 -> 64 -> 8, fp32, batch 1) timed one call at a
  time after a sweep over a buffer twice the last-level cache (the program's own work between two calls; the sweep
  is not timed), against the same call in a tight loop; and the arguments' way in and out (a tuple of Python
  floats into the preallocated input, the result back to a tuple of Python floats, as bench's runtime does).
- On a CUDA device, host-device bandwidth and latency and the kernel launch latency; here they are reported
  ``unavailable (reason)`` when there is no GPU.

Timings take the best of several trials (as STREAM does): on a shared machine the best trial is the one that was
not interrupted. No printing here: progress goes through the ``on_progress`` callback.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.errors import PhasmError
from ..core.output import check_output, output_error, write_output
from .profile import HardwareProfile, dump

Progress = Callable[[str, float], None]  # (what is being measured, fraction done)


@dataclass(frozen=True)
class MeasureOptions:
    quick: bool = False          # a few seconds: smaller matrices, fewer sizes, shorter trials (for tests)
    device: str = "cpu"          # cpu, or cuda for the first CUDA device
    threads: int | None = None   # torch threads (default: torch's own choice)

    @property
    def trial_seconds(self) -> float:
        return 0.04 if self.quick else 0.15


# --------------------------------------------------------------------------------------------- timing helpers
def best_time(fn: Callable[[], object], *, trials: int, min_seconds: float, sync: Callable[[], None] | None = None,
              clock: Callable[[], float] = time.perf_counter, group_seconds: float = 1e-3,
              quantile: float = 0.0) -> float:
    """Time of one call of ``fn``: the best (by default) or a low quantile over many short groups of calls.

    The budget is ``trials * min_seconds``; each group runs long enough (~``group_seconds``) for the clock to be
    exact. On a shared machine a group that was interrupted (a stolen core, an OpenMP thread that had to wait for
    one) is slow, and no group can be faster than the machine: the best group is its uninterrupted rate (STREAM
    reports the best of its trials for the same reason).
    """
    fn()
    if sync:
        sync()
    t0 = clock()
    fn()
    if sync:
        sync()
    one = max(clock() - t0, 1e-9)
    reps = max(1, int(group_seconds / one))
    groups = max(5, int(trials * min_seconds / (reps * one)))
    times = []
    for _ in range(groups):
        t0 = clock()
        for _ in range(reps):
            fn()
        if sync:
            sync()
        times.append((clock() - t0) / reps)
    times.sort()
    return times[min(len(times) - 1, int(quantile * len(times)))]


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares ``y = a + b x``: returns ``(a, b)``."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


# ------------------------------------------------------------------------------------------------ this CPU
def cpu_caches(cpu: int = 0, root: str = "/sys/devices/system/cpu") -> list[dict]:
    """Data and unified caches of ``cpu`` from sysfs: ``[{level, size, shared_with}]``, smallest level first."""
    out = []
    base = Path(root) / f"cpu{cpu}" / "cache"
    for idx in sorted(base.glob("index*")):
        try:
            kind = (idx / "type").read_text().strip()
            if kind == "Instruction":
                continue
            level = int((idx / "level").read_text())
            size = parse_size((idx / "size").read_text().strip())
            shared = len(parse_cpu_list((idx / "shared_cpu_list").read_text().strip()))
        except (OSError, ValueError):
            continue
        out.append({"level": level, "size": size, "shared_with": max(shared, 1)})
    return sorted(out, key=lambda c: c["level"])


def parse_size(text: str) -> int:
    """``"32K"`` -> 32768 (sysfs cache sizes)."""
    units = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def parse_cpu_list(text: str) -> list[int]:
    """``"0-3,6"`` -> ``[0, 1, 2, 3, 6]``."""
    cpus: list[int] = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def cpu_info(text: str | None = None) -> dict:
    """Model name, vendor, family, flags and clock from ``/proc/cpuinfo`` text."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            text = ""
    info: dict = {}
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key in ("model name", "vendor_id", "cpu family", "model", "cpu MHz", "flags") and key not in info:
            info[key] = val
    return {
        "model": info.get("model name", platform.processor() or "unknown"),
        "vendor": info.get("vendor_id", ""),
        "family": int(info["cpu family"]) if info.get("cpu family", "").isdigit() else None,
        "mhz": float(info["cpu MHz"]) if info.get("cpu MHz") else None,
        "flags": set(info.get("flags", "").split()),
    }


def flops_per_cycle(info: dict, dtype: str) -> int | None:
    """Peak FLOPs per cycle per core from the vector ISA (FMA = 2 FLOPs per lane, two FMA pipes).

    AVX-512 counts as 512-bit only on Intel and on AMD Zen 5 (family 26); Zen 4 runs it on 256-bit pipes.
    """
    flags = info["flags"]
    if "fma" not in flags and "avx512f" not in flags:
        return None
    wide = "avx512f" in flags and (info["vendor"] == "GenuineIntel" or (info.get("family") or 0) >= 26)
    lanes32 = 16 if wide else 8
    per_cycle = {"fp32": 2 * 2 * lanes32, "fp64": 2 * 2 * lanes32 // 2}
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        per_cycle["bf16"] = 2 * per_cycle["fp32"]
    if "avx512_fp16" in flags:
        per_cycle["fp16"] = 2 * per_cycle["fp32"]
    return per_cycle.get(dtype)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------- measurements
def gemm_flops_torch(dtype: str, n: int, opts: MeasureOptions, device: str = "cpu") -> float:
    import torch

    tdt = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    a = torch.randn(n, n, device=device).to(tdt)
    b = torch.randn(n, n, device=device).to(tdt)
    c = torch.empty(n, n, device=device, dtype=tdt)
    sync = torch.cuda.synchronize if device != "cpu" else None
    t = best_time(lambda: torch.matmul(a, b, out=c), trials=2, min_seconds=opts.trial_seconds, sync=sync)
    return 2.0 * n ** 3 / t


def gemm_flops_numpy(dtype: str, n: int, opts: MeasureOptions) -> float:
    import numpy as np

    ndt = {"fp64": np.float64, "fp32": np.float32}[dtype]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(ndt)
    b = rng.standard_normal((n, n)).astype(ndt)
    c = np.empty_like(a)
    t = best_time(lambda: np.matmul(a, b, out=c), trials=2, min_seconds=opts.trial_seconds)
    return 2.0 * n ** 3 / t


def triad_sizes(llc_bytes: int, quick: bool) -> list[int]:
    """Working sets (bytes, three fp64 arrays) from 24 KB to 8x the last-level cache, ~2 points per octave (main
    memory is read from the points beyond 3x the last-level cache, so there are always several of them)."""
    top = max(8 * llc_bytes, 64 << 20)
    sizes, ws = [], 24 << 10
    step = 2.0 if quick else 2 ** 0.5
    while ws <= top:
        sizes.append(int(ws) // 24 * 24)
        ws *= step
    return sizes


def triad_bandwidth(ws: int, opts: MeasureOptions, overhead: float, device: str = "cpu") -> tuple[float, float]:
    """``(bytes/s, seconds per triad)`` of ``a = b + 3 c`` on three fp64 arrays totalling ``ws`` bytes.

    The framework's fixed per-call ``overhead`` (a one-element triad) is taken off when the triad takes at least
    three times as long (so the subtraction cannot inflate the rate more than 1.5x); below that the raw rate is
    kept, a lower bound on the cache's bandwidth.
    """
    import torch

    n = max(1, ws // 24)
    a = torch.zeros(n, dtype=torch.float64, device=device)
    b = torch.rand(n, dtype=torch.float64, device=device)
    c = torch.rand(n, dtype=torch.float64, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else None
    t = best_time(lambda: torch.add(b, c, alpha=3.0, out=a), trials=3 if opts.quick else 5,
                  min_seconds=opts.trial_seconds / (2 if opts.quick else 3), sync=sync)
    net = t - overhead if t >= 3 * overhead else t
    return 24.0 * n / net, t


def call_overhead(opts: MeasureOptions, device: str = "cpu") -> float:
    import torch

    x = torch.zeros(1, dtype=torch.float64, device=device)
    o = torch.zeros(1, dtype=torch.float64, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else None
    return best_time(lambda: torch.add(x, x, alpha=3.0, out=o), trials=5, min_seconds=opts.trial_seconds / 2,
                     sync=sync)


def linear_flops(opts: MeasureOptions, device: str = "cpu", widths=(64, 128, 256), batch: int = 1024) \
        -> dict[int, float]:
    """FLOP/s of MLP-shaped layers (``F.linear`` of a batch x w input by a w x w weight, fp32), per width ``w``:
    what a surrogate's layers reach, usually less than a large square GEMM."""
    import torch

    out = {}
    sync = torch.cuda.synchronize if device != "cpu" else None
    for w in widths:
        x = torch.randn(batch, w, device=device)
        lin = torch.nn.Linear(w, w).to(device)
        with torch.no_grad():
            t = best_time(lambda: lin(x), trials=2, min_seconds=opts.trial_seconds / 2, sync=sync)
        out[w] = 2.0 * batch * w * w / t
    return out


def mlp_call_times(opts: MeasureOptions, device: str = "cpu", depths=(1, 2, 3, 4, 6, 8), width: int = 16,
                   rounds: int = 3) -> list[tuple[int, float]]:
    """``[(kernels, seconds per call)]`` of an MLP (Linear + ReLU) at batch 1 under ``torch.no_grad()``.

    Each depth is timed in ``rounds`` interleaved rounds, each on a freshly built network, and keeps its best: one
    network can be persistently slower than another of the same shape (where its weights landed), and a single
    such depth tilts the fitted line (the intercept, the dispatch cost, moved by 2x between two runs before)."""
    import torch

    best: dict[int, float] = {}
    x = torch.randn(1, width, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else None
    for _ in range(rounds):
        for depth in depths:
            layers: list = []
            for i in range(depth):
                layers.append(torch.nn.Linear(width, width))
                if i < depth - 1:
                    layers.append(torch.nn.ReLU())
            net = torch.nn.Sequential(*layers).to(device).eval()
            with torch.no_grad():
                t = best_time(lambda: net(x), trials=3, min_seconds=opts.trial_seconds / 3, sync=sync)
            best[depth] = min(best.get(depth, t), t)
    return [(2 * d - 1, best[d]) for d in depths]


def in_program_cost(opts: MeasureOptions, sweep_bytes: int, inputs: int = 8, hidden: int = 64, outputs: int = 8) \
        -> dict[str, float]:
    """What a forward costs inside a program beyond the same forward in a tight loop.

    An MLP ``inputs -> hidden -> hidden -> outputs`` (fp32, batch 1, the shape of a typical surrogate), called one
    call at a time. Before each timed call a buffer of ``sweep_bytes`` is swept (read and written, as a program's
    own work would; the sweep is not timed); the same forward is then repeated and timed again with warm caches.
    ``cold_cache`` is the median of the paired differences (a pair shares the machine's state, so a slow moment
    or a slow process cancels out). ``marshal``: the arguments as a tuple of Python floats into the input tensor
    and the result back to a tuple of Python floats, through :mod:`phasm_perf.core.marshal` (the code bench's
    swapped-in function runs), median time in a tight loop; ``marshal_per_number``: each further number of a
    batched conversion (256 rows against 1, per input or output number of a row).
    """
    import numpy as np
    import torch

    from ..core.marshal import result_converter, rows_to_tensor  # the code the swapped-in function runs

    net = torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.ReLU(), torch.nn.Linear(hidden, outputs)).eval()
    bufs: dict = {}
    x = rows_to_tensor([(0.0,) * inputs], inputs, "float32", bufs, torch.from_numpy)
    args = tuple(0.1 * (i + 1) for i in range(inputs))
    sweep = np.zeros(int(sweep_bytes), dtype=np.uint8)
    clock = time.perf_counter
    calls = 20 if opts.quick else 100

    def forward():
        return net(x)

    def marshal_forward():
        return tuple(net(rows_to_tensor((args,), inputs, "float32", bufs, torch.from_numpy)).tolist()[0])

    with torch.no_grad():
        t_end = clock() + (0.1 if opts.quick else 0.3)
        while clock() < t_end:  # warm-up: both paths compiled, allocated and cached
            marshal_forward()
        pairs: list[tuple[float, float]] = []
        for _ in range(calls):
            np.add(sweep, 1, out=sweep)
            t0 = clock()
            forward()
            cold = clock() - t0
            forward()  # the same forward again, caches warm: the tight-loop time under the same conditions
            forward()
            t0 = clock()
            forward()
            pairs.append((cold, clock() - t0))
        # the conversion alone, per number of rows, in a tight loop (a copy that grows with the batch): one row is
        # one call's marshalling; each further number (a row has inputs + outputs of them) costs
        # (256 rows - 1 row) / (255 (inputs + outputs))
        rows = [tuple(0.1 * (i + j) for i in range(inputs)) for j in range(256)]
        y_b = net(torch.zeros(len(rows), inputs))
        to_results = result_converter({"kind": "tuple", "items": [{"kind": "float"}] * outputs}, tuple)

        def marshal_rows(k):
            y_k, r_k = y_b[:k], rows[:k]

            def go():
                rows_to_tensor(r_k, inputs, "float32", bufs, torch.from_numpy)
                return to_results(y_k)
            return go

        # the same with every number a numpy scalar (numpy.float64 arguments, a numpy.float64 result per value)
        np_rows = [tuple(np.float64(v) for v in r) for r in rows]
        y_flat = y_b.reshape(-1)
        to_np_results = result_converter({"kind": "float", "np": "float64"}, float)

        def marshal_np_rows(k):
            y_k, r_k = y_flat[:k * outputs], np_rows[:k]

            def go():
                rows_to_tensor(r_k, inputs, "float32", bufs, torch.from_numpy)
                return to_np_results(y_k)
            return go

        t_secs = 0.01 if opts.quick else 0.03
        t_rows = {k: best_time(marshal_rows(k), trials=3, min_seconds=t_secs, quantile=0.5) for k in (1, 256)}
        t_np_rows = {k: best_time(marshal_np_rows(k), trials=3, min_seconds=t_secs, quantile=0.5) for k in (1, 256)}
    return {"warm": statistics.median(w for _, w in pairs), "cold": statistics.median(c for c, _ in pairs),
            "cold_cache": max(0.0, statistics.median(c - w for c, w in pairs)),
            "marshal": t_rows[1], "marshal_per_number": max(0.0, (t_rows[256] - t_rows[1]) / (255 * (inputs + outputs))),
            "marshal_per_numpy_number": max(0.0, (t_np_rows[256] - t_np_rows[1]) / (255 * (inputs + outputs))),
            "marshal_256_rows": t_rows[256], "sweep_bytes": sweep.nbytes, "calls": calls}


def group_levels(sweep: list[tuple[int, float]], caches: list[dict], cores: int) -> list[dict]:
    """Memory levels from the sweep: each OS-reported cache (its capacity summed over the cores used) gets the
    median bandwidth of the sweep points well inside it (above 1.5x the level below, up to 0.75x its own size);
    main memory gets the median of the points beyond three times the last-level cache (each already a best time;
    nearer the cache, part of the working set still hits it and the rate depends on what else the cache holds)."""
    levels: list[dict] = []
    prev = 0.0
    for c in caches:
        size = c["size"] * max(1, cores // c["shared_with"]) if c["shared_with"] < cores else c["size"]
        pts = [bw for ws, bw in sweep if 1.5 * prev < ws <= 0.75 * size] or \
              [bw for ws, bw in sweep if prev < ws <= size]
        if pts:
            levels.append({"name": f"L{c['level']}", "size": float(size), "bandwidth": statistics.median(pts),
                           "points": len(pts)})
        prev = size
    llc = max((lvl["size"] for lvl in levels), default=0.0)
    pts = [bw for ws, bw in sweep if ws > 3 * llc] or [sweep[-1][1]]
    levels.append({"name": "DRAM", "size": None, "bandwidth": statistics.median(pts), "points": len(pts)})
    # a faster level can never be slower than the one behind it: keep the roofs monotone
    for i in range(len(levels) - 2, -1, -1):
        levels[i]["bandwidth"] = max(levels[i]["bandwidth"], levels[i + 1]["bandwidth"])
    return levels


def measure(opts: MeasureOptions = MeasureOptions(), on_progress: Progress | None = None) -> HardwareProfile:
    """Measure this machine and return its profile (nothing is written)."""
    try:
        import torch
    except ImportError:
        raise PhasmError("hw measure needs PyTorch: pip install 'phasm-perf[bench]'") from None
    if opts.device != "cpu":
        if not torch.cuda.is_available():
            raise PhasmError(f"--device {opts.device}: no CUDA device is visible to PyTorch "
                             f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
        return _measure_cuda(opts, on_progress)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    say = on_progress or (lambda what, frac: None)
    started = time.perf_counter()
    info = cpu_info()
    cores = min(usable_cores(), torch.get_num_threads())
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    how = f"measured by phasm-perf hw measure{' --quick' if opts.quick else ''} on {stamp}"
    gemm_sizes = [256, 512] if opts.quick else [256, 512, 1024]
    steps = ["fp64", "fp32", "bf16", "fp16", "np-fp64", "np-fp32"]
    caches = cpu_caches()
    llc = max((c["size"] for c in caches), default=32 << 20)
    sizes = triad_sizes(llc, opts.quick)
    total = len(steps) + len(sizes) + 3
    done = 0

    # the peak is the best over a few square sizes: a BLAS reaches its peak at a size that suits its blocking,
    # and that size differs per dtype and per library
    peaks: dict[str, float] = {}
    peak_n: dict[str, int] = {}
    numpy_peaks: dict[str, float] = {}
    for step in steps:
        dt = step.removeprefix("np-")
        # fp16 has no fast path on most CPUs: one small matrix keeps the step short
        ns = [256] if dt == "fp16" else gemm_sizes
        say(f"GEMM {step} (n={'/'.join(map(str, ns))})", done / total)
        for n in ns:
            if step.startswith("np-"):
                numpy_peaks[dt] = max(numpy_peaks.get(dt, 0.0), gemm_flops_numpy(dt, n, opts))
            else:
                f = gemm_flops_torch(dt, n, opts)
                if f > peaks.get(dt, 0.0):
                    peaks[dt], peak_n[dt] = f, n
        done += 1

    say("per-call overhead", done / total)
    overhead = call_overhead(opts)
    done += 1
    sweep: list[tuple[int, float]] = []
    for ws in sizes:
        say(f"triad {ws / 1024:,.0f} KB", done / total)
        bw, _ = triad_bandwidth(ws, opts, overhead)
        sweep.append((ws, bw))
        done += 1
    say("MLP layers and dispatch", done / total)
    layer_rates = linear_flops(opts)
    calls = mlp_call_times(opts)
    t_dispatch, t_launch = fit_line([k for k, _ in calls], [t for _, t in calls])
    t_launch = max(t_launch, 1e-8)
    t_dispatch = max(t_dispatch, 1e-8)
    say("in-program call (cold caches, marshalling)", done / total)
    # the core's private caches are what a program's own work between two calls reliably evicts; the shared last
    # level is measured too, for the record (its flush is the worst case: a program touching more than the
    # whole last-level cache between two calls)
    private = max((c["size"] for c in caches if c["shared_with"] == 1), default=1 << 20)
    # three rounds, the quietest kept (the lowest warm forward), as the dispatch fit keeps its best round: in a slow
    # moment (another tenant on the core) the cold-cache difference doubles with everything else
    prog_rounds = [in_program_cost(opts, 2 * private) for _ in range(1 if opts.quick else 3)]
    prog = dict(min(prog_rounds, key=lambda r: r["warm"]),
                rounds=[{k: r[k] for k in ("warm", "cold_cache", "marshal", "marshal_per_number")} for r in prog_rounds])
    prog_llc = in_program_cost(MeasureOptions(quick=True, threads=opts.threads), 2 * llc)  # for the record
    say("done", 1.0)

    levels = group_levels(sweep, caches, cores)
    cpu_ghz = (info["mhz"] or 0) / 1e3
    theoretical = {d: cores * info["mhz"] * 1e6 * fpc for d in ("fp64", "fp32", "bf16", "fp16")
                   if info["mhz"] and (fpc := flops_per_cycle(info, d))}
    fig = lambda v, src: {"value": v, "source": src}  # noqa: E731
    peak_flops = {
        d: fig(peaks[d], f"{how}: torch.matmul, best square size n={peak_n[d]} {d}, {cores} thread(s)"
                         + (f" (numpy, with its BLAS's own threads: {numpy_peaks[d] / 1e9:.1f} GFLOP/s)"
                            if d in numpy_peaks else ""))
        for d in ("fp64", "fp32", "bf16", "fp16")
    }
    peak_flops["tf32"] = fig(None, "not applicable on a CPU (tf32 is a GPU tensor-core format)")
    data = {
        "name": "local",
        "kind": "cpu",
        "description": f"this machine: {info['model']}, {cores} core(s) used by PyTorch {torch.__version__}"
                       + (f", {cpu_ghz:.2f} GHz" if cpu_ghz else ""),
        "cores": cores,
        "clock_hz": info["mhz"] * 1e6 if info["mhz"] else None,
        "peak_flops": peak_flops,
        "memory": [
            {"name": lvl["name"], "size": lvl["size"], "bandwidth": lvl["bandwidth"],
             "source": f"{how}: triad a = b + 3c (torch.add, fp64), "
                       f"median of {lvl['points']} working-set size(s) "
                       + ("beyond three times the last-level cache" if lvl["size"] is None else
                          f"that fit in {lvl['name']} ({lvl['size'] / 1024:,.0f} KB over {cores} core(s), size "
                          f"from sysfs)")}
            for lvl in levels
        ],
        "link": None,
        "launch_latency": fig(t_launch, f"{how}: slope of MLP call time per kernel (Linear/ReLU at batch 1, "
                                        f"depths 1-8, torch.no_grad)"),
        "dispatch": fig(t_dispatch, f"{how}: intercept of MLP call time vs kernels (the fixed cost of a forward)"),
        "in_program": {
            "cold_cache": prog["cold_cache"], "marshal": prog["marshal"], "marshal_per_number": prog["marshal_per_number"],
            "marshal_per_numpy_number": prog["marshal_per_numpy_number"],
            "source": f"{how}: MLP 8-64-64-8 fp32 at batch 1, the quietest (lowest warm forward) of "
                      f"{len(prog_rounds)} round(s) of {prog['calls']} single calls, each after an "
                      f"untimed sweep of {prog['sweep_bytes'] / 2 ** 20:,.0f} MB (2x the core's private cache; "
                      f"median {prog['cold'] * 1e6:.1f} us) and again with warm caches (median "
                      f"{prog['warm'] * 1e6:.1f} us): cold_cache = median of the paired differences; marshal = a "
                      f"tuple of 8 Python floats into the input and 8 back, median in a tight loop; "
                      f"marshal_per_number = (256 rows ({prog['marshal_256_rows'] * 1e6:.1f} us) - 1 row) / (255 x 16 "
                      f"numbers); marshal_per_numpy_number: the same with numpy.float64 scalars in and out "
                      f"(phasm_perf.core.marshal, the code bench's swapped-in function runs)"},
        "achievable": {"compute": min(1.0, statistics.median(layer_rates.values()) / peaks["fp32"]),
                       "memory": 1.0,
                       "source": f"{how}: compute = median FLOP/s of MLP-shaped fp32 layers (F.linear, batch 1024, "
                                 f"widths {'/'.join(map(str, layer_rates))}: "
                                 + ", ".join(f"{v / 1e9:.1f}" for v in layer_rates.values())
                                 + " GFLOP/s) over the square-GEMM peak; memory = 1, the triad roofs are achieved "
                                   "rates"},
        "measured": {
            "when": stamp,
            "seconds": round(time.perf_counter() - started, 2),
            "quick": opts.quick,
            "torch": torch.__version__,
            "threads": cores,
            "cpu": info["model"],
            "gemm_numpy_flops": numpy_peaks,
            "theoretical_peak_flops": theoretical,
            "triad_call_overhead_seconds": overhead,
            "triad_sweep": [[ws, bw] for ws, bw in sweep],
            "mlp_batch1_calls": [[k, t] for k, t in calls],
            "in_program_call": prog,
            "in_program_call_llc_sweep": prog_llc,
            "linear_layer_flops": {str(w): v for w, v in layer_rates.items()},
            "cuda": _cuda_status(torch),
        },
        "notes": [f"GEMM vs theoretical peak ({cores} cores x clock x FLOPs/cycle): "
                  + ", ".join(f"{d} {peaks[d] / theoretical[d]:.0%}" for d in theoretical if d in peaks)]
        if theoretical else [],
    }
    return HardwareProfile.model_validate(data)


def _cuda_status(torch) -> str:
    if not torch.version.cuda:
        return f"unavailable (torch {torch.__version__} is a CPU-only build)"
    if not torch.cuda.is_available():
        return "unavailable (no CUDA device visible)"
    return f"available ({torch.cuda.get_device_name(0)}); measure it with --device cuda"


def _measure_cuda(opts: MeasureOptions, on_progress: Progress | None) -> HardwareProfile:  # pragma: no cover
    """The first CUDA device: GEMM per dtype, HBM triad, host link, kernel launch latency and dispatch."""
    import torch

    say = on_progress or (lambda what, frac: None)
    dev = "cuda"
    props = torch.cuda.get_device_properties(0)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    how = f"measured by phasm-perf hw measure --device cuda on {stamp}"
    n = 2048 if opts.quick else 8192
    peaks = {}
    for i, d in enumerate(("fp64", "fp32", "bf16", "fp16")):
        say(f"GEMM {d}", i / 10)
        peaks[d] = gemm_flops_torch(d, n, opts, dev)
    say("GEMM tf32", 0.4)
    torch.backends.cuda.matmul.allow_tf32 = True
    peaks["tf32"] = gemm_flops_torch("fp32", n, opts, dev)
    torch.backends.cuda.matmul.allow_tf32 = False
    say("launch latency", 0.5)
    launch = call_overhead(opts, dev)
    say("HBM triad", 0.6)
    hbm, _ = triad_bandwidth(1 << 30 if not opts.quick else 256 << 20, opts, launch, dev)
    l2, _ = triad_bandwidth(int(0.5 * getattr(props, "L2_cache_size", 4 << 20)), opts, launch, dev)
    say("host link", 0.75)
    host = torch.empty(256 << 20, dtype=torch.uint8).pin_memory()
    devbuf = torch.empty_like(host, device=dev)
    t_big = best_time(lambda: devbuf.copy_(host, non_blocking=True), trials=3, min_seconds=opts.trial_seconds,
                      sync=torch.cuda.synchronize)
    small_h = torch.empty(4, dtype=torch.uint8).pin_memory()
    small_d = torch.empty(4, dtype=torch.uint8, device=dev)
    t_small = best_time(lambda: small_d.copy_(small_h), trials=5, min_seconds=opts.trial_seconds,
                        sync=torch.cuda.synchronize)
    say("MLP dispatch", 0.9)
    calls = mlp_call_times(opts, dev)
    t_dispatch, t_launch = fit_line([k for k, _ in calls], [t for _, t in calls])
    say("done", 1.0)
    fig = lambda v, src: {"value": v, "source": src}  # noqa: E731
    data = {
        "name": "local-cuda", "kind": "gpu",
        "description": f"this machine's {props.name} ({props.total_memory / 1e9:.0f} GB)",
        "cores": props.multi_processor_count,
        "peak_flops": {d: fig(v, f"{how}: torch.matmul {n}^2 {d}, best of 3 trials") for d, v in peaks.items()},
        "memory": [
            {"name": "L2", "size": float(getattr(props, "L2_cache_size", 4 << 20)), "bandwidth": max(l2, hbm),
             "source": f"{how}: triad at half the L2 size"},
            {"name": "HBM", "size": float(props.total_memory), "bandwidth": hbm, "source": f"{how}: triad, 1 GB"},
        ],
        "link": {"name": "host link", "bandwidth": (256 << 20) / t_big, "latency": t_small,
                 "source": f"{how}: pinned host-to-device copy of 256 MB (bandwidth) and 4 B (latency)"},
        "launch_latency": fig(max(t_launch, launch, 1e-7), f"{how}: per-kernel slope of MLP calls, at least one "
                                                           "tiny kernel with synchronisation"),
        "dispatch": fig(max(t_dispatch, 1e-7), f"{how}: intercept of MLP call time vs kernels"),
        "achievable": {"compute": 1.0, "memory": 1.0, "source": "measured roofs are already achieved rates"},
        "measured": {"when": stamp, "torch": torch.__version__, "mlp_batch1_calls": calls},
    }
    return HardwareProfile.model_validate(data)


def measure_and_save(path: str | os.PathLike, opts: MeasureOptions = MeasureOptions(),
                     on_progress: Progress | None = None) -> HardwareProfile:
    """Measure and write the profile to ``path`` (its folder is created; written by :mod:`phasm_perf.core.output`)."""
    dest = Path(path).expanduser()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(dest, exc) from None
    check_output(dest)
    prof = measure(opts, on_progress)
    write_output(dump(prof), dest)
    return prof
