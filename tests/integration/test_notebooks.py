"""The notebooks run top to bottom with nbclient, on a kernel of this interpreter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",  # the native kernel: this interpreter
                                     
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "the notebook should draw at least one plot"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_use_only_the_python_api(path):
    """Notebooks are written against ``phasm_perf.api`` (what users are promised stays stable), never against the
    package's internals."""
    nb = nbformat.read(path, as_version=4)
    imports = [ln.strip() for c in nb.cells if c.cell_type == "code" for ln in c.source.splitlines()
               if re.match(r"\s*(from|import)\s+phasm_perf", ln)]
    assert imports, f"{path.name} does not use phasm-perf"
    assert all(re.fullmatch(r"from phasm_perf import api|import phasm_perf\.api( as \w+)?", ln) for ln in imports), \
        imports
