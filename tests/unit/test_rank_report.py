"""The ranking and its renderers on a bundle built in the test (no program run)."""

import csv
import io
import json
import math
from collections import Counter

import pytest

from phasm_perf.calltree import make_frame
from phasm_perf.core.bundle import Bundle, CallCount, CollectorInfo, CountsInfo, Meta
from phasm_perf.report import RENDERERS, RankOptions, build_report
from phasm_perf.report.schema import RankReport

U = "/home/u/prog"
LOOP = make_frame("loop", f"{U}/p.py", 3)
HOT = make_frame("hot<script>|x", f"{U}/p.py", 10)
IO = make_frame("write", f"{U}/p.py", 20)
SLEEP = make_frame("sleep", "/usr/lib/python3.11/time.py", 1)


@pytest.fixture
def bundle(tmp_path):
    on = Counter({(LOOP, HOT): 600, (LOOP, IO): 20, (LOOP,): 80})
    off = Counter({(LOOP, IO, SLEEP): 300})
    meta = Meta(tool_version="t", argv=["python", f"{U}/p.py"], cwd=U, kind="python", program=f"{U}/p.py",
                start_time="", wall_seconds=1.0, exit_status=0, status="complete",
                collector=CollectorInfo(name="austin", off_cpu=True), weight_unit="ms", seconds_per_unit=1e-3,
                counts=CountsInfo(status="exact", functions=[
                    CallCount(function=f"hot<script>|x ({U}/p.py)", file=f"{U}/p.py", line=9, calls=300)]))
    return Bundle(tmp_path, meta, on, off)


def test_without_event_loop_the_loop_is_found_and_is_not_a_candidate(bundle):
    r = build_report(bundle)
    names = [c.function for c in r.candidates]
    assert names[0] == "hot<script>|x" and "loop" not in names
    # the loop has no count here: found from the stacks (little time of its own, spread over its callees)
    assert r.event_loop.function == "loop" and r.event_loop.how == "found from the stacks"
    assert r.options["event_loop"] == "loop" and r.options["event_loop_how"] == "found from the stacks"
    assert next(e for e in r.excluded if e.function.startswith("loop ")).reason == "event loop"
    # shares stay shares of the whole run; the loop holds all of it here
    assert r.candidates[0].share == pytest.approx(0.6) and r.candidates[0].share_of_loop == pytest.approx(0.6)


def test_event_loop_none_ranks_every_function(bundle):
    r = build_report(bundle, RankOptions(event_loop="none"))
    assert r.event_loop.how == "none" and r.event_loop.function is None
    # the loop holds the whole run: it is the program itself, set aside as such, not ranked at 100%
    assert "loop" not in [c.function for c in r.candidates]
    assert next(e for e in r.excluded if e.function.startswith("loop ")).reason == "whole run"


def test_shares_calls_amdahl(bundle):
    r = build_report(bundle, RankOptions(event_loop="loop"))
    hot = r.candidates[0]
    assert hot.function == "hot<script>|x" and hot.rank == 1
    assert hot.share == pytest.approx(0.6) and hot.amdahl_limit == pytest.approx(2.5)
    assert hot.calls == 300 and hot.seconds_per_call == pytest.approx(0.002) and hot.line == 9
    wr = next(c for c in r.candidates if c.function == "write")
    assert wr.kind == "waiting" and wr.on_cpu_fraction == pytest.approx(20 / 320)
    assert wr.calls is None  # not counted, never guessed
    assert wr.amdahl_limit_on_cpu == pytest.approx(1 / (1 - 0.02))
    assert any("waiting" in n for n in r.notes)


def test_json_roundtrip(bundle):
    r = build_report(bundle, RankOptions(event_loop="loop"))
    again = RankReport.model_validate_json(RENDERERS["json"](r))
    assert again == r
    assert json.loads(RENDERERS["json"](r))["schema_version"] == 1


def test_csv_and_markdown_escape(bundle):
    r = build_report(bundle, RankOptions(event_loop="loop"))
    rows = list(csv.DictReader(io.StringIO(RENDERERS["csv"](r))))
    assert rows[0]["function"] == "hot<script>|x" and rows[0]["calls"] == "300"
    md = RENDERERS["markdown"](r)
    assert "| `hot<script>\\|x` |" in md  # inside a code span, where HTML is inert
    assert md.count("<script>") == 1


def test_table_mentions_every_candidate(bundle):
    text = RENDERERS["table"](build_report(bundle, RankOptions(event_loop="loop")))
    assert "hot<script>|x" in text and "waiting" in text and "2.50×" in text


def test_amdahl_limit_of_whole_program():
    from phasm_perf.model.laws import amdahl_limit

    assert amdahl_limit(0.0) == 1.0 and amdahl_limit(0.75) == pytest.approx(4.0)
    assert math.isinf(amdahl_limit(1.0)) and amdahl_limit(-0.1) == 1.0


def test_weights_that_are_not_time_are_not_called_seconds(bundle):
    bundle.meta.weight_unit, bundle.meta.seconds_per_unit = "Instructions", 1.0
    r = build_report(bundle, RankOptions(event_loop="loop"))
    assert r.unit == "Instructions"
    text = RENDERERS["table"](r)
    assert "not a time" in text and "Instructions" in text and "sampled:" not in text
    bundle.meta.weight_unit, bundle.meta.seconds_per_unit = "samples", 0.01  # py-spy: samples at a known rate
    assert build_report(bundle).unit == "s"


def test_a_candidate_that_holds_the_whole_loop_has_a_share_of_it_of_one_not_one_ulp_more(tmp_path):
    # the loop's one callee holds all of its time: its seconds and the loop's are summed in different orders, and
    # with these counts the quotient came out 1.0000000000000002 (as in CI's run of tests/integration/threads.py)
    on = Counter({(LOOP, HOT): 2601, (LOOP, HOT, IO): 251})
    off = Counter({(LOOP, HOT, SLEEP): 183})
    meta = Meta(tool_version="t", argv=["python", f"{U}/p.py"], cwd=U, kind="python", program=f"{U}/p.py",
                start_time="", wall_seconds=1.0, exit_status=0, status="complete",
                collector=CollectorInfo(name="austin", off_cpu=True), weight_unit="ms", seconds_per_unit=1e-3,
                counts=CountsInfo(status="exact", functions=[]))
    r = build_report(Bundle(tmp_path, meta, on, off), RankOptions(event_loop="loop"))
    hot = next(c for c in r.candidates if c.function == "hot<script>|x")
    assert hot.share_of_loop == 1.0 and hot.share <= 1.0
