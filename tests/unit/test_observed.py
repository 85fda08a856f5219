"""rank --vars: which module a candidate lives in, and what an observation gives the predictions."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from phasm_perf.core.errors import PhasmError
from phasm_perf.discover import DEPENDENT
from phasm_perf.discover.schema import Batching, Summary
from phasm_perf.report.observed import module_of, observe


def _cand(function, file, kind="compute", key=None):
    return SimpleNamespace(function=function, file=file, kind=kind, key=key or f"{function} ({file})")


def test_module_of_a_function_of_the_script_its_folder_and_elsewhere(tmp_path):
    script = tmp_path / "prog.py"
    (tmp_path / "pkg").mkdir()
    assert module_of(_cand("f", str(script)), script) == "prog"
    assert module_of(_cand("g", "prog.py"), script) == "prog"  # relative to the script's folder
    assert module_of(_cand("h", str(tmp_path / "pkg" / "mod.py")), script) == "pkg.mod"
    assert module_of(_cand("i", str(tmp_path / "pkg" / "__init__.py")), script) == "pkg"
    assert module_of(_cand("j", "/usr/lib/python3/dist-packages/numpy/core.py"), script) is None
    assert module_of(_cand("k", None), script) is None
    assert module_of(_cand("l", str(script)), None) is None


def _vars(inputs, outputs, dependent=None, independent=None, chains=()):
    return SimpleNamespace(summary=Summary(input_size=inputs, output_size=outputs, input_bytes=8 * inputs,
                                           output_bytes=8 * outputs),
                           batching=Batching(dependent=dependent, independent_calls=independent, chains=list(chains)))


def test_observe_the_top_compute_candidates_only(tmp_path):
    script = tmp_path / "prog.py"
    report = SimpleNamespace(candidates=[_cand("wait", str(script), kind="waiting"), _cand("a", str(script)),
                                         _cand("b", str(script)), _cand("c", str(script))])
    seen = []

    def observer(target, function):
        seen.append(function)
        return {"prog:a": _vars(4, 2, dependent=False, independent=25),
                "prog:b": _vars(3, 3, dependent=True, chains=["result -> x"])}[function]

    found, notes = observe(SimpleNamespace(program=str(script)), report, 2, observer)
    assert seen == ["prog:a", "prog:b"]  # the waiting one skipped, c beyond the top 2
    assert found["a (%s)" % script] == (4, 2, 0, 25, "vars")
    assert found["b (%s)" % script] == (3, 3, 0, 1, "vars")  # dependent calls: batch 1
    assert "at most 25 independent calls" in notes[0] and DEPENDENT in notes[1] and "result -> x" in notes[1]


def test_a_candidate_vars_cannot_observe_gets_a_note_not_an_error(tmp_path):
    script = tmp_path / "prog.py"
    report = SimpleNamespace(candidates=[_cand("a", str(script)), _cand("lib", "/elsewhere/lib.py")])

    def observer(target, function):
        raise PhasmError("prog:a was never called")

    found, notes = observe(SimpleNamespace(program=str(script)), report, 5, observer)
    assert found == {}
    assert notes == ["a: not observed by --vars: prog:a was never called",
                     "lib: not observed by --vars (its file is not part of the program's folder)"]
