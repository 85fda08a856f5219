"""Damaged input is refused with the reason, one line naming the file; ``force`` reads what can be read and says
what was skipped. Every reader, and the bundle against its ``meta.json``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from phasm_perf.calltree.readers import read_profile
from phasm_perf.core.bundle import BundleWriter, CollectorInfo, Meta, load_bundle
from phasm_perf.core.errors import PhasmError
from tests.conftest import PEER_DATA

DATA = Path(__file__).parents[1] / "data"
CALLGRIND = PEER_DATA / "speedscope-samples/callgrind/callgrind.example.log"


def _refused(path, match, fmt=None):
    with pytest.raises(PhasmError, match=match) as err:
        read_profile(path, fmt)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    return str(err.value)


# -- folded ---------------------------------------------------------------------------------------------------------

def test_folded_all_zero_counts_are_refused_even_with_force(tmp_path):
    f = tmp_path / "zero.folded"
    f.write_text("main;a 0\nmain;b 0\n")
    _refused(f, "every count in it is zero")
    with pytest.raises(PhasmError, match="zero"):
        read_profile(f, force=True)


def test_folded_cut_short_is_refused_and_force_reads_the_rest(tmp_path):
    f = tmp_path / "cut.folded"
    f.write_text("main;solve;step 30\nmain;solve 12\nmain;so")
    msg = _refused(f, r"cut short \(its last line, 3, ends without a count")
    assert "--force" in msg
    p = read_profile(f, force=True)
    assert p.on_cpu == Counter({("main", "solve", "step"): 30, ("main", "solve"): 12})
    assert any("read with --force although it was cut short" in n for n in p.notes)
    # a last line without an end of line that is a whole stack is not damage (hand-written files end so)
    f.write_text("main;solve;step 30\nmain;solve 12")
    assert sum(read_profile(f).on_cpu.values()) == 42


def test_folded_garbage_is_refused(tmp_path):
    f = tmp_path / "garbage.folded"
    f.write_text("main;a 3\n" + "".join(f"this is not a stack {i}x\n" for i in range(5)), encoding="utf-8")
    _refused(f, r"most of its lines are not folded stacks \(5 of 6, from line 2", "folded")
    assert read_profile(f, "folded", force=True).on_cpu == Counter({("main", "a"): 3})


@pytest.mark.parametrize("count", ["inf", "nan", "-3", "1e400", str(2 ** 70)])
def test_folded_counts_that_are_not_counts_are_invalid_lines(tmp_path, count):
    f = tmp_path / "odd.folded"
    f.write_text(f"main;a 5\nmain;b {count}\nmain;c 5\n")
    p = read_profile(f, "folded")
    assert p.on_cpu == Counter({("main", "a"): 5, ("main", "c"): 5})
    assert "1 invalid line(s) skipped (line 2)" in p.notes


# -- perf script, callgrind, Austin, speedscope, Scalene -------------------------------------------------------------

def test_perf_script_cut_inside_a_frame(tmp_path):
    src = (PEER_DATA / "flamegraph-perf/perf-funcab-cmd-01.txt").read_text()
    f = tmp_path / "cut.perf"
    whole = read_profile(PEER_DATA / "flamegraph-perf/perf-funcab-cmd-01.txt").on_cpu
    f.write_text(src.rstrip("\n")[:-12])  # inside the last frame's "(dso)"
    _refused(f, r"cut short \(line \d+ ends inside a frame")
    p = read_profile(f, force=True)
    assert sum(p.on_cpu.values()) == sum(whole.values()) - 1  # the cut sample is left out, the rest kept


@pytest.mark.parametrize("cut, match", [
    (lambda t: t[:t.rindex("calls=")] + "calls=3 20\n", r"cut short \(the call on line \d+ has no cost line"),
    (lambda t: "summary: 2000\n" + t, r"summary: line is not matched by a totals: line"),
    (lambda t: t + "\ntotals: 999999\n", r"costs add up to 820 Instructions but its totals say 999,999: records are missing or damaged"),
    (lambda t: t + "\n16 12x\n", r"malformed callgrind file \(line \d+: '12x' is not a cost"),
    (lambda t: t + "\n16 -5\n", r"malformed callgrind file \(line \d+: cost -5 is out of range"),
    (lambda t: t + "\ncalls=many 3\n16 1\n", r"bad call count 'many 3'"),
])
def test_callgrind_records_cut_short_or_damaged(tmp_path, cut, match):
    f = tmp_path / "cg.out"
    f.write_text(cut(CALLGRIND.read_text()))
    _refused(f, match, "callgrind")


def test_callgrind_force_reads_a_cut_file_and_says_so(tmp_path):
    f = tmp_path / "cg.out"
    text = CALLGRIND.read_text()
    f.write_text("summary: 2000\n" + text)
    p = read_profile(f, "callgrind", force=True)
    assert p.on_cpu == read_profile(CALLGRIND).on_cpu
    assert any("read with --force although it was cut short" in n for n in p.notes)


def test_austin_cut_short_and_garbage(tmp_path):
    src = (DATA / "samples/split.austin").read_text()
    f = tmp_path / "cut.austin"
    f.write_text(src.rstrip("\n")[:-7])
    _refused(f, r"cut short \(its last line has no end\)")
    assert read_profile(f, force=True).on_cpu
    head = "".join(ln + "\n" for ln in src.splitlines() if ln.startswith("#"))
    sample = next(ln for ln in src.splitlines() if ln.startswith("P"))
    f.write_text(head + sample + "\n" + "P1;T1;nonsense 12x\n" * 3)
    _refused(f, r"most of its samples cannot be read \(3 of 4\)")


@pytest.mark.parametrize("weights, match", [
    ([1, -2], r"a weight is not a count: -2"),
    ([1, "x"], r"a weight is not a count: x"),
])
def test_speedscope_weights_that_are_not_counts(tmp_path, weights, match):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"shared": {"frames": [{"name": "a"}, {"name": "b"}]}, "profiles": [
        {"type": "sampled", "unit": "none", "samples": [[0], [0, 1]], "weights": weights}]}))
    _refused(f, match, "speedscope")
    assert read_profile(f, "speedscope", force=True).on_cpu == Counter({("a",): 1})


def test_scalene_entries_of_the_wrong_type(tmp_path):
    doc = json.loads((DATA / "scalene-heat.json").read_text())
    file = next(iter(doc["files"]))
    doc["files"][file]["lines"].append({"lineno": "not a number", "n_cpu_percent_python": 5})
    doc["files"]["other.py"] = {"lines": 7}
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc))
    _refused(f, r"2 of its entries cannot be read")
    assert read_profile(f, force=True).on_cpu == read_profile(DATA / "scalene-heat.json").on_cpu


# -- bundles --------------------------------------------------------------------------------------------------------

def _bundle(path: Path) -> Path:
    w = BundleWriter(path)
    w.write_stacks("oncpu.folded", Counter({("main", "solve"): 700, ("main", "io"): 50}))
    w.write_stacks("offcpu.folded", Counter({("main", "wait"): 250}))
    w.write_json("counts.json", {"status": "unavailable"})
    meta = Meta(tool_version="test", argv=["prog"], cwd=str(path.parent), kind="python", start_time="",
                wall_seconds=1.0, exit_status=0, status="complete", weight_unit="us", seconds_per_unit=1e-6,
                collector=CollectorInfo(name="austin", off_cpu=True))
    return w.commit(meta)


def test_a_bundle_records_its_files_and_loads_when_they_match(tmp_path):
    b = _bundle(tmp_path / "run.phasm")
    meta = json.loads((b / "meta.json").read_text())
    assert set(meta["files"]) == {"oncpu.folded", "offcpu.folded", "counts.json"}
    assert meta["files"]["oncpu.folded"]["stacks"] == 2 and meta["files"]["oncpu.folded"]["weight"] == 750
    assert meta["schema_version"] == 1
    loaded = load_bundle(b)
    assert sum(loaded.on_cpu.values()) == 750 and not loaded.meta.notes


@pytest.mark.parametrize("damage, match", [
    (lambda b: (b / "oncpu.folded").write_text((b / "oncpu.folded").read_text()[:-6]),
     r"oncpu.folded does not match its meta.json \(\d+ bytes, \d+ when written"),
    (lambda b: (b / "oncpu.folded").write_bytes(b"\x89PNG garbage\x00\x01 in place of stacks\n" * 3),
     r"oncpu.folded does not match its meta.json"),
    (lambda b: (b / "offcpu.folded").write_text("main;wait 260\n"), r"offcpu.folded does not match its meta.json "
                                                                     r"\(its SHA-256 differs"),
    (lambda b: (b / "counts.json").unlink(), r"counts.json is missing"),
])
def test_a_bundle_whose_files_do_not_match_its_meta_is_refused(tmp_path, damage, match):
    b = _bundle(tmp_path / "run.phasm")
    damage(b)
    with pytest.raises(PhasmError, match=match) as err:
        load_bundle(b)
    assert "is damaged" in str(err.value) and str(b) in str(err.value)


def test_force_reads_a_damaged_bundle_and_says_what_was_skipped(tmp_path):
    b = _bundle(tmp_path / "run.phasm")
    text = (b / "oncpu.folded").read_text()
    (b / "oncpu.folded").write_text(text[:text.index("\n") + 1] + "main;so")  # the second line cut short
    loaded = load_bundle(b, force=True)
    assert sum(loaded.on_cpu.values()) in (50, 700)
    assert any("read with --force although oncpu.folded" in n for n in loaded.meta.notes)
    assert any("cut short" in n for n in loaded.meta.notes)


def test_a_bundle_made_before_hashes_is_checked_by_its_content(tmp_path):
    b = _bundle(tmp_path / "run.phasm")
    meta = json.loads((b / "meta.json").read_text())
    del meta["files"]
    (b / "meta.json").write_text(json.dumps(meta))
    assert sum(load_bundle(b).on_cpu.values()) == 750
    (b / "oncpu.folded").write_text("main;solve 700\nmain;i")
    with pytest.raises(PhasmError, match=r"oncpu.folded: it was cut short"):
        load_bundle(b)


def test_an_unreadable_meta_is_one_line(tmp_path):
    b = _bundle(tmp_path / "run.phasm")
    (b / "meta.json").unlink()
    (b / "meta.json").mkdir()
    with pytest.raises(PhasmError, match="no meta.json"):
        load_bundle(b)
    shutil.rmtree(b / "meta.json")
    (b / "meta.json").write_text("{not json")
    with pytest.raises(PhasmError, match="malformed meta.json"):
        load_bundle(b)
