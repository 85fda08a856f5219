"""Marshalling numbers in and out of the surrogate (phasm_perf.core.marshal), and the model's term for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from phasm_perf.bench.flatten import compile_unflattener, numpy_scalars, schema_of
from phasm_perf.core.marshal import FROMITER_ROWS, MAX_BUFFERS, result_converter, rows_to_tensor
from phasm_perf.bench.predict import predict
from phasm_perf.hardware.profile import available, load

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("k", [1, 2, FROMITER_ROWS - 1, FROMITER_ROWS, 300])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rows_become_the_same_tensor_on_both_paths(k, dtype):
    u = np.linspace(0.0, 1.0, 97)
    # a program's rows: numpy scalars read from an array, mixed with Python floats and ints
    rows = [(u[i % 97], i / 7.0, i, np.float32(0.5 * i)) for i in range(k)]
    want = np.array([[float(v) for v in r] for r in rows], dtype=dtype)
    bufs: dict = {}
    x = rows_to_tensor(rows, 4, dtype, bufs, torch.from_numpy)
    assert tuple(x.shape) == (k, 4) and str(x.dtype) == f"torch.{dtype}"
    np.testing.assert_array_equal(x.numpy(), want)
    # one buffer and its tensor per batch size, reused by the next call of that size (valid until then)
    assert k in bufs
    again = rows_to_tensor(rows[::-1], 4, dtype, bufs, torch.from_numpy)
    assert again.data_ptr() == x.data_ptr()
    np.testing.assert_array_equal(again.numpy(), want[::-1])


def test_the_buffers_stay_bounded_when_a_program_forms_many_batch_sizes():
    bufs: dict = {}
    for k in range(1, 3 * MAX_BUFFERS):
        x = rows_to_tensor([(float(i), 1.0) for i in range(k)], 2, "float32", bufs, torch.from_numpy)
        assert x[-1, 0].item() == k - 1
        assert len(bufs) <= MAX_BUFFERS


def test_a_row_of_the_wrong_width_is_an_error_not_a_silent_reshape():
    with pytest.raises((ValueError, TypeError)):
        rows_to_tensor([(1.0, 2.0)] * 20, 3, "float32", {}, torch.from_numpy)
    with pytest.raises((ValueError, TypeError)):
        rows_to_tensor([(1.0, 2.0)], 3, "float32", {}, torch.from_numpy)
    with pytest.raises((ValueError, TypeError)):  # one row too wide, among many
        rows_to_tensor([(1.0, 2.0, 3.0)] * 19 + [(1.0, 2.0, 3.0, 4.0)], 3, "float32", {}, torch.from_numpy)


def test_results_come_back_with_the_original_types():
    y = torch.tensor([[1.5], [2.5], [-3.0]])
    as_float = result_converter(schema_of(1.0), compile_unflattener(schema_of(1.0)))(y)
    assert as_float == [1.5, 2.5, -3.0] and all(type(v) is float for v in as_float)
    np_schema = schema_of(np.float64(1.0))
    as_np = result_converter(np_schema, compile_unflattener(np_schema))(y)
    assert as_np == [1.5, 2.5, -3.0] and all(type(v) is np.float64 for v in as_np)
    assert result_converter(np_schema, compile_unflattener(np_schema))(y.to(torch.bfloat16)) == [1.5, 2.5, -3.0]
    tup = schema_of((1.0, 2.0))
    assert result_converter(tup, compile_unflattener(tup))(torch.tensor([[1.0, 2.0], [3.0, 4.0]])) == \
        [(1.0, 2.0), (3.0, 4.0)]
    nested = schema_of({"a": 1.0, "b": (np.float32(2.0), 3)})
    back = result_converter(nested, compile_unflattener(nested))(torch.tensor([[1.0, 2.0, 3.0]]))
    assert back == [{"a": 1.0, "b": (2.0, 3)}]


def test_numpy_scalars_are_counted_in_any_structure():
    assert numpy_scalars(schema_of(1.0)) == 0
    assert numpy_scalars(schema_of(np.float64(1.0))) == 1
    assert numpy_scalars(schema_of((np.float32(1.0), 2.0, np.int64(3), True, np.bool_(False)))) == 3
    assert numpy_scalars(schema_of({"x": [np.float64(0.0)] * 4, "a": np.zeros(5)})) == 4  # arrays are not scalars
    assert numpy_scalars(schema_of(None)) == 0


def _profile_with(tmp_path: Path, **in_program):
    data = yaml.safe_load(Path(available()["xeon-8380"]).read_text())
    data["in_program"] = dict({"cold_cache": 6e-6, "marshal": 2e-6, "marshal_per_number": 3e-8, "source": "by hand"},
                              **in_program)
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(data))
    return load(str(f))


def test_the_row_term_charges_numpy_scalars_their_own_cost(tmp_path):
    dev = _profile_with(tmp_path, marshal_per_numpy_number=5e-8).device("fp32")
    assert dev.t_marshal_row(5) == pytest.approx(5 * 3e-8)
    assert dev.t_marshal_row(5, 2) == pytest.approx(3 * 3e-8 + 2 * 5e-8)
    assert dev.t_marshal_row(5, 9) == pytest.approx(5 * 5e-8)  # never more numpy numbers than numbers
    # heat_batched's shape: 4 inputs (u[i, j] a numpy scalar) and 1 numpy output, a batch of 2,116 rows
    p = predict(_profile_with(tmp_path, marshal_per_numpy_number=5e-8), [4, 64, 64, 1], "fp32", [1, 2116],
                numpy_scalars=2)
    extra = p.program_seconds(2116) - p.rows[2116].seconds
    assert extra == pytest.approx(8e-6 + 2115 * (3 * 3e-8 + 2 * 5e-8))
    assert p.program_seconds(1) - p.rows[1].seconds == pytest.approx(8e-6)


def test_an_older_profile_without_the_numpy_figure_uses_the_float_one(tmp_path):
    prof = _profile_with(tmp_path)
    assert prof.in_program.marshal_per_numpy_number is None
    assert prof.device("fp32").t_marshal_row(5, 2) == pytest.approx(5 * 3e-8)
    data = yaml.safe_load(Path(available()["xeon-8380"]).read_text())
    data.pop("in_program")
    f = tmp_path / "none.yaml"
    f.write_text(yaml.safe_dump(data))
    assert load(str(f)).device("fp32").t_marshal_row(5, 2) == 0.0  # no in_program at all: no term
