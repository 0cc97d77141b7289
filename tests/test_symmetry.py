"""Symmetry reduction: interchangeable threads explored as orbits give the full graph's answer.

Every property compares the reduced exploration with the full one
(`symmetry=False`) on generated scenarios whose `count:` copies are alike.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings

from conftest import invoke, program_of, write_scenario
from strategies import symmetric_scenarios

from schedsim.analyses.analysis import analyse, outcome_key
from schedsim.engine.explorer import explore, full_size
from schedsim.analyses.findings import find
from schedsim.engine.replay import replay
from schedsim.engine.symmetry import find as find_symmetry
from schedsim.engine.values import Exact

MAX_STATES = 30_000

COUNTER_3X2 = """
    shared: {x: 0}
    threads:
      T:
        count: 3
        code: |
          for _ in range(2):
              a = x
              x = a + 1
"""


def _both(yaml_text: str):
    program = program_of(yaml_text)
    full = explore(program, max_states=MAX_STATES, symmetry=False)
    reduced = explore(program, max_states=MAX_STATES)
    assume(full.complete and reduced.complete)
    return full, reduced


def _table(analysis) -> dict:
    """{outcome key: (interleavings, probability)}: the order of equally likely outcomes may differ."""
    return {(o.status, repr(o.final), o.output, o.message): (o.interleavings, o.probability) for o in analysis.outcomes}


def test_the_three_counters_explore_one_state_per_orbit_and_count_as_the_full_graph():
    """Hand-checked: 1,394 states in full, 34,650 = 12!/(4!^3) interleavings; x ends at 2..6."""
    program = program_of(COUNTER_3X2)
    full, reduced = explore(program, symmetry=False), explore(program)
    assert len(full.states) == 1394 and len(reduced.states) == 299
    assert full_size(reduced) == (1394, full.transitions)
    full_analysis, reduced_analysis = analyse(full), analyse(reduced)
    assert reduced_analysis.interleavings == 34650 == full_analysis.interleavings
    assert _table(reduced_analysis) == _table(full_analysis)
    assert {o.final for o in reduced_analysis.outcomes} == {(2,), (3,), (4,), (5,), (6,)}


def test_copies_that_read_index_are_not_interchangeable():
    program = program_of(COUNTER_3X2.replace("x = a + 1", "x = a + index"))
    assert find_symmetry(program) is None
    assert find_symmetry(program_of(COUNTER_3X2)).classes == ((0, 1, 2),)


@settings(max_examples=80, deadline=None)
@given(symmetric_scenarios())
def test_reduced_counts_and_probabilities_are_the_full_graphs(yaml_text):
    full, reduced = _both(yaml_text)
    assert full_size(reduced) == (len(full.states), full.transitions)
    full_analysis, reduced_analysis = analyse(full), analyse(reduced)
    assert _table(reduced_analysis) == _table(full_analysis)
    assert reduced_analysis.interleavings == full_analysis.interleavings
    assert reduced_analysis.deadlock_states == full_analysis.deadlock_states


@settings(max_examples=40, deadline=None)
@given(symmetric_scenarios(mixed=True))
def test_reduction_keeps_values_of_different_types_apart(yaml_text):
    """0, False and 0.0 stay three values when copies trade places."""
    full, reduced = _both(yaml_text)
    assert full_size(reduced) == (len(full.states), full.transitions)
    assert _table(analyse(reduced)) == _table(analyse(full))


@settings(max_examples=60, deadline=None)
@given(symmetric_scenarios())
def test_every_reduced_schedule_is_a_real_one_that_replays_to_its_outcome(yaml_text):
    full, reduced = _both(yaml_text)
    program = reduced.program
    shortest = {}
    for outcome in analyse(full).outcomes:
        shortest[outcome.status, repr(outcome.final), outcome.output, outcome.message] = len(outcome.schedule)
    for outcome in analyse(reduced).outcomes:
        run = replay(program, list(outcome.schedule))
        assert outcome_key(program, run.final) == Exact((outcome.status, outcome.final, outcome.output, outcome.message))
        assert len(outcome.schedule) == shortest[outcome.status, repr(outcome.final), outcome.output, outcome.message]


def _race_lines(findings) -> set:
    return {(race.variable, *sorted((race.first.site.line, race.second.site.line))) for race in findings.races}


@settings(max_examples=50, deadline=None)
@given(symmetric_scenarios())
def test_reduced_findings_are_the_full_graphs(yaml_text):
    """The same pairs of racing lines and the same locks held at exit, each with a real schedule that replays."""
    full, reduced = _both(yaml_text)
    full_findings, reduced_findings = find(full), find(reduced)
    assert _race_lines(reduced_findings) == _race_lines(full_findings)
    assert ({(h.lock, h.acquired and h.acquired.line) for h in reduced_findings.held_at_exit}
            == {(h.lock, h.acquired and h.acquired.line) for h in full_findings.held_at_exit})
    for race in reduced_findings.races:
        steps = replay(reduced.program, list(race.schedule)).steps
        assert reduced.program.threads[steps[-1].thread].name == race.second.site.thread
        assert steps[-1].instruction.line == race.second.site.line


def test_cyclic_graphs_are_explored_in_full_and_the_report_says_why(tmp_path):
    path = write_scenario(tmp_path, """
        shared: {flag: false}
        threads:
          W:
            count: 2
            code: |
              while not flag:
                  pass
          S: |
            flag = True
    """)
    result = invoke("explore", "--json", path)
    report = json.loads(result.stdout)
    assert report["symmetry"]["threads"] == [["W0", "W1"]]
    assert report["symmetry"]["reduced"] is False and "cycles" in report["symmetry"]["why_not"]
    assert report["states"] == report["symmetry"]["explored_states"]


def test_the_report_gives_the_full_graphs_size_and_says_what_was_explored(tmp_path):
    path = write_scenario(tmp_path, COUNTER_3X2)
    reduced = json.loads(invoke("explore", "--json", path).stdout)
    full = json.loads(invoke("explore", "--json", "--no-symmetry", path).stdout)
    assert (reduced["states"], reduced["transitions"]) == (full["states"], full["transitions"]) == (1394, 3063)
    assert reduced["symmetry"] == {"threads": [["T0", "T1", "T2"]], "reduced": True, "explored_states": 299,
                                   "explored_transitions": 636, "why_not": None}
    assert full["symmetry"]["reduced"] is False
    for key in ("interleavings", "status_totals", "deadlocks"):
        assert reduced[key] == full[key]
    text = invoke("explore", path).stdout
    assert "T0, T1 and T2 are interchangeable" in text and "299 states were explored" in text


LOCK_ORDER_COPIES = """
    shared: {turn: 0}
    locks: [A, B]
    threads:
      T:
        count: 2
        code: |
          turn += 1
          if turn == 1:
              with A:
                  with B:
                      pass
          else:
              with B:
                  with A:
                      pass
"""


def test_a_lock_order_inversion_between_two_copies_is_found_and_told_of_two_threads():
    program = program_of(LOCK_ORDER_COPIES)
    full, reduced = explore(program, symmetry=False), explore(program)
    assert len(reduced.states) < len(full.states)
    [inversion] = find(reduced).lock_order
    [expected] = find(full).lock_order
    assert inversion.locks == expected.locks and inversion.deadlock_schedule is not None
    assert {step.thread for step in inversion.steps} == {"T0", "T1"}
    for step in inversion.steps:
        run = replay(program, list(step.schedule))
        assert program.threads[run.steps[-1].thread].name == step.thread
    run = replay(program, list(inversion.deadlock_schedule))
    assert run.status == "deadlock"


def test_the_python_api_reduces_by_default_and_can_explore_every_state(tmp_path):
    import schedsim

    path = write_scenario(tmp_path, COUNTER_3X2)
    reduced, full = schedsim.explore(path), schedsim.explore(path, symmetry=False)
    assert len(reduced.exploration.states) == 299 and len(full.exploration.states) == 1394
    assert _table(reduced.analysis) == _table(full.analysis)


PRIMITIVE_COPIES = {
    "condition waiters, one notify (deadlocks name who waits)": """
    shared: {ready: false, n: 0}
    conditions: {C: null}
    threads:
      W:
        count: 3
        code: |
          with C:
              while not ready:
                  C.wait()
              n += 1
      S: |
        with C:
            ready = True
            C.notify()
""",
    "a barrier of three copies": """
    shared: {x: 0}
    barriers: {B: 3}
    threads:
      W:
        count: 3
        code: |
          x += 1
          B.wait()
          assert x == 3
""",
    "an RLock taken twice, then a semaphore": """
    shared: {x: 0}
    rlocks: [R]
    semaphores: {S: 1}
    threads:
      W:
        count: 3
        code: |
          with R:
              with R:
                  a = x
          S.acquire()
          x = a + 1
""",
    "producers and consumers through a queue and an event": """
    shared: {got: 0}
    queues: {Q: 2}
    events: [E]
    threads:
      P:
        count: 2
        code: |
          Q.put(1)
          E.set()
      C:
        count: 2
        code: |
          E.wait()
          v = Q.get()
          got += v
""",
}


ALIKE = {"producers and consumers through a queue and an event": ((0, 1), (2, 3))}  # the others: ((0, 1, 2),)


@pytest.mark.parametrize("name", list(PRIMITIVE_COPIES))
def test_copies_that_use_each_kind_of_primitive_reduce_to_the_full_graphs_answer(name):
    """The primitives that name threads (owners, waiters, a barrier's arrivals) follow each renaming."""
    program = program_of(PRIMITIVE_COPIES[name])
    full, reduced = explore(program, symmetry=False), explore(program)
    assert reduced.symmetry.classes == ALIKE.get(name, ((0, 1, 2),)) and len(reduced.states) < len(full.states)
    assert full_size(reduced) == (len(full.states), full.transitions)
    full_analysis, reduced_analysis = analyse(full), analyse(reduced)
    assert _table(reduced_analysis) == _table(full_analysis)
    assert reduced_analysis.deadlock_states == full_analysis.deadlock_states
    for outcome in reduced_analysis.outcomes:
        run = replay(program, list(outcome.schedule))
        assert outcome_key(program, run.final) == Exact((outcome.status, outcome.final, outcome.output, outcome.message))
    assert _race_lines(find(reduced)) == _race_lines(find(full))
