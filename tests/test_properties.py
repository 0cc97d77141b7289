"""Properties over generated scenarios (see strategies.py), checked against the state graph.

The naive explorer here lists every path by recursion over the step
function: exponential, so only for tiny cases, but too simple to be wrong
in the ways the graph's dynamic programming could be.
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from fractions import Fraction
from math import factorial
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import explored, invoke, program_of
from strategies import local_scenarios, scenarios

from schedsim.analyses.analysis import INFINITE
from schedsim.engine.replay import replay
from schedsim.engine.semantics import initial_state, runnable, status, step

MAX_STATES = 50_000     # generated cases are mostly far smaller; skip the rare giant
NAIVE_MAX_PATHS = 1_500  # the naive explorer lists paths one by one


def _explored(yaml_text: str):
    exploration, analysis = explored(yaml_text, max_states=MAX_STATES)
    assume(exploration.complete)
    return exploration, analysis


def naive_outcomes(program) -> dict:
    """{(status, final, output): (paths, probability)} by listing every path from the initial state."""
    table: dict = {}

    def walk(state, probability: Fraction) -> None:
        ready = runnable(program, state)
        if not ready:
            key = (status(program, state), state.shared, state.output)
            paths, total = table.get(key, (0, Fraction(0)))
            table[key] = (paths + 1, total + probability)
            return
        share = probability / len(ready)
        for tid in ready:
            walk(step(program, state, tid), share)

    walk(initial_state(program), Fraction(1))
    return table


def graph_outcomes(analysis) -> dict:
    """The analysis' outcomes keyed like `naive_outcomes` (outcomes that differ only in message merge)."""
    table: dict = {}
    for outcome in analysis.outcomes:
        key = (outcome.status, outcome.final, outcome.output)
        paths, total = table.get(key, (0, Fraction(0)))
        table[key] = (paths + outcome.interleavings, total + outcome.probability)
    return table


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_outcome_counts_add_up_to_the_total_and_probabilities_to_1(yaml_text):
    """Without loops every count is finite, the outcomes' counts sum to the total and their chances to exactly 1."""
    _, analysis = _explored(yaml_text)
    assert analysis.interleavings is not INFINITE
    assert sum(outcome.interleavings for outcome in analysis.outcomes) == analysis.interleavings
    assert sum(outcome.probability for outcome in analysis.outcomes) == 1
    assert all(outcome.interleavings >= 1 and outcome.probability > 0 for outcome in analysis.outcomes)
    assert (analysis.never_ends, analysis.unexplored, analysis.loops) == (0, 0, [])


@settings(max_examples=40, deadline=None)
@given(scenarios(statements_per_thread=(1, 3)))
def test_a_naive_path_listing_explorer_agrees_with_the_graph(yaml_text):
    """Listing every path by recursion gives the graph's count and exact probability for every outcome."""
    _, analysis = _explored(yaml_text)
    assume(analysis.interleavings <= NAIVE_MAX_PATHS)
    assert naive_outcomes(program_of(yaml_text)) == graph_outcomes(analysis)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_every_reported_schedule_replays_to_its_outcome(yaml_text):
    """Replaying an outcome's shortest schedule ends the run with that status, those values, that output and message."""
    exploration, analysis = _explored(yaml_text)
    for outcome in analysis.outcomes:
        run = replay(exploration.program, list(outcome.schedule))
        assert run.status == outcome.status
        assert repr(run.final.shared) == repr(outcome.final)
        assert run.final.output == outcome.output
        assert (run.final.fault[1] if run.final.fault else None) == outcome.message


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_no_schedule_is_shorter_than_a_reported_shortest_one(yaml_text):
    """A shortest schedule is as long as the shortest path to any end state of that outcome, found by BFS here."""
    exploration, analysis = _explored(yaml_text)
    program = exploration.program
    depth = {initial_state(program): 0}
    frontier = [initial_state(program)]
    while frontier:
        state = frontier.pop(0)
        for tid in runnable(program, state):
            successor = step(program, state, tid)
            if successor not in depth:
                depth[successor] = depth[state] + 1
                frontier.append(successor)
    nearest: dict = {}
    for state, steps in depth.items():
        if not runnable(program, state):
            key = (status(program, state), state.shared, state.output, state.fault[1] if state.fault else None)
            nearest[key] = min(nearest.get(key, steps), steps)
    reported = {(o.status, o.final, o.output, o.message if o.status in ("violation", "error") else None): len(o.schedule)
                for o in analysis.outcomes}
    assert reported == nearest


@settings(max_examples=60, deadline=None)
@given(local_scenarios())
def test_threads_with_no_shared_access_interleave_in_multinomially_many_ways(scenario):
    """Threads of n1, n2, (n3) independent steps: (n1 + n2 + n3)! / (n1! n2! n3!) interleavings, one outcome."""
    _, analysis = explored(scenario.yaml)
    expected = factorial(sum(scenario.steps))
    for n in scenario.steps:
        expected //= factorial(n)
    assert analysis.interleavings == expected
    [outcome] = analysis.outcomes
    assert (outcome.status, outcome.interleavings, outcome.probability) == ("finished", expected, 1)
    assert Counter(outcome.schedule) == Counter({name: n for name, n in zip("ABC", scenario.steps) if n})


@settings(max_examples=15, deadline=None)
@given(scenarios(statements_per_thread=(1, 3)))
def test_explore_json_is_byte_identical_across_two_runs(yaml_text):
    """The same file explored twice prints the same bytes: nothing in the report depends on chance or memory."""
    _, analysis = _explored(yaml_text)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "generated.yaml"
        path.write_text(yaml_text, encoding="utf-8")
        first = invoke("explore", str(path), "--json")
        second = invoke("explore", str(path), "--json")
    assert first.stdout_bytes == second.stdout_bytes
    assert json.loads(first.stdout)["interleavings"] == analysis.interleavings


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.integers(min_value=1, max_value=40))
def test_a_partial_exploration_never_overstates_an_outcome(yaml_text, max_states):
    """Cut short by --max-states, every count and probability is a lower bound of the full one."""
    _, full = explored(yaml_text)
    _, partial = explored(yaml_text, max_states=max_states)
    exact = {(o.status, o.final, o.output, o.message): o for o in full.outcomes}
    for outcome in partial.outcomes:
        whole = exact[(outcome.status, outcome.final, outcome.output, outcome.message)]
        assert outcome.probability <= whole.probability
        if whole.interleavings is not INFINITE and outcome.interleavings is not INFINITE:
            assert outcome.interleavings <= whole.interleavings
    assert sum(o.probability for o in partial.outcomes) + partial.unexplored + partial.never_ends == 1
