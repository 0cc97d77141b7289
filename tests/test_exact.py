"""Type-exact states and outcomes: what Python calls equal but prints differently stays apart.

`0 == False == 0.0 == -0.0` in Python, yet a program prints them as `0`,
`False`, `0.0` and `-0.0`; NaN is unequal to itself, yet every NaN prints
`nan`. The model must never report an output that the program cannot print,
nor one outcome as many.
"""
from __future__ import annotations

from hypothesis import given, settings

from conftest import explored, program_of
from strategies import scenarios

from schedsim.engine.replay import replay
from schedsim.sampling import SampleOptions, sample
from schedsim.engine.values import exact_key


def finals(yaml_text: str) -> list[tuple[str, str, int]]:
    """(repr of the final values, output, interleavings) of each outcome, sorted."""
    _, analysis = explored(yaml_text)
    return sorted((repr(o.final), " | ".join(o.output), o.interleavings) for o in analysis.outcomes)


def test_one_and_true_in_one_variable_are_two_outcomes():
    """A: x = 1; B: x = True. A B ends with x True, B A with x 1: two outcomes, 1 interleaving each."""
    assert finals("""
        shared: {x: 0}
        threads:
          A: x = 1
          B: x = True
    """) == [("(1,)", "", 1), ("(True,)", "", 1)]


def test_a_false_local_in_one_thread_does_not_stand_in_for_a_zero_in_another():
    """M1: A's local a = False and B's local b = 0 are at the same pc; B prints 0 in all 6 orders, never False."""
    assert finals("""
        threads:
          A: |
            a = False
            pass
          B: |
            b = 0
            print(b)
    """) == [("()", "0", 6)]


def test_zero_and_minus_zero_are_two_outcomes():
    """A: x = 0.0; B: x = -0.0. The last write wins, and Python prints them differently."""
    assert finals("""
        shared: {x: 1}
        threads:
          A: x = 0.0
          B: x = -0.0
    """) == [("(-0.0,)", "", 1), ("(0.0,)", "", 1)]


def test_nan_computed_twice_is_one_outcome():
    """M2: both threads write a fresh NaN; whoever is last, x is nan: one outcome of 2 interleavings."""
    exploration, analysis = explored("""
        shared: {x: 0}
        threads:
          A: x = 1e999 - 1e999
          B: x = 1e999 - 1e999
    """)
    assert [(repr(o.final), o.interleavings) for o in analysis.outcomes] == [("(nan,)", 2)]
    assert exploration.graph.number_of_nodes() == 4  # start, A wrote, B wrote, both wrote


def test_a_nan_that_stays_is_one_state_however_it_was_reached():
    """A: x = inf - inf, then y = 1; B: y = 2. The two orders of A's second step and B meet in states that agree."""
    exploration, _ = explored("""
        shared: {x: 0, y: 0}
        threads:
          A: |
            x = 1e999 - 1e999
            a = 1
          B: |
            b = 1
    """)
    # 3 steps: A1 A2 B, A1 B A2, B A1 A2 -- states: {}, A1, B, A1A2, A1B, A1A2B = 6
    assert exploration.graph.number_of_nodes() == 6


def test_the_uniform_sampler_finds_every_state_it_steps_to():
    """M1 crashed `sample --strategy uniform` with a KeyError: its steps must land on explored states."""
    program = program_of("""
        threads:
          A: |
            a = False
            pass
          B: |
            b = 0
            print(b)
    """)
    result = sample(program, SampleOptions(runs=20, seed=1, strategy="uniform"))
    assert [(seen.status, seen.first.final.output, seen.runs) for seen in result.outcomes] == [("finished", ("0",), 20)]


def test_exact_keys_tell_apart_what_equality_merges():
    """The exact key separates 0, False, 0.0, -0.0 and 0j, and makes every NaN one value."""
    values = [0, False, 0.0, -0.0, 0j, (0,), (False,)]
    assert len({exact_key(value) for value in values}) == len(values)
    assert exact_key(float("nan")) == exact_key(float("inf") - float("inf"))


@settings(max_examples=60, deadline=None)
@given(scenarios(mixed=True))
def test_with_bools_ints_and_floats_every_outcome_replays_to_exactly_itself(yaml_text):
    """Each outcome's schedule replays to that status, output and message, and to final values of the same types."""
    exploration, analysis = explored(yaml_text, max_states=50_000)
    if not exploration.complete:
        return
    for outcome in analysis.outcomes:
        run = replay(exploration.program, list(outcome.schedule))
        assert run.status == outcome.status
        assert exact_key(run.final.shared) == exact_key(outcome.final)
        assert run.final.output == outcome.output
        assert (run.final.fault[1] if run.final.fault else None) == outcome.message


@settings(max_examples=20, deadline=None)
@given(scenarios(mixed=True))
def test_with_bools_ints_and_floats_every_sampled_outcome_is_one_that_explore_reports(yaml_text):
    """Runs drawn by the random and uniform strategies all end in outcomes of the exhaustive analysis."""
    program = program_of(yaml_text)
    for strategy in ("random", "uniform"):
        result = sample(program, SampleOptions(runs=15, seed=3, strategy=strategy, max_states=50_000))
        if result.plan.analysis is None:
            return
        assert all(seen.exact is not None for seen in result.outcomes)
        assert sum(seen.runs for seen in result.outcomes) + sum(runs for _, runs in result.more.values()) == 15
