"""A scenario as a standalone Python program that uses the real `threading` module.

`export_python(scenario, program)` walks each thread body's `ast` (the
source) beside its compiled instructions (the steps) and writes one of two
programs:

- the plain program: each thread body a function run by a real
  `threading.Thread`, its statements as written, shared variables as module
  globals; at the end a small runtime that runs the threads the way the model
  does (when a run ends, what it printed, which checks fail). `python3 out.py`
  runs it. With `jitter` a seeded random pause comes before each statement.
- the steps program (`steps=True`): one statement per model step, each after
  a call `turn(pc)` to a turnstile that the controlled replay provides
  (`realchild.py`). `x = x + 1` becomes `_t0 = own(x)`, turnstile,
  `x = own(_t0 + 1)`: `own` copies lists, which the model holds as values.

Both walks check every step against the compiled Program, instruction by
instruction, so the export cannot drift from the model's steps: what the walk
cannot mirror is an `ExportError` (a `ScenarioError`: one line, exit 2), never
a quietly different program. Every name goes through `ast` or a validity
check and every value through `repr`; nothing from the scenario is pasted
into code as text. Adding a primitive is one entry in `PRIMITIVES`.
"""
from __future__ import annotations

import ast
import builtins
import copy
import keyword
import math
import string
import textwrap
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

from ..engine import program as p
from ..engine.compiler import QUERIES, SIGNATURES, node_key, parse_code
from ..errors import ScenarioError
from ..frontends.scenario import Scenario, ThreadSpec
from ..engine.values import ListValue


class ExportError(ScenarioError):
    """A scenario that cannot be written as a real Python program (yet)."""


@dataclass(frozen=True)
class RealKind:
    """How one kind of primitive is made with the standard library, and its methods' steps.

    `methods` maps each method to the instruction classes it compiles to, in
    order. A two-step method is one real call: Barrier.wait (arrive, pass)
    marks the thread as inside the call between its steps. `gated` methods
    take a lock back inside the call (Condition.wait): the steps program
    makes the primitive over a gated lock (`steps_make`), which marks the
    thread as inside when the call lets the lock go, and waits for the
    model's second step before it takes the lock back.
    """

    make: str                               # format fields: {threading}, {queue}, {arg}, {lock}
    methods: dict[str, tuple[str, ...]]     # at most two steps a method (wait_for is written out)
    gated: frozenset = field(default_factory=frozenset)
    steps_make: str = ""                    # as make, with {gate}; {lock} is then never empty


_LOCKING = {"acquire": ("Acquire",), "release": ("Release",)}
_ONE = ("PrimOp",)

PRIMITIVES: dict[str, RealKind] = {
    "Lock": RealKind("{threading}.Lock()", _LOCKING),
    "RLock": RealKind("{threading}.RLock()", _LOCKING),
    "Semaphore": RealKind("{threading}.Semaphore({arg})", _LOCKING),
    "BoundedSemaphore": RealKind("{threading}.BoundedSemaphore({arg})", _LOCKING),
    "Event": RealKind("{threading}.Event()", {"set": _ONE, "clear": _ONE, "wait": _ONE}),
    "Queue": RealKind("{queue}.Queue({arg})", {"put": _ONE, "put_nowait": _ONE, "get": _ONE, "get_nowait": _ONE}),
    "Barrier": RealKind("{threading}.Barrier({arg})", {"wait": ("PrimOp", "PrimOp"), "abort": _ONE}),
    "Condition": RealKind("{threading}.Condition({lock})",
                          {**_LOCKING, "wait": ("PrimOp", "PrimOp"), "notify": _ONE, "notify_all": _ONE,
                           "wait_for": ("Test", "PrimOp", "PrimOp", "Jump")},
                          gated=frozenset({"wait"}), steps_make="{threading}.Condition({gate}({lock}))"),
}

# In the steps program a call with a timeout never waits: the model's
# scheduler choosing when it runs stands for how long it waited.
NO_WAIT = {"acquire": ("blocking", False), "wait": ("timeout", 0), "get": ("block", False), "put": ("block", False)}
WAIT_PARAMS = ("blocking", "block", "timeout")

# The names the generated code defines; each gets the first spelling that no
# scenario name, keyword or builtin takes ("output", "output_", ...).
ROLES = (
    "threading", "queue", "sys", "os", "time", "pickle", "random",
    "THREADS", "RUNNING_AT_START", "SHARED", "FINAL_CHECKS", "ALWAYS_CHECKS",
    "run_thread", "turn", "own", "enter", "gate", "waking",
    "SWITCH_INTERVAL", "STILL_SECONDS", "DEADLINE_SECONDS", "SHUTDOWN_SECONDS", "output", "faults", "ended", "final",
    "end_lock", "done", "note_if_over", "progress", "cpu_ms", "run", "wait_for_end", "judge_final", "result",
    "check_always", "CheckFailed", "pause", "rng",
)


@dataclass(frozen=True)
class Limits:
    """The plain program's timing: how it switches threads and when it gives up."""

    switch_interval: float = 1e-6   # sys.setswitchinterval: switch as often as CPython can
    still_seconds: float = 0.2      # no thread moved for this long: a deadlock
    deadline_seconds: float = 10.0  # no end by then: a loop that spins
    shutdown_seconds: float = 0.001  # after the last non-daemon thread: daemon threads run on this long


@dataclass(frozen=True)
class Export:
    source: str
    names: dict[str, str]        # role -> the identifier the program uses for it
    shared: tuple[str, ...]      # the shared variables, in declaration order


def export_python(scenario: Scenario, program: p.Program, *, steps: bool = False, jitter: bool = False,
                  limits: Limits = Limits()) -> Export:
    """The scenario as Python source: plain (runs on its own) or steps (for the controlled replay)."""
    try:
        context = _Context(scenario, program, steps, jitter)
        bodies = [context.body(spec, tree, program.threads[tid]) for tid, spec, tree in context.templates()]
        runtime, main = ("", "") if steps else context.runtime(limits)
        _check_builtins(context, runtime + main)
        parts = [context.header(), context.globals_(), *bodies, context.checks(), runtime, context.threads(), main]
    except ExportError as exc:  # literal() and identifier() know no file: name it (M4)
        raise ExportError(exc.message, exc.file or scenario.file, exc.thread, exc.line) from None
    source = "\n".join(part for part in parts if part)
    compile(source, "<export>", "exec")  # a bug here must fail now, not in a child process
    return Export(source, dict(context.roles), program.shared_names)


def _unparse(node: ast.AST) -> str:
    """Source for `node`; a copy gets the places `ast.unparse` needs, so the tree keeps none it did not have."""
    return ast.unparse(ast.fix_missing_locations(copy.deepcopy(node)))


# What the export builds itself, with no place in the source: its own names,
# constants and glue (turn(pc), own(...), `if not test: break`), and the
# operators and contexts that the source's nodes hold without a place.
_EXPORT_BUILT = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Assign, ast.Expr, ast.If, ast.Break,
                 ast.UnaryOp, ast.BinOp, ast.Subscript, ast.keyword, ast.Tuple, ast.Assert, ast.arguments,
                 ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)


def _stranger(tree: ast.AST, accepted: frozenset) -> ast.AST | None:
    """The first node of `tree` that comes from the source but that the compiler did not validate.

    The body is parsed again here, so a node of the source is known by its
    place (`node_key`). A part the model ignores, such as a lambda's
    default, is code the model never runs: it must never reach the export.
    """
    for node in ast.walk(tree):
        key = node_key(node)
        if key is None and not isinstance(node, _EXPORT_BUILT) or key is not None and key not in accepted:
            return node
    return None


def _name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def _assign(target: ast.expr, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[target], value=value)


def _store(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Store())


def _comment(text: str) -> list[str]:
    """Text as comment lines: no character that could end a line survives."""
    return ["# " + "".join(c if c.isprintable() else "?" for c in line) for line in str(text).splitlines()] or ["#"]


def literal(value: Any) -> str:
    """A scenario value as Python source, checked to read back as the same value."""
    if isinstance(value, ListValue):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        raise ExportError(f"cannot export the value {value!r}: use a finite number")
    if not isinstance(value, (int, float, str, type(None))):
        raise ExportError(f"cannot export the value {value!r}")
    text = repr(value)
    if ast.literal_eval(text) != value:
        raise ExportError(f"cannot export the value {value!r}")
    return text


def identifier(name: str) -> str:
    """`name` if Python reads it as exactly that identifier (NFKC would merge some)."""
    if not name.isidentifier() or keyword.iskeyword(name) or unicodedata.normalize("NFKC", name) != name:
        raise ExportError(f"{name!r} cannot be a Python name in the exported program")
    return name


class _Context:
    """What every part of the generated module shares: names, primitives, options."""

    def __init__(self, scenario: Scenario, program: p.Program, steps: bool, jitter: bool):
        self.scenario, self.program, self.steps, self.jitter = scenario, program, steps, jitter
        self.file = scenario.file
        self.shared = set(program.shared_names)
        self.prims = {prim.name: prim for prim in program.primitives}
        self.threads_ = {thread.name for thread in program.threads}
        self.trees = {spec.name: _parse_body(spec) for spec in scenario.threads}
        self.always = bool(program.always_checks)
        taken = self.shared | set(self.prims) | self.threads_ | {"index"}
        for tree in self.trees.values():
            taken |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            taken |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
        self.taken = taken
        self.roles: dict[str, str] = {}
        for role in ROLES:
            self.roles[role] = self.free(role)
        self.temps: dict[int, str] = {}

    def free(self, wanted: str) -> str:
        name = wanted
        while name in self.taken or keyword.iskeyword(name) or hasattr(builtins, name):
            name += "_"
        self.taken.add(name)
        return name

    def temp(self, index: int) -> str:
        if index not in self.temps:
            self.temps[index] = self.free(f"_t{index}")
        return self.temps[index]

    def error(self, message: str, thread: str = "", line: int = 0) -> ExportError:
        return ExportError(message, file=self.file, thread=thread, line=line)

    def templates(self) -> list[tuple[int, ThreadSpec, ast.Module]]:
        """One body per distinct thread: the copies of a `count:` thread share theirs."""
        seen, result = set(), []
        for tid, spec in enumerate(self.scenario.threads):
            base = _base_name(spec)
            if base not in seen:
                seen.add(base)
                result.append((tid, spec, self.trees[spec.name]))
        return result

    def body_name(self, spec: ThreadSpec) -> str:
        key = "body " + _base_name(spec)
        if key not in self.roles:
            self.roles[key] = self.free(f"body_{_base_name(spec)}")
        return self.roles[key]

    # -- the parts of the module ------------------------------------------------

    def header(self) -> str:
        scenario = self.scenario
        what = STEPS_DOC if self.steps else PLAIN_DOC
        lines = ["#!/usr/bin/env python3", "# Generated by schedsim export --python: do not edit, regenerate.",
                 *_comment(f"Scenario {scenario.name}, from {scenario.file}."),
                 *(_comment(textwrap.fill(scenario.description, 76)) if scenario.description else []),
                 what]
        modules = ["threading"] + (["queue"] if any(prim.kind == "Queue" for prim in self.program.primitives) else [])
        if not self.steps:
            modules += ["os", "pickle", "sys", "time"] + (["random"] if self.jitter else [])
        lines += [_import(module, self.roles[module]) for module in sorted(modules)]
        return "\n".join(lines) + "\n"

    def globals_(self) -> str:
        lines = ["# Shared variables"] if self.program.shared_names else []
        for name, value in zip(self.program.shared_names, self.program.initial_shared):
            lines.append(f"{identifier(name)} = {literal(value)}")
        made = [self.make(prim) for prim in self.program.primitives if "." not in prim.name]
        if made:
            lines += ["", "# Primitives"] + made
        return "\n".join(lines) + "\n"

    def make(self, prim: p.Primitive) -> str:
        real = PRIMITIVES.get(prim.kind)
        if real is None:
            raise self.error(f"cannot export {prim.kind} {prim.name} yet; the export knows {', '.join(PRIMITIVES)}")
        lock = "" if prim.lock < 0 or "." in self.program.primitives[prim.lock].name \
            else identifier(self.program.primitives[prim.lock].name)
        template = real.make
        if self.steps and real.steps_make:  # a gated lock, and a Condition's own RLock made explicit
            template, lock = real.steps_make, lock or f"{self.roles['threading']}.RLock()"
        made = template.format(threading=self.roles["threading"], queue=self.roles["queue"], arg=int(prim.arg),
                               lock=lock, gate=self.roles["gate"])
        return f"{identifier(prim.name)} = {made}"

    def body(self, spec: ThreadSpec, tree: ast.Module, thread: p.ThreadProgram) -> str:
        walker = _Walker(self, spec, thread)
        lines = walker.walk(tree)
        params = ", ".join(identifier(name) for name, _ in spec.preset_locals)
        assigned = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        shadowing = {name for name, _ in spec.shadowing}  # locals by Python's rule: no global for them
        globals_ = [name for name in self.program.shared_names if name in assigned and name not in shadowing]
        head = _comment(f"Thread {_base_name(spec)}: line {spec.first_line} of {self.file}")
        head.append(f"def {self.body_name(spec)}({params}):")
        if globals_:
            head.append(f"    global {', '.join(globals_)}")
        return "\n" + "\n".join(head + lines) + "\n"

    def threads(self) -> str:
        roles = self.roles
        lines = [f"# Threads: each runs its body through {roles['run_thread']}"]
        for spec, thread in zip(self.scenario.threads, self.program.threads):
            args = ", ".join([self.body_name(spec)] + [literal(value) for _, value in spec.preset_locals])
            daemon = ", daemon=True" if thread.daemon else ""
            lines.append(f"{identifier(thread.name)} = {roles['threading']}.Thread(target={roles['run_thread']}, "
                         f"args=({args},), name={thread.name!r}{daemon})")
        names = [thread.name for thread in self.program.threads]
        starting = [thread.name for thread in self.program.threads if thread.starts_running]
        lines.append(f"{roles['THREADS']} = {_tuple(names)}")
        lines.append(f"{roles['RUNNING_AT_START']} = {_tuple(starting)}  # no body starts these: they run from the beginning")
        lines.append(f"{roles['SHARED']} = {tuple(self.program.shared_names)!r}")
        return "\n" + "\n".join(lines) + "\n"

    def checks(self) -> str:
        """Each check as (its text, a function of the shared values)."""
        params = ", ".join(self.program.shared_names)
        lines = ["# Checks: (text, function of the shared variables)"]
        for role, checks in (("FINAL_CHECKS", self.program.final_checks), ("ALWAYS_CHECKS", self.program.always_checks)):
            items = "".join(f"\n    ({check.text!r}, lambda {params}: {_check_source(check, self.error)}),"
                            for check in checks)
            lines.append(f"{self.roles[role]} = ({items}\n)" if items else f"{self.roles[role]} = ()")
        return "\n" + "\n".join(lines) + "\n"

    def runtime(self, limits: Limits) -> tuple[str, str]:
        """The functions that run the threads by the model's rules, and the `__main__` block."""
        state = _unparse(ast.Tuple([ast.Tuple([_name(n) for n in self.program.shared_names], ast.Load()),
                                    _name(self.roles["output"])], ast.Load()))
        prelude = (SEED_AT_START if self.jitter else "") + (CHECK_AT_START if self.always else "")
        text = RUNTIME.replace("$prelude", prelude) + (ALWAYS_RUNTIME if self.always else "") \
            + (JITTER_RUNTIME if self.jitter else "")
        mapping = dict(self.roles, save=f"{self.roles['pickle']}.dumps({state})",
                       switch_interval=repr(float(limits.switch_interval)), still=repr(float(limits.still_seconds)),
                       deadline=repr(float(limits.deadline_seconds)), shutdown=repr(float(limits.shutdown_seconds)))
        return string.Template(text).substitute(mapping), string.Template(MAIN_RUNTIME).substitute(mapping)


def _tuple(names: list[str]) -> str:
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _import(module: str, name: str) -> str:
    return f"import {module}" if name == module else f"import {module} as {name}"


def _base_name(spec: ThreadSpec) -> str:
    """The name a `count:` thread was written with: W for W0, W1, ..."""
    index = dict(spec.preset_locals).get("index")
    return spec.name[:-len(str(index))] if index is not None else spec.name


def _parse_body(spec: ThreadSpec) -> ast.Module:
    """The body's tree, parsed again exactly as the compiler parsed it (so node places match)."""
    return parse_code(textwrap.dedent(spec.code), "exec")


def _check_source(check: p.Check, error: Callable[..., ExportError]) -> str:
    """A check's expression, re-emitted from its syntax tree, which the compiler validated."""
    tree = parse_code(check.text, "eval").body
    stranger = _stranger(tree, check.accepted)
    if stranger is not None:
        raise error(f"cannot export {ast.unparse(stranger)!r} of check {check.text!r}: "
                    "the model did not validate it", line=check.line)
    return _unparse(tree)


def _check_builtins(context: _Context, runtime: str) -> None:
    """Refuse names that would hide a builtin the program calls: the model never looks them up."""
    module_names = context.shared | set(context.prims) | context.threads_
    runtime_uses = {node.id for node in ast.walk(ast.parse(runtime)) if isinstance(node, ast.Name)} if runtime else set()
    for spec_name, tree in context.trees.items():
        called = {node.func.id for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assigned = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        for name in sorted((called & (module_names | assigned)) | (runtime_uses & module_names & set(dir(builtins)))):
            raise context.error(f"the name {name!r} would hide Python's builtin {name}() in the exported program; "
                                "rename it", thread=spec_name)


class _Swap(ast.NodeTransformer):
    """Replace chosen nodes (by identity) in an expression."""

    def __init__(self, swaps: dict[int, ast.expr]):
        self.swaps = swaps

    def visit(self, node: ast.AST) -> ast.AST:
        if id(node) in self.swaps:
            return self.swaps[id(node)]
        return super().visit(node)


class _Walker:
    """Writes one thread body, checking each step against its compiled instruction.

    Handlers follow the compiler's, one per statement kind, and call
    `expect` for each instruction the compiler emits, in the same order.
    """

    def __init__(self, context: _Context, spec: ThreadSpec, thread: p.ThreadProgram):
        self.context, self.spec, self.code = context, spec, thread.code
        self.steps, self.roles = context.steps, context.roles
        self.shared = context.shared - {name for name, _ in spec.preset_locals} - {name for name, _ in spec.shadowing}
        self.accepted = thread.accepted
        self.pc = 0
        self.depth = 1
        self.lines: list[str] = []

    def walk(self, tree: ast.Module) -> list[str]:
        self.block(tree.body)
        if self.pc != len(self.code):
            raise self.error(tree.body[-1], "the compiled steps go on past the end of the body")
        return self.lines

    def error(self, node: ast.AST, message: str) -> ExportError:
        return self.context.error(message, self.spec.name, self.spec.first_line + getattr(node, "lineno", 1) - 1)

    def unparse(self, node: ast.AST) -> str:
        """Source for `node`, refused unless every part of it is validated (see `_vetted`)."""
        stranger = _stranger(node, self.accepted)
        if stranger is not None:
            raise self.error(stranger, f"cannot export {ast.unparse(stranger)!r}: the model did not validate it")
        return _unparse(node)

    # -- writing ---------------------------------------------------------------

    def write(self, text: str) -> None:
        self.lines.extend("    " * self.depth + line for line in text.splitlines())

    def turn(self, pc: int) -> None:
        self.write(f"{self.roles['turn']}({pc})")

    def pause(self) -> None:
        if self.context.jitter and not self.steps:
            self.write(f"{self.roles['pause']}()")

    def block(self, body: list[ast.stmt]) -> None:
        before = len(self.lines)
        for node in body:
            handler = getattr(self, "stmt_" + type(node).__name__, None)
            if handler is None:
                raise self.error(node, f"cannot export the statement {ast.unparse(node)!r}")
            handler(node)
        if len(self.lines) == before:
            self.write("pass")

    def indented(self, body: list[ast.stmt]) -> None:
        self.depth += 1
        self.block(body)
        self.depth -= 1

    # -- steps -------------------------------------------------------------------

    def expect(self, node: ast.AST, kind: str, action: str | None = None) -> int:
        """The pc of the next compiled instruction, which must be a `kind` (doing `action`)."""
        instr = self.code[self.pc] if self.pc < len(self.code) else None
        if instr is None or type(instr).__name__ != kind or (action is not None and instr.action != action):
            found = "the end" if instr is None else f"{type(instr).__name__} ({instr.action})"
            raise self.error(node, f"cannot mirror the compiled steps here: expected {kind}, found {found}")
        self.pc += 1
        return self.pc - 1

    def owned(self, node: ast.expr) -> ast.expr:
        return ast.Call(func=_name(self.roles["own"]), args=[node], keywords=[])

    def loads(self, part: ast.AST) -> list[ast.expr]:
        """The shared reads of an expression in the compiler's order: names and primitive queries."""
        if isinstance(part, ast.Name) and part.id in self.shared:
            return [part]
        if (isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute)
                and isinstance(part.func.value, ast.Name) and part.func.value.id in self.context.prims):
            return [part]
        return [load for child in ast.iter_child_nodes(part) for load in self.loads(child)]

    def reads(self, node: ast.stmt, parts: list[ast.expr], merge: bool) -> list[ast.expr]:
        """Mirror a statement's Read and Inspect steps; return its parts as its final step sees them.

        With `merge`, the last read happens in the final step itself, as the
        compiler does when that step touches nothing shared.
        """
        parts = [copy.deepcopy(part) for part in parts]
        found = [load for part in parts for load in self.loads(part)]
        merged = len(found) - 1 if merge else len(found)
        swaps: dict[int, ast.expr] = {}
        for index, load in enumerate(found):
            query = isinstance(load, ast.Call)
            if index == merged:
                swaps[id(load)] = load if query else self.owned(load)
                continue
            name = load.func.value.id if query else load.id
            pc = self.expect(node, "Inspect" if query else "Read", f"read {name}")
            temp = self.context.temp(index)
            if self.steps:
                self.turn(pc)
                self.write(self.unparse(_assign(_store(temp), load if query else self.owned(load))))
            swaps[id(load)] = _name(temp)
        return [_Swap(swaps).visit(part) for part in parts]

    def final(self, node: ast.stmt, kind: str, build: Callable[[], ast.stmt], writes: bool = False) -> None:
        """The statement's own step: as written (plain), or as `build()` makes it (steps)."""
        pc = self.expect(node, kind)
        if self.steps:
            self.turn(pc)
            self.write(self.unparse(build()))
            return
        self.pause()
        self.write(self.unparse(node))
        if writes and self.context.always:
            self.write(f"{self.roles['check_always']}()")

    # -- statements --------------------------------------------------------------

    def stmt_Assign(self, node: ast.Assign) -> None:
        target, value = node.targets[0], node.value
        if self.is_primitive_call(value) and not self.is_query(value):
            return self.primitive_call(node, value)
        if isinstance(target, ast.Name):
            shared = target.id in self.shared
            (new,) = self.reads(node, [value], merge=not shared)
            self.final(node, "SetShared" if shared else "SetLocal",
                       lambda: _assign(_store(target.id), self.owned(new) if shared else new), writes=shared)
        else:
            new, index = self.reads(node, [value, target.slice], merge=False)
            self.final(node, "SetItem", lambda: _assign(_item(target, index), new), writes=True)

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            shared = target.id in self.shared
            current, value = self.reads(node, [_name(target.id), node.value], merge=not shared)
            new = ast.BinOp(current, node.op, value)
            self.final(node, "SetShared" if shared else "SetLocal",
                       lambda: _assign(_store(target.id), self.owned(new) if shared else new), writes=shared)
        else:  # xs[i] += v: xs and i are read once, then v
            items, index, value = self.reads(node, [_name(target.value.id), target.slice, node.value], merge=False)
            new = ast.BinOp(ast.Subscript(items, copy.deepcopy(index), ast.Load()), node.op, value)
            self.final(node, "SetItem", lambda: _assign(_item(target, index), new), writes=True)

    def stmt_Expr(self, node: ast.Expr) -> None:
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
            parts = self.reads(node, call.args + [kw.value for kw in call.keywords], merge=False)
            args, seps = parts[:len(call.args)], parts[len(call.args):]
            keywords = [ast.keyword(arg="sep", value=sep) for sep in seps]
            self.final(node, "Print", lambda: ast.Expr(ast.Call(_name("print"), args, keywords)))
            return
        owner, method = _method(call)
        if owner in self.context.prims:
            return self.primitive_call(node, call)
        if owner in self.context.threads_ and method in ("start", "join"):
            return self.final(node, method.capitalize(), lambda: node)
        if owner in self.shared and method == "append":
            (value,) = self.reads(node, call.args, merge=False)
            self.final(node, "Append", lambda: ast.Expr(ast.Call(
                ast.Attribute(_name(owner), "append", ast.Load()), [value], [])), writes=True)
            return
        raise self.error(node, f"cannot export the call {ast.unparse(call)!r}")

    def is_primitive_call(self, value: ast.expr) -> bool:
        return _method(value)[0] in self.context.prims

    def is_query(self, value: ast.Call) -> bool:
        """A query such as `n = Q.qsize()`: a read step, as the compiler makes it."""
        owner, method = _method(value)
        return (self.context.prims[owner].kind, method) in QUERIES

    def primitive_call(self, node: ast.stmt, call: ast.Call) -> None:
        """A method of a primitive: its steps per PRIMITIVES, a statement or assigned to a local."""
        owner, method = _method(call)
        prim = self.context.prims[owner]
        real = PRIMITIVES.get(prim.kind)
        kinds = real.methods.get(method) if real else None
        if kinds is None:
            raise self.error(node, f"cannot export {owner}.{method}() yet")
        if method == "wait_for":
            return self.wait_for(node, call)
        parts = self.reads(node, call.args + [kw.value for kw in call.keywords], merge=False)
        first = self.expect(node, kinds[0])
        later = [self.expect(node, kind) for kind in kinds[1:]]
        if not self.steps:
            self.pause()
            self.write(self.unparse(node))
            return
        if later and self.code[later[-1]].timeout:
            raise self.error(node, f"the controlled replay cannot mirror {owner}.{method}() with a timeout")
        self.turn(first)
        gated = method in real.gated
        if later:  # the thread is inside the real call until the model's second step may run
            self.write(f"{self.roles['waking' if gated else 'enter']}({later[0]})")
        self.write(self.unparse(_with_call(node, self.real_call(call, parts, method, self.code[first]))))
        if later and not gated:
            self.turn(later[0])

    def real_call(self, call: ast.Call, parts: list[ast.expr], method: str, instr: p.Instruction) -> ast.Call:
        """The call with its arguments as the step sees them; one with a timeout made not to wait."""
        args, values = parts[:len(call.args)], parts[len(call.args):]
        keywords = [ast.keyword(kw.arg, value) for kw, value in zip(call.keywords, values)]
        if getattr(instr, "timeout", False) and method in NO_WAIT:
            params = SIGNATURES.get(method, ())
            args = [arg for param, arg in zip(params, args) if param not in WAIT_PARAMS]
            keywords = [kw for kw in keywords if kw.arg not in WAIT_PARAMS]
            param, value = NO_WAIT[method]
            keywords.append(ast.keyword(param, ast.Constant(value)))
        return ast.Call(call.func, args, keywords)

    def wait_for(self, node: ast.stmt, call: ast.Call) -> None:
        """`[ok =] C.wait_for(lambda: test)`: the loop CPython runs, test then wait, as the compiler makes it."""
        predicate = call.args[0] if call.args else call.keywords[0].value
        if not self.steps:
            self.reads(node, [predicate.body], merge=True)
            for kind in ("Test", "PrimOp", "PrimOp", "Jump"):
                self.expect(node, kind)
            self.pause()
            self.write(self.unparse(node))
            return
        self.write("while True:")
        self.depth += 1
        (holds,) = self.reads(node, [predicate.body], merge=True)
        self.turn(self.expect(node, "Test"))
        if isinstance(node, ast.Assign):
            self.write(self.unparse(_assign(copy.deepcopy(node.targets[0]), holds)))
            holds = _name(node.targets[0].id)
        self.write(self.unparse(ast.If(holds, [ast.Break()], [])))
        self.turn(self.expect(node, "PrimOp"))
        self.write(f"{self.roles['waking']}({self.expect(node, 'PrimOp')})")
        self.write(self.unparse(_method_call(call.func.value, "wait")))
        self.depth -= 1
        self.expect(node, "Jump")

    def stmt_If(self, node: ast.If, word: str = "if") -> None:
        (test,) = self.reads(node, [node.test], merge=True)
        pc = self.expect(node, "Test")
        if self.steps:
            self.turn(pc)
        else:
            self.pause()
        self.write(f"{word} {self.unparse(test if self.steps else node.test)}:")
        self.indented(node.body)
        if not node.orelse:
            return
        self.expect(node, "Jump")
        chain = len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)
        if chain and not self.steps and not self.context.jitter:
            return self.stmt_If(node.orelse[0], "elif")
        self.write("else:")
        self.indented(node.orelse)

    def stmt_While(self, node: ast.While) -> None:
        if self.steps:
            self.write("while True:")
            self.depth += 1
            (test,) = self.reads(node, [node.test], merge=True)
            self.turn(self.expect(node, "Test"))
            self.write(self.unparse(ast.If(ast.UnaryOp(ast.Not(), test), [ast.Break()], [])))
            self.block(node.body)
            self.depth -= 1
        else:
            self.reads(node, [node.test], merge=True)
            self.expect(node, "Test")
            self.pause()
            self.write(f"while {self.unparse(node.test)}:")
            self.indented(node.body)
            if self.context.jitter:
                self.depth += 1
                self.pause()
                self.depth -= 1
        self.expect(node, "Jump")

    def stmt_For(self, node: ast.For) -> None:
        args = self.reads(node, list(node.iter.args), merge=False)
        self.expect(node, "ForInit")
        self.expect(node, "ForIter")
        self.pause()
        numbers = ast.Call(_name("range"), args, []) if self.steps else node.iter
        self.write(f"for {self.unparse(node.target)} in {self.unparse(numbers)}:")
        self.indented(node.body)
        self.expect(node, "Jump")

    def stmt_With(self, node: ast.With) -> None:
        locks = [item.context_expr for item in node.items]
        acquires = [self.expect(node, "Acquire") for _ in locks]
        if self.steps:
            for pc, lock in zip(acquires, locks):
                self.turn(pc)
                self.write(self.unparse(_method_call(lock, "acquire")))
            self.block(node.body)
        else:
            self.pause()
            self.write(f"with {', '.join(self.unparse(lock) for lock in locks)}:")
            self.indented(node.body)
        for lock in reversed(locks):
            pc = self.expect(node, "Release")
            if self.steps:
                self.turn(pc)
                self.write(self.unparse(_method_call(lock, "release")))

    def stmt_Assert(self, node: ast.Assert) -> None:
        parts = self.reads(node, [node.test] + ([node.msg] if node.msg else []), merge=True)
        self.final(node, "Assert", lambda: ast.Assert(parts[0], parts[1] if node.msg else None))

    def stmt_Pass(self, node: ast.stmt) -> None:
        self.final(node, "Nop", lambda: node)

    stmt_Break = stmt_Continue = stmt_Pass

    def stmt_Global(self, node: ast.Global) -> None:
        """Not a step: the body's function declares its globals itself."""


def _method(call: ast.expr) -> tuple[str | None, str | None]:
    """(owner, method) of a call NAME.method(...), else (None, None)."""
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)):
        return call.func.value.id, call.func.attr
    return None, None


def _method_call(owner: ast.expr, method: str) -> ast.Expr:
    """The statement `owner.method()`."""
    return ast.Expr(ast.Call(ast.Attribute(owner, method, ast.Load()), [], []))


def _item(target: ast.Subscript, index: ast.expr) -> ast.Subscript:
    return ast.Subscript(_name(target.value.id), index, ast.Store())


def _with_call(node: ast.stmt, call: ast.Call) -> ast.stmt:
    """The statement `node` (a call, or a local assigned its result) around `call`."""
    if isinstance(node, ast.Assign):
        return _assign(copy.deepcopy(node.targets[0]), call)
    return ast.Expr(call)


PLAIN_DOC = '''"""A schedsim scenario as a real threading program.

Each thread of the scenario is a function that a threading.Thread runs, its
statements as written; shared variables are module globals and primitives
are the standard library's. Run it with python3: it prints what the threads
print, then how the run ended and the shared variables at the end. The end
of the file runs the threads by the model's rules: a run ends when every
started non-daemon thread has finished (daemon threads still running go on
for a moment, as while CPython exits, and are then cut off), at the first
exception in any thread, or when no thread moves any more (deadlock).
"""'''

STEPS_DOC = '''"""A schedsim scenario, one statement per model step, for the controlled replay.

Before each step a thread calls turn(pc) and waits there until the replay
lets it take step pc of its compiled code; own() copies a list, as the
model holds lists as values; enter(pc) marks a thread as inside a real
blocking call until the model's step pc. A Condition's lock is gate(lock):
inside C.wait() it lets the lock go, and takes it back at the turn of the
step that waking(pc) named. The replay provides all five.
"""'''

RUNTIME = '''

# -- Running the threads by the model's rules ----------------------------------
# The shared state is saved in one call, pickle.dumps, the moment a run ends,
# so steps that other threads take afterwards do not count.

$SWITCH_INTERVAL = $switch_interval  # seconds between thread switches: as often as CPython can
$STILL_SECONDS = $still  # no thread moved for this long: a deadlock
$DEADLINE_SECONDS = $deadline  # no end by then: a loop that spins
$SHUTDOWN_SECONDS = $shutdown  # daemon threads run on this long after the last non-daemon thread, as at exit
$output = []  # every line printed, in order
$faults = []  # (saved state, thread name, exception) of each uncaught exception
$ended = set()  # the threads whose body has returned
$final = []  # the saved state when the last non-daemon thread ended, then at the exit
$end_lock = $threading.Lock()
$done = $threading.Event()


def print(*args, sep=None):
    """Print one line and keep it: one write a line, as the model's print is one step."""
    line = (" " if sep is None else sep).join(map(str, args))
    $output.append(line)
    $sys.stdout.write(line + "\\n")


def $run_thread(body, *args):
    """A thread's target: its body, then a note of how the thread ended."""
    try:
        body(*args)
    except BaseException as exc:
        state = $save
        $faults.append((getattr(exc, "state", state), $threading.current_thread().name, exc))
        $done.set()
        return
    with $end_lock:
        $ended.add($threading.current_thread())
        $note_if_over()


def $note_if_over():
    """Save the state and end the run once no started non-daemon thread is left ($end_lock held)."""
    if not $final and all(t in $ended or t.ident is None for t in $THREADS if not t.daemon):
        $final.append($save)
        $done.set()


def $progress():
    """Where each thread is, and its CPU time: when neither changes for long, no thread is moving."""
    frames = $sys._current_frames()
    return [(f.f_code, f.f_lasti, $cpu_ms(t)) if f else None for t, f in ((t, frames.get(t.ident)) for t in $THREADS)]


def $cpu_ms(thread):
    """A thread's CPU time in ms where the platform tells it: a loop that spins may never change its position."""
    try:
        return round($time.clock_gettime($time.pthread_getcpuclockid(thread.ident)) * 1000)
    except (AttributeError, OSError):
        return None


def $run(seed=0):
    """Run the threads once and say how the run ended, in the model's terms."""
    $sys.setswitchinterval($SWITCH_INTERVAL)
$prelude    with $end_lock:
        for thread in $RUNNING_AT_START:
            thread.start()
        $note_if_over()
    return $wait_for_end()


def $wait_for_end():
    start = still_since = $time.monotonic()
    last = None
    while not $done.wait(0.005):
        now = $time.monotonic()
        now_at = $progress()
        if now_at != last:
            last, still_since = now_at, now
        elif now - still_since > $STILL_SECONDS:
            return $result("deadlock", $save, f"no thread moved for {$STILL_SECONDS} s")
        if now - start > $DEADLINE_SECONDS:
            return $result("timeout", $save, f"no end after {$DEADLINE_SECONDS} s")
    if not $faults and any(t.daemon and t.is_alive() for t in $THREADS):
        # CPython's exit: the daemon threads run on while the interpreter shuts down, then are cut off.
        $time.sleep($SHUTDOWN_SECONDS)
        $final.append($save)
    if $faults:
        state, name, exc = $faults[0]
        status = "violation" if isinstance(exc, AssertionError) else "error"
        return $result(status, state, f"{name}: {type(exc).__name__}: {exc}")
    return $judge_final($final[-1])


def $judge_final(state):
    values = $pickle.loads(state)[0]
    for text, check in $FINAL_CHECKS:
        try:
            holds = check(*values)
        except Exception as exc:
            return $result("error", state, f"check {text!r} raised {type(exc).__name__}: {exc}")
        if not holds:
            return $result("violation", state, f"final check failed: {text}")
    return $result("finished", state, None)


def $result(status, state, message):
    values, lines = $pickle.loads(state)
    return {"status": status, "final": dict(zip($SHARED, values)), "output": lines, "message": message}
'''

SEED_AT_START = '''    $rng.seed(seed)
'''

CHECK_AT_START = '''    try:
        $check_always()
    except $CheckFailed as exc:
        return $result("violation", exc.state, str(exc))
'''

ALWAYS_RUNTIME = '''

class $CheckFailed(AssertionError):
    """An `always` check that failed; `state` is the saved state it failed in."""

    def __init__(self, text, state):
        super().__init__(f"always check failed: {text}")
        self.state = state


def $check_always():
    """Called after each write to a shared variable: the model checks every state."""
    state = $save
    values = $pickle.loads(state)[0]
    for text, check in $ALWAYS_CHECKS:
        if not check(*values):
            raise $CheckFailed(text, state)
'''

JITTER_RUNTIME = '''

$rng = $random.Random()


def $pause():
    """Before each statement: a seeded random yield or short sleep, so that races show."""
    roll = $rng.random()
    if roll < 0.5:
        $time.sleep(0)
    elif roll < 0.75:
        $time.sleep($rng.random() / 2000)
'''

MAIN_RUNTIME = '''
if __name__ == "__main__":
    outcome = $run()
    values = " ".join(f"{name}={value!r}" for name, value in outcome["final"].items())
    $sys.stdout.write(f"--- {outcome['status']}: {values}\\n")
    if outcome["message"]:
        $sys.stdout.write(f"--- {outcome['message']}\\n")
    $sys.stdout.flush()
    $os._exit(0 if outcome["status"] == "finished" else 1)  # cuts off threads still running, as the model does
'''
