"""Reports for people: the explore summary, --top/--all, numbers in words, schedules run-length encoded.

Every expectation is worked out by hand from a scenario small enough to count.
"""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, strategies as st

from conftest import COUNTER_YAML, invoke, write_scenario
from schedsim.reports.wording import chance, output_text, percent, plural, run_length, schedule_text

COUNTER_CHECKED = COUNTER_YAML + '    checks:\n      final: ["x == 2"]\n'

# Three threads print one letter each: 3! = 6 orders, 6 outcomes that differ only in output, 1/6 each.
THREE_PRINTS = """
    threads:
      A: |
        print("a")
      B: |
        print("b")
      C: |
        print("c")
    checks:
      final: ["False"]
"""

ONE_STEP = """
    shared: {x: 0}
    threads:
      A: |
        x = 1
"""


def test_plural_agrees_with_the_count():
    assert plural(1, "interleaving") == "1 interleaving"
    assert plural(0, "outcome") == "0 outcomes"
    assert plural(2304, "state") == "2,304 states"
    assert plural(2, "body", "bodies") == "2 bodies"


def test_a_fraction_is_shown_only_where_short():
    """Both numbers of at most 4 digits: shown beside the percent; otherwise the percent alone."""
    assert chance(0.25, "1/4") == "1/4 (25%)"
    assert chance(1.0, "1") == "100%"
    assert chance(40885277 / 62823245, "40885277/62823245") == "65.1%"
    assert chance(0.5, None) == "50% (floating point)"
    assert chance(None, None) == "not computed"


def test_a_percent_never_rounds_to_0_or_100():
    assert percent(0.000012345) == "0.00123%"
    assert percent(0.99999) == "99.999%"
    assert percent(2 / 3) == "66.7%"


def test_a_long_schedule_is_run_length_encoded():
    assert run_length(["R0"] * 4 + ["W"] * 7 + ["R0"]) == "R0*4 W*7 R0"
    assert schedule_text(["A", "B", "A"]) == "A,B,A"
    assert schedule_text(["A"] * 20) == "A*20"
    assert schedule_text([]) == "(none)"


@given(st.lists(st.sampled_from(["A", "B", "C7"]), max_size=40))
def test_run_length_encoding_gives_back_the_schedule(schedule):
    decoded = []
    for word in run_length(schedule).split():
        name, _, count = word.partition("*")
        decoded += [name] * int(count or 1)
    assert decoded == schedule


def test_long_output_is_cut_with_its_line_count():
    assert output_text(["a", "b"]) == "a | b"
    assert output_text(["x" * 40, "y" * 40]).endswith("... (2 lines in all)")


def test_explore_opens_with_a_summary_by_status(tmp_path):
    """The counter: 1 finished outcome, 2 of 20 interleavings, 1/4; 1 violation, 18, 3/4."""
    result = invoke("explore", write_scenario(tmp_path, COUNTER_CHECKED))
    lines = result.stdout.splitlines()
    summary = lines.index("Summary: 21 states, 28 transitions, 20 interleavings, 2 distinct outcomes")
    assert lines[summary + 1].split() == ["finished", "1", "outcome", "2", "interleavings", "1/4", "(25%)"]
    assert lines[summary + 2].split() == ["VIOLATION", "1", "outcome", "18", "interleavings", "3/4", "(75%)"]
    assert "An interleaving is one order" in lines[summary + 3]
    assert "probability" in result.stdout[result.stdout.index("An interleaving"):]


def test_explore_json_has_per_status_totals(tmp_path):
    result = invoke("explore", write_scenario(tmp_path, COUNTER_CHECKED), "--json")
    totals = json.loads(result.stdout)["status_totals"]
    assert totals == [
        {"status": "finished", "outcomes": 1, "interleavings": 2, "probability": 0.25, "probability_exact": "1/4"},
        {"status": "violation", "outcomes": 1, "interleavings": 18, "probability": 0.75, "probability_exact": "3/4"},
    ]


def test_top_describes_the_first_outcomes_and_sums_up_the_rest(tmp_path):
    """6 violations of 1/6 each: --top 2 describes 2 and says the other 4 make 2/3 together."""
    path = write_scenario(tmp_path, THREE_PRINTS)
    text = invoke("explore", path, "--top", "2").stdout
    assert "VIOLATION: 6 outcomes" in text
    assert "  1. VIOLATION" in text and "  2. VIOLATION" in text and "  3. VIOLATION" not in text
    assert "... and 4 more (66.7% together)" in text
    assert "1 of 6 interleavings, probability 1/6 (16.7%)" in text


def test_all_describes_every_outcome(tmp_path):
    text = invoke("explore", write_scenario(tmp_path, THREE_PRINTS), "--all").stdout
    assert all(f"  {number}. VIOLATION" in text for number in range(1, 7))
    assert "more (" not in text


def test_the_default_top_keeps_a_many_outcome_report_short(tmp_path):
    text = invoke("explore", write_scenario(tmp_path, THREE_PRINTS)).stdout
    assert "  3. VIOLATION" in text and "  4. VIOLATION" not in text
    assert "... and 3 more (50% together)" in text


def test_one_of_everything_is_singular(tmp_path):
    text = invoke("explore", write_scenario(tmp_path, ONE_STEP)).stdout
    assert "Summary: 2 states, 1 transition, 1 interleaving, 1 distinct outcome" in text
    assert "shortest schedule (1 step): A" in text
    assert "1 of 1 interleaving, probability 100%" in text
    assert "1 steps" not in text and "1 interleavings" not in text and "1 outcomes" not in text


def test_a_long_schedule_shows_run_length_encoded_and_replays_in_full(tmp_path):
    body = "".join(f"        x = {value}\n" for value in range(14))
    path = write_scenario(tmp_path, "    shared: {x: 0}\n    threads:\n      A: |\n" + body
                          + '    checks:\n      final: ["x == 0"]\n')
    text = invoke("explore", path).stdout
    assert "shortest schedule (14 steps): A*14" in text
    assert "--schedule " + ",".join(["A"] * 14) in text


def test_explore_takes_several_files_and_exits_with_the_worst_status(tmp_path):
    """A clean scenario (0) and the counter (1): both reported, exit 1; a bad file makes it 2."""
    clean = write_scenario(tmp_path, ONE_STEP, "clean.yaml")
    counter = write_scenario(tmp_path, COUNTER_CHECKED, "counter.yaml")
    result = invoke("explore", clean, counter)
    assert result.exit_code == 1
    assert result.stdout.count("Summary:") == 2
    bad = write_scenario(tmp_path, "    threads: 3\n", "bad.yaml")
    result = invoke("explore", clean, bad, counter)
    assert result.exit_code == 2
    assert result.stdout.count("Summary:") == 2
    assert result.stderr.count("schedsim: ") == 1 and "bad.yaml" in result.stderr


def test_several_files_with_json_give_a_list(tmp_path):
    clean = write_scenario(tmp_path, ONE_STEP, "clean.yaml")
    counter = write_scenario(tmp_path, COUNTER_CHECKED, "counter.yaml")
    reports = json.loads(invoke("explore", clean, counter, "--json").stdout)
    assert [report["interleavings"] for report in reports] == [1, 20]


def test_the_interpreters_exit_adds_no_message_to_a_run():
    """The exit step ends the run as finished with no message: nothing like 'None' under the outcome."""
    text = invoke("run", "scenarios/python/daemon_small.py", "--seed", "1").stdout
    assert "(the program exits: daemon threads are cut off)  [exit]" in text
    assert "outcome: finished" in text and "\n  None\n" not in text


def test_sample_rows_that_differ_only_in_output_read_apart(tmp_path):
    """The three printers: 6 outcomes with the same (empty) final values, each row shows its output."""
    path = write_scenario(tmp_path, THREE_PRINTS.replace('    checks:\n      final: ["False"]\n', ""))
    text = invoke("sample", path, "--runs", "200", "--top", "0").stdout
    rows = [line for line in text.splitlines() if line[:3].strip().isdigit() and "output:" in line]
    summaries = [line.split("output:")[1].split("  ")[0].strip() for line in rows]
    assert len(rows) == 6 and len(set(summaries)) == 6
    assert "a | b | c" in summaries


def test_sample_keeps_long_schedules_short_in_text(tmp_path):
    body = "".join(f"        x = {value}\n" for value in range(14))
    path = write_scenario(tmp_path, "    shared: {x: 0}\n    threads:\n      A: |\n" + body)
    text = invoke("sample", path, "--runs", "3").stdout
    assert "schedule (14 steps): A*14" in text
    assert ",".join(["A"] * 14) not in text


@pytest.mark.parametrize("jitter", [False, True])
def test_crosscheck_suggests_jitter_when_free_runs_miss_outcomes(jitter):
    """The hint shows exactly when runs without --jitter reached fewer outcomes than predicted."""
    text = invoke("crosscheck", "scenarios/counter.yaml", "--runs", "4", *(["--jitter"] if jitter else [])).stdout
    reached, predicted = map(int, re.search(r"Real runs reached (\d+) of (\d+)", text).groups())
    assert ("Try --jitter" in text) == (not jitter and reached < predicted)
    if "Try --jitter" in text:
        assert "GIL" in text


def _dot_labels(text: str) -> dict[int, str]:
    return {int(node): label for node, label in re.findall(r'^  (\d+) \[label="#\d+ ([^"]*)"', text, re.MULTILINE)}


def test_graph_labels_tell_every_state_apart_and_a_legend_explains_them(tmp_path):
    """The counter's states 13 and 14 (A at its second line, B done, x=1) differ only in A's local a: 0 and 1."""
    out = tmp_path / "counter.dot"
    invoke("graph", write_scenario(tmp_path, COUNTER_YAML), "-o", str(out))
    text = out.read_text(encoding="utf-8")
    labels = _dot_labels(text)
    assert len(labels) == 21 and len(set(labels.values())) == 21
    assert {labels[13], labels[14]} == {"A:L5 B:done | x=1 | A: a=0", "A:L5 B:done | x=1 | A: a=1"}
    assert "subgraph cluster_legend" in text and "finished: every thread is done" in text


def test_a_big_picture_shows_the_outcome_paths_unless_full(tmp_path):
    """print_unlocked: 294 states, one end kind (finished, no shared values): a 10-state path, 9 steps."""
    out = tmp_path / "pu.dot"
    result = invoke("graph", "scenarios/print_unlocked.yaml", "-o", str(out))
    assert "10 of 294 states" in result.stdout and "--full" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert len(_dot_labels(text)) == 10 and len(re.findall(r"^  \d+ -> \d+", text, re.MULTILINE)) == 9
    assert "1 line printed" in text and "1 lines" not in text
    invoke("graph", "scenarios/print_unlocked.yaml", "-o", str(out), "--full")
    assert len(_dot_labels(out.read_text(encoding="utf-8"))) == 294
    as_json = tmp_path / "pu.json"
    invoke("graph", "scenarios/print_unlocked.yaml", "-o", str(as_json))
    assert len(json.loads(as_json.read_text(encoding="utf-8"))["nodes"]) == 294  # for programs: always all


def test_a_body_of_only_global_is_one_line_of_bad_input(tmp_path):
    path = write_scenario(tmp_path, """
        shared: {x: 0}
        threads:
          A: |
            global x
    """)
    result = invoke("explore", path)
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"schedsim: {path}:4: thread A: ") and "global" in line and "IndexError" not in line


def test_long_output_of_an_outcome_is_cut_in_text_and_whole_in_json(tmp_path):
    """40 prints of 10 characters: 40 lines (about 520 characters) cut near 300 in text, all 40 in JSON."""
    body = "        for i in range(40):\n            print(\"line------\")\n"
    path = write_scenario(tmp_path, "    threads:\n      A: |\n" + body)
    text = invoke("explore", path).stdout
    [line] = [line for line in text.splitlines() if line.strip().startswith("output:")]
    assert line.endswith("... (40 lines in all)") and len(line) < 340
    assert json.loads(invoke("explore", path, "--json").stdout)["outcomes"][0]["output"] == ["line------"] * 40


def test_hitting_max_states_suggests_sample(tmp_path):
    path = write_scenario(tmp_path, COUNTER_CHECKED)
    result = invoke("explore", path, "--max-states", "5")
    assert "schedsim sample" in result.stderr
    assert f"`schedsim sample {path}` runs it many times instead" in result.stdout
