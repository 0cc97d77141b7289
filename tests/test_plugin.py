"""schedsim.testing's assertions and the pytest plugin, run inside pytest by pytester."""
from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import pytest

import schedsim
from schedsim.testing import assert_never, assert_outcomes, assert_possible

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "scenarios" / "counter.yaml")
# The entry point of an installed schedsim is blocked, so that the plugin of this tree is the one loaded.
PLUGIN = ("-p", "no:schedsim", "-p", "schedsim.pytest_plugin",
          # hypothesis and benchmark take seconds to set up for each inner run, and no inner test uses them
          "-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:cacheprovider",
          "-W", "ignore::pytest.PytestAssertRewriteWarning")

COUNTER_YAML = """\
shared: {x: 0}
threads:
  A: |
    a = x
    x = a + 1
  B: |
    b = x
    x = b + 1
checks:
  final: ["x == 2", "x >= 1"]
  always: ["x <= 2"]
"""


def test_assert_outcomes_passes_on_the_exact_outcomes():
    result = assert_outcomes(COUNTER, {"finished": [{"x": 2}], "violation": [{"x": 1}]})
    assert [outcome.probability for outcome in result.outcomes] == [Fraction(1, 4), Fraction(3, 4)]


def test_assert_outcomes_names_the_unexpected_outcome_and_its_replay():
    with pytest.raises(AssertionError) as raised:
        assert_outcomes(COUNTER, {"finished": [{"x": 2}]})
    message = str(raised.value)
    assert "unexpected violation: x=1 (final check failed: x == 2 (line 20))" in message
    assert f"replay: schedsim replay {COUNTER} --schedule A,A,B,A,B,B" in message


def test_assert_outcomes_names_a_pattern_never_reached():
    with pytest.raises(AssertionError, match=r"never reached: finished \{'x': 3\}"):
        assert_outcomes(COUNTER, {"finished": [{"x": 2}, {"x": 3}], "violation": [{"x": 1}]})


def test_assert_never_fails_with_the_shortest_schedule():
    with pytest.raises(AssertionError) as raised:
        assert_never(COUNTER, final={"x": 1})
    assert "an interleaving ends with {'x': 1}" in str(raised.value)
    assert "--schedule A,A,B,A,B,B" in str(raised.value)


def test_assert_never_passes_and_reuses_a_result():
    result = schedsim.explore(COUNTER)
    assert assert_never(result, status="deadlock") is result


def test_assert_never_refuses_a_partial_exploration():
    """No failure in the part explored is not proof: the runs past the bound may fail."""
    with pytest.raises(AssertionError, match="stopped early"):
        assert_never(str(ROOT / "scenarios" / "dining_philosophers_5_ordered.yaml"), status="deadlock", max_states=50)


def test_assert_possible_returns_the_outcome_or_lists_those_reached():
    assert assert_possible(COUNTER, "finished", final={"x": 2}).interleavings == 2
    with pytest.raises(AssertionError) as raised:
        assert_possible(COUNTER, "deadlock")
    assert "no interleaving ends as deadlock" in str(raised.value)
    assert str(raised.value).count("replay: schedsim replay") == 2


def test_the_entry_point_names_the_plugin():
    """pip install registers the plugin with pytest through pytest11."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module = project["entry-points"]["pytest11"]["schedsim"]
    assert module == "schedsim.pytest_plugin"
    assert callable(__import__(module, fromlist=["x"]).pytest_collect_file)


def test_each_check_is_an_item_and_a_broken_one_fails_with_its_shortest_schedule(pytester):
    pytester.makefile(".schedsim.yaml", test_counter=COUNTER_YAML)
    result = pytester.runpytest(*PLUGIN, "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*test_counter.schedsim.yaml::final: x == 2 FAILED*",
        "*test_counter.schedsim.yaml::final: x >= 1 PASSED*",
        "*test_counter.schedsim.yaml::always: x <= 2 PASSED*",
        "test_counter.schedsim.yaml:10: final check 'x == 2' fails in 4 interleavings (probability 0.5)",
        "shortest schedule: A,B,A,B",
        "replay: schedsim replay test_counter.schedsim.yaml --schedule A,B,A,B",
    ])


def test_other_yaml_files_are_not_collected(pytester):
    """Collection is opt-in by the file's name."""
    pytester.makefile(".yaml", test_counter=COUNTER_YAML)
    pytester.makefile(".yaml", counter=COUNTER_YAML)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_bad_scenario_is_one_collection_error_without_a_traceback(pytester):
    pytester.makefile(".schedsim.yaml", test_bad="threads: {A: 'x = = 1'}\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["schedsim: test_bad.schedsim.yaml:1: thread A: *"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_the_helpers_fail_a_test_with_the_replay_command(pytester):
    pytester.makepyfile(f"""
        from schedsim.testing import assert_never

        def test_no_lost_update():
            assert_never({COUNTER!r}, final={{"x": 1}})
    """)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: counter: an interleaving ends with {'x': 1}*",
                                 "*replay: schedsim replay * --schedule A,A,B,A,B,B"])
