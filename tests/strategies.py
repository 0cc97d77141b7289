"""Hypothesis strategies shared by the property tests: small scenarios, as YAML text.

`scenarios()` draws 2-3 threads of 1-4 statements each over 1-2 shared
ints: reads and writes, local arithmetic, `with L:` blocks, `if`,
`print` and `assert` (so that some runs end in a violation). Locals are only read once assigned on every path, so runs end
in errors only where the semantics says they should. `local_scenarios()`
draws threads that touch nothing shared, together with how many steps
each thread takes, for counting interleavings by formula.
`lockable_scenarios()` draws lock-free threads three ways: bare, with a
lock around every statement that touches a shared variable, and one
thread after another (started and joined by a main thread).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

THREADS = ("A", "B", "C")
SHARED = ("x", "y")
LOCALS = ("a", "b")


# Constants that Python calls equal but prints differently (0 == False == 0.0 == -0.0).
MIXED_CONSTANTS = ("0", "1", "False", "True", "0.0", "1.0", "-0.0")


@st.composite
def expressions(draw, shared: tuple[str, ...], assigned: frozenset[str], mixed: bool = False) -> str:
    """A constant, a name, or one binary operation on two of those.

    With `mixed`, the constants are ints, bools and floats alike."""
    atoms = [st.sampled_from(MIXED_CONSTANTS) if mixed else st.integers(0, 3).map(str)]
    if shared:
        atoms.append(st.sampled_from(shared))
    if assigned:
        atoms.append(st.sampled_from(sorted(assigned)))
    atom = st.one_of(atoms)
    left = draw(atom)
    if draw(st.booleans()):
        return left
    return f"{left} {draw(st.sampled_from(['+', '-', '*']))} {draw(atom)}"


@st.composite
def statements(draw, shared: tuple[str, ...], assigned: set[str], thread: str, nested: bool = False,
               locking: bool = True, mixed: bool = False) -> list[str]:
    """One statement as source lines. Adds the locals it surely assigns to `assigned`."""
    kinds = ["local", "write", "print", "assert"]
    if not nested:
        kinds += ["with", "if"] if locking else ["if"]
    kind = draw(st.sampled_from(kinds))
    if kind == "local":
        name = draw(st.sampled_from(LOCALS))
        value = draw(expressions(shared, frozenset(assigned), mixed))
        if name in assigned and draw(st.booleans()):
            line = f"{name} += {value}"
        else:
            line = f"{name} = {value}"
        assigned.add(name)
        return [line]
    if kind == "write":
        name = draw(st.sampled_from(shared))
        value = draw(expressions(shared, frozenset(assigned), mixed))
        return [f"{name} {draw(st.sampled_from(['=', '+=']))} {value}"]
    if kind == "print":
        value = draw(expressions(shared, frozenset(assigned), mixed))
        return [f'print("{thread}", {value})' if draw(st.booleans()) else f"print({value})"]
    if kind == "assert":
        return [f"assert {draw(expressions(shared, frozenset(assigned), mixed))} != {draw(st.integers(0, 3))}"]
    if kind == "with":
        body = draw(st.lists(statements(shared, assigned, thread, nested=True, mixed=mixed), min_size=1, max_size=2))
        return ["with L:"] + [f"    {line}" for lines in body for line in lines]
    test = draw(expressions(shared, frozenset(assigned), mixed))
    lines = [f"if {test} > {draw(st.integers(0, 2))}:"]
    lines += [f"    {line}" for line in draw(statements(shared, set(assigned), thread, nested=True, mixed=mixed))]
    if draw(st.booleans()):
        lines.append("else:")
        lines += [f"    {line}" for line in draw(statements(shared, set(assigned), thread, nested=True, mixed=mixed))]
    return lines


@st.composite
def scenarios(draw, threads: tuple[int, int] = (2, 3), statements_per_thread: tuple[int, int] = (1, 4),
              mixed: bool = False) -> str:
    """Scenario YAML: 2-3 threads of 1-4 statements over 1-2 shared ints and a lock L.

    With `mixed`, shared values, constants and so locals are ints, bools
    and floats alike, so that runs differ only in a value's type."""
    shared = SHARED[:draw(st.integers(1, 2))]
    initial = st.sampled_from(["0", "false", "0.0", "1", "true", "1.0"]) if mixed else st.integers(0, 2).map(str)
    lines = ["shared: {" + ", ".join(f"{name}: {draw(initial)}" for name in shared) + "}",
             "locks: [L]", "threads:"]
    for thread in THREADS[:draw(st.integers(*threads))]:
        assigned: set[str] = set()
        count = draw(st.integers(*statements_per_thread))
        body = [line for _ in range(count) for line in draw(statements(shared, assigned, thread, mixed=mixed))]
        lines.append(f"  {thread}: |")
        lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LocalScenario:
    """Threads that touch nothing shared, and how many steps each takes."""

    yaml: str
    steps: tuple[int, ...]


@st.composite
def local_statements(draw, assigned: set[str]) -> tuple[list[str], int]:
    """A statement on locals only, and its number of steps."""
    kind = draw(st.sampled_from(["set", "for", "if"] if assigned else ["set", "for"]))
    if kind == "set":
        name = draw(st.sampled_from(LOCALS))
        line = f"{name} = {draw(expressions((), frozenset(assigned)))}"
        assigned.add(name)
        return [line], 1
    if kind == "for":
        # The loop itself is no step: n iterations of a one-step body.
        n = draw(st.integers(0, 2))
        return [f"for i in range({n}):", "    a = i"], n
    test = draw(st.sampled_from(sorted(assigned)))
    # The test is a step, then exactly one of the two one-step branches.
    return [f"if {test} > 1:", "    b = 1", "else:", "    b = 2"], 2


@st.composite
def local_scenarios(draw) -> LocalScenario:
    """2-3 threads of 1-3 local statements; a thread may take no step at all (range(0))."""
    lines = ["threads:"]
    steps = []
    for thread in THREADS[:draw(st.integers(2, 3))]:
        assigned: set[str] = set()
        body, count = [], 0
        for _ in range(draw(st.integers(1, 3))):
            statement, n = draw(local_statements(assigned))
            body += statement
            count += n
        lines.append(f"  {thread}: |")
        lines += [f"    {line}" for line in body]
        steps.append(count)
    return LocalScenario("\n".join(lines) + "\n", tuple(steps))


@dataclass(frozen=True)
class LockableScenario:
    """One set of thread bodies three ways: bare; with every statement that
    touches a shared variable inside `with L:`; and run one thread after
    another, main starting and joining each in turn."""

    bare: str
    locked: str
    sequential: str


@st.composite
def lockable_scenarios(draw) -> LockableScenario:
    """2-3 threads of 1-3 statements over 1-2 shared ints, without locks of their own."""
    shared = SHARED[:draw(st.integers(1, 2))]
    header = ["shared: {" + ", ".join(f"{name}: {draw(st.integers(0, 2))}" for name in shared) + "}", "locks: [L]"]
    bodies = {}
    for thread in THREADS[:draw(st.integers(2, 3))]:
        assigned: set[str] = set()
        bodies[thread] = [draw(statements(shared, assigned, thread, locking=False))
                          for _ in range(draw(st.integers(1, 3)))]

    def touches(lines: list[str]) -> bool:
        return any(re.search(rf"\b{name}\b", line) for line in lines for name in shared)

    def scenario(wrap: bool, main: list[str] | None = None) -> str:
        lines = header + ["threads:"]
        if main:
            lines += ["  main: |"] + [f"    {line}" for line in main]
        for thread, body in bodies.items():
            blocks = [["with L:"] + [f"    {line}" for line in block] if wrap and touches(block) else block
                      for block in body]
            lines += [f"  {thread}: |"] + [f"    {line}" for block in blocks for line in block]
        return "\n".join(lines) + "\n"

    order = [line for thread in bodies for line in (f"{thread}.start()", f"{thread}.join()")]
    return LockableScenario(scenario(False), scenario(True), scenario(False, order))


@st.composite
def looping_scenarios(draw) -> str:
    """Scenario YAML as `scenarios()` draws it, each body perhaps inside a loop over locals:
    `for i in range(2):`, or `n = 0` then `while n < 2:` that counts n up first, so that
    runs of local steps meet back edges, loop tests and loop exits; or after a spin
    `while x == 1: pass`, which can go round forever."""
    shared = SHARED[:draw(st.integers(1, 2))]
    lines = ["shared: {" + ", ".join(f"{name}: {draw(st.integers(0, 2))}" for name in shared) + "}",
             "locks: [L]", "threads:"]
    for thread in THREADS[:draw(st.integers(2, 3))]:
        assigned: set[str] = set()
        body = [line for _ in range(draw(st.integers(1, 2))) for line in draw(statements(shared, assigned, thread))]
        loop = draw(st.sampled_from(["none", "for", "while", "spin"]))
        if loop == "spin":  # wait while a shared variable has a value: a cycle of states, which may end
            body = [f"while {draw(st.sampled_from(shared))} == {draw(st.integers(0, 2))}:", "    pass"] + body
        elif loop == "for":
            body = ["for i in range(2):"] + [f"    {line}" for line in body]
        elif loop == "while":
            body = ["n = 0", "while n < 2:", "    n += 1"] + [f"    {line}" for line in body]
        lines.append(f"  {thread}: |")
        lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n"


@st.composite
def symmetric_scenarios(draw, mixed: bool = False) -> str:
    """Scenario YAML with interchangeable threads: one body drawn once and run by 2-3 `count:` copies
    (that never read `index`), sometimes beside one other thread, over 1-2 shared values and a lock L."""
    shared = SHARED[:draw(st.integers(1, 2))]
    initial = st.sampled_from(["0", "false", "0.0", "1", "true", "1.0"]) if mixed else st.integers(0, 2).map(str)
    lines = ["shared: {" + ", ".join(f"{name}: {draw(initial)}" for name in shared) + "}",
             "locks: [L]", "threads:"]
    assigned: set[str] = set()
    body = [line for _ in range(draw(st.integers(1, 3)))
            for line in draw(statements(shared, assigned, "A", mixed=mixed))]
    lines += ["  A:", f"    count: {draw(st.integers(2, 3))}", "    code: |"] + [f"      {line}" for line in body]
    if draw(st.booleans()):
        assigned = set()
        other = [line for _ in range(draw(st.integers(1, 2)))
                 for line in draw(statements(shared, assigned, "B", mixed=mixed))]
        lines += ["  B: |"] + [f"    {line}" for line in other]
    return "\n".join(lines) + "\n"
