"""Stage 3: what one step does. The only place steps are executed.

`step(program, state, thread)` is a pure function from a state and a
runnable thread to the next state. Explorers, the sampler, the replayer and
the cross-check all call it; none of them copies any part of it.

A `State` is a small immutable tuple: per thread its pc and locals, the
shared values, the primitives' states, the printed lines, and a fault (the
failed check or the error that ended the run). Whether a thread is blocked,
whether the program has finished or deadlocked is derived from those, never
stored, so equal situations are equal states.

Only this module knows how the primitives' states are laid out. Others ask:
`lock_owner`, `lock_wanted`, `waiting_for`, and for the race search what
a step did in happens-before terms (`sync_effects`, `written_element`).
"""
from __future__ import annotations

import functools
import queue
import threading
from typing import Any, Callable, NamedTuple

from . import program as p
from ..limits import DEFAULT_BOUNDS
from .program import DONE, NEW, UNSET, Program
from .values import OutOfModel, too_big


class State(NamedTuple):
    threads: tuple   # per thread: (pc, locals); pc is NEW or DONE or an index into its code
    shared: tuple    # shared variables, in declaration order
    prims: tuple     # per primitive, see _initial_prims
    output: tuple    # the lines printed so far
    fault: tuple | None = None  # how the run was ended by a step: (status, message), "violation" or
                                # "error"; ("finished", None) for the interpreter's exit (see p.Exit)


FINISHED, DEADLOCK, VIOLATION, ERROR = "finished", "deadlock", "violation", "error"

# Exceptions that a thread body can raise: they end the run with status "error".
# NameError and KeyError stay out: no scenario can raise them, so they can only
# be bugs in schedsim, which must crash loudly rather than pass for an outcome.
RUNTIME_ERRORS = (ArithmeticError, TypeError, ValueError, IndexError, UnboundLocalError, RuntimeError)


class _Raise(Exception):
    """A Python exception that the modelled program raises, with CPython's message."""

    def __init__(self, kind: type, message: str):
        super().__init__(message)
        module = "" if kind.__module__ == "builtins" else kind.__module__.lstrip("_") + "."
        self.text = f"{module}{kind.__name__}" + (f": {message}" if message else "")


def initial_state(program: Program) -> State:
    """The state before any step: threads that nobody starts are at their first step."""
    threads = []
    fault = None
    for thread in program.threads:
        if not thread.starts_running:
            threads.append((NEW, thread.initial_locals))
            continue
        try:
            threads.append(_settle(thread, 0, thread.initial_locals))
        except RUNTIME_ERRORS as exc:
            threads.append((0, thread.initial_locals))
            fault = fault or (ERROR, f"{thread.name}, line {thread.first_line}: {type(exc).__name__}: {exc}")
    state = State(tuple(threads), program.initial_shared, _initial_prims(program), ())
    if fault:
        return state._replace(fault=fault)
    return _run_on_starts(program, _checked(program, state, finished=_finished(program, state)))


def _initial_prims(program: Program) -> tuple:
    """Lock: owner or None. RLock: (owner, depth) or None. Semaphores: their value.
    Event: set or not. Condition: its waiters, first come first. Barrier:
    (threads waiting, broken). Queue: its items."""
    initial = {"Lock": None, "RLock": None, "Event": False, "Condition": (), "Barrier": ((), False), "Queue": ()}
    return tuple(prim.arg if prim.kind.endswith("Semaphore") else initial[prim.kind] for prim in program.primitives)


def runnable(program: Program, state: State) -> tuple[int, ...]:
    """The threads that can take the next step, in scenario order; () at an end."""
    if state.fault is not None:
        return ()
    result = []
    alive = daemons = False
    threads = program.threads
    for tid, (pc, _) in enumerate(state.threads):
        if pc < 0:
            continue
        thread = threads[tid]
        if thread.daemon:
            daemons = True
        else:
            alive = True
        instr = thread.code[pc]
        if not instr.blocking or not _waits(program, state, tid, instr):
            result.append(tid)
    if alive:
        return tuple(result)
    main = _main_thread(program) if daemons else None
    return tuple(sorted(result + [main])) if main is not None else ()


def _main_thread(program: Program) -> int | None:
    """The thread that takes the interpreter's exit: the first non-daemon one, None if there is none."""
    return next((tid for tid, thread in enumerate(program.threads) if not thread.daemon), None)


def _shutting_down(program: Program, state: State) -> bool:
    """Every non-daemon thread has finished, but a daemon thread still runs and the exit is yet to come."""
    return (state.fault is None and _finished(program, state) and _main_thread(program) is not None
            and any(pc >= 0 for thread, (pc, _) in zip(program.threads, state.threads) if thread.daemon))


def status(program: Program, state: State) -> str | None:
    """How a run that is in `state` has ended, or None if it goes on."""
    if state.fault is not None:
        return state.fault[0]
    if _finished(program, state):
        return None if _shutting_down(program, state) else FINISHED
    if not _some_runnable(program, state):
        return DEADLOCK
    return None


def _some_runnable(program: Program, state: State) -> bool:
    """Whether any thread can step: `runnable` without walking every thread once one is found."""
    threads = program.threads
    for tid, (pc, _) in enumerate(state.threads):
        if pc >= 0:
            instr = threads[tid].code[pc]
            if not instr.blocking or not _waits(program, state, tid, instr):
                return True
    return False


def step(program: Program, state: State, tid: int, whole: bool = True) -> State:
    """The state after thread `tid` takes its next step. `tid` must be runnable.

    In shared mode (`--steps shared`) a step is `_shared_step`'s; `whole=False`
    takes one instruction only, the statement step that it is made of.
    """
    thread = program.threads[tid]
    if whole and thread.local_only:
        return _shared_step(program, state, tid)
    pc, loc = state.threads[tid]
    if pc == DONE:  # the main thread, finished, takes the interpreter's exit
        ended = _checked(program, state, finished=True)
        return ended if ended.fault is not None else state._replace(fault=(FINISHED, None))
    instr = thread.code[pc]
    try:
        pc, loc, shared, prims, output, threads = _EXECUTE[type(instr)](program, state, tid, instr, loc)
        if pc >= 0:
            if thread.code[pc].silent:
                pc, loc = _settle(thread, pc, loc)
        if pc == DONE:
            loc = ()  # a finished thread's locals are gone, so its ends merge
    except _Raise as exc:
        return state._replace(fault=_fault(ERROR, thread, instr, exc.text))
    except AssertionError as exc:
        detail = f" ({exc})" if str(exc) else ""
        return state._replace(fault=_fault(VIOLATION, thread, instr, f"assertion failed: {instr.text}{detail}"))
    except RUNTIME_ERRORS as exc:
        return state._replace(fault=_fault(ERROR, thread, instr, f"{type(exc).__name__}: {exc}"))
    threads = list(threads)
    threads[tid] = (pc, loc)
    new = _new_state((tuple(threads), shared, prims, output, None))
    if program.always_checks or (pc == DONE and program.final_checks):
        finished = pc == DONE and _finished(program, new) and not _shutting_down(program, new)
        return _checked(program, new, finished)
    return new


_new_state = functools.partial(tuple.__new__, State)  # State._make without its Python-level call


# -- shared mode: a step runs on through the local-only instructions after it ---------

def _shared_step(program: Program, state: State, tid: int) -> State:
    """The instruction that `tid` stands at, then the local-only ones that follow it, as one step.

    Each part is a statement step, so every state of shared mode is one of
    statement mode's. A thread that this step starts runs on through its own
    first local-only instructions too. A step that would come round a loop
    to the very place and locals it began at (`while not flag: pass`) is its
    first instruction only, as in statement mode: else the thread would step
    from a state to itself, and two such threads would step to one state.
    """
    pc = state.threads[tid][0]
    first = step(program, state, tid, whole=False)
    after = _run_on(program, first, tid, pc)
    if after.threads[tid] == state.threads[tid]:
        return first
    instr = program.threads[tid].code[pc] if pc >= 0 else None
    if isinstance(instr, p.Start) and after.fault is None:
        after = _run_on(program, after, instr.thread, -1)
    return after


def _run_on(program: Program, state: State, tid: int, last: int) -> State:
    """Take thread `tid`'s local-only instructions one after another, while they go forward from `last`.

    The run stops at a back edge (the next round of a loop is a step of its
    own, so a loop over locals still takes steps and a cycle still shows),
    at an instruction that is not local-only, when the run has ended, and
    before a local-only instruction that would end it (an exception, an
    assertion, a final check that fails): that one stays a step of its own,
    so other threads can still step before it, as in statement mode, and
    both modes reach the same outcomes.
    """
    local_only = program.threads[tid].local_only
    while state.fault is None:
        pc = state.threads[tid][0]
        if pc <= last or not local_only[pc]:  # DONE and NEW are negative: never past `last`
            return state
        after = step(program, state, tid, whole=False)
        if after.fault is not None:
            return state
        state, last = after, pc
    return state


def _run_on_starts(program: Program, state: State) -> State:
    """Shared mode's initial state: each running thread past its first local-only instructions."""
    for tid, thread in enumerate(program.threads):
        if thread.local_only and thread.starts_running:
            state = _run_on(program, state, tid, -1)
    return state


def current_instruction(program: Program, state: State, tid: int) -> p.Instruction | None:
    """The instruction thread `tid` will run next, or None if it has none.

    A finished main thread's next step, while daemon threads still run, is
    the interpreter's exit.
    """
    pc = state.threads[tid][0]
    if pc >= 0:
        return program.threads[tid].code[pc]
    if pc == DONE and tid == _main_thread(program) and _shutting_down(program, state):
        return _exit_step(program.threads[tid])
    return None


@functools.lru_cache(maxsize=64)
def _exit_step(thread: p.ThreadProgram) -> p.Exit:
    last = max(instr.line for instr in thread.code)
    return p.Exit(line=last, text="(the program exits: daemon threads are cut off)", action="exit", next=DONE)


def waiting_for(program: Program, state: State, tid: int) -> str:
    """Why a thread cannot run, in words: what it waits for, and who holds it."""
    pc = state.threads[tid][0]
    if pc == DONE:
        return "finished"
    if pc == NEW:
        return "not started"
    instr = program.threads[tid].code[pc]
    if isinstance(instr, p.Acquire):
        prim = program.primitives[instr.primitive]
        held = state.prims[instr.primitive]
        if prim.kind.endswith("Semaphore"):
            return f"waits to acquire {prim.name} (value {held}) at line {instr.line}"
        return f"waits to acquire {prim.name}{_held_by(program, state, held)} at line {instr.line}"
    if isinstance(instr, p.Join):
        return f"waits to join {program.threads[instr.thread].name} at line {instr.line}"
    if isinstance(instr, p.PrimOp) and instr.op in _WAIT_WORDS:
        prim = program.primitives[instr.primitive]
        return f"{_WAIT_WORDS[instr.op](program, state, prim)} at line {instr.line}"
    return f"is about to run line {instr.line}"


def _held_by(program: Program, state: State, held: Any) -> str:
    """' (held by B)', noting when B has finished and so will never release it."""
    owner = _owner(held)
    if owner is None:
        return ""
    finished = ", which has finished" if state.threads[owner][0] == DONE else ""
    return f" (held by {program.threads[owner].name}{finished})"


def _lock_words(program: Program, state: State, prim: p.Primitive) -> str:
    return program.primitives[prim.lock].name + _held_by(program, state, state.prims[prim.lock])


_WAIT_WORDS = {
    "Event.wait": lambda program, state, prim: f"waits for {prim.name} to be set",
    "Condition.wake": lambda program, state, prim: f"waits on {prim.name} for a notify or for {_lock_words(program, state, prim)}",
    "Barrier.pass": lambda program, state, prim: f"waits at barrier {prim.name} ({len(state.prims[program.primitives.index(prim)][0])} of {prim.arg} arrived)",
    "Queue.put": lambda program, state, prim: f"waits to put into {prim.name} (full)",
    "Queue.get": lambda program, state, prim: f"waits to get from {prim.name} (empty)",
}


def _fault(kind: str, thread: p.ThreadProgram, instr: p.Instruction, message: str) -> tuple:
    return (kind, f"{thread.name}, line {instr.line}: {message}")


def _finished(program: Program, state: State) -> bool:
    """Python's rule: the program ends when no started non-daemon thread is still running."""
    for thread, (pc, _) in zip(program.threads, state.threads):
        if pc >= 0 and not thread.daemon:
            return False
    return True


def _checked(program: Program, state: State, finished: bool) -> State:
    """Attach the first failing `always` (or, at the end, `final`) check as a fault."""
    checks = [("always", check) for check in program.always_checks]
    if finished:
        checks += [("final", check) for check in program.final_checks]
    for kind, check in checks:
        try:
            holds = check.condition((), state)
        except RUNTIME_ERRORS as exc:
            return state._replace(fault=(ERROR, f"check {check.text!r} (line {check.line}) raised {type(exc).__name__}: {exc}"))
        if not holds:
            return state._replace(fault=(VIOLATION, f"{kind} check failed: {check.text} (line {check.line})"))
    return state


def _waits(program: Program, state: State, tid: int, instr: p.Instruction) -> bool:
    if isinstance(instr, p.Acquire):
        return not instr.timeout and not _can_acquire(program, state, tid, instr.primitive)
    if isinstance(instr, p.Join):
        return state.threads[instr.thread][0] >= 0  # the target is still running
    return _PRIM_OPS[instr.op][0](program, state, tid, instr)


def _can_acquire(program: Program, state: State, tid: int, slot: int) -> bool:
    held = state.prims[slot]
    kind = program.primitives[slot].kind
    if kind == "Lock":
        return held is None
    if kind == "RLock":
        return held is None or held[0] == tid
    return held > 0  # a semaphore's value


def lock_owner(program: Program, state: State, slot: int) -> int | None:
    """The thread that holds the Lock or RLock in `slot`, or None if it is free."""
    return _owner(state.prims[slot])


def _owner(prim_state: Any) -> int | None:
    if prim_state is None:
        return None
    return prim_state if isinstance(prim_state, int) else prim_state[0]


# -- moving a thread ------------------------------------------------------------

def _settle(thread: p.ThreadProgram, pc: int, loc: tuple) -> tuple[int, tuple]:
    """Run the silent `for` bookkeeping until the thread stands at a real step."""
    code = thread.code
    rounds = 0
    while pc >= 0 and code[pc].silent:
        instr = code[pc]
        rounds += 1
        if rounds > DEFAULT_BOUNDS.max_silent_rounds:
            raise OutOfModel(f"for loops ran {DEFAULT_BOUNDS.max_silent_rounds:,} rounds without a step of their "
                             "own (a loop over an empty range, nested in a long one): more than the model follows")
        values = list(loc)  # one copy for the two or three slots each changes
        counter = instr.counter
        if isinstance(instr, p.ForInit):
            numbers = range(instr.start(loc, None), instr.stop(loc, None), instr.step(loc, None))
            for slot in instr.clear:
                values[slot] = UNSET
            values[counter:counter + 3] = numbers.start, numbers.stop, numbers.step
            pc = instr.next
        else:  # ForIter
            current, stop, stride = values[counter:counter + 3]
            if current < stop if stride > 0 else current > stop:
                values[instr.variable] = current
                values[counter] = current + stride
                pc = instr.next
            else:
                values[counter:counter + 3] = UNSET, UNSET, UNSET
                pc = instr.exit
        loc = tuple(values)
    if pc == DONE:
        return DONE, ()
    return pc, loc


def _set(items: tuple, index: int, value: Any) -> tuple:
    values = list(items)  # twice as fast as items[:index] + (value,) + items[index + 1:]
    values[index] = value
    return tuple(values)


def _cleared(loc: tuple, slots: tuple[int, ...]) -> tuple:
    """The locals with a statement's temps reset, so that equal situations are equal states."""
    if not slots:
        return loc
    cleared = list(loc)
    for slot in slots:
        cleared[slot] = UNSET
    return tuple(cleared)


# -- one handler per instruction kind ---------------------------------------------
# Each returns (pc, locals, shared, prims, output, threads): the stepping
# thread's new pc and locals, and the rest of the state, changed or not.

def _read(program: Program, state: State, tid: int, instr: p.Read, loc: tuple) -> tuple:
    loc = _set(loc, instr.temp, state.shared[instr.variable])
    return instr.next, loc, state.shared, state.prims, state.output, state.threads


def _set_local(program: Program, state: State, tid: int, instr: p.SetLocal, loc: tuple) -> tuple:
    value = instr.value(loc, state)
    values = list(loc)
    for slot in instr.clear:
        values[slot] = UNSET
    values[instr.slot] = value
    return instr.next, tuple(values), state.shared, state.prims, state.output, state.threads


def _set_shared(program: Program, state: State, tid: int, instr: p.SetShared, loc: tuple) -> tuple:
    return _write(state, instr, loc, instr.value(loc, state))


def _set_item(program: Program, state: State, tid: int, instr: p.SetItem, loc: tuple) -> tuple:
    value = instr.value(loc, state)
    index = instr.index(loc, state)
    return _write(state, instr, loc, _as_list(state.shared[instr.variable]).replaced(index, value))


def _append(program: Program, state: State, tid: int, instr: p.Append, loc: tuple) -> tuple:
    value = instr.value(loc, state)
    return _write(state, instr, loc, _as_list(state.shared[instr.variable]).appended(value))


def _as_list(value: Any) -> Any:
    if not hasattr(value, "replaced"):
        raise TypeError(f"'{type(value).__name__}' object does not support item assignment")
    return value


def _write(state: State, instr: Any, loc: tuple, value: Any) -> tuple:
    shared = list(state.shared)  # _set inline: every write of a shared variable comes here
    shared[instr.variable] = value
    return instr.next, _cleared(loc, instr.clear) if instr.clear else loc, tuple(shared), state.prims, state.output, \
        state.threads


def _print(program: Program, state: State, tid: int, instr: p.Print, loc: tuple) -> tuple:
    sep = " " if instr.sep is None else instr.sep(loc, state)
    if not isinstance(sep, str):
        raise TypeError(f"sep must be None or a string, not {type(sep).__name__}")
    parts, length = [], 0
    for arg in instr.args:  # the line is refused before it is built: 1,000 long arguments would be gigabytes
        parts.append(str(arg(loc, state)))
        length += len(parts[-1]) + len(sep)
        if length > DEFAULT_BOUNDS.max_value_size:
            raise too_big("the printed line")
    line = sep.join(parts)
    return instr.next, _cleared(loc, instr.clear), state.shared, state.prims, state.output + (line,), state.threads


def _test(program: Program, state: State, tid: int, instr: p.Test, loc: tuple) -> tuple:
    value = instr.condition(loc, state)
    target = instr.next if value else instr.orelse
    loc = _cleared(loc, instr.clear)
    if instr.store >= 0:
        loc = _set(loc, instr.store, value)
    return target, loc, state.shared, state.prims, state.output, state.threads


def _assert(program: Program, state: State, tid: int, instr: p.Assert, loc: tuple) -> tuple:
    if not instr.condition(loc, state):
        message = instr.message(loc, state) if instr.message is not None else ""
        raise AssertionError(message)
    return instr.next, _cleared(loc, instr.clear), state.shared, state.prims, state.output, state.threads


def _nop(program: Program, state: State, tid: int, instr: p.Nop, loc: tuple) -> tuple:
    return instr.next, loc, state.shared, state.prims, state.output, state.threads


def _acquire(program: Program, state: State, tid: int, instr: p.Acquire, loc: tuple) -> tuple:
    slot = instr.primitive
    got = _can_acquire(program, state, tid, slot)  # False only for a timed-out try
    prims = state.prims
    if got:
        held = prims[slot]
        kind = program.primitives[slot].kind
        new = tid if kind == "Lock" else (tid, 1 if held is None else held[1] + 1) if kind == "RLock" else held - 1
        prims = _set(prims, slot, new)
    if instr.result >= 0:
        loc = _set(loc, instr.result, got)
    return instr.next, loc, state.shared, prims, state.output, state.threads


def _release(program: Program, state: State, tid: int, instr: p.Release, loc: tuple) -> tuple:
    prim = program.primitives[instr.primitive]
    held = state.prims[instr.primitive]
    if prim.kind == "Lock":
        if held is None:
            raise _Raise(RuntimeError, "release unlocked lock")
        new = None
    elif prim.kind == "RLock":
        if held is None or held[0] != tid:
            raise _Raise(RuntimeError, "cannot release un-acquired lock")
        new = None if held[1] == 1 else (tid, held[1] - 1)
    else:
        if prim.kind == "BoundedSemaphore" and held >= prim.arg:
            raise _Raise(ValueError, "Semaphore released too many times")
        new = held + 1
    return instr.next, loc, state.shared, _set(state.prims, instr.primitive, new), state.output, state.threads


def _inspect(program: Program, state: State, tid: int, instr: p.Inspect, loc: tuple) -> tuple:
    loc = _set(loc, instr.temp, instr.query(state.prims[instr.primitive]))
    return instr.next, loc, state.shared, state.prims, state.output, state.threads


def _prim_op(program: Program, state: State, tid: int, instr: p.PrimOp, loc: tuple) -> tuple:
    if instr.op == "Condition.wake" and _still_waiting(state, tid, instr, loc):
        # The timeout expires: still listed among the waiters (a notify may yet be
        # spent on it, as in CPython), the thread now only waits for the lock.
        return state.threads[tid][0], _set(loc, instr.saved + 1, True), state.shared, state.prims, state.output, state.threads
    args = [arg(loc, state) for arg in instr.args]
    prims, loc = _PRIM_OPS[instr.op][1](program, state, tid, instr, loc, args)
    return instr.next, _cleared(loc, instr.clear), state.shared, prims, state.output, state.threads


# -- Event, Condition, Barrier, Queue: (must wait?, run) per operation -----------------

def _never(program: Program, state: State, tid: int, instr: p.PrimOp) -> bool:
    return False


def _with_result(instr: p.PrimOp, loc: tuple, value: Any) -> tuple:
    return _set(loc, instr.result, value) if instr.result >= 0 else loc


def _holds_lock(program: Program, state: State, tid: int, slot: int) -> bool:
    """CPython's Condition._is_owned: an RLock must be ours; a Lock merely locked."""
    held = state.prims[slot]
    if program.primitives[slot].kind == "Lock":
        return held is not None
    return held is not None and held[0] == tid


def _event_wait_waits(program, state, tid, instr) -> bool:
    return not instr.timeout and not state.prims[instr.primitive]


def _event_set(program, state, tid, instr, loc, args):
    return _set(state.prims, instr.primitive, True), loc


def _event_clear(program, state, tid, instr, loc, args):
    return _set(state.prims, instr.primitive, False), loc


def _event_wait(program, state, tid, instr, loc, args):
    return state.prims, _with_result(instr, loc, state.prims[instr.primitive])


def _condition_wait(program, state, tid, instr, loc, args):
    """Release the lock (an RLock entirely, saving its depth) and join the waiters."""
    prim = program.primitives[instr.primitive]
    if not _holds_lock(program, state, tid, prim.lock):
        raise _Raise(RuntimeError, "cannot wait on un-acquired lock")
    held = state.prims[prim.lock]
    depth = held[1] if program.primitives[prim.lock].kind == "RLock" else 1
    prims = _set(_set(state.prims, prim.lock, None), instr.primitive, state.prims[instr.primitive] + (tid,))
    return prims, _set(loc, instr.saved, depth)


def _still_waiting(state: State, tid: int, instr: p.PrimOp, loc: tuple) -> bool:
    """Listed among the waiters, neither notified nor timed out yet."""
    return tid in state.prims[instr.primitive] and loc[instr.saved + 1] is not True


def _condition_wake_waits(program, state, tid, instr) -> bool:
    if _still_waiting(state, tid, instr, state.threads[tid][1]):
        return not instr.timeout  # with a timeout, the next step can be that it expires
    return not _can_acquire(program, state, tid, program.primitives[instr.primitive].lock)


def _condition_wake(program, state, tid, instr, loc, args):
    """Take the lock back; the wait returns False if it had timed out first."""
    prim = program.primitives[instr.primitive]
    waiters = tuple(t for t in state.prims[instr.primitive] if t != tid)
    lock_kind = program.primitives[prim.lock].kind
    owner = tid if lock_kind == "Lock" else (tid, loc[instr.saved])
    prims = _set(_set(state.prims, instr.primitive, waiters), prim.lock, owner)
    return prims, _with_result(instr, loc, loc[instr.saved + 1] is not True)


def _condition_notify(program, state, tid, instr, loc, args):
    prim = program.primitives[instr.primitive]
    if not _holds_lock(program, state, tid, prim.lock):
        raise _Raise(RuntimeError, "cannot notify on un-acquired lock")
    count = args[0]
    if not isinstance(count, int):
        raise TypeError(f"notify() count must be an int, not {type(count).__name__}")
    return _set(state.prims, instr.primitive, state.prims[instr.primitive][max(count, 0):]), loc


def _condition_notify_all(program, state, tid, instr, loc, args):
    return _condition_notify(program, state, tid, instr, loc, [len(state.prims[instr.primitive])])


def _barrier_wait(program, state, tid, instr, loc, args):
    """Arrive; the last of the parties to arrive releases everyone waiting."""
    waiting, broken = state.prims[instr.primitive]
    if broken:
        raise _Raise(threading.BrokenBarrierError, "")
    waiting = waiting + (tid,)
    if len(waiting) == program.primitives[instr.primitive].arg:
        waiting = ()
    return _set(state.prims, instr.primitive, (waiting, broken)), loc


def _barrier_pass_waits(program, state, tid, instr) -> bool:
    waiting, broken = state.prims[instr.primitive]
    return tid in waiting and not broken and not instr.timeout


def _barrier_pass(program, state, tid, instr, loc, args):
    waiting, broken = state.prims[instr.primitive]
    if broken or tid in waiting:  # aborted, or this wait timed out and broke the barrier
        raise _Raise(threading.BrokenBarrierError, "")
    return state.prims, loc


def _barrier_abort(program, state, tid, instr, loc, args):
    waiting, _ = state.prims[instr.primitive]
    return _set(state.prims, instr.primitive, (waiting, True)), loc


def _queue_full(program: Program, state: State, slot: int) -> bool:
    return 0 < program.primitives[slot].arg <= len(state.prims[slot])


def _queue_put_waits(program, state, tid, instr) -> bool:
    return not instr.timeout and _queue_full(program, state, instr.primitive)


def _queue_put(program, state, tid, instr, loc, args):
    if _queue_full(program, state, instr.primitive):
        raise _Raise(queue.Full, "")
    return _set(state.prims, instr.primitive, state.prims[instr.primitive] + (args[0],)), loc


def _queue_get_waits(program, state, tid, instr) -> bool:
    return not instr.timeout and not state.prims[instr.primitive]


def _queue_get(program, state, tid, instr, loc, args):
    items = state.prims[instr.primitive]
    if not items:
        raise _Raise(queue.Empty, "")
    return _set(state.prims, instr.primitive, items[1:]), _with_result(instr, loc, items[0])


_PRIM_OPS: dict[str, tuple[Callable[..., bool], Callable[..., tuple]]] = {
    "Event.set": (_never, _event_set),
    "Event.clear": (_never, _event_clear),
    "Event.wait": (_event_wait_waits, _event_wait),
    "Condition.wait": (_never, _condition_wait),
    "Condition.wake": (_condition_wake_waits, _condition_wake),
    "Condition.notify": (_never, _condition_notify),
    "Condition.notify_all": (_never, _condition_notify_all),
    "Barrier.wait": (_never, _barrier_wait),
    "Barrier.pass": (_barrier_pass_waits, _barrier_pass),
    "Barrier.abort": (_never, _barrier_abort),
    "Queue.put": (_queue_put_waits, _queue_put),
    "Queue.put_nowait": (_never, _queue_put),
    "Queue.get": (_queue_get_waits, _queue_get),
    "Queue.get_nowait": (_never, _queue_get),
}


def _start(program: Program, state: State, tid: int, instr: p.Start, loc: tuple) -> tuple:
    target = program.threads[instr.thread]
    if state.threads[instr.thread][0] != NEW:
        raise _Raise(RuntimeError, "threads can only be started once")
    threads = _set(state.threads, instr.thread, _settle(target, 0, target.initial_locals))
    return instr.next, loc, state.shared, state.prims, state.output, threads


def _join(program: Program, state: State, tid: int, instr: p.Join, loc: tuple) -> tuple:
    if state.threads[instr.thread][0] == NEW:
        raise _Raise(RuntimeError, "cannot join thread before it is started")
    return instr.next, loc, state.shared, state.prims, state.output, state.threads


_EXECUTE: dict[type, Callable[..., tuple]] = {
    p.Read: _read, p.SetLocal: _set_local, p.SetShared: _set_shared, p.SetItem: _set_item,
    p.Append: _append, p.Print: _print, p.Test: _test, p.Assert: _assert, p.Nop: _nop,
    p.Acquire: _acquire, p.Release: _release, p.Start: _start, p.Join: _join,
    p.Inspect: _inspect, p.PrimOp: _prim_op,
}


# -- what a step means for happens-before ----------------------------------------------
# The race search needs to know which steps order which threads. It asks here,
# so that only this module knows how the primitives' states are laid out.

class Sync(NamedTuple):
    """One thing a step did that orders it before or after other threads' steps.

    `what` says which, `slot` names the primitive (a thread for "started"
    and "joined"):
      acquired   took the Lock, RLock or Semaphore: an acquire, or a
                 Condition wake that takes its lock back
      released   gave it up: a release, or a Condition wait
      started    started the thread;  joined: joined the finished thread
      set        set the Event;  saw_set: a wait or is_set() found it set
      notified   a notify that woke `threads`, first come first
      woken      a Condition wake after a notify rather than a timeout
      arrived    arrived at the Barrier;  completed: the arrival completed
                 the round of the parties in `threads`;  passed: left it
      put        put an item into the Queue, at `position`
      got        got the head of the Queue
    """

    what: str
    slot: int
    threads: tuple[int, ...] = ()
    position: int = 0


def sync_effects(program: Program, before: State, tid: int, after: State) -> tuple[Sync, ...]:
    """What thread `tid`'s step from `before` to `after` did to order threads, in order.

    Read off the instruction and the states around the step, so nothing runs
    it again. A step after which the run ends (it raised, or a check failed)
    orders nothing: no step comes after it.
    """
    if after.fault is not None:
        return ()
    instr = current_instruction(program, before, tid)
    handler = _SYNC_EFFECTS.get(type(instr))
    effects = handler(program, instr, before, tid, after) if handler else ()
    return effects + _events_seen_set(program, instr, before)


def written_element(program: Program, before: State, tid: int, after: State) -> int | None:
    """The list element that thread `tid`'s `xs[i] = v` step writes, i counted from the front.

    None when the run ends at this step, as then the write may not have
    happened. The index is found as the step found it; a negative one counts
    from the end, as in CPython.
    """
    if after.fault is not None:
        return None
    instr = current_instruction(program, before, tid)
    index = instr.index(before.threads[tid][1], before)
    return index + len(before.shared[instr.variable]) if index < 0 else int(index)


def lock_wanted(program: Program, state: State, tid: int) -> int | None:
    """The lock or semaphore that thread `tid`'s next step takes, or None if it takes none.

    A Condition wait's waking step takes back the condition's lock, so a
    thread that stands there waits for that lock too, notified or not.
    """
    instr = current_instruction(program, state, tid)
    if isinstance(instr, p.Acquire):
        return instr.primitive
    if isinstance(instr, p.PrimOp) and instr.op == "Condition.wake":
        return program.primitives[instr.primitive].lock
    return None


def _events_seen_set(program: Program, instr: p.Instruction, before: State) -> tuple[Sync, ...]:
    """An `E.is_set()` that finds the event set orders like a wait that returns."""
    seen = ()
    for access in instr.accesses:
        if access.kind == "read":
            seen += tuple(Sync("saw_set", slot) for slot, prim in enumerate(program.primitives)
                          if prim.name == access.target and prim.kind == "Event" and before.prims[slot] is True)
    return seen


def _acquire_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    got = before.prims[instr.primitive] != after.prims[instr.primitive]  # not a try that timed out
    return (Sync("acquired", instr.primitive),) if got else ()


def _event_wait_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    return (Sync("saw_set", instr.primitive),) if before.prims[instr.primitive] is True else ()


def _condition_wait_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    return (Sync("released", program.primitives[instr.primitive].lock),)


def _condition_wake_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    if _still_waiting(before, tid, instr, before.threads[tid][1]):
        return ()  # only the timeout expired: the lock is not taken back yet
    effects = (Sync("acquired", program.primitives[instr.primitive].lock),)
    if tid not in before.prims[instr.primitive]:  # a notify took it off the waiters
        effects += (Sync("woken", instr.primitive),)
    return effects


def _condition_notify_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    waiters = before.prims[instr.primitive]
    woken = waiters[:len(waiters) - len(after.prims[instr.primitive])]
    return (Sync("notified", instr.primitive, woken),)


def _barrier_wait_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    effects = (Sync("arrived", instr.primitive),)
    if not after.prims[instr.primitive][0]:  # the last party: the round is complete
        parties = before.prims[instr.primitive][0] + (tid,)
        effects += (Sync("completed", instr.primitive, parties),)
    return effects


def _queue_put_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    return (Sync("put", instr.primitive, position=len(before.prims[instr.primitive])),)


def _prim_op_effects(program, instr, before, tid, after) -> tuple[Sync, ...]:
    handler = _PRIM_SYNC_EFFECTS.get(instr.op)
    return handler(program, instr, before, tid, after) if handler else ()


def _effect(what: str) -> Callable[..., tuple[Sync, ...]]:
    """A handler for a step that always does `what` to the primitive it names."""
    return lambda program, instr, before, tid, after: (Sync(what, instr.primitive),)


_PRIM_SYNC_EFFECTS: dict[str, Callable[..., tuple[Sync, ...]]] = {
    "Event.set": _effect("set"),
    "Event.wait": _event_wait_effects,
    "Condition.wait": _condition_wait_effects,
    "Condition.wake": _condition_wake_effects,
    "Condition.notify": _condition_notify_effects,
    "Condition.notify_all": _condition_notify_effects,
    "Barrier.wait": _barrier_wait_effects,
    "Barrier.pass": _effect("passed"),
    "Queue.put": _queue_put_effects,
    "Queue.put_nowait": _queue_put_effects,
    "Queue.get": _effect("got"),
    "Queue.get_nowait": _effect("got"),
}

_SYNC_EFFECTS: dict[type, Callable[..., tuple[Sync, ...]]] = {
    p.Acquire: _acquire_effects,
    p.Release: _effect("released"),
    p.Start: lambda program, instr, before, tid, after: (Sync("started", instr.thread),),
    p.Join: lambda program, instr, before, tid, after: (Sync("joined", instr.thread),),
    p.PrimOp: _prim_op_effects,
}


# -- renaming threads (symmetry reduction) ----------------------------------------

_OWNED = ("Lock", "RLock", "Condition", "Barrier")  # the primitives whose state names threads


def thread_refs(program: Program, prims: tuple) -> tuple:
    """Every thread the primitives' states name, in a fixed order: lock owners,
    condition waiters in line, threads waiting at a barrier. An owner-free
    primitive gives -1, so two states' lists compare position by position."""
    refs: list[int] = []
    for prim, held in zip(program.primitives, prims):
        kind = prim.kind
        if kind not in _OWNED:
            continue
        if kind == "Condition":
            refs.extend(held)
            refs.append(-1)
        elif kind == "Barrier":
            refs.extend(held[0])
            refs.append(-1)
        else:
            refs.append(-1 if held is None else _owner(held))
    return tuple(refs)


def renamed(program: Program, state: State, mapping: tuple[int, ...]) -> State:
    """The same situation with the threads renumbered: thread i becomes thread mapping[i].

    Its (pc, locals) moves to position mapping[i], and every mention of a
    thread in the primitives and in a fault's message follows it. Used by
    symmetry reduction on threads whose code and start are alike.
    """
    threads = [None] * len(mapping)
    for old, new in enumerate(mapping):
        threads[new] = state.threads[old]
    prims = tuple(_renamed_prim(prim.kind, held, mapping) if prim.kind in _OWNED else held
                  for prim, held in zip(program.primitives, state.prims))
    return State(tuple(threads), state.shared, prims, state.output, _renamed_fault(program, state.fault, mapping))


def _renamed_prim(kind: str, held: Any, mapping: tuple[int, ...]) -> Any:
    if kind == "Condition":
        return tuple(mapping[tid] for tid in held)
    if kind == "Barrier":
        return (tuple(mapping[tid] for tid in held[0]), held[1])
    if held is None:
        return None
    return mapping[held] if kind == "Lock" else (mapping[held[0]], held[1])


def fault_thread(program: Program, fault: tuple | None) -> int | None:
    """The thread whose step raised or failed an assert, as its message names it; None for others."""
    if fault is None or fault[1] is None:
        return None
    for tid, thread in enumerate(program.threads):
        if fault[1].startswith(f"{thread.name}, line "):
            return tid
    return None


def _renamed_fault(program: Program, fault: tuple | None, mapping: tuple[int, ...]) -> tuple | None:
    tid = fault_thread(program, fault)
    if tid is None or mapping[tid] == tid:
        return fault
    old, new = program.threads[tid].name, program.threads[mapping[tid]].name
    return (fault[0], new + fault[1][len(old):])
