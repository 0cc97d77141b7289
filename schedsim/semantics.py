"""Stage 3: what one step does. The only place steps are executed.

`step(program, state, thread)` is a pure function from a state and a
runnable thread to the next state. Explorers, the sampler, the replayer and
the cross-check all call it; none of them copies any part of it.

A `State` is a small immutable tuple: per thread its pc and locals, the
shared values, the primitives' states, the printed lines, and a fault (the
failed check or the error that ended the run). Whether a thread is blocked,
whether the program has finished or deadlocked is derived from those, never
stored, so equal situations are equal states.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from . import program as p
from .program import DONE, NEW, UNSET, Program


class State(NamedTuple):
    threads: tuple   # per thread: (pc, locals); pc is NEW or DONE or an index into its code
    shared: tuple    # shared variables, in declaration order
    prims: tuple     # per primitive: Lock: owner or None; RLock: (owner, count) or None
    output: tuple    # the lines printed so far
    fault: tuple | None = None  # (status, message): "violation" or "error"


FINISHED, DEADLOCK, VIOLATION, ERROR = "finished", "deadlock", "violation", "error"
STATUSES = (FINISHED, DEADLOCK, VIOLATION, ERROR)

# Exceptions that a thread body can raise: they end the run with status "error".
RUNTIME_ERRORS = (ArithmeticError, TypeError, ValueError, LookupError, NameError, RuntimeError)


class _Raise(Exception):
    """A Python exception that the modelled program raises, with CPython's message."""

    def __init__(self, kind: type, message: str):
        super().__init__(message)
        self.kind = kind


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
    return _checked(program, state, finished=_finished(program, state))


def _initial_prims(program: Program) -> tuple:
    return tuple(None for _ in program.primitives)


def runnable(program: Program, state: State) -> tuple[int, ...]:
    """The threads that can take the next step, in scenario order; () at an end."""
    if state.fault is not None:
        return ()
    result = []
    alive = False
    for tid, (pc, _) in enumerate(state.threads):
        if pc < 0:
            continue
        thread = program.threads[tid]
        alive = alive or not thread.daemon
        instr = thread.code[pc]
        if instr.blocking and _waits(program, state, tid, instr):
            continue
        result.append(tid)
    return tuple(result) if alive else ()


def status(program: Program, state: State) -> str | None:
    """How a run that is in `state` has ended, or None if it goes on."""
    if state.fault is not None:
        return state.fault[0]
    if _finished(program, state):
        return FINISHED
    if not runnable(program, state):
        return DEADLOCK
    return None


def step(program: Program, state: State, tid: int) -> State:
    """The state after thread `tid` takes its next step. `tid` must be runnable."""
    thread = program.threads[tid]
    pc, loc = state.threads[tid]
    instr = thread.code[pc]
    try:
        new = _EXECUTE[type(instr)](program, state, tid, instr, loc)
    except _Raise as exc:
        return state._replace(fault=_fault(ERROR, thread, instr, f"{exc.kind.__name__}: {exc}"))
    except AssertionError as exc:
        return state._replace(fault=_fault(VIOLATION, thread, instr, f"assertion failed: {instr.text}" + (f" ({exc})" if str(exc) else "")))
    except RUNTIME_ERRORS as exc:
        return state._replace(fault=_fault(ERROR, thread, instr, f"{type(exc).__name__}: {exc}"))
    finished = new.threads[tid][0] == DONE and not thread.daemon and _finished(program, new)
    return _checked(program, new, finished)


def current_instruction(program: Program, state: State, tid: int) -> p.Instruction | None:
    """The instruction thread `tid` will run next, or None if it has none."""
    pc = state.threads[tid][0]
    return program.threads[tid].code[pc] if pc >= 0 else None


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
        owner = _owner(state.prims[instr.primitive])
        held = f" (held by {program.threads[owner].name})" if owner is not None else ""
        return f"waits to acquire {prim.name}{held} at line {instr.line}"
    if isinstance(instr, p.Join):
        return f"waits to join {program.threads[instr.thread].name} at line {instr.line}"
    return f"is about to run line {instr.line}"


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
    checks = program.always_checks + (program.final_checks if finished else ())
    for check in checks:
        kind = "final" if check in program.final_checks and finished else "always"
        try:
            holds = check.condition((), state.shared)
        except RUNTIME_ERRORS as exc:
            return state._replace(fault=(ERROR, f"check {check.text!r} (line {check.line}) raised {type(exc).__name__}: {exc}"))
        if not holds:
            return state._replace(fault=(VIOLATION, f"{kind} check failed: {check.text} (line {check.line})"))
    return state


def _waits(program: Program, state: State, tid: int, instr: p.Instruction) -> bool:
    if isinstance(instr, p.Acquire):
        held = state.prims[instr.primitive]
        if held is None:
            return False
        return program.primitives[instr.primitive].kind == "Lock" or held[0] != tid
    return state.threads[instr.thread][0] >= 0  # join: the target is still running


def _owner(prim_state: Any) -> int | None:
    if prim_state is None:
        return None
    return prim_state if isinstance(prim_state, int) else prim_state[0]


# -- moving a thread ------------------------------------------------------------

def _settle(thread: p.ThreadProgram, pc: int, loc: tuple) -> tuple[int, tuple]:
    """Run the silent `for` bookkeeping until the thread stands at a real step."""
    code = thread.code
    while pc >= 0 and code[pc].silent:
        instr = code[pc]
        if isinstance(instr, p.ForInit):
            numbers = range(instr.start(loc, ()), instr.stop(loc, ()), instr.step(loc, ()))
            loc = _with_slots(loc, {instr.counter: numbers.start, instr.counter + 1: numbers.stop,
                                    instr.counter + 2: numbers.step}, instr.clear)
            pc = instr.next
        else:  # ForIter
            current, stop, stride = loc[instr.counter:instr.counter + 3]
            if (stride > 0 and current < stop) or (stride < 0 and current > stop):
                loc = _with_slots(loc, {instr.variable: current, instr.counter: current + stride})
                pc = instr.next
            else:
                loc = _with_slots(loc, {}, (instr.counter, instr.counter + 1, instr.counter + 2))
                pc = instr.exit
    if pc == DONE:
        return DONE, ()  # a finished thread's locals are gone, so its ends merge
    return pc, loc


def _with_slots(loc: tuple, updates: dict[int, Any], clear: tuple[int, ...] = ()) -> tuple:
    slots = list(loc)
    for slot in clear:
        slots[slot] = UNSET
    for slot, value in updates.items():
        slots[slot] = value
    return tuple(slots)


def _moved(program: Program, state: State, tid: int, pc: int, loc: tuple, **changes: Any) -> State:
    threads = list(state.threads)
    threads[tid] = _settle(program.threads[tid], pc, loc)
    return state._replace(threads=tuple(threads), **changes)


# -- one handler per instruction kind ---------------------------------------------

def _read(program: Program, state: State, tid: int, instr: p.Read, loc: tuple) -> State:
    return _moved(program, state, tid, instr.next, _with_slots(loc, {instr.temp: state.shared[instr.variable]}))


def _set_local(program: Program, state: State, tid: int, instr: p.SetLocal, loc: tuple) -> State:
    value = instr.value(loc, state.shared)
    return _moved(program, state, tid, instr.next, _with_slots(loc, {instr.slot: value}, instr.clear))


def _set_shared(program: Program, state: State, tid: int, instr: p.SetShared, loc: tuple) -> State:
    return _write(program, state, tid, instr, loc, instr.value(loc, state.shared))


def _set_item(program: Program, state: State, tid: int, instr: p.SetItem, loc: tuple) -> State:
    value = instr.value(loc, state.shared)
    index = instr.index(loc, state.shared)
    return _write(program, state, tid, instr, loc, _as_list(state.shared[instr.variable]).replaced(index, value))


def _append(program: Program, state: State, tid: int, instr: p.Append, loc: tuple) -> State:
    value = instr.value(loc, state.shared)
    return _write(program, state, tid, instr, loc, _as_list(state.shared[instr.variable]).appended(value))


def _as_list(value: Any) -> Any:
    if not hasattr(value, "replaced"):
        raise TypeError(f"'{type(value).__name__}' object does not support item assignment")
    return value


def _write(program: Program, state: State, tid: int, instr: Any, loc: tuple, value: Any) -> State:
    shared = list(state.shared)
    shared[instr.variable] = value
    return _moved(program, state, tid, instr.next, _with_slots(loc, {}, instr.clear), shared=tuple(shared))


def _print(program: Program, state: State, tid: int, instr: p.Print, loc: tuple) -> State:
    sep = " " if instr.sep is None else instr.sep(loc, state.shared)
    if not isinstance(sep, str):
        raise TypeError(f"sep must be None or a string, not {type(sep).__name__}")
    line = sep.join(str(arg(loc, state.shared)) for arg in instr.args)
    return _moved(program, state, tid, instr.next, _with_slots(loc, {}, instr.clear), output=state.output + (line,))


def _test(program: Program, state: State, tid: int, instr: p.Test, loc: tuple) -> State:
    target = instr.next if instr.condition(loc, state.shared) else instr.orelse
    return _moved(program, state, tid, target, _with_slots(loc, {}, instr.clear))


def _assert(program: Program, state: State, tid: int, instr: p.Assert, loc: tuple) -> State:
    if not instr.condition(loc, state.shared):
        message = instr.message(loc, state.shared) if instr.message is not None else ""
        raise AssertionError(message)
    return _moved(program, state, tid, instr.next, _with_slots(loc, {}, instr.clear))


def _nop(program: Program, state: State, tid: int, instr: p.Nop, loc: tuple) -> State:
    return _moved(program, state, tid, instr.next, loc)


def _acquire(program: Program, state: State, tid: int, instr: p.Acquire, loc: tuple) -> State:
    held = state.prims[instr.primitive]
    if program.primitives[instr.primitive].kind == "Lock":
        new = tid
    else:
        new = (tid, 1 if held is None else held[1] + 1)
    return _moved(program, state, tid, instr.next, loc, prims=_with_prim(state, instr.primitive, new))


def _release(program: Program, state: State, tid: int, instr: p.Release, loc: tuple) -> State:
    held = state.prims[instr.primitive]
    if program.primitives[instr.primitive].kind == "Lock":
        if held is None:
            raise _Raise(RuntimeError, "release unlocked lock")
        new = None
    else:
        if held is None or held[0] != tid:
            raise _Raise(RuntimeError, "cannot release un-acquired lock")
        new = None if held[1] == 1 else (tid, held[1] - 1)
    return _moved(program, state, tid, instr.next, loc, prims=_with_prim(state, instr.primitive, new))


def _with_prim(state: State, slot: int, value: Any) -> tuple:
    prims = list(state.prims)
    prims[slot] = value
    return tuple(prims)


def _start(program: Program, state: State, tid: int, instr: p.Start, loc: tuple) -> State:
    target = program.threads[instr.thread]
    if state.threads[instr.thread][0] != NEW:
        raise _Raise(RuntimeError, "threads can only be started once")
    threads = list(state.threads)
    threads[instr.thread] = _settle(target, 0, target.initial_locals)
    return _moved(program, state._replace(threads=tuple(threads)), tid, instr.next, loc)


def _join(program: Program, state: State, tid: int, instr: p.Join, loc: tuple) -> State:
    if state.threads[instr.thread][0] == NEW:
        raise _Raise(RuntimeError, "cannot join thread before it is started")
    return _moved(program, state, tid, instr.next, loc)


_EXECUTE: dict[type, Callable[..., State]] = {
    p.Read: _read, p.SetLocal: _set_local, p.SetShared: _set_shared, p.SetItem: _set_item,
    p.Append: _append, p.Print: _print, p.Test: _test, p.Assert: _assert, p.Nop: _nop,
    p.Acquire: _acquire, p.Release: _release, p.Start: _start, p.Join: _join,
}
