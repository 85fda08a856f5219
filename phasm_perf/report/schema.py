"""The ranking's output schema (``--format json``). Versioned: bump ``SCHEMA_VERSION`` on any breaking change."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ..predict.schema import Prediction

SCHEMA_VERSION = 1


class Candidate(BaseModel):
    rank: int
    function: str = Field(description="qualified name")
    key: str = Field(description="the function's identity in the call tree: 'name (file)'")
    file: str | None
    line: int | None
    inclusive_seconds: float = Field(description="T_f: on-CPU + off-CPU time under the function")
    share: float = Field(description="p = T_f / T (of the whole run)")
    share_interval: tuple[float, float] | None = Field(
        None, description="95% sampling interval of the share (Wilson, from the samples behind the profile); "
                          "[share, share] when the weights are exact")
    samples: int | None = Field(None, description="samples behind the share (about share x the run's samples)")
    share_of_loop: float | None = Field(None, description="T_f / T_loop: its share of the event loop's time "
                                                          "(PHASM's measure); null with no loop")
    on_cpu_seconds: float
    off_cpu_seconds: float
    on_cpu_fraction: float = Field(description="share of the function's own time spent on a CPU")
    self_seconds: float
    kind: Literal["compute", "mixed", "waiting"] = Field(
        description="waiting: mostly off-CPU; a surrogate does not remove a wait")
    calls: int | None = Field(description="exact call count, or null when not counted")
    calls_note: str | None = Field(None, description="why there is no count, when there is none")
    seconds_per_call: float | None
    amdahl_limit: float = Field(description="1 / (1 - p): the speedup if the function took no time")
    amdahl_interval: tuple[float, float] | None = Field(None, description="Amdahl's limit at the ends of the "
                                                                           "share's interval")
    tied: bool = Field(False, description="its on-CPU share's interval overlaps the one ranked above it: their order "
                                          "is within sampling noise")
    amdahl_limit_on_cpu: float = Field(description="1 / (1 - p_on): the limit if only its computing time went away")
    predicted: Prediction | None = None

    @model_validator(mode="after")
    def _exact_when_not_given(self):
        """A candidate built without intervals (exact weights, or built by hand) has zero-width ones."""
        if self.share_interval is None:
            self.share_interval = (self.share, self.share)
        if self.amdahl_interval is None:
            self.amdahl_interval = (self.amdahl_limit, self.amdahl_limit)
        return self

    predicted_speedup_interval: tuple[float, float] | None = Field(
        None, description="the predicted end-to-end speedup at the ends of the share's interval")


class EventLoop(BaseModel):
    """The frame the candidates are ranked inside."""

    function: str | None = Field(description="its name; null: no loop (every function ranked)")
    key: str | None = None
    how: str = Field(description="given (--event-loop), bundle (what the bundle was made with), found, found from "
                                 "the stacks (no call counts), none")
    share: float = Field(1.0, description="its share of the run")
    calls: int | None = None
    reason: str = ""


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
    samples: int | None = Field(None, description="samples the shares are taken from (their intervals' N); null: "
                                                  "exact weights, no sampling error")
    event_loop: EventLoop | None = None
    gpu: str = "unavailable"
    options: dict = {}
    candidates: list[Candidate]
    excluded: list[Excluded] = []
    notes: list[str] = []
