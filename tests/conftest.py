"""Shared helpers: each test states a scenario and the behaviour it must have."""
from __future__ import annotations

import textwrap
from fractions import Fraction

import pytest

from schedsim.analyses.analysis import analyse
from schedsim.engine.compiler import compile_scenario
from schedsim.engine.explorer import explore
from schedsim.frontends.scenario import parse


def program_of(yaml_text: str):
    """Compile scenario YAML given inline (indentation is stripped)."""
    return compile_scenario(parse(textwrap.dedent(yaml_text), "test.yaml"))


def explored(yaml_text: str, max_states: int = 200_000):
    program = program_of(yaml_text)
    exploration = explore(program, max_states=max_states)
    return exploration, analyse(exploration)


def outcome_table(yaml_text: str) -> dict:
    """{(status, final values as a tuple): (interleavings, probability)} for a scenario."""
    _, analysis = explored(yaml_text)
    table = {}
    for outcome in analysis.outcomes:
        table[(outcome.status, outcome.final)] = (outcome.interleavings, outcome.probability)
    return table


def assert_outcomes(yaml_text: str, expected: dict) -> None:
    """Assert the exact outcome table: {(status, final): count} or {(status, final): (count, probability)}."""
    table = outcome_table(yaml_text)
    if all(not isinstance(value, tuple) for value in expected.values()):
        table = {key: count for key, (count, _) in table.items()}
    else:
        expected = {key: (count, Fraction(probability)) for key, (count, probability) in expected.items()}
    assert table == expected


COUNTER_YAML = """
    shared: {x: 0}
    threads:
      A: |
        a = x
        a = a + 1
        x = a
      B: |
        b = x
        b = b + 1
        x = b
"""


# A spins on a flag until B sets it: a cycle of states, infinitely many interleavings, one end.
SPIN_YAML = """
    shared: {flag: false}
    threads:
      A: |
        while not flag:
            pass
      B: |
        flag = True
"""


@pytest.fixture
def counter_yaml() -> str:
    """The lost-update counter: two threads, each a read, an add and a write of x."""
    return COUNTER_YAML


def outcome_rows(yaml_text: str) -> dict:
    """{(status, final values, output lines): (interleavings, probability)}: outcomes that differ only in output stay apart."""
    _, analysis = explored(yaml_text)
    return {
        (outcome.status, outcome.final, outcome.output): (outcome.interleavings, outcome.probability)
        for outcome in analysis.outcomes
    }


def cli_runner():
    """A click CliRunner that keeps stderr apart from stdout on every click version."""
    from click.testing import CliRunner
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def invoke(*args: str):
    """Run `schedsim ARGS...` in-process; the result has exit_code, stdout and stderr."""
    from schedsim.cli import main
    return cli_runner().invoke(main, list(args))


def write_scenario(directory, yaml_text: str, name: str = "scenario.yaml"):
    """Write scenario YAML (indentation stripped) to directory/name and return its path as a string."""
    path = directory / name
    path.write_text(textwrap.dedent(yaml_text).lstrip("\n"), encoding="utf-8")
    return str(path)
