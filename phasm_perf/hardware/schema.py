"""The hardware profile's schema (pydantic): one YAML file per device, every figure with its source, validated on
load (:mod:`.profile` finds, reads and writes the files).

Format (``schema_version`` 2, which reads version 1 files too; sizes in bytes, bandwidths in bytes/s, times in
seconds, peaks in FLOP/s, dense)::

    schema_version: 2
    name: a100-40gb-sxm
    kind: gpu                       # gpu (an offload device) or cpu (the host itself)
    description: NVIDIA A100 40GB SXM4
    peak_flops:                     # one entry per dtype; value null when the device has no such path
      fp32: {value: 19.5e12, source: "NVIDIA A100 datasheet, https://..."}
    memory:                         # fastest first (a kernel is served by the first that holds it); size null on the last level means 'all of it'
      - {name: L1, size: 20.7e6, bandwidth: 19.5e12, persistent: false, source: "..."}   # reset at each kernel
      - {name: L2, size: 40.0e6, bandwidth: 5.0e12, source: "..."}
      - {name: HBM2, size: 40.0e9, bandwidth: 1.555e12, source: "..."}
    link: {name: PCIe 4.0 x16, bandwidth: 25.0e9, pageable_bandwidth: 12.0e9, latency: 10.0e-6, source: "..."}   # null on a cpu
    launch_latency: {value: 5.0e-6, source: "..."}     # the eager runtime's cost per kernel
    dispatch: {value: 20.0e-6, source: "..."}          # and per forward
    kernel_min: {value: 2.0e-6, source: "..."}         # optional, gpu: the shortest kernel
    achievable: {compute: 0.8, memory: 0.85, source: "..."}
    in_program: {cold_cache: 6.0e-6, cold_cache_per_byte: 1.9e-11, marshal: 3.0e-6, marshal_per_number: 0.05e-6, source: "..."}
    runtimes:                        # optional: each runtime's cost per forward and per kernel
      functional: {forward: 0.5e-6, per_kernel: 0.4e-6, source: "..."}
    tables: {...}                    # optional, measured: F.linear and activation times (hw measure)
    quality: {flags: [{figure: linear.fp32, reason: "..."}], ...}   # optional, written by hw measure
    speed_probe: {seconds: 2.4e-5, p10: 2.2e-5, p90: 3.3e-5, samples: 900, forward: "..."}  # optional, hw measure
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..core.errors import PhasmError
from ..model.roofline import MemoryLevel
from ..model.spec import DEFAULT_RUNTIME, DTYPES, RUNTIMES, parse_runtime
from ..model.surrogate import Device
from .sections import Quality, RuntimeCost, Tables, _Strict

SCHEMA_VERSION = 2


class Figure(_Strict):
    value: float | None = Field(description="null: the device has no such path (e.g. tf32 on a CPU)")
    source: str = Field(min_length=3, description="datasheet/whitepaper URL, citation, or how it was measured")

    @field_validator("value")
    @classmethod
    def _positive(cls, v: float | None) -> float | None:
        if v is not None and not v > 0:
            raise ValueError("must be > 0 (or null when the device lacks it)")
        return v


class Level(_Strict):
    name: str
    size: float | None = Field(description="capacity in bytes; null on the last level")
    bandwidth: float = Field(gt=0, description="bytes/s")
    persistent: bool = Field(True, description="keeps data from one kernel to the next (false: a GPU's L1)")
    private: bool = Field(False, description="one per core, listed summed over the profile's cores (a CPU's "
                                             "L1 and L2): a kernel on fewer cores sees less of it")
    source: str = Field(min_length=3)


class Link(_Strict):
    name: str
    bandwidth: float = Field(gt=0, description="host <-> device bytes/s, one direction, from pinned memory")
    pageable_bandwidth: float | None = Field(None, gt=0, description=(
        "the same from pageable memory (what a runtime's plain tensors and .tolist() use); null: bandwidth"))
    latency: float = Field(ge=0, description="seconds per transfer")
    source: str = Field(min_length=3)


class Achievable(_Strict):
    compute: float = Field(gt=0, le=1, description="fraction of peak FLOP/s a large GEMM reaches")
    memory: float = Field(gt=0, le=1, description="fraction of peak bandwidth a streaming kernel reaches")
    source: str = Field(min_length=3)


class InProgram(_Strict):
    """What a forward costs inside a program beyond the same forward in a tight loop (once per forward)."""

    cold_cache: float = Field(ge=0, description="seconds: a forward after the caches were swept by other work, "
                                                "minus the same forward in a tight loop")
    marshal: float = Field(ge=0, description="seconds: one call's arguments (Python numbers) into a tensor and its "
                                             "result back to Python numbers")
    marshal_per_number: float = Field(0.0, ge=0, description="seconds per number (input or output) of each further "
                                                             "row of a batched forward")
    marshal_per_numpy_number: float | None = Field(None, ge=0, description=(
        "seconds per number of each further row when the number is a numpy scalar (numpy.float64 and the like, "
        "in the arguments or as the result): numpy's generic scalar path; None: as marshal_per_number"))
    cold_cache_per_byte: float = Field(0.0, ge=0, description="seconds per byte of the surrogate's weights added "
                                                              "to cold_cache (they come back from a farther level)")
    source: str = Field(min_length=3)

    @property
    def seconds(self) -> float:
        """The fixed part, per forward: ``cold_cache + marshal``."""
        return self.cold_cache + self.marshal


class NativeRuntime(_Strict):
    """A surrogate run natively inside a compiled program (bench for C/C++): measured by ``hw measure``."""

    runtime: str = Field("mlp-cpp", description="the runtime: mlp-cpp (phasm-perf's C++ MLP forward)")
    dispatch: float = Field(ge=0, description="seconds: the fixed part of one forward (a fit over MLP shapes)")
    flops: float = Field(gt=0, description="FLOP/s the runtime reaches on an MLP forward of one row (the fit's "
                                           "slope)")
    call: float = Field(ge=0, description="seconds per call: the program's call through the interception to the "
                                          "replacement and back (a pass-through replacement, measured)")
    marshal_per_number: float = Field(ge=0, description="seconds per number read from or written to the "
                                                        "program's memory by the replacement")
    source: str = Field(min_length=3)


class SpeedFigure(_Strict):
    """How fast the core ran while the profile's figures were measured: a fixed reference forward timed between
    their groups (``hw measure``); bench times the same forward beside its own and scales by the ratio."""

    seconds: float = Field(gt=0, description="median time of one reference forward over the probe's groups")
    p10: float = Field(gt=0, description=(
        "10th percentile: the core's fast speed, the reference bench compares at (the profile's figures are "
        "quiet-moment figures: tables keep the faster of two passes that differ by a burst, steps the quietest "
        "attempt)"))
    p90: float = Field(gt=0, description="90th percentile")
    samples: int = Field(ge=1)
    forward: str = Field(description="the reference forward (phasm_perf.hardware.measure.probe)")


class HardwareProfile(_Strict):
    schema_version: int = SCHEMA_VERSION
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    kind: Literal["gpu", "cpu"]
    description: str
    cores: int | None = Field(None, description="CPU cores or GPU streaming multiprocessors / compute units")
    clock_hz: float | None = None
    peak_flops: dict[str, Figure]
    memory: list[Level] = Field(min_length=1)
    link: Link | None = None
    launch_latency: Figure
    dispatch: Figure
    kernel_min: Figure | None = Field(None, description="gpu: the shortest a kernel runs on the device")
    achievable: Achievable
    in_program: InProgram | None = Field(None, description="per-forward cost inside a program (measured by "
                                                           "`hw measure`); unset: 0, the tight-loop cost")
    runtimes: dict[str, RuntimeCost] = Field({}, description="each runtime's cost per forward and per kernel; "
                                                            "eager's is dispatch and launch_latency")
    tables: Tables | None = None
    quality: Quality | None = None
    native: NativeRuntime | None = Field(None, description="the native surrogate runtime in a compiled program "
                                                           "(measured by `hw measure` where Frida and g++ are)")
    speed_probe: SpeedFigure | None = Field(None, description="the core's speed while the figures were measured "
                                                             "(`hw measure`; bench compares its moment with it)")
    measured: dict | None = Field(None, description="raw measurements, for a profile written by `hw measure`")
    notes: list[str] = []

    @field_validator("runtimes")
    @classmethod
    def _runtimes(cls, v: dict[str, RuntimeCost]) -> dict[str, RuntimeCost]:
        unknown = sorted(set(v) - set(RUNTIMES))
        if unknown:
            raise ValueError(f"unknown runtime(s) {unknown}; known: {list(RUNTIMES)}")
        return v

    @field_validator("peak_flops")
    @classmethod
    def _dtypes(cls, v: dict[str, Figure]) -> dict[str, Figure]:
        unknown = sorted(set(v) - set(DTYPES))
        if unknown:
            raise ValueError(f"unknown dtype(s) {unknown}; known: {list(DTYPES)}")
        if not any(f.value for f in v.values()):
            raise ValueError("at least one dtype needs a peak")
        return v

    @model_validator(mode="after")
    def _hierarchy(self) -> "HardwareProfile":
        if any(lvl.size is None for lvl in self.memory[:-1]):
            raise ValueError("every memory level but the last needs a size")
        bws = [lvl.bandwidth for lvl in self.memory]
        if bws != sorted(bws, reverse=True):
            raise ValueError("memory levels must be listed fastest first (bandwidth never rising)")
        kept = [lvl.size for lvl in self.memory if lvl.persistent and lvl.size is not None]
        if kept != sorted(kept):
            raise ValueError("the levels that keep data between kernels must grow in size (an L1 summed over all "
                             "cores can be larger than L2: mark it persistent: false, or list it per core)")
        if not self.memory[-1].persistent:
            raise ValueError("the last memory level must keep data (persistent)")
        if self.kind == "gpu" and self.link is None:
            raise ValueError("a gpu profile needs its host link")
        return self

    def dtypes(self) -> list[str]:
        return [d for d in DTYPES if d in self.peak_flops and self.peak_flops[d].value]

    def device(self, dtype: str = "fp32", runtime: str = DEFAULT_RUNTIME) -> Device:
        """The model's view of this device for ``dtype`` and ``runtime`` (roofs scaled by the achievable
        fractions; the runtime's costs, and the measured tables of the dtype when there are some)."""
        fig = self.peak_flops.get(dtype)
        if dtype not in DTYPES:
            raise PhasmError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        if fig is None or not fig.value:
            raise PhasmError(f"{self.name} has no {dtype} peak in its profile; "
                             f"choose one of {', '.join(self.dtypes())}")
        try:
            runtime = parse_runtime(runtime)
        except ValueError as exc:
            raise PhasmError(str(exc)) from None
        a = self.achievable
        levels = tuple(MemoryLevel(lvl.name, float("inf") if lvl.size is None else lvl.size,
                                   lvl.bandwidth * a.memory, lvl.persistent, lvl.private) for lvl in self.memory)
        forward, per_kernel, notes = self.runtime_cost(runtime)
        ip = self.in_program
        tables = self.tables
        return Device(name=self.name, dtype=dtype, peak=fig.value * a.compute, levels=levels,
                      t_launch=per_kernel, t_dispatch=forward, nominal_peak=fig.value,
                      link_bandwidth=self.link.bandwidth if self.link else None,
                      link_latency=self.link.latency if self.link else 0.0,
                      link_pageable_bandwidth=self.link.pageable_bandwidth if self.link else None,
                      kernel_min=self.kernel_min.value or 0.0 if self.kernel_min else 0.0,
                      t_in_program=ip.seconds if ip else 0.0,
                      t_cold_per_byte=ip.cold_cache_per_byte if ip else 0.0,
                      t_marshal_number=ip.marshal_per_number if ip else 0.0,
                      t_marshal_numpy_number=self._numpy_number(),
                      write_allocate=self.kind == "cpu", cores=max(1, self.cores or 1),
                      threads=tables.threads if tables else None, runtime=runtime,
                      linear_table=tables.linear[dtype].table() if tables and dtype in tables.linear else None,
                      activation_tables=tables.activation[dtype].tables()
                      if tables and dtype in tables.activation else None,
                      fresh_page_seconds=tables.fresh_pages.seconds_per_byte if tables and tables.fresh_pages else 0.0,
                      fresh_from_bytes=tables.fresh_pages.from_bytes if tables and tables.fresh_pages else 0.0,
                      flags=self.flags_for(dtype, runtime), notes=tuple(notes))

    def runtime_cost(self, runtime: str) -> tuple[float, float, list[str]]:
        """``(t_dispatch, t_launch, notes)`` of ``runtime``: its own figures, else eager's with a note."""
        if runtime in self.runtimes:
            r = self.runtimes[runtime]
            return r.forward, r.per_kernel, []
        if "eager" in self.runtimes:
            e = self.runtimes["eager"]
            forward, per_kernel = e.forward, e.per_kernel
        else:
            forward, per_kernel = self.dispatch.value or 0.0, self.launch_latency.value or 0.0
        if runtime == "eager":
            return forward, per_kernel, []
        return forward, per_kernel, [f"{self.name} has no figures for the {runtime} runtime: the eager runtime's "
                                     f"are used (measure them with `phasm-perf hw measure --runtimes {runtime}`)"]

    def flags_for(self, dtype: str, runtime: str) -> tuple[str, ...]:
        """The quality flags that concern a prediction for ``dtype`` in ``runtime``, as ``figure: reason``."""
        if not self.quality:
            return ()
        other = {f"{kind}.{d}" for kind in ("peak", "linear", "activation") for d in DTYPES if d != dtype}
        other |= {f"runtime.{r}" for r in RUNTIMES if r != runtime}
        return tuple(f"{f.figure}: {f.reason}" for f in self.quality.flags if f.figure not in other)

    def native_device(self, numbers: int, dtype: str = "fp32") -> Device:
        """The model's view of a surrogate run natively inside a compiled program, one call at a time: the
        runtime's measured rate as the compute roof, its fixed cost as the dispatch, and the interception plus
        the marshalling of ``numbers`` inputs and outputs as the in-program cost per forward."""
        nat = self.native
        if nat is None:
            raise PhasmError(f"{self.name} has no native runtime costs: measure them with `phasm-perf hw measure` "
                             f"(needs Frida and g++)")
        base = self.device(dtype)
        return Device(name=f"{self.name} (native {nat.runtime})", dtype=dtype, peak=nat.flops, levels=base.levels,
                      t_launch=0.0, t_dispatch=nat.dispatch, nominal_peak=base.nominal_peak,
                      t_in_program=nat.call + numbers * nat.marshal_per_number,
                      t_marshal_number=nat.marshal_per_number, t_marshal_numpy_number=nat.marshal_per_number,
                      write_allocate=base.write_allocate, cores=1, threads=1, runtime="native")

    def _numpy_number(self) -> float:
        ip = self.in_program
        if ip is None:
            return 0.0
        return ip.marshal_per_number if ip.marshal_per_numpy_number is None else ip.marshal_per_numpy_number

    def main_memory(self) -> Level:
        return self.memory[-1]
