"""The cost of an MLP surrogate on a device (ARCHITECTURE.md, "The model"), as pure functions of numbers.

An MLP of widths ``d_0 (inputs), h_1 ... h_{L-1}, d_L (outputs)``, element size ``s``, batch ``B``. Per layer::

    FLOPs_l = 2 B d_{l-1} d_l
    bytes_l = s (d_{l-1} d_l + d_l + B d_{l-1} + B d_l)
    t_l     = max(FLOPs_l / P, bytes_l / BW) + t_launch        (BW: the level that holds bytes_l)

and each hidden layer's activation is a kernel too (``B h_l`` FLOPs, ``2 s B h_l`` bytes). An offload device adds
``t_link = 2 t_link_latency + B (d_0 + d_L) s / BW_link``; the framework adds ``t_dispatch`` once per call, so
the time per call is ``t_s(B) = (sum_l t_l + t_link + t_dispatch) / B``.

That is a forward timed in a tight loop (the per-batch tables). Inside a program, between two forwards the program
runs its own code over its own data, which evicts the framework's dispatch path from the caches, and each call
converts its arguments to a tensor and the result back to Python numbers. Measured by ``hw measure``:
``t_prog(B) = t_cold + t_marshal + (B - 1) (d_0 + d_L) t_num`` (the cold-cache extra and one call's
marshalling once per forward, and each further row's numbers), so a forward of B calls inside a program costs ``t_batch(B) + t_prog(B)``
and ``t_s,prog(B) = (t_batch(B) + t_prog(B)) / B`` is what the end-to-end figures use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .laws import brent_floor
from .roofline import Bound, MemoryLevel, hierarchical_time
from .spec import DTYPE_BYTES, hidden_text



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


def layer_bytes(batch: int, d_in: int, d_out: int, elem: int) -> float:
    """``s (d_in d_out + d_out + B d_in + B d_out)``: weights, bias, input and output read or written once."""
    return float(elem) * (d_in * d_out + d_out + batch * d_in + batch * d_out)


def activation_flops(batch: int, width: int) -> float:
    return float(batch * width)


def activation_bytes(batch: int, width: int, elem: int) -> float:
    return 2.0 * elem * batch * width


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
    """The roofs the model needs for one dtype on one device (already scaled by the achievable fractions).

    ``levels`` fastest first; ``link_bandwidth`` is None for the host itself (no offload, no link term).
    ``nominal_peak`` is the datasheet peak that utilisation is measured against.
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

    def t_marshal_row(self, numbers: int, numpy_scalars: int = 0) -> float:
        """``(d_0 + d_L - n_np) t_num + n_np t_num,np``: marshalling one further row of ``numbers`` inputs and
        outputs, ``numpy_scalars`` of them numpy scalars."""
        numpy_scalars = min(max(0, numpy_scalars), numbers)
        return (numbers - numpy_scalars) * self.t_marshal_number + numpy_scalars * self.t_marshal_numpy_number

    @property
    def offload(self) -> bool:
        return self.link_bandwidth is not None


@dataclass(frozen=True)
class Kernel:
    name: str
    flops: float
    bytes: float
    seconds: float
    bound: Bound
    level: str


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


def kernels(mlp: MLP, batch: int, device: Device) -> list[Kernel]:
    """The kernels of one forward pass, each with its roofline time (without launch latency)."""
    s = DTYPE_BYTES[device.dtype]
    out: list[Kernel] = []
    last = len(mlp.layers) - 1
    for i, (a, b) in enumerate(mlp.layers):
        f, by = layer_flops(batch, a, b), layer_bytes(batch, a, b, s)
        t, bound, lvl = hierarchical_time(f, by, device.peak, device.levels)
        out.append(Kernel(f"linear{i + 1}", f, by, t, bound, lvl.name))
        if i < last:
            f, by = activation_flops(batch, b), activation_bytes(batch, b, s)
            t, bound, lvl = hierarchical_time(f, by, device.peak, device.levels)
            out.append(Kernel(f"act{i + 1}", f, by, t, bound, lvl.name))
    return out


def predict_batch(mlp: MLP, batch: int, device: Device, numpy_scalars: int = 0) -> BatchPrediction:
    """Time of one batch of ``batch`` calls, and the term that dominates it (the bound). ``numpy_scalars``: how
    many of a row's inputs and outputs the program passes as numpy scalars (only the in-program term uses it)."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    ks = kernels(mlp, batch, device)
    s = DTYPE_BYTES[device.dtype]
    compute = sum(k.seconds for k in ks if k.bound == "compute")
    memory = sum(k.seconds for k in ks if k.bound == "memory")
    latency = len(ks) * device.t_launch + device.t_dispatch
    link = (link_time(batch, mlp.inputs, mlp.outputs, s, device.link_bandwidth, device.link_latency)
            if device.link_bandwidth else 0.0)
    total = compute + memory + latency + link
    terms: dict[Bound, float] = {"compute": compute, "memory": memory, "link": link, "latency": latency}
    bound = max(terms, key=lambda k: terms[k])
    flops = sum(k.flops for k in ks)
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
        kernels=tuple(ks),
        in_program_seconds=program_batch_seconds(0.0, device.t_in_program, batch,
                                                 device.t_marshal_row(mlp.inputs + mlp.outputs, numpy_scalars)),
    )


def sweep(mlp: MLP, batches: Iterable[int], device: Device, numpy_scalars: int = 0) -> list[BatchPrediction]:
    return [predict_batch(mlp, int(b), device, numpy_scalars) for b in batches]


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
