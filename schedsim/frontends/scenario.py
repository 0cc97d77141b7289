"""Stage 1: a scenario file, loaded safely and validated.

The result, `Scenario`, is plain data: names, initial values and each
thread's source text with the file line it starts on. Nothing here
understands thread bodies; `compiler` does that. YAML is parsed once into
nodes so that every later error can name the line of the file it comes from.
"""
from __future__ import annotations

import keyword
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from ..limits import DEFAULT_BOUNDS
from ..engine.values import from_yaml

# The built-ins that thread bodies can call, and that the exported program
# calls: a scenario name equal to one would hide it in real Python.
HIDDEN_BUILTINS = frozenset({"print", "range", "len", "min", "max", "abs", "str", "int", "bool", "sum", "sorted"})

# libyaml where it is installed: the same safe constructors, a parser in C that is
# fast on big files. Either parser turns text into events without recursion.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SURROGATE = re.compile("[\ud800-\udfff]")

TOP_LEVEL_KEYS = (
    "name", "description", "shared", "locks", "rlocks", "semaphores", "bounded_semaphores",
    "events", "conditions", "barriers", "queues", "threads", "checks",
)
THREAD_KEYS = ("code", "daemon", "count", "locals")
CHECK_KINDS = ("final", "always")


@dataclass(frozen=True, slots=True)
class ThreadSpec:
    """One thread as written: its body and where that body starts in the file."""

    name: str
    code: str
    first_line: int
    daemon: bool = False
    preset_locals: tuple[tuple[str, Any], ...] = ()
    # Set by the Python frontend (frontends/python.py), empty for YAML:
    line_map: tuple[int, ...] = ()  # the file line of each line of `code`, when it is not a verbatim block
    # Locals by CPython's rule although a shared variable has the name (assigned without `global`),
    # each with the message its UnboundLocalError gives.
    shadowing: tuple[tuple[str, str], ...] = ()

    def file_line(self, line: int) -> int:
        """The file line of line `line` (1-based) of `code`."""
        if self.line_map:
            return self.line_map[min(line, len(self.line_map)) - 1]
        return self.first_line + line - 1


@dataclass(frozen=True, slots=True)
class Check:
    """A Python expression over shared variables, and the line it is on."""

    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    file: str
    shared: tuple[tuple[str, Any], ...]
    locks: tuple[str, ...]
    rlocks: tuple[str, ...]
    threads: tuple[ThreadSpec, ...]
    final_checks: tuple[Check, ...] = ()
    always_checks: tuple[Check, ...] = ()
    semaphores: tuple[tuple[str, int], ...] = ()          # name, initial value
    bounded_semaphores: tuple[tuple[str, int], ...] = ()  # name, initial value (the bound)
    events: tuple[str, ...] = ()
    conditions: tuple[tuple[str, str | None], ...] = ()   # name, its lock (None: its own RLock)
    barriers: tuple[tuple[str, int], ...] = ()            # name, parties
    queues: tuple[tuple[str, int], ...] = ()              # name, maxsize (0: unbounded)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file: YAML, or a Python module when its name ends in .py."""
    path = Path(path)
    text = read_text(path)
    if path.suffix == ".py":
        from .python import parse_python  # the frontend builds on this module's types
        return parse_python(text, str(path))
    return parse(text, str(path))


def read_text(path: Path) -> str:
    """A scenario file's text: a regular file of at most `Bounds.max_file_bytes` of UTF-8."""
    limit = DEFAULT_BOUNDS.max_file_bytes
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or /dev/zero would never end
            raise ScenarioError("not a regular file: give a scenario file, not a device, pipe or folder",
                                file=str(path))
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    if len(data) > limit:
        raise ScenarioError(f"the file is larger than {limit:,} bytes, the most a scenario may be", file=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"the file is not UTF-8 text (byte {exc.start})", file=str(path)) from None


def parse(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; `file` names it in error messages."""
    if len(text) > DEFAULT_BOUNDS.max_file_bytes:
        raise ScenarioError(f"the scenario is longer than {DEFAULT_BOUNDS.max_file_bytes:,} characters", file=file)
    root = _compose(text, file)
    reader = _Reader(file)
    if not isinstance(root, yaml.MappingNode):
        raise ScenarioError("a scenario must be a mapping with a 'threads' key", file=file)
    top = reader.mapping(root, "the scenario")
    for key, (key_node, _) in top.items():
        if key not in TOP_LEVEL_KEYS:
            raise reader.error(key_node, f"unknown key {key!r}; expected one of {', '.join(TOP_LEVEL_KEYS)}")
    default_name = Path(file).stem if file != "<scenario>" else "scenario"
    name = str(reader.scalar(top, "name", default_name))
    description = str(reader.scalar(top, "description", "") or "").strip()
    shared = _shared(reader, top)
    locks = reader.name_list(top, "locks")
    rlocks = reader.name_list(top, "rlocks")
    threads = _threads(reader, top)
    final_checks, always_checks = _checks(reader, top)
    scenario = Scenario(
        name, description, file, shared, locks, rlocks, threads, final_checks, always_checks,
        semaphores=reader.counted(top, "semaphores", minimum=0),
        bounded_semaphores=reader.counted(top, "bounded_semaphores", minimum=0),
        events=reader.name_list(top, "events"),
        conditions=_conditions(reader, top, locks + rlocks),
        barriers=reader.counted(top, "barriers", minimum=1),
        queues=reader.counted(top, "queues", minimum=0),
    )
    _check_names_unique(reader, root, scenario)
    return scenario


def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        _check_yaml_size(text, file)
        return yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ScenarioError(f"invalid YAML: {_one_line(exc)}", file=file, line=line) from None


def _one_line(exc: yaml.YAMLError) -> str:
    """What PyYAML found wrong, without the excerpt of the file its message carries."""
    text = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return " ".join(str(text).split())


def _check_yaml_size(text: str, file: str) -> None:
    """Refuse deep nesting and alias bombs from the parser's events, before any node is built.

    An alias counts as big as what it stands for, so `Bounds.max_yaml_nodes`
    bounds the values with every alias expanded, and twice
    `Bounds.max_file_bytes` their characters (a long text used by a thousand
    aliases); an alias inside its own anchor would expand forever.
    """
    bounds = DEFAULT_BOUNDS
    open_sizes: list[list] = [[None, 0, 0]]  # [anchor, values, characters] of each open collection, expanded
    anchored: dict[str, tuple[int, int]] = {}
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_sizes) > bounds.max_yaml_depth:
                raise _yaml_limit(event, f"YAML nested more than {bounds.max_yaml_depth} deep", file)
            open_sizes.append([event.anchor, 1, 0])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, values, chars = open_sizes.pop()
        elif isinstance(event, yaml.AliasEvent):
            if any(item[0] == event.anchor for item in open_sizes):
                raise _yaml_limit(event, f"the alias *{event.anchor} is inside its own anchor: it never ends", file)
            anchor, (values, chars) = None, anchored.get(event.anchor, (1, 0))
        elif isinstance(event, yaml.ScalarEvent):
            anchor, values, chars = event.anchor, 1, len(event.value)
        else:
            continue
        if anchor is not None:
            anchored[anchor] = (values, chars)
        parent = open_sizes[-1]
        parent[1] += values
        parent[2] += chars
        if parent[1] > bounds.max_yaml_nodes:
            raise _yaml_limit(event, f"more than {bounds.max_yaml_nodes:,} YAML values once aliases are expanded", file)
        if parent[2] > 2 * bounds.max_file_bytes:
            raise _yaml_limit(event, f"more than {2 * bounds.max_file_bytes:,} characters of YAML text once "
                              "aliases are expanded", file)


def _yaml_limit(event: yaml.Event, message: str, file: str) -> ScenarioError:
    return ScenarioError(message, file=file, line=event.start_mark.line + 1)


class _Reader:
    """Reads composed YAML nodes, turning each surprise into a located error."""

    def __init__(self, file: str):
        self.file = file

    def error(self, node: yaml.Node, message: str, thread: str = "") -> ScenarioError:
        return ScenarioError(message, file=self.file, thread=thread, line=node.start_mark.line + 1)

    def value(self, node: yaml.Node) -> Any:
        loader = yaml.SafeLoader("")
        try:
            value = loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise self.error(node, f"invalid YAML value: {_one_line(exc)}") from None
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError):  # PyYAML's own: !!int abc
            shown = node.value if isinstance(node, yaml.ScalarNode) else "this value"
            raise self.error(node, f"invalid YAML value: {shown!r} is not a valid {node.tag.rsplit(':', 1)[-1]}") from None
        finally:
            loader.dispose()
        self.refuse_surrogates(node, value)
        return value

    def refuse_surrogates(self, node: yaml.Node, value: Any) -> None:
        """A lone surrogate ("\\ud800") cannot be printed or written as UTF-8: refuse it here."""
        for text in _texts(value):
            found = SURROGATE.search(text)
            if found:
                raise self.error(node, f"the text has a lone surrogate {found.group()!r}, which no file or "
                                 "terminal can hold: write the character itself")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(self.value(key_node))
            if key in result:
                raise self.error(key_node, f"{key!r} is given twice in {what}")
            result[key] = (key_node, value_node)
        return result

    def scalar(self, top: dict, key: str, default: Any) -> Any:
        if key not in top:
            return default
        return self.value(top[key][1])

    def name_list(self, top: dict, key: str) -> tuple[str, ...]:
        if key not in top:
            return ()
        node = top[key][1]
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"'{key}' must be a list of names, as in {key}: [L]")
        return tuple(self.identifier(item, f"a name in '{key}'") for item in node.value)

    def counted(self, top: dict, key: str, minimum: int) -> tuple[tuple[str, int], ...]:
        """A mapping of names to whole numbers, as in semaphores: {S: 2}."""
        if key not in top:
            return ()
        result = []
        for name, (key_node, value_node) in self.mapping(top[key][1], f"'{key}'").items():
            self.identifier(key_node, f"a name in '{key}'")
            value = self.value(value_node)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise self.error(value_node, f"{key}.{name} must be a whole number of at least {minimum}, not {value!r}")
            result.append((name, value))
        return tuple(result)

    def identifier(self, node: yaml.Node, what: str) -> str:
        name = self.value(node)
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise self.error(node, f"{what} must be a Python identifier, not {name!r}")
        read = unicodedata.normalize("NFKC", name)
        if read != name:
            # Python reads the body's names in NFKC form: 'ﬁ' in the code is 'fi',
            # so a variable declared 'ﬁ' would never be the one the code assigns.
            raise self.error(node, f"{what} {name!r} is read by Python as {read!r}; write it {read!r}")
        if name in HIDDEN_BUILTINS or (name.startswith("__") and name.endswith("__")):
            raise self.error(node, f"{what} must not be named {name!r}: in Python it would hide the "
                                   f"built-in {name}, which the thread bodies and the exported program use")
        return name


def _texts(value: Any):
    """Every string in a constructed YAML value (nesting is bounded by `Bounds.max_yaml_depth`)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)


def _shared(reader: _Reader, top: dict) -> tuple[tuple[str, Any], ...]:
    if "shared" not in top:
        return ()
    result = []
    for name, (key_node, value_node) in reader.mapping(top["shared"][1], "'shared'").items():
        reader.identifier(key_node, "a shared variable")
        try:
            result.append((name, from_yaml(reader.value(value_node))))
        except (TypeError, ValueError) as exc:  # ValueError: values.OutOfModel
            raise reader.error(value_node, f"shared variable {name!r}: {exc}") from None
    return tuple(result)


def _threads(reader: _Reader, top: dict) -> tuple[ThreadSpec, ...]:
    if "threads" not in top:
        raise ScenarioError("a scenario needs a 'threads' mapping", file=reader.file)
    threads: list[ThreadSpec] = []
    for name, (key_node, body) in reader.mapping(top["threads"][1], "'threads'").items():
        reader.identifier(key_node, "a thread name")
        threads.extend(_thread(reader, name, body))
        if len(threads) > DEFAULT_BOUNDS.max_threads:
            raise reader.error(key_node, f"more than {DEFAULT_BOUNDS.max_threads:,} threads, "
                               "the most a scenario may have", name)
    if not threads:
        raise reader.error(top["threads"][1], "'threads' is empty: a scenario needs at least one thread")
    if all(thread.daemon for thread in threads):
        raise reader.error(
            top["threads"][1],
            "every thread is a daemon: the program would end before any of them runs",
        )
    return tuple(threads)


def _thread(reader: _Reader, name: str, body: yaml.Node) -> list[ThreadSpec]:
    if isinstance(body, yaml.ScalarNode):
        return [ThreadSpec(name, str(reader.value(body)), _first_code_line(body))]
    options = reader.mapping(body, f"thread {name}")
    for key, (key_node, _) in options.items():
        if key not in THREAD_KEYS:
            raise reader.error(key_node, f"unknown thread option {key!r}; expected one of {', '.join(THREAD_KEYS)}", name)
    if "code" not in options:
        raise reader.error(body, "a thread in the long form needs 'code'", name)
    code_node = options["code"][1]
    code = reader.value(code_node)
    if not isinstance(code, str):
        raise reader.error(code_node, "'code' must be text (use code: | and indent the body)", name)
    daemon = reader.scalar(options, "daemon", False)
    if not isinstance(daemon, bool):
        raise reader.error(options["daemon"][1], "'daemon' must be true or false", name)
    first_line = _first_code_line(code_node)
    preset = _preset_locals(reader, options, name)
    if "count" not in options:
        return [ThreadSpec(name, code, first_line, daemon, preset)]
    count = reader.scalar(options, "count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise reader.error(options["count"][1], "'count' must be a whole number of at least 1", name)
    if count > DEFAULT_BOUNDS.max_threads:
        raise reader.error(options["count"][1], f"'count' may be at most {DEFAULT_BOUNDS.max_threads:,}", name)
    return [
        ThreadSpec(f"{name}{index}", code, first_line, daemon, (("index", index),) + preset)
        for index in range(count)
    ]


def _preset_locals(reader: _Reader, options: dict, thread: str) -> tuple[tuple[str, Any], ...]:
    """`locals: {n: 3}`: locals that hold a value from the start, as a Python thread's arguments do."""
    if "locals" not in options:
        return ()
    result = []
    for name, (key_node, value_node) in reader.mapping(options["locals"][1], f"'locals' of thread {thread}").items():
        reader.identifier(key_node, "a local variable")
        if name == "index" and "count" in options:
            raise reader.error(key_node, "'index' is set by count:; name this local otherwise", thread)
        try:
            result.append((name, from_yaml(reader.value(value_node))))
        except TypeError as exc:
            raise reader.error(value_node, f"local {name!r}: {exc}", thread) from None
    return tuple(result)


def _first_code_line(node: yaml.Node) -> int:
    """The file line of a code scalar's first line; block scalars start below their `|`."""
    line = node.start_mark.line + 1
    return line + 1 if node.style in ("|", ">") else line


def _checks(reader: _Reader, top: dict) -> tuple[tuple[Check, ...], tuple[Check, ...]]:
    if "checks" not in top:
        return (), ()
    found: dict[str, list[Check]] = {kind: [] for kind in CHECK_KINDS}
    for kind, (key_node, items) in reader.mapping(top["checks"][1], "'checks'").items():
        if kind not in CHECK_KINDS:
            raise reader.error(key_node, f"unknown check kind {kind!r}; expected final or always")
        if not isinstance(items, yaml.SequenceNode):
            raise reader.error(items, f"checks.{kind} must be a list of expressions")
        for item in items.value:
            text = reader.value(item)
            if not isinstance(text, str):
                raise reader.error(item, f"a check must be an expression in quotes, not {text!r}")
            found[kind].append(Check(text, item.start_mark.line + 1))
    return tuple(found["final"]), tuple(found["always"])


def _conditions(reader: _Reader, top: dict, locks: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    if "conditions" not in top:
        return ()
    result = []
    for name, (key_node, value_node) in reader.mapping(top["conditions"][1], "'conditions'").items():
        reader.identifier(key_node, "a condition name")
        lock = reader.value(value_node)
        if lock is not None and lock not in locks:
            raise reader.error(value_node, f"condition {name} is over {lock!r}, which is not declared under 'locks:' or 'rlocks:'")
        result.append((name, lock))
    return tuple(result)


def _check_names_unique(reader: _Reader, root: yaml.Node, scenario: Scenario) -> None:
    seen: dict[str, str] = {}
    kinds = [("shared variable", [name for name, _ in scenario.shared]),
             ("lock", scenario.locks), ("rlock", scenario.rlocks),
             ("semaphore", [name for name, _ in scenario.semaphores]),
             ("bounded semaphore", [name for name, _ in scenario.bounded_semaphores]),
             ("event", scenario.events), ("condition", [name for name, _ in scenario.conditions]),
             ("barrier", [name for name, _ in scenario.barriers]), ("queue", [name for name, _ in scenario.queues]),
             ("thread", [thread.name for thread in scenario.threads])]
    for kind, names in kinds:
        for name in names:
            if name in seen:
                made = " (count: names its copies NAME0, NAME1, ...)" if kind == "thread" else ""
                raise reader.error(root, f"the name {name!r} is used for a {seen[name]} and a {kind}{made}")
            seen[name] = kind
