"""Time a surrogate's forward pass over batch sizes on one device: warm-up, synchronise, median of repeats.

What is timed is the module the program runs (the saved surrogate, by the chosen runtime), on an input tensor
of its dtype already on the device: exactly the forward the program calls. Each repeat runs the forward
``inner`` times (chosen so that a repeat lasts at least ``min_repeat_seconds``, well above the clock's
resolution) and the result is the median over repeats of the time per forward. On a CUDA device the clock is read
after ``torch.cuda.synchronize``, so the time covers the kernels and not only their launch. On the CPU with several
threads (the wall clock), a repeat in which the calling thread did not run all along (its CPU time below 85% of the
wall time: another process had its core) is dropped, as ``hw measure`` drops it, so that measured and predicted
are the same statistic.

With a speed ``probe`` (:class:`phasm_perf.hardware.measure.timing.SpeedProbe`), the probe's reference forward is
timed just before every group, in the same round-robin, and each group is also expressed in reference forwards
(its time over the probe's just before it): ``BatchTiming.relative``, the median of those, is the forward's time
with the core's speed of each moment taken out (``hw measure`` records the same probe: bench multiplies by the
profile's reference time to compare at the profile's speed). A core whose speed switches within a second (some VMs)
makes the median of raw times depend on how the run fell between the speeds; the ratio to the probe just before
does not.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from ..core.errors import PhasmError
from ..model.spec import TORCH_DTYPES

#: a repeat in which the calling thread's CPU time is below this share of the wall time was interrupted (as in hw
#: measure)
MIN_SHARE = 0.85


@dataclass
class BatchTiming:
    batch: int
    seconds: float  # median time of one forward of ``batch`` rows
    p25: float
    p75: float
    repeats: int
    inner: int
    wall_seconds: float | None = None  # the wall-clock median, when ``seconds`` was taken on another clock
    relative: float | None = None  # with a speed probe: the median of (group time / the probe's just before)

    @property
    def seconds_per_call(self) -> float:
        return self.seconds / self.batch


@dataclass
class DeviceInfo:
    device: str
    name: str
    threads: int | None
    cuda: str  # "available (NAME)" or "unavailable (reason)"


def resolve_device(requested: str = "auto", threads: int | None = None) -> DeviceInfo:
    """``auto`` picks CUDA when torch sees a GPU; asking for ``cuda`` without one is a one-line error."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    if torch.cuda.is_available():
        cuda = f"available ({torch.cuda.get_device_name(0)})"
    else:
        reason = "torch was built without CUDA" if not torch.backends.cuda.is_built() else \
            "no CUDA device visible to torch"
        cuda = f"unavailable ({reason})"
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise PhasmError(f"--device {requested}: CUDA is {cuda}; use --device cpu")
        return DeviceInfo(requested, torch.cuda.get_device_name(torch.device(requested)), None, cuda)
    if requested != "cpu":
        raise PhasmError(f"--device {requested!r}: choose auto, cpu or cuda[:N]")
    import platform

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            name = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), name)
    except OSError:
        pass
    return DeviceInfo("cpu", name, torch.get_num_threads(), cuda)


def _sync(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        import torch

        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def default_clock(device: str) -> tuple[Callable[[], float], str]:
    """The clock for timed groups: on the CPU with one torch thread, this thread's CPU time (the forward runs in
    it, so on a machine shared with other work the time the OS gave to other processes is not counted; alone, it
    equals the wall time); otherwise the wall clock (several threads, or a GPU after synchronisation)."""
    import torch

    if device == "cpu" and torch.get_num_threads() == 1:
        return time.thread_time, "thread CPU time"
    return time.perf_counter, "wall clock"


def time_forward(module, n_in: int, batches: Iterable[int], device: str = "cpu", *, repeats: int = 25,
                 warmup: int = 10, min_repeat_seconds: float = 2e-3, x_mean=None, x_std=None, dtype: str = "fp32",
                 clock: Callable[[], float] | None = None, probe=None) -> list[BatchTiming]:
    """Median time of one forward of ``module`` at every batch size (inputs drawn around the training data), by
    ``clock`` (default :func:`default_clock`); ``BatchTiming.wall_seconds`` is the wall-clock median alongside.
    ``probe``: a speed probe sampled before every timed group (its samples accumulate in it)."""
    import torch

    if clock is None:
        clock = default_clock(device)[0]

    gc_was_on = gc.isenabled()
    gc.collect()
    gc.disable()  # as timeit does: a collection inside a timed group is not the surrogate's cost
    try:
        return _time_forward(torch, module, n_in, [int(b) for b in batches], device, repeats, warmup,
                             min_repeat_seconds, x_mean, x_std, dtype, clock, probe)
    finally:
        if gc_was_on:
            gc.enable()


def _time_forward(torch, module, n_in, batches, device, repeats, warmup, min_repeat_seconds, x_mean, x_std, dtype,
                  clock, probe=None) -> list[BatchTiming]:
    sync = _sync(device)
    gen = torch.Generator().manual_seed(0)
    inputs, inner = {}, {}
    with torch.no_grad():  # as in the program (grad off, weights without gradients)
        for b in batches:
            x = torch.randn(b, n_in, generator=gen)
            if x_mean is not None:
                x = x * torch.as_tensor(x_std, dtype=torch.float32) + torch.as_tensor(x_mean, dtype=torch.float32)
            x = x.to(device=device, dtype=getattr(torch, TORCH_DTYPES[dtype]))
            inputs[b] = x
            for _ in range(max(1, warmup)):  # the first calls of a shape compile and specialise the graph
                module(x)
            sync()
            t = clock()
            for _ in range(3):
                module(x)
            sync()
            per = max((clock() - t) / 3, 1e-6)
            inner[b] = max(1, min(10_000, int(min_repeat_seconds / per)))
        samples: dict[int, list[float]] = {b: [] for b in batches}
        walls: dict[int, list[float]] = {b: [] for b in batches}
        dropped: dict[int, list[float]] = {b: [] for b in batches}
        rel: dict[int, list[float]] = {b: [] for b in batches}
        wall, cpu = time.perf_counter, time.thread_time
        threads = torch.get_num_threads() if device == "cpu" else 1
        for _ in range(repeats):  # round-robin over the batch sizes: a burst of load hits them all alike
            for b in batches:
                x, k = inputs[b], inner[b]
                ps = probe.sample() if probe is not None else None
                sync()
                w, t, c = wall(), clock(), cpu()
                for _ in range(k):
                    module(x)
                sync()
                dt, dw = (clock() - t) / k, wall() - w
                if threads > 1 and dw > 0 and (cpu() - c) / dw < MIN_SHARE:
                    dropped[b].append(dt)  # interrupted: the calling thread waited for a core
                    continue
                samples[b].append(dt)
                walls[b].append(dw / k)
                if ps:
                    rel[b].append(dt / ps)
    out = []
    for b in batches:
        if not samples[b]:  # every repeat interrupted: keep them (the machine was never free)
            samples[b], walls[b] = dropped[b], dropped[b]
        s = samples[b]
        q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0]] * 3
        out.append(BatchTiming(b, statistics.median(s), q[0], q[2], repeats, inner[b], statistics.median(walls[b]),
                               statistics.median(rel[b]) if rel[b] else None))
    return out
