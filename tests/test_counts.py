"""Exact interleaving counts and probabilities, worked out by hand."""
from fractions import Fraction


from conftest import COUNTER_YAML, SPIN_YAML, assert_outcomes, explored, outcome_rows

from schedsim.analyses.analysis import INFINITE


def test_lost_update_counter_has_2_good_and_18_lost_interleavings(counter_yaml):
    """3 steps each: C(6,3) = 20 orders; x == 2 only when one thread runs entirely first."""
    assert_outcomes(counter_yaml, {
        ("finished", (2,)): (2, Fraction(1, 4)),    # AAABBB, BBBAAA: (1/2)^3 each
        ("finished", (1,)): (18, Fraction(3, 4)),
    })


def test_two_threads_of_three_independent_steps_have_20_interleavings():
    """Locals only: every order of 3 + 3 steps is one interleaving, C(6, 3) = 20."""
    _, analysis = explored("""
        threads:
          A: |
            a = 1
            a = 2
            a = 3
          B: |
            b = 1
            b = 2
            b = 3
    """)
    assert analysis.interleavings == 20
    assert [o.interleavings for o in analysis.outcomes] == [20]


def test_x_plus_one_in_two_threads_is_a_read_and_a_write_each():
    """x = x + 1 is two steps, so C(4, 2) = 6 orders; x == 2 only in the 2 serial ones."""
    from conftest import assert_outcomes
    assert_outcomes("""
        shared: {x: 0}
        threads:
          A: x = x + 1
          B: x = x + 1
    """, {("finished", (2,)): 2, ("finished", (1,)): 4})


# -- locks ------------------------------------------------------------------------

def test_a_locked_counter_never_loses_an_update():
    """`with L: x = x + 1` in two threads: the lock serialises the read and the write.

    Each thread is acquire, read x, write x, release, then one local step
    (5 steps). Whoever acquires first runs its whole critical section while
    the other's acquire is blocked (2 ways). After that release, the first
    thread's local step can go in any of 6 places among the other's 5
    steps: 2 * 6 = 12 interleavings, all ending with x == 2.
    """
    assert_outcomes("""
        shared: {x: 0}
        locks: [L]
        threads:
          A: |
            with L:
                x = x + 1
            a = 1
          B: |
            with L:
                x = x + 1
            b = 1
    """, {("finished", (2,)): (12, 1)})


def test_an_rlock_is_reentrant_and_freed_only_by_its_last_release():
    """A takes R twice and releases it twice; B cannot get in between the two releases.

    A: acquire, acquire, write, release, release (5 steps); B: acquire,
    write, release. The first acquire decides everything, because the
    other thread's acquire stays blocked until R's count is back to 0:
    AAAAA BBB ends x == 2, BBB AAAAA ends x == 1, 1/2 each. If the inner
    release freed R, B could also run between A's two releases.
    """
    assert_outcomes("""
        shared: {x: 0}
        rlocks: [R]
        threads:
          A: |
            with R:
                with R:
                    x = 1
          B: |
            with R:
                x = 2
    """, {("finished", (2,)): (1, Fraction(1, 2)), ("finished", (1,)): (1, Fraction(1, 2))})


def test_a_plain_lock_taken_twice_by_one_thread_deadlocks():
    """threading.Lock is not reentrant: the inner `with L:` waits forever for A itself."""
    _, analysis = explored("""
        locks: [L]
        threads:
          A: |
            with L:
                with L:
                    pass
    """)
    [outcome] = analysis.outcomes
    assert (outcome.status, outcome.interleavings, outcome.probability) == ("deadlock", 1, 1)
    assert outcome.schedule == ("A",)
    assert "A waits to acquire L (held by A)" in outcome.message


def test_releasing_an_unlocked_lock_is_cpythons_runtime_error():
    """A Lock may be released by any thread (as in CPython), but not when it is free.

    A: L.acquire(); B: L.release(). A first: B releases A's lock, fine
    (1 interleaving, 1/2). B first: the lock is free, so B's release raises
    RuntimeError: release unlocked lock, and the run ends (1, 1/2).
    """
    _, analysis = explored("""
        locks: [L]
        threads:
          A: |
            L.acquire()
          B: |
            L.release()
    """)
    finished, error = analysis.outcomes
    assert (finished.status, finished.interleavings, finished.probability) == ("finished", 1, Fraction(1, 2))
    assert (error.status, error.interleavings, error.probability) == ("error", 1, Fraction(1, 2))
    assert error.message == "B, line 7: RuntimeError: release unlocked lock"
    assert error.schedule == ("B",)


def test_an_rlock_released_by_a_thread_that_does_not_own_it_is_an_error():
    """RLock, unlike Lock, belongs to its owner: B's release fails whether A holds R (AB) or not (BA)."""
    _, analysis = explored("""
        rlocks: [R]
        threads:
          A: |
            R.acquire()
          B: |
            R.release()
    """)
    [error] = analysis.outcomes
    assert (error.status, error.interleavings, error.probability) == ("error", 2, 1)
    assert error.message.endswith("RuntimeError: cannot release un-acquired lock")


def test_two_locks_taken_in_opposite_orders_deadlock_in_2_of_6_interleavings():
    """A: with L: with M: pass; B: with M: with L: pass (5 steps each).

    a1 = acquire L, b1 = acquire M. After a1 b1 or b1 a1 each thread holds
    the lock the other wants: deadlock, 2 interleavings reaching one state,
    probability 1/2 * 1/2 twice = 1/2. After a1 a2 A holds both; B's b1
    waits until A releases M (a4), and then B's b2 waits for L until a5:
    a1..a4 then a5 b1..b5 or b1 a5 b2..b5, 2 interleavings; the same for
    b1 b2 first. 4 finished (1/2), 2 deadlocked (1/2), 6 in all.
    """
    _, analysis = explored("""
        locks: [L, M]
        threads:
          A: |
            with L:
                with M:
                    pass
          B: |
            with M:
                with L:
                    pass
    """)
    finished, deadlock = analysis.outcomes
    assert (finished.status, finished.interleavings, finished.probability) == ("finished", 4, Fraction(1, 2))
    assert (deadlock.status, deadlock.interleavings, deadlock.probability) == ("deadlock", 2, Fraction(1, 2))
    assert analysis.interleavings == 6
    assert analysis.deadlock_states == 1
    assert deadlock.schedule == ("A", "B")
    assert deadlock.message == "A waits to acquire M (held by B) at line 6; B waits to acquire L (held by A) at line 10"


# -- threads that start, join and get cut off -------------------------------------

def test_main_starts_and_joins_two_workers():
    """main: start W0, start W1, join W0, join W1, print done; each W prints its index.

    Only main can run first (W0, W1 wait to be started). Then w0 must come
    after s0 and before j0, w1 after s1 and before j1:
      w0 before s1: s0 w0 s1, then w1 before or after j0        -> 2, "0 1"
      w0 after s1: orders of w0, w1, j0 with w0 before j0:
        w0 w1 j0, w0 j0 w1 -> "0 1";  w1 w0 j0 -> "1 0"         -> 3
    5 interleavings: "0 1" in 4, "1 0" in 1. Probabilities: after s0,
    main and W0 are runnable (1/2 each). W0 first -> "0 1" (1/2). s1 first:
    main's join waits, so W0 or W1 (1/4 each); W0 -> "0 1", W1 -> only W0
    can go next -> "1 0". So "0 1": 3/4, "1 0": 1/4; "done" is always last.
    """
    rows = outcome_rows("""
        threads:
          main: |
            W0.start()
            W1.start()
            W0.join()
            W1.join()
            print("done")
          W:
            code: |
              print(index)
            count: 2
    """)
    assert rows == {
        ("finished", (), ("0", "1", "done")): (4, Fraction(3, 4)),
        ("finished", (), ("1", "0", "done")): (1, Fraction(1, 4)),
    }


def test_a_thread_started_twice_at_run_time_is_cpythons_runtime_error():
    """`for i in range(2): W.start()`: the second start raises, whether W ran in between (2 interleavings) or not."""
    _, analysis = explored("""
        threads:
          main: |
            for i in range(2):
                W.start()
          W: |
            pass
    """)
    [error] = analysis.outcomes
    assert (error.status, error.interleavings, error.probability) == ("error", 2, 1)
    assert error.message == "main, line 5: RuntimeError: threads can only be started once"


def test_joining_a_thread_that_was_never_started_is_an_error():
    """CPython raises RuntimeError for join before start; it is the only interleaving."""
    _, analysis = explored("""
        threads:
          main: |
            W.join()
            W.start()
          W: |
            pass
    """)
    [error] = analysis.outcomes
    assert (error.status, error.interleavings) == ("error", 1)
    assert error.message == "main, line 4: RuntimeError: cannot join thread before it is started"


def test_a_daemon_thread_runs_on_until_the_interpreter_exits():
    """main: pass; D (daemon): y = 1, y = 2. Once main is done, its next turn is the exit (X).

    M X (1/2 * 1/2, y == 0); M D X and D M X (1/8 each, y == 1);
    M D D, D M D (1/8 each) and D D M (1/4): D ends before the exit, y == 2.
    """
    assert_outcomes("""
        shared: {y: 0}
        threads:
          main: |
            pass
          D:
            code: |
              y = 1
              y = 2
            daemon: true
    """, {
        ("finished", (0,)): (1, Fraction(1, 4)),
        ("finished", (1,)): (2, Fraction(1, 4)),
        ("finished", (2,)): (3, Fraction(1, 2)),
    })


# -- control flow ---------------------------------------------------------------

def test_an_if_test_is_a_step_that_reads_the_shared_variable():
    """A: x = 1; B: if x == 0: x = 5 else: x = 7 (test, then one write).

    A B B: the test sees 1 -> x == 7 (1/2). B A B: the test saw 0, B writes
    5 last -> 5 (1/4). B B A: A writes last -> 1 (1/4). The `else` jump
    takes no step, or there would be more interleavings.
    """
    assert_outcomes("""
        shared: {x: 0}
        threads:
          A: |
            x = 1
          B: |
            if x == 0:
                x = 5
            else:
                x = 7
    """, {
        ("finished", (7,)): (1, Fraction(1, 2)),
        ("finished", (5,)): (1, Fraction(1, 4)),
        ("finished", (1,)): (1, Fraction(1, 4)),
    })


def test_every_while_test_is_a_step_including_the_last_false_one():
    """i = 0; while i < 2: i = i + 1 is 6 steps (set, test, set, test, set, test); with B's 1 step: C(7, 1) = 7."""
    _, analysis = explored("""
        threads:
          A: |
            i = 0
            while i < 2:
                i = i + 1
          B: |
            b = 1
    """)
    assert analysis.interleavings == 7
    assert analysis.loops == []


def test_a_for_range_loop_takes_no_step_of_its_own():
    """A: for k in range(3): x = k (3 writes); B: y = x (read x, write y): C(5, 2) = 10.

    y is what B read: 9 before A's first write (B's read first, then its
    write in any of 4 places: 4, probability 1/2); 0 after one write
    (A r, then w in 3 places: 3, 1/4); 1 after two (2, 1/8); 2 after all
    three (1, 1/8).
    """
    assert_outcomes("""
        shared: {x: 9, y: -1}
        threads:
          A: |
            for k in range(3):
                x = k
          B: |
            y = x
    """, {
        ("finished", (2, 9)): (4, Fraction(1, 2)),
        ("finished", (2, 0)): (3, Fraction(1, 4)),
        ("finished", (2, 1)): (2, Fraction(1, 8)),
        ("finished", (2, 2)): (1, Fraction(1, 8)),
    })


# -- output, assertions and checks ---------------------------------------------------

def test_print_of_a_shared_variable_is_a_read_then_a_print():
    """A: x = 1; B: print(x) (read x, print). A B B prints 1 (1/2); B A B and B B A print 0 (2, 1/2).

    Both end with x == 1: the outcomes differ only by their output.
    """
    assert outcome_rows("""
        shared: {x: 0}
        threads:
          A: |
            x = 1
          B: |
            print(x)
    """) == {
        ("finished", (1,), ("1",)): (1, Fraction(1, 2)),
        ("finished", (1,), ("0",)): (2, Fraction(1, 2)),
    }


def test_two_printing_threads_give_both_orders_of_lines():
    """Each print is one step: "a" then "b" or "b" then "a", 1 interleaving and 1/2 each."""
    assert outcome_rows("""
        threads:
          A: print("a")
          B: print("b")
    """) == {
        ("finished", (), ("a", "b")): (1, Fraction(1, 2)),
        ("finished", (), ("b", "a")): (1, Fraction(1, 2)),
    }


def test_a_failed_assert_is_a_violation_that_ends_the_run():
    """A: x = 1; B: assert x == 0, "x changed"; b = 1.

    A first: B's assert fails and nothing runs after it (schedule A B,
    1 interleaving, 1/2). B first: the assert holds, then A and B's last
    step in either order (2, 1/2).
    """
    _, analysis = explored("""
        shared: {x: 0}
        threads:
          A: |
            x = 1
          B: |
            assert x == 0, "x changed"
            b = 1
    """)
    finished, violation = analysis.outcomes
    assert (finished.status, finished.interleavings, finished.probability) == ("finished", 2, Fraction(1, 2))
    assert (violation.status, violation.interleavings, violation.probability) == ("violation", 1, Fraction(1, 2))
    assert violation.schedule == ("A", "B")
    assert violation.message == 'B, line 7: assertion failed: assert x == 0, "x changed" (x changed)'


def test_an_always_check_fails_in_the_first_state_that_breaks_it():
    """A: x = 1; x = 0; B: y = 1; always x + y <= 1.

    b a1 (1/2) and a1 b (1/4) reach x == y == 1 and stop there: one
    violation outcome, 2 interleavings, 3/4. a1 a2 b never breaks it (1/4).
    """
    _, analysis = explored("""
        shared: {x: 0, y: 0}
        threads:
          A: |
            x = 1
            x = 0
          B: |
            y = 1
        checks:
          always: ["x + y <= 1"]
    """)
    finished, violation = analysis.outcomes
    assert (finished.status, finished.final, finished.interleavings, finished.probability) == ("finished", (0, 1), 1, Fraction(1, 4))
    assert (violation.status, violation.final, violation.interleavings, violation.probability) == ("violation", (1, 1), 2, Fraction(3, 4))
    assert violation.message == "always check failed: x + y <= 1 (line 10)"
    assert len(violation.schedule) == 2


def test_an_always_check_that_the_initial_state_breaks_is_one_empty_interleaving():
    """x starts at 5 against always x < 3: the run fails before any step, with the empty schedule."""
    _, analysis = explored("""
        shared: {x: 5}
        threads:
          A: x = 1
        checks:
          always: ["x < 3"]
    """)
    [violation] = analysis.outcomes
    assert (violation.status, violation.interleavings, violation.probability, violation.schedule) == ("violation", 1, 1, ())


def test_a_final_check_is_only_evaluated_when_the_program_ends():
    """x is 1 half-way through, but final x == 2 only looks at the end: finished, 1 interleaving."""
    assert_outcomes("""
        shared: {x: 0}
        threads:
          A: |
            x = 1
            x = 2
        checks:
          final: ["x == 2"]
    """, {("finished", (2,)): (1, 1)})


def test_a_final_check_fails_in_the_lost_update_interleavings():
    """The counter with final x == 2: the 18 lost-update interleavings (3/4) become one violation outcome."""
    _, analysis = explored(COUNTER_YAML + '    checks:\n      final: ["x == 2"]\n')
    finished, violation = analysis.outcomes
    assert (finished.status, finished.interleavings, finished.probability) == ("finished", 2, Fraction(1, 4))
    assert (violation.status, violation.interleavings, violation.probability) == ("violation", 18, Fraction(3, 4))
    assert violation.message == "final check failed: x == 2 (line 13)"


# -- spinning loops ---------------------------------------------------------------------

def test_a_spin_wait_has_infinitely_many_interleavings_but_finishes_with_probability_1():
    """A: while not flag: pass; B: flag = True.

    A can go round test, pass, test, ... any number of times before B
    writes, so the count is infinite and the loop is named; yet B is
    picked with probability 1 eventually, so the one outcome has
    probability exactly 1 and no run spins forever.
    """
    _, analysis = explored(SPIN_YAML)
    [finished] = analysis.outcomes
    assert analysis.interleavings is INFINITE
    assert (finished.status, finished.final, finished.interleavings, finished.probability) == ("finished", (True,), INFINITE, 1)
    assert finished.schedule == ("B", "A")
    assert [(loop.thread, loop.line, loop.text) for loop in analysis.loops] == [("A", 5, "while not flag:")]
    assert analysis.never_ends == 0


def test_exact_probabilities_through_a_spin_loop_sum_to_1():
    """A: while not flag: pass; print("A"). B: flag = True; print("B").

    f(s) = chance that "A" is printed first, from state s (A at test t,
    pass p or print pr; B at write w or print pb):
      f(pr, pb) = 1/2;  f(t, pb) = 1/2 f(pr, pb) = 1/4;  f(p, pb) = 1/2 f(t, pb) = 1/8
      f(t, w) = 1/2 f(p, w) + 1/2 f(t, pb);  f(p, w) = 1/2 f(t, w) + 1/2 f(p, pb)
    so f(t, w) = 1/4 f(t, w) + 5/32, f(t, w) = 5/24: "A B" 5/24, "B A" 19/24,
    both with infinitely many interleavings.
    """
    _, analysis = explored("""
        shared: {flag: false}
        threads:
          A: |
            while not flag:
                pass
            print("A")
          B: |
            flag = True
            print("B")
    """)
    table = {outcome.output: (outcome.interleavings, outcome.probability) for outcome in analysis.outcomes}
    assert table == {("A", "B"): (INFINITE, Fraction(5, 24)), ("B", "A"): (INFINITE, Fraction(19, 24))}
    assert sum(outcome.probability for outcome in analysis.outcomes) + analysis.never_ends == 1


def test_a_loop_nobody_can_end_spins_forever_with_probability_1():
    """A: while not go: pass, and nobody sets go, so no run ends: no outcome, never_ends == 1, the loop named."""
    _, analysis = explored("""
        shared: {go: false}
        threads:
          A: |
            while not go:
                pass
          B: |
            b = 1
    """)
    assert analysis.outcomes == []
    assert analysis.interleavings is INFINITE
    assert analysis.never_ends == 1
    assert [(loop.thread, loop.line) for loop in analysis.loops] == [("A", 5)]


def test_an_augmented_item_assignment_uses_one_index_for_its_read_and_its_write():
    """A: xs[i] += 1; B: i = 1. CPython loads i once, so A adds 1 to xs[0] or to xs[1], never writes xs[0] + 1 into xs[1].

    Whatever the number of steps, the only outcomes are [11, 20] (A loaded
    i before B's write) and [10, 21] (after it).
    """
    _, analysis = explored("""
        shared: {i: 0, xs: [10, 20]}
        threads:
          A: |
            xs[i] += 1
          B: |
            i = 1
    """)
    assert sorted(repr(outcome.final) for outcome in analysis.outcomes) == ["(1, [10, 21])", "(1, [11, 20])"]
