"""``search --synthetic``: inputs sampled over the captured ranges, outputs from the original function run in the
program's own interpreter; a function that is not pure enough is refused with the reason. Real program runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phasm_perf.bench.capture import capture, parse_function
from phasm_perf.collect.program import resolve_target
from phasm_perf.search.synthetic import synthesize
from tests.conftest import PROGRAMS


def _synth(name: str, n: int = 40):
    target = resolve_target(str(PROGRAMS / "synth.py"), [name])
    cap = capture(target, parse_function(f"synth:{name}", target), budget=100, min_samples=20)
    return cap, synthesize(target, cap, cap.X, cap.Y, n, "lhs", seed=3)


def test_a_pure_function_gives_its_own_outputs_on_sampled_inputs():
    cap, s = _synth("pure")
    assert s.refused is None and s.replay_max_rel == 0.0
    assert s.X.shape == (40, 3) and s.Y.shape == (40, 2)
    assert s.held_constant == ["n"] and np.all(s.X[:, 2] == 3)  # constant input held
    lo, hi = cap.X.min(axis=0), cap.X.max(axis=0)
    assert np.all(s.X >= lo) and np.all(s.X <= hi)
    # the outputs are the function's own: recomputed here from the sampled inputs
    expected = np.array([[math.sin(a) * b + n, a * b] for a, b, n in s.X])
    np.testing.assert_allclose(s.Y, expected, rtol=1e-12)
    # sampled, not copied: new points, spread over the range (a Latin hypercube puts one in each of 40 strata)
    strata = np.floor((s.X[:, 0] - lo[0]) / (hi[0] - lo[0]) * 40).clip(0, 39)
    assert len(set(strata.tolist())) == 40


@pytest.mark.parametrize("name, reason", [
    ("noisy", "prints"),
    ("stateful", "replayed gave other results"),
    ("caching", "rebinds module globals (LAST)"),
    ("mutating", "writes its arguments in place"),
    ("bumping", "writes its arguments in place"),
])
def test_a_function_that_is_not_pure_enough_is_refused_with_the_reason(name, reason):
    _, s = _synth(name, 10)
    assert s.refused is not None and reason in s.refused
    assert len(s.X) == 0
