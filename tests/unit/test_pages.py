"""The HTML pages (report/templates/): a name from a profile is text on every page, parsed as a browser parses it
(html5lib), and these checks catch a page rendered without autoescaping; JSON inside ``<script>`` cannot end its
element; matplotlib labels from profiles are drawn literally; a static file that would close its element is refused;
the bench summary on the terminal prints names as text."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import html5lib
import pytest
from jinja2 import DictLoader, Environment

from phasm_perf.api import bundle_from_profile
from phasm_perf.calltree.readers import Profile
from phasm_perf.hardware import load
from phasm_perf.report import pages
from phasm_perf.report.bench import render_html as bench_html
from phasm_perf.report.flamegraph import render_flamegraph
from phasm_perf.report.predictions import PredictOptions, attach_predictions
from phasm_perf.report.rank_html import render_html as rank_html
from tests.unit.test_bench import _report as bench_report
from tests.unit.test_predict import candidate, report as rank_report

#: closes the <title> it may land in (whose text is never markup), then injects an element with a handler
NAME = "</title><img src=x onerror=alert(1)>"
#: and one for matplotlib: an XML comment's end, and mathtext that does not parse
PLOT_NAME = "a-->$\\frac{$" + NAME


def _tree(page: str):
    return html5lib.parse(page, namespaceHTMLElements=False)


def _injected(page: str) -> list[str]:
    """Elements the names put into the page: an <img src=x>, any on* handler attribute."""
    bad = []
    for el in _tree(page).iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.endswith("img") and el.get("src") == "x":
            bad.append("img src=x")
        bad += [f"{el.tag} {a}" for a in el.attrib if a.lower().startswith("on")]
    return bad


def _scripts(tree) -> list:
    """<script> elements, HTML's or SVG's."""
    return [el for el in tree.iter() if isinstance(el.tag, str) and el.tag.split("}")[-1] == "script"]


def _flame_page() -> str:
    on = Counter({("main (/home/u/prog.py:1)", f"{NAME} (/home/u/prog.py:5)"): 300,
                  ("main (/home/u/prog.py:1)", "step (/home/u/prog.py:9)"): 100})
    prof = Profile(on, Counter(), format="folded", weight_unit="ms", seconds_per_unit=1e-3, off_cpu_known=False)
    text, _ = render_flamegraph(bundle_from_profile(prof, Path(f"{NAME}.folded")), "html")
    return text


def _rank_page(tmp_path: Path) -> str:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    ops = [{"name": f"aten::{PLOT_NAME}", "calls": 3, "cpu_time_us": 900.0, "flops": 20_000_000,
            "input_bytes": 8_000_000, "output_bytes": 1_000_000}]
    (bundle / "torch_ops.json").write_text(json.dumps({"status": "recorded", "operators": ops}))
    evil = candidate(NAME, key="k").model_copy(update={"file": NAME})
    plot = candidate(PLOT_NAME, key="p").model_copy(update={"rank": 2})
    rep = rank_report(evil, plot).model_copy(update={"source": str(bundle), "argv": ["python", NAME],
                                                     "notes": [NAME]})
    rep = attach_predictions(rep, {"k": (3, 3), "p": (2, 1)},
                             PredictOptions(hardware="a100-40gb-sxm", batches=(1, 32, 1024)))
    return rank_html(rep, load("a100-40gb-sxm"))


def _bench_page() -> str:
    r = bench_report()
    r.function = NAME
    r.capture.skipped_inputs[0].name = NAME
    r.training.errors[0].name = NAME
    r.prediction.hardware = PLOT_NAME      # in the plot's legend too (a PNG: drawn, not parsed)
    r.notes = [NAME]
    return bench_html(r)


def _pages(tmp_path: Path) -> dict[str, str]:
    return {"flamegraph": _flame_page(), "rank": _rank_page(tmp_path), "bench": _bench_page()}


def test_names_are_text_on_every_page(tmp_path):
    got = _pages(tmp_path)
    for page, text in got.items():
        assert _injected(text) == [], page
        assert NAME in _tree(text).find(".//title").text, page
    flame = _tree(got["flamegraph"])
    data = json.loads(flame.findall(".//script")[0].text)
    assert any(n.startswith(NAME) for n in data["names"])
    rank = _tree(got["rank"])
    assert {NAME, PLOT_NAME, f"aten::{PLOT_NAME}"} <= {c.text for c in rank.iter("code")}
    assert len(rank.findall(".//{http://www.w3.org/2000/svg}svg")) == 1 and not _scripts(rank)
    assert [li.text for li in rank.iter("li") if li.get("class") == "note"][0] == NAME
    bench = _tree(got["bench"])
    assert bench.find(".//h1/code").text == NAME and not _scripts(bench)
    assert [img.get("src")[:22] for img in bench.iter("img")] == ["data:image/png;base64,"]


def test_the_checks_catch_a_page_rendered_without_autoescaping(tmp_path, monkeypatch):
    unsafe = pages.environment().overlay(autoescape=False)
    monkeypatch.setattr(pages, "environment", lambda: unsafe)
    for page, text in _pages(tmp_path).items():
        assert "img src=x" in _injected(text), page


def test_json_in_the_flame_graph_cannot_end_its_script_element():
    names = ["</script><b>x", "<!--", "a\u2028b\u2029c", "it's", "&amp;"]
    on = Counter({("main", n): 10 + i for i, n in enumerate(names)})
    prof = Profile(on, Counter(), format="folded", weight_unit="ms", seconds_per_unit=1e-3, off_cpu_known=False)
    text, _ = render_flamegraph(bundle_from_profile(prof, Path("p.folded")), "html")
    raw = text.split('id="flame-data">', 1)[1].split("</script>", 1)[0]
    for forbidden in ("<", ">", "&", "'", "\u2028", "\u2029"):
        assert forbidden not in raw, forbidden
    assert set(names) <= set(json.loads(raw)["names"])


def test_a_name_that_is_mathtext_is_drawn_literally():
    from matplotlib.figure import Figure

    from phasm_perf.report.roofline_plot import literal

    name = "f$\\frac{$x"
    raw = Figure()
    raw.text(0, 0, name)
    with pytest.raises(ValueError):
        raw.savefig(io.BytesIO(), format="svg")     # what a function of that name did to rank --html
    fig = Figure()
    fig.text(0, 0, literal(name))
    fig.savefig(io.BytesIO(), format="svg")


def test_a_static_file_that_would_close_its_element_is_refused(monkeypatch):
    env = Environment(loader=DictLoader({"bad.js": "let s = '</SCRIPT>';", "ok.css": "b{color:red}"}))
    monkeypatch.setattr(pages, "environment", lambda: env)
    assert pages.inline("ok.css") == "b{color:red}"
    with pytest.raises(ValueError, match="bad.js"):
        pages.inline("bad.js")


def test_the_bench_summary_prints_names_as_text_not_rich_markup():
    from rich.console import Console

    from phasm_perf.report.bench import render_terminal

    r = bench_report()
    r.function = "m:f[/bold][red]x"          # rich markup: a closing tag that matches nothing raised MarkupError
    r.notes = ["path [/] kept"]
    console = Console(file=io.StringIO(), width=132, highlight=False)
    render_terminal(r, console)
    out = console.file.getvalue()
    assert out.startswith("m:f[/bold][red]x  10 calls") and "note: path [/] kept" in out
