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
