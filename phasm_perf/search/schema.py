"""``phasm-perf search -o search.json``: a versioned pydantic schema. Bump ``SEARCH_SCHEMA_VERSION`` on a breaking
change."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

SEARCH_SCHEMA_VERSION = 1


class Trial(BaseModel):
    number: int
    state: Literal["complete", "pruned", "failed"]
    session: int = Field(0, description="which run of `phasm-perf search` trained it (0: the first)")
    surrogate: str = Field(description="mlp:HIDDEN")
    activation: str
    dtype: str
    lr: float
    epochs: int = Field(description="at most (training stops early on a flat validation loss)")
    normalise: str
    parameters: int | None = None
    error: float | None = Field(None, description="max over outputs of MAE / mean |y| on the held-back captured calls")
    errors: list[float] = Field(default_factory=list, description="the same, per output")
    validation_loss: float | None = None
    predicted_speedup: float | None = Field(None, description="end to end, at `batch`, on `hardware` (the model)")
    predicted_seconds_per_batch: float | None = None
    break_even_batch: int | None = Field(None, description="smallest batch whose time per call beats t_f; "
                                                           "None: never up to 65536")
    bound: str | None = None
    epochs_run: int | None = None
    training_seconds: float | None = None
    pruned: str | None = Field(None, description="why the trial was stopped")
    model_path: str | None = None
    run_id: str | None = Field(None, description="its MLflow run (a child of the search's run)")
    model_uri: str | None = None


class FrontPoint(BaseModel):
    """A trial on the Pareto front: no other trial is both more accurate and predicted faster."""

    number: int
    surrogate: str
    activation: str
    dtype: str
    error: float
    predicted_speedup: float
    break_even_batch: int | None
    predicted_seconds_per_batch: float
    measured_seconds_per_batch: float | None = Field(None, description="--measure-front: bench's timing, at `batch`")
    time_error: float | None = Field(None, description="predicted / measured time per batch - 1")
    measured_speedup: float | None = Field(None, description="the end-to-end composition with the measured time "
                                                             "per batch in place of the predicted one")
    error_without_synthetic: float | None = Field(None, description="--synthetic: the same architecture trained on "
                                                                    "the captured calls alone, same held-back calls")
    model_path: str | None = None
    model_uri: str | None = None


class SyntheticInfo(BaseModel):
    requested: int
    method: Literal["uniform", "lhs"]
    generated: int = 0
    held_constant: list[str] = []
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, description="sampled range per input")
    replay_max_rel_change: float | None = Field(None, description="captured calls replayed: how far the function's "
                                                                  "results moved (0: it depends on its arguments only)")
    refused: str | None = Field(None, description="why no synthetic data was used (the function is not pure enough)")
    seconds: float = 0.0


class CaptureInfo(BaseModel):
    calls: int
    samples: int
    train: int = Field(description="captured calls the trials train on")
    held_back: int = Field(description="captured calls no trial trains on: the error objective")
    input_names: list[str]
    output_names: list[str]
    constant_inputs: list[str]
    seconds_per_call: float = Field(description="t_f")
    function_seconds: float = Field(description="T_f = n t_f in the capture run")
    program_seconds: float = Field(description="T, the capture run's program time")
    batch_points: dict[str, int] = {}


class Registered(BaseModel):
    name: str
    version: str
    alias: str
    model_uri: str
    trial: int


class SearchReport(BaseModel):
    schema_version: int = SEARCH_SCHEMA_VERSION
    tool_version: str
    created: str
    status: Literal["complete", "interrupted", "timed out"]
    function: str
    argv: list[str]
    study: str
    storage: str
    sampler: str
    objectives: list[str]
    hardware: str
    batch: int = Field(description="the batch the speedup is predicted at")
    space: dict
    trials_requested: int
    scheduler: str
    workers: int
    seconds: float = Field(description="this session")
    capture: CaptureInfo
    synthetic: SyntheticInfo | None = None
    pareto: list[FrontPoint] = Field(description="the Pareto front, most accurate first")
    trials: list[Trial]
    registered: Registered | None = None
    tracking: dict | None = Field(None, description="uri, experiment, parent_run_id")
    notes: list[str] = []
    _tracking_error: object = PrivateAttr(None)  # a TrackingError met during the search: raised once written
