"""Every bundled scenario explores completely, and shows what its description says.

Each scenario is run through the command line (`schedsim explore FILE
--json`, via click's CliRunner) once; the tests then pin its key facts
exactly. Counts are worked out by hand in the docstrings. For threads that
never block, the count of interleavings comes from inserting one thread's
steps at a time: k steps that must follow some step s, among the n steps
already placed after s, can go in C(n + k, k) ways.
"""
from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction
from functools import lru_cache
from itertools import permutations
from math import comb
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedsim.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BUNDLED = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))

# The exit status of the seed's scenarios: 1 where some run goes wrong.
SEED_EXIT_STATUS = {
    "counter": 1, "counter_locked": 0, "deadlock": 1, "critical_section": 0, "print_unlocked": 0,
    "print_locked": 0, "daemon": 0, "join_in_loop": 0, "late_binding": 1, "acquire_release": 0,
    "forgotten_release": 1,
}


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2: keep stderr out of stdout
    except TypeError:
        return CliRunner()


@lru_cache(maxsize=None)
def _explore(name: str) -> tuple[int, str]:
    result = _runner().invoke(main, ["explore", str(SCENARIOS / f"{name}.yaml"), "--json"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def report(name: str) -> dict:
    """The JSON report of a bundled scenario."""
    return json.loads(_explore(name)[1])


def outcomes(name: str) -> dict:
    """{(status, final as sorted items, output): (interleavings, exact probability)}."""
    table = {}
    for outcome in report(name)["outcomes"]:
        key = (outcome["status"], tuple(sorted((k, _hashable(v)) for k, v in outcome["final"].items())),
               tuple(outcome["output"]))
        assert key not in table, f"outcome listed twice: {key}"
        table[key] = (outcome["interleavings"], Fraction(outcome["probability_exact"]))
    return table


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def outputs(name: str) -> Counter:
    """{printed lines: interleavings} over every outcome."""
    counts: Counter = Counter()
    for outcome in report(name)["outcomes"]:
        counts[tuple(outcome["output"])] += outcome["interleavings"]
    return counts


def lines(*numbers: int) -> tuple[str, ...]:
    return tuple(f"Thread {n}" for n in numbers)


# -- every scenario --------------------------------------------------------------

def test_the_seed_examples_are_all_bundled():
    """Each example of the seed notes, and counter/counter_locked/deadlock, has its scenario file."""
    assert set(BUNDLED) >= set(SEED_EXIT_STATUS)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_explores_completely(name):
    """`schedsim explore FILE --json` finishes the whole graph, with exit 1 exactly when some run goes wrong."""
    status, _ = _explore(name)
    data = report(name)
    assert data["complete"] is True and data["stopped"] is None
    assert data["unexplored_probability"] == 0
    if data["interleavings"] is None:  # a loop can spin: the report names it
        assert data["loops"]
    else:
        assert sum(o["interleavings"] for o in data["outcomes"]) == data["interleavings"]
        assert sum(Fraction(o["probability_exact"]) for o in data["outcomes"]) == 1
    assert status == (1 if any(o["status"] != "finished" for o in data["outcomes"]) else 0)


@pytest.mark.parametrize("name", sorted(SEED_EXIT_STATUS))
def test_seed_scenario_exit_status(name):
    """explore exits 1 for the scenarios where a run goes wrong (lost update, deadlock, late binding), else 0."""
    assert _explore(name)[0] == SEED_EXIT_STATUS[name]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_says_what_it_teaches(name):
    """Every bundled scenario has a description of a sentence or more."""
    assert len(report(name)["description"]) > 80


@pytest.mark.parametrize("name", BUNDLED)
def test_every_reported_schedule_replays_to_its_outcome(name):
    """`schedsim replay FILE --schedule S` with each outcome's shortest schedule ends in that outcome."""
    for outcome in report(name)["outcomes"]:
        result = _runner().invoke(main, ["replay", str(SCENARIOS / f"{name}.yaml"), "--json",
                                         "--schedule", ",".join(outcome["schedule"])])
        run = json.loads(result.stdout)
        assert (run["status"], run["final"], run["output"]) == (outcome["status"], outcome["final"], outcome["output"])


# -- counters --------------------------------------------------------------------

def test_counter_loses_an_update_in_18_of_20_interleavings():
    """3 + 3 steps: C(6, 3) = 20 orders; x == 2 only for AAABBB and BBBAAA, (1/2)^3 each."""
    assert outcomes("counter") == {
        ("finished", (("x", 2),), ()): (2, Fraction(1, 4)),
        ("violation", (("x", 1),), ()): (18, Fraction(3, 4)),
    }
    assert report("counter")["violations"][0]["schedule"] == ["A", "A", "B", "A", "B", "B"]


def test_counter_locked_always_ends_with_2_in_2_interleavings():
    """Whoever acquires L first runs its whole section while the other waits: 2 interleavings, x == 2."""
    assert outcomes("counter_locked") == {("finished", (("x", 2),), ()): (2, Fraction(1))}
    assert report("counter_locked")["violations"] == []


def test_critical_section_has_exactly_two_outcomes_one_per_order():
    """thread_1 first: x 0 -> 1, then thread_2 makes 2; thread_2 first: x -> 1, then thread_1 makes 1 + 2 = 3."""
    assert outcomes("critical_section") == {
        ("finished", (("x", 2),), ("1", "2")): (1, Fraction(1, 2)),
        ("finished", (("x", 3),), ("1", "3")): (1, Fraction(1, 2)),
    }


# -- printing threads --------------------------------------------------------------

def test_unlocked_printing_gives_every_one_of_the_90_orders_of_the_lines():
    """6 lines, two of each thread: 6!/(2!2!2!) = 90 orders, all possible, so lines mix.

    Interleavings: W2's 2 lines follow main's last start (1 way); W1's follow
    start W1, among main's last start and W2's lines: C(3+2, 2) = 10; W0's
    follow start W0, among the 6 later steps: C(6+2, 2) = 28. 10 * 28 = 280.
    The output 0,0,1,1,2,2 needs start W1 before W1's first line (3 places)
    and start W2 after it and before W2's first line: 5 + 4 + 3 = 12.
    """
    data = report("print_unlocked")
    assert data["interleavings"] == comb(5, 2) * comb(8, 2) == 280
    counts = outputs("print_unlocked")
    assert set(counts) == set(permutations(lines(0, 0, 1, 1, 2, 2)))
    assert len(counts) == 90
    assert counts[lines(0, 0, 1, 1, 2, 2)] == 12
    assert counts[lines(2, 2, 1, 1, 0, 0)] == 1   # main starts all three first
    together = [out for out in counts if _blocks(out)]
    assert len(together) == 6


def _blocks(output: tuple[str, ...]) -> bool:
    """True when each thread's lines are next to each other."""
    return all(output[i] == output[i + 1] for i in range(0, len(output), 2))


def test_locked_printing_keeps_each_threads_lines_together():
    """With the lock held over the loop only the 3! = 6 orders of whole blocks remain.

    The workers' 12 steps (acquire, print, print, release each) form one
    sequence; main's starts interleave with it, start k before worker k's
    acquire. Blocks 0,1,2: start W1 in one of 5 places before W1's acquire,
    start W2 after it and before W2's acquire (9 places): 9+8+7+6+5 = 35.
    0,2,1: both before W2's acquire: 5+4+3+2+1 = 15. 1,0,2: W0 and W1
    started first, start W2 in 9 places: 9. 1,2,0: 5. 2,*,*: 1 each. 66.
    """
    counts = outputs("print_locked")
    assert counts == {
        lines(0, 0, 1, 1, 2, 2): 35,
        lines(0, 0, 2, 2, 1, 1): 15,
        lines(1, 1, 0, 0, 2, 2): 9,
        lines(1, 1, 2, 2, 0, 0): 5,
        lines(2, 2, 0, 0, 1, 1): 1,
        lines(2, 2, 1, 1, 0, 0): 1,
    }
    assert all(_blocks(out) for out in counts)
    assert report("print_locked")["interleavings"] == 66


def test_acquire_release_behaves_exactly_like_with():
    """acquire()/release() around the loop are the same steps as `with`: the same graph and outcomes."""
    with_lock, explicit = report("print_locked"), report("acquire_release")
    for key in ("states", "transitions", "interleavings", "deadlocks"):
        assert explicit[key] == with_lock[key]
    assert outcomes("acquire_release") == outcomes("print_locked")


def test_forgotten_release_deadlocks_in_every_run_after_one_threads_lines():
    """The first worker to acquire ends holding the lock; the other two wait forever.

    Worker W first (3 steps: acquire, print, print), main's remaining starts
    placed around them with the deadlock after all three: W0 first, starts
    of W1 and W2 in 4 places each, in order: 4+3+2+1 = 10; W1 first: 4;
    W2 first: 1. Total 15.
    """
    table = outcomes("forgotten_release")
    assert {status for status, _, _ in table} == {"deadlock"}
    assert {output: count for (_, _, output), (count, _) in table.items()} == {
        lines(0, 0): 10, lines(1, 1): 4, lines(2, 2): 1,
    }
    data = report("forgotten_release")
    assert data["interleavings"] == 15
    assert data["deadlocks"] == 3
    first = data["outcomes"][0]
    assert first["message"] == ("W1 waits to acquire lock (held by W0, which has finished) at line 18; "
                                "W2 waits to acquire lock (held by W0, which has finished) at line 18")


# -- daemon threads and join ------------------------------------------------------

def test_daemon_workers_may_print_after_main_until_the_interpreter_exits():
    """After main's last line the daemon workers may go on until the exit, which the scheduler picks.

    A run prints i, j, k lines of W0, W1, W2 (each 0..2) in any order, and
    "main: done" anywhere among them: the sum of (n+1) n!/(i!j!k!), n = i+j+k,
    is 1570 outputs. Main alone: main's three starts and its print each
    win against 1, 2 and 3 ready workers (1/2 * 1/3 * 1/4), then the exit
    wins against 3 (1/4): 1/96. Then W2 once after it: 1/24 * 1/4 * 1/4.
    """
    counts = outputs("daemon")
    assert len(counts) == 1570
    assert all(out.count("main: done") == 1 for out in counts)
    assert any(out[-1] != "main: done" for out in counts)
    assert {status for status, _, _ in outcomes("daemon")} == {"finished"}
    chances = {output: Fraction(p) for output, p in _probabilities("daemon")}
    assert chances[("main: done",)] == Fraction(1, 96)
    assert chances[("main: done", "Thread 2")] == Fraction(1, 384)
    assert sum(chances.values()) == 1


def _probabilities(name: str):
    return [(tuple(o["output"]), o["probability_exact"]) for o in report(name)["outcomes"]]


def test_join_in_the_start_loop_serialises_the_threads():
    """start then join, one worker at a time: a single interleaving, the lines in thread order."""
    data = report("join_in_loop")
    assert data["interleavings"] == 1
    assert outputs("join_in_loop") == {lines(0, 0, 1, 1, 2, 2): 1}


# -- late binding -----------------------------------------------------------------

def test_late_binding_workers_see_the_value_of_i_when_they_run():
    """Worker k reads _i after main set it to k, and main only raises it: got[k] is k..2, got[2] is 2.

    That is 3 * 2 = 6 possible got lists; only [0, 1, 2] passes. Interleavings:
    W2's 3 steps after main's last start: 1; W1's 3 after start W1, among
    main's 2 later steps and W2's 3: C(8, 3) = 56; W0's 3 among the 10 steps
    after start W0: C(13, 3) = 286; 56 * 286 = 16016. Each worker sees its own
    number when its read comes before main's next assignment: W1's read right
    after start W1, its 2 other steps among 5: C(7, 2) = 21; W0 likewise among
    10: C(12, 2) = 66; 21 * 66 = 1386 good interleavings.
    Printed outputs: the 3! orders of 0, 1, 2 for the good list, 3 orders for
    each list with a repeat, 1 for [2, 2, 2]: 6 + 4 * 3 + 1 = 19 outcomes.
    """
    data = report("late_binding")
    assert data["interleavings"] == comb(8, 3) * comb(13, 3) == 16016
    table = outcomes("late_binding")
    assert len(table) == 19
    got = Counter()
    for (status, final, output), (count, _) in table.items():
        values = dict(final)["got"]
        assert status == ("finished" if values == (0, 1, 2) else "violation")
        assert sorted(output) == sorted(f"Thread {v}" for v in values)
        got[values] += count
    assert set(got) == {(a, b, 2) for a in (0, 1, 2) for b in (1, 2)}
    assert got[(0, 1, 2)] == comb(7, 2) * comb(12, 2) == 1386
    # one failed check, listed once: every interleaving but the 1,386 that get [0, 1, 2]
    [violation] = data["violations"]
    assert violation["interleavings"] == data["interleavings"] - 1386


# -- deadlock ---------------------------------------------------------------------

def test_opposite_lock_orders_deadlock_in_2_of_6_interleavings():
    """Deadlock exactly when the first two steps are A,B or B,A: 2 interleavings, probability 1/2.

    A,A first: A holds both; B waits until A releases L2, then takes L2 and
    waits for L1; A's release of L1 comes before or after B's take of L2:
    2 ways. Same for B,B: 4 finished interleavings, probability 1/2.
    """
    assert outcomes("deadlock") == {
        ("finished", (("x", 2),), ()): (4, Fraction(1, 2)),
        ("deadlock", (("x", 0),), ()): (2, Fraction(1, 2)),
    }
    data = report("deadlock")
    assert data["deadlocks"] == 1
    failure = data["outcomes"][1]
    assert failure["schedule"] == ["A", "B"]
    assert failure["message"] == ("A waits to acquire L2 (held by B) at line 17; "
                                  "B waits to acquire L1 (held by A) at line 21")
