"""The flame-graph writers: every format parametrised, speedscope JSON against speedscope's schema, folded output
round trip, HTML and SVG parsed (untrusted names stay text), the differential view's normalisation."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import html5lib
import pytest

from phasm_perf.api import bundle_from_profile
from phasm_perf.calltree.readers import Profile, read_profile
from phasm_perf.report.flamegraph import WRITERS, render_flamegraph
from phasm_perf.report.flamegraph.data import flame_data
from phasm_perf.report.flamegraph.html import payload
from tests.conftest import PEER_DATA

EVIL = ['<script>document.body.setAttribute("data-pwned","1")</script>', '" onmouseover="x', "a&b</title><b>",
        "</script><img src=x onerror=alert(1)>"]


def _bundle(on: Counter, off: Counter | None = None, name: str = "p.folded", spu: float = 1e-3):
    prof = Profile(on, off or Counter(), format="folded", weight_unit="ms", seconds_per_unit=spu,
                   off_cpu_known=off is not None)
    return bundle_from_profile(prof, Path(name))


def _evil_bundle():
    on = Counter({("main (/home/u/prog.py:1)", f"{e} (/home/u/prog.py:{i + 5})"): 100 + i for i, e in enumerate(EVIL)})
    on[("main (/home/u/prog.py:1)", "step (/home/u/prog.py:30)")] = 900
    off = Counter({("main (/home/u/prog.py:1)", "wait (/home/u/prog.py:40)"): 300})
    return _bundle(on, off)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_writer_renders_text_with_every_frame(fmt):
    b = _bundle(Counter({("main", "solve", "step"): 30, ("main", "io"): 10}), Counter({("main", "wait"): 5}))
    text, _ = render_flamegraph(b, fmt)
    assert text.strip()
    for name in ("main", "solve", "step", "io", "wait"):
        assert name in text


def test_folded_output_round_trips_with_integer_counts(tmp_path):
    on = Counter({("main", "a b", "c"): 2.5, ("main", "d"): 1.25})   # decimal weights: written in microseconds
    text, _ = render_flamegraph(_bundle(on, spu=1.0), "folded")
    for line in text.splitlines():
        assert re.fullmatch(r"[^ ;][^;]*(;[^;]+)* \d+", line), line   # flamegraph.pl's and speedscope's form
        assert "; " not in line and " ;" not in line
    f = tmp_path / "out.folded"
    f.write_text(text)
    back = read_profile(f).on_cpu
    assert back == Counter({("main", "a b", "c"): 2_500_000, ("main", "d"): 1_250_000})


def test_speedscope_output_is_valid_and_reads_back(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = PEER_DATA / "speedscope-samples" / "file-format-schema.json"
    if not schema_path.is_file():
        pytest.skip("speedscope schema (peer data) not found")
    schema = json.loads(schema_path.read_text())
    b = _evil_bundle()
    by_function = Counter()  # the default: a frame per function (its lines merged)
    for frames, w in (b.on_cpu + b.off_cpu).items():
        by_function[tuple(re.sub(r":\d+\)$", ")", f) for f in frames)] += w
    for lines, expected in ((True, b.on_cpu + b.off_cpu), (False, by_function)):
        text, _ = render_flamegraph(b, "speedscope", lines=lines)
        doc = json.loads(text)
        jsonschema.validate(doc, {**schema, "$ref": "#/definitions/FileFormat.File"})
        f = tmp_path / "x.speedscope.json"
        f.write_text(text)
        back = read_profile(f)
        assert back.on_cpu == expected and back.seconds_per_unit == b.meta.seconds_per_unit == 1e-3
        assert [p["name"] for p in doc["profiles"]] == ["on-CPU", "off-CPU"]


def test_html_is_self_contained_and_names_stay_text():
    text, _ = render_flamegraph(_evil_bundle(), "html")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)          # no CDN, nothing fetched
    doc = html5lib.parse(text, namespaceHTMLElements=False)
    scripts = doc.findall(".//script")
    assert len(scripts) == 2 and scripts[0].get("type") == "application/json" and not scripts[1].get("src")
    assert not doc.findall(".//img") and not doc.findall(".//b")
    for el in doc.iter():
        assert not any(a.lower().startswith("on") for a in el.attrib), el.attrib
    data = json.loads(scripts[0].text)
    for e in EVIL:
        assert any(n.startswith(e) for n in data["names"]), e
    assert doc.find(".//title").text.endswith("flame graph") and "p.folded" in doc.find(".//title").text


def test_html_highlights_candidates_with_scores():
    data = payload(flame_data(_evil_bundle(), highlights=__import__(
        "phasm_perf.report.flamegraph.data", fromlist=["highlights_of"]).highlights_of(_evil_bundle())))
    ranks = {c[5]: c for c in data["candidates"]}
    assert "step" in ranks and ranks["step"][1] == pytest.approx(900 / (sum(100 + i for i in range(4)) + 900 + 300))
    step_names = [i for i, n in enumerate(data["names"]) if n.startswith("step ")]
    assert all(data["cand"][i] >= 0 for i in step_names)


def test_svg_parses_and_escapes_names():
    text, _ = render_flamegraph(_evil_bundle(), "svg")
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    assert not root.findall(f".//{ns}script")
    for el in root.iter():
        assert not any(a.lower().startswith("on") for a in el.attrib)
    tips = [t.text for t in root.iter(f"{ns}title")]
    for e in EVIL:
        assert any(t and e in t for t in tips), e


def test_differential_view_normalises_totals_and_colours():
    before = _bundle(Counter({("main", "a"): 50, ("main", "b"): 50}), name="before.folded")
    after = _bundle(Counter({("main", "a"): 300, ("main", "b"): 100}), name="after.folded")
    fd = flame_data(after, before)
    p = payload(fd)
    assert p["diff"] and p["a"][0] == pytest.approx(p["b"][0])            # OTHER scaled to SOURCE's total
    names = [p["names"][i] for i in p["name"]]
    a, b = names.index("a"), names.index("b")
    assert p["a"][a] == 300 and p["b"][a] == pytest.approx(200)            # more in SOURCE: red
    assert p["a"][b] == 100 and p["b"][b] == pytest.approx(200)            # less: blue
    svg, _ = render_flamegraph(after, "svg", other=before)
    assert "rgb(255," in svg and ",255)" in svg


def test_narrow_paths_are_merged_and_the_page_says_how_many():
    on = Counter({("main", f"f{i}"): 1 for i in range(500)})
    on[("main", "big")] = 100_000
    text, notes = render_flamegraph(_bundle(on), "html", min_width=1e-3)
    assert any("500 call paths" in n for n in notes)
    data = json.loads(html5lib.parse(text, namespaceHTMLElements=False).findall(".//script")[0].text)
    assert data["merged"] == 500 and len(data["parent"]) == 4           # all, main, big, one merged frame


def test_candidates_are_ranked_up_to_the_limit_unless_asked(monkeypatch):
    import phasm_perf.report.flamegraph as fg

    b = _evil_bundle()
    text, notes = render_flamegraph(b, "html")
    assert json.loads(html5lib.parse(text, namespaceHTMLElements=False).findall(".//script")[0].text)["candidates"]
    monkeypatch.setattr(fg, "RANK_LIMIT", 2)
    text, notes = render_flamegraph(b, "html")
    data = json.loads(html5lib.parse(text, namespaceHTMLElements=False).findall(".//script")[0].text)
    assert not data["ranked"] and not data["candidates"]
    assert any("candidates not ranked" in n and "--candidates" in n for n in notes)
    text, _ = render_flamegraph(b, "html", highlight=True)
    assert json.loads(html5lib.parse(text, namespaceHTMLElements=False).findall(".//script")[0].text)["candidates"]


def test_a_frame_is_a_function_unless_lines_are_asked_for():
    """A function with four hot lines is one box by default, four with --lines."""
    u = "/home/u/prog.py"
    on = Counter({(f"main ({u}:1)", f"kernel ({u}:{line})"): 10 * line for line in (11, 12, 13, 14)})
    on[(f"main ({u}:2)", f"io ({u}:30)")] = 5
    b = _bundle(on)
    data = flame_data(b)
    names = [data.name(n) for n in data.order()[1:]]
    assert names.count(f"kernel ({u})") == 1 and names.count(f"main ({u})") == 1
    kernel = next(n for n in data.order()[1:] if data.name(n) == f"kernel ({u})")
    assert data.trie.incl[kernel].sum() == 500  # the four lines' time in one box
    lined = flame_data(b, lines=True)
    names = [lined.name(n) for n in lined.order()[1:]]
    assert sum(1 for n in names if n.startswith("kernel (")) == 4 and f"kernel ({u}:13)" in names
    folded, _ = render_flamegraph(b, "folded")
    assert f"main ({u});kernel ({u}) 500" in folded.splitlines()
    assert f"kernel ({u}:13)" in render_flamegraph(b, "folded", lines=True)[0]
