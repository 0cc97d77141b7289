"""The Python frontend, construct by construct: each test a small module and its outcomes worked out by hand."""
from __future__ import annotations

import textwrap

from schedsim.analyses.analysis import analyse
from schedsim.engine.compiler import compile_scenario
from schedsim.engine.explorer import explore
from schedsim.frontends.python import parse_python
from schedsim.engine.values import ListValue


def scenario_of(source: str):
    return parse_python(textwrap.dedent(source), "test.py")


def table(source: str) -> dict:
    """{(status, final, output): (interleavings, probability)} of a module."""
    exploration = explore(compile_scenario(scenario_of(source)))
    assert exploration.complete
    return {(o.status, o.final, o.output): (o.interleavings, o.probability) for o in analyse(exploration).outcomes}


def statuses(source: str) -> dict:
    return {(status, final): count for (status, final, _), (count, _) in table(source).items()}


def test_module_names_are_shared_and_primitives_are_found_by_any_import_spelling():
    scenario = scenario_of("""
        import threading as th
        from threading import Lock as L, Semaphore
        import queue
        x = 0
        items = [1, 2]
        a = L()
        r = th.RLock()
        s = Semaphore(2)
        c = th.Condition(a)
        e = th.Event()
        b = th.Barrier(2)
        q = queue.Queue(3)
        def f():
            pass
        th.Thread(target=f).start()
    """)
    assert scenario.shared == (("x", 0), ("items", ListValue([1, 2])))
    assert (scenario.locks, scenario.rlocks, scenario.semaphores, scenario.conditions, scenario.events,
            scenario.barriers, scenario.queues) == (("a",), ("r",), (("s", 2),), (("c", "a"),), ("e",), (("b", 2),), (("q", 3),))
    assert [thread.name for thread in scenario.threads] == ["MainThread", "Thread1"]


def test_a_lost_update_with_threads_kept_in_a_list():
    """Two threads add n + 1 to total (1 and 2) without a lock: 3, or an update lost (1 or 2).

    The trailing assert after the joins is a final check, so the lost updates are violations.
    """
    found = statuses("""
        import threading
        total = 0
        def add(n):
            global total
            total = total + n + 1
        ts = []
        for i in range(2):
            t = threading.Thread(target=add, args=(i,))
            ts.append(t)
            t.start()
        for t in ts:
            t.join()
        assert total == 3
    """)
    assert {key[0] for key in found} == {"finished", "violation"}
    assert {final for _, final in found} == {(3, 1), (1, 1), (2, 1)}  # (total, i)
    assert all(status == "finished" for status, final in found if final[0] == 3)


def test_kwargs_name_and_daemon_attribute():
    """name= names the thread; a daemon that main does not join may be cut off when the program ends."""
    scenario = scenario_of("""
        import threading
        def show(word, times=1):
            for _ in range(times):
                print(word)
        t = threading.Thread(target=show, kwargs={"word": "hi"}, name="greeter")
        t.daemon = True
        t.start()
    """)
    greeter = scenario.threads[1]
    assert (greeter.name, greeter.daemon, greeter.preset_locals) == ("greeter", True, (("word", "hi"), ("times", 1)))
    outputs = {output for _, _, output in table("""
        import threading
        def show(word, times=1):
            for _ in range(times):
                print(word)
        t = threading.Thread(target=show, kwargs={"word": "hi"}, name="greeter")
        t.daemon = True
        t.start()
    """)}
    assert outputs == {(), ("hi",)}  # cut off at the shutdown, or not


def test_helpers_are_inlined_and_return_their_value():
    """x = inc(x) is a read of x, then a write: the counter's lost update, x ends 1 or 2."""
    found = statuses("""
        import threading
        x = 0
        def inc(v):
            if v < 0:
                return 0
            return v + 1
        def work():
            global x
            x = inc(x)
        a = threading.Thread(target=work)
        b = threading.Thread(target=work)
        a.start(); b.start(); a.join(); b.join()
    """)
    assert {final for _, final in found} == {(1,), (2,)}


def test_a_helper_that_assigns_a_global_without_global_raises_and_says_why():
    found = table("""
        import threading
        x = 0
        def bump():
            x = x + 1
        def work():
            bump()
        threading.Thread(target=work).start()
    """)
    [(status, _, _)] = found
    assert status == "error"
    exploration = explore(compile_scenario(scenario_of("""
        import threading
        x = 0
        def bump():
            x = x + 1
        def work():
            bump()
        threading.Thread(target=work).start()
    """)))
    [outcome] = analyse(exploration).outcomes
    assert "x is local to bump because bump assigns it; add `global x`" in outcome.message
    assert ", line 5:" in outcome.message  # the line of `x = x + 1` in the file


def test_lambda_reads_its_free_variable_late_but_a_default_binds_it_now():
    """lambda: show(i) reads the module's i when the thread runs: 0 0 is possible; lambda i=i: never."""
    late = """
        import threading
        def show(n):
            print(n)
        for i in range(2):
            threading.Thread(target=lambda: show(i)).start()
    """
    late_outputs = {output for _, _, output in table(late)}
    assert late_outputs == {("0", "1"), ("1", "0"), ("1", "1")}
    bound = late.replace("lambda: show(i)", "lambda i=i: show(i)")
    assert {output for _, _, output in table(bound)} == {("0", "1"), ("1", "0")}


def test_time_sleep_is_a_step_that_lets_others_run():
    """W sleeps then prints; main prints between its start and join. With the sleep, main's line
    can come before w's in 2 of 3 interleavings; without it, in 1 of 2."""
    source = """
        import threading
        import time
        def w():
            time.sleep(0.1)
            print("w")
        t = threading.Thread(target=w)
        t.start()
        print("m", flush=True)
        t.join()
    """
    found = table(source)
    assert {output: count for (_, _, output), (count, _) in found.items()} == {("m", "w"): 2, ("w", "m"): 1}
    no_sleep = table("""
        import threading
        def w():
            print("w")
        t = threading.Thread(target=w)
        t.start()
        print("m")
        t.join()
    """)
    assert {output: count for (_, _, output), (count, _) in no_sleep.items()} == {("m", "w"): 1, ("w", "m"): 1}


def test_always_comment_is_an_invariant():
    """x goes 0 -> -1 -> 0 in one thread: the invariant x >= 0 fails in the middle."""
    found = statuses("""
        import threading
        x = 0  # schedsim: always x >= 0
        def dip():
            global x
            x = x - 1
            x = x + 1
        threading.Thread(target=dip).start()
    """)
    assert {status for status, _ in found} == {"violation"}


def test_asserts_before_the_joins_are_main_statements():
    """An assert that runs while the thread may still run is main's own step, not a final check:
    it fails only if the thread wrote x first (1 of 2)."""
    scenario = scenario_of("""
        import threading
        x = 0
        def w():
            global x
            x = 1
        t = threading.Thread(target=w)
        t.start()
        assert x == 0
    """)
    assert scenario.final_checks == ()
    assert "assert x == 0" in scenario.threads[0].code
    assert statuses("""
        import threading
        x = 0
        def w():
            global x
            x = 1
        t = threading.Thread(target=w)
        t.start()
        assert x == 0
    """) == {("finished", (1,)): 1, ("violation", (1,)): 1}


def test_main_guard_constants_and_primitives_passed_as_arguments():
    """`if __name__ == "__main__":` is the module's code; range(N) with a constant N is unrolled;
    a lock passed in args= is the module's lock, so no update is lost."""
    found = statuses("""
        import threading
        N = 2
        count = 0
        guard = threading.Lock()
        def work(lock):
            global count
            with lock:
                count += 1
        if __name__ == "__main__":
            workers = []
            for k in range(N):
                t = threading.Thread(target=work, args=(guard,))
                workers.append(t)
                t.start()
            for t in workers:
                t.join()
            assert count == N
    """)
    assert set(found) == {("finished", (2, 2, 1))}  # (N, count, k)


def test_the_file_lines_are_the_modules():
    scenario = scenario_of("""
        import threading

        def w():
            a = 1
            print(a)

        threading.Thread(target=w).start()
    """)
    program = compile_scenario(scenario)
    worker = program.threads[1]
    assert [instr.line for instr in worker.code] == [5, 6]
    assert program.threads[0].code[0].line == 8


def test_literals_before_anything_runs_are_initial_values_not_steps():
    """x = 0 and ys = [] before the first thread start cost no step; a later x = 5 is main's step."""
    scenario = scenario_of("""
        import threading
        threads = []
        x = 0
        ys = []
        def w():
            ys.append(x)
        t = threading.Thread(target=w)
        threads.append(t)
        t.start()
        x = 5
        for t in threads:
            t.join()
    """)
    assert scenario.shared == (("x", 0), ("ys", ListValue([])))
    assert scenario.threads[0].code == "Thread1.start()\nx = 5\nThread1.join()\n"
    assert {final for _, final in statuses("""
        import threading
        threads = []
        x = 0
        ys = []
        def w():
            ys.append(x)
        t = threading.Thread(target=w)
        threads.append(t)
        t.start()
        x = 5
        for t in threads:
            t.join()
    """)} == {(5, ListValue([0])), (5, ListValue([5]))}


def test_helpers_call_helpers_and_return_their_results():
    """double(v) returns add(v, v); each call's locals are its own (s in work, s in add)."""
    source = """
        import threading
        out = 0
        def add(a, b):
            s = a + b
            return s
        def double(v):
            return add(v, v)
        def work(n):
            global out
            s = 100
            r = double(n)
            out = r + s
        t = threading.Thread(target=work, args=(3,))
        t.start()
        t.join()
        assert out == 106
    """
    assert statuses(source) == {("finished", (106,)): 1}
    body = scenario_of(source).threads[1].code
    assert "add_s = a + b" in body and "s = 100" in body


def test_a_loop_of_the_modules_own_code_writes_its_global_variable():
    """for k in range(3) in main is unrolled: k is a module global, and x sums 0 + 1 + 2 in 6 steps."""
    scenario = scenario_of("""
        x = 0
        for k in range(3):
            x += k
        assert x == 3
    """)
    assert scenario.threads[0].code == "k = 0\nx += k\nk = 1\nx += k\nk = 2\nx += k\n"
    assert statuses("""
        x = 0
        for k in range(3):
            x += k
        assert x == 3
    """) == {("finished", (3, 2)): 1}


def test_event_and_queue_order_the_threads():
    """The worker waits for the event that main sets after printing, and the consumer gets the
    producer's items in order: whatever the schedule, one outcome."""
    found = table("""
        import threading
        from queue import Queue
        go = threading.Event()
        q = Queue(1)
        got = []
        def worker():
            go.wait()
            print("go")
        def producer():
            for i in range(2):
                q.put(i + 1)
        def consumer():
            for _ in range(2):
                item = q.get()
                got.append(item)
        threads = [threading.Thread(target=worker), threading.Thread(target=producer),
                   threading.Thread(target=consumer)]
        for t in threads:
            t.start()
        print("set")
        go.set()
        for t in threads:
            t.join()
        assert got == [1, 2]
    """)
    assert [(status, output) for status, _, output in found] == [("finished", ("set", "go"))]
    [(_, final, _)] = found
    assert final[0] == ListValue([1, 2])
