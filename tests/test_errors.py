"""Bad input: one located ScenarioError, and through the CLI one line on stderr and exit 2.

Each case is a scenario file given line by line, so the line an error
must name can be read off the list (the first line is line 1).
"""
from __future__ import annotations

import pytest

from conftest import invoke

from schedsim.engine.compiler import compile_scenario
from schedsim.errors import ScenarioError
from schedsim.frontends.scenario import load

# (id, file lines, thread the error names ("" for none), file line it names, words it contains)
BAD_INPUT = [
    ("tab in YAML", [
        "shared: {x: 0}",
        "threads:",
        "  A: |",
        "    x = 1",
        "\tB: |",
        "    x = 2",
    ], "", 5, "invalid YAML"),
    ("duplicate thread", [
        "threads:",
        "  A: |",
        "    a = 1",
        "  A: |",
        "    a = 2",
    ], "", 4, "'A' is given twice"),
    ("unknown name", [
        "shared:",
        "  x: 0",
        "threads:",
        "  A: |",
        "    x = 1",
        "  B: |",
        "    b = 1",
        "    x = y + 1",
    ], "B", 8, "unknown name 'y'"),
    ("unknown name in the short form", [
        "threads:",
        "  A: a = q",
    ], "A", 2, "unknown name 'q'"),
    ("syntax error", [
        "shared: {x: 0}",
        "threads:",
        "  A: |",
        "    x = 1",
        "    x = (1 +",
    ], "A", 5, "syntax error"),
    ("import", [
        "threads:",
        "  A: |",
        "    a = 1",
        "    import os",
    ], "A", 4, "unsupported statement"),
    ("def in the long form", [
        "threads:",
        "  A:",
        "    code: |",
        "      a = 1",
        "      def f(): pass",
        "    daemon: false",
    ], "A", 5, "unsupported statement"),
    ("try", [
        "threads:",
        "  A: |",
        "    a = 1",
        "    try:",
        "        a = 2",
        "    except Exception:",
        "        pass",
    ], "A", 4, "unsupported statement"),
    ("method call on a local", [
        "threads:",
        "  A: |",
        "    a = 1",
        "    a.foo()",
    ], "A", 4, "unsupported call"),
    ("undeclared lock", [
        "threads:",
        "  A: |",
        "    a = 1",
        "    with L:",
        "        pass",
    ], "A", 4, "with"),
    ("thread started twice by one thread", [
        "threads:",
        "  main: |",
        "    W.start()",
        "    W.start()",
        "  W: |",
        "    pass",
    ], "main", 4, "started twice"),
    ("thread started by two threads", [
        "threads:",
        "  main: |",
        "    W.start()",
        "  other: |",
        "    W.start()",
        "  W: |",
        "    pass",
    ], "other", 5, "started twice"),
    ("thread joins itself", [
        "threads:",
        "  A: |",
        "    a = 1",
        "    A.join()",
    ], "A", 4, "itself"),
    ("unknown top-level key", [
        "shared: {x: 0}",
        "thread:",
        "  A: |",
        "    x = 1",
    ], "", 2, "unknown key 'thread'"),
    ("unknown thread option", [
        "shared: {x: 0}",
        "threads:",
        "  A:",
        "    code: |",
        "      x = 1",
        "    deamon: true",
    ], "A", 6, "unknown thread option 'deamon'"),
    ("check that is not an expression", [
        "shared: {x: 0}",
        "threads:",
        "  A: |",
        "    x = 1",
        "checks:",
        "  final: ['x ==']",
    ], "", 6, "invalid check"),
    ("check naming an unknown variable", [
        "shared: {x: 0}",
        "threads:",
        "  A: |",
        "    x = 1",
        "checks:",
        "  final:",
        "    - 'x == 1'",
        "    - 'z == 1'",
    ], "", 8, "'z'"),
    ("check naming a thread's local", [
        "shared: {x: 0}",
        "threads:",
        "  A: |",
        "    a = 1",
        "checks:",
        "  always: ['a == 1']",
    ], "", 6, "'a'"),
]

CASES = [pytest.param(lines, thread, line, words, id=name) for name, lines, thread, line, words in BAD_INPUT]


def _file(tmp_path, lines: list[str]) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("lines, thread, line, words", CASES)
def test_bad_input_is_a_scenario_error_naming_file_thread_and_line(tmp_path, lines, thread, line, words):
    """Loading and compiling raises ScenarioError located at the file, the thread and the file line of the mistake."""
    path = _file(tmp_path, lines)
    with pytest.raises(ScenarioError) as caught:
        compile_scenario(load(path))
    error = caught.value
    assert (error.file, error.thread, error.line) == (path, thread, line)
    assert words in error.message
    assert str(error).startswith(f"{path}:{line}: " + (f"thread {thread}: " if thread else ""))


@pytest.mark.parametrize("lines, thread, line, words", CASES)
def test_bad_input_through_the_cli_is_one_line_on_stderr_and_exit_2(tmp_path, lines, thread, line, words):
    """`schedsim explore` prints exactly the located message on one stderr line, nothing on stdout, no traceback."""
    path = _file(tmp_path, lines)
    result = invoke("explore", path, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    [message] = result.stderr.splitlines()
    assert message.startswith(f"schedsim: {path}:{line}: ")
    assert (f"thread {thread}:" in message) == bool(thread)
    assert words in message
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [
    ["explore"], ["show"], ["replay", "--schedule", "A"], ["graph", "-o", "{tmp}/out.dot"],
])
def test_every_command_reports_bad_input_the_same_way(tmp_path, command):
    """show, replay and graph load files as explore does: one stderr line naming file, thread and line; exit 2."""
    path = _file(tmp_path, ["threads:", "  A: |", "    a = 1", "    a = y"])
    name, *options = command
    result = invoke(name, path, *(option.format(tmp=tmp_path) for option in options))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"schedsim: {path}:4: thread A: unknown name 'y': declare it under 'shared:' or assign it first"]
    assert not (tmp_path / "out.dot").exists()


def test_a_missing_file_is_one_line_and_exit_2(tmp_path):
    """A file that cannot be read is bad input too, said in one line naming it."""
    path = str(tmp_path / "missing.yaml")
    result = invoke("explore", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"schedsim: {path}: cannot read the file: No such file or directory"]


def test_a_runtime_type_error_is_an_error_outcome_not_bad_input(tmp_path):
    """A type error happens in a run, so it is an `error` outcome (exit 1) with CPython's message, thread and line."""
    path = _file(tmp_path, ["shared: {x: 'a'}", "threads:", "  A: |", "    y = 1", "    x = x + y"])
    result = invoke("explore", path)
    assert result.exit_code == 1
    assert result.stderr == ""
    assert 'A, line 5: TypeError: can only concatenate str (not "int") to str' in result.stdout


@pytest.mark.parametrize("body, message", [
    ('L.acquire(timeout="a")', "timeout= must be a number or None"),
    ("L.acquire(blocking=[1])", "blocking= must be True or False"),
    ("Q.put(1, timeout=[1])", "timeout= must be a number or None"),
])
def test_a_timeout_or_flag_of_the_wrong_type_is_one_located_line(tmp_path, body, message):
    """Constants given to a primitive's timeout or blocking flag are checked at load, not at a traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text(f"locks: [L]\nqueues: {{Q: 1}}\nthreads:\n  A: |\n    {body}\n")
    result = invoke("explore", str(path))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"schedsim: {path}:5: thread A: {message}")


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    """A scenario file in another encoding gets one line and exit 2, not a UnicodeDecodeError."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b'threads:\n  A: |\n    x = "\xff"\n')
    result = invoke("explore", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"schedsim: {path}: the file is not UTF-8 text (byte 25)"


@pytest.mark.parametrize("yaml_text, message", [
    ("threads:\n  A: B.start()\n  B: A.start()\n", "no non-daemon thread runs at the start"),
    ("shared: {x: .nan}\nthreads:\n  A: pass\n", "unsupported value nan: use a finite number"),
])
def test_a_scenario_that_cannot_run_or_hold_its_values_is_bad_input(tmp_path, yaml_text, message):
    """Threads that only start each other never run; NaN has no place in a state. One line, exit 2."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    result = invoke("explore", str(path))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert message in line
