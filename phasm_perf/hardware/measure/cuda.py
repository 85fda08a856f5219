"""``hw measure --device cuda``: the first CUDA device, measured into the same profile structure as the shipped
GPU profiles (datasheet figures replaced by measured ones).

The measurement talks to the device through a small backend (:class:`CudaBackend`): :class:`TorchCuda` on a real
GPU, a fake with known answers in the tests (there is no GPU where this is developed). What is measured:

- GEMM per dtype (and tf32 with ``allow_tf32``), L2 and HBM triads (CUDA events);
- the host's cost to *issue* a kernel (a burst of tiny kernels timed on the host clock, one synchronisation after
  the burst and outside the timing): kernels overlap their launches, so a per-kernel synchronisation would be
  counted for every kernel when the runtime pays one per forward (at ``.tolist()``);
- the device's shortest kernel (one tiny kernel between two events);
- each runtime's host cost per forward and per kernel (MLPs at batch 1, one synchronisation per group of
  forwards);
- the host link from pinned and from pageable memory (256 MB for the bandwidth, 4 B for the latency);
- the in-program costs on the host (marshalling, cold caches: :mod:`.in_program`), which every device pays.
"""

from __future__ import annotations

import datetime as _dt
from typing import Callable, Protocol

from ..profile import HardwareProfile
from .options import MeasureOptions, Progress
from .timing import fit_line

DTYPES = ("fp64", "fp32", "bf16", "fp16")


class CudaBackend(Protocol):
    name: str
    total_memory: float
    multiprocessors: int
    l2_bytes: float
    torch_version: str

    def gemm_seconds(self, dtype: str, n: int, tf32: bool = False) -> float: ...
    def triad_seconds(self, nbytes: int) -> float: ...
    def issue_seconds(self) -> float: ...
    def kernel_seconds(self) -> float: ...
    def copy_seconds(self, nbytes: int, pinned: bool) -> float: ...
    def forward_seconds(self, runtime: str, depth: int) -> float: ...


def _figures(b: CudaBackend, opts: MeasureOptions, say: Progress) -> dict:
    n = 2048 if opts.quick else 8192
    out: dict = {"n": n, "peaks": {}}
    for i, d in enumerate(DTYPES):
        say(f"GEMM {d}", i / 10)
        out["peaks"][d] = 2.0 * n ** 3 / b.gemm_seconds(d, n)
    out["peaks"]["tf32"] = 2.0 * n ** 3 / b.gemm_seconds("fp32", n, tf32=True)
    say("memory", 0.45)
    hbm_bytes = (256 << 20) if opts.quick else (1 << 30)
    out["hbm"] = hbm_bytes / b.triad_seconds(hbm_bytes)
    l2_ws = int(0.5 * b.l2_bytes)
    out["l2"] = max(l2_ws / b.triad_seconds(l2_ws), out["hbm"])
    say("launch", 0.6)
    out["issue"], out["kernel_min"] = b.issue_seconds(), b.kernel_seconds()
    say("host link", 0.7)
    big = 256 << 20
    out["pinned"] = big / b.copy_seconds(big, True)
    out["pageable"] = big / b.copy_seconds(big, False)
    out["latency"] = b.copy_seconds(4, False)
    say("runtimes", 0.8)
    out["runtimes"] = {}
    for rt in opts.runtimes:
        depths = (1, 3) if rt in ("export", "compile") or opts.quick else (1, 2, 3, 4)
        pts = [(2 * d - 1, b.forward_seconds(rt, d)) for d in depths]
        fwd, per = fit_line([k for k, _ in pts], [t for _, t in pts])
        out["runtimes"][rt] = {"forward": max(fwd, 1e-8), "per_kernel": max(per, 1e-8), "points": pts}
    return out


def measure_cuda(opts: MeasureOptions, say: Progress, backend: CudaBackend,
                 in_program: Callable[[], dict] | None = None) -> HardwareProfile:
    """Measure through ``backend`` and assemble the profile (``in_program``: the host's in-program costs)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    how = f"measured by phasm-perf hw measure --device cuda on {stamp}"
    f = _figures(backend, opts, say)
    fig = lambda v, src: {"value": v, "source": src}  # noqa: E731
    eager = f["runtimes"].get("eager") or next(iter(f["runtimes"].values()))
    data = {
        "name": "local-cuda", "kind": "gpu",
        "description": f"this machine's {backend.name} ({backend.total_memory / 1e9:.0f} GB)",
        "cores": backend.multiprocessors,
        "peak_flops": {d: fig(v, f"{how}: torch.matmul {f['n']}^2 {d}, best of 3 trials")
                       for d, v in f["peaks"].items()},
        "memory": [
            {"name": "L2", "size": float(backend.l2_bytes), "bandwidth": f["l2"],
             "source": f"{how}: triad at half the L2 size (CUDA events)"},
            {"name": "HBM", "size": float(backend.total_memory), "bandwidth": f["hbm"],
             "source": f"{how}: triad (CUDA events)"},
        ],
        "link": {"name": "host link", "bandwidth": f["pinned"], "pageable_bandwidth": f["pageable"],
                 "latency": f["latency"],
                 "source": f"{how}: host-to-device copies of 256 MB from pinned and from pageable memory "
                           "(bandwidth) and of 4 B from pageable memory (latency)"},
        "launch_latency": fig(eager["per_kernel"], f"{how}: host time per kernel of the eager runtime (MLPs at "
                                                   "batch 1, one synchronisation per group of forwards)"),
        "dispatch": fig(eager["forward"], f"{how}: host time per forward of the eager runtime"),
        "kernel_min": fig(f["kernel_min"], f"{how}: one tiny kernel between two CUDA events"),
        "achievable": {"compute": 1.0, "memory": 1.0, "source": "measured roofs are already achieved rates"},
        "runtimes": {rt: {"forward": c["forward"], "per_kernel": c["per_kernel"],
                          "source": f"{how}: host time per forward of MLPs at batch 1 over depths "
                                    + "/".join(str((k + 1) // 2) for k, _ in c["points"])}
                     for rt, c in f["runtimes"].items()},
        "measured": {"when": stamp, "torch": backend.torch_version, "issue_seconds": f["issue"],
                     "runtime_points": {rt: c["points"] for rt, c in f["runtimes"].items()}},
    }
    if in_program:
        p = in_program()
        data["in_program"] = {k: p[k] for k in ("cold_cache", "cold_cache_per_byte", "marshal",
                                                "marshal_per_number", "marshal_per_numpy_number")}
        data["in_program"]["source"] = f"{how}: the host's costs (cold caches, marshalling), as on a CPU profile"
    return HardwareProfile.model_validate(data)


class TorchCuda:  # pragma: no cover - needs a GPU
    """The backend on a real GPU, through PyTorch."""

    def __init__(self, torch, opts: MeasureOptions) -> None:
        self.t, self.opts = torch, opts
        props = torch.cuda.get_device_properties(0)
        self.name, self.total_memory = props.name, float(props.total_memory)
        self.multiprocessors = props.multi_processor_count
        self.l2_bytes = float(getattr(props, "L2_cache_size", 4 << 20))
        self.torch_version = torch.__version__

    def _events(self, fn: Callable[[], object], reps: int = 20) -> float:
        t = self.t
        fn()
        t.cuda.synchronize()
        start, end = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
        best = float("inf")
        for _ in range(3):
            start.record()
            for _ in range(reps):
                fn()
            end.record()
            end.synchronize()
            best = min(best, start.elapsed_time(end) / 1e3 / reps)
        return best

    def gemm_seconds(self, dtype: str, n: int, tf32: bool = False) -> float:
        t = self.t
        tdt = {"fp64": t.float64, "fp32": t.float32, "bf16": t.bfloat16, "fp16": t.float16}[dtype]
        a, b = (t.randn(n, n, device="cuda").to(tdt) for _ in range(2))
        c = t.empty(n, n, device="cuda", dtype=tdt)
        t.backends.cuda.matmul.allow_tf32 = tf32
        try:
            return self._events(lambda: t.matmul(a, b, out=c), reps=3)
        finally:
            t.backends.cuda.matmul.allow_tf32 = False

    def triad_seconds(self, nbytes: int) -> float:
        t = self.t
        n = max(1, nbytes // 24)
        a, b, c = (t.rand(n, dtype=t.float64, device="cuda") for _ in range(3))
        return self._events(lambda: t.add(b, c, alpha=3.0, out=a))

    def issue_seconds(self) -> float:
        import time

        t = self.t
        x = t.zeros(1, device="cuda")
        best = float("inf")
        for _ in range(20):
            t.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(64):
                x.add_(1.0)
            best = min(best, (time.perf_counter() - t0) / 64)
        t.cuda.synchronize()
        return best

    def kernel_seconds(self) -> float:
        x = self.t.zeros(1, device="cuda")
        return self._events(lambda: x.add_(1.0), reps=1)

    def copy_seconds(self, nbytes: int, pinned: bool) -> float:
        import time

        t = self.t
        host = t.empty(nbytes, dtype=t.uint8)
        if pinned:
            host = host.pin_memory()
        dev = t.empty(nbytes, dtype=t.uint8, device="cuda")
        best = float("inf")
        for _ in range(5):
            t.cuda.synchronize()
            t0 = time.perf_counter()
            dev.copy_(host)
            t.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        return best

    def forward_seconds(self, runtime: str, depth: int) -> float:
        import time

        from .dispatch import build_mlp, runtime_callable

        t = self.t
        net = build_mlp(t, depth).to("cuda")
        fn, ctx = runtime_callable(t, runtime, net, t.randn(1, 12, device="cuda"))
        best = float("inf")
        with ctx:
            for _ in range(3):
                fn()
            for _ in range(10):
                t.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(32):
                    fn()
                t.cuda.synchronize()
                best = min(best, (time.perf_counter() - t0) / 32)
        return best
