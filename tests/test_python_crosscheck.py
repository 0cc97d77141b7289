"""crosscheck of a .py file: its free runs run the file itself on real threads, in child processes."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedsim.cli import main
from schedsim.engine.compiler import compile_scenario
from schedsim.real.crosscheck import Options, crosscheck
from schedsim.frontends import pyrun
from schedsim.real.pyexport import Limits
from schedsim.frontends.scenario import load

EXAMPLES = Path(__file__).parent.parent / "scenarios" / "python"
QUICK = Limits(still_seconds=0.3, deadline_seconds=3.0)


def runs_of(tmp_path: Path, source: str, shared: tuple[str, ...] = (), runs: int = 1) -> list[dict]:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source))
    batch = pyrun.free(pyrun.FileRuns(str(path), path.read_text(), shared, runs, 0, False, QUICK))
    assert batch.killed == 0
    return batch.records


def test_a_run_keeps_the_files_output_and_shared_values(tmp_path):
    [record] = runs_of(tmp_path, """
        import threading
        x = 0
        def w():
            global x
            x = 5
            print("w", x, flush=True)
        t = threading.Thread(target=w)
        t.start()
        t.join()
    """, ("x",))
    assert (record["status"], record["final"], record["output"], record["message"]) == ("finished", ["5"], ["w 5"], None)


def test_an_exception_in_a_thread_ends_the_run_under_the_models_name(tmp_path):
    [record] = runs_of(tmp_path, """
        import threading
        def w():
            print(1 // 0)
        threading.Thread(target=w).start()
    """)
    assert record["status"] == "error"
    assert record["message"] == "Thread1: ZeroDivisionError: integer division or modulo by zero"


def test_a_failed_final_assert_is_a_violation_and_a_deadlock_is_seen(tmp_path):
    [failed] = runs_of(tmp_path, "x = 1\nassert x == 2\n", ("x",))
    assert failed["status"] == "violation"
    [stuck] = runs_of(tmp_path, """
        import threading
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()
    """)
    assert stuck["status"] == "deadlock"


EXPLORABLE = sorted(path.name for path in EXAMPLES.glob("*.py") if path.name.startswith("critical")
                    or path.stem.endswith("_small"))


@pytest.mark.parametrize("name", EXPLORABLE)
def test_crosscheck_runs_each_notes_example_itself_and_agrees(name):
    """Step by step (through the export) and in free runs of the file itself, real threads do only
    what the model says they can."""
    scenario = load(EXAMPLES / name)
    report = crosscheck(scenario, compile_scenario(scenario), Options(runs=3, limits=QUICK))
    assert report["free"]["program"] == "the file itself"
    assert report["verdict"] == "agree", report["controlled"]["mismatches"] or report["free"]["unpredicted"]
    assert sum(outcome["hits"] for outcome in report["outcomes"]) == 3


def test_crosscheck_command_says_it_ran_the_file(tmp_path):
    result = CliRunner().invoke(main, ["crosscheck", str(EXAMPLES / "join_in_loop_small.py"), "--runs", "3"])
    assert result.exit_code == 0, result.output
    assert "Free runs: 3 runs of the file itself" in result.output
