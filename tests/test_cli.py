"""The command line, through click's CliRunner: what each command prints, and its exit status.

Exit status: 0 when every run finishes and every check holds, 1 when a
run can go wrong, 2 for bad input, 3 when a partial exploration found
nothing wrong.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import networkx as nx
import pytest

from conftest import COUNTER_YAML as COUNTER
from conftest import SPIN_YAML
from conftest import invoke, write_scenario

COUNTER_CHECKED = COUNTER + '    checks:\n      final: ["x == 2"]\n'

LOCKED = """
    shared: {x: 0}
    locks: [L]
    threads:
      A: |
        with L:
            x = x + 1
      B: |
        with L:
            x = x + 1
        print(x)
"""

# B's release comes first or after any of A's 4 steps: every run is an error.
EARLY_ERROR = """
    locks: [L]
    threads:
      A: |
        a = 1
        a = 2
        a = 3
        a = 4
      B: |
        L.release()
"""


@pytest.fixture
def counter(tmp_path) -> str:
    return write_scenario(tmp_path, COUNTER, "counter.yaml")


@pytest.fixture
def counter_checked(tmp_path) -> str:
    return write_scenario(tmp_path, COUNTER_CHECKED, "checked.yaml")


@pytest.fixture
def locked(tmp_path) -> str:
    return write_scenario(tmp_path, LOCKED, "locked.yaml")


def explore_json(path: str, *options: str) -> tuple[int, dict]:
    result = invoke("explore", path, "--json", *options)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


# -- commands ---------------------------------------------------------------------

def test_each_command_is_registered_under_the_name_users_type():
    """explore, replay, show and graph are found by those names on every click version.

    click before 8.2 registers a command under the name it had when it was
    decorated (`explore-command` for a function explore_command), so a name
    set afterwards would not be the one `schedsim explore` looks up.
    """
    from schedsim.cli import main
    assert {"explore", "replay", "show", "graph"} <= set(main.commands)
    assert all(name == command.name for name, command in main.commands.items())


# -- explore ----------------------------------------------------------------------

def test_explore_text_lists_each_outcome_with_its_count_and_probability(counter_checked):
    """The counter: 20 interleavings, 2 with x == 2 (1/4) and 18 violations (3/4), with a replay command."""
    result = invoke("explore", counter_checked)
    assert result.exit_code == 1
    text = result.stdout
    assert "21 states, 28 transitions, 20 interleavings" in text
    assert "2 of 20 interleavings, probability 1/4 (25%)" in text
    assert "18 of 20 interleavings, probability 3/4 (75%)" in text
    assert "final check failed: x == 2" in text
    assert f"replay: schedsim replay {counter_checked} --schedule A,A,B,A,B,B" in text
    assert text.index("finished") < text.index("VIOLATION")


def test_explore_json_has_the_keys_and_numbers_of_spec_section_4(counter_checked):
    """One JSON object: scenario, states, transitions, interleavings, outcomes, deadlocks, violations.

    States of the counter: 9 with neither write done (3 x 3 positions, all
    values fixed), 5 with only A's write done (B at 0: 1; B after its read
    or add: b came from before or after A's write, 2 + 2), 5 symmetric,
    and 2 with both done (x == 1 or 2): 21. Transitions: 9 x 2 + 5 + 5 = 28.
    """
    code, report = explore_json(counter_checked)
    assert code == 1
    assert {"scenario", "states", "transitions", "interleavings", "outcomes", "deadlocks", "violations"} <= set(report)
    assert (report["scenario"], report["states"], report["transitions"], report["interleavings"]) == ("checked", 21, 28, 20)
    assert report["deadlocks"] == 0
    for outcome in report["outcomes"]:
        assert {"status", "final", "output", "interleavings", "probability", "schedule"} <= set(outcome)
        assert outcome["status"] in ("finished", "deadlock", "violation", "error")
    assert [(o["status"], o["final"], o["output"], o["interleavings"], o["probability"], o["schedule"]) for o in report["outcomes"]] == [
        ("finished", {"x": 2}, [], 2, 0.25, ["A", "A", "A", "B", "B", "B"]),
        ("violation", {"x": 1}, [], 18, 0.75, ["A", "A", "B", "A", "B", "B"]),
    ]
    assert report["violations"] == [
        {"message": "final check failed: x == 2 (line 12)", "schedule": ["A", "A", "B", "A", "B", "B"],
         "interleavings": 18, "probability": 0.75}]


@pytest.mark.parametrize("yaml_text", [COUNTER, LOCKED, EARLY_ERROR, """
    locks: [L, M]
    threads:
      A: |
        with L:
            with M:
                pass
      B: |
        with M:
            with L:
                print("B")
"""], ids=["counter", "locked", "error", "deadlock"])
def test_explore_json_counts_add_up_and_probabilities_sum_to_1(tmp_path, yaml_text):
    """Per-outcome counts add up to the total; exact probabilities sum to exactly 1, the floats to 1 within rounding."""
    _, report = explore_json(write_scenario(tmp_path, yaml_text))
    assert sum(o["interleavings"] for o in report["outcomes"]) == report["interleavings"]
    assert sum(Fraction(o["probability_exact"]) for o in report["outcomes"]) == 1
    assert sum(o["probability"] for o in report["outcomes"]) == pytest.approx(1, abs=1e-12)


def test_explore_json_of_a_spin_loop_has_a_null_count_and_names_the_loop(tmp_path):
    """Infinitely many interleavings are `null`, for the total and the outcome; the loop is listed; probability 1."""
    path = write_scenario(tmp_path, SPIN_YAML)
    code, report = explore_json(path)
    assert code == 0
    assert report["interleavings"] is None
    [outcome] = report["outcomes"]
    assert (outcome["interleavings"], outcome["probability"]) == (None, 1.0)
    assert report["loops"] == [{"thread": "A", "line": 4, "text": "while not flag:"}]


def test_explore_exit_status_is_0_when_every_run_finishes_well(locked):
    """The locked counter always ends with x == 2 and the program reports so."""
    result = invoke("explore", locked)
    assert result.exit_code == 0
    assert "RESULT: every run finishes and every check holds." in result.stdout


@pytest.mark.parametrize("yaml_text, status", [
    (COUNTER_CHECKED, "violation"),
    (EARLY_ERROR, "error"),
    ("""
        locks: [L]
        threads:
          A: |
            with L:
                with L:
                    pass
    """, "deadlock"),
], ids=["violation", "error", "deadlock"])
def test_explore_exit_status_is_1_when_some_run_goes_wrong(tmp_path, yaml_text, status):
    """A violation, an error or a deadlock anywhere makes the exit status 1."""
    code, report = explore_json(write_scenario(tmp_path, yaml_text))
    assert code == 1
    assert status in {o["status"] for o in report["outcomes"]}


def test_a_small_max_states_gives_a_partial_report_and_exit_3(counter):
    """Stopped early with nothing wrong found: a one-line warning on stderr, complete false, exit 3."""
    result = invoke("explore", counter, "--json", "--max-states", "5")
    assert result.exit_code == 3
    [warning] = result.stderr.splitlines()
    assert "--max-states 5" in warning and "partial" in warning
    report = json.loads(result.stdout)
    assert (report["complete"], report["stopped"]) == (False, "limit")
    assert report["states"] < 21
    assert report["unexplored_probability"] > 0


def test_a_partial_text_report_says_it_is_partial(counter):
    """The text report marks itself PARTIAL and does not claim every run finishes."""
    result = invoke("explore", counter, "--max-states", "5")
    assert result.exit_code == 3
    assert "PARTIAL" in result.stdout
    assert "every run finishes" not in result.stdout


def test_a_partial_exploration_that_found_an_error_exits_1(tmp_path):
    """With 6 states allowed, the error after 0 steps of A is reached and expanded: exit 1, though partial."""
    code, report = explore_json(write_scenario(tmp_path, EARLY_ERROR), "--max-states", "6")
    assert code == 1
    assert report["complete"] is False
    assert [o["status"] for o in report["outcomes"]] == ["error"]


def test_an_error_state_found_before_the_limit_is_reported(tmp_path):
    """With 3 states, BFS has found the error after B's first step (probability 1/2); it is an end, not unexplored."""
    code, report = explore_json(write_scenario(tmp_path, EARLY_ERROR), "--max-states", "3")
    assert code == 1
    assert [(o["status"], o["probability"]) for o in report["outcomes"]] == [("error", 0.5)]


def test_a_program_that_never_ends_is_not_said_to_finish(tmp_path):
    """A spin on a flag nobody sets never ends, so the verdict must not say that every run finishes."""
    path = write_scenario(tmp_path, """
        shared: {go: false}
        threads:
          A: |
            while not go:
                pass
    """)
    result = invoke("explore", path)
    assert "A run spins forever with probability 100%." in result.stdout
    assert "every run finishes" not in result.stdout
    assert result.exit_code == 1


def test_a_worker_meant_to_run_forever_is_an_outcome_not_a_failure(tmp_path):
    """`while True: pass` is a worker by design: one "runs forever" outcome, probability 1, exit 0."""
    path = write_scenario(tmp_path, """
        threads:
          A: |
            while True:
                pass
    """)
    result = invoke("explore", path)
    assert "1. runs forever" in result.stdout
    assert "probability 100%" in result.stdout
    assert "runs forever by design" in result.stdout
    assert result.exit_code == 0


# -- replay -------------------------------------------------------------------------

def test_replay_prints_one_row_per_step_in_the_column_of_its_thread(locked):
    """The initial state, then A's 4 steps and B's 6: each cell under its thread's header, with what it did
    with values, x after the step and who holds L."""
    schedule = ["A"] * 4 + ["B"] * 6
    result = invoke("replay", locked, "--schedule", ",".join(schedule))
    assert result.exit_code == 0
    header, rule, start, *rows = result.stdout.splitlines()
    assert start.startswith("   0  (start)") and "| x=0" in start
    columns = {name: header.index(f"  {name} ") + 2 for name in ("A", "B")}
    table = rows[:10]
    for number, (thread, row) in enumerate(zip(schedule, table), start=1):
        assert row.startswith(f"{number:>4}  ")
        assert row[columns[thread]] == "L"      # the cell starts in this thread's column
        other = "B" if thread == "A" else "A"
        assert row[columns[other]] == " "
    cells = [[cell.strip() for cell in row.split("|")] for row in table]
    assert [cell[1] for cell in cells] == ["x=0", "x=0", "x=1", "x=1", "x=1", "x=1", "x=2", "x=2", "x=2", "x=2"]
    assert [cell[2] for cell in cells] == ["L: A", "L: A", "L: A", "", "L: B", "L: B", "L: B", "", "", ""]
    assert "[read x -> 0]" in table[1] and "[x = 1]" in table[2] and "[acquire L]" in table[0]
    assert "[read x -> 2]" in table[8] and "[prints '2']" in table[9]
    assert "outcome: finished, x=2" in result.stdout


def test_replay_leaves_out_comments_and_shows_locals_on_request(tmp_path):
    path = write_scenario(tmp_path, """
        shared: {x: 0}
        threads:
          A: |
            a = 5
            if a > 1:   # a long comment that would widen every row of the table
                x = a
    """)
    text = invoke("replay", path, "--schedule", "A,A,A").stdout
    assert "comment" not in text
    assert "L5 if a > 1:  [test -> true]" in text and "L6 x = a  [x = 5]" in text
    assert "locals after" not in text
    with_locals = invoke("replay", path, "--schedule", "A,A", "--locals").stdout.splitlines()
    assert with_locals[0].endswith("| locals after")
    assert with_locals[3].split("|")[-1].strip() == "a=5"


def test_replay_json_lists_every_step_with_the_shared_values_after_it(locked):
    """--json: the schedule, status, final values, output, and per step its thread, line, action and values."""
    result = invoke("replay", locked, "--schedule", "A,A,A,A,B,B,B,B,B,B", "--json")
    run = json.loads(result.stdout)
    assert (run["status"], run["final"], run["output"]) == ("finished", {"x": 2}, ["2"])
    assert [(s["thread"], s["line"], s["action"], s["shared"]["x"]) for s in run["steps"][:4]] == [
        ("A", 5, "acquire L", 0), ("A", 6, "read x", 0), ("A", 6, "write x", 1), ("A", 5, "release L", 1)]
    assert len(run["steps"]) == 10


def test_replay_of_a_reported_violation_reproduces_it(counter_checked):
    """The schedule that explore reports for the lost update replays to x == 1 and the failed check, exit 1."""
    result = invoke("replay", counter_checked, "--schedule", "A,A,B,A,B,B")
    assert result.exit_code == 1
    assert "outcome: violation, x=1" in result.stdout
    assert "final check failed: x == 2" in result.stdout


@pytest.mark.parametrize("schedule, why", [
    ("A,B", "step 2: thread B cannot run now: it waits to acquire L (held by A) at line 8; runnable: A"),
    ("A,A,A,A,A", "step 5: thread A cannot run now: it finished; runnable: B"),
    ("A,C", "step 2: there is no thread 'C'; threads: A, B"),
    ("A,A,A,A,B,B,B,B,B,B,A", "step 11: thread A cannot run now: the run has already ended (finished)"),
], ids=["blocked", "finished", "unknown", "after-the-end"])
def test_replay_rejects_a_thread_that_cannot_run_with_one_line_and_exit_2(locked, schedule, why):
    """A name that cannot run at its point is bad input: one stderr line saying why, exit 2, nothing on stdout."""
    result = invoke("replay", locked, "--schedule", schedule)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"schedsim: {locked}: {why}"]


def test_replay_of_a_schedule_that_stops_early_says_so(counter):
    """A prefix of a run is not an error: the table, then that the run goes on."""
    result = invoke("replay", counter, "--schedule", "A B")
    assert result.exit_code == 0
    assert "the schedule ends before the run does; shared: x=0" in result.stdout


# -- show --------------------------------------------------------------------------

def test_show_lists_x_equals_x_plus_1_as_a_read_step_and_a_write_step(locked):
    """`x = x + 1` is two steps on one source line: read x, then write x; print(x) is read x, then print."""
    result = invoke("show", locked)
    assert result.exit_code == 0
    found = re.findall(r"^\s+(\d+)\s+line (\d+)\s+(.*?)\s{3}(\S.*)$", result.stdout, re.MULTILINE)
    steps = [(number, line, text.strip(), action) for number, line, text, action in found]
    assert steps == [
        ("0", "5", "with L:", "acquire L"), ("1", "6", "x = x + 1", "read x"),
        ("2", "6", "x = x + 1", "write x"), ("3", "5", "with L:", "release L"),
        ("0", "8", "with L:", "acquire L"), ("1", "9", "x = x + 1", "read x"),
        ("2", "9", "x = x + 1", "write x"), ("3", "8", "with L:", "release L"),
        ("4", "10", "print(x)", "read x"), ("5", "10", "print(x)", "print"),
    ]


# -- graph --------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, kind", [(".dot", "dot"), (".gv", "dot"), (".graphml", "graphml"), (".json", "json")])
def test_graph_writes_the_format_its_suffix_names(counter, tmp_path, suffix, kind):
    """The counter's 21 states and 28 steps, each step labelled with its thread, in the format of the suffix."""
    out = tmp_path / f"states{suffix}"
    result = invoke("graph", counter, "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == f"wrote 21 states and 28 steps to {out} ({kind})\n"
    text = out.read_text(encoding="utf-8")
    if kind == "dot":
        assert text.startswith("digraph ")
        assert len(re.findall(r"^  \d+ \[label=", text, re.MULTILINE)) == 21
        edges = re.findall(r"^  \d+ -> \d+ \[label=\"(\w+): ", text, re.MULTILINE)
        assert sorted(set(edges)) == ["A", "B"] and len(edges) == 28
    elif kind == "graphml":
        graph = nx.read_graphml(out)
        assert (graph.number_of_nodes(), graph.number_of_edges()) == (21, 28)
        assert {data["thread"] for _, _, data in graph.edges(data=True)} == {"A", "B"}
    else:
        data = json.loads(text)
        assert data["directed"] is True
        assert (len(data["nodes"]), len(data["edges"])) == (21, 28)
        assert {edge["thread"] for edge in data["edges"]} == {"A", "B"}


def test_graph_with_an_unknown_suffix_is_bad_input(counter, tmp_path):
    """A suffix that names no format: one stderr line listing the formats, exit 2, no file."""
    out = tmp_path / "states.png"
    result = invoke("graph", counter, "-o", str(out))
    assert result.exit_code == 2
    [message] = result.stderr.splitlines()
    assert ".png" in message and ".dot" in message and ".graphml" in message
    assert not out.exists()


def test_graphviz_accepts_the_dot_output(counter, tmp_path):
    """`dot -Tsvg` renders our DOT without complaint (skipped where Graphviz is not installed)."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not on PATH")
    out = tmp_path / "states.dot"
    assert invoke("graph", counter, "-o", str(out)).exit_code == 0
    rendered = subprocess.run(["dot", "-Tsvg", str(out)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr == ""
    assert "<svg" in rendered.stdout


def test_a_partial_report_never_overstates_a_probability():
    """bank_transfer deadlocks with probability 1/2; cut at 5 states (a node half expanded
    under the old explorer gave 3/4), every partial probability stays at or below 1/2."""
    path = str(Path(__file__).parent.parent / "scenarios" / "bank_transfer.yaml")
    for limit in range(2, 40):
        code, report = explore_json(path, "--max-states", str(limit))
        for outcome in report["outcomes"]:
            assert Fraction(outcome["probability_exact"]) <= Fraction(1, 2), (limit, outcome)


def test_each_failed_check_is_one_violation_with_its_shortest_schedule(tmp_path):
    """Three x += 1 threads: x == 3 fails with x at 1 (two lost updates) and at 2 (one).
    C(6,2) * C(4,2) = 90 orders, 6 of them serial, so the check fails in 84, listed once."""
    path = write_scenario(tmp_path, """
        shared: {x: 0}
        threads:
          A: x += 1
          B: x += 1
          C: x += 1
        checks:
          final: ["x == 3"]
    """)
    code, report = explore_json(path)
    [violation] = report["violations"]
    assert violation["message"].startswith("final check failed: x == 3")
    assert violation["interleavings"] == 84
    assert len(violation["schedule"]) == 6
    assert sum(o["interleavings"] for o in report["outcomes"] if o["status"] == "violation") == 84
