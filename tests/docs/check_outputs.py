"""The outputs shown on the pages still have the shape of a fresh run (scripts/docs_outputs.py): the same tables
with the same columns, the same rows (candidates, variables, batch sizes) in the same order; numbers may differ.

Run by ``make test-docs`` (the outputs that take seconds) and ``make test-docs-outputs-slow`` (bench, the torch
profiler);
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
    a = "┃ # ┃ function ┃ share ┃\n│ 1 │ f │ 70% │\n│ 2 │ g │ 20% │\n│   │ (wrapped) │ │\n│ 3 │ h │ 5% │\n"
    assert outputs.shape(a) == [(("#", "function", "share"), ("f", "g", "h"))]
    assert outputs.same_shape(a, a.replace("70%", "65%"))
    assert not outputs.same_shape(a, a.replace("│ 1 │ f", "│ 1 │ k"))
    assert not outputs.same_shape(a, a.replace("┃ share ┃", "┃ part ┃"))
    swapped = a.replace("│ 2 │ g │ 20% │", "│ 2 │ h │ 20% │").replace("│ 3 │ h │ 5% │", "│ 3 │ g │ 5% │")
    assert not outputs.same_shape(a, swapped)
    assert outputs.same_shape(a, swapped.replace("│ 3 │ g", "│ ≈3 │ g"))          # tied in the fresh run
    assert outputs.same_shape(a.replace("│ 3 │ h", "│ ≈3 │ h"), swapped)          # or on the page
    assert not outputs.same_shape(a, swapped.replace("│ 2 │ h", "│ ≈2 │ h"))      # h tied with f, not with g


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if outputs.OUTPUTS[n].slow else [])
                                  for n in NAMES])
def test_page_output_has_the_shape_of_a_fresh_run(name):
    fresh = outputs.run(name)
    assert outputs.same_shape(outputs.page_output(name), fresh), (
        f"{outputs.OUTPUTS[name].page}: the output '{name}' no longer has the shape of a fresh run; "
        f"`make docs-outputs` regenerates it. A fresh run printed:\n{fresh}")
