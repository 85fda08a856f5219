"""The ranking's output schema (``--format json``). Versioned: bump ``SCHEMA_VERSION`` on any breaking change."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class BatchRow(BaseModel):
    """The model at one batch size B (DESIGN section 3)."""

    batch: int
    seconds_per_batch: float = Field(description="sum_l t_l + t_link + t_dispatch")
    seconds_per_call: float = Field(description="t_s(B) = seconds_per_batch / B")
    bound: Literal["compute", "memory", "link", "latency"]
    utilisation: float = Field(description="achieved FLOP/s / peak FLOP/s of the dtype")
    flops: float
    bytes: float
    compute_seconds: float
    memory_seconds: float
    link_seconds: float
    latency_seconds: float = Field(description="kernels x t_launch + t_dispatch")
    in_program_seconds_per_call: float | None = Field(
        None, description="t_s,prog(B) = (seconds_per_batch + t_prog) / B: the cost per call inside a program "
                          "(cold caches and marshalling, from the profile's in_program); what speedup uses")
    speedup: float | None = Field(None, description="end-to-end T / T' at this batch, with t_s,prog(B) (rank only)")
    kernel_speedup: float | None = Field(None, description="t_f / t_s,prog(B) (rank only)")


class Prediction(BaseModel):
    """What a surrogate would do for this candidate on the chosen hardware (filled by ``--hardware``)."""

    hardware: str
    surrogate: str = Field(description="e.g. mlp:64x64")
    dtype: str
    inputs: int
    outputs: int
    io_source: Literal["captured", "given"] = Field(
        "given", description="captured: counted in the arguments and results of the first real calls")
    numpy_scalars: int = Field(0, description="how many of the inputs and outputs the program passes as numpy scalars "
                                              "(counted in the first real calls; they marshal at the profile's "
                                              "marshal_per_numpy_number)")
    best_batch: int | None
    speedup: float = Field(description="predicted end-to-end speedup at best_batch, T / T'")
    kernel_speedup: float | None = Field(None, description="t_f / t_s,prog(best_batch)")
    break_even_batch: int | None = Field(description="smallest batch with t_s,prog(B) <= t_f; null: never")
    bound: Literal["compute", "memory", "link", "latency"] | None = None
    gustafson_speedup: float | None = Field(None, description="(1 - p) + p k at best_batch")
    utilisation: float | None = None
    seconds_per_call: float | None = Field(None, description="t_s(best_batch), in a tight loop")
    in_program_seconds_per_call: float | None = Field(None, description="t_s,prog(best_batch), inside a program")
    per_batch: list[BatchRow] = []


class Candidate(BaseModel):
    rank: int
    function: str = Field(description="qualified name")
    key: str = Field(description="the function's identity in the call tree: 'name (file)'")
    file: str | None
    line: int | None
    inclusive_seconds: float = Field(description="T_f: on-CPU + off-CPU time under the function")
    share: float = Field(description="p = T_f / T")
    on_cpu_seconds: float
    off_cpu_seconds: float
    on_cpu_fraction: float = Field(description="share of the function's own time spent on a CPU")
    self_seconds: float
    kind: Literal["compute", "mixed", "waiting"] = Field(
        description="waiting: mostly off-CPU; a surrogate does not remove a wait")
    calls: int | None = Field(description="exact call count, or null when not counted")
    seconds_per_call: float | None
    amdahl_limit: float = Field(description="1 / (1 - p): the speedup if the function took no time")
    amdahl_limit_on_cpu: float = Field(description="1 / (1 - p_on): the limit if only its computing time went away")
    predicted: Prediction | None = None


class Excluded(BaseModel):
    function: str
    share: float
    reason: str


class RankReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tool_version: str
    source: str = Field(description="the bundle or profile file ranked")
    argv: list[str] = []
    status: str
    exit_status: int | None = None
    collector: str
    wall_seconds: float | None
    sampled_seconds: float = Field(description="T: on-CPU + off-CPU time seen by the sampler (all threads)")
    unit: str = Field("s", description="the unit of every *_seconds field: 's', or the profile's own weight "
                                        "(e.g. 'Ir' for callgrind instructions, 'samples') when it is not a time")
    on_cpu_seconds: float
    off_cpu_seconds: float
    threads: int | None = None
    calls_status: str
    gpu: str = "unavailable"
    options: dict = {}
    candidates: list[Candidate]
    excluded: list[Excluded] = []
    notes: list[str] = []
