"""examples/lost_update.ipynb runs top to bottom and still shows what it stores.

Skipped where nbclient or ipykernel is not installed (`pip install ".[notebook]"`).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "lost_update.ipynb"


def shown(cell) -> list:
    """What a code cell shows: its printed text, and its result as text and HTML."""
    return [(output.get("name"), output.get("text"), output.get("data", {}).get("text/plain"),
             output.get("data", {}).get("text/html"), output.get("ename")) for output in cell.outputs]


def test_the_lost_update_notebook_runs_and_shows_what_it_stores(monkeypatch):
    """Each cell's fresh output is the stored one: the notebook walks through what schedsim says today."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    stored = nbformat.read(NOTEBOOK, as_version=4)
    fresh = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(fresh, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [(old, new) for old, new in zip(stored.cells, fresh.cells) if old.cell_type == "code"]
    assert len(code) >= 5
    for old, new in code:
        assert shown(new) == shown(old), (f"this cell shows something else now; run the notebook again and save it "
                                          f"(in Jupyter: Run All, then Save) in {NOTEBOOK.parent.name}/:\n"
                                          f"{old.source}")
    result_cell = next(new for _, new in code if "schedsim.explore(" in new.source)
    assert "<table>" in result_cell.outputs[0]["data"]["text/html"]
