"""Hostile and malformed input: no code runs that the scenario did not state, no traceback, no hang.

The export (`export --python`, `crosscheck`) writes a real Python program
and runs it, so every part of a body that reaches it must be one the model
validated: a part the model ignores (a lambda's default, say) would be code
that only the real run executes. Each payload below would create the file
`pwned` if it were pasted into the exported program.
"""
from __future__ import annotations

import dataclasses
import textwrap

import pytest

from conftest import invoke, write_scenario
from schedsim.compiler import compile_scenario
from schedsim.pyexport import ExportError, export_python
from schedsim.scenario import parse

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
