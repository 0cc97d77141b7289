"""What every command promises: strict JSON, exit codes with one meaning, one-line bad input.

Exit codes: 0 ok, 1 a run can fail, 2 bad input, 3 partial, 4 a schedsim bug.
"""
from __future__ import annotations

import json

import pytest

from conftest import invoke, write_scenario

# Writes a NaN and an infinity: neither is JSON. (A complex result ends the run
# with an error: the model holds no complex numbers, see test_hostile.)
ODD_VALUES = """
    shared: {x: 0, y: 0, z: 0}
    threads:
      A: |
        x = 1e999 - 1e999
        y = -1e999
      B: |
        z = 0.5
"""

DEADLOCK = """
    locks: [L, M]
    threads:
      A: |
        with L:
            with M:
                pass
      B: |
        with M:
            with L:
                pass
"""


def strict_loads(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity, which Python's json accepts but JSON has not."""
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def json_commands(path: str) -> list[list[str]]:
    """Every command that has --json, on one scenario."""
    return [
        ["explore", path, "--json"],
        ["replay", path, "--schedule", "A,A,B", "--json"],
        ["sample", path, "--runs", "5", "--json"],
        ["sample", path, "--runs", "5", "--strategy", "uniform", "--json"],
        ["run", path, "--seed", "2", "--json"],
        ["crosscheck", path, "--runs", "1", "--json"],
    ]


@pytest.mark.parametrize("command", range(len(json_commands(""))))
def test_every_json_output_is_strict_json_with_odd_values_as_the_strings_python_prints(tmp_path, command):
    """NaN is "nan" and minus infinity "-inf" in every --json output."""
    args = json_commands(write_scenario(tmp_path, ODD_VALUES))[command]
    result = invoke(*args)
    assert result.exit_code in (0, 1), result.stderr
    data = strict_loads(result.stdout)
    text = json.dumps(data)
    if args[0] in ("explore", "replay", "sample", "run"):
        assert '"nan"' in text and '"-inf"' in text


def test_text_reports_print_odd_values_as_python_does(tmp_path):
    """The text keeps Python's own forms: nan, not 'nan'."""
    result = invoke("explore", write_scenario(tmp_path, ODD_VALUES))
    assert "x=nan y=-inf" in result.stdout


def test_a_deadlock_is_told_in_the_same_words_by_explore_and_replay(tmp_path):
    """explore's outcome message and replay's (JSON and text) for the same run are one string."""
    path = write_scenario(tmp_path, DEADLOCK)
    outcome = next(o for o in strict_loads(invoke("explore", path, "--json").stdout)["outcomes"]
                   if o["status"] == "deadlock")
    assert outcome["message"] == ("A waits to acquire M (held by B) at line 5; "
                                  "B waits to acquire L (held by A) at line 9")
    schedule = ",".join(outcome["schedule"])
    replayed = invoke("replay", path, "--schedule", schedule, "--json")
    assert (replayed.exit_code, strict_loads(replayed.stdout)["message"]) == (1, outcome["message"])
    assert outcome["message"] in invoke("replay", path, "--schedule", schedule).stdout


@pytest.mark.parametrize("schedule, words", [
    ("", "the schedule is empty"),
    ("A,,B", "step 2 of the schedule 'A,,B' has no thread name"),
    ("A B,A", "not both"),
])
def test_a_schedule_with_a_missing_name_is_bad_input(tmp_path, schedule, words):
    path = write_scenario(tmp_path, DEADLOCK)
    result = invoke("replay", path, "--schedule", schedule)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"schedsim: {path}: ")
    assert words in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["explore", "show", "export", "crosscheck", "sample", "run", "graph"])
def test_a_directory_or_a_missing_file_is_one_line_and_exit_2(tmp_path, command):
    """Not click's usage screen: the loader's one line, naming the file."""
    extra = {"export": ["--python"], "graph": ["-o", str(tmp_path / "g.dot")]}.get(command, [])
    for path, why in ((str(tmp_path), "not a regular file: give a scenario file, not a device, pipe or folder"),
                      (str(tmp_path / "none.yaml"), "cannot read the file: No such file")):
        result = invoke(command, path, *extra)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"schedsim: {path}: {why}")
        assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command, module, target", [(["export", "--python"], "schedsim.real.pyexport", "export_python"),
                                                     (["crosscheck", "--runs", "1"], "schedsim.real.crosscheck", "crosscheck")])
def test_export_and_crosscheck_errors_are_located_in_the_file(tmp_path, monkeypatch, command, module, target):
    """M4 said '<scenario>': whatever the export refuses is told with the file's name."""
    import importlib

    from schedsim.real.pyexport import ExportError

    def refuse(*args):
        raise ExportError("cannot export this")
    monkeypatch.setattr(importlib.import_module(module), target, refuse)  # the commands import it when they run
    path = write_scenario(tmp_path, "threads:\n  A: a = 1\n")
    result = invoke(command[0], path, *command[1:])
    assert (result.exit_code, result.stderr) == (2, f"schedsim: {path}: cannot export this\n")


@pytest.mark.parametrize("name, words", [
    ("ﬁ", "a shared variable 'ﬁ' is read by Python as 'fi'; write it 'fi'"),
    ("print", "a shared variable must not be named 'print'"),
    ("__builtins__", "a shared variable must not be named '__builtins__'"),
])
def test_names_that_python_would_read_otherwise_are_refused(tmp_path, name, words):
    """M4: 'ﬁ' in the body is 'fi' to Python, so the shared 'ﬁ' would never change; a shared
    'print' would hide print() in the exported program and crosscheck would see a false mismatch."""
    path = write_scenario(tmp_path, f"shared: {{{name}: 0}}\nthreads:\n  A: |\n    a = 1\n")
    result = invoke("explore", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"schedsim: {path}:1: {words}")


@pytest.mark.parametrize("kind", ["locks", "events"])
def test_a_primitive_named_print_is_refused_too(tmp_path, kind):
    path = write_scenario(tmp_path, f"{kind}: [print]\nthreads:\n  A: |\n    a = 1\n")
    result = invoke("crosscheck", path, "--runs", "1")
    assert result.exit_code == 2
    assert "must not be named 'print'" in result.stderr


def test_a_schedsim_bug_is_exit_4_with_one_line_and_the_traceback_only_under_debug(tmp_path, monkeypatch):
    from schedsim import cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug\nsecond line")
    monkeypatch.setattr(cli, "explore", broken)
    path = write_scenario(tmp_path, "threads:\n  A: a = 1\n")
    plain = invoke("explore", path)
    assert plain.exit_code == 4
    assert plain.stderr == ("schedsim: internal error, please report: ZeroDivisionError: a bug "
                            "(schedsim --debug ... shows the traceback)\n")
    debug = invoke("--debug", "explore", path)
    assert debug.exit_code == 4
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.splitlines()[-1] == "schedsim: internal error, please report: ZeroDivisionError: a bug"


def test_a_partial_graph_is_exit_3(tmp_path):
    path = write_scenario(tmp_path, DEADLOCK)
    result = invoke("graph", path, "-o", str(tmp_path / "g.json"), "--max-states", "3")
    assert result.exit_code == 3
    assert "partial" in result.stderr
