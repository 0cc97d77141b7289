"""Stage 2: a validated `Scenario` compiled into a `Program`.

Each simple statement becomes as many steps as it has accesses to shared
objects (at least one), in Python's evaluation order: `x = x + 1` is a read
of x, then a write of x; `a = x + y` reads x into a temp, then reads y and
sets a. Compound statements compile to tests and resolved jumps. Statement
handlers are dispatched by node type name, one small method per kind.
"""
from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import replace
from typing import Any, Callable

from . import program as p
from ..errors import ScenarioError
from ..limits import DEFAULT_BOUNDS
from .expressions import BINARY, BUILTINS, compile_expression, unsupported
from ..frontends.scenario import Scenario, ThreadSpec


def compile_scenario(scenario: Scenario, steps: str = p.STATEMENT) -> p.Program:
    """Compile every thread body and check of a scenario, into steps of the mode `steps` (see `with_steps`)."""
    names = _Names(scenario)
    threads = []
    starts: dict[str, tuple[str, int]] = {}
    for spec in scenario.threads:
        try:
            threads.append(_ThreadCompiler(spec, names, starts).compile())
        except ScenarioError as exc:
            raise _located(exc, scenario.file, spec) from None
    threads = [replace(thread, starts_running=thread.name not in starts) for thread in threads]
    if not any(thread.starts_running and not thread.daemon for thread in threads):
        raise ScenarioError("no non-daemon thread runs at the start (each is started by another thread, "
                            "or is a daemon), so the program would end before its first step", file=scenario.file)
    return with_steps(p.Program(
        name=scenario.name,
        description=scenario.description,
        file=scenario.file,
        shared_names=tuple(name for name, _ in scenario.shared),
        initial_shared=tuple(value for _, value in scenario.shared),
        primitives=names.primitives,
        threads=tuple(threads),
        final_checks=tuple(_check(check, names, scenario.file) for check in scenario.final_checks),
        always_checks=tuple(_check(check, names, scenario.file) for check in scenario.always_checks),
    ), steps)


# The instructions a step in shared mode may run on through, when they touch no shared object.
# Read, the writes, Print, Inspect, the primitives, Start and Join are all seen by other threads.
LOCAL_KINDS = (p.SetLocal, p.Test, p.Assert, p.Nop)


def with_steps(program: p.Program, steps: str) -> p.Program:
    """The same program with steps of another mode, "statement" or "shared" (`semantics.step` says how
    a shared step runs); a ScenarioError names the modes for any other word."""
    if steps not in p.STEP_MODES:
        raise ScenarioError(f"--steps must be {' or '.join(p.STEP_MODES)}, not {steps!r}", file=program.file)
    threads = tuple(replace(thread, local_only=_local_only(thread) if steps == p.SHARED else ())
                    for thread in program.threads)
    return replace(program, threads=threads, steps=steps)


def _local_only(thread: p.ThreadProgram) -> tuple[bool, ...]:
    """Per pc: does the instruction touch nothing but the thread's own locals (no shared variable,
    primitive, output, start or join, and it never blocks)?"""
    return tuple(isinstance(instr, LOCAL_KINDS) and not instr.accesses and not instr.blocking
                 for instr in thread.code)


def node_key(node: ast.AST) -> tuple | None:
    """Where a syntax node stands in its body (None for one without a place, such as `+`).

    The export parses the same text again, so this key finds, in its own
    tree, the nodes the compiler validated.
    """
    if getattr(node, "col_offset", None) is None or getattr(node, "end_col_offset", None) is None:
        return None
    return type(node).__name__, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset


def _keys(node: ast.AST) -> frozenset:
    return frozenset(key for part in ast.walk(node) if (key := node_key(part)) is not None)


def parse_code(source: str, mode: str) -> ast.AST:
    """A body or check parsed, refused if Python's parser or the compiler's recursion could not take it."""
    try:
        with warnings.catch_warnings():  # "<unknown>:3: SyntaxWarning" on stderr would name no file
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScenarioError(f"syntax error: {exc.msg}", line=exc.lineno or 0) from None
    except (RecursionError, MemoryError):  # the parser's own stack, on thousands of nested operators
        raise ScenarioError("the code is nested too deeply for Python's parser") from None
    except ValueError as exc:  # a NUL character
        raise ScenarioError(f"syntax error: {exc}") from None
    _check_depth(tree)
    return tree


def _check_depth(tree: ast.AST) -> None:
    """Refuse syntax nested deeper than `Bounds.max_syntax_depth`, without recursing."""
    limit = DEFAULT_BOUNDS.max_syntax_depth
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise unsupported(node, f"the code is nested more than {limit} deep (an expression inside an "
                              "expression, a block inside a block)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _located(exc: ScenarioError, file: str, spec: ThreadSpec) -> ScenarioError:
    line = spec.file_line(exc.line) if exc.line else spec.first_line
    return ScenarioError(exc.message, file=file, thread=spec.name, line=line)


class _Names:
    """What each global name of the scenario is: shared variable, primitive or thread."""

    def __init__(self, scenario: Scenario):
        self.shared = {name: slot for slot, (name, _) in enumerate(scenario.shared)}
        self.primitives = _primitives(scenario)
        self.primitive_slots = {prim.name: slot for slot, prim in enumerate(self.primitives)}
        self.threads = {spec.name: index for index, spec in enumerate(scenario.threads)}

    def primitive(self, name: str) -> tuple[int, p.Primitive]:
        slot = self.primitive_slots[name]
        return slot, self.primitives[slot]

    def misuse(self, name: str) -> str | None:
        """Why `name` cannot be used as a value, if it is a primitive or a thread."""
        if name in self.primitive_slots:
            kind = self.primitives[self.primitive_slots[name]].kind
            return f"{name} is a {kind}: call its methods, as in {name}.{_EXAMPLE_METHOD[kind]}()"
        if name in self.threads:
            return f"{name} is a thread: only {name}.start() and {name}.join() are supported"
        return None


_EXAMPLE_METHOD = {
    "Lock": "acquire", "RLock": "acquire", "Semaphore": "acquire", "BoundedSemaphore": "acquire",
    "Event": "wait", "Condition": "wait", "Barrier": "wait", "Queue": "get",
}
LOCK_LIKE = ("Lock", "RLock", "Semaphore", "BoundedSemaphore")

# Queries that read a primitive without changing it: one read step each.
QUERIES: dict[tuple[str, str], Callable[[p.Primitive], Callable[[Any], Any]]] = {
    ("Lock", "locked"): lambda prim: lambda held: held is not None,
    ("Event", "is_set"): lambda prim: lambda flag: flag,
    ("Queue", "qsize"): lambda prim: len,
    ("Queue", "empty"): lambda prim: lambda items: not items,
    ("Queue", "full"): lambda prim: lambda items: 0 < prim.arg <= len(items),
}

# The parameters of each primitive method, in CPython's order.
SIGNATURES = {
    "acquire": ("blocking", "timeout"), "wait": ("timeout",), "wait_for": ("predicate", "timeout"),
    "notify": ("n",), "get": ("block", "timeout"), "put": ("item", "block", "timeout"),
    "put_nowait": ("item",),
}


def _primitives(scenario: Scenario) -> tuple[p.Primitive, ...]:
    """Every primitive in declaration order; a Condition over no lock gets its own RLock."""
    prims = [p.Primitive(name, "Lock") for name in scenario.locks]
    prims += [p.Primitive(name, "RLock") for name in scenario.rlocks]
    prims += [p.Primitive(name, "Semaphore", value) for name, value in scenario.semaphores]
    prims += [p.Primitive(name, "BoundedSemaphore", value) for name, value in scenario.bounded_semaphores]
    prims += [p.Primitive(name, "Event") for name in scenario.events]
    prims += [p.Primitive(name, "Barrier", parties) for name, parties in scenario.barriers]
    prims += [p.Primitive(name, "Queue", maxsize) for name, maxsize in scenario.queues]
    for name, lock in scenario.conditions:
        if lock is None:
            lock = f"{name}.lock"
            prims.append(p.Primitive(lock, "RLock"))
        slot = next(i for i, prim in enumerate(prims) if prim.name == lock)
        prims.append(p.Primitive(name, "Condition", lock=slot))
    return tuple(prims)


def _check(check: Any, names: _Names, file: str) -> p.Check:
    """Compile a `checks:` expression; it may name shared variables only."""
    try:
        tree = parse_code(check.text.strip(), "eval")
    except ScenarioError as exc:
        raise ScenarioError(f"invalid check {check.text!r}: {exc.message}", file=file, line=check.line) from None

    def load(node: ast.expr) -> p.Expr:
        if isinstance(node, ast.Name) and node.id in names.shared:
            slot = names.shared[node.id]
            return lambda loc, st: st[1][slot]
        raise ScenarioError(f"check {check.text!r} uses {ast.unparse(node)!r}: checks may name shared variables only")

    try:
        condition = compile_expression(tree.body, load)
    except ScenarioError as exc:
        raise ScenarioError(exc.message, file=file, line=check.line) from None
    return p.Check(check.text.strip(), check.line, condition, _keys(tree.body))


class _Reads:
    """Hands out the closures for one statement's shared reads, in evaluation order.

    Every read but the statement's last access becomes a `Read` step into a
    temp slot; when the statement's effect touches nothing shared, its last
    read happens in the final step itself.
    """

    def __init__(self, total: int | None = None, merge_last: bool = False, temp_base: int = 0):
        self.total = total
        self.merge_last = merge_last
        self.temp_base = temp_base
        self.count = 0
        self.split: list[tuple[str, type, dict]] = []  # (name, Read or Inspect, its fields)
        self.merged: str | None = None

    def shared(self, name: str, slot: int) -> p.Expr:
        return self._read(name, lambda loc, st: st[1][slot], p.Read, {"variable": slot})

    def inspect(self, name: str, slot: int, query: Callable[[Any], Any]) -> p.Expr:
        return self._read(name, lambda loc, st: query(st[2][slot]), p.Inspect, {"primitive": slot, "query": query})

    def _read(self, name: str, direct: p.Expr, cls: type, fields: dict) -> p.Expr:
        index = self.count
        self.count += 1
        if self.total is None:  # counting pass
            return lambda loc, st: None
        if self.merge_last and index == self.total - 1:
            self.merged = name
            return direct
        temp = self.temp_base + index
        self.split.append((name, cls, dict(fields, temp=temp)))
        return lambda loc, st: loc[temp]


# What a statement builder returns: the final instruction's class, its fields,
# what it does for people, and the shared objects it touches.
Final = tuple[type, dict, str, tuple[p.Access, ...]]


class _Loop:
    def __init__(self, start: int, with_depth: int):
        self.start = start
        self.with_depth = with_depth
        self.breaks: list[int] = []


class _ThreadCompiler:
    def __init__(self, spec: ThreadSpec, names: _Names, starts: dict[str, tuple[str, int]]):
        self.spec = spec
        self.names = names
        self.starts = starts
        self.source = textwrap.dedent(spec.code)
        self.lines = re.split(r"\r\n|\r|\n", self.source)  # the line breaks Python counts
        self.texts: dict[int, str] = {}
        self.code: list[p.Instruction] = []
        self.loops: list[_Loop] = []
        self.loop_tests: dict[ast.While, int] = {}  # the pc of each while loop's test
        self.with_depth = 0
        self.locals: dict[str, int] = {}
        self.shadowing = dict(spec.shadowing)
        self.max_temps = 0
        self.accepted: set[tuple] = set()

    # -- driver -------------------------------------------------------------

    def compile(self) -> p.ThreadProgram:
        tree = parse_code(self.source, "exec")
        if not tree.body:
            raise ScenarioError("the thread body is empty")
        preset = dict(self.spec.preset_locals)
        for name in preset:
            self.locals[name] = len(self.locals)
        self._collect_locals(tree)
        self.loop_slots = len(self.locals)
        self.temp_base = self.loop_slots + 3 * sum(isinstance(n, ast.For) for n in ast.walk(tree))
        self.next_loop_slot = self.loop_slots
        self.block(tree.body)
        if not self.code:  # `global` declarations only: nothing for the thread to do, not even a first step
            raise ScenarioError("the thread body declares names with `global` but has no statement to run "
                                "(write `pass` for a thread that does nothing)", line=tree.body[0].lineno)
        forever = self._forever_loop(tree.body[-1])
        code = self._resolved()
        initial = [p.UNSET] * (self.temp_base + self.max_temps)
        for name, value in preset.items():
            initial[self.locals[name]] = value
        named = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        return p.ThreadProgram(
            name=self.spec.name, daemon=self.spec.daemon, starts_running=True, code=code,
            local_names=tuple(self.locals), initial_locals=tuple(initial),
            first_line=self.spec.first_line, forever=forever, accepted=frozenset(self.accepted),
            unused_slots=frozenset(self.locals[name] for name in preset if name not in named),
        )

    def _forever_loop(self, last: ast.stmt) -> int:
        """The pc of a `while True:` that ends the body and that no `break` leaves, or -1.

        Such a thread is a worker meant to run forever: a run in which only
        such threads go round is not a failure (see analysis).
        """
        if not (isinstance(last, ast.While) and isinstance(last.test, ast.Constant) and last.test.value):
            return -1
        if any(isinstance(node, ast.Break) for node in _loop_own_statements(last)):
            return -1
        return self.loop_tests[last]

    def _collect_locals(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                shared = node.id in self.names.shared and node.id not in self.shadowing
                if not shared and node.id not in self.locals:
                    reason = self.names.misuse(node.id)
                    if reason:
                        raise unsupported(node, f"cannot assign to {node.id}: {reason}")
                    self.locals[node.id] = len(self.locals)

    def _resolved(self) -> tuple[p.Instruction, ...]:
        """Point every jump target straight at the instruction that runs, or DONE."""
        end = len(self.code)

        def target(pc: int) -> int:
            while pc < end and isinstance(self.code[pc], p.Jump):
                pc = self.code[pc].next
            return p.DONE if pc >= end else pc

        resolved = []
        for instr in self.code:
            changes = {"next": target(instr.next)}
            if isinstance(instr, p.Test):
                changes["orelse"] = target(instr.orelse)
            if isinstance(instr, p.ForIter):
                changes["exit"] = target(instr.exit)
            resolved.append(replace(instr, **changes))
        return tuple(resolved)

    # -- emitting -----------------------------------------------------------

    def emit(self, cls: type, node: ast.AST, action: str, **fields: Any) -> int:
        pc = len(self.code)
        fields.setdefault("next", pc + 1)
        line = self.spec.file_line(node.lineno)
        self.code.append(cls(line=line, text=self.text(node), action=action, **fields))
        return pc

    def accept(self, *nodes: ast.AST) -> None:
        """Note nodes as validated: the export may write them (their children are noted apart)."""
        self.accepted.update(key for node in nodes if (key := node_key(node)) is not None)

    def patch(self, pc: int, **fields: Any) -> None:
        self.code[pc] = replace(self.code[pc], **fields)

    def text(self, node: ast.AST) -> str:
        """The statement as written, on one line; once per statement, as each of its steps shows it."""
        if id(node) not in self.texts:
            if isinstance(node, (ast.If, ast.While, ast.For, ast.With)):
                segment = self.lines[node.lineno - 1]
            else:
                segment = _segment(self.lines, node) or self.lines[node.lineno - 1]
            self.texts[id(node)] = " ".join(segment.split())
        return self.texts[id(node)]

    def statement(self, node: ast.AST, build: Callable[[Callable], Final], merge_last: bool = True) -> int:
        """Emit one simple statement: a `Read` per split-off read, then its final step."""
        counting = _Reads()
        *_, effect_accesses = build(self.loader(counting))
        if counting.count > DEFAULT_BOUNDS.max_statement_reads:
            raise unsupported(node, f"the statement reads shared objects {counting.count:,} times, more than "
                              f"the {DEFAULT_BOUNDS.max_statement_reads:,} one statement may: split it")
        merge = merge_last and not effect_accesses
        reads = _Reads(counting.count, merge, self.temp_base)
        cls, fields, effect, accesses = build(self.loader(reads))
        self.max_temps = max(self.max_temps, len(reads.split))
        for name, read_cls, read_fields in reads.split:
            self.emit(read_cls, node, f"read {name}", accesses=(p.Access("read", name),), **read_fields)
        if reads.merged:
            accesses = (p.Access("read", reads.merged),) + accesses
            effect = f"read {reads.merged}" + (f", {effect}" if effect else "")
        clear = tuple(fields["temp"] for _, _, fields in reads.split)
        return self.emit(cls, node, effect or "local step", accesses=accesses, clear=clear, **fields)

    def loader(self, reads: _Reads) -> Callable[[ast.expr], p.Expr]:
        def load(node: ast.expr) -> p.Expr:
            if isinstance(node, ast.Call):
                return self.query(node, reads)
            name = node.id
            if name in self.locals:
                return _load_local(name, self.locals[name], self.shadowing.get(name))
            if name in self.names.shared:
                return reads.shared(name, self.names.shared[name])
            reason = self.names.misuse(name)
            if reason:
                raise unsupported(node, reason)
            if name in BUILTINS:
                raise unsupported(node, f"{name} can only be called, as in {name}(...)")
            raise unsupported(node, f"unknown name {name!r}: declare it under 'shared:' or assign it first")
        return load

    def query(self, node: ast.Call, reads: _Reads) -> p.Expr:
        """A query such as `E.is_set()`: a read of the primitive's state."""
        owner, method = node.func.value.id, node.func.attr
        if owner not in self.names.primitive_slots:
            raise unsupported(node, f"unsupported call {ast.unparse(node)} inside an expression")
        slot, prim = self.names.primitive(owner)
        make = QUERIES.get((prim.kind, method))
        if make is None and any(name == method for _, name in QUERIES):
            until = " before Python 3.14" if (prim.kind, method) == ("RLock", "locked") else ""
            raise unsupported(node, f"{prim.kind} {owner} has no {method}(){until}")
        if make is None or node.args or node.keywords:
            raise unsupported(node, f"{owner}.{method}() cannot be used inside an expression; "
                              "call it as a statement, or assign its result to a local: ok = ...")
        return reads.inspect(owner, slot, make(prim))

    def expr(self, load: Callable, node: ast.expr) -> p.Expr:
        """Compile an expression; compile_expression validates every node under it."""
        compiled = compile_expression(node, load)
        self.accepted |= _keys(node)
        return compiled

    # -- statements ---------------------------------------------------------

    def block(self, body: list[ast.stmt]) -> None:
        for node in body:
            handler = getattr(self, "stmt_" + type(node).__name__, None)
            if handler is None:
                raise unsupported(node, f"unsupported statement: {self.text(node)}")
            handler(node)
            self.accept(node)

    def stmt_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1:
            raise unsupported(node, "assign one target at a time (a = b = 0 is not supported)")
        target = node.targets[0]
        if self.is_primitive_call(node.value) and not self.is_query(node.value):
            if not isinstance(target, ast.Name) or target.id not in self.locals:
                raise unsupported(node, "assign the result of a primitive's method to a local variable")
            call = node.value
            self.accept(target, call, call.func, call.func.value)
            return self.primitive_call(node, call, call.func.value.id, call.func.attr, self.locals[target.id])
        self.accept(target)
        if isinstance(target, ast.Name):
            self.statement(node, lambda load: self.set_name(target.id, self.expr(load, node.value)))
        elif isinstance(target, ast.Subscript):
            self.set_item(node, target, lambda load: self.expr(load, node.value))
        else:
            raise unsupported(node, "unsupported assignment target: assign to a name or a shared list item")

    def set_name(self, name: str, value: p.Expr) -> Final:
        if name in self.names.shared and name not in self.shadowing:
            return p.SetShared, {"variable": self.names.shared[name], "value": value}, f"write {name}", (p.Access("write", name),)
        return p.SetLocal, {"slot": self.locals[name], "value": value}, f"set {name}", ()

    def set_item(self, node: ast.stmt, target: ast.Subscript, value: Callable, old: Callable | None = None) -> None:
        if not isinstance(target.value, ast.Name) or target.value.id not in self.names.shared:
            raise unsupported(node, "item assignment is supported on shared lists only")
        name = target.value.id
        self.accept(target, target.value)

        def build(load: Callable) -> Final:
            if old is None:
                new, index = value(load), self.expr(load, target.slice)
            else:  # xs[i] += v: Python loads xs and i once, reads xs[i], then evaluates v
                items = self.expr(load, target.value)
                index = self.expr(load, target.slice)
                current = lambda loc, st: items(loc, st)[index(loc, st)]
                new = old(current, value(load))
            return p.SetItem, {"variable": self.names.shared[name], "index": index, "value": new}, f"write {name}", (p.Access("write", name),)

        self.statement(node, build)

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        op = BINARY.get(type(node.op))
        if op is None:
            raise unsupported(node, f"unsupported operator in {self.text(node)}")

        def combine(current: p.Expr, value: p.Expr) -> p.Expr:
            return lambda loc, st: op(current(loc, st), value(loc, st))

        target = node.target
        if isinstance(target, ast.Name):
            self.accept(target)

            def build(load: Callable) -> Final:
                current = load(ast.Name(id=target.id, ctx=ast.Load(), lineno=node.lineno))
                return self.set_name(target.id, combine(current, self.expr(load, node.value)))
            self.statement(node, build)
        elif isinstance(target, ast.Subscript):
            self.set_item(node, target, lambda load: self.expr(load, node.value), old=combine)
        else:
            raise unsupported(node, "unsupported assignment target")

    def stmt_Expr(self, node: ast.Expr) -> None:
        call = node.value
        if not isinstance(call, ast.Call):
            raise unsupported(node, f"unsupported statement: {self.text(node)} (an expression on its own does nothing)")
        self.accept(call, call.func)
        if isinstance(call.func, ast.Name) and call.func.id == "print":
            return self.print_call(node, call)
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
            owner, method = call.func.value.id, call.func.attr
            self.accept(call.func.value)
            if owner in self.names.primitive_slots:
                return self.primitive_call(node, call, owner, method)
            if owner in self.names.threads:
                return self.thread_call(node, call, owner, method)
            if owner in self.names.shared and method == "append":
                return self.append_call(node, call, owner)
        raise unsupported(node, f"unsupported call: {self.text(node)}")

    def print_call(self, node: ast.Expr, call: ast.Call) -> None:
        if any(kw.arg != "sep" for kw in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
            raise unsupported(node, "print() supports positional arguments and sep= only")
        self.accept(*call.keywords)

        def build(load: Callable) -> Final:
            args = tuple(self.expr(load, arg) for arg in call.args)
            sep = self.expr(load, call.keywords[0].value) if call.keywords else None
            return p.Print, {"args": args, "sep": sep}, "print", (p.Access("print", "output"),)

        self.statement(node, build)

    def append_call(self, node: ast.Expr, call: ast.Call, name: str) -> None:
        if len(call.args) != 1 or call.keywords:
            raise unsupported(node, f"{name}.append() takes one argument")

        def build(load: Callable) -> Final:
            value = self.expr(load, call.args[0])
            return p.Append, {"variable": self.names.shared[name], "value": value}, f"write {name}", (p.Access("write", name),)

        self.statement(node, build)

    def is_primitive_call(self, value: ast.expr) -> bool:
        return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name) and value.func.value.id in self.names.primitive_slots)

    def is_query(self, value: ast.Call) -> bool:
        _, prim = self.names.primitive(value.func.value.id)
        return (prim.kind, value.func.attr) in QUERIES

    def primitive_call(self, node: ast.stmt, call: ast.Call, name: str, method: str, result: int = -1) -> None:
        """A method call on a primitive, as a statement or assigned to a local."""
        slot, prim = self.names.primitive(name)
        args = self.call_args(node, call, SIGNATURES.get(method, ()))
        if prim.kind in LOCK_LIKE or (prim.kind == "Condition" and method in ("acquire", "release")):
            return self.lock_method(node, prim, slot, method, args, result)
        handler = getattr(self, f"{prim.kind.lower()}_{method}", None)
        if handler is None:
            raise unsupported(node, f"unsupported {prim.kind} method {name}.{method}()")
        if result >= 0 and method not in ("wait", "wait_for", "get", "get_nowait"):
            raise unsupported(node, f"{name}.{method}() returns nothing to assign")
        handler(node, prim, slot, args, result)

    def call_args(self, node: ast.stmt, call: ast.Call, params: tuple[str, ...]) -> dict[str, ast.expr]:
        """The arguments of a call by parameter name, as CPython would bind them."""
        if len(call.args) > len(params):
            raise unsupported(node, f"too many arguments in {self.text(node)}")
        args = dict(zip(params, call.args))
        for keyword in call.keywords:
            if keyword.arg not in params or keyword.arg in args:
                raise unsupported(node, f"unsupported argument {keyword.arg}= in {self.text(node)}")
            args[keyword.arg] = keyword.value
        self.accept(*call.keywords)
        return args

    def can_time_out(self, node: ast.stmt, args: dict[str, ast.expr], kind: str, block: str = "") -> bool:
        """True when a blocking call may give up: it has a timeout, or is told not to block.

        CPython's rules differ by primitive: a Lock's timeout=-1 waits
        forever and other negative ones are a ValueError, as is a timeout
        with blocking=False; a Queue refuses a negative timeout; the rest
        simply do not wait.
        """
        blocking = self.constant(node, args, block, True)
        timeout = self.constant(node, args, "timeout", None)
        if kind in ("Lock", "RLock"):
            timeout = None if timeout == -1 else timeout
            if timeout is not None and timeout < 0:
                raise unsupported(node, "ValueError: timeout value must be positive (CPython raises this)")
            if not blocking and timeout is not None:
                raise unsupported(node, "ValueError: can't specify a timeout for a non-blocking call (CPython raises this)")
        if kind == "Queue" and blocking and timeout is not None and timeout < 0:
            raise unsupported(node, "ValueError: 'timeout' must be a non-negative number (CPython raises this)")
        return not blocking or timeout is not None

    def constant(self, node: ast.stmt, args: dict[str, ast.expr], param: str, default: Any) -> Any:
        """A blocking flag or a timeout (a number or None), which must be given as a constant."""
        if param not in args:
            return default
        value = _literal(args[param])
        if param == "timeout":
            if not isinstance(value, (int, float, type(None))) or isinstance(value, bool):
                raise unsupported(node, "timeout= must be a number or None, as in timeout=1.0")
        elif not isinstance(value, (bool, int)):
            raise unsupported(node, f"{param}= must be True or False here")
        self.accepted |= _keys(args[param])
        return value

    def lock_method(self, node: ast.stmt, prim: p.Primitive, slot: int, method: str, args: dict, result: int) -> None:
        if prim.kind == "Condition":
            slot, prim = prim.lock, self.names.primitives[prim.lock]
        lock = prim.name
        if method == "acquire":
            timeout = self.can_time_out(node, args, prim.kind, "blocking")
            self.emit(p.Acquire, node, f"acquire {lock}", accesses=(p.Access("acquire", lock),),
                      primitive=slot, timeout=timeout, result=result)
        elif method == "release" and result < 0 and not args:
            self.emit(p.Release, node, f"release {lock}", accesses=(p.Access("release", lock),), primitive=slot)
        else:
            raise unsupported(node, f"unsupported {prim.kind} method {lock}.{method}() here")

    def prim_op(self, node: ast.stmt, prim: p.Primitive, slot: int, op: str, action: str,
                values: tuple[ast.expr, ...] = (), **fields: Any) -> int:
        """Emit one primitive step, with a read step before it per shared value it needs."""
        def build(load: Callable) -> Final:
            exprs = tuple(self.expr(load, value) for value in values)
            return p.PrimOp, dict(fields, primitive=slot, op=op, args=exprs), action, (p.Access(op.split(".")[1], prim.name),)
        return self.statement(node, build)

    def event_set(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Event.set", f"set {prim.name}")

    def event_clear(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Event.clear", f"clear {prim.name}")

    def event_wait(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Event.wait", f"wait for {prim.name}",
                     timeout=self.can_time_out(node, args, "Event"), result=result)

    def condition_wait(self, node, prim, slot, args, result) -> None:
        lock = self.names.primitives[prim.lock].name
        saved = self.temp_base  # free, with the next slot: a wait reads nothing before it
        self.max_temps = max(self.max_temps, 2)
        self.prim_op(node, prim, slot, "Condition.wait", f"wait on {prim.name} (releases {lock})", saved=saved)
        self.emit(p.PrimOp, node, f"wake from {prim.name} (reacquires {lock})",
                  accesses=(p.Access("wake", prim.name),), primitive=slot, op="Condition.wake",
                  timeout=self.can_time_out(node, args, "Condition"), result=result, saved=saved,
                  clear=(saved, saved + 1))

    def condition_wait_for(self, node, prim, slot, args, result) -> None:
        predicate = args.get("predicate")
        if not isinstance(predicate, ast.Lambda) or _has_parameters(predicate) or "timeout" in args:
            raise unsupported(node, f"use {prim.name}.wait_for(lambda: CONDITION), without parameters or a timeout")
        self.accept(predicate)
        start = len(self.code)

        def build(load: Callable) -> Final:
            return p.Test, {"condition": self.expr(load, predicate.body), "store": result, "loop": True}, "test predicate", ()

        test = self.statement(node, build)
        self.condition_wait(node, prim, slot, {}, -1)
        self.emit(p.Jump, node, "jump", next=start)
        self.patch(test, next=len(self.code), orelse=test + 1)  # true: done; false: wait

    def condition_notify(self, node, prim, slot, args, result) -> None:
        count = (args["n"],) if "n" in args else (ast.Constant(1, lineno=node.lineno),)
        self.prim_op(node, prim, slot, "Condition.notify", f"notify {prim.name}", count)

    def condition_notify_all(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Condition.notify_all", f"notify all on {prim.name}")

    def barrier_wait(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Barrier.wait", f"arrive at {prim.name}")
        self.emit(p.PrimOp, node, f"pass {prim.name}", accesses=(p.Access("pass", prim.name),),
                  primitive=slot, op="Barrier.pass", timeout=self.can_time_out(node, args, "Barrier"))

    def barrier_abort(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Barrier.abort", f"abort {prim.name}")

    def queue_put(self, node, prim, slot, args, result) -> None:
        if "item" not in args:
            raise unsupported(node, f"{prim.name}.put() needs an item")
        self.prim_op(node, prim, slot, "Queue.put", f"put into {prim.name}", (args["item"],),
                     timeout=self.can_time_out(node, args, "Queue", "block"))

    def queue_put_nowait(self, node, prim, slot, args, result) -> None:
        if "item" not in args:
            raise unsupported(node, f"{prim.name}.put_nowait() needs an item")
        self.prim_op(node, prim, slot, "Queue.put_nowait", f"put into {prim.name}", (args["item"],))

    def queue_get(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Queue.get", f"get from {prim.name}",
                     timeout=self.can_time_out(node, args, "Queue", "block"), result=result)

    def queue_get_nowait(self, node, prim, slot, args, result) -> None:
        self.prim_op(node, prim, slot, "Queue.get_nowait", f"get from {prim.name}", result=result)

    def thread_call(self, node: ast.Expr, call: ast.Call, name: str, method: str) -> None:
        if method not in ("start", "join"):
            raise unsupported(node, f"unsupported thread method {name}.{method}()")
        if call.args or call.keywords:
            raise unsupported(node, f"{name}.{method}() takes no arguments here")
        if name == self.spec.name:
            raise unsupported(node, f"a thread cannot {method} itself")
        if method == "start":
            if name in self.starts:
                thread, _ = self.starts[name]
                raise unsupported(node, f"thread {name} is started twice (also by {thread}); a thread can only be started once")
            self.starts[name] = (self.spec.name, node.lineno)
        cls = p.Start if method == "start" else p.Join
        self.emit(cls, node, f"{method} {name}", accesses=(p.Access(method, name),), thread=self.names.threads[name])

    def stmt_If(self, node: ast.If) -> None:
        test = self.statement(node, lambda load: (p.Test, {"condition": self.expr(load, node.test)}, "test", ()))
        self.block(node.body)
        if node.orelse:
            skip = self.emit(p.Jump, node, "jump")
            self.patch(test, orelse=len(self.code))
            self.block(node.orelse)
            self.patch(skip, next=len(self.code))
        else:
            self.patch(test, orelse=len(self.code))

    def stmt_While(self, node: ast.While) -> None:
        if node.orelse:
            raise unsupported(node, "while ... else is not supported")
        start = len(self.code)
        test = self.statement(node, lambda load: (p.Test, {"condition": self.expr(load, node.test), "loop": True}, "test", ()))
        self.loop_tests[node] = test
        self.loop_body(node, start, node.body)
        self.patch(test, orelse=len(self.code))

    def loop_body(self, node: ast.stmt, start: int, body: list[ast.stmt]) -> None:
        loop = _Loop(start, self.with_depth)
        self.loops.append(loop)
        self.block(body)
        self.loops.pop()
        self.emit(p.Jump, node, "jump", next=start)
        for pc in loop.breaks:
            self.patch(pc, next=len(self.code))

    def stmt_For(self, node: ast.For) -> None:
        if node.orelse:
            raise unsupported(node, "for ... else is not supported")
        call = node.iter
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "range"
                and 1 <= len(call.args) <= 3 and not call.keywords):
            raise unsupported(node, "only 'for NAME in range(...)' loops are supported")
        if not isinstance(node.target, ast.Name) or node.target.id not in self.locals:
            raise unsupported(node, "the loop variable must be a local name")
        self.accept(node.target, call, call.func)
        counter = self.next_loop_slot
        self.next_loop_slot += 3

        def build(load: Callable) -> Final:
            args = [self.expr(load, arg) for arg in call.args]
            if len(args) == 1:
                args = [lambda loc, st: 0, args[0]]
            if len(args) == 2:
                args.append(lambda loc, st: 1)
            return p.ForInit, {"start": args[0], "stop": args[1], "step": args[2], "counter": counter}, "enter loop", ()

        self.statement(node, build, merge_last=False)
        head = self.emit(p.ForIter, node, "next iteration", variable=self.locals[node.target.id], counter=counter)
        self.loop_body(node, head, node.body)
        self.patch(head, exit=len(self.code))

    def stmt_With(self, node: ast.With) -> None:
        locks = [self.with_lock(node, item) for item in node.items]
        for slot, name in locks:
            self.emit(p.Acquire, node, f"acquire {name}", accesses=(p.Access("acquire", name),), primitive=slot)
        self.with_depth += 1
        self.block(node.body)
        self.with_depth -= 1
        for slot, name in reversed(locks):
            self.emit(p.Release, node, f"release {name}", accesses=(p.Access("release", name),), primitive=slot)

    def with_lock(self, node: ast.With, item: ast.withitem) -> tuple[int, str]:
        """The slot and name of what `with X:` acquires: X, or the lock of Condition X."""
        value = item.context_expr
        if item.optional_vars is not None or not isinstance(value, ast.Name) or value.id not in self.names.primitive_slots:
            raise unsupported(node, "with supports declared locks, semaphores and conditions, as in 'with L:'")
        slot, prim = self.names.primitive(value.id)
        if prim.kind == "Condition":
            slot, prim = prim.lock, self.names.primitives[prim.lock]
        elif prim.kind not in LOCK_LIKE:
            raise unsupported(node, f"{prim.name} is a {prim.kind}, which 'with' cannot acquire")
        self.accept(value)
        return slot, prim.name

    def stmt_Assert(self, node: ast.Assert) -> None:
        def build(load: Callable) -> Final:
            condition = self.expr(load, node.test)
            message = self.expr(load, node.msg) if node.msg is not None else None
            return p.Assert, {"condition": condition, "message": message}, "assert", ()
        self.statement(node, build)

    def stmt_Pass(self, node: ast.Pass) -> None:
        self.emit(p.Nop, node, "pass")

    def stmt_Break(self, node: ast.Break) -> None:
        loop = self.innermost_loop(node, "break")
        loop.breaks.append(self.emit(p.Nop, node, "break"))

    def stmt_Continue(self, node: ast.Continue) -> None:
        loop = self.innermost_loop(node, "continue")
        self.emit(p.Nop, node, "continue", next=loop.start)

    def innermost_loop(self, node: ast.stmt, word: str) -> _Loop:
        if not self.loops:
            raise unsupported(node, f"'{word}' outside a loop")
        loop = self.loops[-1]
        if loop.with_depth != self.with_depth:
            raise unsupported(node, f"'{word}' out of a 'with' block is not supported")
        return loop

    def stmt_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name not in self.names.shared:
                raise unsupported(node, f"global {name}: {name!r} is not declared under 'shared:'")


def _segment(lines: list[str], node: ast.AST) -> str:
    """The source of `node`, from its lines only: `ast.get_source_segment` splits the whole body each time."""
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first].encode()[node.col_offset:node.end_col_offset].decode(errors="replace")
    head = lines[first].encode()[node.col_offset:].decode(errors="replace")
    tail = lines[last].encode()[:node.end_col_offset].decode(errors="replace")
    return "\n".join([head, *lines[first + 1:last], tail])


def _has_parameters(function: ast.Lambda) -> bool:
    """True for a lambda with any parameter: a default or `*` would be code the model never runs."""
    params = function.args
    return bool(params.posonlyargs or params.args or params.vararg or params.kwonlyargs or params.kwarg
                or params.defaults or params.kw_defaults)


def _literal(node: ast.expr) -> Any:
    """A constant such as 1.5, -1, True or None as its value; `...` for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign, node = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            return ...
    if not isinstance(node, ast.Constant):
        return ...
    return node.value if sign == 1 else -node.value


def _loop_own_statements(loop: ast.While | ast.For) -> list[ast.stmt]:
    """The statements of a loop's body that belong to it, not to a loop nested inside."""
    found, pending = [], list(loop.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, (ast.While, ast.For)):
            pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return found


def _load_local(name: str, slot: int, message: str | None = None) -> p.Expr:
    message = message or f"cannot access local variable '{name}' where it is not associated with a value"

    def load(loc: tuple, st: Any, unset: p.Unset = p.UNSET) -> Any:
        value = loc[slot]
        if value is unset:
            raise UnboundLocalError(message)
        return value
    return load
