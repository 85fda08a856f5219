"""notebooks/roofline.ipynb runs top to bottom on a kernel of this interpreter, and says what it should."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "roofline.ipynb"


def test_roofline_notebook_executes_and_answers():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # bars, sweep, roofline
    be = next(o["data"]["text/plain"] for o in outputs if "boris_push (1.19 ms/call)" in
              o.get("data", {}).get("text/plain", ""))
    assert "never" in be  # some device never breaks even for field_at
    assert "h100-sxm" in be and "xeon-8380" in be
