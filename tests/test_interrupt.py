"""One Ctrl-C, in every command that can take long: what is done so far, and exit 3.

Each command runs in its own process on a scenario that would keep it busy
for minutes; all of them get SIGINT once they are running. They start
together, so the test costs one start-up and a second or two, not one per
command.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# About 10^7 states: exploring it takes minutes.
BIG = """\
shared: {x: 0}
threads:
  T:
    count: 5
    code: |
      for _ in range(3):
          x = x + 1
"""
SPIN = """\
shared: {flag: false}
threads:
  A: |
    while not flag:
        pass
"""
# Each step writes out a big power (within the model's 10,000-bit ints): a long schedule takes
# minutes to replay.
HEAVY = """\
threads:
  A: |
    while True:
        a = str(7 ** 3500) + str(9 ** 3000)
"""
SMALL = """\
shared: {x: 0}
threads:
  A: x = x + 1
  B: x = x + 2
"""

# Runs schedsim's own main, after telling the test (on stderr) that the imports are done. The
# commands load their stages when they run; schedsim.api loads them all first, so that the
# signal comes in the work and not in an import on a busy machine.
LAUNCH = ("import sys, schedsim.api; from schedsim.cli import main; sys.stderr.write('ready\\n'); sys.stderr.flush(); "
          "main(prog_name='schedsim')")


def commands(directory: Path) -> dict[str, list[str]]:
    files = {}
    for name, text in (("big", BIG), ("spin", SPIN), ("heavy", HEAVY), ("small", SMALL)):
        files[name] = str(directory / f"{name}.yaml")
        Path(files[name]).write_text(text, encoding="utf-8")
    many = "100000000"
    return {
        "explore": ["explore", files["big"], "--max-states", many],
        "explore --json": ["explore", files["big"], "--max-states", many, "--json"],
        "explore --reduce por": ["explore", files["big"], "--max-states", many, "--reduce", "por", "--json"],
        "sample, exploring": ["sample", files["big"], "--max-states", many, "--runs", "5"],
        "sample, running": ["sample", files["small"], "--runs", many, "--json"],
        "run": ["run", files["spin"], "--max-steps", many, "--json"],
        "replay": ["replay", files["heavy"], "--schedule", ",".join(["A"] * 60_000), "--json"],
        "graph": ["graph", files["big"], "-o", str(directory / "graph.json"), "--max-states", many],
        "crosscheck": ["crosscheck", files["big"], "--max-states", many],
    }


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> dict[str, tuple[int, str, str]]:
    """{command: (exit status, stdout, stderr)} after one SIGINT each."""
    directory = tmp_path_factory.mktemp("interrupt")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    processes: dict[str, subprocess.Popen] = {}
    results = {}
    try:
        for name, args in commands(directory).items():  # inside the try: a failed start still kills the others
            processes[name] = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], cwd=directory, env=env,
                                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for process in processes.values():
            assert process.stderr.readline() == "ready\n"
        time.sleep(1.5)  # past parsing the options and into the work
        for process in processes.values():
            process.send_signal(signal.SIGINT)
        for name, process in processes.items():
            stdout, stderr = process.communicate(timeout=60)
            results[name] = (process.returncode, stdout, stderr)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


@pytest.mark.parametrize("command", [
    "explore", "explore --json", "explore --reduce por", "sample, exploring", "sample, running", "run", "replay", "graph", "crosscheck"])
def test_one_ctrl_c_is_exit_3_with_one_line_and_no_traceback(interrupted, command):
    status, _, stderr = interrupted[command]
    assert status == 3, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert "interrupted" in stderr.splitlines()[-1]


def test_explore_prints_the_partial_report(interrupted):
    _, stdout, stderr = interrupted["explore"]
    assert "schedsim: interrupted; the report is partial." in stderr
    assert "states" in stdout
    report = json.loads(interrupted["explore --json"][1])
    assert (report["complete"], report["stopped"]) == (False, "interrupted")
    assert report["states"] > 1


def test_explore_under_reduction_prints_the_partial_report(interrupted):
    report = json.loads(interrupted["explore --reduce por"][1])
    assert (report["complete"], report["stopped"], report["reduction"]["kind"]) == (False, "interrupted", "por")
    assert report["states"] > 1


def test_sample_does_not_go_on_after_ctrl_c_in_its_exact_exploration(interrupted):
    """M3: the exploration for exact probabilities swallowed Ctrl-C and sampling went on."""
    _, stdout, stderr = interrupted["sample, exploring"]
    assert stdout == ""
    assert stderr == "schedsim: interrupted before there was anything to report.\n"


def test_sample_reports_the_runs_done(interrupted):
    _, stdout, stderr = interrupted["sample, running"]
    report = json.loads(stdout)
    assert 0 < report["runs"] < 100_000_000
    assert sum(outcome["runs"] for outcome in report["outcomes"]) == report["runs"]
    assert f"interrupted after {report['runs']:,} of 100,000,000 runs" in stderr


def test_run_and_replay_show_the_steps_done(interrupted):
    run = json.loads(interrupted["run"][1])
    assert run["status"] is None and run["unfinished"] and len(run["steps"]) > 0
    replayed = json.loads(interrupted["replay"][1])
    assert 0 < len(replayed["steps"]) < 60_000
    assert f"interrupted after {len(replayed['steps']):,} of 60,000 steps" in interrupted["replay"][2]


def test_graph_writes_the_part_explored(interrupted, tmp_path):
    _, stdout, stderr = interrupted["graph"]
    assert stdout.startswith("wrote ")
    assert "exploration stopped (interrupted)" in stderr
