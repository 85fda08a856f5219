"""The example rows logged with a surrogate come from its own input columns, whatever the capture kept."""

from __future__ import annotations

import numpy as np

from phasm_perf.track.records import _example_rows


def _samples(tmp_path, X, names=None):
    path = tmp_path / "samples.npz"
    extra = {} if names is None else {"input_names": np.array(names)}
    np.savez_compressed(path, X=X, Y=np.zeros((len(X), 1)), **extra)
    return path


def test_columns_picked_by_name_when_the_capture_kept_more(tmp_path):
    # a native capture keeps the 9 columns it read; the surrogate takes the 3 that were not constant
    X = np.arange(8 * 9, dtype=np.float64).reshape(8, 9)
    names = [f"c{j}" for j in range(9)]
    rows = _example_rows(_samples(tmp_path, X, names), ["c6", "c0", "c4"])
    assert rows.shape == (5, 3)
    np.testing.assert_array_equal(rows, X[:5][:, [6, 0, 4]])


def test_same_columns_are_taken_as_they_are(tmp_path):
    X = np.random.default_rng(1).normal(size=(3, 2))
    rows = _example_rows(_samples(tmp_path, X, ["a", "b"]), ["a", "b"])
    np.testing.assert_array_equal(rows, X)


def test_unknown_names_or_a_width_that_does_not_match_give_none(tmp_path):
    X = np.ones((4, 3))
    assert _example_rows(_samples(tmp_path, X, ["a", "b", "c"]), ["a", "z"]) is None
    assert _example_rows(_samples(tmp_path, X), ["a", "b"]) is None
    np.testing.assert_array_equal(_example_rows(_samples(tmp_path, X), ["a", "b", "c"]), X)
