"""Stage 6, for a browser: one self-contained HTML page of an exploration.

The page is the JSON report (`report.build_report`) plus the explored state
graph, embedded as data, and a small script that only looks things up in it:
every state the page shows, including the states the student reaches by
being the scheduler, is a node of the explored graph, so the page never
computes a step of its own and cannot disagree with `explore`. Graphs larger
than EMBED_LIMIT states are embedded only along the outcomes' and findings'
schedules, and the page says so.

The CSS and the script are files under schedsim/reports/templates/, inlined into
the page; a Content-Security-Policy of `default-src 'none'` keeps the page
from asking the network for anything.
"""
from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from ..engine.explorer import Exploration, moves
from ..engine.program import DONE, Program
from .render import explore_text
from ..engine.replay import replay
from .report import run_json
from ..sampling import SampleError, SampleOptions, single_run
from ..engine.semantics import DEADLOCK, State, current_instruction, runnable, status, waiting_for
from ..engine.values import show

EMBED_LIMIT = 20_000  # states embedded whole; beyond, only the nodes on the schedules the report names
DRAW_LIMIT = 400      # states drawn whole; beyond, only the nodes on those schedules

NOT_STARTED, FINISHED_THREAD = -1, -2  # a thread's "next statement" when it has none


def page(exploration: Exploration, report: dict[str, Any], seed: int = 0) -> str:
    """The whole page as a string, for `schedsim html`, `explore --html` and Jupyter's `_repr_html_`."""
    data = page_data(exploration, report, seed)
    template = _template("page.html")
    title = f"schedsim: {exploration.program.name}"
    return (template.replace("{{title}}", _escape(title))
            .replace("{{css}}", _template("page.css"))
            .replace("{{js}}", _template("page.js"))
            .replace("{{data}}", _script_json(data)))


def page_data(exploration: Exploration, report: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Everything the page's script reads: the report, the source, the graph's nodes, a seeded run."""
    program = exploration.program
    traces = _traces(exploration, report)
    on_traces = sorted({node for trace in traces for node in trace["nodes"]})
    everything = len(exploration.states) <= EMBED_LIMIT
    embedded = range(len(exploration.states)) if everything else on_traces
    instructions: dict[tuple, int] = {}
    outputs: dict[tuple, int] = {}
    ends = _outcome_keys(exploration, report, traces)
    depths = _depths(exploration)
    nodes = {str(node): _node_json(exploration, node, depths[node], instructions, outputs, ends)
             for node in embedded}
    drawn = list(embedded) if len(embedded) <= DRAW_LIMIT else on_traces
    return {
        "report": report,
        "text": explore_text(report, program.file),
        "threads": list(program.thread_names),
        "shared": list(program.shared_names),
        "initial": [show(value) for value in program.initial_shared],
        "source": _source(program),
        "instructions": [list(key) for key in instructions],
        "outputs": [[outputs[lines[:-1]], lines[-1]] if lines else [-1, ""] for lines in outputs],
        "nodes": nodes,
        "all_embedded": everything,
        "embed_limit": EMBED_LIMIT,
        "drawn": drawn,
        "all_drawn": len(drawn) == len(exploration.states),
        "traces": [{"label": trace["label"], "schedule": trace["schedule"], "outcome": trace["outcome"]}
                   for trace in traces],
        "predict": _predict(program, seed),
    }


def notebook_html(exploration: Exploration, report: dict[str, Any], height: int = 720) -> str:
    """The page in an iframe, for Jupyter's `_repr_html_`: its ids, script and CSP stay its own,
    however many reports a notebook shows."""
    source = html.escape(page(exploration, report), quote=True)
    return (f'<iframe srcdoc="{source}" style="width: 100%; height: {height}px; border: 1px solid #ddd" '
            'sandbox="allow-scripts"></iframe>')


def _template(name: str) -> str:
    return resources.files("schedsim.reports").joinpath("templates", name).read_text(encoding="utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _script_json(data: Any) -> str:
    """JSON that is safe inside <script>: no `</script>` or `<!--` can end or bend it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _depths(exploration: Exploration) -> list[int]:
    """Each node's BFS depth: nodes are numbered in BFS order, so a parent comes before its child."""
    depths = [0] * len(exploration.states)
    for node in range(1, len(depths)):
        depths[node] = depths[exploration.parents[node]] + 1
    return depths


def _follow(exploration: Exploration, schedule: list[str]) -> list[int]:
    """The nodes a schedule (thread names) passes through from the initial state."""
    program = exploration.program
    path = [0]
    for name in schedule:
        tid = program.thread_index(name)
        path.append(next(target for mover, target in moves(exploration, path[-1]) if mover == tid))
    return path


FINDING_KINDS = ("violations", "races", "lock_order", "held_at_exit", "starvation")


def _traces(exploration: Exploration, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every schedule the report names (outcomes first, then findings), with its path of nodes."""
    named = [(f"outcome {number}", outcome["schedule"], number - 1)
             for number, outcome in enumerate(report["outcomes"], start=1)]
    for kind in FINDING_KINDS:
        for number, finding in enumerate(report[kind], start=1):
            label = f"{kind.replace('_', ' ')} {number}: {finding.get('message', '')}".rstrip(": ")
            named.extend((label + suffix, schedule, None) for suffix, schedule in _finding_schedules(finding))
    return [{"label": label, "schedule": list(schedule), "outcome": outcome,
             "nodes": _follow(exploration, schedule)} for label, schedule, outcome in named]


def _finding_schedules(finding: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(label suffix, schedule) of each run a finding names; a starvation lasso is shown with its
    cycle run once."""
    schedules = []
    if finding.get("schedule"):
        schedules.append(("", finding["schedule"] + finding.get("cycle", [])))
    if finding.get("deadlock_schedule"):
        schedules.append((" (the run that deadlocks)", finding["deadlock_schedule"]))
    return schedules


def _end_key(program: Program, state: State) -> tuple:
    """What makes an ended run one outcome: its status, final values, output and message."""
    return (status(program, state), state.shared, state.output, state.fault and state.fault[1])


def _outcome_keys(exploration: Exploration, report: dict[str, Any], traces: list[dict]) -> dict[tuple, int]:
    """Outcome index of each way a run can end, found at the end of the outcome's own schedule."""
    program = exploration.program
    keys = {}
    for trace in traces:
        if trace["outcome"] is not None:
            keys[_end_key(program, exploration.states[trace["nodes"][-1]])] = trace["outcome"]
    return keys


def _node_json(exploration: Exploration, node: int, depth: int, instructions: dict, outputs: dict,
               ends: dict) -> dict[str, Any]:
    """One state as the page shows it: next statements, why threads wait, values, output, steps out."""
    program, state = exploration.program, exploration.states[node]
    ended = status(program, state)
    ready = set(runnable(program, state))
    nexts, waits = [], {}
    for tid in range(len(program.threads)):
        instr = current_instruction(program, state, tid)
        if instr is None:
            nexts.append(FINISHED_THREAD if state.threads[tid][0] == DONE else NOT_STARTED)
        else:
            nexts.append(instructions.setdefault((instr.line, instr.text, instr.action), len(instructions)))
        if ended in (None, DEADLOCK) and tid not in ready and state.threads[tid][0] != DONE:
            waits[str(tid)] = waiting_for(program, state, tid)
    entry = {"d": depth, "n": nexts, "v": [show(value) for value in state.shared],
             "o": _output_index(state.output, outputs), "s": ended,
             "e": [[tid, target] for tid, target in moves(exploration, node)]}
    if waits:
        entry["w"] = waits
    if ended is not None:
        entry["m"] = state.fault[1] if state.fault else None
        entry["k"] = ends.get(_end_key(program, state))
    if exploration.is_frontier(node):
        entry["f"] = True
    return entry


def _output_index(lines: tuple, outputs: dict[tuple, int]) -> int:
    """The index of a printed output in a table of (index of all but the last line, last line).

    Each state's output holds every line printed so far; stored whole, a long
    run's outputs would grow with the square of its length.
    """
    known = len(lines)
    while known > 0 and lines[:known] not in outputs:
        known -= 1
    for length in range(known, len(lines) + 1):
        outputs.setdefault(lines[:length], len(outputs))
    return outputs[lines]


def _source(program: Program) -> dict[str, Any]:
    """The scenario's lines and, per thread, the span of lines its statements come from."""
    try:
        with open(program.file, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except (OSError, TypeError, UnicodeDecodeError):
        lines = []
    spans = []
    for thread in program.threads:
        numbers = [instr.line for instr in thread.code] or [thread.first_line]
        spans.append([min(numbers), max(numbers)])
    if not lines:  # no file to read (a program built in memory): the statements are all there is
        known = {instr.line: instr.text for thread in program.threads for instr in thread.code}
        lines = [known.get(number, "") for number in range(1, max(known, default=0) + 1)]
    return {"file": program.file, "lines": lines, "spans": spans}


def _predict(program: Program, seed: int) -> dict[str, Any] | None:
    """The seeded run of `schedsim run --predict --seed SEED`, every value shown, for the page to hide."""
    try:
        _, result = single_run(program, SampleOptions(seed=seed))
    except SampleError:
        return None
    run = replay(program, [program.threads[tid].name for tid in result.schedule])
    data = run_json(run)
    before = run.initial
    steps = []
    for item in run.steps:
        printed = item.after.output[-1] if len(item.after.output) > len(before.output) else None
        steps.append({"thread": program.threads[item.thread].name, "line": item.instruction.line,
                      "text": item.instruction.text, "action": item.instruction.action,
                      "shared": [show(value) for value in item.after.shared], "printed": printed})
        before = item.after
    return {"seed": seed, "steps": steps, "status": data["status"] or "unfinished",
            "message": data["message"], "output": data["output"]}
