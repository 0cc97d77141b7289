"""The report does not depend on Python's string hashing: different PYTHONHASHSEEDs, same bytes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import write_scenario

ROOT = Path(__file__).resolve().parent.parent

# A lock, strings in shared variables, a list and printed lines: anything
# that a set or dict of strings could reorder under another hash seed.
SCENARIO = """
    name: hash seeds
    shared: {log: "", names: [], turn: "none"}
    locks: [L]
    threads:
      alpha: |
        with L:
            log = log + "a"
            names.append("alpha")
        print(f"alpha saw {log}")
      beta: |
        turn = "beta"
        with L:
            log = log + "b"
            names.append("beta")
        print("beta", turn)
      gamma: |
        if turn == "beta":
            print("gamma after beta")
        else:
            print("gamma first")
        names.append("gamma")
    checks:
      final: ["len(names) == 3", "log == 'ab' or log == 'ba'"]
"""


def _explore_json(path: str, seed: str, *options: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "schedsim", "explore", path, "--json", *options],
                          capture_output=True, env=env, cwd=ROOT, timeout=120)


def test_explore_json_is_byte_identical_under_different_hash_seeds(tmp_path):
    """`python -m schedsim explore FILE --json` with PYTHONHASHSEED 0 and 12345 prints the same bytes."""
    path = write_scenario(tmp_path, SCENARIO, "seeds.yaml")
    first = _explore_json(path, "0")
    second = _explore_json(path, "12345")
    assert (first.returncode, first.stderr) == (0, b"")
    assert (second.returncode, second.stderr) == (0, b"")
    assert b'"gamma after beta"' in first.stdout and b'"alpha saw a"' in first.stdout
    assert first.stdout == second.stdout


def test_the_reduced_exploration_is_byte_identical_under_different_hash_seeds(tmp_path):
    """`explore --reduce por` chooses its stubborn sets by thread order, never by a set's iteration order."""
    path = write_scenario(tmp_path, SCENARIO, "seeds.yaml")
    first = _explore_json(path, "0", "--reduce", "por")
    second = _explore_json(path, "12345", "--reduce", "por")
    assert (first.returncode, first.stderr) == (0, b"")
    assert b'"reduction"' in first.stdout and first.stdout == second.stdout
