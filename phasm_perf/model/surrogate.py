"""The cost of an MLP surrogate on a device (ARCHITECTURE.md, "The model"), as pure functions of numbers.

An MLP of widths ``d_0 (inputs), h_1 ... h_{L-1}, d_L (outputs)``, element size ``s``, batch ``B``, hidden
activation ``a`` (relu, silu, tanh, gelu), run by a runtime (eager ``nn.Module``, functional calls, an exported
program, ...). A forward is ``2L - 1`` kernels: L linear layers and L - 1 activations.

Each kernel's time comes from the device's measured tables when it has them (``hw measure``: ``F.linear`` over
batch x inputs x outputs, each activation over element counts), and otherwise from the hierarchical roofline::

    FLOPs_l = 2 B d_{l-1} d_l            bytes_l = s (d_{l-1} d_l + d_l + B d_{l-1} + w B d_l)
    FLOPs_a = c_a B h                    bytes_a = s (B h + w B h)
    t_k     = max(FLOPs_k / P_u, bytes_k / BW_u(bytes_k))

with ``w = 2`` on a CPU (an out-of-place write first reads the line it writes: write-allocate) and 1 on a GPU,
``c_a`` the activation's operations per element, and ``P_u``, ``BW_u`` the roofs of the ``u`` cores the kernel
runs on: PyTorch splits an operator over threads in grains of 32,768 output elements, so a small kernel runs on
one core and sees one core's peak and private caches (``u = min(threads, ceil(B d_out / 32768))``).

The runtime adds a fixed cost per forward and one per kernel (``t_dispatch + K t_launch``; with tables, what the
runtime adds beyond the operators' own time). On the host::

    t_batch(B) = sum_k t_k + t_dispatch + K t_launch

On an offload device the host issues kernels while earlier ones run: kernel k is issued at
``t_dispatch + k t_launch``, starts when it is issued and its predecessor has ended, and lasts at least the device's
shortest kernel; the inputs are copied in before (from pageable memory, as the runtime's tensors are) and the
outputs out after the last kernel (``.tolist()`` waits for it)::

    t_batch(B) = t_in + end_K + t_out,   t_in = t_lat + B d_0 s / BW_pageable,  t_out = t_lat + B d_L s / BW_pageable

Inside a program, between two forwards the program runs its own code, which evicts the framework and the weights
from the caches, and each call converts its arguments to a tensor and the result back (a host cost on every
device). Measured by ``hw measure``::

    t_prog(B) = t_cold + W t_cold,byte + t_marshal + (B - 1) [(d_0 + d_L - n_np) t_num + n_np t_num,np]

with W the weights' bytes, so ``t_s,prog(B) = (t_batch(B) + t_prog(B)) / B`` is what the end-to-end figures use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .laws import brent_bound, brent_floor
from .roofline import Bound, MemoryLevel, hierarchical_time, levels_for_cores
from .spec import DEFAULT_RUNTIME, DTYPE_BYTES, hidden_text
from .tables import Table1, Table3

#: operations per element of each activation, as PyTorch's formulas evaluate them, a transcendental (exp, tanh,
#: erf) counted as one operation as a GPU's special-function unit runs it: relu max(x, 0); silu x / (1 + exp(-x))
#: (negate, exp, add, divide, multiply); tanh; gelu 0.5 x (1 + erf(x / sqrt 2)) (multiply, erf, add, two
#: multiplies). Only the roofline uses them, where every activation is memory-bound (at most 5 operations per 2 to
#: 3 elements moved, far below any device's ridge point); a measured table replaces them.
ACTIVATION_FLOPS: dict[str, int] = {"relu": 1, "silu": 5, "tanh": 1, "gelu": 5}
#: PyTorch's intra-op grain (at::internal::GRAIN_SIZE): an operator is split over threads in chunks this large
GRAIN_ELEMENTS = 32768


@dataclass(frozen=True)
class MLP:
    """Layer widths ``(d_0, ..., d_L)``: inputs, hidden widths, outputs."""

    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or any(int(w) < 1 for w in self.widths):
            raise ValueError(f"an MLP needs at least inputs and outputs, all widths >= 1 (got {self.widths})")

    @classmethod
    def of(cls, inputs: int, hidden: Sequence[int], outputs: int) -> "MLP":
        return cls((int(inputs), *(int(h) for h in hidden), int(outputs)))

    @property
    def inputs(self) -> int:
        return self.widths[0]

    @property
    def outputs(self) -> int:
        return self.widths[-1]

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.widths[1:-1]

    @property
    def layers(self) -> list[tuple[int, int]]:
        """``[(d_{l-1}, d_l), ...]`` for l = 1..L."""
        return list(zip(self.widths[:-1], self.widths[1:]))

    @property
    def depth(self) -> int:
        """Kernels on the critical path: one per layer plus one per hidden activation."""
        return 2 * len(self.layers) - 1

    @property
    def parameters(self) -> int:
        return sum(a * b + b for a, b in self.layers)

    def spec(self) -> str:
        return hidden_text(self.hidden)


def layer_flops(batch: int, d_in: int, d_out: int) -> float:
    """``2 B d_in d_out``: one multiply and one add per weight per sample."""
    return 2.0 * batch * d_in * d_out


def layer_bytes(batch: int, d_in: int, d_out: int, elem: int, write_allocate: bool = False) -> float:
    """``s (d_in d_out + d_out + B d_in + w B d_out)``: weights, bias and input read once, the output written
    once (``w = 2`` with ``write_allocate``: the line is read before it is written, as on a CPU)."""
    w = 2 if write_allocate else 1
    return float(elem) * (d_in * d_out + d_out + batch * d_in + w * batch * d_out)


def activation_flops(batch: int, width: int, kind: str = "relu") -> float:
    """``c_a B h``: :data:`ACTIVATION_FLOPS` operations per element."""
    return float(ACTIVATION_FLOPS[kind] * batch * width)


def activation_bytes(batch: int, width: int, elem: int, write_allocate: bool = False) -> float:
    """``s (B h + w B h)``: the input read, a new output written (out of place; ``w = 2`` with write-allocate)."""
    return float(elem) * batch * width * (3 if write_allocate else 2)


def threads_used(out_elements: float, threads: int) -> int:
    """Threads PyTorch gives an operator with ``out_elements`` outputs: one per 32,768 (its grain), at most
    ``threads``."""
    return max(1, min(int(threads), math.ceil(out_elements / GRAIN_ELEMENTS)))


def program_batch_seconds(batch_seconds: float, t_in_program: float, batch: int = 1, t_row: float = 0.0) -> float:
    """A forward of ``batch`` rows inside a program: its tight-loop time ``t_batch(B)`` plus
    ``t_prog(B) = t_in_program + (B - 1) t_row`` (``t_in_program``: the cold-cache extra and one call's way into a
    tensor and back, once per forward; ``t_row``: each further row's)."""
    return batch_seconds + t_in_program + max(0, batch - 1) * t_row


def link_time(batch: int, inputs: int, outputs: int, elem: int, bandwidth: float, latency: float) -> float:
    """``2 t_latency + B (d_0 + d_L) s / BW_link``: inputs to the device and outputs back."""
    return 2.0 * latency + batch * (inputs + outputs) * elem / bandwidth


@dataclass(frozen=True)
class Device:
    """What the model needs of one device for one dtype and one runtime (roofs already scaled by the achievable
    fractions).

    ``levels`` fastest first; ``link_bandwidth`` is None for the host itself (no offload, no link term).
    ``nominal_peak`` is the datasheet peak that utilisation is measured against. ``t_dispatch`` and ``t_launch``
    are the runtime's cost per forward and per kernel (beyond the kernels' table times when there are tables).
    ``cores``: what ``peak`` and the private levels are summed over; ``threads``: how many the runtime may use
    (None: all). ``flags``: figures of the profile marked unreliable when measured, each with its reason;
    ``notes``: what was estimated for this prediction (a runtime the profile has no figures for).
    """

    name: str
    dtype: str
    peak: float
    levels: tuple[MemoryLevel, ...]
    t_launch: float
    t_dispatch: float
    nominal_peak: float
    link_bandwidth: float | None = None
    link_latency: float = 0.0
    #: extra seconds per forward inside a program (cold caches + one call's marshalling); 0 when not measured
    t_in_program: float = 0.0
    #: marshalling of each number (input or output) of each further row of a batched forward inside a program
    t_marshal_number: float = 0.0
    #: the same for a number that is a numpy scalar (numpy.float64 and the like)
    t_marshal_numpy_number: float = 0.0
    #: the cold-cache cost per byte of weights (the weights come back from a farther level after the program ran)
    t_cold_per_byte: float = 0.0
    #: host <-> device bandwidth from pageable memory (what a runtime's plain tensors use); None: link_bandwidth
    link_pageable_bandwidth: float | None = None
    #: the shortest kernel an offload device runs (its own start-up), seconds
    kernel_min: float = 0.0
    write_allocate: bool = False
    cores: int = 1
    threads: int | None = None
    runtime: str = DEFAULT_RUNTIME
    linear_table: Table3 | None = None
    activation_tables: Mapping[str, Table1] | None = None
    #: seconds per byte of an intermediate tensor of at least ``fresh_from_bytes``: memory fresh from the OS
    fresh_page_seconds: float = 0.0
    fresh_from_bytes: float = 0.0
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def t_marshal_row(self, numbers: int, numpy_scalars: int = 0) -> float:
        """``(d_0 + d_L - n_np) t_num + n_np t_num,np``: marshalling one further row of ``numbers`` inputs and
        outputs, ``numpy_scalars`` of them numpy scalars."""
        numpy_scalars = min(max(0, numpy_scalars), numbers)
        return (numbers - numpy_scalars) * self.t_marshal_number + numpy_scalars * self.t_marshal_numpy_number

    def t_prog_fixed(self, weight_bytes: float) -> float:
        """``t_cold + W t_cold,byte + t_marshal``: the in-program cost of one forward before its rows."""
        return self.t_in_program + weight_bytes * self.t_cold_per_byte

    @property
    def offload(self) -> bool:
        return self.link_bandwidth is not None

    @property
    def pageable_bandwidth(self) -> float | None:
        return self.link_pageable_bandwidth or self.link_bandwidth


@dataclass(frozen=True)
class Kernel:
    name: str
    flops: float
    bytes: float
    seconds: float
    bound: Bound
    level: str
    threads: int = 1
    source: str = "roofline"
    #: of ``seconds``, the fixed cost of an operator call (a table's time at its smallest node): latency, not work
    fixed: float = 0.0


@dataclass(frozen=True)
class BatchPrediction:
    """The model's answer for one batch size."""

    batch: int
    seconds_per_batch: float
    seconds_per_call: float
    bound: Bound
    utilisation: float = field(metadata={"doc": "achieved FLOP/s / nominal peak"})
    flops: float
    bytes: float
    compute_seconds: float
    memory_seconds: float
    link_seconds: float
    latency_seconds: float
    brent_floor_seconds: float
    kernels: tuple[Kernel, ...] = ()
    in_program_seconds: float = field(default=0.0, metadata={"doc": "t_prog(B): extra per forward in a program"})
    brent_bound_seconds: float = 0.0
    runtime: str = DEFAULT_RUNTIME

    @property
    def program_seconds_per_batch(self) -> float:
        """One forward of ``batch`` calls inside a program: ``t_batch(B) + t_prog(B)``."""
        return self.seconds_per_batch + self.in_program_seconds

    @property
    def program_seconds_per_call(self) -> float:
        """``t_s,prog(B) = (t_batch(B) + t_prog) / B``: the cost per call the program sees."""
        return self.program_seconds_per_batch / self.batch

    @property
    def flops_per_second(self) -> float:
        return self.flops / self.seconds_per_batch if self.seconds_per_batch > 0 else 0.0

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes > 0 else math.inf


def _roofline_kernel(name: str, flops: float, bytes_: float, out_elements: float, device: Device) -> Kernel:
    """One kernel on the roofline of the cores it runs on (all of an offload device's)."""
    if device.offload or device.cores <= 1:
        used, peak, levels = device.cores, device.peak, device.levels
    else:
        used = threads_used(out_elements, device.threads or device.cores)
        peak = device.peak * used / device.cores
        levels = levels_for_cores(device.levels, used, device.cores)
    t, bound, lvl = hierarchical_time(flops, bytes_, peak, levels)
    if device.offload:
        t = max(t, device.kernel_min)
    return Kernel(name, flops, bytes_, t, bound, lvl.name, used)


def _with_table(k: Kernel, seconds: float, fixed: float) -> Kernel:
    """A kernel timed by a table: of its time, the table's smallest node (an operator's fixed cost) is latency."""
    return Kernel(k.name, k.flops, k.bytes, seconds, k.bound, k.level, k.threads, "table", min(seconds, fixed))


def kernels(mlp: MLP, batch: int, device: Device, activation: str = "relu") -> list[Kernel]:
    """The kernels of one forward pass, each with its time (a measured table's, else the roofline's), without the
    runtime's per-kernel cost."""
    s = DTYPE_BYTES[device.dtype]
    wa = device.write_allocate
    act_table = (device.activation_tables or {}).get(activation)
    out: list[Kernel] = []
    last = len(mlp.layers) - 1
    for i, (a, b) in enumerate(mlp.layers):
        k = _roofline_kernel(f"linear{i + 1}", layer_flops(batch, a, b), layer_bytes(batch, a, b, s, wa),
                             batch * b, device)
        lt = device.linear_table
        out.append(_with_table(k, lt(batch, a, b), lt.seconds[0]) if lt else k)
        if i < last:
            k = _roofline_kernel(f"{activation}{i + 1}", activation_flops(batch, b, activation),
                                 activation_bytes(batch, b, s, wa), batch * b, device)
            out.append(_with_table(k, act_table(batch * b), act_table.seconds[0]) if act_table else k)
    return out


def intermediate_seconds(mlp: MLP, batch: int, device: Device) -> float:
    """``t_fresh sum_k S_k`` over the forward's tensors of at least ``fresh_from_bytes`` (each hidden layer's
    output and its activation, and the result; ``S_k = s B d_k`` bytes): memory the allocator maps from the OS at
    every forward, its pages faulted and zeroed. 0 on a device without the figure."""
    if not device.fresh_page_seconds:
        return 0.0
    s = DTYPE_BYTES[device.dtype]
    sizes = [s * batch * b for _, b in mlp.layers[:-1] for _ in (0, 1)] + [s * batch * mlp.outputs]
    return device.fresh_page_seconds * sum(n for n in sizes if n >= device.fresh_from_bytes)


def offload_timeline(ks: Sequence[Kernel], device: Device) -> float:
    """When the last kernel ends, from the start of the forward on the host: kernel k is issued at
    ``t_dispatch + k t_launch`` and starts once issued and once kernel k - 1 has ended."""
    issued = device.t_dispatch
    end = 0.0
    for k in ks:
        issued += device.t_launch
        end = max(issued, end) + k.seconds
    return max(end, issued)


def predict_batch(mlp: MLP, batch: int, device: Device, numpy_scalars: int = 0,
                  activation: str = "relu") -> BatchPrediction:
    """Time of one batch of ``batch`` calls, and the term that dominates it (the bound). ``numpy_scalars``: how
    many of a row's inputs and outputs the program passes as numpy scalars (only the in-program term uses it)."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    ks = kernels(mlp, batch, device, activation)
    s = DTYPE_BYTES[device.dtype]
    compute = sum(k.seconds - k.fixed for k in ks if k.bound == "compute")
    memory = sum(k.seconds - k.fixed for k in ks if k.bound == "memory") + intermediate_seconds(mlp, batch, device)
    latency = len(ks) * device.t_launch + device.t_dispatch + sum(k.fixed for k in ks)
    if device.offload:
        bw = device.pageable_bandwidth or 1.0
        link = link_time(batch, mlp.inputs, mlp.outputs, s, bw, device.link_latency)
        total = link + offload_timeline(ks, device)
    else:
        link = 0.0
        total = compute + memory + latency
    terms: dict[Bound, float] = {"compute": compute, "memory": memory, "link": link, "latency": latency}
    bound = max(terms, key=lambda k: terms[k])
    flops = sum(k.flops for k in ks)
    weights = float(mlp.parameters * s)
    return BatchPrediction(
        batch=batch,
        seconds_per_batch=total,
        seconds_per_call=total / batch,
        bound=bound,
        utilisation=(flops / total) / device.nominal_peak if total > 0 else 0.0,
        flops=flops,
        bytes=sum(k.bytes for k in ks),
        compute_seconds=compute,
        memory_seconds=memory,
        link_seconds=link,
        latency_seconds=latency,
        brent_floor_seconds=brent_floor(flops, device.peak, len(ks), device.t_launch),
        brent_bound_seconds=brent_bound(flops, device.peak, len(ks), device.t_launch),
        kernels=tuple(ks),
        in_program_seconds=program_batch_seconds(0.0, device.t_prog_fixed(weights), batch,
                                                 device.t_marshal_row(mlp.inputs + mlp.outputs, numpy_scalars)),
        runtime=device.runtime,
    )


def sweep(mlp: MLP, batches: Iterable[int], device: Device, numpy_scalars: int = 0,
          activation: str = "relu") -> list[BatchPrediction]:
    return [predict_batch(mlp, int(b), device, numpy_scalars, activation) for b in batches]


def per_call(p: BatchPrediction, in_program: bool = False) -> float:
    """``t_s(B)`` (tight loop) or, with ``in_program``, ``t_s,prog(B)`` (inside a program)."""
    return p.program_seconds_per_call if in_program else p.seconds_per_call


def break_even_batch(t_f: float, predictions: Sequence[BatchPrediction], in_program: bool = False) -> int | None:
    """The smallest batch with ``t_s(B) <= t_f``; ``None`` means never (within the batches given)."""
    for p in sorted(predictions, key=lambda p: p.batch):
        if per_call(p, in_program) <= t_f:
            return p.batch
    return None


def best_batch(predictions: Sequence[BatchPrediction], in_program: bool = False) -> BatchPrediction:
    """The batch with the lowest time per call (the smallest such batch on a tie)."""
    if not predictions:
        raise ValueError("no batch to choose from")
    return min(predictions, key=lambda p: (per_call(p, in_program), p.batch))
