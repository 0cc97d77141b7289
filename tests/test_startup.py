"""Start-up: a small scenario's run is mostly loading modules, so what a job does not need stays unloaded.

Each check runs in a fresh interpreter (this one has loaded everything) and
looks at `sys.modules` afterwards.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "scipy", "networkx")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_command_line_loads_no_numpy_scipy_networkx_nor_the_other_commands():
    loaded = loaded_after("import schedsim.cli")
    assert not loaded & {*HEAVY, "schedsim.api", "schedsim.real.crosscheck", "schedsim.real.pyexport", "schedsim.sampling",
                         "schedsim.analyses.findings", "schedsim.reports.render"}
    assert "schedsim.engine.explorer" in loaded  # the check looks at the right interpreter


def test_the_package_loads_its_api_on_first_use():
    assert "schedsim.api" not in loaded_after("import schedsim")
    loaded = loaded_after("import schedsim\nassert callable(schedsim.explore)")
    assert "schedsim.api" in loaded


def test_the_api_names_stay_functions_when_the_stage_modules_of_those_names_load():
    """The stages `engine.replay` and `real.crosscheck` share their names with API functions, which stay functions."""
    code = ("import schedsim.engine.replay, schedsim.real.crosscheck, schedsim\n"
            "from schedsim import api\n"
            "assert schedsim.replay is api.replay and schedsim.crosscheck is api.crosscheck, (schedsim.replay,)\n"
            "from schedsim import replay\n"
            "assert replay is api.replay\n")
    assert "schedsim.api" in loaded_after(code)


def test_an_acyclic_graph_is_analysed_without_numpy_and_a_cyclic_one_with_it():
    run = ("from schedsim.analyses.analysis import analyse\nfrom schedsim.engine.compiler import compile_scenario\n"
           "from schedsim.engine.explorer import explore\nfrom schedsim.frontends.scenario import load\n"
           "analysis = analyse(explore(compile_scenario(load({path!r}))))\n")
    acyclic = loaded_after(run.format(path="scenarios/counter.yaml") + "assert analysis.interleavings == 20\n")
    assert not acyclic & set(HEAVY)
    cyclic = loaded_after(run.format(path="scenarios/peterson.yaml"))
    assert "numpy" in cyclic


def test_explore_of_an_acyclic_scenario_loads_no_numpy_and_of_a_cyclic_one_does():
    """The whole `explore` command: the findings load the starvation search (and numpy) only for a cycle."""
    run = ("import sys\nfrom schedsim.cli import main\nsys.argv = ['schedsim', 'explore', '--json', {path!r}]\n"
           "try:\n    main()\nexcept SystemExit:\n    pass\n")
    assert not loaded_after(run.format(path="scenarios/counter.yaml")) & {"numpy", "scipy", "schedsim.analyses.liveness"}
    assert {"numpy", "schedsim.analyses.liveness"} <= loaded_after(run.format(path="scenarios/peterson.yaml"))
