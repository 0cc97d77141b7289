"""Every code example of the notes, bundled in scenarios/python/, with its outcomes worked out by hand.

The small files are the notes' programs with 3 threads of 2 prints (the
originals' 9 x 100 is for `sample`). In each, main writes the module global
_i = 0, 1, 2 and starts thread k+1 after writing _i = k; each lambda reads
_i when its thread first runs, so thread 1 prints 0, 1 or 2, thread 2 prints
1 or 2, and thread 3 prints 2 (late binding).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from schedsim.analyses.analysis import analyse
from schedsim.engine.compiler import compile_scenario
from schedsim.engine.explorer import explore
from schedsim.sampling import SampleOptions, single_run
from schedsim.frontends.scenario import load

EXAMPLES = Path(__file__).parent.parent / "scenarios" / "python"
VALUES = [(v1, v2, 2) for v1 in (0, 1, 2) for v2 in (1, 2)]  # what threads 1, 2 and 3 can read from _i


def outcomes(name: str) -> list:
    exploration = explore(compile_scenario(load(EXAMPLES / name)))
    assert exploration.complete
    return analyse(exploration).outcomes


def outputs(name: str) -> set[tuple[int, ...]]:
    """Each finished run's output as the numbers printed; every run must finish with _i == 2."""
    found = set()
    for outcome in outcomes(name):
        assert (outcome.status, outcome.final) == ("finished", (2,))
        found.add(tuple(int(line.removeprefix("Thread ")) for line in outcome.output))
    return found


def shuffles(*runs: tuple[int, ...]) -> set[tuple[int, ...]]:
    """Every interleaving of the runs, each run's own order kept."""
    runs = tuple(run for run in runs if run)
    if not runs:
        return {()}
    return {(run[0],) + rest for i, run in enumerate(runs)
            for rest in shuffles(*runs[:i], run[1:], *runs[i + 1:])}


def test_every_example_file_is_bundled():
    """One file per code example of the notes, and a small one beside each 9 x 100 original."""
    names = {path.name for path in EXAMPLES.glob("*.py")}
    assert {"critical_section.py", "print_unlocked.py", "print_locked.py", "daemon.py", "join_in_loop.py",
            "acquire_release.py"} <= names
    for big in ("print_unlocked", "print_locked", "daemon", "join_in_loop", "acquire_release"):
        assert f"{big}_small.py" in names


def test_the_originals_are_the_notes_code():
    """The 9 x 100 files keep the notes' loops; the small ones differ only in the two bounds."""
    for big in ("print_unlocked", "print_locked", "daemon", "join_in_loop", "acquire_release"):
        original = (EXAMPLES / f"{big}.py").read_text()
        assert "for _i in range(9):" in original and "range(100)" in original
        small = (EXAMPLES / f"{big}_small.py").read_text()
        code = lambda text: [line for line in text.split('"""')[-1].splitlines()]
        assert [line.replace("range(9)", "range(3)").replace("range(100)", "range(2)")
                for line in code(original)] == code(small)


def test_critical_section_as_written_raises_unbound_local_error():
    """thread_1 and thread_2 assign x without `global x`: x is their local, so `a = x` raises.

    Main starts thread 1, then thread 2. Thread 2 raises first only if main
    starts it before thread 1 takes the lock (1/2) and it then wins the lock
    (1/2): 1 of 4 interleavings. Otherwise thread 1 raises: 3 of 4.
    """
    found = {(o.status, o.message.split(":")[0], o.interleavings, o.probability) for o in outcomes("critical_section.py")}
    assert found == {("error", "Thread1, line 18", 3, Fraction(3, 4)), ("error", "Thread2, line 26", 1, Fraction(1, 4))}
    message = outcomes("critical_section.py")[0].message
    assert "UnboundLocalError" in message
    assert "x is local to thread_1 because thread_1 assigns it; add `global x`" in message


def test_critical_section_with_global_keeps_each_update_whole():
    """thread_1 makes x 2x+1, thread_2 x+1: 0 -> 1 -> 2 if thread 1 locks first (3/4), else 0 -> 1 -> 3 (1/4)."""
    found = {(o.status, o.final, o.output, o.probability) for o in outcomes("critical_section_global.py")}
    assert found == {("finished", (2,), ("1", "2"), Fraction(3, 4)), ("finished", (3,), ("1", "3"), Fraction(1, 4))}


def test_unlocked_prints_interleave_with_late_binding():
    """Any interleaving of the three threads' two lines, each thread printing what it read."""
    expected = set().union(*(shuffles((a, a), (b, b), (c, c)) for a, b, c in VALUES))
    assert outputs("print_unlocked_small.py") == expected
    assert len(expected) == 136
    assert (0, 0, 1, 1, 2, 2) in expected and (2, 2, 2, 2, 2, 2) in expected  # in order, or one number three times


def test_locked_prints_come_in_blocks_in_any_order():
    """The lock keeps each thread's two lines together; blocks come in lock order, any of the 6."""
    expected = {tuple(n for v in order for n in (v, v))
                for values in VALUES for order in _orders(values)}
    assert outputs("print_locked_small.py") == expected
    assert len(expected) == 16


def test_acquire_and_release_behave_as_with_lock():
    """The notes' lock.acquire() / lock.release() version has exactly the outcomes of `with lock:`."""
    def table(name):
        return {(o.output, o.interleavings, o.probability) for o in outcomes(name)}
    assert table("acquire_release_small.py") == table("print_locked_small.py")


def test_daemon_threads_are_cut_off_when_main_ends():
    """Main does not join: after its last statement the daemons run on until the interpreter's exit,
    which cuts each daemon thread off after a prefix of its two lines, possibly none."""
    expected = set()
    for a, b, c in VALUES:
        for n1 in range(3):
            for n2 in range(3):
                for n3 in range(3):
                    expected |= shuffles((a,) * n1, (b,) * n2, (c,) * n3)
    assert outputs("daemon_small.py") == expected
    assert () in expected and (0, 0, 1, 1, 2, 2) in expected


def test_join_in_the_loop_prints_in_order():
    """Each thread is joined before main writes _i again: one run, the lines in order."""
    [outcome] = outcomes("join_in_loop_small.py")
    assert (outcome.status, outcome.output, outcome.interleavings) == (
        "finished", ("Thread 0", "Thread 0", "Thread 1", "Thread 1", "Thread 2", "Thread 2"), 1)


@pytest.mark.parametrize("name", ["print_unlocked.py", "print_locked.py", "join_in_loop.py"])
def test_the_full_examples_run(name):
    """The 9 x 100 originals load, and a sampled run finishes with 900 lines, 100 of each thread's."""
    program = compile_scenario(load(EXAMPLES / name))
    assert [thread.name for thread in program.threads] == ["MainThread"] + [f"Thread{k}" for k in range(1, 10)]
    _, result = single_run(program, SampleOptions(seed=1, max_states=0))
    assert result.status == "finished" and len(result.final.output) == 900


def _orders(values: tuple[int, ...]) -> set[tuple[int, ...]]:
    from itertools import permutations
    return set(permutations(values))
