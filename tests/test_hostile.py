"""Hostile and malformed input: no code runs that the scenario did not state, no traceback, no hang.

The export (`export --python`, `crosscheck`) writes a real Python program
and runs it, so every part of a body that reaches it must be one the model
validated: a part the model ignores (a lambda's default, say) would be code
that only the real run executes. Each payload below would create the file
`pwned` if it were pasted into the exported program.
"""
from __future__ import annotations

import dataclasses
import gzip
import os
import re
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import explored, invoke, write_scenario
from schedsim.frontends import scenario as scenario_module
from schedsim.engine.compiler import compile_scenario
from schedsim.errors import ScenarioError
from schedsim.real.pyexport import ExportError, export_python
from schedsim.frontends.scenario import parse

PAYLOAD = "open('pwned', 'w')"

# Every primitive a payload may use; thread B gives each scenario a second thread.
HOSTILE_TEMPLATE = """\
shared: {{x: 0, xs: [0, 1]}}
locks: [L]
conditions: {{C: L}}
events: [E]
queues: {{Q: 0}}
barriers: {{Bar: 1}}
threads:
  A: |
{body}
  B: |
    x += 1
{checks}"""

# One body per construct that carries an expression into the export.
HOSTILE_BODIES = {
    "lambda keyword-only default": f"with C:\n    C.wait_for(lambda *, k={PAYLOAD}: True)",
    "lambda positional-only default": f"with C:\n    C.wait_for(lambda k={PAYLOAD}, /: True)",
    "lambda default": f"with C:\n    C.wait_for(lambda k={PAYLOAD}: True)",
    "lambda star parameter": f"with C:\n    ok = C.wait_for(lambda *k: {PAYLOAD})",
    "lambda body": f"with C:\n    C.wait_for(lambda: {PAYLOAD})",
    "f-string format spec": f"print(f'{{x:{{{PAYLOAD}}}}}')",
    "f-string value": f"print(f'{{{PAYLOAD}!r}}')",
    "print argument": f"print({PAYLOAD})",
    "print sep": f"print(1, 2, sep={PAYLOAD})",
    "acquire timeout": f"L.acquire(timeout={PAYLOAD})",
    "acquire blocking": f"ok = L.acquire(blocking={PAYLOAD})",
    "event wait timeout": f"E.wait({PAYLOAD})",
    "queue put item": f"Q.put({PAYLOAD})",
    "queue get block": f"v = Q.get(block={PAYLOAD})",
    "notify count": f"with C:\n    C.notify({PAYLOAD})",
    "barrier timeout": f"Bar.wait(timeout={PAYLOAD})",
    "append argument": f"xs.append({PAYLOAD})",
    "subscript store": f"xs[{PAYLOAD}] = 1",
    "subscript load": f"y = xs[{PAYLOAD}]",
    "slice bound": f"y = xs[0:{PAYLOAD}]",
    "augmented subscript": f"xs[{PAYLOAD}] += 1",
    "range argument": f"for i in range({PAYLOAD}):\n    pass",
    "with item": f"with {PAYLOAD}:\n    pass",
    "if test": f"if {PAYLOAD}:\n    pass",
    "assert message": f"assert x == 0, {PAYLOAD}",
    "starred call argument": f"E.wait(*[{PAYLOAD}])",
}

HOSTILE_CHECKS = {
    "final check": f'checks:\n  final: ["{PAYLOAD} is None"]\n',
    "always check": f'checks:\n  always: ["x == 0 or {PAYLOAD}"]\n',
}


def hostile_scenario(body: str = "x = 1", checks: str = "") -> str:
    return HOSTILE_TEMPLATE.format(body=textwrap.indent(body, "    "), checks=checks)


def assert_refused_without_running(tmp_path, monkeypatch, yaml_text: str) -> None:
    """Both commands that write a program refuse the scenario in one line, and nothing runs."""
    monkeypatch.chdir(tmp_path)
    path = write_scenario(tmp_path, yaml_text)
    for args in (["export", path, "--python"], ["crosscheck", path, "--runs", "2", "--seed", "1"]):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("schedsim: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
    assert sorted(item.name for item in tmp_path.iterdir()) == ["scenario.yaml"]


def test_the_hostile_template_itself_exports(tmp_path, monkeypatch):
    """Without a payload the template is a scenario the export takes: the refusals below are the payloads'."""
    monkeypatch.chdir(tmp_path)
    result = invoke("export", write_scenario(tmp_path, hostile_scenario()), "--python")
    assert result.exit_code == 0, result.stderr
    assert "def body_A" in result.stdout


@pytest.mark.parametrize("construct", sorted(HOSTILE_BODIES))
def test_a_payload_in_a_body_is_refused_and_never_runs(tmp_path, monkeypatch, construct):
    """A file-creating call in any expression of a body: a one-line error, no file."""
    assert_refused_without_running(tmp_path, monkeypatch, hostile_scenario(HOSTILE_BODIES[construct]))


@pytest.mark.parametrize("construct", sorted(HOSTILE_CHECKS))
def test_a_payload_in_a_check_is_refused_and_never_runs(tmp_path, monkeypatch, construct):
    assert_refused_without_running(tmp_path, monkeypatch, hostile_scenario(checks=HOSTILE_CHECKS[construct]))


def _compiled(yaml_text: str):
    scenario = parse(yaml_text, "test.yaml")
    return scenario, compile_scenario(scenario)


def test_the_export_writes_no_body_node_the_compiler_did_not_validate():
    """The export's own guard: with the compiler's record of validated nodes emptied, it refuses the body."""
    scenario, program = _compiled(hostile_scenario("with C:\n    C.wait_for(lambda: x == 1)"))
    export_python(scenario, program)  # the compiler's record covers the body
    stripped = dataclasses.replace(program, threads=tuple(
        dataclasses.replace(thread, accepted=frozenset()) for thread in program.threads))
    for steps in (False, True):
        with pytest.raises(ExportError, match="the model did not validate it"):
            export_python(scenario, stripped, steps=steps)


def test_the_export_writes_no_check_node_the_compiler_did_not_validate():
    scenario, program = _compiled(hostile_scenario(checks='checks:\n  final: ["x == 1"]\n'))
    export_python(scenario, program)
    stripped = dataclasses.replace(program, final_checks=tuple(
        dataclasses.replace(check, accepted=frozenset()) for check in program.final_checks))
    with pytest.raises(ExportError, match="of check 'x == 1'"):
        export_python(scenario, stripped)


# -- the fuzzers' failures, one file per signature ------------------------------------

FUZZ = Path(__file__).resolve().parent / "data" / "fuzz"
SECONDS = 10
HANG_SECONDS = 120
MEMORY_CAP = 2 << 30


def fuzz_commands() -> list[str]:
    """Every `schedsim ...` command that the fuzzers' INDEX.md gives (with its comment, if any)."""
    return re.findall(r"`(schedsim [^`]+)`", (FUZZ / "INDEX.md").read_text(encoding="utf-8"))


def run_schedsim(args: list[str], cwd: Path, interrupt_after: float | None = None) -> subprocess.CompletedProcess:
    """`python -m schedsim ARGS` in `cwd`, as a user would run it, stopped after SECONDS of CPU.

    With `interrupt_after`, a Ctrl-C (SIGINT) reaches it after that many
    seconds of its CPU. CPU time, not wall time, since the machine may be
    busy with other work; HANG_SECONDS of wall time stops it in any case.
    """
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "schedsim", *args], cwd=cwd, env=env, preexec_fn=_memory_cap,
                                 stdout=stdout, stderr=stderr, text=True)
        started = time.monotonic()
        while child.poll() is None:
            used = _cpu_seconds(child.pid)
            if interrupt_after is not None and used >= interrupt_after:
                child.send_signal(signal.SIGINT)
                interrupt_after = None
            if used > SECONDS or time.monotonic() - started > HANG_SECONDS:
                child.kill()
                child.wait()
                pytest.fail(f"schedsim {args[0]} ran past {SECONDS} s of CPU ({used:.1f} s)")
            time.sleep(0.05)
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(child.args, child.returncode, stdout.read(), stderr.read())


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and of the children it has waited for (Linux /proc), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _memory_cap() -> None:
    """At most MEMORY_CAP bytes for the child: a value that escapes its bound fails the test, not the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def fuzz_arguments(command: str, tmp_path: Path) -> list[str]:
    """The command's arguments with its input file made in `tmp_path` (.gz ones decompressed)."""
    args = shlex.split(command.split("#")[0])[1:]
    for position, arg in enumerate(args):
        if arg == "<dev_zero>":
            args[position] = "/dev/zero"
        elif arg == "<fifo>":
            args[position] = str(tmp_path / "fifo")
            os.mkfifo(args[position])
        elif (FUZZ / arg).is_file():
            data = (FUZZ / arg).read_bytes()
            name = arg.removesuffix(".gz")
            (tmp_path / name).write_bytes(gzip.decompress(data) if arg.endswith(".gz") else data)
            args[position] = name
    return args


def assert_survives(args: list[str], tmp_path: Path, interrupt_after: float | None = None) -> None:
    """Exit 0-3, no traceback, within SECONDS, and no file left behind that the command did not get."""
    before = sorted(path.name for path in tmp_path.iterdir())
    result = run_schedsim(args, tmp_path, interrupt_after)
    assert result.returncode in (0, 1, 2, 3), (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def _fuzz_case(command: str):
    return pytest.param(command, id=" ".join(command.split("#")[0].split()[1:3])[:60])


@pytest.mark.parametrize("command", [_fuzz_case(command) for command in fuzz_commands()])
def test_a_fuzz_failure_now_ends_cleanly(tmp_path, command):
    """Each fuzz failure, run as INDEX.md says (a Ctrl-C where it says so): exit 0-3, no traceback, no file."""
    interrupt = re.search(r"Ctrl-C after (\d+) s", command)
    assert_survives(fuzz_arguments(command, tmp_path), tmp_path, interrupt and float(interrupt.group(1)))


# -- YAML that PyYAML chokes on, and files that never end ----------------------------------

BAD_YAML = [
    ("int", "shared: {x: !!int abc}", 1, "'abc' is not a valid int"),
    ("empty int", "shared: {x: !!int }", 1, "'' is not a valid int"),
    ("bool", "shared: {x: !!bool maybe}", 1, "'maybe' is not a valid bool"),
    ("timestamp", "shared: {x: !!timestamp nope}", 1, "'nope' is not a valid timestamp"),
    ("date key", "shared: {2020-13-45: 1}", 1, "'2020-13-45' is not a valid timestamp"),
    ("float", "shared:\n  x: !!float abc", 2, "'abc' is not a valid float"),
    ("python tag", "shared: {x: !!python/object:os.system ls}", 1, "could not determine a constructor"),
    ("recursive alias", "shared: {x: &a [*a]}", 1, "the alias *a is inside its own anchor"),
    ("billion laughs", "shared:\n  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
     + "".join(f"  {n}: &{n} [*{m}, *{m}, *{m}, *{m}, *{m}, *{m}, *{m}, *{m}, *{m}, *{m}]\n"
               for m, n in zip("abcdefgh", "bcdefghi")), 6, "more than 100,000 YAML values"),
    # Ours, or newer PyYAML's own "exceeded maximum nesting depth", whichever comes first.
    ("deep flow", "shared: {x: " + "[" * 1000 + "]" * 1000 + "}", 1, "nest"),
    ("deep block", "shared:\n  x:\n" + "".join("  " * depth + "  -\n" for depth in range(1, 500)), 101,
     "YAML nested more than 100 deep"),
    ("unclosed", "shared: {x: [1, 2}", 1, "invalid YAML:"),
    ("long text aliases", 'shared:\n  s: &s "' + "a" * 900_000 + '"\n  t: [*s, *s]', 3,
     "more than 2,000,000 characters of YAML text once aliases are expanded"),
    ("list over the value size", 'shared:\n  s: &s "' + "a" * 600_000 + '"\n  t: [*s, *s]', 3,
     "shared variable 't': a list is larger than the model holds"),
]


@pytest.mark.parametrize("text, line, words", [case[1:] for case in BAD_YAML], ids=[case[0] for case in BAD_YAML])
def test_bad_yaml_is_one_located_line(tmp_path, text, line, words):
    """PyYAML's own errors, bombs and deep nesting: `FILE:LINE: message` on one line, exit 2, quickly."""
    path = write_scenario(tmp_path, text + "\nthreads:\n  A: pass\n")
    started = time.process_time()  # CPU: the machine may be busy with other work
    result = invoke("explore", path)
    assert time.process_time() - started < 2
    assert result.exit_code == 2
    assert result.stderr == f"schedsim: {path}:{line}: {result.stderr.split(': ', 2)[2]}"
    assert words in result.stderr and result.stderr.count("\n") == 1


def test_a_lone_surrogate_is_refused_by_the_pure_python_parser_too(monkeypatch):
    """libyaml refuses "\\ud800" itself; without it the reader must, as it cannot be printed."""
    monkeypatch.setattr(scenario_module, "SAFE_LOADER", yaml.SafeLoader)
    for text in ('shared: {x: "\\ud800"}\nthreads:\n  A: pass\n', 'threads:\n  A: "print(\\"\\ud800\\")"\n',
                 'threads:\n  A: pass\nchecks: {final: ["\\"\\udfff\\" == 1"]}\n'):
        with pytest.raises(ScenarioError, match="lone surrogate"):
            parse(text, "s.yaml")


def test_files_that_never_end_or_are_too_big_are_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.yaml"
    big.write_text("threads:\n  A: pass\n" + "#" * 1_000_000)
    for path, words in (("/dev/zero", "not a regular file"), (str(fifo), "not a regular file"),
                        (str(big), "the file is larger than 1,000,000 bytes")):
        result = invoke("explore", path)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"schedsim: {path}: {words}") and result.stderr.count("\n") == 1


# -- sizes the compiler refuses ------------------------------------------------------------

def _threads(*bodies: str) -> str:
    return "shared: {x: 0}\nthreads:\n" + "".join(f"  T{n}: |\n{textwrap.indent(body, '    ')}\n"
                                                  for n, body in enumerate(bodies))


TOO_BIG = [
    ("count", "threads:\n  W:\n    count: 1000000000\n    code: pass\n", 3, "'count' may be at most 1,000"),
    ("threads", "threads:\n" + "".join(f"  T{n}: pass\n" for n in range(1001)), 1002, "more than 1,000 threads"),
    ("unary minus 3000", _threads("x = " + "-" * 3000 + "1"), 4, "nested"),  # by the parser or the depth check
    ("unary minus 10000", _threads("x = " + "-" * 10000 + "1"), 4, "nested too deeply for Python's parser"),
    ("a + b 500", _threads("x = " + " + ".join(["x"] * 500)), 4, "nested more than 100 deep"),
    ("not 500", _threads("x = " + "not " * 500 + "x"), 4, "nested more than 100 deep"),
    ("check", _threads("pass") + 'checks:\n  final: ["' + "-" * 300 + 'x == 0"]\n', 6, "nested more than 100 deep"),
    ("print 10000 reads", _threads("print(" + ", ".join(["x"] * 10000) + ")"), 4,
     "reads shared objects 10,000 times, more than the 1,000"),
    ("null byte", 'threads:\n  A: "x = \\x00"\n', 2, "cannot contain null bytes"),
]


@pytest.mark.parametrize("text, line, words", [case[1:] for case in TOO_BIG], ids=[case[0] for case in TOO_BIG])
def test_code_too_big_to_model_is_one_located_line_within_a_second(tmp_path, text, line, words):
    path = write_scenario(tmp_path, text)
    started = time.process_time()  # CPU: the machine may be busy with other work
    result = invoke("explore", path)
    assert time.process_time() - started < 2
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(f"schedsim: {path}:{line}: ") and result.stderr.count("\n") == 1
    assert words in result.stderr


def test_long_lines_compile_in_linear_time():
    """A print of 10,000 constants and 5,000 statements: each statement's text is cut from its own lines."""
    body = "print(" + ", ".join(["1"] * 10_000) + ")\n" + "a = 1\n" * 5_000
    started = time.process_time()  # CPU: the machine may be busy with other work
    program = compile_scenario(parse(_threads(body), "long.yaml"))
    assert time.process_time() - started < 2
    assert program.threads[0].code[0].text.startswith("print(1, 1, ")
    assert program.threads[0].code[-1].text == "a = 1"


# -- values a step may create ---------------------------------------------------------------

TOO_LARGE_VALUES = [
    ("shift", "x = 1 << (2**64)", "would have more than 10,000 bits"),
    ("shift 10**9", "x = 1 << (10**9)", "would have more than 10,000 bits"),
    ("power", "x = 2 ** (10**9)", "2 ** 1000000000 would have more than 10,000 bits"),
    ("product", "a = 1 << 6000\nx = a * a", "the product of ints of 6,001 and 6,001 bits"),
    ("repeated str", "x = 'a' * (10**9)", "a str of 1 characters times 1,000,000,000"),
    ("repeated list", "x = [0, 1] * (10**9)", "a list of size 3 times 1,000,000,000"),
    ("doubling list", "a = [0]\nwhile True:\n    a = a + a", "a list is larger than the model holds"),
    ("doubling str", "a = 'ab'\nwhile True:\n    a = a + a", "a str of 1,048,576 characters"),
    ("shared nested list", "a = [0]\nwhile True:\n    a = [a, a]", "larger than the model holds"),
    ("deep list", "a = 0\nwhile True:\n    a = [a]", "lists nested more than 100 deep"),
    ("format precision", "x = f'{x:.{10**9}f}'", "the format spec '.1000000000f' asks for a string"),
    ("format width", "x = f'{x:>{x + 10**8}}'", "the format spec '>100000000' asks for a string"),
    ("percent width", "x = '%999999999d' % 1", "the % format '%999999999d' asks for a string"),
    ("complex", "x = (-1) ** 0.5", "is a complex number, which the model does not hold"),
    ("int of a long str", "a = '9' * 5000\nx = int(a)", "ValueError: Exceeds the limit"),
    ("long print", "a = 'a' * 600000\nprint(a, a)", "the printed line is larger than the model holds"),
    ("silent loops", "for i in range(10**18):\n    for j in range(0):\n        pass",
     "for loops ran 10,000 rounds without a step of their own"),
]


@pytest.mark.parametrize("body, words", [case[1:] for case in TOO_LARGE_VALUES],
                         ids=[case[0] for case in TOO_LARGE_VALUES])
def test_a_step_that_would_create_too_large_a_value_ends_the_run_with_error(body, words):
    started = time.process_time()  # CPU: the machine may be busy with other work
    _, analysis = explored(_threads(body), max_states=2_000)
    assert time.process_time() - started < 2
    (outcome,) = analysis.outcomes
    assert outcome.status == "error"
    assert words in outcome.message


def test_values_just_under_the_bounds_are_held():
    """The bounds refuse only what they say: 2 ** 9999, a 999,999-character str, a list 99 deep."""
    _, analysis = explored(_threads("a = 2 ** 9999\nb = 'a' * 999_990\nc = 0\nfor i in range(99):\n    c = [c]\n"
                                    "x = len(str(a)) + len(b)"))
    (outcome,) = analysis.outcomes
    assert (outcome.status, outcome.final) == ("finished", (3010 + 999_990,))


def test_every_nan_is_one_value_so_equal_runs_are_one_outcome():
    """NaN != NaN, but two runs that both end with x = nan end the same way."""
    _, analysis = explored(_threads("x = 1e999 - 1e999", "x = 1e999 - 1e999"))
    (outcome,) = analysis.outcomes
    assert outcome.status == "finished" and outcome.interleavings == 2


# -- command-line numbers ---------------------------------------------------------------------

HUGE_OPTIONS = [
    (["sample", "--runs", "100000000000000000000"], "--runs may be at most 1,000,000,000"),
    (["sample", "--strategy", "pct", "--pct-steps", "99999999999999999999"], "--pct-steps may be at most 1,000,000,000"),
    (["sample", "--strategy", "pct", "--depth", "1000000"], "--depth may be at most 100"),
    (["sample", "--max-steps", "1" + "0" * 2000], "--max-steps must be a whole number, not '1000"),
    (["sample", "--jobs", "100000"], "--jobs may be at most 256"),
    (["sample", "--seed", str(2**64)], "--seed may be at most 18,446,744,073,709,551,615"),
    (["explore", "--max-states", "100000000000000000000"], "100000000000000000000 is not in the range"),
    (["crosscheck", "--runs", "100000000000000000000"], "100000000000000000000 is not in the range"),
]


@pytest.mark.parametrize("args, words", HUGE_OPTIONS, ids=[" ".join(args)[:40] for args, _ in HUGE_OPTIONS])
def test_huge_option_values_are_refused_at_once(tmp_path, args, words):
    path = write_scenario(tmp_path, "threads:\n  A: pass\n")
    started = time.process_time()  # CPU: the machine may be busy with other work
    result = invoke(args[0], path, *args[1:])
    assert time.process_time() - started < 2
    assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_the_largest_pct_options_still_run():
    result = invoke("sample", str(FUZZ / "20_traceback_MemoryError_at_schedsim_sampling_py_215_tally.yaml"),
                    "--strategy", "pct", "--pct-steps", "1000000000", "--depth", "100", "--runs", "3")
    assert result.exit_code == 0, result.stderr


# -- our own fuzzing: random mutations of the bundled scenarios -------------------------------
# SCHEDSIM_FUZZ_EXAMPLES=20000 runs a longer campaign than CI's few hundred examples.

BUNDLED = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))
FUZZ_EXAMPLES = int(os.environ.get("SCHEDSIM_FUZZ_EXAMPLES", "200"))
FUZZ_SECONDS = 5

# Pieces an attacker or a careless user would type; mutations insert them anywhere.
TOKENS = [
    "!!int ", "!!bool ", "!!timestamp ", "!!float ", "!!binary ", "!!python/object:os.system ", "&a ", "*a", "<<: *a",
    "[", "]", "{", "}", ",", ":", "- ", "? ", "|", ">", "\t", "\n", "  ", "    ", "#", "'", '"', "\\", "%",
    "1e999", "-1e999", "nan", "10**9", "2 ** 10**9", "1 << 10**6", "'a' * 10**8", "(-1) ** 0.5", "[x] * 10**7",
    "f'{x:>{10**9}}'", "lambda *, k=open('pwned', 'w'): True", "open('pwned', 'w')", "__import__('os')",
    "count: 100000", "count: 0", "daemon: true", "range(10**18)", "while True:\n        pass", "x", "L", "C",
    "print(", ")", "(", "not ", "-", "+", "==", "is", "global x", "del x", "yield", "\\ud800", "\\x00", "\u2028",
    "\ufb01", "None", "True", "[]", "{}", "0", "-1", "999999999999999999999",
]


class _TookTooLong(BaseException):
    """Raised by the alarm inside a command that runs past FUZZ_SECONDS (a BaseException: nothing catches it)."""


def _alarm(signum, frame):
    raise _TookTooLong()


# Statements over a name N of the scenario, inserted into a body at a line's indentation.
STATEMENTS = [
    "N = 2 ** N", "N = N * N * N", "N = [N, N]", "N = N + N", "N = [N]", "N = f'{N:>{N}}'", "N = str(N) * N",
    "N = N ** 0.5", "N = -N", "N = N << N", "N = 1e308 * 10", "N = N - N", "N = N[N]", "N = N[0:N]",
    "N.append(N)", "N[0] = N", "print(N, N, N)", "print(f'{N!r:{N}}')", "assert N, N", "N.acquire(timeout=-5)",
    "N.acquire(blocking={[]})", "N.wait_for(lambda k=N: N)", "N.wait(N)", "N.put(N)", "N = N.get(block=N)",
    "N.notify(N)", "N.start()", "N.join()", "N.release()", "with N:\n    N = N", "global N",
    "for i in range(N):\n    for j in range(0):\n        pass", "while N:\n    N = [N]", "if N:\n    N = N",
]


@st.composite
def mutated_scenarios(draw) -> str:
    """A bundled scenario with a few random cuts, copies and insertions of TOKENS and STATEMENTS."""
    text = BUNDLED[draw(st.integers(0, len(BUNDLED) - 1))].read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "cut", "copy", "digit", "statement", "statement"]))
        if kind == "statement":
            lines = text.split("\n")
            row = draw(st.integers(0, len(lines) - 1))
            indent = re.match(r" *", lines[row]).group()
            name = draw(st.sampled_from(sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", text)))))
            statement = draw(st.sampled_from(STATEMENTS)).replace("N", name)
            lines.insert(row + 1, textwrap.indent(statement, indent or "    "))
            text = "\n".join(lines)
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif kind == "copy":
            end = min(len(text), at + draw(st.integers(1, 200)))
            text = text[:end] + text[at:end] * draw(st.integers(1, 3)) + text[end:]
        else:
            text = re.sub(r"\d+", lambda match: draw(st.sampled_from(["0", "1", "9" * 12, "-3"])), text, count=1)
    return text


FUZZ_COMMANDS = (
    ["explore", "--json", "--max-states", "3000"],
    ["sample", "--runs", "5", "--max-steps", "300", "--max-states", "300", "--json"],
    ["export", "--python"],
)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize="SCHEDSIM_FUZZ_EXAMPLES" not in os.environ)  # CI: the same examples every time
@given(text=mutated_scenarios(), command=st.sampled_from(FUZZ_COMMANDS))
def test_a_mutated_scenario_ends_cleanly(text, command):
    """In-process: exit 0-3, no exception but SystemExit, within FUZZ_SECONDS, and no file created."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        previous = signal.signal(signal.SIGPROF, _alarm)
        signal.setitimer(signal.ITIMER_PROF, FUZZ_SECONDS)  # CPU seconds: SIGPROF
        cwd = os.getcwd()
        try:
            os.chdir(folder)
            result = invoke(command[0], str(path), *command[1:])
        except _TookTooLong:
            pytest.fail(f"schedsim {command[0]} took more than {FUZZ_SECONDS} s of CPU")
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
            os.chdir(cwd)
        assert result.exit_code in (0, 1, 2, 3), (result.exit_code, result.stderr)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.stderr
        assert os.listdir(folder) == ["mutant.yaml"]


def test_a_name_python_would_read_differently_is_refused(tmp_path):
    """YAML keeps 'ﬁ', Python reads the body's ﬁ as 'fi' (NFKC): the body would assign a local (M4)."""
    result = invoke("explore", write_scenario(tmp_path, "shared: {ﬁ: 0}\nthreads:\n  A: |\n    ﬁ = 1\n"))
    assert result.exit_code == 2
    assert "a shared variable 'ﬁ' is read by Python as 'fi'; write it 'fi'" in result.stderr
