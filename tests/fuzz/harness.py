"""The fuzzing harness: seeds (real files of every format phasm-perf reads), mutations, and the one property every
reader must have: a :class:`~phasm_perf.calltree.readers.base.Profile` that holds only finite, non-negative weights
with a total above zero, or one :class:`~phasm_perf.core.errors.PhasmError`. Anything else is a crash; its input
is written to ``$PHASM_FUZZ_CRASHES`` (default ``.fuzz-crashes/``) to become a regression file under
``tests/data/fuzz-regressions/FORMAT/``."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections import Counter
from pathlib import Path

from hypothesis import strategies as st

from phasm_perf import api
from phasm_perf.calltree.readers import detect_format, read_profile
from phasm_perf.core.bundle import BundleWriter, CollectorInfo, Meta, load_bundle
from phasm_perf.core.errors import PhasmError

TESTS = Path(__file__).resolve().parents[1]
DATA = TESTS / "data"
PEER = DATA / "peer"
REGRESSIONS = DATA / "fuzz-regressions"
CRASHES = Path(os.environ.get("PHASM_FUZZ_CRASHES", TESTS.parent / ".fuzz-crashes"))

#: the readers fuzzed, each with its real seed files (small ones: every case reads a whole file)
SEED_FILES = {
    "folded": [PEER / "speedscope-samples/stackcollapse" / n for n in
               ("simple.txt", "recursion.txt", "simple-with-invalids.txt", "alternating.txt")],
    "pyspy-raw": [DATA / "samples/split.pyspy.txt"],
    "perf-script": [PEER / "flamegraph-perf/perf-dd-stacks-01.txt", PEER / "flamegraph-perf/perf-js-stacks-01.txt",
                    PEER / "speedscope-samples/linux-perf/one-sample.linux-perf.txt",
                    DATA / "perf-fields/comm-time-period.txt", DATA / "perf-fields/none.txt"],
    "callgrind": sorted((PEER / "speedscope-samples/callgrind").glob("*.log")),
    "speedscope": sorted((PEER / "speedscope-samples/speedscope").rglob("*.json")),
    "scalene": [DATA / "scalene-heat.json"],
    "austin": [DATA / "samples/split.austin"],
}
READERS = [*SEED_FILES, "bundle"]


def _trim(fmt: str, data: bytes) -> bytes:
    """Seeds small enough for thousands of cases a minute: Scalene's JSON down to a few lines of one file, Austin's
    output to its first 60 lines."""
    if fmt == "scalene":
        doc = json.loads(data)
        keep = {k: doc[k] for k in ("elapsed_time_sec", "max_footprint_mb") if k in doc}
        name, f = next((n, f) for n, f in doc["files"].items() if f.get("lines"))
        busy = [ln for ln in f["lines"] if ln.get("n_cpu_percent_python") or ln.get("n_cpu_percent_c")]
        keep["files"] = {name: {"functions": f.get("functions", [])[:4], "lines": busy[:10] + f["lines"][:2]}}
        return json.dumps(keep, indent=1).encode()
    if fmt == "austin":
        return b"".join(data.splitlines(keepends=True)[:60])
    return data


SEEDS = {fmt: [_trim(fmt, p.read_bytes()) for p in paths] for fmt, paths in SEED_FILES.items()}

#: bytes that readers have to think about: numbers at the edges, separators, encodings, control characters
TOKENS = [b"0", b"-1", b"nan", b"inf", b"-inf", b"1e400", b"1e-400", b"99999999999999999999999999999", b"0x",
          b"0xffffffffffffffffffff", b"4.5", b";", b";;", b" ", b"\t", b"\r", b"\r\n", b"\n", b"\n\n", b"\x00",
          b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", "é∂😀".encode(), b"(", b")", b"[", b"]", b"{", b"}", b'"', b":",
          b"=", b"/", b"->", b"#", b"null", b"true", b"[]", b"{}", b"fn=", b"fn=(1)", b"fn=(99)", b"cfn=(1)",
          b"calls=", b"calls=2 3", b"calls=-1", b"events: Ir Dr", b"positions: line instr", b"totals: 5",
          b"summary: 7", b"fl=", b"fi=", b"ob=", b"+3", b"-2", b"*", b"P1;T1;", b"a:b:1", b"# mode: full",
          b"cycles:", b"cpu-clock:", b" 1001 cpu-clock: ", b"[unknown]", b"(anonymous namespace)", b"_[k]"]
NUMBERS = [b"0", b"-1", b"-0", b"nan", b"inf", b"1e308", b"1e400", b"2.5", b"18446744073709551616", b"007", b""]


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with one to six mutations: cut, delete, insert bytes or tokens, change a number, repeat or swap lines;
    a JSON seed, most of the time, only has values replaced (so that the reader gets past the JSON parser)."""
    data = draw(st.sampled_from(seeds))
    ops = _OPS
    if data.lstrip().startswith(b"{") and draw(st.integers(0, 9)) < 7:
        ops = [_json_value, _json_value, _number]
    for _ in range(draw(st.integers(1, 6))):
        data = draw(st.sampled_from(ops))(draw, data)
    return data


def _pos(draw, data: bytes) -> int:
    return draw(st.integers(0, len(data)))


def _cut(draw, data):
    return data[:_pos(draw, data)]


def _delete(draw, data):
    i = _pos(draw, data)
    return data[:i] + data[i + draw(st.integers(1, 64)):]


def _insert_bytes(draw, data):
    i = _pos(draw, data)
    return data[:i] + draw(st.binary(min_size=1, max_size=16)) + data[i:]


def _insert_token(draw, data):
    i = _pos(draw, data)
    return data[:i] + draw(st.sampled_from(TOKENS)) + data[i:]


def _number(draw, data):
    starts = [i for i in range(len(data)) if data[i:i + 1].isdigit() and (i == 0 or not data[i - 1:i].isdigit())]
    if not starts:
        return data
    i = draw(st.sampled_from(starts))
    j = i
    while j < len(data) and data[j:j + 1].isdigit():
        j += 1
    return data[:i] + draw(st.sampled_from(NUMBERS)) + data[j:]


def _lines(draw, data):
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    what = draw(st.sampled_from(["repeat", "swap", "drop"]))
    if what == "repeat":
        lines[i:i + 1] = [lines[i]] * draw(st.integers(2, 50))
    elif what == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        del lines[i]
    return b"".join(lines)


def _json_value(draw, data):
    """A JSON value somewhere in the document replaced by one of another type (the file stays valid JSON)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    paths = list(_json_paths(doc, ()))
    if not paths:
        return data
    path = draw(st.sampled_from(paths))
    value = draw(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                           st.text(max_size=8), st.just([]), st.just({}), st.lists(st.integers(-3, 10), max_size=4)))
    if not path:
        return json.dumps(value).encode()
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = value
    return json.dumps(doc).encode()


def _json_paths(doc, here):
    yield here
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in list(items)[:40]:
        yield from _json_paths(v, here + (k,))


_OPS = [_cut, _delete, _insert_bytes, _insert_token, _number, _lines, _json_value]


# -- the property ---------------------------------------------------------------------------------------------------

def check_file(path: Path, fmt: str) -> str:
    """Read ``path`` as ``fmt`` and as detected, strictly and with ``force``: each a valid profile or one
    PhasmError (one line). Returns what happened first: 'read' or 'refused'."""
    outcome = _one(lambda: read_profile(path, fmt), path)
    if outcome == "refused":
        _one(lambda: read_profile(path, fmt, force=True), path)
    try:
        detect_format(path)
    except PhasmError as exc:
        _one_line(exc)
    _one(lambda: api.load_profile(path).on_cpu, path)
    return outcome


def _one(read, path: Path, nonempty: bool = True) -> str:
    try:
        result = read()
    except PhasmError as exc:
        _one_line(exc)
        return "refused"
    stacks = [result.on_cpu, result.off_cpu] if hasattr(result, "off_cpu") else [result]
    weights = [w for c in stacks for w in c.values()]
    assert all(isinstance(w, (int, float)) and math.isfinite(w) and w >= 0 for w in weights), path
    assert sum(weights) > 0 or not nonempty  # a bundle may hold no sample (the program ran too briefly)
    return "read"


def _one_line(exc: PhasmError) -> None:
    assert "\n" not in str(exc) and str(exc), repr(exc)


def keep_crash(fmt: str, data: bytes) -> Path:
    """Save a crashing input (to become a regression file)."""
    CRASHES.mkdir(parents=True, exist_ok=True)
    out = CRASHES / f"{fmt}-{hashlib.sha1(data).hexdigest()[:12]}"
    out.write_bytes(data)
    return out


# -- bundles --------------------------------------------------------------------------------------------------------

def base_bundle(folder: Path) -> Path:
    """A real bundle (written by BundleWriter, files recorded in meta.json) to mutate."""
    w = BundleWriter(folder / "base.phasm")
    w.write_stacks("oncpu.folded", Counter({("main", "loop", "kernel"): 700, ("main", "loop", "io"): 90,
                                            ("main", "setup"): 10}))
    w.write_stacks("offcpu.folded", Counter({("main", "loop", "wait"): 200}))
    w.write_json("counts.json", {"status": "exact", "functions": [{"function": "kernel", "calls": 40}]})
    return w.commit(Meta(tool_version="fuzz", argv=["prog.py"], cwd=str(folder), kind="python", start_time="",
                         wall_seconds=1.0, exit_status=0, status="complete", weight_unit="us",
                         seconds_per_unit=1e-6, collector=CollectorInfo(name="austin", off_cpu=True)))


BUNDLE_FILES = ["oncpu.folded", "offcpu.folded", "meta.json", "counts.json"]


def check_bundle(base: Path, work: Path, name: str, data: bytes | None) -> str:
    """``base`` with file ``name`` replaced by ``data`` (None: removed), loaded strictly and with force."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work)
    if data is None:
        (work / name).unlink()
    else:
        (work / name).write_bytes(data)
    outcome = _one(lambda: load_bundle(work), work, nonempty=False)
    _one(lambda: load_bundle(work, force=True), work, nonempty=False)
    _one(lambda: api.load_profile(work, force=True), work, nonempty=False)
    return outcome
