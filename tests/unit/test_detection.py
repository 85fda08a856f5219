"""Format detection by content: every ``perf script -F`` field selection, and every format in CRLF, UTF-16 and with
a BOM, detected and read as the plain file is."""

from __future__ import annotations

import codecs
from collections import Counter
from pathlib import Path

import pytest

from phasm_perf.calltree.readers import detect_format, read_perf_script, read_profile
from tests.conftest import PEER_DATA

DATA = Path(__file__).parents[1] / "data"
FIELDS = DATA / "perf-fields"
FIELD_FILES = sorted(p for p in FIELDS.glob("*.txt") if not p.name.endswith(".stackcollapse.txt"))
#: one real file of every format phasm-perf reads
SAMPLES = {
    "folded": PEER_DATA / "speedscope-samples/stackcollapse/simple.txt",
    "pyspy-raw": DATA / "samples/split.pyspy.txt",
    "perf-script": PEER_DATA / "flamegraph-perf/perf-funcab-pid-01.txt",
    "callgrind": PEER_DATA / "speedscope-samples/callgrind/callgrind.example.log",
    "speedscope": PEER_DATA / "speedscope-samples/speedscope/0.6.0/two-sampled.speedscope.json",
    "scalene": DATA / "scalene-heat.json",
    "austin": DATA / "samples/split.austin",
}


def _stackcollapse(path: Path) -> Counter:
    out: Counter = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        out[stack] += int(count)
    return out


def test_the_field_corpus_covers_every_selection():
    optional = {"pid", "tid", "cpu", "time", "period", "event"}
    with_comm = [p for p in FIELD_FILES if p.stem.startswith("comm") and not p.stem.endswith("nodso")]
    assert len(with_comm) == 2 ** len(optional)
    assert {f for p in with_comm for f in p.stem.split("-")} == optional | {"comm"}


@pytest.mark.parametrize("path", FIELD_FILES, ids=lambda p: p.stem)
def test_exact_reader_matches_stackcollapse_perf_on_every_field_selection(path):
    expected = _stackcollapse(path.with_name(path.stem + ".stackcollapse.txt"))
    assert Counter({";".join(k): v for k, v in read_perf_script(path).items()}) == expected


def _without_root(stacks: Counter) -> Counter:
    out: Counter = Counter()
    for stack, w in stacks.items():
        out[stack[1:]] += w
    return out


@pytest.mark.parametrize("path", FIELD_FILES, ids=lambda p: p.stem)
def test_every_field_selection_is_detected_and_read_as_the_full_one(path):
    """The same call stacks with the same weights (each sample's period in ns when the header has time, period and
    event; else 1 per sample), under each thread's name (``[unknown]`` when -F has no comm)."""
    reference = {"ns": read_profile(FIELDS / "comm-pid-tid-cpu-time-period-event.txt"),
                 "samples": read_profile(FIELDS / "comm-pid-tid.txt")}
    assert sum(reference["samples"].on_cpu.values()) == 27
    assert detect_format(path) == "perf-script"
    got = read_profile(path)
    assert _without_root(got.on_cpu) == _without_root(reference[got.weight_unit].on_cpu)
    roots = {s[0] for s in got.on_cpu}
    assert roots == ({"sim", "io_worker"} if path.stem.startswith("comm") else {"[unknown]"})


def test_a_header_without_pid_is_not_taken_for_a_name_with_its_time():
    # stackcollapse-perf.pl names such a sample "sim_4280.217687:" (one root per sample); read() names it "sim"
    got = read_profile(FIELDS / "comm-time-period.txt")
    script = read_perf_script(FIELDS / "comm-time-period.txt")
    assert len({s[0] for s in script}) > 2
    assert {s[0] for s in got.on_cpu} == {"sim", "io_worker"}


def _variants(data: bytes) -> dict[str, bytes]:
    text = data.decode("utf-8")
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return {"crlf": crlf.encode("utf-8"), "bom": codecs.BOM_UTF8 + data, "bom-crlf": codecs.BOM_UTF8 + crlf.encode(),
            "utf16le": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
            "utf16be-crlf": codecs.BOM_UTF16_BE + crlf.encode("utf-16-be")}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_every_format_reads_the_same_in_crlf_utf16_and_with_a_bom(tmp_path, fmt):
    src = SAMPLES[fmt]
    assert detect_format(src) == fmt
    plain = read_profile(src)
    assert plain.on_cpu or plain.off_cpu
    for name, data in _variants(src.read_bytes()).items():
        f = tmp_path / f"{name}{src.suffix}"
        f.write_bytes(data)
        assert detect_format(f) == fmt, name
        got = read_profile(f)
        assert (got.on_cpu, got.off_cpu, got.weight_unit) == (plain.on_cpu, plain.off_cpu, plain.weight_unit), name
