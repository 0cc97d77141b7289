"""--steps shared: a shared access and the local-only statements after it make one step.

The outcomes are those of statement steps; the counts and probabilities are
those of the coarser steps, every shared state is a statement state, and
every schedule a shared report names replays with --steps shared.
"""
from __future__ import annotations

import json
import textwrap
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings

import schedsim
from conftest import invoke, write_scenario
from schedsim.analyses.analysis import analyse
from schedsim.engine.compiler import compile_scenario, with_steps
from schedsim.real.crosscheck import in_statement_steps
from schedsim.errors import ScenarioError
from schedsim.engine.explorer import explore
from schedsim.engine.program import SHARED, STATEMENT
from schedsim.engine.replay import replay
from schedsim.frontends.scenario import parse
from strategies import looping_scenarios, scenarios

# A writes x once, after a local; B reads x, adds 1 locally and prints it; C only counts n to 2
# in a while loop. Worked by hand below.
HAND = """
    shared: {x: 0}
    threads:
      A: |
        a = 1
        x = a
      B: |
        b = x
        b = b + 1
        print(b)
      C: |
        n = 0
        while n < 2:
            n += 1
"""


def compiled(yaml_text: str, steps: str):
    return compile_scenario(parse(textwrap.dedent(yaml_text), "test.yaml"), steps)


def explored(yaml_text: str, steps: str, max_states: int = 200_000):
    exploration = explore(compiled(yaml_text, steps), max_states=max_states)
    return exploration, analyse(exploration)


def explored_both(yaml_text: str, max_states: int = 30_000):
    """Both modes' explorations and analyses (shared first), for drawn scenarios small enough to explore whole."""
    coarse, shared = explored(yaml_text, SHARED, max_states)
    fine, statement = explored(yaml_text, STATEMENT, max_states)
    assume(fine.complete)
    return coarse, shared, fine, statement


def outcome_keys(analysis) -> set:
    return {(outcome.status, outcome.final, outcome.output, outcome.message) for outcome in analysis.outcomes}


def by_output(analysis) -> dict:
    return {outcome.output: (outcome.interleavings, outcome.probability) for outcome in analysis.outcomes}


def test_hand_worked_statement_steps():
    # A takes 2 steps, B 3 (read x and set b; set b; print), C 6 (n = 0, then test, n += 1, test,
    # n += 1, test): 11! / (2! 3! 6!) = 4,620 interleavings. B prints 2 only if both of A's steps come
    # before B's first: 1 of the 10 orders of A,A,B,B,B, so 462, with chance 1/2 * 1/2.
    # States: (A, B) positions 3 x 4, two values of b once B read after A wrote: 15; C has 7.
    # Transitions: the unfinished threads summed over the states, 7 * (8 + 11) + 15 * 6.
    exploration, analysis = explored(HAND, STATEMENT)
    assert (len(exploration.states), exploration.transitions, analysis.interleavings) == (105, 223, 4620)
    assert by_output(analysis) == {("1",): (4158, Fraction(3, 4)), ("2",): (462, Fraction(1, 4))}


def test_hand_worked_shared_steps():
    # A: `a = 1` runs before the start, so A has one step (write x). B: read x with b = b + 1, then print.
    # C: n = 0, the test and n += 1 run before the start and stop at the back edge; then one step
    # goes round once more, and one takes the false test out of the loop: 2 steps.
    # 5! / (1! 2! 2!) = 30 interleavings; B prints 2 when A comes before B's first step: 10 of them,
    # chance 1/2. States: 8 (A, B) pairs times 3 places of C; transitions 3 * (3 + 5) + 8 * 2.
    exploration, analysis = explored(HAND, SHARED)
    assert (len(exploration.states), exploration.transitions, analysis.interleavings) == (24, 40, 30)
    assert by_output(analysis) == {("1",): (20, Fraction(1, 2)), ("2",): (10, Fraction(1, 2))}


def test_a_loop_over_locals_takes_a_step_each_round():
    program = compiled(HAND, SHARED)
    run = replay(program, ["C", "C"])
    assert run.final.threads[2][0] < 0 and [step.instruction.text for step in run.steps] == ["while n < 2:", "while n < 2:"]


def test_a_spinning_local_loop_still_spins():
    spin = """
        shared: {flag: false}
        threads:
          A: |
            while not flag:
                a = 1
          B: |
            while True:
                b = 1
            flag = True
    """
    _, statement = explored(spin, STATEMENT)
    _, shared = explored(spin, SHARED)
    assert statement.interleavings is shared.interleavings  # infinitely many, both
    assert outcome_keys(statement) == outcome_keys(shared) and shared.loops


def test_a_local_that_fails_is_a_step_of_its_own():
    # B can check x between A's write and A's failing assert only if that assert is not merged
    # into the write: then both outcomes, the violation of each, stay reachable.
    failing = """
        shared: {x: 0}
        threads:
          A: |
            x = 1
            a = 1
            assert a == 2
          B: |
            assert x == 0
    """
    _, statement = explored(failing, STATEMENT)
    _, shared = explored(failing, SHARED)
    messages = {outcome.message.split(":")[0] for outcome in shared.outcomes}
    assert outcome_keys(statement) == outcome_keys(shared) and messages == {"A, line 7", "B, line 9"}
    assert replay(compiled(failing, SHARED), ["A", "B"]).status == "violation"


def test_a_started_thread_runs_its_first_locals_with_the_start():
    started = """
        shared: {x: 0}
        threads:
          main: |
            T.start()
            T.join()
          T: |
            t = 1
            t = t + 1
            x = t
    """
    run = replay(compiled(started, SHARED), ["main", "T", "main"])
    assert run.status == "finished" and run.final.shared == (2,)
    assert [step.instruction.text for step in run.steps] == ["T.start()", "x = t", "T.join()"]


def test_an_unknown_mode_is_refused_in_one_line():
    with pytest.raises(ScenarioError, match="--steps must be statement or shared, not 'coarse'"):
        compiled(HAND, "coarse")


def test_the_modes_convert_both_ways():
    shared = compiled(HAND, SHARED)
    assert with_steps(with_steps(shared, STATEMENT), SHARED) == shared
    statement = with_steps(shared, STATEMENT)
    assert statement.steps == STATEMENT and len(explore(statement).states) == 105


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_both_modes_reach_the_same_outcomes_and_shared_has_fewer_states(yaml_text):
    coarse, shared, fine, statement = explored_both(yaml_text)
    assert outcome_keys(shared) == outcome_keys(statement)
    assert set(coarse.states) <= set(fine.states)  # each shared step is made of statement steps


@settings(max_examples=40, deadline=None)
@given(looping_scenarios())
def test_loops_keep_the_outcomes_and_every_schedule_replays(yaml_text):
    coarse, shared, fine, statement = explored_both(yaml_text)
    assert outcome_keys(shared) == outcome_keys(statement)
    assert set(coarse.states) <= set(fine.states)
    for outcome in shared.outcomes:
        run = replay(coarse.program, list(outcome.schedule))
        assert (run.status, run.final.shared, run.final.output) == (outcome.status, outcome.final, outcome.output)


@settings(max_examples=30, deadline=None)
@given(looping_scenarios())
def test_a_shared_run_written_out_in_statement_steps_ends_alike(yaml_text):
    program = compiled(yaml_text, SHARED)
    statement = with_steps(program, STATEMENT)
    exploration = explore(program, max_states=30_000)
    assume(exploration.complete)
    for outcome in analyse(exploration).outcomes:
        run = replay(program, list(outcome.schedule))
        fine = replay(statement, list(in_statement_steps(statement, run)))
        assert fine.final == run.final and len(fine.steps) >= len(run.steps)


# -- the CLI and the API ----------------------------------------------------------------

def test_cli_explore_says_shared_and_its_replay_commands_replay(tmp_path):
    path = write_scenario(tmp_path, HAND.replace("print(b)", "assert b != 2"))
    text = invoke("explore", path, "--steps", "shared")
    assert text.exit_code == 1
    assert "Steps: shared (--steps shared)" in text.stdout
    command = next(line.split("replay: ", 1)[1] for line in text.stdout.splitlines() if "replay: schedsim" in line)
    words = command.split()
    assert words[:5] == ["schedsim", "replay", path, "--steps", "shared"]
    again = invoke(*words[1:], "--json")
    assert again.exit_code == 1 and json.loads(again.stdout)["status"] == "violation"
    assert json.loads(again.stdout)["step_mode"] == "shared"


def test_cli_json_has_the_step_mode(tmp_path):
    path = write_scenario(tmp_path, HAND)
    shared = json.loads(invoke("explore", path, "--steps", "shared", "--json").stdout)
    statement = json.loads(invoke("explore", path, "--json").stdout)
    assert (shared["step_mode"], shared["states"], shared["interleavings"]) == ("shared", 24, 30)
    assert (statement["step_mode"], statement["states"], statement["interleavings"]) == ("statement", 105, 4620)


def test_cli_sample_run_and_graph_take_the_mode(tmp_path):
    path = write_scenario(tmp_path, HAND)
    sampled = json.loads(invoke("sample", path, "--steps", "shared", "--runs", "20", "--json").stdout)
    assert sampled["step_mode"] == "shared" and sampled["interleavings"] == 30
    assert sampled["steps"] == 20 * 5  # every run takes the 5 shared steps
    run = invoke("run", path, "--steps", "shared", "--json")
    assert len(json.loads(run.stdout)["schedule"]) == 5
    assert invoke("graph", path, "--steps", "shared", "-o", str(tmp_path / "g.json")).stdout.startswith("wrote 24 states")


def test_cli_refuses_an_unknown_mode(tmp_path):
    result = invoke("explore", write_scenario(tmp_path, HAND), "--steps", "coarse")
    assert result.exit_code == 2 and "'coarse' is not one of 'statement', 'shared'" in result.stderr


def test_api_takes_steps():
    result = schedsim.explore(textwrap.dedent(HAND), steps="shared")
    assert result.to_dict()["step_mode"] == "shared" and result.interleavings == 30
    assert schedsim.replay(textwrap.dedent(HAND), "A,B,B,C,C", steps="shared").status == "finished"
    assert schedsim.sample(textwrap.dedent(HAND), runs=5, steps="shared")["step_mode"] == "shared"
    with pytest.raises(ScenarioError, match="--steps must be"):
        schedsim.explore(textwrap.dedent(HAND), steps="coarse")


def test_crosscheck_checks_shared_schedules_in_statement_steps():
    report = schedsim.crosscheck(textwrap.dedent(HAND), runs=3, steps="shared")
    assert report["step_mode"] == "shared" and report["verdict"] == "agree"
    assert report["controlled"]["agreed"] == report["controlled"]["schedules"] >= 2


def test_a_cluster_batch_steps_in_the_recipe_mode():
    from schedsim.distributed import Recipe, run_batch
    from schedsim.sampling import SampleOptions

    scenario = parse(textwrap.dedent(HAND), "test.yaml")
    options = SampleOptions(runs=4, max_states=0)
    _, steps, runs, _ = run_batch(Recipe(scenario, options, SHARED), 0, 4)
    assert (steps, runs) == (4 * 5, 4)  # the 5 shared steps of each run, not the 11 statement steps
    assert Recipe(scenario, options, SHARED).digest != Recipe(scenario, options).digest


def test_sample_names_the_mode_in_its_commands(tmp_path):
    path = write_scenario(tmp_path, HAND.replace("print(b)", "assert b != 2"))
    text = invoke("sample", path, "--steps", "shared", "--runs", "20").stdout
    assert f"schedsim run {path} --steps shared --seed" in text
    assert f"schedsim replay {path} --steps shared --schedule" in text


def test_show_marks_the_local_only_instructions_and_html_takes_the_mode(tmp_path):
    path = write_scenario(tmp_path, HAND)
    lines = invoke("show", path, "--steps", "shared").stdout.splitlines()
    marked = [line.rsplit("   ", 1)[1] for line in lines if line.startswith(" +")]  # what each marked one does
    assert marked == ["set a", "set b", "set n", "test", "set n"]
    assert not any(line.startswith(" +") for line in invoke("show", path).stdout.splitlines())
    page = invoke("html", path, "--steps", "shared", "-o", str(tmp_path / "page.html"))
    assert page.stdout == f"wrote {tmp_path / 'page.html'}: 24 states, 2 outcomes\n"
