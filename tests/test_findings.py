"""The analyses of SPEC section 5: each fires where it must, stays silent on the fix, and its schedule shows it."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from conftest import explored, invoke, program_of
from strategies import lockable_scenarios, scenarios

from schedsim.analyses.edges import Moves
from schedsim.analyses.findings import find
from schedsim.analyses.races import find_races
from schedsim.engine.replay import replay
from schedsim.frontends.scenario import load
from schedsim.engine.compiler import compile_scenario
from schedsim.engine.explorer import explore

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def findings(yaml_text: str, **options):
    exploration, _ = explored(yaml_text)
    return find(exploration, **options)


def bundled(name: str):
    return find(explore(compile_scenario(load(str(SCENARIOS / f"{name}.yaml")))))


def race_pairs(found) -> set[tuple]:
    """{(variable, (thread, line, access), (thread, line, access))} of every race found."""
    return {(race.variable, (race.first.site.thread, race.first.site.line, race.first.kind),
             (race.second.site.thread, race.second.site.line, race.second.kind)) for race in found.races}


def replayed(yaml_text: str, schedule):
    return replay(program_of(yaml_text), list(schedule))


# -- data races ------------------------------------------------------------------------------

def test_the_lost_update_counter_races_on_every_conflicting_pair_of_lines():
    """A: a = x (line 12), x = a (14); B: b = x (16), x = b (18): both read-write pairs and the two writes."""
    assert race_pairs(bundled("counter")) == {
        ("x", ("A", 12, "read"), ("B", 18, "write")),
        ("x", ("A", 14, "write"), ("B", 16, "read")),
        ("x", ("A", 14, "write"), ("B", 18, "write")),
    }


def test_the_locked_counter_has_no_race():
    """Every access to x is inside `with L:`, so each thread's release orders it before the other's acquire."""
    found = bundled("counter_locked")
    assert found.races == [] and found.races_complete


def test_a_race_schedule_is_a_shortest_run_that_ends_with_the_second_access():
    """A writes x at line 14 after a read and a local step; B's read at line 16 is its first step."""
    race = next(r for r in bundled("counter").races if (r.first.site.line, r.second.site.line) == (14, 16))
    assert race.schedule == ("A", "A", "A", "B")
    assert "A writes x at line 14 and B reads it at line 16" in race.message


FLAG_HANDOFF = """
    shared: {data: 0, ready: false}
    threads:
      A: |
        data = 42
        ready = True
      B: |
        while not ready:
            pass
        print(data)
"""


def test_a_handoff_through_a_plain_flag_is_a_race_on_the_flag_and_the_data():
    """A shared variable orders nothing, even when B waits for it (as ThreadSanitizer would say)."""
    pairs = {(variable, a[1], b[1]) for variable, a, b in race_pairs(findings(FLAG_HANDOFF))}
    assert pairs == {("ready", 6, 8), ("data", 5, 10)}


def test_the_race_schedule_replays_to_the_second_access():
    """The schedule's last step is B's print reading data, with A's write before it."""
    race = next(r for r in findings(FLAG_HANDOFF).races if r.variable == "data")
    run = replayed(FLAG_HANDOFF, race.schedule)
    assert run.steps[-1].instruction.line == 10 and run.program.threads[run.steps[-1].thread].name == "B"
    assert any(step.instruction.line == 5 for step in run.steps)


def test_a_handoff_through_an_event_is_no_race():
    """E.set() after the write, E.wait() before the read: set -> wait orders them."""
    assert findings("""
        shared: {data: 0}
        events: [E]
        threads:
          A: |
            data = 42
            E.set()
          B: |
            E.wait()
            print(data)
    """).races == []


def test_an_event_that_is_waited_for_after_the_read_does_not_order_it():
    """The wait comes after B's read, so nothing orders the read before A's write."""
    pairs = race_pairs(findings("""
        shared: {data: 0}
        events: [E]
        threads:
          A: |
            data = 42
            E.set()
          B: |
            print(data)
            E.wait()
    """))
    assert {(variable, a[1], b[1]) for variable, a, b in pairs} == {("data", 6, 9)}


def test_a_handoff_through_a_queue_semaphore_or_join_is_no_race():
    """put -> the get of that item; release -> acquire of a semaphore; a thread's end -> join."""
    for sync_a, sync_b in [("Q.put(1)", "Q.get()"), ("S.release()", "S.acquire()"), ("pass", "A.join()")]:
        assert findings(f"""
            shared: {{data: 0}}
            queues: {{Q: 0}}
            semaphores: {{S: 0}}
            threads:
              A: |
                data = 42
                {sync_a}
              B: |
                {sync_b}
                data = data + 1
        """).races == [], (sync_a, sync_b)


def test_a_queue_get_is_ordered_after_its_own_put_only():
    """B's get takes the first item, put before A's second write: that write still races with B's read."""
    pairs = race_pairs(findings("""
        shared: {data: 0}
        queues: {Q: 0}
        threads:
          A: |
            data = 1
            Q.put(1)
            data = 2
            Q.put(2)
          B: |
            item = Q.get()
            print(data)
    """))
    assert {(a[1], b[1]) for _, a, b in pairs} == {(8, 12)}


def test_a_start_orders_what_came_before_it():
    """main writes x, then starts W: W's read is ordered; main's write after the start is not."""
    pairs = race_pairs(findings("""
        shared: {x: 0}
        threads:
          main: |
            x = 1
            W.start()
            x = 2
          W: |
            print(x)
    """))
    assert {(a[1], b[1]) for _, a, b in pairs} == {(7, 9)}


def test_writes_to_different_elements_of_a_list_do_not_race_but_a_read_of_the_list_does():
    """xs[0] and xs[1] are separate locations; print(xs) reads them both."""
    pairs = race_pairs(findings("""
        shared: {xs: [0, 0]}
        threads:
          A: xs[0] = 1
          B: xs[1] = 2
          C: print(xs)
    """))
    assert {(a[0], b[0]) for _, a, b in pairs} == {("A", "C"), ("B", "C")}


def test_two_appends_to_one_list_do_not_race():
    """list.append is atomic in CPython: neither loses the other's item."""
    assert findings("""
        shared: {log: []}
        threads:
          A: log.append(1)
          B: log.append(2)
    """).races == []


def test_a_barrier_orders_every_phase_before_the_next():
    """The bundled two-phase barrier: writes to parts before B.wait(), reads after it."""
    assert bundled("barrier_phases").races == []


def test_the_race_search_says_when_its_bound_cut_it_short():
    found = findings(FLAG_HANDOFF, max_race_states=1)
    assert not found.races_complete


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lockable_scenarios())
def test_a_lock_around_every_shared_access_or_running_threads_one_after_another_removes_every_race(scenario):
    """Property: whatever the bare threads race on, the locked and the sequential versions race on nothing."""
    assert findings(scenario.locked).races == []
    assert findings(scenario.sequential).races == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_skipping_pairs_that_hold_a_common_lock_never_changes_the_races_found(yaml_text):
    """Property: the lockset shortcut is exact; the full happens-before search finds the same races."""
    exploration, _ = explored(yaml_text)
    moves = Moves(exploration)
    fast, full = find_races(exploration, moves), find_races(exploration, moves, shortcut=False)
    assert full.complete and fast.races == full.races


# -- lock-order inversion ----------------------------------------------------------------------

TWO_LOCKS = """
    locks: [G, L1, L2]
    threads:
      A: |
        {a}
            with L1:
                with L2:
                    pass
      B: |
        {b}
            with {second}:
                with {third}:
                    pass
"""


def test_two_locks_in_opposite_orders_are_an_inversion_that_deadlocks():
    found = bundled("deadlock").lock_order
    assert [(inversion.locks, [(s.thread, s.held, s.wanted) for s in inversion.steps]) for inversion in found] == [
        (("L1", "L2"), [("A", "L1", "L2"), ("B", "L2", "L1")])]
    assert found[0].deadlock_schedule == ("A", "B")


def test_each_step_of_an_inversion_has_a_schedule_to_the_acquire():
    """A's witness: A has taken L1 (line 16) and stands at `with L2:` (line 17)."""
    step = bundled("deadlock").lock_order[0].steps[0]
    assert (step.held_since.line, step.asks.line, step.schedule) == (16, 17, ("A",))


def test_an_inversion_that_a_gate_lock_keeps_from_deadlocking_is_still_reported():
    """Both threads hold G while taking L1 and L2 in opposite orders: no run deadlocks, the order is inverted."""
    text = TWO_LOCKS.format(a="with G:", b="with G:", second="L2", third="L1")
    [inversion] = findings(text).lock_order
    assert inversion.locks == ("L1", "L2") and inversion.guarded_by == ("G",)
    assert inversion.deadlock_schedule is None
    _, analysis = explored(text)
    assert all(outcome.status == "finished" for outcome in analysis.outcomes)


def test_locks_taken_in_one_order_are_no_inversion():
    assert findings(TWO_LOCKS.format(a="with G:", b="with G:", second="L1", third="L2")).lock_order == []
    assert bundled("dining_philosophers_5_ordered").lock_order == []


def test_a_try_acquire_cannot_wait_forever_so_it_is_no_inversion():
    assert findings("""
        locks: [L1, L2]
        threads:
          A: |
            with L1:
                with L2:
                    pass
          B: |
            with L2:
                got = L1.acquire(timeout=1)
                if got:
                    L1.release()
    """).lock_order == []


# -- a lock held at a thread's end -------------------------------------------------------------

def test_a_thread_that_ends_holding_a_lock_blocks_the_others_forever():
    """forgotten_release: the first worker to take the lock ends with it; the other two wait forever."""
    [held] = bundled("forgotten_release").held_at_exit
    assert (held.thread, held.lock, held.acquired.line, held.blocked) == ("W0", "lock", 18, ("W1", "W2"))
    run = replay(compile_scenario(load(str(SCENARIOS / "forgotten_release.yaml"))), list(held.deadlock_schedule))
    assert run.status == "deadlock"


def test_the_schedule_ends_with_the_thread_finished_and_the_lock_still_its():
    text = """
        rlocks: [R]
        threads:
          A: |
            R.acquire()
            a = 1
          B: |
            with R:
                pass
    """
    [held] = findings(text).held_at_exit
    assert (held.thread, held.lock, held.blocked) == ("A", "R", ("B",))
    final = replayed(text, held.schedule).final
    assert final.threads[0][0] == -2 and final.prims[0] == (0, 1)  # A is DONE and owns R once


def test_a_thread_that_releases_its_lock_or_hands_it_to_another_is_not_reported():
    """A plain Lock may be released by another thread: B releases what A took, and every run ends with it free."""
    assert bundled("acquire_release").held_at_exit == []
    assert findings("""
        locks: [L]
        threads:
          A: |
            L.acquire()
          B: |
            A.join()
            L.release()
          main: |
            A.start()
            B.start()
    """).held_at_exit == []


# -- starvation and livelock -------------------------------------------------------------------

SPIN = """
    shared: {flag: false, x: 0}
    threads:
      A: |
        while not flag:
            pass
        x = 1
      B: |
        x = 2
"""


def test_a_spin_on_a_flag_nobody_sets_is_starvation():
    [lasso] = findings(SPIN).starvation
    assert [(loop.thread, loop.line, loop.text) for loop in lasso.loops] == [("A", 5, "while not flag:")]
    assert [stuck.thread for stuck in lasso.stuck] == ["A"]


def test_the_lasso_replays_to_the_cycle_and_round_it_back_to_the_same_state():
    [lasso] = findings(SPIN).starvation
    stem = replayed(SPIN, lasso.schedule).final
    assert replayed(SPIN, lasso.schedule + lasso.cycle).final == stem
    assert lasso.cycle


def test_a_spin_that_the_other_thread_ends_is_not_starvation():
    """B sets the flag at its first step: a scheduler that keeps B waiting forever is unfair."""
    assert findings(SPIN.replace("x = 2", "flag = True")).starvation == []


def test_petersons_busy_wait_is_not_starvation():
    """Each thread spins only while the other, always ready, has yet to move."""
    assert bundled("peterson").starvation == []
    assert bundled("peterson_swapped").starvation == []


def test_a_spin_while_holding_the_lock_the_setter_needs_is_starvation_and_names_the_waiter():
    [lasso] = findings("""
        shared: {flag: false}
        locks: [L]
        threads:
          A: |
            with L:
                while not flag:
                    pass
          B: |
            with L:
                flag = True
    """).starvation
    assert [(stuck.thread, stuck.doing) for stuck in lasso.stuck] == [
        ("A", "spins in `while not flag:` (line 7)"), ("B", "waits to acquire L (held by A) at line 10")]


# -- in the report -----------------------------------------------------------------------------

def test_explore_json_has_every_analysis_with_threads_lines_texts_and_schedules():
    report = json.loads(invoke("explore", str(SCENARIOS / "counter.yaml"), "--json").stdout)
    assert report["lock_order"] == report["held_at_exit"] == report["starvation"] == []
    assert report["races_complete"] is True
    race = report["races"][0]
    assert race["variable"] == "x" and race["schedule"] == ["A", "B", "B", "B"]
    assert race["accesses"] == [{"thread": "A", "line": 12, "text": "a = x", "access": "read"},
                                {"thread": "B", "line": 18, "text": "x = b", "access": "write"}]


def test_explore_max_race_states_bounds_the_race_search_and_the_report_says_so():
    result = invoke("explore", str(SCENARIOS / "peterson.yaml"), "--json", "--max-race-states", "50")
    report = json.loads(result.stdout)
    assert report["races_complete"] is False and result.exit_code == 0


def test_explore_text_explains_each_analysis_and_gives_the_replay_command():
    file = str(SCENARIOS / "deadlock.yaml")
    text = invoke("explore", file).stdout
    assert "Lock-order inversions: 1" in text and "Data races: none." in text
    assert "A lock-order inversion is threads taking the same locks in different orders" in text
    assert f"schedsim replay {file} --schedule A,B" in text

