"""The ranking's output schema (``--format json``). Versioned: bump ``SCHEMA_VERSION`` on any breaking change."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..predict.schema import Prediction

SCHEMA_VERSION = 1


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
