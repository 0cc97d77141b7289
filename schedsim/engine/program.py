"""Stage 2 output: a compiled program, the data the step function runs.

Each thread's body is a flat tuple of `Instruction`s. Every instruction except
the two `for`-loop helpers is exactly one step (one scheduling point) and
touches at most one shared object, so a statement such as `x = x + 1` is a
`Read` followed by a `SetShared`. Expressions are closures `fn(locals,
state)` built by `expressions`; a read that was split off into an earlier
step is taken from a temporary local slot.

Control flow is resolved at compile time: `next` and the branch targets point
straight at the instruction that runs next, or at `DONE`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Expr = Callable[[tuple, Any], Any]  # (locals, state) -> value

DONE = -2  # the pc of a thread that has finished
NEW = -1   # the pc of a thread that some body starts and that has not started yet

# What one step is (`--steps`): one instruction (the default), or one shared access together with the
# local-only instructions that follow it (docs/steps.md, "Coarser steps").
STATEMENT, SHARED = "statement", "shared"
STEP_MODES = (STATEMENT, SHARED)


class Unset:
    """The value of a local that has not been assigned yet."""

    _instance = None

    def __new__(cls) -> "Unset":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unset>"

    def __reduce__(self):  # stays a singleton when states cross process boundaries
        return (Unset, ())


UNSET = Unset()


@dataclass(frozen=True, slots=True)
class Access:
    """One access to a shared object: a variable, a primitive, or the output."""

    kind: str    # "read", "write", "acquire", "release", "print", "start", "join"
    target: str  # the variable, primitive or thread name ("output" for print)


@dataclass(frozen=True, slots=True)
class Instruction:
    line: int          # line in the scenario file
    text: str          # the statement, as written
    action: str        # what this step does, for people: "read x", "write x", ...
    next: int          # pc that follows (DONE at the end of the body)
    accesses: tuple[Access, ...] = ()
    clear: tuple[int, ...] = field(default=(), kw_only=True)  # temp slots freed after the step

    silent = False     # True for the bookkeeping of `for` loops: not a step
    blocking = False   # True where the step may have to wait (acquire, join)


@dataclass(frozen=True, slots=True)
class Read(Instruction):
    """Copy a shared variable into a temp: the first part of a split statement."""

    variable: int = 0
    temp: int = 0


@dataclass(frozen=True, slots=True)
class Inspect(Instruction):
    """Copy what a query such as `E.is_set()` or `Q.qsize()` answers into a temp."""

    primitive: int = 0
    query: Callable[[Any], Any] = None  # primitive state -> value
    temp: int = 0


@dataclass(frozen=True, slots=True)
class SetLocal(Instruction):
    slot: int = 0
    value: Expr = None


@dataclass(frozen=True, slots=True)
class SetShared(Instruction):
    variable: int = 0
    value: Expr = None


@dataclass(frozen=True, slots=True)
class SetItem(Instruction):
    """`xs[index] = value` on a shared list."""

    variable: int = 0
    index: Expr = None
    value: Expr = None


@dataclass(frozen=True, slots=True)
class Append(Instruction):
    """`xs.append(value)` on a shared list: list.append is atomic in CPython."""

    variable: int = 0
    value: Expr = None


@dataclass(frozen=True, slots=True)
class Print(Instruction):
    args: tuple[Expr, ...] = ()
    sep: Expr | None = None


@dataclass(frozen=True, slots=True)
class Test(Instruction):
    """The test of an `if` or `while`: go to `next` if true, else to `orelse`."""

    condition: Expr = None
    orelse: int = DONE
    store: int = -1  # local slot that keeps the test's value (ok = C.wait_for(...)), -1 for none
    loop: bool = False  # the test of a loop (while, wait_for), which a cycle of states may spin on


@dataclass(frozen=True, slots=True)
class Assert(Instruction):
    condition: Expr = None
    message: Expr | None = None


@dataclass(frozen=True, slots=True)
class Nop(Instruction):
    """`pass`, `break`, `continue`: a step that changes nothing but the pc."""


@dataclass(frozen=True, slots=True)
class Acquire(Instruction):
    """Acquire a Lock, RLock or (bounded) semaphore.

    With a timeout (or blocking=False) the step never waits: taken when the
    primitive is free, it succeeds; taken when it is not, it times out. The
    scheduler's choice of when to run it is the model of how long it waited.
    """

    primitive: int = 0
    timeout: bool = False
    result: int = -1  # local slot for the returned bool, -1 when discarded
    blocking = True


@dataclass(frozen=True, slots=True)
class Release(Instruction):
    primitive: int = 0


@dataclass(frozen=True, slots=True)
class PrimOp(Instruction):
    """A method of an Event, Condition, Barrier or Queue, as `kind.method`.

    Condition.wait and Barrier.wait are two steps each: "wait" (release the
    lock and join the waiters; arrive at the barrier) and "wake"/"pass"
    (leave once notified and the lock is free; once the barrier is full).
    """

    primitive: int = 0
    op: str = ""                  # e.g. "Event.wait", "Condition.notify"
    args: tuple[Expr, ...] = ()
    timeout: bool = False
    result: int = -1              # local slot for a returned value, -1 when discarded
    saved: int = -1               # Condition.wait: temp slot for the lock's saved depth;
                                  # the slot after it marks a wait that has timed out
    blocking = True


@dataclass(frozen=True, slots=True)
class Exit(Instruction):
    """The interpreter's exit, once only daemon threads are left: they are cut off.

    In no thread's code: the main thread (the first non-daemon one) takes it
    after it and every other non-daemon thread have finished, at a moment
    the scheduler picks, so daemon threads may still take steps before it,
    as they do while CPython shuts down.
    """


@dataclass(frozen=True, slots=True)
class Start(Instruction):
    thread: int = 0


@dataclass(frozen=True, slots=True)
class Join(Instruction):
    thread: int = 0
    blocking = True


@dataclass(frozen=True, slots=True)
class ForInit(Instruction):
    """Silent: evaluate range(start, stop, step) into the loop's hidden slots."""

    start: Expr = None
    stop: Expr = None
    step: Expr = None
    counter: int = 0  # hidden slots: counter, counter + 1 (stop), counter + 2 (step)
    silent = True


@dataclass(frozen=True, slots=True)
class ForIter(Instruction):
    """Silent: bind the loop variable to the next number, or leave the loop."""

    variable: int = 0
    counter: int = 0
    exit: int = DONE
    silent = True


@dataclass(frozen=True, slots=True)
class Jump(Instruction):
    """Silent placeholder used while compiling; resolved away before running."""

    silent = True


@dataclass(frozen=True, slots=True)
class Check:
    """A compiled `checks:` entry, evaluated over the shared variables."""

    text: str
    line: int
    condition: Expr
    accepted: frozenset = field(default=frozenset(), compare=False, repr=False)  # see ThreadProgram


@dataclass(frozen=True, slots=True)
class Primitive:
    name: str
    kind: str        # Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier or Queue
    arg: int = 0     # Semaphore value, Barrier parties, Queue maxsize
    lock: int = -1   # Condition: the slot of its lock


@dataclass(frozen=True, slots=True)
class ThreadProgram:
    name: str
    daemon: bool
    starts_running: bool            # False when some body starts it with T.start()
    code: tuple[Instruction, ...]
    local_names: tuple[str, ...]    # names of the user-visible local slots
    initial_locals: tuple           # user locals, loop counters and temps
    first_line: int
    forever: int = -1               # pc of the test of the `while True:` that ends the body and that no
                                    # `break` leaves: the thread is meant to run forever; -1 for none
    # The `compiler.node_key` of every syntax node the compiler validated: the export
    # re-emits these and nothing else of the body (a part the model ignores never runs).
    accepted: frozenset = field(default=frozenset(), compare=False, repr=False)
    # --steps shared: per pc, whether the instruction touches only this thread's locals (so a step runs
    # on through it); () in statement mode, where every instruction is a step of its own.
    local_only: tuple[bool, ...] = ()
    # Local slots set before the first step (`index`, `locals:`) that no statement names: they never
    # change and nothing reads them, so copies that differ only there are interchangeable (symmetry).
    unused_slots: frozenset = field(default=frozenset(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    description: str
    file: str
    shared_names: tuple[str, ...]
    initial_shared: tuple
    primitives: tuple[Primitive, ...]
    threads: tuple[ThreadProgram, ...]
    final_checks: tuple[Check, ...] = ()
    always_checks: tuple[Check, ...] = ()
    steps: str = STATEMENT  # one of STEP_MODES

    @property
    def thread_names(self) -> tuple[str, ...]:
        return tuple(thread.name for thread in self.threads)

    def thread_index(self, name: str) -> int:
        for index, thread in enumerate(self.threads):
            if thread.name == name:
                return index
        raise KeyError(name)
