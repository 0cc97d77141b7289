"""`schedsim sample` and `schedsim run` on the command line: reproducible bytes,
traces that reveal what a prediction hid, commands that replay, bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SPIN_YAML, invoke, write_scenario

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "scenarios" / "counter.yaml")
PRINTS = str(ROOT / "scenarios" / "print_unlocked.yaml")
NINE_BY_100 = str(ROOT / "benchmarks" / "print_9x100.yaml")


def schedsim(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter, as a user runs it."""
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "schedsim", *args], capture_output=True, env=env, cwd=ROOT, timeout=120)


def test_same_seed_gives_the_same_bytes_under_any_hash_seed():
    """Outputs are strings, so a set or dict ordered by hashing would show here."""
    args = ("sample", PRINTS, "--runs", "300", "--seed", "12", "--json")
    first, second = schedsim(*args, hash_seed="0"), schedsim(*args, hash_seed="4242")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout and len(json.loads(first.stdout)["outcomes"]) == 10


def test_any_number_of_jobs_gives_the_same_bytes():
    args = ("sample", NINE_BY_100, "--runs", "24", "--seed", "3", "--strategy", "pct", "--max-states", "0")
    one, two = schedsim(*args, "--jobs", "1", hash_seed="1"), schedsim(*args, "--jobs", "2", hash_seed="2")
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout and b"24 runs" in one.stdout


def test_sample_table_puts_exact_probabilities_beside_frequencies():
    result = invoke("sample", COUNTER, "--runs", "400", "--seed", "1")
    assert result.exit_code == 1  # some runs lose an update
    assert "exact" in result.stdout and "0.2500 (1/4)" in result.stdout and "0.7500 (3/4)" in result.stdout


def test_a_sampled_failure_prints_the_replay_command_that_reproduces_it():
    report = json.loads(invoke("sample", COUNTER, "--runs", "50", "--seed", "2", "--json").stdout)
    violation = next(o for o in report["outcomes"] if o["status"] == "violation")
    assert {"status", "final", "output", "interleavings", "probability", "schedule"} <= set(violation)
    text = invoke("sample", COUNTER, "--runs", "50", "--seed", "2").stdout
    command = f"schedsim replay {COUNTER} --schedule {','.join(violation['schedule'])}"
    assert command in text
    replayed = invoke("replay", COUNTER, "--schedule", ",".join(violation["schedule"]), "--json")
    assert json.loads(replayed.stdout)["final"] == violation["final"] == {"x": 1}


def test_the_run_seed_of_an_outcome_redoes_that_run():
    report = json.loads(invoke("sample", COUNTER, "--runs", "50", "--seed", "2", "--strategy", "pct", "--json").stdout)
    for outcome in report["outcomes"]:
        args = ("run", COUNTER, "--seed", str(outcome["seed"]), "--strategy", "pct",
                "--depth", str(report["depth"]), "--pct-steps", str(report["pct_steps"]), "--json")
        run = json.loads(invoke(*args).stdout)
        assert run["schedule"] == outcome["schedule"] and run["final"] == outcome["final"]


def test_predict_hides_values_and_the_outcome_and_the_same_seed_reveals_them():
    predicted = invoke("run", COUNTER, "--seed", "5", "--predict")
    revealed = invoke("run", COUNTER, "--seed", "5")
    assert predicted.exit_code == 0
    rows = [line for line in predicted.stdout.splitlines() if line[:4].strip().isdigit()]
    assert rows[0].startswith("   0  (start)") and rows[0].endswith("| x=0")  # the initial state is shown
    assert all("x=?" in row and "x=0" not in row and "-> 0" not in row for row in rows[1:])
    assert "outcome: withheld" in predicted.stdout
    assert f"reveal: schedsim run {COUNTER} --seed 5" in predicted.stdout
    assert "x=?" not in revealed.stdout and "outcome: " in revealed.stdout
    schedule = [line for line in predicted.stdout.splitlines() if line.startswith("schedule (")]
    assert schedule and schedule[0] in revealed.stdout.splitlines()
    hidden = [line.split("[")[0] for line in predicted.stdout.splitlines() if "|" in line]
    shown = [line.split("[")[0] for line in revealed.stdout.splitlines() if "|" in line]
    assert hidden == shown  # the same steps, in the same columns


def test_run_trace_has_a_column_per_thread_and_a_row_per_step():
    result = invoke("run", COUNTER, "--seed", "0")
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("step"))
    assert header.split()[:3] == ["step", "A", "B"]
    rows = [line for line in lines if line[:4].strip().isdigit() and "(start)" not in line]
    assert len(rows) == 6 and all("read x -> " in row or " = " in row.split("[")[1] for row in rows)


def test_unfinished_runs_are_not_an_outcome(tmp_path):
    spin = write_scenario(tmp_path, SPIN_YAML)
    result = invoke("sample", spin, "--runs", "30", "--seed", "1", "--strategy", "pct", "--max-steps", "40", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 3
    assert report["unfinished"]["runs"] > 0
    assert all(o["status"] in ("finished", "violation", "deadlock", "error") for o in report["outcomes"])


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must not be negative"),
    (["--seed", "1.5"], "--seed must be a whole number"),
    (["--runs", "0"], "--runs must be at least 1"),
    (["--runs", "-4"], "--runs must be at least 1"),
    (["--runs", "ten"], "--runs must be a whole number"),
    (["--strategy", "fifo"], "unknown --strategy 'fifo'"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--strategy", "uniform", "--max-states", "5"], "needs the whole state graph"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = invoke("sample", COUNTER, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_uniform_on_a_spinning_loop_names_the_loop(tmp_path):
    spin = write_scenario(tmp_path, SPIN_YAML)
    result = invoke("run", spin, "--strategy", "uniform")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "thread A line 4 (while not flag:)" in result.stderr


def test_top_describes_a_few_outcomes_of_each_status_and_counts_the_rest():
    """daemon.yaml has 1570 possible outputs: 30 runs see some, --top 3 tells three, explore knows the rest."""
    daemon = str(ROOT / "scenarios" / "daemon.yaml")
    args = ("sample", daemon, "--runs", "30", "--seed", "1", "--strategy", "uniform", "--top", "3")
    report = json.loads(invoke(*args, "--json").stdout)
    assert len(report["outcomes"]) == 3 and len(report["unseen"]) == 3
    more = sum(m["outcomes"] for m in report["more_outcomes"])
    assert sum(o["runs"] for o in report["outcomes"]) + sum(m["runs"] for m in report["more_outcomes"]) == 30
    assert 3 + more + 3 + report["more_unseen"] == 1570
    assert all(o["interleaving_share"] > 0 for o in report["outcomes"] + report["unseen"])
    text = invoke(*args).stdout
    assert f"{more:,} more finished outcomes" in text and f"{report['more_unseen']:,} more possible outcomes" in text


def test_sample_json_lists_each_failed_check_once_with_all_its_runs(tmp_path):
    """Three x += 1 threads: x == 3 fails with x at 1 or 2, two outcomes; `violations` has the check once,
    with the runs of both, and `exact` says the probabilities beside them are exact."""
    path = write_scenario(tmp_path, """
        shared: {x: 0}
        threads:
          A: x += 1
          B: x += 1
          C: x += 1
        checks:
          final: ["x == 3"]
    """)
    report = json.loads(invoke("sample", path, "--runs", "200", "--seed", "4", "--json").stdout)
    assert report["exact"] is True
    failing = [o for o in report["outcomes"] if o["status"] == "violation"]
    assert len(failing) == 2
    [violation] = report["violations"]
    assert violation["runs"] == sum(o["runs"] for o in failing)
