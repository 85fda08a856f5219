"""The bench report: a versioned pydantic schema (``bench.json``). Its terminal summary and its HTML page with the
plot are drawn in :mod:`phasm_perf.report.bench`.

The headline numbers are the prediction's errors: ``per_batch_median_error`` (the median over batch sizes of
``|predicted / measured - 1|`` for the surrogate's time per batch) and ``end_to_end_error`` (the same for the
end-to-end speedup). Every measured figure sits beside its predicted one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..model.spec import hidden_text

#: 2: dtypes in the one vocabulary of phasm_perf.model.spec (fp32, bf16, ...; version 1 wrote float32, bfloat16)
SCHEMA_VERSION = 2


class InputInfo(BaseModel):
    name: str
    width: int = Field(description="how many numbers this variable flattens to")
    kind: str = Field(description="float, int, bool, tuple, list, dict, ndarray")
    root: str = Field("arg", description="where it lives: arg (a parameter), global, cell (closure), return")


class SkippedInput(BaseModel):
    name: str
    reason: str


class CaptureSummary(BaseModel):
    calls: int = Field(description="calls of the function in the capture run")
    samples: int = Field(description="calls kept (uniform reservoir sample within the budget)")
    budget: int
    inputs: list[InputInfo]
    skipped_inputs: list[SkippedInput] = Field(description="arguments that are not numbers: not surrogate inputs")
    input_names: list[str]
    output_names: list[str]
    constant_inputs: list[str] = Field(description="inputs that never changed in the sample")
    result_kind: str
    seconds_per_call: float = Field(description="t_f: the original function's mean time per call (timed in the "
                                                "capture run, outside the capture work)")
    function_seconds: float = Field(description="T_f = n t_f")
    program_seconds: float = Field(description="the capture run's program time (capture work included)")
    swapped_at: str | None = Field(description="definition (the def bound the name) or first call")
    batch_points: dict[str, int] = Field(description="batch size -> batches, from batch_point calls")
    outputs: list[InputInfo] = Field(default_factory=list, description="what the surrogate writes: the return "
                                                                       "value, arrays in place, attributes, globals")
    dropped_constants: list[str] = Field(default_factory=list, description="inputs `vars` found constant: left out "
                                                                           "of the surrogate's inputs")
    counters: list[str] = Field(default_factory=list, description="variables stepped by a constant per call: "
                                                                  "replayed after each surrogate call")


class OutputErrorRow(BaseModel):
    name: str
    mae: float
    rmse: float
    max_abs: float
    relative: float | None = Field(description="mae / mean |y| on the validation set")


class Training(BaseModel):
    surrogate: str = Field(description="mlp:HIDDEN")
    widths: list[int]
    activation: str
    dtype: str
    parameters: int
    seed: int
    samples_train: int
    samples_validation: int
    epochs: int
    best_epoch: int
    stopped_early: bool
    seconds: float
    validation_loss: float = Field(description="MSE on normalised outputs")
    errors: list[OutputErrorRow]
    max_relative_error: float | None
    path: str = Field(description="the saved surrogate, a torch.export program (normalisation and schema inside)")


class DeviceSummary(BaseModel):
    device: str
    name: str
    threads: int | None
    cuda: str
    runtime: str = Field("eager", description="eager (nn.Sequential) or export (the torch.export program's "
                                              "module): how the program and the timing run the surrogate")
    clock: str = Field("wall clock", description="what the per-batch times were measured with: thread CPU time "
                                                 "(CPU, one thread) or wall clock")


class PredictionInfo(BaseModel):
    status: str = Field(description="ok, or unavailable (reason)")
    hardware: str | None = None
    dtype: str | None = None
    t_dispatch: float | None = None
    t_launch: float | None = None
    t_in_program: float | None = Field(None, description="t_prog: the profile's extra per forward inside a program "
                                                         "(cold caches, marshalling), used end to end only")


class BatchRow(BaseModel):
    batch: int
    measured_seconds: float = Field(description="median time of one forward of `batch` rows")
    measured_p25: float
    measured_p75: float
    measured_wall_seconds: float | None = Field(None, description="the wall-clock median of the same groups")
    measured_seconds_per_call: float
    predicted_seconds: float | None
    predicted_seconds_per_call: float | None
    bound: str | None
    error: float | None = Field(description="predicted / measured - 1")
    original_seconds_per_call: float = Field(description="t_f, for comparison")
    measured_at_reference: float | None = Field(None, description=(
        "the measured time at the profile's reference speed: the median over groups of (group time / the speed "
        "probe's forward just before it) x speed.profile_seconds; null without a probe in the hardware profile"))
    calibrated_error: float | None = Field(None, description=(
        "predicted / measured_at_reference - 1: the model's error with the core's speed of each moment taken out"))


class SpeedCheck(BaseModel):
    """How fast the core ran while bench timed the surrogate, against while the hardware profile was measured: the
    same reference forward, timed between the groups on both sides (median over groups)."""
    profile_seconds: float = Field(description="the reference forward in the profile at the core's fast speed (its "
                                               "10th percentile in hw measure)")
    seconds: float = Field(description="the reference forward while bench timed the surrogate (median of groups)")
    p10: float
    p90: float
    samples: int
    ratio: float = Field(description="seconds / profile_seconds: above 1, the core ran slower than the reference")
    profile_p90: float | None = Field(None, description="the profile's 90th percentile: far above profile_seconds, "
                                                        "the core's speed moved while the profile was measured")


class OutputChangeInfo(BaseModel):
    numbers: int = Field(description="numbers compared in the program's stdout")
    max_abs: float | None
    max_rel: float | None
    first_pairs: list[tuple[float, float]] = Field(description="(baseline, with surrogate), first 20")
    note: str = ""


class VariantRow(BaseModel):
    name: str = Field(description="surrogate: as the program calls it; surrogate-single: batch points one by one")
    batches: dict[str, int] = Field(description="batch size -> batches the surrogate answered")
    runs_seconds: list[float]
    seconds: float = Field(description="median program time with the surrogate")
    wall_seconds: float = Field(description="median process wall time (start-up and surrogate load included)")
    load_seconds: float = Field(description="importing torch and loading the surrogate, once per run (not in "
                                            "`seconds`)")
    calls_surrogate: int
    calls_original: int = Field(description="calls the original answered (first call, inputs that did not fit)")
    in_situ_seconds_per_call: float | None = Field(description="surrogate time per call inside the program, "
                                                               "marshalling included")
    measured_speedup: float
    predicted_seconds: float | None
    predicted_speedup: float | None
    speedup_error: float | None = Field(description="predicted / measured speedup - 1")
    kernel_composed_speedup: float = Field(description="the same composition with the measured per-batch times in "
                                                       "place of the predicted ones: isolates the kernel model")
    speed: SpeedCheck | None = Field(None, description="the speed probe timed inside these runs (before and after "
                                                       "the program) against the hardware profile's")
    predicted_speedup_at_run_speed: float | None = Field(None, description=(
        "predicted_speedup with the surrogate's predicted time scaled by speed.ratio: the prediction at the speed "
        "the core ran in these runs"))
    speedup_error_at_run_speed: float | None = Field(None, description="predicted_speedup_at_run_speed / measured "
                                                                       "speedup - 1")
    output_change: OutputChangeInfo


class EndToEnd(BaseModel):
    repeats: int
    calls: int = Field(description="n: calls of the function in a run")
    seconds_per_call: float = Field(description="t_f used by the prediction: function_share x baseline_seconds / "
                                                "calls (the share measured within each timed run, on the baseline's "
                                                "clock)")
    function_share: float = Field(description="the original function's share of the program's time: function "
                                              "seconds over program seconds within each timed run, median")
    timed_runs_seconds_per_call: list[float] = Field(description="t_f as each timed run measured it, for the record")
    baseline_seconds: float = Field(description="median program time of the baseline runs")
    baseline_runs: list[float]
    baseline_wall_seconds: float
    surrogate_seconds: float
    measured_speedup: float
    predicted_speedup: float | None
    variants: list[VariantRow]


class SweepRow(BaseModel):
    surrogate: str
    dtype: str
    batch: int
    measured_seconds: float
    predicted_seconds: float | None
    error: float | None
    validation_relative_error: float | None = None
    worker: str | None = None


class SweepSummary(BaseModel):
    scheduler: str
    workers: int
    trials: int
    seconds: float
    lock: str = Field(description="the distributed lock that keeps timed trials on one device from overlapping")
    rows: list[SweepRow]
    per_batch_median_error: float | None
    notes: list[str] = []


class BenchReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tool_version: str
    created: str
    function: str
    argv: list[str]
    cwd: str
    seconds: float = Field(description="the whole bench run")
    device: DeviceSummary
    options: dict
    capture: CaptureSummary
    training: Training
    prediction: PredictionInfo
    per_batch: list[BatchRow]
    per_batch_median_error: float | None = Field(description="median over batches of |predicted/measured - 1|")
    speed: SpeedCheck | None = Field(None, description="the speed probe (null without one in the profile)")
    per_batch_median_calibrated_error: float | None = Field(None, description=(
        "median over batches of |calibrated_error|: the model's error with the machine's moment taken out"))
    end_to_end: EndToEnd | None
    end_to_end_error: float | None = Field(description="|predicted/measured speedup - 1| (as the program calls)")
    sweep: SweepSummary | None = None
    verdict: Literal["faster", "slower", "unchanged", "not measured"] = Field(
        description="measured end to end, as the program calls the function (not measured with --no-swap)")
    notes: list[str] = []


def training_of(t, widths: list[int], seed: int, path) -> Training:
    """The ``training`` section of a bench report from a trained surrogate (:class:`phasm_perf.bench.train.Trained`:
    Python and compiled programs alike)."""
    rels = [e.relative for e in t.errors if e.relative is not None]
    return Training(surrogate=hidden_text(t.hidden), widths=widths, activation=t.activation, dtype=t.dtype,
                    parameters=t.parameters, seed=seed, samples_train=t.n_train, samples_validation=t.n_val,
                    epochs=t.epochs_run, best_epoch=t.best_epoch, stopped_early=t.stopped_early, seconds=t.seconds,
                    validation_loss=t.val_loss, errors=[OutputErrorRow(**vars(e)) for e in t.errors],
                    max_relative_error=max(rels) if rels else None, path=str(path))


def verdict_of(measured_speedup: float | None) -> str:
    """faster / slower / unchanged (within 2%) / not measured."""
    if measured_speedup is None:
        return "not measured"
    return "faster" if measured_speedup > 1.02 else "slower" if measured_speedup < 0.98 else "unchanged"
