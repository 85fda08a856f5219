"""The readers on real data: FlameGraph's perf corpus, speedscope's samples, callgrind files checked against
callgrind_annotate, a real Scalene profile; plus the folded edge cases (encodings, decimals, invalid lines)."""

from __future__ import annotations

import codecs
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from phasm_perf.calltree.readers import FORMATS, detect_format, read_callgrind, read_perf_script, read_profile
from phasm_perf.calltree.readers.scalene import scalene_lines
from phasm_perf.core.errors import PhasmError
from tests.conftest import PEER_DATA

DATA = Path(__file__).parents[1] / "data"
PERF_DIR = PEER_DATA / "flamegraph-perf"
PERF_FILES = sorted(PERF_DIR.glob("perf-*.txt")) if PERF_DIR.is_dir() else []
MODES = {"default": {}, "pid": {"pid": True}, "tid": {"tid": True}, "kernel": {"kernel": True},
         "jit": {"jit": True}, "all": {"kernel": True, "jit": True}, "addrs": {"addrs": True}}
SS = PEER_DATA / "speedscope-samples"


def _collapsed(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        out[stack] = out.get(stack, 0) + int(count)
    return out


# -- perf script: stackcollapse-perf.pl's exact output, every file x every mode -------------------------------------

@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("path", PERF_FILES, ids=lambda p: p.stem)
def test_perf_script_matches_stackcollapse_perf(path, mode):
    expected = _collapsed(PERF_DIR / "expected" / f"{path.stem}-collapsed-{mode}.txt")
    got = {";".join(k): v for k, v in read_perf_script(path, **MODES[mode]).items()}
    assert got == expected


def test_perf_script_reads_lines_as_well_as_paths(peer_data):
    path = peer_data / "flamegraph-perf" / "perf-funcab-cmd-01.txt"
    with open(path, encoding="utf-8") as fh:
        assert read_perf_script(fh) == read_perf_script(path)


@pytest.mark.skipif(shutil.which("c++filt") is None, reason="binutils' c++filt not installed")
def test_perf_script_demangles_cpp_and_rust_v0(peer_data):
    cpp = read_profile(peer_data / "speedscope-samples/linux-perf/simple.linux-perf.txt", demangle=True).on_cpu
    assert read_perf_script(peer_data / "speedscope-samples/linux-perf/simple.linux-perf.txt") == Counter()
    frames = {f for s in cpp for f in s}
    assert "beta" in frames and "_Z4betav" not in frames
    rust = read_perf_script(peer_data / "speedscope-samples/linux-perf/rust-mangled.linux-perf.txt", demangle=True)
    raw = read_perf_script(peer_data / "speedscope-samples/linux-perf/rust-mangled.linux-perf.txt")
    assert sum(rust.values()) == sum(raw.values())
    frames = {f for s in rust for f in s}
    assert not any(f.startswith("_R") for f in frames)
    assert any(f.startswith("std::rt::lang_start") for f in frames), sorted(frames)[:5]


# -- folded ---------------------------------------------------------------------------------------------------------

def test_folded_encodings_and_line_endings_read_the_same(tmp_path):
    text = "main;solve;step 3\nmain;solve 2\nmain;io;write 1.5\n"
    variants = {
        "utf8": text.encode("utf-8"),
        "crlf": text.replace("\n", "\r\n").encode("utf-8"),
        "bom8": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf16le": codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le"),
        "utf16be": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    }
    results = []
    for name, data in variants.items():
        p = tmp_path / f"{name}.folded"
        p.write_bytes(data)
        assert detect_format(p) == "folded", name
        results.append(read_profile(p).on_cpu)
    assert all(r == results[0] for r in results)
    assert results[0][("main", "io", "write")] == 1.5
    assert results[0][("main", "solve", "step")] == 3


def test_folded_invalid_lines_are_reported_with_numbers_not_fatal(peer_data):
    p = read_profile(peer_data / "speedscope-samples/stackcollapse/simple-with-invalids.txt")
    clean = read_profile(peer_data / "speedscope-samples/stackcollapse/simple.txt")
    assert p.on_cpu == clean.on_cpu
    lines = (peer_data / "speedscope-samples/stackcollapse/simple-with-invalids.txt").read_text().splitlines()
    bad = [i for i, ln in enumerate(lines, 1) if not ln.startswith("#") and not re.search(r" \d+$", ln)]
    assert p.notes and all(str(n) in p.notes[0] for n in bad)


def test_folded_with_no_valid_stack_is_an_error(tmp_path):
    f = tmp_path / "bad.folded"
    f.write_text("just some words 1x\nnot a stack\n")
    with pytest.raises(PhasmError, match="line 1"):
        read_profile(f, "folded")
    empty = tmp_path / "empty.folded"
    empty.write_text("")
    with pytest.raises(PhasmError, match="empty"):
        read_profile(empty)


def test_pyspy_raw_is_detected_and_keeps_file_and_line(tmp_path):
    f = tmp_path / "raw.txt"
    f.write_text("<module> (prog.py:10);run (prog.py:4);step (lib.py:22) 7\n<module> (prog.py:10);run (prog.py:5) 2\n")
    assert detect_format(f) == "pyspy-raw"
    tree = read_profile(f).tree()
    assert tree.functions.loc["run (prog.py)", "incl"] == 9
    assert tree.functions.loc["step (lib.py)", "line"] == 22


# -- speedscope -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["0.0.1/simple.speedscope.json", "0.1.2/simple-sampled.speedscope.json"])
def test_speedscope_sampled_and_evented_match_the_same_profile_folded(peer_data, name):
    path = SS / "speedscope" / name
    assert detect_format(path) == "speedscope"
    folded = read_profile(SS / "stackcollapse" / "simple.txt").on_cpu
    assert read_profile(path).on_cpu == folded


def test_speedscope_several_profiles_are_summed(peer_data):
    p = read_profile(SS / "speedscope/0.6.0/two-sampled.speedscope.json")
    one = read_profile(SS / "speedscope/0.1.2/simple-sampled.speedscope.json").on_cpu
    assert p.on_cpu == Counter({k: 2 * v for k, v in one.items()})
    assert p.threads == 2 and p.seconds_per_unit == 1.0


def test_speedscope_malformed_is_one_clear_error(tmp_path):
    f = tmp_path / "x.speedscope.json"
    f.write_text('{"$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": []}, '
                 '"profiles": [{"type": "sampled", "unit": "none", "samples": [[3]], "weights": [1]}]}')
    with pytest.raises(PhasmError, match=r"1 sample\(s\) cannot be read \(a sample names frames that do not exist"):
        read_profile(f)
    with pytest.raises(PhasmError, match="holds no sample"):  # --force: nothing else to read
        read_profile(f, force=True)
    f.write_text('{"shared": {"frames": []}, "profiles": [{"type": "evented", "events": [{"at": 1}]}]}')
    with pytest.raises(PhasmError, match="malformed speedscope profile"):
        read_profile(f, "speedscope")


# -- callgrind, against callgrind_annotate ----------------------------------------------------------------------

def _annotate(path: Path, events: list[str]) -> dict[str, list[int]]:
    """callgrind_annotate --inclusive=yes: {file:function: [inclusive per event]} (run from / so no path is cut)."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--auto=no", str(path)],
                         capture_output=True, text=True, check=True, cwd="/").stdout
    body = out.split("file:function", 1)[1].split("\n", 2)[2]
    result = {}
    col = re.compile(r"\s*([\d,]+|\.)(?: \(\s*[\d.]+%\))?")
    for line in body.splitlines():
        if not line.strip() or line.startswith("---"):
            break
        vals, pos = [], 0
        for _ in events:
            m = col.match(line, pos)
            vals.append(0 if m.group(1) == "." else int(m.group(1).replace(",", "")))
            pos = m.end()
        name = re.sub(r" \[[^\]]*\]$", "", line[pos:].strip())
        result[name] = vals
    return result


def _check_against_annotate(path: Path) -> int:
    prof = read_callgrind(path)
    expected = _annotate(path, prof.events)
    assert expected
    for key, vals in expected.items():
        f = prof.functions[key]
        assert [int(round(v)) for v in f.incl_cost] == vals, key
    return len(expected)


needs_valgrind = pytest.mark.skipif(shutil.which("callgrind_annotate") is None, reason="valgrind not installed")


@needs_valgrind
@pytest.mark.parametrize("name", ["callgrind.example.log", "callgrind.multiple-event-types.log",
                                  "callgrind.cfn-reset.log"])
def test_callgrind_inclusive_costs_agree_with_callgrind_annotate(peer_data, name):
    assert _check_against_annotate(SS / "callgrind" / name) >= 3


PROG_C = r"""
#include <stdio.h>
#include <math.h>
static double leaf(double x) { return sin(x) * cos(x); }
static double mid(int n) { double s = 0; for (int i = 0; i < n; i++) s += leaf(i * 0.001); return s; }
static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(void) {
    double t = 0;
    for (int k = 0; k < OUTER; k++) t += mid(INNER);
    printf("%f %ld\n", t, fib(12));
    return 0;
}
"""


@pytest.fixture(scope="module")
def callgrind_file(tmp_path_factory):
    if shutil.which("valgrind") is None or shutil.which("gcc") is None:
        pytest.skip("valgrind or gcc not installed")
    d = tmp_path_factory.mktemp("cg")
    (d / "prog.c").write_text(PROG_C)
    subprocess.run(["gcc", "-O0", "-g", "-DOUTER=30", "-DINNER=70", "-o", "prog", "prog.c", "-lm"], cwd=d, check=True)
    out = d / "prog.callgrind"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=yes",
                    "--compress-pos=yes", "--cache-sim=yes", "./prog"], cwd=d, check=True, capture_output=True)
    return out


@needs_valgrind
def test_callgrind_generated_file_agrees_with_annotate_and_counts_calls(callgrind_file):
    assert _check_against_annotate(callgrind_file) > 20
    prof = read_callgrind(callgrind_file, event="Ir")
    assert len(prof.events) == 9 and "D1mr" in prof.events
    table = prof.table().set_index("name")
    assert table.loc["mid", "calls"] == 30
    assert table.loc["leaf", "calls"] == 30 * 70
    assert table.loc["leaf", "file"].endswith("prog.c") and table.loc["leaf", "line"] == 4
    # stacks for ranking keep the whole cost and put leaf under mid under main
    stacks = prof.stacks()
    # (callgrind's call costs can exceed the callee's own costs by an instruction or two: hence not exact)
    assert sum(stacks.values()) == pytest.approx(sum(f.self_cost[0] for f in prof.functions.values()), rel=1e-5)
    assert sum(stacks.values()) == pytest.approx(prof.totals[0], rel=1e-5)
    assert any([f.split(" (")[0] for f in s[-3:]] == ["main", "mid", "leaf"] for s in stacks)


def test_callgrind_unknown_event_is_a_clear_error(peer_data):
    with pytest.raises(PhasmError, match="Time_"):
        read_callgrind(SS / "callgrind/callgrind.multiple-event-types.log", event="Ir")


# -- Scalene (a real profile of examples/heat.py, made with `scalene run --cpu-only`) ------------------------------

def test_scalene_json_lines_split_and_stacks():
    path = DATA / "scalene-heat.json"
    assert detect_format(path) == "scalene"
    prof = read_profile(path)
    lines = scalene_lines(path)
    total = lines[["python_seconds", "native_seconds", "system_seconds"]].to_numpy().sum()
    assert sum(prof.on_cpu.values()) == pytest.approx(total)
    leaves = {s[-1] for s in prof.on_cpu}
    assert leaves <= {"[python]", "[native]", "[system]"} and "[native]" in leaves
    fns = prof.tree().functions.set_index("name")
    assert "source_term" in fns.index
    st = lines[lines["function"] == "source_term"]
    assert fns.loc["source_term", "incl"].sum() == pytest.approx(
        st[["python_seconds", "native_seconds", "system_seconds"]].to_numpy().sum())


# -- detection ------------------------------------------------------------------------------------------------------

def test_every_peer_file_is_detected(peer_data):
    expect = {"flamegraph-perf": "perf-script", "callgrind": "callgrind", "linux-perf": "perf-script",
              "speedscope": "speedscope", "stackcollapse": "folded"}
    seen = 0
    for path in sorted(peer_data.rglob("*")):
        if not path.is_file() or "expected" in path.parts or path.name.startswith(("LICENSE", "README", "ORIGIN")) \
                or path.name == "file-format-schema.json":
            continue
        kind = next(v for k, v in expect.items() if k in path.parts)
        assert detect_format(path) == kind, path
        seen += 1
    assert seen >= 25


def test_input_format_override_and_unknown_format(tmp_path):
    f = tmp_path / "odd.txt"
    f.write_text("hello world\n")
    with pytest.raises(PhasmError, match="--input-format"):
        detect_format(f)
    with pytest.raises(PhasmError, match="unknown input format"):
        read_profile(f, "nope")
    assert set(FORMATS) >= {"folded", "pyspy-raw", "speedscope", "perf-script", "callgrind", "scalene", "austin"}


# -- Austin (a real run of austin --full on a program that computes and sleeps) -----------------------------------

AUSTIN_PROG = """
import time
def busy():
    s = 0
    for i in range(300000):
        s += i * i
    return s
def main():
    for _ in range(5):
        busy()
        time.sleep(0.05)
main()
"""


def test_austin_full_mode_splits_on_and_off_cpu(tmp_path):
    """A real Austin full-mode file, taken the way `profile` takes it: the program started first, Austin attached by pid
    (Austin's own launch mode gives up on a slow-starting interpreter and leaves an empty file)."""
    import sys

    from phasm_perf.collect.austin import Austin
    from phasm_perf.collect.run import _allow_sampler, attach_sampler

    try:
        austin = Austin(interval=0.0002)
    except PhasmError as exc:
        pytest.skip(str(exc))
    prog = tmp_path / "prog.py"
    prog.write_text(AUSTIN_PROG)
    out = tmp_path / "prog.austin"
    log_path = tmp_path / "austin.log"
    child = subprocess.Popen([sys.executable, str(prog)], preexec_fn=_allow_sampler)
    with open(log_path, "wb") as log:
        sampler, _ = attach_sampler(austin.command(child.pid, out), child, log)
        assert child.wait(timeout=60) == 0
        sampler.wait(timeout=60)
    said = log_path.read_text(errors="replace")
    if sampler.returncode != 0 and austin.explain_failure(said):
        pytest.skip("austin may not trace here: " + austin.explain_failure(said))
    assert out.exists() and out.stat().st_size > 0, f"austin wrote nothing; it said: {said[-500:]}"
    assert detect_format(out) == "austin"
    prof = read_profile(out)
    assert prof.off_cpu_known and prof.weight_unit == "us"
    fns = prof.tree().functions
    main, busy = fns.loc[f"main ({prog})"], fns.loc[f"busy ({prog})"]
    assert main["off_incl"] == pytest.approx(5 * 0.05, abs=0.1)   # the five sleeps
    assert busy["on_incl"] > 0 and busy["off_incl"] < 0.2 * busy["on_incl"]


def test_perf_clock_periods_become_seconds(peer_data):
    path = peer_data / "flamegraph-perf" / "perf-dd-stacks-01.txt"
    prof = read_profile(path)
    headers = [ln for ln in path.read_text().splitlines() if ln.startswith("dd ") and "cpu-clock" in ln]
    periods = [int(re.search(r":\s+(\d+) cpu-clock", h).group(1)) for h in headers]
    assert prof.weight_unit == "ns" and prof.seconds_per_unit == 1e-9
    assert sum(prof.on_cpu.values()) * prof.seconds_per_unit == pytest.approx(sum(periods) * 1e-9)
    # no period in the header: weights are sample counts
    assert read_profile(peer_data / "flamegraph-perf" / "perf-funcab-pid-01.txt").weight_unit == "samples"


def test_a_sampler_that_fails_to_attach_while_the_program_runs_is_started_again(tmp_path):
    from phasm_perf.collect.run import attach_sampler

    flag = tmp_path / "tried"
    # fails at once the first time (as Austin does when it lands on an interpreter still starting), works after
    fake = ["/bin/sh", "-c", f'if [ -e "{flag}" ]; then sleep 0.2; exit 0; fi; touch "{flag}"; '
                             'echo "not a Python process" >&2; exit 1']
    prog = subprocess.Popen(["sleep", "3"])
    try:
        with open(tmp_path / "log", "wb") as log:
            sampler, tries = attach_sampler(fake, prog, log)
            assert sampler.wait(timeout=10) == 0 and tries == 2
        assert "not a Python process" in (tmp_path / "log").read_text()  # the failed try's words are kept
        flag.unlink()
        always = ["/bin/sh", "-c", "exit 3"]
        with open(tmp_path / "log", "wb") as log:
            sampler, tries = attach_sampler(always, prog, log, tries=3)
        assert sampler.returncode == 3 and tries == 3  # it gives up, and the caller explains the failure
    finally:
        prog.kill()
        prog.wait()
    ended = subprocess.Popen(["true"])
    ended.wait()
    with open(tmp_path / "log", "wb") as log:
        sampler, tries = attach_sampler(["/bin/sh", "-c", "exit 3"], ended, log)
    assert tries == 1  # the program is gone: failing is not an attach problem, no retry


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), float("inf"), "3", None])
def test_check_weights_finds_a_bad_weight_among_good_ones(bad):
    """The C-level passes over the weights let no bad one through: it is an error, or dropped with ``force``."""
    from collections import Counter

    from phasm_perf.calltree.readers.base import Profile, check_weights

    def profile():
        return Profile(Counter({("a",): 1, ("a", "b"): 2.5, ("c",): bad, ("d",): True}))

    with pytest.raises(PhasmError, match="negative, infinite or non-numeric"):
        check_weights(profile(), "p.folded")
    kept = check_weights(profile(), "p.folded", force=True)
    assert dict(kept.on_cpu) == {("a",): 1, ("a", "b"): 2.5, ("d",): True} and "read with --force" in kept.notes[0]
    assert check_weights(Profile(Counter({("a",): 1, ("b",): 0.5})), "p.folded").notes == []


def test_austin_sampled_seconds_is_the_longest_thread_span_unreadable_samples_included(tmp_path):
    """What the samples cover, to set beside the run's wall time: a thread's sample intervals add up to the span it
    was sampled over, whether or not a sample's frames could be read; threads run side by side, so the longest."""
    from phasm_perf.calltree.readers.austin import parse_austin

    out = tmp_path / "p.austin"
    out.write_text("# austin: 3.7.0\n# mode: full\n\n"
                   "P1;T0:1;/a.py:main:3;/a.py:f:7 400000,0,0\n"
                   "P1;T0:1;/a.py:main:3;/a.py:g:9 500000,1,0\n"
                   "P1;T0:1;:INVALID: 100000,0,0\n"
                   "P1;T0:2;/a.py:worker:12 300000,1,0\n")
    prof = parse_austin(out)
    assert prof.sampled_seconds == pytest.approx(1.0)   # thread 1: 0.4 + 0.5 + 0.1 (the unreadable sample)
    assert sum(prof.on_cpu.values()) + sum(prof.off_cpu.values()) == 1_200_000   # the unreadable one is not a stack
    assert prof.threads == 2
