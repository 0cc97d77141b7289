"""Graphs with cycles: busy-waits, `while True:` workers and the daemon shutdown window.

Probabilities through a cycle are exact where the component is small and
floating point where it is not, and the two agree; a worker meant to run
forever is an outcome, not a failure; starvation fires exactly where a fair
scheduler can keep a thread from getting anywhere.
"""
from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import explored, invoke, program_of, write_scenario
from schedsim.analyses.analysis import INFINITE, RUNS_FOREVER, analyse
from schedsim.engine.compiler import compile_scenario
from schedsim.real.crosscheck import Options as CrosscheckOptions, check_free
from schedsim.engine.explorer import explore as explore_graph
from schedsim.analyses.edges import Moves
from schedsim.analyses.findings import find
from schedsim.analyses.liveness import starvation
from schedsim.limits import DEFAULT_BOUNDS
from schedsim.sampling import SampleOptions, sample
from schedsim.frontends.scenario import load
from test_sampling import chi_square, critical_value

ROOT = Path(__file__).resolve().parent.parent

# A spins until B's second step writes x = 1, then reads x again to print it.
SAW = """
    shared: {x: 0}
    threads:
      A: |
        while x == 0:
            pass
        print("A saw", x)
      B: |
        b = 0
        x = 1
        x = 2
"""


def test_a_spin_read_late_has_the_probabilities_worked_on_paper():
    """A prints 1 only if its test and its read both come between B's two writes.

    A goes round test, pass, test, ... while B takes its first two steps,
    each step B's with chance 1/2. A has taken k steps before B's second with
    chance (k+1)/2**(k+2), so A stands at the test (k even) with chance 5/9
    and at `pass` with 4/9. Then A needs 2 more steps (test, read), or 3
    (pass, test, read), all before B's next: 1/4 or 1/8. So "A saw 1" has
    5/9 * 1/4 + 4/9 * 1/8 = 7/36, "A saw 2" 29/36, each through infinitely
    many interleavings.
    """
    _, analysis = explored(SAW)
    table = {outcome.output: (outcome.interleavings, outcome.probability) for outcome in analysis.outcomes}
    assert table == {("A saw 1",): (INFINITE, Fraction(7, 36)), ("A saw 2",): (INFINITE, Fraction(29, 36))}
    assert analysis.interleavings is INFINITE and analysis.never_ends == 0 and analysis.exact


FLOAT_ONLY = dataclasses.replace(DEFAULT_BOUNDS, exact_max_component=0)


def test_the_floating_point_solve_agrees_with_the_exact_one_and_says_it_is_a_float():
    exploration, exact = explored(SAW)
    floats = analyse(exploration, FLOAT_ONLY)
    assert [o.output for o in floats.outcomes] == [o.output for o in exact.outcomes]
    for approximate, precise in zip(floats.outcomes, exact.outcomes):
        assert isinstance(approximate.probability, float) and not approximate.exact
        assert abs(approximate.probability - precise.probability) < 1e-12
    assert not floats.exact and floats.residual < 1e-12


def test_a_component_past_the_lu_bound_is_solved_by_summing_steps_and_agrees():
    """With LU ruled out, SAW's cycle is solved by summing the mass inside step by step: the same 7/36, as a float."""
    exploration, exact = explored(SAW)
    summed = analyse(exploration, dataclasses.replace(FLOAT_ONLY, dense_max_component=0, max_lu_component=0))
    for approximate, precise in zip(summed.outcomes, exact.outcomes):
        assert abs(approximate.probability - precise.probability) < 1e-12
    assert summed.unsolved == 0 and summed.residual < 1e-12


def test_where_the_sum_converges_too_slowly_sparse_lu_solves_the_component():
    exploration, exact = explored(SAW)
    factored = analyse(exploration, dataclasses.replace(FLOAT_ONLY, dense_max_component=0, max_solve_iterations=3))
    assert factored.unsolved == 0
    for approximate, precise in zip(factored.outcomes, exact.outcomes):
        assert abs(approximate.probability - precise.probability) < 1e-12


def test_a_component_that_runs_leave_too_slowly_is_left_unsolved_not_guessed():
    exploration, _ = explored(SAW)
    starved = analyse(exploration, dataclasses.replace(FLOAT_ONLY, dense_max_component=0, max_lu_component=0,
                                                       max_solve_iterations=3))
    assert starved.unsolved > 0
    assert all(outcome.probability is None for outcome in starved.outcomes)


@st.composite
def spinning_scenarios(draw) -> str:
    """2-3 threads of waits on, and writes to, two shared ints kept in 0..2, so the graph is finite with cycles."""
    lines = ["shared: {x: 0, y: 0}", "threads:"]
    for name in ["A", "B", "C"][:draw(st.integers(2, 3))]:
        lines.append(f"  {name}: |")
        body = []
        for _ in range(draw(st.integers(1, 3))):
            variable, value = draw(st.sampled_from("xy")), draw(st.integers(0, 2))
            kind = draw(st.sampled_from(["wait", "set", "bump"]))
            if kind == "wait":
                body += [f"while {variable} == {value}:", "    pass"]
            elif kind == "set":
                body.append(f"{variable} = {value}")
            else:
                body.append(f"{variable} = ({variable} + 1) % 3")
        if draw(st.booleans()):
            body = ["while True:"] + ["    " + line for line in body]
        lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(spinning_scenarios())
def test_floating_point_and_exact_probabilities_agree_on_generated_cyclic_scenarios(text):
    """Every outcome, and the chance to spin forever, to 1e-9 either way; the exact ones add up to 1."""
    exploration, exact = explored(text)
    floats = analyse(exploration, FLOAT_ONLY)
    by_end = {(o.status, o.final, o.output, o.message): o.probability for o in exact.outcomes}
    # Outcomes of equal probability may come in either order once the numbers are floats.
    assert sorted(by_end, key=repr) == sorted(((o.status, o.final, o.output, o.message) for o in floats.outcomes), key=repr)
    for approximate in floats.outcomes:
        precise = by_end[(approximate.status, approximate.final, approximate.output, approximate.message)]
        assert abs(float(approximate.probability) - float(precise)) < 1e-9
    assert abs(float(floats.never_ends) - float(exact.never_ends)) < 1e-9
    if exact.exact:
        assert sum(o.probability for o in exact.outcomes) + exact.never_ends == 1


def test_random_sampling_frequencies_match_the_probabilities_through_a_cycle():
    """2,000 random runs of SAW: "A saw 1" and "A saw 2" at 7/36 and 29/36 (chi-square, 0.999)."""
    runs = 2_000
    result = sample(program_of(SAW), SampleOptions(runs=runs, seed=7, strategy="random"))
    observed = {seen.first.final.output: seen.runs for seen in result.outcomes}
    expected = {("A saw 1",): 7 / 36, ("A saw 2",): 29 / 36}
    assert sum(observed.values()) == runs
    assert chi_square(observed, expected, runs) < critical_value(1)


# -- threads meant to run forever ---------------------------------------------------------------

WORKERS = """
    shared: {n: 0}
    locks: [L]
    threads:
      A: |
        while True:
            with L:
                n = (n + 1) % 3
      B: |
        while True:
            with L:
                n = (n + 1) % 3
"""


def test_while_true_workers_that_keep_working_run_forever_with_probability_1_and_are_no_failure():
    exploration, analysis = explored(WORKERS)
    [outcome] = analysis.outcomes
    assert (outcome.status, outcome.probability, outcome.interleavings) == (RUNS_FOREVER, 1, INFINITE)
    assert analysis.never_ends == 0 and analysis.failures == []
    assert find(exploration).starvation == []


def test_a_forever_worker_beside_a_thread_that_finishes_runs_forever_once_the_other_is_done():
    """W runs forever; D finishes with x = 1 on every run: one "runs forever" outcome with x == 1."""
    _, analysis = explored("""
        shared: {x: 0}
        threads:
          W: |
            while True:
                pass
          D: |
            x = 1
    """)
    assert [(o.status, o.final, o.probability) for o in analysis.outcomes] == [(RUNS_FOREVER, (1,), 1)]


def test_a_forever_worker_blocked_for_good_is_a_failure_not_a_worker_going_round():
    """W waits for a lock that D took and never released: W never goes round again; the run is a deadlock."""
    _, analysis = explored("""
        locks: [L]
        threads:
          D: |
            L.acquire()
          W: |
            while True:
                with L:
                    pass
    """)
    assert RUNS_FOREVER not in {o.status for o in analysis.outcomes}
    assert {o.status for o in analysis.outcomes} == {"deadlock"}


def test_a_loop_with_a_break_is_not_meant_to_run_forever():
    """`while True:` left by a `break` that never comes: the run spins where it could end, a failure."""
    _, analysis = explored("""
        shared: {go: false}
        threads:
          A: |
            while True:
                if go:
                    break
    """)
    assert analysis.outcomes == [] and analysis.never_ends == 1


def test_explore_exits_0_on_workers_and_1_on_a_spin_that_could_end(tmp_path):
    workers = invoke("explore", write_scenario(tmp_path, WORKERS, "workers.yaml"), "--json")
    assert workers.exit_code == 0
    assert [o["status"] for o in json.loads(workers.stdout)["outcomes"]] == [RUNS_FOREVER]
    spin = invoke("explore", write_scenario(tmp_path, """
        shared: {go: false}
        threads:
          A: |
            while not go:
                pass
    """, "spin.yaml"))
    assert spin.exit_code == 1


# -- starvation and livelock -----------------------------------------------------------------

def _starved(text: str) -> list[tuple[str, ...]]:
    exploration, _ = explored(text)
    return [lasso.starved for lasso in find(exploration).starvation]


def test_a_spin_on_a_flag_nobody_sets_starves():
    assert _starved("""
        shared: {go: false}
        threads:
          A: |
            while not go:
                pass
          B: |
            b = 1
    """) == [("A",)]


def test_threads_that_politely_back_off_from_each_other_livelock():
    """Each raises its flag, and lowers and raises it again while the other's is up: both can go round forever."""
    starved = _starved("""
        shared: {a: false, b: false}
        threads:
          A: |
            a = True
            while b:
                a = False
                a = True
          B: |
            b = True
            while a:
                b = False
                b = True
    """)
    assert ("A", "B") in starved


def filter_lock(threads: int) -> str:
    """Peterson's filter lock for `threads` threads, each a `while True:` worker entering it again and again."""
    others = " or ".join(f"level[(index + {k}) % {threads}] >= L" for k in range(1, threads))
    return f"""
        shared: {{level: {[0] * threads}, victim: {[0] * threads}, in_cs: 0}}
        threads:
          P:
            count: {threads}
            code: |
              while True:
                  for L in range(1, {threads}):
                      level[index] = L
                      victim[L] = index
                      while ({others}) and victim[L] == index:
                          pass
                  in_cs += 1
                  in_cs -= 1
                  level[index] = 0
        checks:
          always: ["in_cs <= 1"]
    """


def test_petersons_busy_wait_with_while_true_workers_is_no_starvation():
    """Each of three threads enters the filter lock again and again: a fair scheduler lets every one in."""
    exploration, analysis = explored(filter_lock(3))
    assert [o.status for o in analysis.outcomes] == [RUNS_FOREVER]
    assert starvation(exploration, Moves(exploration)).starvation == []


def test_two_thread_peterson_as_while_true_workers_runs_forever_with_mutual_exclusion_and_no_starvation():
    exploration, analysis = explored(filter_lock(2))
    assert [o.status for o in analysis.outcomes] == [RUNS_FOREVER]
    assert analysis.exact and find(exploration).starvation == []


def test_a_worker_that_another_keeps_from_its_lock_is_no_starvation_under_a_fair_scheduler():
    """B takes L again and again; A is ready each time L is free, so a fair scheduler gives it L."""
    assert _starved("""
        locks: [L]
        threads:
          A: |
            with L:
                a = 1
          B: |
            while True:
                with L:
                    b = 1
    """) == []


def test_a_forever_worker_stuck_in_an_inner_spin_starves():
    """W's round waits for go, which nobody sets after W's first round: W never goes round again."""
    starved = _starved("""
        shared: {go: true}
        threads:
          W: |
            while True:
                while not go:
                    pass
                go = False
    """)
    assert starved == [("W",)]


# -- a partial exploration, Ctrl-C -------------------------------------------------------------

GROWING = """
    shared: {n: 0}
    locks: [L]
    threads:
      A: |
        while True:
            with L:
                n = n + 1
      B: |
        while True:
            with L:
                n = n + 1
            assert n < 40
"""


def test_a_partial_exploration_reports_the_violation_it_reached_within_seconds(tmp_path):
    path = write_scenario(tmp_path, GROWING)
    started = time.monotonic()
    result = invoke("explore", path, "--max-states", "5000", "--json")
    assert time.monotonic() - started < 10
    report = json.loads(result.stdout)
    assert report["complete"] is False and result.exit_code == 1
    [violation] = report["violations"]
    assert "assertion failed: assert n < 40" in violation["message"] and violation["schedule"]


def test_an_interrupted_analysis_lists_the_outcomes_reached_without_numbers():
    exploration, _ = explored(SAW)

    def interrupt(stage, done, total):
        raise KeyboardInterrupt

    analysis = analyse(exploration, progress=interrupt)
    assert not analysis.complete
    assert sorted(o.output for o in analysis.outcomes) == [("A saw 1",), ("A saw 2",)]
    assert all(o.probability is None and o.interleavings is None and o.schedule for o in analysis.outcomes)


def test_ctrl_c_while_exploring_a_large_cyclic_graph_gives_a_partial_report_and_exit_3_at_once(tmp_path):
    path = write_scenario(tmp_path, filter_lock(3))
    child = subprocess.Popen([sys.executable, "-m", "schedsim", "explore", path, "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # past the imports, inside the exploration (about 5 s here)
    child.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    out, err = child.communicate(timeout=60)
    assert time.monotonic() - interrupted < 10
    assert child.returncode == 3, err
    report = json.loads(out)
    assert "Traceback" not in err and "partial" in err
    assert report["stopped"] == "interrupted" and report["findings_interrupted"] == "races"


# -- daemon threads at shutdown ----------------------------------------------------------------

def test_every_output_of_the_plain_threading_daemon_program_is_one_the_model_predicts(tmp_path):
    """The seed's daemon example, written with threading: real runs print after main's line, and the model knows each.

    Each line is one write, as the model's print is one step (CPython's
    print writes the text and the newline apart, so another thread can
    print between them).
    """
    program = tmp_path / "daemon_real.py"
    program.write_text(
        "import sys, threading\n"
        "def print(line):\n"
        "    sys.stdout.write(line + '\\n')\n"
        "def work(number):\n"
        "    for _ in range(2):\n"
        "        print(f'Thread {number}')\n"
        "threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]\n"
        "for thread in threads:\n"
        "    thread.start()\n"
        "print('main: done')\n")
    _, analysis = explored((ROOT / "scenarios" / "daemon.yaml").read_text())
    predicted = {outcome.output for outcome in analysis.outcomes}
    seen = Counter(tuple(subprocess.run([sys.executable, str(program)], capture_output=True, text=True,
                                        timeout=30).stdout.splitlines()) for _ in range(12))
    assert set(seen) <= predicted
    assert all(out.count("main: done") == 1 for out in seen)


def test_crosscheck_free_runs_print_after_main_and_a_model_without_the_exit_window_would_be_a_mismatch():
    """Jittered real runs of daemon.yaml print daemon lines after "main: done": the model predicts each one,
    and the same runs judged against only the outcomes that end with "main: done" (the model before the
    exit window) have lines the model never predicted."""
    path = ROOT / "scenarios" / "daemon.yaml"
    scenario = load(str(path))
    program = compile_scenario(scenario)
    exploration = explore_graph(program)
    analysis = analyse(exploration)
    options = CrosscheckOptions(runs=30, seed=3, jitter=True)
    free = check_free(scenario, exploration, analysis, options)
    assert free["unpredicted"] == []
    cut_at_main = dataclasses.replace(analysis, outcomes=[o for o in analysis.outcomes if o.output[-1:] == ("main: done",)])
    unpredicted = check_free(scenario, exploration, cut_at_main, options)["unpredicted"]
    assert unpredicted and all(entry["output"][-1] != "main: done" for entry in unpredicted)
