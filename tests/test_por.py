"""`explore --reduce por`: the partial-order reduction finds every end the full graph has, in fewer states.

Each end is compared by `analysis.outcome_key` (status, shared values,
output, message) against the full exploration of the same program; every
schedule it reports must replay to its outcome.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import SPIN_YAML, invoke, program_of, write_scenario
from strategies import lockable_scenarios, scenarios

from schedsim.analyses.analysis import outcome_key, reached
from schedsim.cli import load_program
from schedsim.engine.explorer import explore
from schedsim.engine.por import explore_por
from schedsim.engine.replay import replay
from schedsim.engine.semantics import status
from schedsim.engine.values import Exact

MAX_STATES = 20_000
SCENARIOS = Path(__file__).parent.parent / "scenarios"


def ends(exploration) -> set:
    """The outcome key of every end of a run in an exploration."""
    program, offsets, states = exploration.program, exploration.offsets, exploration.states
    return {outcome_key(program, states[node]) for node in range(exploration.expanded)
            if offsets[node] == offsets[node + 1] and status(program, states[node]) is not None}


def assert_same_ends(program, generated: bool = False) -> None:
    """POR reaches exactly the ends of the full graph, and each reported schedule replays to its outcome.

    A generated program whose full graph is too big is skipped (`generated`); any other must fit."""
    full = explore(program, max_states=MAX_STATES, symmetry=False)
    if generated:
        assume(full.complete)
    assert full.complete
    reduction = explore_por(program)
    assert reduction.exploration.complete
    assert len(reduction.exploration.states) <= len(full.states)
    assert ends(reduction.exploration) == ends(full)
    for outcome in reached(reduction.exploration).outcomes:
        run = replay(program, list(outcome.schedule))
        assert outcome_key(program, run.final) == Exact((outcome.status, outcome.final, outcome.output, outcome.message))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_scenarios_end_as_in_the_full_graph(yaml_text):
    """Deadlocks, violations, errors and finishes: the same set as the full exploration's, on generated programs."""
    assert_same_ends(program_of(yaml_text), generated=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 3), st.sampled_from(["<", "!=", ">="]))
def test_always_checks_fail_in_the_same_states_as_in_the_full_graph(yaml_text, bound, compare):
    """An `always` check is checked after every step: each state it fails in, with its values, is found."""
    assert_same_ends(program_of(yaml_text + f'checks:\n  always: ["x {compare} {bound}"]\n'), generated=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(mixed=True))
def test_values_of_mixed_types_end_as_in_the_full_graph(yaml_text):
    """0, False and 0.0 are three outcomes, and a program with floats is no numeric one to trust less."""
    assert_same_ends(program_of(yaml_text), generated=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lockable_scenarios())
def test_started_and_joined_threads_end_as_in_the_full_graph(cases):
    """Start and join (a main thread running the others one after another) are dependencies too."""
    for yaml_text in (cases.locked, cases.sequential):
        assert_same_ends(program_of(yaml_text), generated=True)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("python/*_small.py")),
                         ids=lambda path: path.name)
def test_bundled_scenarios_end_as_in_the_full_graph(path):
    """Every primitive the bundled scenarios use (conditions, events, queues, barriers, daemons, loops)."""
    assert_same_ends(load_program(str(path)))


def test_independent_threads_take_one_order():
    """Two threads of two local steps each: the full graph is the 3 x 3 grid, the reduction one path of 5 states."""
    program = program_of("""
        threads:
          A: |
            a = 1
            a = 2
          B: |
            b = 1
            b = 2
    """)
    assert len(explore(program, symmetry=False).states) == 9
    assert len(explore_por(program).exploration.states) == 5


def test_a_fault_is_seen_before_and_after_an_independent_write():
    """The assert touches nothing A touches, yet the violation shows x: both x=0 and x=1 must be found."""
    program = program_of("""
        shared: {x: 0}
        threads:
          A: |
            x = 1
          B: |
            b = 0
            assert b == 1
    """)
    finals = {outcome.final for outcome in reached(explore_por(program).exploration).outcomes}
    assert finals == {(0,), (1,)}


def test_an_always_check_is_checked_in_every_order():
    """x <= y fails only if A writes x before B writes y: the reduction must keep that order too."""
    program = program_of("""
        shared: {x: 0, y: 0}
        threads:
          A: |
            x = 1
          B: |
            y = 1
        checks:
          always: ["x <= y"]
    """)
    statuses = {outcome.status for outcome in reached(explore_por(program).exploration).outcomes}
    assert statuses == {"finished", "violation"}
    assert_same_ends(program)


def test_a_spin_loop_terminates_and_keeps_its_ends():
    """A cyclic program: the search ends, the graph is marked cyclic, and the one end is found."""
    program = program_of("""
        shared: {flag: false, x: 0}
        threads:
          A: |
            while not flag:
                pass
            x = 1
          B: |
            flag = True
    """)
    reduction = explore_por(program)
    assert reduction.cyclic and reduction.exploration.complete
    assert_same_ends(program)


def test_a_thread_that_loops_forever_does_not_hide_another_ones_violation():
    """The ignoring problem: A's loop touches nothing, but the cycle proviso still lets B run and fail."""
    program = program_of("""
        shared: {x: 0}
        threads:
          A: |
            while True:
                pass
          B: |
            x = 1
            assert x == 0
    """)
    outcomes = reached(explore_por(program).exploration).outcomes
    assert [(outcome.status, outcome.final) for outcome in outcomes] == [("violation", (1,))]


def test_cli_reports_outcomes_without_counts(tmp_path):
    """--reduce por: exit 1 for a deadlock, the reduction named in JSON, counts null, a replayable schedule."""
    path = str(SCENARIOS / "dining_philosophers_3.yaml")
    result = invoke("explore", "--reduce", "por", "--json", path)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["reduction"]["kind"] == "por" and report["interleavings"] is None
    assert {outcome["status"] for outcome in report["outcomes"]} == {"finished", "deadlock"}
    assert all(outcome["interleavings"] is None and outcome["probability"] is None for outcome in report["outcomes"])
    deadlock = next(outcome for outcome in report["outcomes"] if outcome["status"] == "deadlock")
    replayed = invoke("replay", path, "--schedule", ",".join(deadlock["schedule"]), "--json")
    assert json.loads(replayed.stdout)["status"] == "deadlock"


def test_cli_text_exit_codes_and_refusals(tmp_path):
    """Text says what is not computed; 0 when all is well, 3 where loops leave never-ending runs uncovered."""
    good = write_scenario(tmp_path, """
        shared: {x: 0}
        threads:
          A: |
            x = 1
    """, "good.yaml")
    result = invoke("explore", "--reduce", "por", good)
    assert result.exit_code == 0
    assert "partial-order reduction: outcomes without counts" in result.stdout
    assert "Not computed under partial-order reduction: data races" in result.stdout
    spin = write_scenario(tmp_path, SPIN_YAML, "spin.yaml")
    result = invoke("explore", "--reduce", "por", spin)
    assert result.exit_code == 3 and "runs that never end are not covered" in result.stdout
    assert invoke("explore", "--reduce", "por", "--html", str(tmp_path / "page.html"), good).exit_code == 2
    assert invoke("explore", "--reduce", "dpor", good).exit_code == 2


def test_the_api_gives_what_the_cli_prints():
    """api.explore(reduce="por") is `explore --reduce por --json`, to the byte; another name is refused."""
    from schedsim import api
    from schedsim.errors import ScenarioError

    path = str(SCENARIOS / "deadlock.yaml")
    result = api.explore(path, reduce="por")
    assert result.to_json() == invoke("explore", "--reduce", "por", "--json", path).stdout
    assert result.complete and result.exit_status == 1
    assert {outcome.status for outcome in result.outcomes} == {"finished", "deadlock"}
    with pytest.raises(ScenarioError, match="reduce must be"):
        api.explore(path, reduce="dpor")


def test_the_for_bookkeeping_after_a_step_may_fault_too():
    """`n = y` also runs range(n) of the loop after it, which fails on a float: that step may fault, so B's
    write must be tried before it while y is still 1.5 (the end x=1, y=1.5)."""
    program = program_of("""
        shared: {x: 0, y: 1.5}
        threads:
          A: |
            n = y
            for i in range(n):
                pass
          B: |
            x = 1
          C: |
            y = 2.5
    """)
    finals = {outcome.final for outcome in reached(explore_por(program).exploration).outcomes}
    assert (1, 1.5) in finals
    assert_same_ends(program)


def test_cli_stopped_at_the_state_limit_is_partial(tmp_path):
    """--max-states under the reduction: exit 3, a partial report that promises no counts."""
    result = invoke("explore", "--reduce", "por", "--max-states", "10", str(SCENARIOS / "dining_philosophers_5.yaml"))
    assert result.exit_code == 3
    assert "PARTIAL: exploration stopped because the state limit was reached; some outcomes may be missing." \
        in result.stdout
    assert "stopped at --max-states 10" in result.stderr
