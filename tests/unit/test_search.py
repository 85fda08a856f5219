"""The pure pieces of ``search`` and ``track``: the Pareto front, the design space and its constraints, the
objectives against hand-computed values, sampling, pruning, names MLflow accepts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasm_perf.core.errors import PhasmError
from phasm_perf.search.objectives import (Workload, default_batch, objective_values, parse_objectives,
                                          predict_architecture, relative_errors)
from phasm_perf.search.pareto import dominates, front
from phasm_perf.search.space import Architecture, Space, from_params, sample
from phasm_perf.search.synthetic import sample as sample_inputs

MIN_MAX = ["minimize", "maximize"]


def test_front_by_hand():
    # (error, speedup): 0 and 2 trade off; 1 is worse than 0 on both; 3 ties 2 exactly (kept)
    pts = [(0.1, 2.0), (0.2, 1.5), (0.3, 3.0), (0.3, 3.0), (0.5, 2.9)]
    assert front(pts, MIN_MAX) == [0, 2, 3]
    assert dominates((0.1, 2.0), (0.2, 1.5), MIN_MAX) and not dominates((0.3, 3.0), (0.3, 3.0), MIN_MAX)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10), st.integers(1, 8)), min_size=1, max_size=25))
def test_front_is_exactly_the_non_dominated_points(raw):
    senses = ["minimize", "maximize", "minimize"]
    pts = [tuple(map(float, p)) for p in raw]
    keep = set(front(pts, senses))
    assert keep  # a finite set always has a non-dominated point
    for i, p in enumerate(pts):
        dominated = any(dominates(q, p, senses) for q in pts)
        assert (i in keep) == (not dominated)


class FakeTrial:
    """Draws the last option, the high end: enough to check names and ranges."""

    def __init__(self):
        self.asked = []

    def integer(self, name, low, high):
        self.asked.append(name)
        return high

    def choice(self, name, options):
        self.asked.append(name)
        return options[-1]

    def log_float(self, name, low, high):
        self.asked.append(name)
        return high


def test_sample_draws_every_dimension_and_round_trips_through_params():
    space = Space(max_depth=3, widths=(8, 32), activations=("relu", "tanh"), dtypes=("fp32",), epochs=(50, 80))
    t = FakeTrial()
    arch = sample(space, t)
    assert arch == Architecture(hidden=(32, 32, 32), activation="tanh", dtype="fp32", lr=3e-2, epochs=80,
                                normalise="none")
    assert t.asked == ["depth", "width1", "width2", "width3", "activation", "dtype", "lr", "epochs", "normalise"]
    params = {"depth": 3, "width1": 32, "width2": 32, "width3": 32, "activation": "tanh", "dtype": "fp32",
              "lr": 3e-2, "epochs": 80, "normalise": "none"}
    assert from_params(params) == arch and arch.surrogate == "mlp:32x32x32"


def test_constraints_drop_what_the_profile_cannot_price_and_an_empty_space_is_one_error():
    s = Space().constrained(["fp64", "fp32"], max_epochs=120)
    assert s.dtypes == ("fp32",) and s.epochs == (50, 100)
    assert Space().constrained(None, max_epochs=20).epochs == (20,)  # below every choice: that many
    with pytest.raises(PhasmError, match="empty after constraints.*fp64, fp32"):
        Space(dtypes=("fp16",)).constrained(["fp64", "fp32"], None)
    with pytest.raises(PhasmError, match="width >= 1"):
        Space(widths=(0, 8)).check()
    with pytest.raises(PhasmError, match="no widths"):
        Space(widths=()).check()
    with pytest.raises(PhasmError, match="unknown activation"):
        Space(activations=("softplus",)).check()
    assert Space().signature() != Space(widths=(8, 16)).signature()
    assert Space(max_depth=2, widths=(8, 16), activations=("relu",), dtypes=("fp32",), epochs=(50,),
                 normalisations=("none",)).size() == 2 + 4


def test_predicted_speedup_is_the_end_to_end_formula_on_the_models_time():
    from phasm_perf.hardware import load
    from phasm_perf.predict import predict_sweep

    profile = load("epyc-7763")
    work = Workload(inputs=7, outputs=6, program_seconds=2.0, function_seconds=1.5, calls=1000)
    arch = Architecture(hidden=(64, 64))
    p = predict_architecture(profile, arch, work, batch=16)
    row = next(r for r in predict_sweep(profile, 7, 6, (64, 64), "fp32", [16]) if r.batch == 16)
    t_new = 2.0 - 1.5 + 1000 * row.program_seconds_per_call
    assert p.speedup == pytest.approx(2.0 / t_new)
    assert p.seconds_per_batch == pytest.approx(row.seconds_per_batch)
    rows = predict_sweep(profile, 7, 6, (64, 64), "fp32", [2 ** k for k in range(17)])
    expected = next((r.batch for r in rows if r.program_seconds_per_call <= 1.5e-3), None)
    assert p.break_even_batch == expected
    assert objective_values(["speedup", "error", "batch"], 0.25, p) == [p.speedup, 0.25, float(expected)]


def test_relative_errors_by_hand():
    truth = np.array([[1.0, 0.0], [3.0, 0.0], [-2.0, 0.0]])
    pred = np.array([[1.5, 0.1], [3.0, -0.1], [-2.5, 0.1]])
    # output 0: MAE 1/3, mean |y| 2; output 1: all zero truth, zero std: the MAE itself
    assert relative_errors(pred, truth) == pytest.approx([(1 / 3) / 2, 0.1])


def test_objectives_and_batch_defaults():
    assert parse_objectives("speedup,error,batch") == ["speedup", "error", "batch"]
    for bad in ("error", "error,error,speedup", "error,speed"):
        with pytest.raises(PhasmError, match="--objectives"):
            parse_objectives(bad)
    assert default_batch({}) == 1 and default_batch({25: 40, 1: 3}) == 25
    assert math.isinf(objective_values(["batch"], 0.1, type("P", (), {"speedup": 1, "break_even_batch": None})())[0])


def test_synthetic_sampling_over_the_ranges_constants_held():
    X = np.array([[0.0, 5.0, 2.0], [1.0, 5.0, 4.0], [0.5, 5.0, 3.0]])
    for method in ("lhs", "uniform"):
        rows, held = sample_inputs(X, 200, method, seed=1)
        assert held == [1] and np.all(rows[:, 1] == 5.0)
        assert rows[:, 0].min() >= 0 and rows[:, 0].max() <= 1 and rows[:, 2].min() >= 2 and rows[:, 2].max() <= 4
    rows, _ = sample_inputs(X, 10, "lhs", seed=1)
    for col, (lo, hi) in ((0, (0, 1)), (2, (2, 4))):  # a Latin hypercube: one sample in each of the 10 strata
        assert sorted(np.floor((rows[:, col] - lo) / (hi - lo) * 10).astype(int).tolist()) == list(range(10))
    with pytest.raises(PhasmError, match="--synthetic-method"):
        sample_inputs(X, 3, "sobol")


def test_pruner_stops_a_trial_far_behind_a_finished_trial_as_fast():
    from phasm_perf.search.tasks import PRUNE_FACTOR, _Pruned, pruner

    arch = Architecture(hidden=(8,), epochs=100)
    assert pruner(arch, 2.0, [(1.5, 0.01)]) is None  # only a slower rival: nothing to compare with
    progress = pruner(arch, 2.0, [(2.5, 0.01), (3.0, 0.5)])
    progress(29, 100, 1.0, 1.0)  # not a checkpoint
    progress(30, 100, 1.0, PRUNE_FACTOR * 0.01 * 0.9)  # close enough
    with pytest.raises(_Pruned) as exc:
        progress(60, 100, 1.0, PRUNE_FACTOR * 0.01 * 1.1)
    assert exc.value.epoch == 60


def test_tracking_names_and_values_as_mlflow_takes_them():
    from phasm_perf.track import Tracking, default_uri, param_text

    assert param_text([7, 64, 6]) == "7,64,6" and len(param_text("x" * 900)) == 500
    assert default_uri("/tmp/a/../b").endswith("/tmp/b/mlflow.db") and default_uri("x").startswith("sqlite:////")
    assert Tracking(uri="http://h:5000").resolve_uri("out") == "http://h:5000"
    pytest.importorskip("mlflow")
    from phasm_perf.track.mlflow import _key

    assert _key("relative_error.out[0]") == "relative_error.out_0" and _key("x['v']") == "x_v"


def test_tracking_uri_from_the_environment(monkeypatch):
    from phasm_perf.track import Tracking

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert Tracking().resolve_uri("out") == "http://env:5000"
    assert Tracking(uri="sqlite:///x.db").resolve_uri("out") == "sqlite:///x.db"
