"""The HTML page's data, without a browser: every state it shows is a node of the explored graph,
the page asks the network for nothing, and the same input gives the same bytes."""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from schedsim.reports import html_report
from schedsim.cli import load_program, main
from schedsim.engine.explorer import explore
from schedsim.analyses.analysis import analyse
from schedsim.analyses.findings import find
from schedsim.reports.report import build_report

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "scenarios" / "counter.yaml")


def report_of(path: str, max_states: int = 200_000):
    exploration = explore(load_program(path), max_states=max_states)
    return exploration, build_report(exploration, analyse(exploration), find(exploration, 100_000))


def embedded_json(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="schedsim-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_counter_nodes_are_the_explored_states():
    exploration, report = report_of(COUNTER)
    data = html_report.page_data(exploration, report)
    assert data["all_embedded"] and data["all_drawn"]
    assert len(data["nodes"]) == 21 == len(exploration.states)
    start = data["nodes"]["0"]
    # Both threads are at their first statement; A's step leads to node 1, B's to node 2 (BFS order).
    assert [data["instructions"][i][:2] for i in start["n"]] == [[12, "a = x"], [16, "b = x"]]
    assert start["e"] == [[0, 1], [1, 2]] and start["v"] == ["0"] and start["s"] is None


def test_each_outcome_schedule_ends_on_a_node_that_names_that_outcome():
    exploration, report = report_of(COUNTER)
    data = html_report.page_data(exploration, report)
    for index, outcome in enumerate(report["outcomes"]):
        node = "0"
        for name in outcome["schedule"]:
            tid = data["threads"].index(name)
            node = str(next(t for mover, t in data["nodes"][node]["e"] if mover == tid))
        end = data["nodes"][node]
        assert (end["s"], end["k"]) == (outcome["status"], index)
    lost = [node for node in data["nodes"].values() if node["s"] == "violation"]
    assert {tuple(node["v"]) for node in lost} == {("1",)}  # the lost update, and only it


def test_blocked_threads_say_what_they_wait_for(tmp_path):
    scenario = tmp_path / "lock.yaml"
    scenario.write_text("shared: {x: 0}\nlocks: [L]\nthreads:\n  A: |\n    with L:\n        x = 1\n"
                        "  B: |\n    with L:\n        x = 2\n", encoding="utf-8")
    exploration, report = report_of(str(scenario))
    data = html_report.page_data(exploration, report)
    after_a = data["nodes"]["1"]   # A took L
    assert [tid for tid, _ in after_a["e"]] == [0]
    assert after_a["w"] == {"1": "waits to acquire L (held by A) at line 8"}


def test_a_deadlocked_state_says_what_each_thread_waits_for():
    exploration, report = report_of(str(ROOT / "scenarios" / "deadlock.yaml"))
    data = html_report.page_data(exploration, report)
    stuck = [node for node in data["nodes"].values() if node["s"] == "deadlock"]
    assert stuck and all(node["e"] == [] and len(node["w"]) == 2 for node in stuck)
    assert all("waits to acquire" in why and "held by" in why for node in stuck for why in node["w"].values())


def test_big_graphs_embed_only_the_schedules_nodes(monkeypatch):
    monkeypatch.setattr(html_report, "EMBED_LIMIT", 5)
    exploration, report = report_of(COUNTER)
    data = html_report.page_data(exploration, report)
    assert not data["all_embedded"] and not data["all_drawn"]
    on_schedules = set()
    for trace in data["traces"]:
        node = 0
        on_schedules.add(node)
        for name in trace["schedule"]:
            tid = data["threads"].index(name)
            node = next(t for mover, t in data["nodes"][str(node)]["e"] if mover == tid)
            on_schedules.add(node)
    assert {int(n) for n in data["nodes"]} == on_schedules
    assert len(on_schedules) < 21


def test_predict_is_the_seeded_run_that_schedsim_run_shows():
    exploration, report = report_of(COUNTER)
    data = html_report.page_data(exploration, report, seed=3)
    result = CliRunner().invoke(main, ["run", COUNTER, "--seed", "3", "--json"])
    run = json.loads(result.output)
    assert [step["thread"] for step in data["predict"]["steps"]] == run["schedule"]
    assert [step["shared"] for step in data["predict"]["steps"]] == [[repr(s["shared"]["x"])] for s in run["steps"]]
    assert data["predict"]["status"] == run["status"]


def test_the_page_asks_the_network_for_nothing():
    exploration, report = report_of(COUNTER)
    page = html_report.page(exploration, report)
    assert "default-src 'none'" in page
    assert not re.search(r'\b(src|href)\s*=\s*"(?!#)', page)   # no external script, style, image or link
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]  # a namespace name only


def test_text_in_the_scenario_cannot_end_the_embedded_script(tmp_path):
    scenario = tmp_path / "sneaky.yaml"
    scenario.write_text('description: "</script><script>alert(1)</script>"\nshared: {x: 0}\n'
                        "threads:\n  A: |\n    x = 1\n", encoding="utf-8")
    exploration, report = report_of(str(scenario))
    page = html_report.page(exploration, report)
    assert page.count("</script>") == 2   # the data's and the code's own
    assert embedded_json(page)["report"]["description"] == "</script><script>alert(1)</script>"


def test_html_command_writes_the_page_and_explore_html_keeps_its_exit_status(tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["html", COUNTER, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and embedded_json(out.read_text(encoding="utf-8"))["report"]["states"] == 21
    other = tmp_path / "explore.html"
    result = CliRunner().invoke(main, ["explore", COUNTER, "--html", str(other)])
    assert result.exit_code == 1 and "VIOLATION" in result.output   # the lost update, as without --html
    assert other.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_html_command_bad_input_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["html", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and result.output.startswith("schedsim: ")
    result = CliRunner().invoke(main, ["html", COUNTER, "-o", str(tmp_path / "no" / "dir" / "x.html")])
    assert result.exit_code == 2 and "cannot write" in result.output


def test_same_page_for_every_hash_seed(tmp_path):
    pages = []
    for seed in ("0", "12345"):
        out = tmp_path / f"page{seed}.html"
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, "-m", "schedsim", "html", str(ROOT / "scenarios" / "bank_transfer.yaml"),
                        "-o", str(out)], check=True, env=env, capture_output=True)
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


def test_each_nodes_output_is_a_chain_of_printed_lines():
    exploration, report = report_of(str(ROOT / "scenarios" / "print_unlocked.yaml"))
    data = html_report.page_data(exploration, report)

    def lines(index):
        prefix, last = data["outputs"][index]
        return [] if prefix < 0 else lines(prefix) + [last]

    assert all(lines(data["nodes"][str(node)]["o"]) == list(state.output)
               for node, state in enumerate(exploration.states))
    assert len(data["outputs"]) == len({state.output for state in exploration.states})  # one entry per output


def test_notebook_html_holds_the_whole_page_in_an_iframe():
    exploration, report = report_of(COUNTER)
    frame = html_report.notebook_html(exploration, report)
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" style="[^"]*" sandbox="allow-scripts"></iframe>', frame)
    assert html.unescape(match.group(1)) == html_report.page(exploration, report)
