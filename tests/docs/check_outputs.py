"""The outputs shown on the pages still have the shape of a fresh run (scripts/docs_outputs.py): the same tables
with the same columns, the same rows (candidates, variables, batch sizes) in the same order; numbers may differ.

Run by ``make test-docs`` (the outputs that take seconds) and ``make test-docs-slow`` (bench, the torch profiler);
``make docs-outputs`` rewrites the pages from fresh runs when a change is meant.
"""

from __future__ import annotations

import re

import pytest

from scripts import docs_outputs as outputs

NAMES = list(outputs.OUTPUTS)


def test_every_output_marker_on_the_pages_is_known_and_each_known_output_is_on_its_page():
    pages = {p for o in outputs.OUTPUTS.values() for p in [o.page]} | {
        str(p.relative_to(outputs.ROOT)) for p in (outputs.ROOT / "playbook").glob("*.md")}
    marked = {m for p in pages for m in re.findall(r"<!-- docs-output: (\S+) -->", (outputs.ROOT / p).read_text())}
    assert marked == set(NAMES)
    for name in NAMES:
        assert outputs.shape(outputs.page_output(name)), f"{name}: no table in the page's output"


def test_shape_keeps_columns_and_row_order_and_ignores_numbers():
    a = "┃ # ┃ function ┃ share ┃\n│ 1 │ f │ 70% │\n│ 2 │ g │ 20% │\n│   │ (wrapped) │ │\n"
    assert outputs.shape(a) == [(("#", "function", "share"), ("f", "g"))]
    assert outputs.shape(a.replace("70%", "65%")) == outputs.shape(a)
    assert outputs.shape(a.replace("│ 1 │ f", "│ 1 │ h")) != outputs.shape(a)
    assert outputs.shape(a.replace("┃ share ┃", "┃ part ┃")) != outputs.shape(a)


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if outputs.OUTPUTS[n].slow else [])
                                  for n in NAMES])
def test_page_output_has_the_shape_of_a_fresh_run(name):
    fresh = outputs.run(name)
    assert outputs.shape(outputs.page_output(name)) == outputs.shape(fresh), (
        f"{outputs.OUTPUTS[name].page}: the output '{name}' no longer has the shape of a fresh run; "
        f"`make docs-outputs` regenerates it. A fresh run printed:\n{fresh}")
