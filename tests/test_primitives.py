"""Semaphore, BoundedSemaphore, Event, Condition, Barrier, Queue and timeouts, counted by hand.

Each test is a scenario small enough to enumerate on paper; the docstring
works out the interleavings (and, where it matters, the chance of each
outcome when every step picks uniformly among the runnable threads). Names:
a1, a2, ... are thread A's steps in order, and so on. A blocked thread is
not runnable, so while one thread holds a lock that all others want, its
steps are forced and count as one way.

Line numbers in messages count from the blank first line of each inline
scenario, so a scenario's `shared:` or first key is line 2.
"""
from __future__ import annotations

from fractions import Fraction

import pytest

from conftest import assert_outcomes, explored, program_of

from schedsim.errors import ScenarioError
from schedsim.engine.values import ListValue as List


def table(yaml_text: str) -> dict:
    """{(status, final values, message): (interleavings, probability)}: outcomes that differ in what went wrong stay apart."""
    _, analysis = explored(yaml_text)
    rows = {}
    for outcome in analysis.outcomes:
        key = (outcome.status, outcome.final, outcome.message)
        assert key not in rows
        rows[key] = (outcome.interleavings, outcome.probability)
    return rows


def only_outcome(yaml_text: str):
    _, analysis = explored(yaml_text)
    [outcome] = analysis.outcomes
    return outcome


# -- Semaphore and BoundedSemaphore ------------------------------------------------

def test_a_semaphore_of_2_admits_two_threads_and_the_third_waits_forever():
    """Semaphore(2), three threads that each acquire once and never release.

    After two acquires the value is 0 and the third thread waits forever:
    every run deadlocks. The first two acquires are any ordered pair of
    distinct threads: 3 * 2 = 6 interleavings, 2 per thread left out, each
    pair 1/3 * 1/2 = 1/6, so each left-out thread 1/3. The report names the
    semaphore and its value.
    """
    assert table("""
        semaphores: {S: 2}
        threads:
          A: S.acquire()
          B: S.acquire()
          C: S.acquire()
    """) == {
        ("deadlock", (), f"{name} waits to acquire S (value 0) at line {line}"): (2, Fraction(1, 3))
        for name, line in (("A", 4), ("B", 5), ("C", 6))
    }


def test_a_semaphore_of_1_is_a_mutex_around_a_counter():
    """`with S: x = x + 1` in two threads: acquire, read, write, release each.

    Whoever acquires first runs its section while the other's acquire
    waits for the release; then the other runs alone: 2 interleavings,
    x == 2 in both.
    """
    assert_outcomes("""
        shared: {x: 0}
        semaphores: {S: 1}
        threads:
          A: |
            with S:
                x = x + 1
          B: |
            with S:
                x = x + 1
    """, {("finished", (2,)): (2, 1)})


def test_a_semaphore_of_0_released_by_another_thread_is_a_signal():
    """A: S.acquire(); y = x (a1, a2 read x, a3 write y). B: x = 1; S.release() (b1, b2).

    a1 waits until b2, so the only order is b1 b2 a1 a2 a3: 1
    interleaving, and A always reads the 1 that B wrote before releasing.
    Unlike a Lock, a semaphore has no owner: B releases what it never took.
    """
    assert_outcomes("""
        shared: {x: 0, y: 0}
        semaphores: {S: 0}
        threads:
          A: |
            S.acquire()
            y = x
          B: |
            x = 1
            S.release()
    """, {("finished", (1, 1)): (1, 1)})


def test_a_plain_semaphore_may_be_released_above_its_initial_value():
    """Semaphore(1).release() with no acquire makes the value 2: two later acquires both succeed.

    A: release, acquire, acquire (a1 a2 a3), one thread: 1 interleaving.
    """
    assert_outcomes("""
        semaphores: {S: 1}
        threads:
          A: |
            S.release()
            S.acquire()
            S.acquire()
    """, {("finished", ()): (1, 1)})


def test_releasing_a_bounded_semaphore_past_its_initial_value_is_a_value_error():
    """BoundedSemaphore(1): A acquires, releases, releases again; B does `with BS: pass`.

    A: a1 acquire, a2 release, a3 release. B: b1 acquire, b2 pass, b3
    release. A release that would lift the value above 1 raises
    CPython's ValueError, and the run ends there.
    - b1 first: A waits until b3, then a1 a2 a3, and a3 finds the value
      back at 1: A fails. 1 interleaving, probability 1/2.
    - a1 first: B waits; a2 is forced; then a3 or b1 (1/2 each):
      a1 a2 a3: A fails (1/4);
      a1 a2 b1 then a3 (value 0 -> 1, fine) b2 b3: b3 fails (1/8);
      a1 a2 b1 b2 then a3 b3: b3 fails (1/16), or b3 a3: a3 fails (1/16).
    A fails in 3 interleavings (1/2 + 1/4 + 1/16 = 13/16), B in 2 (3/16).
    """
    assert table("""
        bounded_semaphores: {BS: 1}
        threads:
          A: |
            BS.acquire()
            BS.release()
            BS.release()
          B: |
            with BS:
                pass
    """) == {
        ("error", (), "A, line 7: ValueError: Semaphore released too many times"): (3, Fraction(13, 16)),
        ("error", (), "B, line 9: ValueError: Semaphore released too many times"): (2, Fraction(3, 16)),
    }


def test_the_same_releases_on_a_plain_semaphore_always_finish():
    """The scenario above with Semaphore(1): no bound, so the same 5 interleavings all finish."""
    assert_outcomes("""
        semaphores: {S: 1}
        threads:
          A: |
            S.acquire()
            S.release()
            S.release()
          B: |
            with S:
                pass
    """, {("finished", ()): (5, 1)})


# -- Event ----------------------------------------------------------------------------

def test_every_waiter_passes_once_the_event_is_set():
    """A: E.set(); B and C: E.wait(). Both waiters wait for a1, then go in either order: 2 interleavings.

    A Semaphore(0) released once would let only one of them through.
    """
    assert table("""
        events: [E]
        threads:
          A: E.set()
          B: E.wait()
          C: E.wait()
    """) == {("finished", (), None): (2, 1)}


def test_a_cleared_event_blocks_a_waiter_that_came_too_late():
    """A: E.set(); E.clear() (a1, a2). B: E.wait() (b1), runnable only while the flag is set.

    a1 is forced (B waits). Then b1 a2: B passes, finished (1/2); or a2
    first: the flag is down again and B waits forever (1/2).
    """
    assert table("""
        events: [E]
        threads:
          A: |
            E.set()
            E.clear()
          B: E.wait()
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("deadlock", (), "B waits for E to be set at line 7"): (1, Fraction(1, 2)),
    }


def test_is_set_reads_the_flag_in_one_step():
    """A: E.set() (a1). B: if E.is_set(): x = 1 (b1 read the flag and test, b2 write x).

    a1 b1 b2: x == 1 (1/2); b1 first: the test fails and B is done, a1
    follows: x == 0 (1/2).
    """
    assert_outcomes("""
        shared: {x: 0}
        events: [E]
        threads:
          A: E.set()
          B: |
            if E.is_set():
                x = 1
    """, {("finished", (1,)): (1, Fraction(1, 2)), ("finished", (0,)): (1, Fraction(1, 2))})


def test_an_event_orders_a_write_before_the_waiters_read():
    """A: x = 1; E.set() (a1, a2). B: E.wait(); y = x (b1, b2 read x, b3 write y).

    b1 waits for a2, so the only order is a1 a2 b1 b2 b3: y == 1.
    """
    assert_outcomes("""
        shared: {x: 0, y: 0}
        events: [E]
        threads:
          A: |
            x = 1
            E.set()
          B: |
            E.wait()
            y = x
    """, {("finished", (1, 1)): (1, 1)})


# -- Condition ----------------------------------------------------------------------

HANDSHAKE = """
    shared: {ready: false, got: 0}
    locks: [L]
    conditions: {C: L}
    threads:
      A: |
        with C:
            %s
            got = 1
      B: |
        with C:
            ready = True
            C.notify()
"""


@pytest.mark.parametrize("wait", ["while not ready:\n                C.wait()",
                                  "C.wait_for(lambda: ready)"])
def test_a_waiter_that_tests_its_predicate_gets_the_handshake_in_both_orders(wait):
    """A waits under C until `ready`; B sets it and notifies. wait_for is the same loop.

    A: a1 acquire, a2 read ready and test, [a3 wait, a4 wake, back to a2],
    a5 write got, a6 release. B: b1 acquire, b2 write ready, b3 notify,
    b4 release. Whoever acquires first holds L, so the other is blocked:
    - b1 first: b1..b4 forced, then a1 a2 (ready) a5 a6: 1 interleaving;
    - a1 first: a2 (not ready) a3, which releases L; A is not notified,
      so b1 b2 b3 (A notified, but L is B's) b4, then a4 a2 a5 a6: 1.
    2 interleavings, got == 1 in both.
    """
    exploration, analysis = explored(HANDSHAKE % wait)
    assert [(o.status, o.final, o.interleavings, o.probability) for o in analysis.outcomes] == [
        ("finished", (True, 1), 2, 1)]


def test_wait_for_compiles_to_the_same_states_as_the_while_loop():
    """`C.wait_for(lambda: ready)` is `while not ready: C.wait()`: the two graphs have the same size."""
    loop, _ = explored(HANDSHAKE % "while not ready:\n                C.wait()")
    wait_for, _ = explored(HANDSHAKE % "C.wait_for(lambda: ready)")
    assert loop.graph.number_of_nodes() == wait_for.graph.number_of_nodes()
    assert loop.graph.number_of_edges() == wait_for.graph.number_of_edges()


def test_a_notify_before_the_wait_is_lost():
    """A: with C: C.wait() (a1 acquire, a2 wait, a3 wake, a4 release). B: with C: C.notify() (b1, b2, b3).

    - a1 first: a2 releases L and waits; b1 b2 notify A, who waits for L
      until b3; then a3 a4. 1 interleaving, finished (1/2).
    - b1 first: b2 notifies nobody, b3, then a1 a2: A waits for a notify
      that already happened, forever. 1 interleaving, deadlock (1/2).
    A wait with no predicate cannot tell; that is why waits test a flag.
    """
    assert table("""
        locks: [L]
        conditions: {C: L}
        threads:
          A: |
            with C:
                C.wait()
          B: |
            with C:
                C.notify()
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("deadlock", (), "A waits on C for a notify or for L at line 7"): (1, Fraction(1, 2)),
    }


TWO_WAITERS = """
    locks: [L]
    conditions: {C: L}
    threads:
      W:
        count: 2
        code: |
          with C:
              C.wait()
      N: |
        with C:
            C.%s
"""


def _stuck(*names: str) -> str:
    return "; ".join(f"{name} waits on C for a notify or for L at line 9" for name in names)


@pytest.mark.parametrize("call", ["notify_all()", "notify(2)", "notify(n=5)"])
def test_notify_all_wakes_every_thread_already_waiting(call):
    """W0, W1: with C: C.wait(); N: with C: C.notify_all() (or notify(n) with n >= 2).

    Every step here holds L or waits for it, so a run is an order of
    blocks: Wk's "acquire, wait" (Wk.a), Wk's "wake, release" (Wk.b) and
    N's "acquire, notify, release"; the rest of the time everyone else is
    blocked. Wk.b needs N after Wk.a.
    - W0.a W1.a N, then W0.b W1.b in either order: 2 * 2 = 4, finished.
      Chance: 2/3 (a W first) * 1/2 (the other W next) = 1/3.
    - N first, then W0.a W1.a in either order: both wait forever. 2, 1/3.
    - W0.a N W1.a: W0 is woken, W1 comes too late; W0.b and W1.a in
      either order: 2, 1/3 * 1/2 = 1/6. The same with W0 and W1 swapped.
    10 interleavings.
    """
    assert table(TWO_WAITERS % call) == {
        ("finished", (), None): (4, Fraction(1, 3)),
        ("deadlock", (), _stuck("W0", "W1")): (2, Fraction(1, 3)),
        ("deadlock", (), _stuck("W1")): (2, Fraction(1, 6)),
        ("deadlock", (), _stuck("W0")): (2, Fraction(1, 6)),
    }


@pytest.mark.parametrize("call", ["notify()", "notify(1)"])
def test_notify_wakes_one_waiter_first_come_first_served(call):
    """The same blocks with notify(): W0.a W1.a N wakes only W0 (CPython's waiters are FIFO).

    W1 stuck: W0.a W1.a N W0.b (1), W0.a N then W0.b, W1.a either order
    (2): 3 interleavings, 1/3 * 1/2 + 1/3 * 1/2 = 1/3. W0 stuck: the
    same, swapped. Both stuck (N first): 2, 1/3. No run finishes.
    """
    assert table(TWO_WAITERS % call) == {
        ("deadlock", (), _stuck("W0", "W1")): (2, Fraction(1, 3)),
        ("deadlock", (), _stuck("W1")): (3, Fraction(1, 3)),
        ("deadlock", (), _stuck("W0")): (3, Fraction(1, 3)),
    }


def test_notify_of_zero_wakes_nobody():
    """notify(0): no Wk.b block can ever run, so every run ends with both waiters stuck.

    The orders of W0.a, W1.a and N: 3! = 6 interleavings, each ending as
    soon as the last of the three blocks is done. Probability 1.
    """
    assert table(TWO_WAITERS % "notify(0)") == {("deadlock", (), _stuck("W0", "W1")): (6, 1)}


def test_wait_on_an_rlock_condition_releases_every_level_and_restores_them():
    """C over its own RLock; A takes it twice and waits; B notifies.

    A: a1 a2 acquire twice, a3 wait, a4 wake, a5 a6 release twice. B: b1
    acquire, b2 notify, b3 release.
    - a1 first: B waits for the RLock; a2 a3 forced. a3 frees the RLock
      entirely (depth 2 -> 0), so b1 b2 b3 run; then a4 gets depth 2 back
      and both releases succeed. 1 interleaving, finished (1/2).
    - b1 first: b2 notifies nobody; then A waits forever. 1, deadlock (1/2).
    Were only one level released, B could never acquire; were depth 1
    restored, a6 would raise RuntimeError.
    """
    assert table("""
        conditions: {C: null}
        threads:
          A: |
            with C:
                with C:
                    C.wait()
          B: |
            with C:
                C.notify()
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("deadlock", (), "A waits on C for a notify or for C.lock at line 7"): (1, Fraction(1, 2)),
    }


@pytest.mark.parametrize("call, message", [
    ("C.wait()", "RuntimeError: cannot wait on un-acquired lock"),
    ("ok = C.wait(timeout=1)", "RuntimeError: cannot wait on un-acquired lock"),
    ("C.wait_for(lambda: x == 1)", "RuntimeError: cannot wait on un-acquired lock"),
    ("C.notify()", "RuntimeError: cannot notify on un-acquired lock"),
    ("C.notify_all()", "RuntimeError: cannot notify on un-acquired lock"),
])
def test_waiting_or_notifying_without_the_lock_is_cpythons_runtime_error(call, message):
    """One thread, one call outside `with C:`: 1 interleaving, status error, CPython's message.

    (wait_for first tests its predicate, x == 1, which is false, then waits.)
    """
    outcome = only_outcome(f"""
        shared: {{x: 0}}
        locks: [L]
        conditions: {{C: L}}
        threads:
          A: |
            {call}
    """)
    assert (outcome.status, outcome.interleavings, outcome.message) == ("error", 1, f"A, line 7: {message}")


@pytest.mark.parametrize("call", ["C.notify()", "C.wait()"])
def test_a_condition_over_an_rlock_must_be_held_by_the_caller(call):
    """B holds C's RLock (acquired, never released); A calls wait or notify: an RLock has an owner.

    A first: A's call raises at once (1/2). B first: b1, then A's call
    still raises, because B, not A, owns the RLock (1/2). 2 interleavings,
    all errors.
    """
    outcome = only_outcome(f"""
        conditions: {{C: null}}
        threads:
          A: {call}
          B: C.acquire()
    """)
    verb = "notify" if "notify" in call else "wait"
    assert (outcome.status, outcome.interleavings) == ("error", 2)
    assert outcome.message == f"A, line 4: RuntimeError: cannot {verb} on un-acquired lock"


def test_a_condition_over_a_plain_lock_only_checks_that_the_lock_is_locked():
    """CPython's Condition cannot tell who holds a plain Lock: notify succeeds if anyone holds it.

    B: L.acquire() (b1). A: C.notify() (a1). b1 a1: L is locked (by B),
    so notify passes (1/2); a1 first: L is free, RuntimeError (1/2).
    """
    assert table("""
        locks: [L]
        conditions: {C: L}
        threads:
          A: C.notify()
          B: L.acquire()
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("error", (), "A, line 5: RuntimeError: cannot notify on un-acquired lock"): (1, Fraction(1, 2)),
    }


# -- Barrier ------------------------------------------------------------------------

def test_a_barrier_lets_nobody_pass_until_every_party_arrived():
    """Barrier(2); A and B each B.wait(): arrive (a1, b1), then pass (a2, b2).

    a2 and b2 wait until both arrived: a1 b1 or b1 a1, then a2 b2 in
    either order: 2 * 2 = 4 interleavings.
    """
    assert table("""
        barriers: {G: 2}
        threads:
          A: G.wait()
          B: G.wait()
    """) == {("finished", (), None): (4, 1)}


def test_a_barrier_orders_writes_before_it_and_reads_after_it():
    """A: x = 1; G.wait() (a1 write, a2 arrive, a3 pass). B: G.wait(); y = x (b1, b2, b3 read, b4 write).

    B reads x only after passing, which needs a2, which follows a1: y == 1
    always. Orders: a1, a2, b1 interleave with a1 < a2 and a2, b1 in any
    order (a1 b1 a2, a1 a2 b1, b1 a1 a2: 3), then a3 anywhere among
    b2 b3 b4 (4 places): 12 interleavings.
    """
    assert_outcomes("""
        shared: {x: 0, y: 0}
        barriers: {G: 2}
        threads:
          A: |
            x = 1
            G.wait()
          B: |
            G.wait()
            y = x
    """, {("finished", (1, 1)): (12, 1)})


def test_a_barrier_is_reused_for_the_next_phase():
    """Barrier(2), each thread waits twice: a1 arrive, a2 pass, a3 arrive, a4 pass (and b1..b4).

    a1, b1 in either order (2). Then the two chains a2 a3 a4 and b2 b3 b4
    interleave (C(6, 3) = 20 orders), except that a4 must follow b3 and b4
    must follow a3: all of a2 a3 a4 before b3 is 4 of the orders (b2 goes
    in one of 4 places among them), and likewise for B: 20 - 8 = 12.
    2 * 12 = 24. A thread that passed may arrive for the second phase
    before the other has left the first, and that does not let it through.
    """
    assert table("""
        barriers: {G: 2}
        threads:
          A: |
            G.wait()
            G.wait()
          B: |
            G.wait()
            G.wait()
    """) == {("finished", (), None): (24, 1)}


def test_a_barrier_short_of_parties_deadlocks_and_says_how_many_arrived():
    """Barrier(3) with two threads: a1 b1 or b1 a1, then both wait forever: 2 interleavings."""
    assert table("""
        barriers: {G: 3}
        threads:
          A: G.wait()
          B: G.wait()
    """) == {
        ("deadlock", (), "A waits at barrier G (2 of 3 arrived) at line 4; "
                         "B waits at barrier G (2 of 3 arrived) at line 5"): (2, 1),
    }


def test_an_aborted_barrier_raises_broken_barrier_error_in_its_waiters():
    """Barrier(2). A: G.wait() (a1 arrive, a2 pass); B: G.abort() (b1).

    b1 first: a1 finds the barrier broken and raises (1/2). a1 b1: A is
    waiting when B aborts, so a2 raises (1/2). Both are
    threading.BrokenBarrierError at A's line: 2 interleavings, one outcome.
    """
    assert table("""
        barriers: {G: 2}
        threads:
          A: G.wait()
          B: G.abort()
    """) == {("error", (), "A, line 4: threading.BrokenBarrierError"): (2, 1)}


# -- Queue ----------------------------------------------------------------------------

QUEUE_PAIR = """
    shared: {got: []}
    queues: {Q: %d}
    threads:
      P: |
        Q.put(1)
        Q.put(2)
      G: |
        a = Q.get()
        b = Q.get()
        got = [a, b]
"""


def test_an_unbounded_queue_hands_items_over_first_in_first_out():
    """maxsize 0. P: p1 p2 put. G: g1 g2 get, g3 write got.

    g1 needs p1 first, so p1 is the very first step. g2 needs p2: p2 goes
    before g1 or between g1 and g2: 2 interleavings, got == [1, 2].
    """
    assert_outcomes(QUEUE_PAIR % 0, {("finished", (List([1, 2]),)): (2, 1)})


def test_a_full_bounded_queue_makes_the_producer_wait():
    """maxsize 1: p2 also needs g1 (the queue holds 1 item), so only p1 g1 p2 g2 g3: 1 interleaving."""
    assert_outcomes(QUEUE_PAIR % 1, {("finished", (List([1, 2]),)): (1, 1)})


def test_queue_queries_are_one_read_each_in_evaluation_order():
    """Q of maxsize 1. A: Q.put(1) (a1). B: sizes = [Q.qsize(), Q.full(), Q.empty()]: three reads, one write.

    a1 lands before B's k-th step, k = 0..4, with chance 1/2, 1/4, 1/8,
    1/16, 1/16 (each B step is a coin flip while A is still runnable):
    before all reads: [1, True, False]; after the first: [0, True, False];
    after the second: [0, False, False]; after the third or the write:
    [0, False, True], 2 interleavings, 1/8.
    """
    assert_outcomes("""
        shared: {sizes: []}
        queues: {Q: 1}
        threads:
          A: Q.put(1)
          B: sizes = [Q.qsize(), Q.full(), Q.empty()]
    """, {
        ("finished", (List([1, True, False]),)): (1, Fraction(1, 2)),
        ("finished", (List([0, True, False]),)): (1, Fraction(1, 4)),
        ("finished", (List([0, False, False]),)): (1, Fraction(1, 8)),
        ("finished", (List([0, False, True]),)): (2, Fraction(1, 8)),
    })


def test_get_nowait_on_an_empty_queue_raises_queue_empty():
    """A: Q.put_nowait(1); B: v = Q.get_nowait(). AB finishes (1/2); BA: queue.Empty (1/2)."""
    assert table("""
        queues: {Q: 1}
        threads:
          A: Q.put_nowait(1)
          B: v = Q.get_nowait()
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("error", (), "B, line 5: queue.Empty"): (1, Fraction(1, 2)),
    }


@pytest.mark.parametrize("put", ["Q.put_nowait(2)", "Q.put(2, block=False)", "Q.put(2, False)"])
def test_putting_into_a_full_queue_without_blocking_raises_queue_full(put):
    """maxsize 1, one thread puts twice; the second put finds the queue full: 1 interleaving, queue.Full."""
    outcome = only_outcome(f"""
        queues: {{Q: 1}}
        threads:
          A: |
            Q.put(1)
            {put}
    """)
    assert (outcome.status, outcome.interleavings, outcome.message) == ("error", 1, "A, line 6: queue.Full")


# -- timeouts: a step that never waits ------------------------------------------------

def acquire_beside_a_holder(call: str) -> dict:
    """A takes and releases L (a1, a2); B runs `ok = CALL` then `got = ok` (b1, b2)."""
    return table(f"""
        shared: {{got: null}}
        locks: [L]
        threads:
          A: |
            L.acquire()
            L.release()
          B: |
            ok = {call}
            got = ok
    """)


@pytest.mark.parametrize("call", ["L.acquire(timeout=1)", "L.acquire(blocking=False)", "L.acquire(False)",
                                  "L.acquire(True, 0.5)", "L.acquire(timeout=0)"])
def test_a_timed_acquire_fails_while_the_lock_is_held_and_succeeds_once_free(call):
    """A: L.acquire(); L.release() (a1, a2). B: ok = L.acquire(timeout=1); got = ok (b1, b2).

    b1 never waits: run while A holds L it times out (False); run while L
    is free it takes L (True) and keeps it.
    - b1 first: B takes L; A's a1 waits forever once B ends: deadlock
      with got == True. 1 interleaving, 1/2.
    - a1 first, then a2 or b1 (1/2 each): a1 b1 (False) then a2, b2 in
      either order: 2, got == False, 1/4. a1 a2 b1 b2: got == True, 1/4.
    """
    assert acquire_beside_a_holder(call) == {
        ("finished", (False,), None): (2, Fraction(1, 4)),
        ("finished", (True,), None): (1, Fraction(1, 4)),
        ("deadlock", (True,), "A waits to acquire L (held by B, which has finished) at line 6"): (1, Fraction(1, 2)),
    }


def test_an_acquire_with_timeout_none_or_minus_one_blocks():
    """timeout=None and blocking=True are a plain acquire: b1 waits for a2, so got is always True.

    a1 b1 is impossible: a1 a2 b1 b2 (1) or b1 b2 and A waits forever (1).
    """
    for call in ("L.acquire(timeout=None)", "L.acquire(blocking=True)"):
        assert acquire_beside_a_holder(call) == {
            ("finished", (True,), None): (1, Fraction(1, 2)),
            ("deadlock", (True,), "A waits to acquire L (held by B, which has finished) at line 6"): (1, Fraction(1, 2)),
        }


@pytest.mark.parametrize("declare, signal, wait", [
    ("events: [E]", "E.set()", "E.wait(timeout=1)"),
    ("semaphores: {S: 0}", "S.release()", "S.acquire(timeout=1)"),
    ("bounded_semaphores: {S: 1}", "pass", "S.acquire(blocking=False)"),
])
def test_a_timed_wait_returns_whether_it_got_through(declare, signal, wait):
    """A: the signal (a1). B: ok = <timed wait>; got = ok (b1, b2).

    For the Event and the Semaphore(0): a1 b1 b2 gets through (True, 1/2);
    b1 a1 b2 and b1 b2 a1 time out (False, 2, 1/2). A BoundedSemaphore(1)
    is free from the start: True in all 3 orders.
    """
    rows = table(f"""
        shared: {{got: null}}
        {declare}
        threads:
          A: {signal}
          B: |
            ok = {wait}
            got = ok
    """)
    if signal == "pass":
        assert rows == {("finished", (True,), None): (3, 1)}
    else:
        assert rows == {
            ("finished", (True,), None): (1, Fraction(1, 2)),
            ("finished", (False,), None): (2, Fraction(1, 2)),
        }


def test_a_timed_condition_wait_times_out_only_while_not_notified():
    """A: with C: ok = C.wait(timeout=1); got = ok. B: with C: C.notify().

    A: a1 acquire, a2 wait (release L, join the waiters), then either t
    (the timeout expires: A stays listed, as in CPython, until it has L
    back) or w (wake: needs L free, and A notified or timed out), a4 write
    got, a5 release. B: b1 acquire, b2 notify (spent on A if A is listed,
    timed out or not), b3 release.
    - b1 first (1/2): B finishes, A waits alone and times out: False, 1.
    - a1 a2, then t (1/4): w at once (1/8, False), or b1 b2 b3 spending the
      notify on the timed-out A, then w (1/8, False).
    - a1 a2, then b1 (1/4): t before b2 (1/8, False), or b2 notifies A
      first (1/8, True).
    False: 4 interleavings, 7/8; True: 1, 1/8.
    """
    assert_outcomes("""
        shared: {got: null}
        locks: [L]
        conditions: {C: L}
        threads:
          A: |
            with C:
                ok = C.wait(timeout=1)
                got = ok
          B: |
            with C:
                C.notify()
    """, {("finished", (False,)): (4, Fraction(7, 8)), ("finished", (True,)): (1, Fraction(1, 8))})


def test_a_timed_barrier_wait_breaks_the_barrier_when_it_gives_up():
    """Barrier(2). A: G.wait(timeout=1) (a1 arrive, a2 pass or time out). B: G.wait() (b1, b2).

    - b1 first: B waits, a1 completes the barrier, then a2 b2 in either
      order: 2 interleavings, 1/2.
    - a1 first, then a2 or b1 (1/2 each): a2 gives up while B has not
      arrived: threading.BrokenBarrierError (1/4). b1: then a2 b2 either
      order: 2 (1/4).
    """
    assert table("""
        barriers: {G: 2}
        threads:
          A: G.wait(timeout=1)
          B: G.wait()
    """) == {
        ("finished", (), None): (4, Fraction(3, 4)),
        ("error", (), "A, line 4: threading.BrokenBarrierError"): (1, Fraction(1, 4)),
    }


def test_a_timed_get_raises_queue_empty_and_a_timed_put_queue_full():
    """get(timeout=1) before any put: queue.Empty. put(timeout=1) into a full queue: queue.Full.

    Get: P: Q.put(1) (p1); G: v = Q.get(timeout=1) (g1). p1 g1 finishes
    (1/2); g1 first raises (1/2).
    Put: maxsize 1. P: Q.put(1); Q.put(2, timeout=1) (p1, p2); G: v =
    Q.get() (g1). p1 is forced (G waits), then p2 first: full, queue.Full
    (1/2); g1 first: p2 fits (1/2).
    """
    assert table("""
        queues: {Q: 1}
        threads:
          P: Q.put(1)
          G: v = Q.get(timeout=1)
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("error", (), "G, line 5: queue.Empty"): (1, Fraction(1, 2)),
    }
    assert table("""
        queues: {Q: 1}
        threads:
          P: |
            Q.put(1)
            Q.put(2, timeout=1)
          G: v = Q.get()
    """) == {
        ("finished", (), None): (1, Fraction(1, 2)),
        ("error", (), "P, line 6: queue.Full"): (1, Fraction(1, 2)),
    }


# -- what a deadlock report says --------------------------------------------------------

@pytest.mark.parametrize("declare, body, waits", [
    ("semaphores: {S: 0}", "S.acquire()", "A waits to acquire S (value 0) at line 5"),
    ("bounded_semaphores: {S: 1}", "S.acquire()\n            S.acquire()", "A waits to acquire S (value 0) at line 6"),
    ("events: [E]", "E.wait()", "A waits for E to be set at line 5"),
    ("conditions: {C: null}", "with C:\n                C.wait()", "A waits on C for a notify or for C.lock at line 6"),
    ("barriers: {G: 2}", "G.wait()", "A waits at barrier G (1 of 2 arrived) at line 5"),
    ("queues: {Q: 0}", "v = Q.get()", "A waits to get from Q (empty) at line 5"),
    ("queues: {Q: 1}", "Q.put(1)\n            Q.put(2)", "A waits to put into Q (full) at line 6"),
    ("locks: [L]", "L.acquire()\n            L.acquire()", "A waits to acquire L (held by A) at line 6"),
])
def test_the_deadlock_report_names_what_the_blocked_thread_waits_for(declare, body, waits):
    """One thread that blocks on a primitive nobody will free: 1 interleaving, a deadlock, and the wait in words."""
    outcome = only_outcome(f"""
        {declare}
        threads:
          A: |
            {body}
    """)
    assert (outcome.status, outcome.interleavings, outcome.message) == ("deadlock", 1, waits)


def test_a_deadlock_names_every_blocked_thread_and_who_holds_the_lock():
    """A takes L and ends holding it; B waits on C (over L) with no one to notify it.

    A: a1 L.acquire(). B: b1 acquire L (with C), b2 wait (releases L), b3
    wake. a1 first: B's b1 waits for L forever (1/2). b1 first: a1 waits
    until b2 frees L, then a1; now B waits both for a notify and for L,
    held by A (1/2). 1 interleaving each; the report says which.
    """
    assert table("""
        locks: [L]
        conditions: {C: L}
        threads:
          A: L.acquire()
          B: |
            with C:
                C.wait()
    """) == {
        ("deadlock", (), "B waits to acquire L (held by A, which has finished) at line 7"): (1, Fraction(1, 2)),
        ("deadlock", (), "B waits on C for a notify or for L (held by A, which has finished) at line 8"): (1, Fraction(1, 2)),
    }


def test_a_condition_over_an_undeclared_lock_is_a_located_error():
    """conditions: {C: M} with no lock M declared is bad input, not a crash."""
    with pytest.raises(ScenarioError) as error:
        program_of("""
            conditions: {C: M}
            threads:
              A: pass
        """)
    assert "M" in str(error.value)


# -- where the model and CPython still disagree ------------------------------------------

@pytest.mark.parametrize("query, value", [("E.is_set()", False), ("Q.qsize()", 0), ("Q.empty()", True),
                                          ("Q.full()", False), ("L.locked()", False)])
def test_a_query_assigned_to_a_local_is_one_read(query, value):
    """`v = Q.qsize()` is valid Python and the most common form of a query: one read step."""
    assert_outcomes(f"""
        shared: {{seen: null}}
        locks: [L]
        events: [E]
        queues: {{Q: 1}}
        threads:
          A: |
            v = {query}
            seen = v
    """, {("finished", (value,)): (1, 1)})


def test_wait_for_returns_the_predicates_value():
    """ok = C.wait_for(lambda: x == 0) with x already 0 returns True at once: 1 interleaving."""
    assert_outcomes("""
        shared: {x: 0, got: null}
        locks: [L]
        conditions: {C: L}
        threads:
          A: |
            with C:
                ok = C.wait_for(lambda: x == 0)
            got = ok
    """, {("finished", (0, True)): (1, 1)})


def test_an_acquire_with_timeout_minus_one_blocks_like_a_plain_acquire():
    """The scenario of test_an_acquire_with_timeout_none_or_minus_one_blocks with timeout=-1."""
    assert table("""
        shared: {got: null}
        locks: [L]
        threads:
          A: |
            L.acquire()
            L.release()
          B: |
            ok = L.acquire(timeout=-1)
            got = ok
    """) == {
        ("finished", (True,), None): (1, Fraction(1, 2)),
        ("deadlock", (True,), "A waits to acquire L (held by B, which has finished) at line 6"): (1, Fraction(1, 2)),
    }


def test_a_non_blocking_acquire_with_a_timeout_is_a_value_error():
    """L.acquire(blocking=False, timeout=1) is rejected by CPython whatever the lock's state."""
    text = """
        locks: [L]
        threads:
          A: ok = L.acquire(blocking=False, timeout=1)
    """
    try:
        outcome = only_outcome(text)
    except ScenarioError as error:  # refusing it as bad input would do as well
        assert "timeout" in str(error)
        return
    assert (outcome.status, outcome.message) == (
        "error", "A, line 4: ValueError: can't specify a timeout for a non-blocking call")


def test_a_notify_can_be_spent_on_a_wait_that_already_timed_out():
    """A waits with a timeout, then W waits; N notifies one once both wait.

    CPython (checked with real threads): A's timeout expires while N holds
    the lock; N's notify() goes to A, first in line, which returns False;
    W is never woken. So a run can deadlock with W waiting and got == False.
    """
    _, analysis = explored("""
        shared: {waiting: 0, got: null}
        conditions: {C: null}
        threads:
          A: |
            with C:
                waiting += 1
                ok = C.wait(timeout=1)
                got = ok
          W: |
            while waiting < 1:
                pass
            with C:
                waiting += 1
                C.wait()
          N: |
            while waiting < 2:
                pass
            with C:
                C.notify()
    """)
    assert ("deadlock", (2, False)) in {(o.status, o.final) for o in analysis.outcomes}
