"""The markers that tests/docs/plugin.py reads on the pages: each one sits right before the block it marks (a marker
anywhere else would mark nothing, silently), a skip says why, and every output marker names a known output."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "playbook").glob("*.md"))]
MARKER = re.compile(r"^( *)<!--[ \t]*doctest:[ \t]*(\S+)[ \t]*(.*?)[ \t]*-->[ \t]*\n(.*)$", re.M)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_each_doctest_marker_precedes_a_shell_or_python_block_and_a_skip_says_why(page):
    text = page.read_text()
    for indent, kind, reason, next_line in MARKER.findall(text):
        assert kind in {"slow", "gpu", "skip", "needs"}, f"{page.name}: unknown marker doctest: {kind}"
        assert re.fullmatch(rf"{indent}```(bash|python)\s*", next_line), \
            f"{page.name}: '<!-- doctest: {kind} -->' is not right before a bash or python block: {next_line!r}"
        if kind in ("skip", "needs"):
            assert reason, f"{page.name}: 'doctest: {kind}' without a reason"


def test_the_marker_pattern_finds_a_misplaced_marker():
    text = "<!-- doctest: slow -->\n\n```bash\nls\n```\n"
    (_, kind, _, next_line), = MARKER.findall(text)
    assert kind == "slow" and next_line == ""
