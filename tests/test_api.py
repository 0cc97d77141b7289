"""The Python API: the CLI's pipeline as values, equal to the CLI's JSON, errors as ScenarioError."""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
import textwrap
from fractions import Fraction
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from conftest import SPIN_YAML
import schedsim
import schedsim.testing
from schedsim.cli import main
from strategies import scenarios

ROOT = Path(__file__).resolve().parent.parent
COUNTER = "scenarios/counter.yaml"


def bundled() -> list[str]:
    """Every bundled scenario but the seed's full Python programs (a million states each), which
    have a `_small` sibling that the suite explores instead."""
    files = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "python").glob("*.py"))
    return [str(path.relative_to(ROOT)) for path in files
            if not (path.suffix == ".py" and path.with_name(path.stem + "_small.py").exists())]


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(autouse=True)
def in_root(monkeypatch):
    """File names in reports are as given: run where the README's commands run."""
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("file", bundled())
def test_to_json_is_the_cli_json(file):
    """`Result.to_json()` is byte for byte what `schedsim explore FILE --json` prints."""
    result = schedsim.explore(file)
    printed = cli("explore", file, "--json")
    assert result.to_json() == printed.stdout
    assert result.exit_status == printed.exit_code


def test_counter_outcomes_have_names_lists_and_fractions():
    """The lost update: x == 2 in 2 of 20 interleavings (1/4), x == 1 in 18 (3/4), as SPEC's counter."""
    result = schedsim.explore(COUNTER)
    table = {(o.status, o.final["x"]): (o.interleavings, o.probability) for o in result.outcomes}
    assert table == {("finished", 2): (2, Fraction(1, 4)), ("violation", 1): (18, Fraction(3, 4))}
    lost = result.outcomes[1]
    assert lost.schedule == ["A", "A", "B", "A", "B", "B"]
    assert lost.output == [] and lost.message == "final check failed: x == 2 (line 20)"
    assert lost.replay_command == "schedsim replay scenarios/counter.yaml --schedule A,A,B,A,B,B"
    assert result.complete and result.interleavings == 20 and result.failures == [lost]


def test_the_graph_is_the_labelled_state_graph():
    """21 states, one edge per step, each node and edge labelled."""
    graph = schedsim.explore(COUNTER).graph
    assert isinstance(graph, nx.DiGraph) and graph.number_of_nodes() == 21
    assert graph.nodes[0]["label"] == "A:L12 B:L16 | x=0"
    assert {data["thread"] for _, _, data in graph.edges(data=True)} == {"A", "B"}


def test_findings_are_the_reports():
    """A deadlock by lock order shows in .findings.lock_order as in the JSON."""
    result = schedsim.explore("scenarios/deadlock.yaml")
    assert [inversion.as_json() for inversion in result.findings.lock_order] == result.to_dict()["lock_order"]
    assert result.findings.lock_order and result.exit_status == 1


def test_yaml_text_and_a_loaded_scenario_explore_alike():
    """A string with a newline is YAML text; a Scenario is explored as it is."""
    text = (ROOT / COUNTER).read_text()
    from_text = schedsim.explore(text)
    from_scenario = schedsim.explore(schedsim.load(COUNTER))
    assert [(o.status, o.final) for o in from_text.outcomes] == [(o.status, o.final) for o in from_scenario.outcomes]
    assert from_text.program.file == "<scenario>"


def test_a_spinning_loop_counts_infinitely_many():
    """Through a cycle the count is math.inf, and the probability stays exact."""
    result = schedsim.explore(textwrap.dedent(SPIN_YAML))
    assert result.interleavings == math.inf
    assert [(o.status, o.interleavings, o.probability) for o in result.outcomes] == [("finished", math.inf, 1)]


def test_a_partial_exploration_says_so():
    result = schedsim.explore("scenarios/dining_philosophers_5.yaml", max_states=100)
    assert not result.complete and result.exit_status in (1, 3)
    assert result.to_dict()["stopped"] == "limit"


def test_replay_is_the_cli_replay():
    """Result.replay and schedsim.replay give the run `schedsim replay --json` prints."""
    run = schedsim.explore(COUNTER).replay("A,A,B,A,B,B")
    assert run.final == {"x": 1} and run.status == "violation" and run.schedule == ["A", "A", "B", "A", "B", "B"]
    assert schedsim.replay(COUNTER, ["A", "A", "B", "A", "B", "B"]).to_json() == run.to_json()
    assert run.to_json() == cli("replay", COUNTER, "--schedule", "A,A,B,A,B,B", "--json").stdout
    assert str(run) == cli("replay", COUNTER, "--schedule", "A,A,B,A,B,B").stdout


def test_str_of_a_result_is_the_cli_text():
    assert str(schedsim.explore(COUNTER)) == cli("explore", COUNTER).stdout


def test_sample_is_the_cli_sample():
    report = schedsim.sample(COUNTER, runs=30, seed=4, strategy="pct")
    printed = cli("sample", COUNTER, "--runs", "30", "--seed", "4", "--strategy", "pct", "--json").stdout
    assert report == json.loads(printed)
    assert sum(outcome["runs"] for outcome in report["outcomes"]) == 30


def test_crosscheck_is_the_cli_crosscheck():
    report = schedsim.crosscheck(COUNTER, runs=3, seed=1)
    printed = json.loads(cli("crosscheck", COUNTER, "--runs", "3", "--seed", "1", "--json").stdout)
    assert report["verdict"] == printed["verdict"] == "agree"
    assert report["controlled"] == printed["controlled"]  # the free runs are real threads' luck


BAD = {
    "unknown name": "shared: {x: 0}\nthreads:\n  A: |\n    x = y\n",
    "bad yaml": "threads: [\n",
    "no threads": "shared: {x: 0}\n",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_the_cli_message(case, tmp_path, monkeypatch):
    """The same file fails the same way: ScenarioError (a ValueError) with the line the CLI prints."""
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(BAD[case])
    with pytest.raises(schedsim.ScenarioError) as raised:
        schedsim.explore("bad.yaml")
    printed = cli("explore", "bad.yaml")
    assert printed.exit_code == 2 and printed.stderr == f"schedsim: {raised.value}\n"
    assert isinstance(raised.value, ValueError) and str(raised.value).startswith("bad.yaml")


def test_a_missing_file_raises_the_cli_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(schedsim.ScenarioError) as raised:
        schedsim.load("missing.yaml")
    assert cli("explore", "missing.yaml").stderr == f"schedsim: {raised.value}\n"


def test_a_bad_schedule_raises_the_cli_message():
    with pytest.raises(schedsim.ScenarioError) as raised:
        schedsim.replay(COUNTER, "A,C")
    assert cli("replay", COUNTER, "--schedule", "A,C").stderr == f"schedsim: {raised.value}\n"
    assert "there is no thread 'C'" in str(raised.value)


def test_a_strategy_that_cannot_work_raises_the_cli_message():
    """The uniform strategy on a spinning loop: the CLI's line, file first."""
    with pytest.raises(schedsim.ScenarioError) as raised:
        schedsim.sample("scenarios/peterson.yaml", strategy="uniform")
    assert cli("sample", "scenarios/peterson.yaml", "--strategy", "uniform").stderr == f"schedsim: {raised.value}\n"


def test_bad_options_raise_scenario_error():
    with pytest.raises(schedsim.ScenarioError, match="unknown --strategy 'best'"):
        schedsim.sample(COUNTER, strategy="best")


def test_library_calls_print_nothing(capsys):
    result = schedsim.explore("scenarios/readers_writers.yaml")
    result.replay(result.outcomes[0].schedule)
    schedsim.sample(COUNTER, runs=5)
    assert capsys.readouterr() == ("", "")


def test_html_table_has_a_row_per_outcome_and_escapes():
    """Jupyter shows a Result as a table: a header row and one row per outcome, text escaped."""
    result = schedsim.explore("shared: {s: ''}\nthreads:\n  A: |\n    print('<b>')\n")
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + len(result.outcomes)
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert "<td>1</td>" in page and "findings" not in page


def test_html_counts_the_findings_under_the_table():
    """The counter's races on x are A's read with B's write, A's write with B's read, and the two
    writes: 3; the ordered philosophers have no finding."""
    assert "<p>findings: 3 data races" in schedsim.explore(COUNTER)._repr_html_()
    assert "findings" not in schedsim.explore("scenarios/dining_philosophers_3_ordered.yaml")._repr_html_()


def readme_api_examples() -> list[str]:
    """The ```python blocks of the README's API section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Python API\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "the README has a '## Python API' section"
    return re.findall(r"```python\n(.*?)```", section.group(1), re.S)


def test_every_readme_api_example_runs_and_prints_what_it_shows():
    """The README's examples run, in order, in one namespace, as a reader would type them; in a block
    that prints, its `# ` lines are what it prints."""
    examples = readme_api_examples()
    assert len(examples) >= 5
    namespace: dict = {}
    for example in examples:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(example, "README.md", "exec"), namespace)
        if "print(" in example:
            shown = [line[2:] for line in example.splitlines() if line.startswith("# ")]
            assert printed.getvalue().splitlines() == shown


def test_the_readme_failure_message_is_the_real_one():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"A\nfailure reads:\n\n```\n(.*?)```", text, re.S).group(1)
    with pytest.raises(AssertionError) as raised:
        schedsim.testing.assert_never(COUNTER, final={"x": 1})
    assert f"AssertionError: {raised.value}\n" == shown


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_each_outcome_is_its_json_entry_and_replays_to_itself(yaml_text):
    """An Outcome says what its report entry says, by name; its schedule replays to it through the API."""
    result = schedsim.explore(yaml_text)
    entries = result.to_dict()["outcomes"]
    assert len(entries) == len(result.outcomes)
    for outcome, entry in zip(result.outcomes, entries):
        assert (outcome.status, outcome.final, outcome.output, outcome.schedule, outcome.interleavings) == (
            entry["status"], entry["final"], entry["output"], entry["schedule"], entry["interleavings"])
        assert float(outcome.probability) == entry["probability"] and str(outcome.probability) == entry["probability_exact"]
        run = result.replay(outcome.schedule)
        assert (run.status, run.final, run.output, run.message) == (
            outcome.status, outcome.final, outcome.output, outcome.message)
    assert sum(outcome.probability for outcome in result.outcomes) == 1


def test_values_json_has_no_form_for_are_printed_as_the_cli_prints_them(tmp_path, monkeypatch):
    """inf and nan are strings in the JSON, as `--json` writes them, and floats in `.final`."""
    monkeypatch.chdir(tmp_path)
    Path("inf.yaml").write_text("shared: {x: 0.5}\nthreads:\n  A: |\n    x = x * 1e308 * 1e308\n"
                                "  B: |\n    x = x - x\n")
    result = schedsim.explore("inf.yaml")
    assert result.to_json() == cli("explore", "inf.yaml", "--json").stdout
    assert str(result) == cli("explore", "inf.yaml").stdout
    assert {outcome["final"]["x"] for outcome in result.to_dict()["outcomes"]} == {0.0, "nan", "inf", "-inf"}
    assert math.inf in [outcome.final["x"] for outcome in result.outcomes]
    assert json.loads(result.to_json()) == result.to_dict()
