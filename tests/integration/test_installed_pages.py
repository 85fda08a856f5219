"""The HTML pages from an installed package (not the source tree): the templates and their CSS and JavaScript are
package data, and each page renders from them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import html5lib
import pytest

from tests.conftest import ROOT

#: what a wheel is built from (copied, so that the build leaves nothing in the source tree)
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "phasm_perf", "hardware_profiles"]

RENDER = textwrap.dedent('''
    import sys
    from pathlib import Path

    import phasm_perf
    from phasm_perf.bench.report import BenchReport
    from phasm_perf.report.bench import render_html

    target, out = Path(sys.argv[1]), Path(sys.argv[2])
    assert Path(phasm_perf.__file__).resolve().is_relative_to(target.resolve()), phasm_perf.__file__
    report = BenchReport.model_validate_json((out / "bench.json").read_text())
    (out / "bench.html").write_text(render_html(report))
''')


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``pip install --target`` of a copy of the sources: (target folder, environment that imports from it)."""
    work = tmp_path_factory.mktemp("installed")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    target = work / "target"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "COLUMNS": "160",
           "PHASM_PERF_HARDWARE_PATH": str(target / "share" / "phasm-perf" / "hardware_profiles")}
    return target, env


def _run(args, env, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_each_page_renders_from_the_installed_package_data(installed, tmp_path):
    target, env = installed
    shipped = sorted(p.name for p in (target / "phasm_perf" / "report" / "templates").iterdir())
    assert shipped == sorted(p.name for p in (ROOT / "phasm_perf" / "report" / "templates").iterdir())
    assert {"flamegraph.html", "flamegraph.js", "rank.html", "bench.html"} <= set(shipped)
    folded = tmp_path / "p.folded"
    folded.write_text("main (/home/u/p.py:1);<b>step</b> (/home/u/p.py:5) 300\nmain (/home/u/p.py:1);io 100\n")
    where = _run(["-c", "import phasm_perf; print(phasm_perf.__file__)"], env, tmp_path).stdout
    assert where.startswith(str(target)), where                  # the installed copy, not the source tree
    _run(["-m", "phasm_perf", "flamegraph", folded, "-o", tmp_path / "fg.html"], env, tmp_path)
    _run(["-m", "phasm_perf", "rank", folded, "--hardware", "a100-40gb-sxm", "--html", tmp_path / "rank.html"],
         env, tmp_path)
    from tests.unit.test_bench import _report

    (tmp_path / "bench.json").write_text(_report().model_dump_json())
    (tmp_path / "render.py").write_text(RENDER)
    _run(["render.py", target, tmp_path], env, tmp_path)

    fg = html5lib.parse((tmp_path / "fg.html").read_text(), namespaceHTMLElements=False)
    assert "flame-data" in [s.get("id") for s in fg.iter("script")]
    assert "canvas.addEventListener" in fg.findall(".//script")[1].text            # flamegraph.js, inlined
    assert "#search" in fg.find(".//style").text                                  # flamegraph.css, inlined
    rank = html5lib.parse((tmp_path / "rank.html").read_text(), namespaceHTMLElements=False)
    assert "<b>step</b>" in [c.text for c in rank.iter("code")] and "border-collapse" in rank.find(".//style").text
    assert rank.findall(".//{http://www.w3.org/2000/svg}svg")
    bench = html5lib.parse((tmp_path / "bench.html").read_text(), namespaceHTMLElements=False)
    assert bench.find(".//h1/code").text == "m:<f>&" and "border-collapse" in bench.find(".//style").text


@pytest.mark.slow
def test_the_in_program_hook_runs_from_the_installed_package_data(installed, tmp_path):
    """`vars` puts the hook's sitecustomize (package data) on the program's PYTHONPATH: from an installed copy too."""
    from tests.conftest import PROGRAMS

    target, env = installed
    assert (target / "phasm_perf" / "core" / "hook" / "_site" / "sitecustomize.py").is_file()
    proc = _run(["-m", "phasm_perf", "vars", "--format", "json", "--function", "legacy:step", "--",
                 PROGRAMS / "legacy.py", "4"], env, tmp_path)
    import json

    report = json.loads(proc.stdout)
    assert report["calls"] == 32 and {v["name"] for v in report["outputs"]} == {"out", "stage.last", "CALLS",
                                                                              "return"}
