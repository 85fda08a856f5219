"""Peak FLOP/s per dtype: the best of repeated square matrix products (PyTorch, and numpy for the record),
FLOP/s = 2 n^3 / t; the peak is the best over a few sizes (a BLAS reaches its peak at a size that suits its
blocking, and that size differs per dtype and per library)."""

from __future__ import annotations

from .options import MeasureOptions, Progress
from .timing import best_time

TORCH_DTYPES = ("fp64", "fp32", "bf16", "fp16")


def gemm_flops_torch(dtype: str, n: int, opts: MeasureOptions, device: str = "cpu", torch=None) -> float:
    if torch is None:
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


def gemm_peaks(opts: MeasureOptions, say: Progress) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
    """``(peaks, best size per dtype, numpy peaks)``."""
    sizes = [256, 512] if opts.quick else [512, 1024]
    peaks: dict[str, float] = {}
    peak_n: dict[str, int] = {}
    for i, dt in enumerate(TORCH_DTYPES):
        ns = [256] if dt == "fp16" else sizes  # fp16 has no fast path on most CPUs: one small matrix
        say(f"GEMM {dt} (n={'/'.join(map(str, ns))})", i / 6)
        for n in ns:
            f = gemm_flops_torch(dt, n, opts)
            if f > peaks.get(dt, 0.0):
                peaks[dt], peak_n[dt] = f, n
    numpy_peaks = {dt: gemm_flops_numpy(dt, sizes[-1], opts) for dt in ("fp64", "fp32")}
    return peaks, peak_n, numpy_peaks
