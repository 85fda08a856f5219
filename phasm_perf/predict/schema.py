"""What a prediction says (part of the ``rank`` report's schema, and of ``predict --format json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BatchRow(BaseModel):
    """The model at one batch size B (ARCHITECTURE.md, "The model")."""

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
    latency_seconds: float = Field(description="kernels x t_launch + t_dispatch (the runtime's costs)")
    brent_floor_seconds: float | None = Field(None, description="Brent's lower bound max(W / P, D t_launch): no "
                                                                "schedule finishes sooner")
    brent_bound_seconds: float | None = Field(None, description="Brent's upper bound W / P + D t_launch: a greedy "
                                                                "schedule finishes by then")
    forwards: int | None = Field(None, description="forwards that answer the n calls: ceil(n / B), or per group of "
                                                   "independent calls (rank only)")
    fill_wait_seconds: float | None = Field(None, description="(B - 1) t_gap: how long the first call of a batch "
                                                              "waits for the batch to fill if the calls stream in "
                                                              "one per t_gap = (T - T_f) / n (rank only)")
    in_program_seconds_per_call: float | None = Field(
        None, description="t_s,prog(B) = (seconds_per_batch + t_prog) / B: the cost per call inside a program "
                          "(cold caches and marshalling, from the profile's in_program); what speedup uses")
    speedup: float | None = Field(None, description="end-to-end T / T' at this batch, T' = T - T_f + forwards "
                                                    "t_batch,prog(B) (rank only)")
    kernel_speedup: float | None = Field(None, description="t_f / t_s,prog(B) (rank only)")


class Prediction(BaseModel):
    """What a surrogate would do for this candidate on the chosen hardware (filled by ``--hardware``)."""

    hardware: str
    surrogate: str = Field(description="e.g. mlp:64x64")
    dtype: str
    runtime: str = Field("eager", description="what runs the surrogate (phasm_perf.model.spec.RUNTIMES)")
    activation: str = "relu"
    inputs: int
    outputs: int
    io_source: Literal["captured", "given", "vars"] = Field(
        "given", description="captured: counted in the arguments and results of the first real calls; vars: "
                             "found by observing the function (rank --vars: globals, attributes, arrays written in "
                             "place too)")
    numpy_scalars: int = Field(0, description="how many of the inputs and outputs the program passes as numpy scalars "
                                              "(counted in the first real calls; they marshal at the profile's "
                                              "marshal_per_numpy_number)")
    independent_calls: int | None = Field(None, description="calls the program can put in one batch (vars); "
                                                            "null: all of them")
    best_batch: int | None
    speedup: float = Field(description="predicted end-to-end speedup at best_batch, T / T'")
    kernel_speedup: float | None = Field(None, description="t_f / t_s,prog(best_batch)")
    break_even_batch: int | None = Field(description="smallest batch with t_s,prog(B) <= t_f; null: never")
    bound: Literal["compute", "memory", "link", "latency"] | None = None
    serial_fraction: float | None = Field(None, description="s' = (T - T_f) / T': the serial fraction of the "
                                                            "accelerated run at best_batch")
    gustafson_speedup: float | None = Field(None, description="s' + (1 - s') k at best_batch: how much more of f's "
                                                              "work the same time holds (more events: speedup)")
    utilisation: float | None = None
    seconds_per_call: float | None = Field(None, description="t_s(best_batch), in a tight loop")
    in_program_seconds_per_call: float | None = Field(None, description="t_s,prog(best_batch), inside a program")
    flags: list[str] = Field([], description="figures of the profile flagged as unreliable when measured")
    notes: list[str] = Field([], description="what was estimated for this prediction")
    per_batch: list[BatchRow] = []
