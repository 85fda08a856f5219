"""The glue between the model, the profiles and the reports: per-candidate predictions worked by hand, the notes
when a candidate cannot be predicted, batch lists, and the HTML report's escaping."""

from __future__ import annotations

import math

import html5lib
import pytest

from phasm_perf.core.errors import PhasmError
from phasm_perf.hardware import load
from phasm_perf.model.laws import amdahl_limit
from phasm_perf.model.surrogate import MLP, predict_batch
from phasm_perf.predict import default_batches, predict_report, predict_sweep
from phasm_perf.report.predictions import PredictOptions, attach_predictions, predict_candidate
from phasm_perf.report.rank_html import render_html
from phasm_perf.report.schema import Candidate, RankReport


def candidate(name="boris_push", calls=1000, T_f=1.5, T=2.0, key=None) -> Candidate:
    p = T_f / T
    return Candidate(rank=1, function=name, key=key or f"{name} (x.py)", file="x.py", line=1, inclusive_seconds=T_f,
                     share=p, on_cpu_seconds=T_f, off_cpu_seconds=0.0, on_cpu_fraction=1.0, self_seconds=T_f,
                     kind="compute", calls=calls, seconds_per_call=(T_f / calls) if calls else None,
                     amdahl_limit=amdahl_limit(p), amdahl_limit_on_cpu=amdahl_limit(p))


def report(*cands: Candidate, T: float = 2.0) -> RankReport:
    return RankReport(tool_version="0", source="b", status="complete", collector="austin", wall_seconds=T,
                      sampled_seconds=T, on_cpu_seconds=T, off_cpu_seconds=0.0, calls_status="exact",
                      candidates=list(cands))


def test_a_candidate_prediction_worked_by_hand():
    prof = load("xeon-8380")
    c = candidate()
    pred = predict_candidate(c, 2.0, prof, (64, 64), "fp32", 7, 6, [1, 8, 512])
    dev = prof.device("fp32")
    b512 = predict_batch(MLP.of(7, (64, 64), 6), 512, dev)
    assert pred.best_batch == 512 and pred.seconds_per_call == pytest.approx(b512.seconds_per_call)
    # T' = T - T_f + ceil(n / B) t_batch,prog(B): 1000 calls at B = 512 are 2 forwards (the second partial)
    t_new = 2.0 - 1.5 + 2 * b512.program_seconds_per_batch
    assert pred.speedup == pytest.approx(2.0 / t_new)
    assert pred.per_batch[-1].forwards == 2
    k = 1.5e-3 / b512.program_seconds_per_call
    assert pred.kernel_speedup == pytest.approx(k)  # k = t_f / t_s,prog(B)
    # Gustafson with the serial fraction of the accelerated run: s' = 0.5 / T'
    assert pred.serial_fraction == pytest.approx(0.5 / t_new)
    assert pred.gustafson_speedup == pytest.approx(0.5 / t_new + (1 - 0.5 / t_new) * k)
    assert pred.runtime == "eager" and pred.flags == []
    assert pred.break_even_batch == 1 and pred.speedup < c.amdahl_limit
    assert [r.batch for r in pred.per_batch] == [1, 8, 512]
    assert pred.per_batch[0].speedup < pred.per_batch[-1].speedup


def test_a_candidate_called_in_a_program_pays_the_in_program_cost():
    from dataclasses import replace as dc_replace

    base = load("xeon-8380")
    prof = type(base).model_validate({**base.model_dump(), "in_program": {"cold_cache": 6e-6, "marshal": 2e-6,
                                                                          "source": "by hand"}})
    c = candidate()
    pred = predict_candidate(c, 2.0, prof, (64, 64), "fp32", 7, 6, [1, 8, 512])
    dev = prof.device("fp32")
    assert dev.t_in_program == pytest.approx(8e-6)
    tight = {b: predict_batch(MLP.of(7, (64, 64), 6), b, dc_replace(dev, t_in_program=0.0)) for b in (1, 512)}
    # per-batch table: the tight-loop time; end to end: (t_batch(B) + 8 us) / B per call
    assert pred.per_batch[0].seconds_per_call == pytest.approx(tight[1].seconds_per_call)
    assert pred.per_batch[0].in_program_seconds_per_call == pytest.approx(tight[1].seconds_per_batch + 8e-6)
    assert pred.per_batch[0].speedup == pytest.approx(2.0 / (0.5 + 1000 * (tight[1].seconds_per_batch + 8e-6)))
    t512 = (tight[512].seconds_per_batch + 8e-6) / 512
    assert pred.best_batch == 512 and pred.in_program_seconds_per_call == pytest.approx(t512)
    assert pred.speedup == pytest.approx(2.0 / (0.5 + 2 * (tight[512].seconds_per_batch + 8e-6)))
    assert pred.kernel_speedup == pytest.approx(1.5e-3 / t512)


def test_a_cheap_function_never_breaks_even_and_is_slowed_down():
    c = candidate("tiny", calls=10 ** 6, T_f=0.05, T=2.0)  # 50 ns per call
    pred = predict_candidate(c, 2.0, load("t4"), (64, 64), "fp32", 3, 3, [1, 2, 4, 8, 16, 32, 64])
    assert pred.break_even_batch is None
    assert pred.speedup < 1.0 and pred.bound == "latency"


def test_attach_predictions_uses_captured_sizes_and_explains_what_it_cannot_predict():
    rep = report(candidate("a", key="a (x.py)"), candidate("b", key="b (x.py)"), candidate("c", calls=None))
    out = attach_predictions(rep, {"a (x.py)": (7, 6), "b (x.py)": (None, None)},
                             PredictOptions(hardware="h100-sxm", batches=(1, 64)))
    a, b, c = out.candidates
    assert (a.predicted.inputs, a.predicted.outputs, a.predicted.io_source) == (7, 6, "captured")
    assert b.predicted is None and c.predicted is None
    assert any(n.startswith("b: no prediction:") and "--inputs and --outputs" in n for n in out.notes)
    assert any(n.startswith("c: no per-call prediction") for n in out.notes)
    assert out.options["hardware"] == "h100-sxm" and out.options["batch"] == [1, 64]
    given = attach_predictions(rep, {}, PredictOptions(hardware="h100-sxm", inputs=3, outputs=2))
    assert given.candidates[1].predicted.io_source == "given"
    # the default sweep stops at the call count (1000 calls: the last power of two is 512)
    assert [r.batch for r in given.candidates[0].predicted.per_batch][-1] == 512


def test_every_note_says_the_true_reason():
    """A function that returns None writes in place; an inlined one has no symbol to count; no counts asked."""
    inlined = candidate("inl", key="inl (x.cpp)", calls=None).model_copy(
        update={"calls_note": "no call count: inlined everywhere: no symbol of its own to count (its time is its "
                              "callers')"})
    rep = report(candidate("inplace", key="inplace (x.py)"), inlined)
    out = attach_predictions(rep, {"inplace (x.py)": (57, 0)}, PredictOptions(hardware="h100-sxm"))
    inplace_note = next(n for n in out.notes if n.startswith("inplace:"))
    assert "takes 57 number(s) but returns none" in inplace_note and "in place" in inplace_note
    assert "--outputs" in inplace_note
    assert any(n.startswith("inl: no per-call prediction") and "inlined" in n for n in out.notes)
    assert not any("--no-counts" in n for n in out.notes)  # counts were asked for: that is not the reason
    # every top row has a prediction or a note saying why not
    for c in out.candidates:
        assert c.predicted or any(n.startswith(f"{c.function}:") for n in out.notes)


def test_numpy_scalars_counted_in_the_program_are_marshalled_at_their_own_cost():
    base = load("xeon-8380")
    prof = type(base).model_validate({**base.model_dump(), "in_program": {
        "cold_cache": 6e-6, "marshal": 2e-6, "marshal_per_number": 3e-8, "marshal_per_numpy_number": 8e-8,
        "source": "by hand"}})
    rep = report(candidate("a", key="a (x.py)"), candidate("b", key="b (x.py)"))
    out = attach_predictions(rep, {"a (x.py)": (7, 6, 2), "b (x.py)": (7, 6)},
                             PredictOptions(hardware="xeon-8380", batches=(1, 512)), prof)
    a, b = (c.predicted for c in out.candidates)
    assert (a.numpy_scalars, b.numpy_scalars) == (2, 0)
    # one call at a time nothing changes; at 512 rows each further row pays 2 x (80 - 30) ns more
    assert a.per_batch[0].in_program_seconds_per_call == pytest.approx(b.per_batch[0].in_program_seconds_per_call)
    extra = (a.per_batch[1].in_program_seconds_per_call - b.per_batch[1].in_program_seconds_per_call) * 512
    assert extra == pytest.approx(511 * 2 * 5e-8)


def test_attach_predictions_rejects_a_dtype_the_device_lacks():
    with pytest.raises(PhasmError, match="no bf16"):
        attach_predictions(report(candidate()), {}, PredictOptions(hardware="v100-sxm2", dtype="bf16"))


def test_default_batches():
    assert default_batches(1000)[-1] == 512 and default_batches()[-1] == 65536 and default_batches(1) == [1]
    # a program that can batch 25 calls at a time (particles.py: 25 per event): the sweep stops there, 25 included
    assert default_batches(1000, independent=25) == [1, 2, 4, 8, 16, 25]
    assert default_batches(1000, independent=32) == [1, 2, 4, 8, 16, 32]


def test_the_sweep_stops_at_the_batches_the_program_can_form():
    # field_at (theory.md): t_f = 0.607 us, 3 inputs, 3 outputs; only 25 calls per event are independent: on the
    # A100 no batch of at most 25 pays off, while an unlimited sweep would find one
    c = candidate("field_at", calls=100_000, T_f=0.0607, T=2.873)
    free = predict_candidate(c, 2.873, load("a100-40gb-sxm"), (64, 64), "fp32", 3, 3)
    bound = predict_candidate(c, 2.873, load("a100-40gb-sxm"), (64, 64), "fp32", 3, 3, independent=25)
    assert [r.batch for r in bound.per_batch][-1] == 25 and bound.independent_calls == 25
    assert bound.break_even_batch is None and free.break_even_batch is not None
    # 100,000 calls in groups of 25: at B = 16 each group takes 2 forwards
    assert next(r for r in bound.per_batch if r.batch == 16).forwards == 8000


def test_predict_report_and_sweep_agree():
    rep = predict_report("mi250x", 10, 2, "mlp:32", [1, 1024], "bf16")
    sweep = predict_sweep("mi250x", 10, 2, (32,), "bf16", [1, 1024])
    assert rep.parameters == 10 * 32 + 32 + 32 * 2 + 2
    assert [r.seconds_per_call for r in rep.per_batch] == [p.seconds_per_call for p in sweep]
    assert rep.peak_flops == 191.5e12  # one GCD of the MI250X
    with pytest.raises(PhasmError, match="dtype .int8. is not known"):
        predict_sweep("mi250x", 1, 1, (), "int8")


def test_predict_in_the_native_runtime_uses_the_profiles_native_figures():
    from phasm_perf.hardware.schema import NativeRuntime
    plain = load("epyc-7763")
    nat = NativeRuntime(dispatch=2e-7, flops=1e10, call=2e-8, marshal_per_number=1e-10, source="a test")
    measured = plain.model_copy(update={"native": nat})
    rep = predict_report(measured, 2, 48, "mlp:64x64", [1], runtime="native")
    flops = 2 * (2 * 64 + 64 * 64 + 64 * 48)
    assert rep.runtime == "native" and not rep.notes
    assert rep.per_batch[0].seconds_per_batch >= 2e-7 + flops / 1e10 * 0.99          # the C++ forward's own fit
    assert rep.per_batch[0].seconds_per_batch < 5e-6                                  # not PyTorch's dispatch
    sweep = predict_sweep(measured, 2, 48, (64, 64), "fp32", [1], runtime="native")
    assert sweep[0].seconds_per_call == rep.per_batch[0].seconds_per_call
    # a profile without native figures: the eager ones, and a note that says so
    eager = predict_report(plain, 2, 48, "mlp:64x64", [1], runtime="native")
    assert eager.notes and "no figures for the native runtime" in eager.notes[0]
    assert eager.per_batch[0].seconds_per_batch > 5e-6


def test_html_report_escapes_names_and_draws_the_roofline():
    evil = "<script>alert('x')</script>"
    rep = attach_predictions(report(candidate(evil, key="k")), {"k": (3, 3)},
                             PredictOptions(hardware="a100-40gb-sxm", batches=(1, 32, 1024)))
    page = render_html(rep, load("a100-40gb-sxm"))
    assert evil not in page
    doc = html5lib.parse(page, namespaceHTMLElements=False)
    assert evil in [code.text for code in doc.iter("code")]                # the name is shown, as text
    assert page.count("<svg") == 1 and "<script" not in page and not doc.findall(".//script")
    # self-contained: nothing is fetched (XML namespace URIs are names, not requests)
    assert 'src="http' not in page and 'href="http' not in page and "<link" not in page
    plain = render_html(report(candidate()), None)
    assert "no --hardware given" in plain and "<svg" not in plain
    assert math.isfinite(rep.candidates[0].predicted.speedup)


def test_table_and_markdown_show_the_prediction_beside_amdahl():
    from phasm_perf.report.render import render_markdown, render_table

    rep = attach_predictions(report(candidate()), {"boris_push (x.py)": (7, 6)},
                             PredictOptions(hardware="xeon-8380", batches=(1, 512)))
    p = rep.candidates[0].predicted
    md = render_markdown(rep)
    assert "| predicted |" in md and f"@B={p.best_batch}" in md and "even at 1" in md
    assert f"@B={p.best_batch}" in render_table(rep)
    assert "predicted" not in render_markdown(report(candidate()))
