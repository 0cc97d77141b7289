"""The classic concurrency problems in scenarios/: each explores completely and shows what it teaches.

Every scenario runs once through `schedsim explore FILE --json` (click's
CliRunner); the tests pin its verdict: the exit status, which outcomes
exist, deadlock or not, whether its checks hold. Where the numbers can be
worked out on paper they are pinned too, with the working in the
docstring. In the Condition scenarios every step holds the lock L, so a
run is an order of "blocks" (from an acquire or a wake-up to a release or
a wait) and the other threads are blocked meanwhile: counting block
orders counts interleavings.
"""
from __future__ import annotations

import json
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import cli_runner

from schedsim.cli import load_program, main
from schedsim.engine.explorer import explore

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# Each classic, and whether it demonstrates a bug (explore exits 1) or its fix (exits 0).
CLASSICS = {
    "producer_consumer": 0, "producer_consumer_if": 1,
    "dining_philosophers_3": 1, "dining_philosophers_3_ordered": 0,
    "dining_philosophers_5": 1, "dining_philosophers_5_ordered": 0,
    "readers_writers": 0,
    "peterson": 0, "peterson_swapped": 1,
    "bank_transfer": 1, "bank_transfer_ordered": 0,
    "barrier_phases": 0,
    "double_checked_init": 0, "double_checked_init_broken": 1,
}


@lru_cache(maxsize=None)
def _explore(name: str) -> tuple[int, str, str]:
    result = cli_runner().invoke(main, ["explore", str(SCENARIOS / f"{name}.yaml"), "--json"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def report(name: str) -> dict:
    return json.loads(_explore(name)[1])


def statuses(name: str) -> set[str]:
    return {outcome["status"] for outcome in report(name)["outcomes"]}


def finals(name: str, status: str | None = None) -> list[dict]:
    return [o["final"] for o in report(name)["outcomes"] if status is None or o["status"] == status]


def by_status(name: str) -> dict[str, tuple[int | None, Fraction]]:
    """{status: (interleavings, probability)} summed over the outcomes of each status."""
    rows: dict[str, tuple] = {}
    for outcome in report(name)["outcomes"]:
        count, chance = rows.get(outcome["status"], (0, Fraction(0)))
        more = outcome["interleavings"]
        rows[outcome["status"]] = (None if count is None or more is None else count + more,
                                   chance + Fraction(outcome["probability_exact"]))
    return rows


def analysis(name: str, key: str) -> list:
    """One of the explaining analyses of the report; skipped where this build has none."""
    data = report(name)
    if key not in data:
        pytest.skip(f"the report has no {key!r} analysis in this build")
    return data[key]


# -- every classic ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_classic_explores_completely_with_its_verdict(name):
    """Complete, no traceback, nothing on stderr, exit 1 exactly for the scenarios that show a bug."""
    status, _, stderr = _explore(name)
    data = report(name)
    assert data["scenario"] == name
    assert data["complete"] is True and data["unexplored_probability"] == 0
    assert data["never_ends_probability"] == 0
    assert stderr == ""
    assert status == CLASSICS[name]
    assert (statuses(name) == {"finished"}) == (status == 0)


@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_classic_states_its_property_as_checks(name):
    """Each classic has checks, and a description that says what it shows."""
    program = load_program(str(SCENARIOS / f"{name}.yaml"))
    assert program.final_checks or program.always_checks
    assert len(program.description) > 200


# -- producer/consumer ----------------------------------------------------------------

def test_producer_consumer_with_while_always_hands_over_both_items_in_order():
    """P puts 0 and 1 into a one-slot buffer; C0 and C1 take one each, waiting in `while` loops.

    Counting block orders (P's put, P's wait on not_full, a consumer's
    take, its wait on not_empty, and each wake-up; notify wakes the first
    waiter): P puts first: 8 orders; C0 waits first: 10; C1 first: 10.
    28 interleavings, all finished with consumed == [0, 1].
    """
    data = report("producer_consumer")
    assert data["interleavings"] == 28
    assert finals("producer_consumer") == [{"buffer": [], "consumed": [0, 1]}]
    assert data["deadlocks"] == 0 and data["violations"] == []


def test_producer_consumer_with_if_lets_a_woken_consumer_take_from_an_empty_buffer():
    """The same 28 block orders; a consumer woken with the buffer empty now fails instead of waiting again.

    That happens only when C0 waits first, P puts and notifies C0, and C1
    takes the item before C0 wakes: after P's put either C1 takes at once
    (then C0 wakes before P's second put) or P waits first and C1 takes
    (then C0 wakes before P does): 2 orders, chance 1/3 * 1/2 * 1/3 * 1/2
    + 1/3 * 1/2 * 1/3 * 1/2 * 1/2 = 1/24. The same with C0 and C1
    swapped: 4 of 28 go wrong, 1/12; the other 24 finish as before.
    """
    rows = {(o["status"], o.get("message")): (o["interleavings"], Fraction(o["probability_exact"]))
            for o in report("producer_consumer_if")["outcomes"]}
    assert rows == {
        ("finished", None): (24, Fraction(11, 12)),
        ("error", "consumer0, line 31: IndexError: list index out of range"): (2, Fraction(1, 24)),
        ("error", "consumer1, line 31: IndexError: list index out of range"): (2, Fraction(1, 24)),
    }


# -- dining philosophers -------------------------------------------------------------

def test_three_philosophers_deadlock_when_each_takes_a_left_fork_first():
    """Deadlock exactly when the first 3 steps are the 3 first forks: 3! = 6 interleavings.

    Chance: any first step; then 2 of the 3 runnable threads take a first
    fork (the holder may take its second): 2/3; then 1 of 2: 1/2. 1/3.
    """
    assert by_status("dining_philosophers_3")["deadlock"] == (6, Fraction(1, 3))
    [deadlock] = [o for o in report("dining_philosophers_3")["outcomes"] if o["status"] == "deadlock"]
    assert deadlock["message"] == (
        "P0 waits to acquire F1 (held by P1) at line 20; P1 waits to acquire F2 (held by P2) at line 24; "
        "P2 waits to acquire F0 (held by P0) at line 28")
    assert len(deadlock["schedule"]) == 3


def test_five_philosophers_deadlock_in_5_factorial_interleavings():
    """All five first forks before any second one: 5! = 120 interleavings.

    Chance: while k philosophers hold a left fork, 5 - k can take one and
    each block of neighbours holding forks has one member whose right fork
    is free. Step 2: 4/5. Step 3: from two neighbours (1/2) 3/4, else 3/5.
    Step 4: 2/3 with one block, 1/2 with two; from neighbours one block
    follows with chance 2/3, from non-neighbours 1/3. Step 5: 1/2.
    4/5 * (1/2 * 3/4 * 11/18 + 1/2 * 3/5 * 5/9) * 1/2 = 19/120.
    """
    assert by_status("dining_philosophers_5")["deadlock"] == (120, Fraction(19, 120))
    assert report("dining_philosophers_5")["deadlocks"] == 1


@pytest.mark.parametrize("name", ["dining_philosophers_3_ordered", "dining_philosophers_5_ordered"])
def test_philosophers_who_take_the_lower_fork_first_always_all_eat(name):
    """One global order of forks: no deadlock, and every philosopher eats in every run."""
    assert statuses(name) == {"finished"}
    assert all(all(final.values()) for final in finals(name))
    assert report(name)["deadlocks"] == 0


@pytest.mark.parametrize("name, forks", [("dining_philosophers_3", 3), ("dining_philosophers_5", 5)])
def test_the_lock_order_analysis_names_the_philosophers_cycle(name, forks):
    """The cycle F0 -> F1 -> ... -> F0 is reported, with a run that deadlocks on it; none when ordered."""
    [cycle] = analysis(name, "lock_order")
    assert sorted(cycle["locks"]) == [f"F{i}" for i in range(forks)]
    assert analysis(f"{name}_ordered", "lock_order") == []


# -- readers/writers -------------------------------------------------------------------

def test_readers_and_the_writer_never_share_the_room():
    """The `always` check holds; each reader sees 0 or 1, never a newer value before an older one."""
    assert statuses("readers_writers") == {"finished"}
    seen = sorted(final["seen"] for final in finals("readers_writers"))
    assert seen == [[0, 0], [0, 1], [1, 1]]
    assert all(final["data"] == 1 and final["readers"] == 0 for final in finals("readers_writers"))


def test_two_readers_can_be_in_the_room_at_once():
    """Some reachable state has reading == 2: readers do not exclude each other."""
    program = load_program(str(SCENARIOS / "readers_writers.yaml"))
    reading = program.shared_names.index("reading")
    exploration = explore(program)
    assert max(state.shared[reading] for state in exploration.states) == 2


# -- Peterson's algorithm ----------------------------------------------------------------

def test_peterson_keeps_mutual_exclusion_without_a_lock():
    """in_cs <= 1 in every reachable state; the busy-waits loop, so the count is infinite.

    By symmetry each thread is the last to write turn in half the runs:
    turn ends 0 or 1 with chance 1/2 each. The chance of spinning forever
    is 0: a spin ends as soon as the other thread moves on.
    """
    data = report("peterson")
    assert data["interleavings"] is None and data["violations"] == []
    assert {(loop["thread"], loop["text"]) for loop in data["loops"]} == {
        ("P0", "while flag1 and turn == 1:"), ("P1", "while flag0 and turn == 0:")}
    assert {(o["final"]["turn"], o["probability_exact"]) for o in data["outcomes"]} == {(0, "1/2"), (1, "1/2")}


def test_peterson_is_not_starvation():
    """The spin cycle is unfair to the other thread, so the starvation analysis stays silent."""
    assert analysis("peterson", "starvation") == []


def test_peterson_with_its_first_two_lines_swapped_lets_both_threads_in():
    """Giving the turn away before raising the flag: some run reaches in_cs == 2."""
    data = report("peterson_swapped")
    assert {o["final"]["in_cs"] for o in data["outcomes"] if o["status"] == "violation"} >= {2}
    assert any(v["message"] == "always check failed: in_cs <= 1 (line 32)" for v in data["violations"])


# -- bank transfer -----------------------------------------------------------------------

def test_opposite_transfers_deadlock_in_2_of_6_interleavings():
    """T1 locks a then b, T2 b then a: deadlock exactly when the first two steps are one of each.

    That is 2 interleavings with chance 1/2. Otherwise the first holds
    both; the second takes its first lock after the first releases it and
    then waits for the other lock, before or after the first's last
    release: 2 ways per first thread, 4 finished, a == 110, b == 90.
    """
    assert by_status("bank_transfer") == {"finished": (4, Fraction(1, 2)), "deadlock": (2, Fraction(1, 2))}
    assert finals("bank_transfer", "finished") == [{"a": 110, "b": 90}]
    [deadlock] = [o for o in report("bank_transfer")["outcomes"] if o["status"] == "deadlock"]
    assert deadlock["message"] == ("T1 waits to acquire lock_b (held by T2) at line 19; "
                                   "T2 waits to acquire lock_a (held by T1) at line 25")
    [cycle] = analysis("bank_transfer", "lock_order")
    assert sorted(cycle["locks"]) == ["lock_a", "lock_b"]


def test_ordered_transfers_and_the_auditor_run_one_at_a_time():
    """Everyone takes lock_a first and keeps it to the end: 3! = 6 interleavings, all conserving money."""
    assert by_status("bank_transfer_ordered") == {"finished": (6, 1)}
    assert finals("bank_transfer_ordered") == [{"a": 110, "b": 90, "audited": 200}]
    assert analysis("bank_transfer_ordered", "lock_order") == []


# -- barrier ------------------------------------------------------------------------------

def test_barrier_phases_give_both_sums_in_every_run():
    """9 steps a worker: write; arrive, pass; read, read, write; arrive, pass; write.

    The barriers cut each run into three stretches that cannot overlap:
    the first writes and arrivals, C(4, 2) = 6 orders; passes through the
    second arrivals, two chains of 5, C(10, 5) = 252; the last passes and
    writes, C(4, 2) = 6. 6 * 252 * 6 = 9072, all with sums == [3, 3].
    """
    assert report("barrier_phases")["interleavings"] == 9072
    assert finals("barrier_phases") == [{"parts": [0, 0], "sums": [3, 3]}]
    assert analysis("barrier_phases", "races") == []


# -- double-checked initialisation ------------------------------------------------------------

def test_double_checked_initialisation_initialises_once():
    """inits == 1 and both threads use 42 in every run; the unlocked reads are reported as races."""
    assert statuses("double_checked_init") == {"finished"}
    assert finals("double_checked_init") == [{"config": 42, "ready": True, "inits": 1, "used": [42, 42]}]
    assert {race["variable"] for race in analysis("double_checked_init", "races")} == {"ready", "config"}


def test_publishing_the_flag_before_the_config_lets_a_thread_use_none():
    """With ready = True first, a thread can pass the unlocked check and read config while it is None."""
    used = [final["used"] for final in finals("double_checked_init_broken", "violation")]
    assert used and all(None in pair for pair in used)
    assert all(final["inits"] == 1 for final in finals("double_checked_init_broken"))
