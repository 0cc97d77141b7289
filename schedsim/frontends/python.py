"""Stage 1 for `.py` files: a real Python module that uses `threading`, read into a `Scenario`.

The module is parsed with `ast`; it is never imported or executed. What it
means is written out as the same plain data YAML gives, so that one compiler
and one step function serve both forms:

- the module's top-level names are the shared variables (a literal assigned
  before anything else runs is the initial value), and `threading.Lock()`,
  `queue.Queue(2)`, ... assigned at top level are the primitives;
- the module's own statements are the thread `MainThread`;
- each started `threading.Thread(target=..., args=..., kwargs=..., daemon=...,
  name=...)` is a thread whose body is its target's body. Thread handles are
  resolved here, statically: a `for` loop at top level over a constant range
  is unrolled (its variable is a module global, written once an iteration,
  which is what a lambda target reads late), and lists of handles are followed;
- calls of the module's own functions are inlined, their locals renamed
  apart; `return` becomes the value assigned at the call;
- CPython's local-variable rule: a name a function assigns without `global`
  is its local, even where a module global has the name (`shadowing`), so
  reading it first raises UnboundLocalError with a message that says why;
- `time.sleep(...)` is a step that does nothing (any thread may run next);
  daemon threads run on after the module's last statement until the
  interpreter's exit, as the step semantics has it for every scenario;
  trailing `assert`s after main has joined every thread are final checks, and
  a `# schedsim: always EXPR` comment is an invariant.

The thread bodies are written as source text, each line with the file line
it comes from (`ThreadSpec.line_map`), so every later message and every step
names the line of the `.py` file. Anything outside this subset is a
`ScenarioError` naming the line, the construct and what to write instead.
"""
from __future__ import annotations

import ast
import copy
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ScenarioError
from ..engine.expressions import BUILTINS, compile_expression
from .scenario import Check, Scenario, ThreadSpec
from ..engine.values import from_yaml

MAIN = "MainThread"  # CPython's name for the thread that runs the module
MODULES = ("threading", "time", "queue")
PRIMITIVES = {
    "threading.Lock": "Lock", "threading.RLock": "RLock", "threading.Semaphore": "Semaphore",
    "threading.BoundedSemaphore": "BoundedSemaphore", "threading.Event": "Event",
    "threading.Condition": "Condition", "threading.Barrier": "Barrier", "queue.Queue": "Queue",
}
THREAD = "threading.Thread"
CALLABLE = frozenset(BUILTINS) | {"print", "range"}  # the builtins a thread body may call
NEEDS_IMPORT = {name.split(".")[1]: name.split(".")[0] for name in (*PRIMITIVES, THREAD, "time.sleep")}
SLEEP = "time.sleep"
THREAD_OPTIONS = ("target", "args", "kwargs", "daemon", "name")
ALWAYS = re.compile(r"#\s*schedsim:\s*always\s+(?P<expr>.+?)\s*$")
UNROLL = "for loops of the module's own code need constant bounds (they are unrolled: the variable is a module global)"

# Constructs outside the subset: what each is called, and what to write instead.
UNSUPPORTED: dict[type, str] = {
    ast.ClassDef: "classes are not supported: use module-level variables and functions",
    ast.Try: "try is not supported: the model ends a run at its first uncaught exception; remove the try",
    ast.ListComp: "list comprehensions are not supported: write a for loop over range(...)",
    ast.SetComp: "set comprehensions are not supported: write a for loop over range(...)",
    ast.DictComp: "dict comprehensions are not supported: write a for loop over range(...)",
    ast.GeneratorExp: "generator expressions are not supported: write a for loop over range(...)",
    ast.AsyncFunctionDef: "async functions are not supported: use threading.Thread",
    ast.Await: "await is not supported: use threading.Thread",
    ast.Yield: "generators (yield) are not supported: use a function that returns",
    ast.YieldFrom: "generators (yield from) are not supported: use a function that returns",
    ast.Nonlocal: "nonlocal is not supported: define functions at the module's top level and use global",
}
if hasattr(ast, "TryStar"):
    UNSUPPORTED[ast.TryStar] = UNSUPPORTED[ast.Try]
OTHER_MODULES = {
    "concurrent": "concurrent.futures is not supported: start threading.Thread objects and join() them",
    "multiprocessing": "multiprocessing is not supported: use threading.Thread",
    "asyncio": "asyncio is not supported: use threading.Thread",
}
OTHER_CALLS = {
    "threading.Timer": "threading.Timer is not supported: start a threading.Thread whose target calls time.sleep(...) first",
    "threading.local": "threading.local is not supported: use locals of the thread's function",
    "threading.current_thread": "threading.current_thread() is not supported: pass what the thread needs in args=",
}


def load_python(path: str | Path) -> Scenario:
    """Read a `.py` file into a Scenario."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"the file is not UTF-8 text (byte {exc.start})", file=str(path)) from None
    return parse_python(text, str(path))


def parse_python(text: str, file: str = "<module>.py") -> Scenario:
    """The Scenario a Python module means; `file` names it in messages."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        line = text.splitlines()[exc.lineno - 1] if exc.lineno and exc.lineno <= len(text.splitlines()) else ""
        hint = " (// starts no comment in Python: write #)" if re.search(r"\S\s*//\s*[A-Za-z]", line) else ""
        raise ScenarioError(f"syntax error: {exc.msg}{hint}", file=file, line=exc.lineno or 0) from None
    try:
        return _Module(tree, text, file).scenario()
    except ScenarioError as exc:
        raise exc.located(file=file) from None


def _error(node: ast.AST, message: str) -> ScenarioError:
    return ScenarioError(message, line=getattr(node, "lineno", 0))


def _literal(node: ast.expr) -> tuple[bool, Any]:
    """(True, value) when `node` is a literal the model can hold."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    try:
        return True, from_yaml(value)
    except TypeError:
        return False, None


@dataclass
class _Draft:
    """A thread as the module makes it; it becomes a ThreadSpec once main is read."""

    name: str
    make_body: Callable[[], "_Body"]
    daemon: bool = False
    started: bool = False
    joined: bool = False


@dataclass
class _Scope:
    """One function call as inlined: its name, how its locals are spelled in the thread, its aliases."""

    function: str
    renames: dict[str, str] = field(default_factory=dict)   # local -> its name in the thread body
    aliases: dict[str, str] = field(default_factory=dict)   # parameter -> the primitive passed in
    result: str | None = None  # where a `return` puts its value: the caller's target, as source


class _Module:
    """The module's top level: imports, functions, primitives, shared names, and main."""

    def __init__(self, tree: ast.Module, text: str, file: str):
        self.tree, self.text, self.file = tree, text, file
        self.imports: dict[str, str] = {}       # local name -> "threading", "threading.Lock", ...
        self.functions: dict[str, ast.FunctionDef] = {}
        self.primitives: dict[str, tuple[str, ast.Call]] = {}
        self.description = ""
        self.main: list[ast.stmt] = []
        self.drafts: list[_Draft] = []
        self.unnamed = 0

    # -- reading the top level ----------------------------------------------------

    def scenario(self) -> Scenario:
        _check_subset(self.tree)
        self.top_level(self.tree.body, docstring=True)
        self.handles, self.handle_lists = _handles(self.main, self.qualified)
        self.shared_order = self.shared_names()
        initial, rest = self.initial_values()
        self.constants = self.static_constants(initial, rest)
        checks, rest = self.final_asserts(rest)
        main = _Main(self, rest)
        if checks and not main.joined_all():  # not after the joins: they run as main's own statements
            main, checks = _Main(self, rest + checks), []
        threads = [main.spec()] + [draft.make_body().spec(draft) for draft in self.drafts if draft.started]
        self.check_names(threads)
        shared = tuple((name, initial.get(name)) for name in self.shared_order)
        prims = self.primitive_fields()
        return Scenario(
            name=Path(self.file).stem, description=self.description, file=self.file, shared=shared,
            threads=tuple(threads),
            final_checks=tuple(Check(self.source_of(node.test), node.lineno) for node in checks),
            always_checks=self.always_checks(), **prims,
        )

    def source_of(self, node: ast.expr) -> str:
        segment = ast.get_source_segment(self.text, node)
        return segment if segment and "\n" not in segment else ast.unparse(node)

    def top_level(self, body: list[ast.stmt], docstring: bool = False) -> None:
        for index, node in enumerate(body):
            if docstring and index == 0 and _is_docstring(node):
                self.description = " ".join(node.value.value.split())
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.import_(node)
            elif isinstance(node, ast.FunctionDef):
                self.function(node)
            elif _is_main_guard(node):
                self.top_level(node.body)
            elif self.primitive(node):
                pass
            else:
                self.main.append(node)

    def import_(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module == "__future__":
                return
            self.known_module(node, module)
            for alias in node.names:
                if alias.name == "*":
                    raise _error(node, f"from {module} import * is not supported: import the names you use")
                self.imports[alias.asname or alias.name] = f"{module}.{alias.name}"
            return
        for alias in node.names:
            self.known_module(node, alias.name)
            if alias.asname is None and "." in alias.name:
                raise _error(node, f"import {alias.name}: only {', '.join(MODULES)} can be imported")
            self.imports[alias.asname or alias.name] = alias.name

    @staticmethod
    def known_module(node: ast.stmt, module: str) -> None:
        top = module.split(".")[0]
        if top in OTHER_MODULES:
            raise _error(node, OTHER_MODULES[top])
        if module not in MODULES:
            raise _error(node, f"import {module}: calls into other modules are not supported; "
                         f"only {', '.join(MODULES)} can be imported")

    def function(self, node: ast.FunctionDef) -> None:
        if node.decorator_list:
            raise _error(node, f"the decorator on {node.name}() is not supported: define plain functions")
        args = node.args
        if args.vararg or args.kwarg or args.posonlyargs or args.kwonlyargs:
            raise _error(node, f"{node.name}(): only plain parameters are supported (no *args, **kwargs, / or *)")
        for inner in ast.walk(node):
            if inner is not node and isinstance(inner, ast.FunctionDef):
                raise _error(inner, f"nested function {inner.name}(): define functions at the module's top level")
        self.functions[node.name] = node

    def primitive(self, node: ast.stmt) -> bool:
        """Record `NAME = threading.Lock()` and the like; False for any other statement."""
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)):
            return False
        kind = PRIMITIVES.get(self.qualified(node.value.func) or "")
        if kind is None:
            return False
        name = node.targets[0].id
        if name in self.primitives:
            raise _error(node, f"{name} is made twice: make each primitive once, at the module's top level")
        self.primitives[name] = (kind, node.value)
        return True

    def qualified(self, func: ast.expr) -> str | None:
        """"threading.Lock" for `threading.Lock`, `Lock` (imported from threading), `th.Lock`, ..."""
        if isinstance(func, ast.Name):
            return self.imports.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = self.imports.get(func.value.id)
            if module in MODULES:
                return f"{module}.{func.attr}"
        return None

    # -- names and values ---------------------------------------------------------

    def shared_names(self) -> list[str]:
        """Every module global but primitives, thread handles and functions, in the order first written."""
        found: dict[str, int] = {}
        for node in self.main:
            for name, line in _stored(node):
                found.setdefault(name, line)
        for function in self.functions.values():
            declared = _declared_global(function)
            for name, line in _stored_in_body(function.body):
                if name in declared:
                    found.setdefault(name, line)
        static = set(self.primitives) | self.handles | self.handle_lists | set(self.functions) | set(self.imports)
        for name in found:
            if name in self.primitives or name in self.functions:
                kind = "primitive" if name in self.primitives else "function"
                raise _error(_Line(found[name]), f"{name} is a {kind} and is also assigned: use another name")
        return [name for name, _ in sorted(found.items(), key=lambda item: item[1]) if name not in static]

    def initial_values(self) -> tuple[dict[str, Any], list[ast.stmt]]:
        """The literals assigned before anything else runs: no step, as YAML's `shared:`."""
        initial: dict[str, Any] = {}
        kept: list[ast.stmt] = []  # lists of threads made on the way: no step, and they hide nothing
        for index, node in enumerate(self.main):
            target = _single_name_target(node)
            if target in self.handle_lists:
                kept.append(node)
                continue
            ok, value = _literal(node.value) if target is not None and node.value is not None else (False, None)
            if not ok or target in initial or target not in self.shared_order:
                return initial, kept + self.main[index:]
            initial[target] = value
        return initial, kept

    def static_constants(self, initial: dict[str, Any], rest: list[ast.stmt]) -> dict[str, Any]:
        """Initial values that nothing changes: usable where a bound must be known, as in range(N)."""
        changed = {name for node in rest for name, _ in _stored(node)}
        for function in self.functions.values():
            declared = _declared_global(function)
            changed |= {name for name, _ in _stored_in_body(function.body) if name in declared}
        return {name: value for name, value in initial.items() if name not in changed and isinstance(value, int)}

    def final_asserts(self, rest: list[ast.stmt]) -> tuple[list[ast.Assert], list[ast.stmt]]:
        checks: list[ast.Assert] = []
        while rest and isinstance(rest[-1], ast.Assert):
            checks.insert(0, rest.pop())
        return checks, rest

    def primitive_fields(self) -> dict[str, Any]:
        fields: dict[str, list] = {key: [] for key in ("locks", "rlocks", "semaphores", "bounded_semaphores",
                                                       "events", "conditions", "barriers", "queues")}
        for name, (kind, call) in self.primitives.items():
            if kind in ("Lock", "RLock", "Event"):
                _no_arguments(call, kind)
                fields[{"Lock": "locks", "RLock": "rlocks", "Event": "events"}[kind]].append(name)
            elif kind == "Condition":
                fields["conditions"].append((name, self.condition_lock(call)))
            else:
                key, param, default, minimum = {
                    "Semaphore": ("semaphores", "value", 1, 0), "BoundedSemaphore": ("bounded_semaphores", "value", 1, 0),
                    "Barrier": ("barriers", "parties", None, 1), "Queue": ("queues", "maxsize", 0, 0)}[kind]
                fields[key].append((name, _whole_argument(call, kind, param, default, minimum)))
        return {key: tuple(value) for key, value in fields.items()}

    def condition_lock(self, call: ast.Call) -> str | None:
        args = list(call.args) + [kw.value for kw in call.keywords if kw.arg == "lock"]
        if len(args) > 1 or any(kw.arg != "lock" for kw in call.keywords):
            raise _error(call, "Condition() takes one lock, as in threading.Condition(lock)")
        if not args:
            return None
        lock = args[0]
        if not (isinstance(lock, ast.Name) and self.primitives.get(lock.id, ("",))[0] in ("Lock", "RLock")):
            raise _error(call, "a Condition's lock must be a Lock or RLock made at the module's top level")
        return lock.id

    def always_checks(self) -> tuple[Check, ...]:
        checks = []
        for token in tokenize.generate_tokens(io.StringIO(self.text).readline):
            if token.type == tokenize.COMMENT:
                match = ALWAYS.match(token.string)
                if match:
                    checks.append(Check(match["expr"], token.start[0]))
        return tuple(checks)

    def check_names(self, threads: list[ThreadSpec]) -> None:
        taken = set(self.shared_order) | set(self.primitives)
        seen: set[str] = set()
        for thread in threads:
            if thread.name in taken or thread.name in seen:
                raise _error(_Line(thread.first_line), f"the thread name {thread.name!r} is also used for "
                             "another thread or a module variable: give name= another name")
            seen.add(thread.name)

    # -- threads --------------------------------------------------------------------

    def new_thread(self, call: ast.Call, static: Callable[[ast.expr], Any]) -> _Draft:
        """A `threading.Thread(...)` call, its arguments known now (main is being unrolled)."""
        if call.args:
            raise _error(call, "pass threading.Thread's arguments by keyword, as in threading.Thread(target=f, args=(1,))")
        options = {}
        for kw in call.keywords:
            if kw.arg not in THREAD_OPTIONS:
                raise _error(call, f"threading.Thread({kw.arg}=...) is not supported; use {', '.join(THREAD_OPTIONS)}")
            options[kw.arg] = kw.value
        if "target" not in options:
            raise _error(call, "a thread needs target=, as in threading.Thread(target=f)")
        name = self.thread_name(call, options, static)
        daemon = static(options["daemon"]) if "daemon" in options else False
        if not isinstance(daemon, bool):
            raise _error(call, "daemon= must be True or False")
        args = static(options["args"]) if "args" in options else ()
        kwargs = static(options["kwargs"]) if "kwargs" in options else {}
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise _error(call, "args= must be a tuple, as in args=(1,), and kwargs= a dict, as in kwargs={'n': 1}")
        target = options["target"]
        if isinstance(target, ast.Lambda):  # its defaults are evaluated now: the cure for late binding
            defaults = tuple(static(default) for default in target.args.defaults)
        elif isinstance(target, ast.Name) and target.id in self.functions:
            defaults = tuple(_defined_default(default) for default in self.functions[target.id].args.defaults)
        else:
            raise _error(call, "target= must be a function of this module or a lambda, as in "
                         "target=f or target=lambda: f(i)")
        draft = _Draft(name, lambda: _Body(self, name, target, args, kwargs, defaults, call), daemon)
        self.drafts.append(draft)
        return draft

    def thread_name(self, call: ast.Call, options: dict, static: Callable[[ast.expr], Any]) -> str:
        if "name" not in options:
            self.unnamed += 1  # CPython counts the threads made without a name: Thread-1, Thread-2, ...
            return f"Thread{self.unnamed}"
        name = static(options["name"])
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise _error(call, f"name= must be a string that is a Python name here, not {name!r} "
                         "(schedules and replays list threads by name)")
        return name


@dataclass(frozen=True)
class _Line:
    """A stand-in node for an error that only knows its line."""

    lineno: int


class _Writer:
    """Writes one thread body as source lines, each with the file line it stands for."""

    def __init__(self, module: _Module):
        self.module = module
        self.lines: list[tuple[str, int]] = []
        self.taken = set(module.shared_order) | set(module.primitives) | {d.name for d in module.drafts} | {MAIN}
        self.shadowing: dict[str, str] = {}
        self.shadowed: set[str] = set()   # module globals that some local of this thread hides
        self.calls: list[str] = []
        self.helper_scopes: dict[str, _Scope] = {}

    def emit(self, text: str, line: int, depth: int) -> None:
        self.lines.append(("    " * depth + text, line))

    # -- scopes -------------------------------------------------------------------------

    def scope(self, function: ast.FunctionDef | ast.Lambda, name: str, helper: bool) -> _Scope:
        declared = _declared_global(function) if isinstance(function, ast.FunctionDef) else frozenset()
        params = [arg.arg for arg in function.args.args]
        body = function.body if isinstance(function, ast.FunctionDef) else []
        local_names = list(dict.fromkeys(params + [n for n, _ in _stored_in_body(body) if n not in declared]))
        for name_ in declared:
            if name_ in params:
                raise _error(function, f"{name_} is a parameter and global in {name}()")
            if name_ not in self.module.shared_order:
                raise _error(function, f"global {name_} in {name}(): no module-level variable {name_} is assigned")
        scope = _Scope(name)
        shared = set(self.module.shared_order)
        for local in local_names:
            spelled = local
            keeps = not helper and local in shared  # the thread's own function: x stays x, as a local
            if local in self.taken and not keeps:
                spelled = f"{name.strip('<>')}_{local}"  # <lambda> gives lambda_x
                while spelled in self.taken:
                    spelled += "_"
            self.taken.add(spelled)
            scope.renames[local] = spelled
            if local in shared:
                if spelled == local:
                    self.shadowed.add(local)
                self.shadowing[spelled] = (
                    f"cannot access local variable '{local}' where it is not associated with a value: "
                    f"{local} is local to {name} because {name} assigns it; add `global {local}` at the top of {name}")
        return scope

    def rewrite(self, node: ast.AST, scope: _Scope) -> ast.AST:
        """`node` with this scope's names spelled as in the thread body, and print's flush= dropped."""
        return _Rewriter(self, scope).visit(copy.deepcopy(node))

    def text(self, node: ast.AST, scope: _Scope) -> str:
        """The code as written where nothing in it changes (steps show the file's own text), else as rewritten."""
        rewritten = self.rewrite(node, scope)
        if ast.dump(rewritten) == ast.dump(node):
            segment = ast.get_source_segment(self.module.text, node)
            if segment and "\n" not in segment:
                return segment
        return ast.unparse(rewritten)

    # -- statements -----------------------------------------------------------------------

    def block(self, body: list[ast.stmt], scope: _Scope, depth: int, line: int) -> None:
        before = len(self.lines)
        for node in body:
            self.statement(node, scope, depth)
        if len(self.lines) == before:
            self.emit("pass", line, depth)

    def statement(self, node: ast.stmt, scope: _Scope, depth: int) -> None:
        handler = getattr(self, "stmt_" + type(node).__name__, None)
        if handler is None:
            self.emit(self.text(node, scope), node.lineno, depth)  # the compiler says what it makes of it
        else:
            handler(node, scope, depth)

    def stmt_Global(self, node: ast.Global, scope: _Scope, depth: int) -> None:
        """Read with the function's locals (`_declared_global`); no step."""

    def stmt_Expr(self, node: ast.Expr, scope: _Scope, depth: int) -> None:
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return  # a docstring or a bare string: Python evaluates it to nothing
        if isinstance(value, ast.Call):
            if self.module.qualified(value.func) == SLEEP:
                return self.emit("pass", node.lineno, depth)  # a step that lets any thread run next
            helper = self.helper(value, scope)
            if helper is not None:
                return self.inline(helper, value, scope, depth, None)
        self.emit(self.text(node, scope), node.lineno, depth)

    def stmt_Assign(self, node: ast.Assign, scope: _Scope, depth: int) -> None:
        helper = self.helper(node.value, scope) if isinstance(node.value, ast.Call) else None
        if helper is not None:
            if len(node.targets) != 1:
                raise _error(node, "assign a call's result to one target at a time")
            return self.inline(helper, node.value, scope, depth, node.targets[0])
        self.emit(self.text(node, scope), node.lineno, depth)

    def stmt_AnnAssign(self, node: ast.AnnAssign, scope: _Scope, depth: int) -> None:
        if node.value is not None:
            assign = ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno, col_offset=0)
            self.stmt_Assign(assign, scope, depth)

    def stmt_If(self, node: ast.If, scope: _Scope, depth: int) -> None:
        self.emit(f"if {self.text(node.test, scope)}:", node.lineno, depth)
        self.block(node.body, scope, depth + 1, node.lineno)
        if node.orelse:
            self.emit("else:", node.orelse[0].lineno, depth)
            self.block(node.orelse, scope, depth + 1, node.orelse[0].lineno)

    def stmt_While(self, node: ast.While, scope: _Scope, depth: int) -> None:
        if node.orelse:
            raise _error(node, "while ... else is not supported")
        self.emit(f"while {self.text(node.test, scope)}:", node.lineno, depth)
        self.block(node.body, scope, depth + 1, node.lineno)

    def stmt_For(self, node: ast.For, scope: _Scope, depth: int) -> None:
        if node.orelse:
            raise _error(node, "for ... else is not supported")
        self.emit(f"for {self.text(node.target, scope)} in {self.text(node.iter, scope)}:", node.lineno, depth)
        self.block(node.body, scope, depth + 1, node.lineno)

    def stmt_With(self, node: ast.With, scope: _Scope, depth: int) -> None:
        items = ", ".join(self.text(item, scope) for item in node.items)
        self.emit(f"with {items}:", node.lineno, depth)
        self.block(node.body, scope, depth + 1, node.lineno)

    def stmt_Return(self, node: ast.Return, scope: _Scope, depth: int) -> None:
        """Only in tail position here (`_tail_returns`): the call's result, if the caller keeps it."""
        helper = self.helper(node.value, scope) if isinstance(node.value, ast.Call) else None
        if helper is not None:  # return f(...): f's result is this call's
            return self.inline(helper, node.value, scope, depth, scope.result)
        if scope.result is not None:
            value = self.text(node.value, scope) if node.value is not None else "None"
            self.emit(f"{scope.result} = {value}", node.lineno, depth)

    # -- calls of the module's own functions ------------------------------------------

    def helper(self, call: ast.Call, scope: _Scope) -> ast.FunctionDef | None:
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.module.functions and func.id not in scope.renames:
            return self.module.functions[func.id]
        return None

    def inline(self, function: ast.FunctionDef, call: ast.Call, caller: _Scope, depth: int,
               target: ast.expr | str | None) -> None:
        """The call written out: its arguments into its parameters, then its body; recursion is an error.

        `target` is where the result goes: an assignment's target, or (as text) the caller's own result."""
        if function.name in self.calls:
            raise _error(call, f"{function.name}() calls itself (recursion): calls are inlined, so use a loop instead")
        if any(isinstance(arg, ast.Starred) for arg in call.args) or any(kw.arg is None for kw in call.keywords):
            raise _error(call, f"call {function.name}() with plain arguments (no * or **)")
        callee = self.helper_scopes.get(function.name) or self.scope(function, function.name, helper=True)
        self.helper_scopes[function.name] = callee
        bound = _bind(function, call.args, {kw.arg: kw.value for kw in call.keywords}, call)
        for param, value in bound.items():
            alias = self.primitive_of(value, caller)
            if alias is not None:
                callee.aliases[param] = alias
            else:
                given = any(value is arg for arg in list(call.args) + [kw.value for kw in call.keywords])
                source = caller if given else _Scope(function.name)  # a default: evaluated where def is
                self.emit(f"{callee.renames[param]} = {self.text(value, source)}", call.lineno, depth)
        callee.result = self.text(target, caller) if isinstance(target, ast.AST) else target
        body = _tail_returns(function.body + ([ast.Return(value=None, lineno=call.lineno)] if target is not None else []))
        self.calls.append(function.name)
        self.block(body, callee, depth, call.lineno)
        self.calls.pop()

    def primitive_of(self, value: ast.expr, scope: _Scope) -> str | None:
        if isinstance(value, ast.Name):
            if value.id in scope.aliases:
                return scope.aliases[value.id]
            if value.id in self.module.primitives and value.id not in scope.renames:
                return value.id
        return None


class _Rewriter(ast.NodeTransformer):
    """Spells a scope's names as the thread body has them; checks what a thread may name."""

    def __init__(self, writer: _Writer, scope: _Scope):
        self.writer, self.scope, self.module = writer, scope, writer.module

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        if name in self.scope.aliases:
            return ast.copy_location(ast.Name(id=self.scope.aliases[name], ctx=node.ctx), node)
        if name in self.scope.renames:
            return ast.copy_location(ast.Name(id=self.scope.renames[name], ctx=node.ctx), node)
        if name in self.writer.shadowed:
            raise _error(node, f"{name} is a module variable here but a local of another function of this thread: "
                         "rename that local")
        if name in self.module.functions:
            raise _error(node, f"{name} is a function: call it on its own line, as in {name}(...) or r = {name}(...)")
        if name in self.module.handles or name in self.module.handle_lists:
            raise _error(node, f"{name} holds threads: start and join threads in the module's top-level code")
        if name in self.module.imports:
            raise _error(node, f"{name} is imported: only its primitives, Thread and time.sleep are supported")
        known = name in self.module.shared_order or name in self.module.primitives or name in CALLABLE
        if isinstance(node.ctx, ast.Load) and not known:
            raise _error(node, f"unknown name {name!r}: assign it at the module's top level (a shared variable) "
                         "or in the function (a local) first")
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        qualified = self.module.qualified(node.func)
        if isinstance(node.func, ast.Name) and qualified is None and node.func.id in NEEDS_IMPORT:
            name = node.func.id
            raise _error(node, f"{name} is not imported: add `from {NEEDS_IMPORT[name]} import {name}`, "
                         f"or `import {NEEDS_IMPORT[name]}` and write {NEEDS_IMPORT[name]}.{name}()")
        if qualified in OTHER_CALLS:
            raise _error(node, OTHER_CALLS[qualified])
        if qualified == THREAD:
            raise _error(node, "threads are made at the module's top level (or in its for loops over range(...))")
        if qualified in PRIMITIVES:
            raise _error(node, f"make the {PRIMITIVES[qualified]} at the module's top level, as in NAME = {qualified}()")
        if qualified is not None:
            raise _error(node, f"{ast.unparse(node.func)}() is not supported: of the modules, only "
                         "threading's primitives and Thread, queue.Queue and time.sleep are")
        if isinstance(node.func, ast.Name) and node.func.id in self.module.functions:
            raise _error(node, f"call {node.func.id}() as a statement of its own, or as r = {node.func.id}(...): "
                         "calls inside expressions are not supported")
        if isinstance(node.func, ast.Name) and node.func.id == "print":
            node.keywords = [kw for kw in node.keywords if kw.arg != "flush"]  # the model's output is never buffered
        return self.generic_visit(node)


class _Body(_Writer):
    """A started thread's body: its target called with its arguments."""

    def __init__(self, module: _Module, name: str, target: ast.expr, args: tuple, kwargs: dict, defaults: tuple,
                 call: ast.Call):
        super().__init__(module)
        self.target, self.args, self.kwargs, self.defaults, self.call = target, args, kwargs, defaults, call

    def spec(self, draft: _Draft) -> ThreadSpec:
        preset = self.write()
        return _spec(draft.name, self.lines, draft.daemon, preset, self.shadowing)

    def write(self) -> tuple[tuple[str, Any], ...]:
        target = self.target
        if isinstance(target, ast.Lambda):
            function: ast.FunctionDef | ast.Lambda = target
            fname = "<lambda>"
            if target.args.vararg or target.args.kwarg or target.args.kwonlyargs or target.args.posonlyargs:
                raise _error(target, "a lambda target takes plain parameters only")
        else:
            function, fname = self.module.functions[target.id], target.id
        scope = self.scope(function, fname, helper=False)
        values = _bind(function, list(self.args), dict(self.kwargs), self.call, self.defaults)
        preset = []
        for param, value in values.items():
            if isinstance(value, _Primitive):
                scope.aliases[param] = value.name
            else:
                preset.append((scope.renames[param], value))
        self.calls.append(fname)
        if isinstance(function, ast.Lambda):
            self.lambda_body(function, scope)
        else:
            self.block(_tail_returns(function.body), scope, 0, function.lineno)
        return tuple(preset)

    def lambda_body(self, function: ast.Lambda, scope: _Scope) -> None:
        body = function.body
        if not isinstance(body, ast.Call):
            raise _error(function, "a lambda target must call something, as in target=lambda: f(i)")
        self.stmt_Expr(ast.Expr(value=body, lineno=function.lineno, col_offset=0), scope, 0)


@dataclass(frozen=True)
class _Primitive:
    """A primitive passed as a thread's argument: its parameter names the module's primitive."""

    name: str


class _Main(_Writer):
    """The module's own statements, with thread handles resolved and their loops unrolled."""

    def __init__(self, module: _Module, body: list[ast.stmt]):
        module.drafts, module.unnamed = [], 0
        super().__init__(module)
        self.env: dict[str, Any] = {}          # loop variables of unrolled loops, and handles
        self.lists: dict[str, list[_Draft]] = {}
        self.scope_ = _Scope("the module")
        self.block(body, self.scope_, 0, body[0].lineno if body else 1)

    def spec(self) -> ThreadSpec:
        return _spec(MAIN, self.lines, False, (), {})

    def joined_all(self) -> bool:
        return all(draft.joined or draft.daemon for draft in self.module.drafts if draft.started)

    def static(self, node: ast.expr) -> Any:
        """A value known while main is read: a literal, an unrolled loop's variable, a constant, a primitive."""
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if node.id in self.module.primitives:
                return _Primitive(node.id)
            if node.id in self.module.constants:
                return self.module.constants[node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.static(item) for item in node.elts)
        if isinstance(node, ast.Dict):
            keys = [self.static(key) if key is not None else None for key in node.keys]
            if not all(isinstance(key, str) for key in keys):
                raise _error(node, "kwargs= must be a dict with string keys, as in kwargs={'n': 1}")
            return dict(zip(keys, (self.static(value) for value in node.values)))
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            value = compile_expression(node, lambda name: (lambda loc, st, v=self.static(name): v))
            try:
                return value((), None)
            except (ArithmeticError, TypeError, ValueError) as exc:
                raise _error(node, f"{type(exc).__name__}: {exc}") from None
        ok, value = _literal(node)
        if ok:
            return value
        raise _error(node, f"{ast.unparse(node)} must be known when the thread is made: use literals, "
                     "primitives, or the variable of a for loop over range(...)")

    def handle(self, node: ast.expr) -> _Draft | None:
        if isinstance(node, ast.Name) and isinstance(self.env.get(node.id), _Draft):
            return self.env[node.id]
        if isinstance(node, ast.Call) and self.module.qualified(node.func) == THREAD:
            return self.module.new_thread(node, self.static)
        return None

    def touches_threads(self, node: ast.AST) -> bool:
        names = self.module.handles | self.module.handle_lists
        return any((isinstance(n, ast.Call) and self.module.qualified(n.func) == THREAD)
                   or (isinstance(n, ast.Name) and n.id in names) for n in ast.walk(node))

    def statement(self, node: ast.stmt, scope: _Scope, depth: int) -> None:
        if isinstance(node, ast.FunctionDef):
            raise _error(node, f"define {node.name}() at the module's top level, not inside a block")
        if self.touches_threads(node):
            return self.thread_statement(node, depth)
        if isinstance(node, ast.For):  # its variable is a module global, not a local the compiler can loop on
            return self.unroll(node, depth)
        super().statement(node, scope, depth)

    def thread_statement(self, node: ast.stmt, depth: int) -> None:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name) and target.id in self.module.handles:
                draft = self.handle(value)
                if draft is None:
                    raise _error(node, f"{target.id} = ...: a name that holds a thread may only hold threads")
                self.env[target.id] = draft
                return
            if isinstance(target, ast.Name) and target.id in self.module.handle_lists:
                if not isinstance(value, (ast.List, ast.Tuple)):
                    raise _error(node, f"{target.id} holds threads: make it a list, as in {target.id} = []")
                self.lists[target.id] = [self.must_handle(item) for item in value.elts]
                return
            if isinstance(target, ast.Attribute) and target.attr == "daemon":
                draft = self.must_handle(target.value)
                if draft.started:
                    raise _error(node, "RuntimeError: cannot set daemon status of active thread (CPython raises this)")
                daemon = self.static(value)
                if not isinstance(daemon, bool):
                    raise _error(node, "daemon must be set to True or False")
                draft.daemon = daemon
                return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
            return self.thread_call(node, node.value, depth)
        if isinstance(node, ast.For):
            return self.unroll(node, depth)
        raise _error(node, "threads can be made, started and joined in the module's top-level statements and "
                     "in its for loops only: t = threading.Thread(...), t.start(), t.join(), ts.append(t)")

    def must_handle(self, node: ast.expr) -> _Draft:
        draft = self.handle(node)
        if draft is None:
            raise _error(node, f"{ast.unparse(node)} is not a thread here")
        return draft

    def thread_call(self, node: ast.Expr, call: ast.Call, depth: int) -> None:
        owner, method = call.func.value, call.func.attr
        if isinstance(owner, ast.Name) and owner.id in self.module.handle_lists and method == "append":
            if len(call.args) != 1 or call.keywords:
                raise _error(node, f"{owner.id}.append() takes one thread")
            self.lists.setdefault(owner.id, []).append(self.must_handle(call.args[0]))
            return
        draft = self.must_handle(owner)
        if method not in ("start", "join"):
            raise _error(node, f"thread method {method}() is not supported: only start(), join() and .daemon")
        if call.args or call.keywords:
            raise _error(node, f"{method}() with arguments is not supported: a join with a timeout cannot be modelled")
        if method == "join" and not draft.started:
            raise _error(node, "RuntimeError: cannot join thread before it is started (CPython raises this)")
        if method == "start":
            if draft.started:
                raise _error(node, "RuntimeError: threads can only be started once (CPython raises this)")
            draft.started = True
        else:
            draft.joined = True
        self.emit(f"{draft.name}.{method}()", node.lineno, depth)

    def unroll(self, node: ast.For, depth: int) -> None:
        """A for loop of the module's own code, one iteration after another, each writing its variable."""
        if node.orelse:
            raise _error(node, "for ... else is not supported")
        if not isinstance(node.target, ast.Name):
            raise _error(node, "the loop variable must be one name")
        name = node.target.id
        items: list[Any]
        if isinstance(node.iter, ast.Name) and node.iter.id in self.module.handle_lists:
            items = list(self.lists.get(node.iter.id, []))
        elif isinstance(node.iter, (ast.List, ast.Tuple)) and node.iter.elts and self.touches_threads(node.iter):
            items = [self.must_handle(item) for item in node.iter.elts]
        elif isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range":
            try:
                bounds = [self.static(arg) for arg in node.iter.args]
            except ScenarioError:
                raise _error(node, UNROLL) from None
            if node.iter.keywords or not 1 <= len(bounds) <= 3 or not all(isinstance(b, int) for b in bounds):
                raise _error(node, UNROLL)
            items = list(range(*bounds))
        else:
            raise _error(node, f"{UNROLL}, or go over a list of threads: for t in threads: t.join()")
        for item in items:
            self.env[name] = item
            if not isinstance(item, _Draft):
                self.emit(f"{name} = {item!r}", node.lineno, depth)  # the loop variable is a module global
            for inner in node.body:
                if isinstance(inner, (ast.Break, ast.Continue)):
                    raise _error(inner, f"{type(inner).__name__.lower()} in a for loop of the module's top level "
                                 "is not supported (the loop is unrolled)")
                self.statement(inner, self.scope_, depth)


# -- helpers on the syntax tree ---------------------------------------------------------

def _check_subset(tree: ast.Module) -> None:
    """The first construct outside the subset, anywhere in the module, as an error."""
    lambdas_ok = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "target" and isinstance(node.value, ast.Lambda):
            lambdas_ok.add(id(node.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "wait_for":
            lambdas_ok.update(id(arg) for arg in node.args)
            lambdas_ok.update(id(kw.value) for kw in node.keywords)
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        message = UNSUPPORTED.get(type(node))
        if message:
            raise _error(node, message)
        if isinstance(node, ast.Lambda) and id(node) not in lambdas_ok:
            raise _error(node, "lambda is supported as a thread's target (target=lambda: f(i)) and in "
                         "Condition.wait_for(lambda: ...) only: define a function with def")


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_main_guard(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, whose body is the module's own code when it runs as a program."""
    return (isinstance(node, ast.If) and not node.orelse and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and len(node.test.comparators) == 1 and isinstance(node.test.comparators[0], ast.Constant)
            and node.test.comparators[0].value == "__main__")


def _single_name_target(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _stored(node: ast.AST) -> list[tuple[str, int]]:
    """The names a statement binds, with their lines (not inside function bodies)."""
    found = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
            found.append((inner.id, inner.lineno))
    return found


def _stored_in_body(body: list[ast.stmt]) -> list[tuple[str, int]]:
    return [item for node in body for item in _stored(node)]


def _declared_global(function: ast.FunctionDef) -> frozenset[str]:
    return frozenset(name for node in ast.walk(function) if isinstance(node, ast.Global) for name in node.names)


def _handles(main: list[ast.stmt], qualified: Callable[[ast.expr], str | None]) -> tuple[set[str], set[str]]:
    """The names that hold threads, and the names that hold lists of threads."""
    handles: set[str] = set()
    lists: set[str] = set()

    def is_thread(node: ast.expr) -> bool:
        return ((isinstance(node, ast.Call) and qualified(node.func) == THREAD)
                or (isinstance(node, ast.Name) and node.id in handles))

    for _ in range(3):  # a handle found can make a list, and a list's loop variable a handle
        for node in (n for stmt in main for n in ast.walk(stmt)):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name, value = node.targets[0].id, node.value
                if is_thread(value):
                    handles.add(name)
                elif isinstance(value, (ast.List, ast.Tuple)) and value.elts and all(map(is_thread, value.elts)):
                    lists.add(name)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                    and isinstance(node.func.value, ast.Name) and len(node.args) == 1 and is_thread(node.args[0])):
                lists.add(node.func.value.id)
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                iterable = node.iter
                if (isinstance(iterable, ast.Name) and iterable.id in lists) or (
                        isinstance(iterable, (ast.List, ast.Tuple)) and iterable.elts and all(map(is_thread, iterable.elts))):
                    handles.add(node.target.id)
    return handles, lists


def _bind(function: ast.FunctionDef | ast.Lambda, args: list, kwargs: dict, call: ast.AST,
          defaults: tuple | None = None) -> dict[str, Any]:
    """Arguments to parameters as CPython binds them, defaults filled in; a mismatch is CPython's TypeError."""
    name = getattr(function, "name", "<lambda>")
    params = [arg.arg for arg in function.args.args]
    if len(args) > len(params):
        raise _error(call, f"TypeError: {name}() takes {len(params)} positional arguments but {len(args)} were given")
    bound = dict(zip(params, args))
    for key, value in kwargs.items():
        if key not in params or key in bound:
            raise _error(call, f"TypeError: {name}() got an unexpected or repeated argument {key!r}")
        bound[key] = value
    defaults = function.args.defaults if defaults is None else defaults
    for param, default in zip(params[len(params) - len(defaults):], defaults):
        bound.setdefault(param, default)
    missing = [param for param in params if param not in bound]
    if missing:
        raise _error(call, f"TypeError: {name}() missing the argument {missing[0]!r}")
    return {param: bound[param] for param in params}


def _tail_returns(body: list[ast.stmt]) -> list[ast.stmt]:
    """`body` with every `return` at the end of a path: `if c: return` takes the rest into its else."""
    out: list[ast.stmt] = []
    for index, node in enumerate(body):
        if isinstance(node, ast.Return):
            out.append(node)
            return out
        if any(isinstance(inner, ast.Return) for inner in ast.walk(node)):
            if not isinstance(node, ast.If):
                raise _error(node, "return inside a loop or a with block is not supported: "
                             "end the loop with break, then return after it")
            rest = body[index + 1:]
            branch = ast.If(test=node.test, body=_tail_returns(node.body + rest),
                            orelse=_tail_returns(node.orelse + rest))
            out.append(ast.copy_location(branch, node))
            return out
        out.append(node)
    return out


def _defined_default(node: ast.expr) -> Any:
    ok, value = _literal(node)
    if not ok:
        raise _error(node, "a default value of a thread's target must be a literal")
    return value


def _no_arguments(call: ast.Call, kind: str) -> None:
    if call.args or call.keywords:
        raise _error(call, f"{kind}() takes no arguments here")


def _whole_argument(call: ast.Call, kind: str, param: str, default: int | None, minimum: int) -> int:
    if len(call.args) > 1 or any(kw.arg != param for kw in call.keywords):
        raise _error(call, f"{kind}() takes one argument here, {param}")
    given = call.args + [kw.value for kw in call.keywords]
    if not given and default is not None:
        return default
    ok, value = _literal(given[0]) if given else (False, None)
    if not ok or not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _error(call, f"{kind}({param}) must be a whole number of at least {minimum}, as in {kind}(2)")
    return value


def _spec(name: str, lines: list[tuple[str, int]], daemon: bool, preset: tuple, shadowing: dict[str, str]) -> ThreadSpec:
    if not lines:
        lines = [("pass", 1)]
    code = "\n".join(text for text, _ in lines) + "\n"
    line_map = tuple(line for _, line in lines)
    return ThreadSpec(name, code, line_map[0], daemon, tuple(preset), line_map=line_map,
                      shadowing=tuple(sorted(shadowing.items())))
