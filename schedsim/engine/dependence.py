"""What one thread's steps can do to another's: the static facts behind `--reduce por`.

Read off the compiled program once, per thread and pc:

- the objects a step touches (`Touch`): shared variables, primitives (a
  Condition's steps touch its lock too), threads (start and join), the
  output, and the interpreter's exit (which cuts off every daemon thread);
  a step only reads an object or also changes it;
- whether a step is *visible*: it writes a shared variable or prints, the
  parts of a state that an outcome shows;
- whether a step *may fault*: end the run with an error or a violation.
  An `assert`, a write to a variable an `always` check reads, and any
  expression that the whitelist below does not prove harmless may fault;
- a thread's *future* from a pc: the union of the above over every step it
  can still take, the code of every thread it can start included.

Two steps of different threads are dependent when they touch one object
and one of them changes it, or when one may fault and the other is visible:
a fault ends the run, and the outcome shows the shared values of that
moment, so a visible step before or after it makes two outcomes.

An expression is proved harmless only in a *numeric* program (every shared
variable starts as an int, bool or float, no lists, no queues, and every
value written is such an expression): names that are surely assigned,
number constants, + - *, comparisons, `and`, `or`, `not`, `x if c else y`.
Those never raise on numbers; they could only past `limits.Bounds`
(an int of more than 10,000 bits, or a float overflow from one), which a
model reaches only by growing a number without end: that case is assumed
away, and the README says so.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

from . import program as p
from .program import DONE, UNSET, Program

EXIT = "exit"      # the interpreter's exit, which daemon threads' steps depend on
OUTPUT = "output"  # what print writes


@dataclass(frozen=True, slots=True)
class Touch:
    """What a step, or a thread's whole future, touches and may do."""

    reads: frozenset = frozenset()
    writes: frozenset = frozenset()
    visible: bool = False
    may_fault: bool = False

    def conflicts(self, other: "Touch") -> bool:
        """Whether a step that does `self` and one that does `other` are dependent."""
        return (bool(self.writes & other.writes) or bool(self.writes & other.reads) or bool(self.reads & other.writes)
                or (self.may_fault and other.visible) or (self.visible and other.may_fault))

    def __or__(self, other: "Touch") -> "Touch":
        return Touch(self.reads | other.reads, self.writes | other.writes,
                     self.visible or other.visible, self.may_fault or other.may_fault)


NOTHING = Touch()
_EXIT_STEP = Touch(writes=frozenset({EXIT}))

_SAFE_NODES = (ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.While, ast.Pass, ast.Name, ast.Load,
               ast.Store, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.UnaryOp, ast.USub, ast.UAdd, ast.Not,
               ast.BoolOp, ast.And, ast.Or, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
               ast.Is, ast.IsNot, ast.IfExp, ast.Constant)
_NUMBERS = (int, float)  # bool is an int
_READ_ONLY_OPS = {"Event.wait"}
_HARMLESS_OPS = {"Event.set", "Event.clear", "Event.wait"}


class Dependence:
    """The static facts of one program, looked up by (thread, pc) during the search."""

    def __init__(self, program: Program):
        self.program = program
        self.daemons = any(thread.daemon for thread in program.threads)
        self.main = next((tid for tid, thread in enumerate(program.threads) if not thread.daemon), None)
        self.checked = _checked_names(program)
        self.numeric = _numeric(program)
        self.steps = [tuple(self._touch(tid, pc) for pc in range(len(thread.code)))
                      for tid, thread in enumerate(program.threads)]
        whole = self._whole_threads()
        self.futures = [self._futures(tid, whole) for tid in range(len(program.threads))]

    def step(self, tid: int, pc: int) -> Touch:
        """What thread `tid`'s step at `pc` touches; pc DONE is the main thread's exit step."""
        return _EXIT_STEP if pc == DONE else self.steps[tid][pc]

    def future(self, tid: int, pc: int) -> Touch:
        """Everything thread `tid` may still do from `pc` (NOTHING for a thread that has ended)."""
        if pc >= 0:
            return self.futures[tid][pc]
        if pc == DONE and tid == self.main and self.daemons:
            return _EXIT_STEP
        return NOTHING

    # -- one step ---------------------------------------------------------------

    def _touch(self, tid: int, pc: int) -> Touch:
        thread = self.program.threads[tid]
        instr = thread.code[pc]
        reads, writes = self._objects(instr)
        if thread.daemon:
            reads = reads | {EXIT}
        visible = isinstance(instr, (p.SetShared, p.SetItem, p.Append, p.Print))
        may_fault = self._may_fault(tid, pc, instr) or (not instr.silent and _bookkeeping_may_fault(thread, pc))
        return Touch(frozenset(reads), frozenset(writes), visible, may_fault)

    def _objects(self, instr: p.Instruction) -> tuple[set, set]:
        reads, writes = set(), set()
        for access in instr.accesses:
            if access.kind == "read":
                reads.add(_object(self.program, access.target))
            elif access.kind == "print":
                writes.add(OUTPUT)
            elif access.kind == "write":
                writes.add(f"v:{access.target}")
        if isinstance(instr, (p.Acquire, p.Release)):
            writes.add(f"p:{instr.primitive}")
        elif isinstance(instr, p.Inspect):
            reads.add(f"p:{instr.primitive}")
        elif isinstance(instr, p.PrimOp):
            (reads if instr.op in _READ_ONLY_OPS else writes).add(f"p:{instr.primitive}")
            lock = self.program.primitives[instr.primitive].lock
            if instr.op.startswith("Condition.") and lock >= 0:
                writes.add(f"p:{lock}")
        elif isinstance(instr, p.Start):
            writes.add(f"t:{instr.thread}")
        elif isinstance(instr, p.Join):
            reads.add(f"t:{instr.thread}")
        return reads, writes

    def _may_fault(self, tid: int, pc: int, instr: p.Instruction) -> bool:
        """False only where the step surely neither raises nor fails a check."""
        if isinstance(instr, (p.Read, p.Inspect, p.Nop, p.Acquire, p.ForIter, p.Jump)):
            return False
        if isinstance(instr, p.Release):
            return not instr.text.startswith("with ")  # a `with` block releases what it holds
        if isinstance(instr, p.PrimOp):
            return instr.op not in _HARMLESS_OPS
        if isinstance(instr, p.ForInit):
            return not _constant_range(instr.text)
        if isinstance(instr, (p.SetShared, p.SetItem, p.Append)) and self.checked & _written(self.program, instr):
            return True
        if isinstance(instr, (p.SetLocal, p.SetShared, p.Test, p.Print)):
            return not (self.numeric and self._harmless(tid, pc, instr))
        return True  # Assert, SetItem, Append, Start, Join: each can raise

    def _harmless(self, tid: int, pc: int, instr: p.Instruction) -> bool:
        names = _harmless_names(instr.text, printing=isinstance(instr, p.Print))
        if names is None:
            return False
        thread = self.program.threads[tid]
        assigned = self._assigned[tid][pc]
        for name in names:
            if name in thread.local_names:
                if assigned is None or thread.local_names.index(name) not in assigned:
                    return False
            elif name not in self.program.shared_names:
                return False
        return True

    @cached_property
    def _assigned(self) -> list[list[frozenset | None]]:
        return [_definitely_assigned(thread) for thread in self.program.threads]

    # -- a thread's future ---------------------------------------------------------

    def _futures(self, tid: int, whole: list[Touch]) -> tuple[Touch, ...]:
        thread = self.program.threads[tid]
        exit_step = _EXIT_STEP if tid == self.main and self.daemons else NOTHING
        futures = []
        for pc in range(len(thread.code)):
            total = exit_step
            for reached in _reachable(thread, pc):
                total = total | self.steps[tid][reached]
                instr = thread.code[reached]
                if isinstance(instr, p.Start):
                    total = total | whole[instr.thread]
            futures.append(total)
        return tuple(futures)

    @cached_property
    def _started(self) -> list[set[int]]:
        """The threads each thread can start, directly or through the threads it starts."""
        direct = [{instr.thread for instr in thread.code if isinstance(instr, p.Start)} for thread in self.program.threads]
        closure = [set(targets) for targets in direct]
        changed = True
        while changed:
            changed = False
            for targets in closure:
                more = set().union(*(direct[target] for target in targets)) - targets
                if more:
                    targets |= more
                    changed = True
        return closure

    def _whole_threads(self) -> list[Touch]:
        """Everything each thread does from its first step, with the threads it starts."""
        own = []
        for tid, thread in enumerate(self.program.threads):
            total = NOTHING
            for touch in self.steps[tid]:
                total = total | touch
            own.append(total)
        whole = []
        for tid in range(len(self.program.threads)):
            total = own[tid]
            for target in self._started[tid]:
                total = total | own[target]
            whole.append(total)
        return whole


def _object(program: Program, name: str) -> str:
    """The object a read names: a shared variable, or a primitive queried (E.is_set())."""
    if name in program.shared_names:
        return f"v:{name}"
    for slot, prim in enumerate(program.primitives):
        if prim.name == name:
            return f"p:{slot}"
    return f"v:{name}"


def _written(program: Program, instr: p.Instruction) -> set[str]:
    return {program.shared_names[instr.variable]}


def _checked_names(program: Program) -> set[str]:
    """The shared variables that some `always` check reads (all of them where a check does not parse)."""
    names: set[str] = set()
    for check in program.always_checks:
        try:
            tree = ast.parse(check.text, mode="eval")
        except SyntaxError:
            return set(program.shared_names)
        names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return names


def _numeric(program: Program) -> bool:
    """Whether every value the program can hold is a number (so + - * and comparisons never raise)."""
    if any(prim.kind == "Queue" for prim in program.primitives):
        return False
    if not all(isinstance(value, _NUMBERS) for value in program.initial_shared):
        return False
    for thread in program.threads:
        if not all(value is UNSET or isinstance(value, _NUMBERS) for value in thread.initial_locals):
            return False
        for instr in thread.code:
            if isinstance(instr, (p.SetItem, p.Append)):
                return False
            if isinstance(instr, (p.SetLocal, p.SetShared)) and _harmless_names(instr.text, printing=False) is None:
                return False
    return True


def _harmless_names(text: str, printing: bool) -> set[str] | None:
    """The names a statement reads, if it is built only of what cannot raise on numbers; else None.

    `text` is the statement as written (the header of an `if` or `while`).
    A print may also hold string constants.
    """
    tree = _parse(text)
    if tree is None:
        return None
    names = set()
    for node in ast.walk(tree):
        if printing and isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id == "print" and not node.keywords):
                return None
            continue
        if not isinstance(node, _SAFE_NODES):
            return None
        if isinstance(node, ast.Constant) and not isinstance(node.value, _NUMBERS) \
                and not (printing and isinstance(node.value, str)):
            return None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if not (printing and node.id == "print"):
                names.add(node.id)
    return names


def _parse(text: str) -> ast.Module | None:
    for source in (text, text + " pass"):
        try:
            return ast.parse(source)
        except SyntaxError:
            continue
    return None


def _constant_range(text: str) -> bool:
    """`for v in range(<int constants>):`, whose bookkeeping cannot raise."""
    tree = _parse(text)
    if tree is None or not tree.body or not isinstance(tree.body[0], ast.For):
        return False
    call = tree.body[0].iter
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "range"
            and not call.keywords and 1 <= len(call.args) <= 3
            and all(isinstance(arg, ast.Constant) and type(arg.value) is int for arg in call.args))


def _bookkeeping_may_fault(thread: p.ThreadProgram, pc: int) -> bool:
    """Whether the silent `for` bookkeeping that runs at the end of the step at `pc` may raise.

    A range of non-constant bounds may be no range at all, and a loop whose
    body is silent too may run past `limits.Bounds.max_silent_rounds`.
    """
    seen: set[int] = set()
    stack = [target for target in _successors(thread.code[pc]) if thread.code[target].silent]
    while stack:
        current = stack.pop()
        if current in seen:
            return True  # a cycle of silent bookkeeping
        seen.add(current)
        instr = thread.code[current]
        if isinstance(instr, p.ForInit) and not _constant_range(instr.text):
            return True
        stack.extend(target for target in _successors(instr) if thread.code[target].silent)
    return False


def _successors(instr: p.Instruction) -> list[int]:
    targets = [instr.next]
    if isinstance(instr, p.Test):
        targets.append(instr.orelse)
    elif isinstance(instr, p.ForIter):
        targets.append(instr.exit)
    return [target for target in targets if target >= 0]


def _reachable(thread: p.ThreadProgram, pc: int) -> set[int]:
    """The pcs a thread standing at `pc` can still run, `pc` included."""
    seen = {pc}
    stack = [pc]
    while stack:
        for target in _successors(thread.code[stack.pop()]):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _definitely_assigned(thread: p.ThreadProgram) -> list[frozenset | None]:
    """Per pc, the local slots assigned on every path from the start to it (None: unreachable)."""
    code = thread.code
    facts: list[frozenset | None] = [None] * len(code)
    if not code:
        return facts
    facts[0] = frozenset(slot for slot, value in enumerate(thread.initial_locals) if value is not UNSET)
    work = [0]
    while work:
        pc = work.pop()
        instr = code[pc]
        for target, after in _assigned_after(instr, facts[pc]):
            if target < 0:
                continue
            merged = after if facts[target] is None else facts[target] & after
            if merged != facts[target]:
                facts[target] = merged
                work.append(target)
    return facts


def _assigned_after(instr: p.Instruction, before: frozenset) -> list[tuple[int, frozenset]]:
    """(successor pc, slots surely assigned there) for each way out of `instr`."""
    after = before - set(instr.clear)
    if isinstance(instr, p.ForInit):
        after = after | {instr.counter, instr.counter + 1, instr.counter + 2}
    elif isinstance(instr, p.ForIter):
        counters = {instr.counter, instr.counter + 1, instr.counter + 2}
        return [(instr.next, after | {instr.variable}), (instr.exit, after - counters)]
    for field in ("slot", "temp", "store", "result"):
        slot = getattr(instr, field, -1)
        if isinstance(slot, int) and slot >= 0:
            after = after | {slot}
    return [(target, frozenset(after)) for target in _successors(instr)] or [(DONE, frozenset(after))]
