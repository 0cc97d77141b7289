"""The command line: parse arguments, call the pipeline, render, map to exit codes.

Exit status: 0 when every run finishes and every check holds, 1 when some
run can fail (violation, deadlock or error), 2 for bad input, 3 when an
incomplete exploration found nothing wrong in the part it covered.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from . import render
from .analysis import analyse
from .compiler import compile_scenario
from .errors import ScenarioError
from .explorer import DEFAULT_MAX_STATES, explore
from .graph_export import write_graph
from .program import Program
from .replay import ScheduleError, parse_schedule, replay
from .report import build_report, exit_status
from .scenario import load

BAD_INPUT = 2


def load_program(path: str) -> Program:
    return compile_scenario(load(path))


def _fail(message: str) -> None:
    click.echo(f"schedsim: {message}", err=True)
    sys.exit(BAD_INPUT)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class _ProgressLine:
    """Progress on stderr for long explorations: a live line on a terminal, a line every 10 s elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, states: int, transitions: int, seconds: float) -> None:
        if seconds < 1 or (not self.tty and seconds - self.last < 10):
            return
        self.last = seconds
        text = f"exploring: {states:,} states, {transitions:,} transitions, {states / seconds:,.0f} states/s"
        click.echo(("\r" + text) if self.tty else text, err=True, nl=not self.tty)
        self.shown = True

    def done(self) -> None:
        if self.shown and self.tty:
            click.echo("", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="schedsim")
def main() -> None:
    """Every interleaving of a small threaded program, counted exactly."""


def _max_states_option(function: Any) -> Any:
    return click.option("--max-states", type=click.IntRange(min=1), default=DEFAULT_MAX_STATES,
                        show_default=True, help="Stop exploring after this many states and report what was found.")(function)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@_max_states_option
def explore_command(file: str, as_json: bool, max_states: int) -> None:
    """Explore every interleaving of FILE and report each possible outcome."""
    program = _program(file)
    progress = _ProgressLine()
    exploration = explore(program, max_states=max_states, progress=progress)
    progress.done()
    if exploration.stopped == "limit":
        click.echo(f"schedsim: stopped at --max-states {max_states:,}; the report is partial. "
                   "A loop that can spin without bound, or too many threads or steps, often causes this.", err=True)
    elif exploration.stopped == "interrupted":
        click.echo("schedsim: interrupted; the report is partial.", err=True)
    report = build_report(exploration, analyse(exploration))
    if as_json:
        _echo_json(report)
    else:
        click.echo(render.explore_text(report, file), nl=False)
    sys.exit(exit_status(report))


explore_command.name = "explore"


@main.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--schedule", "schedule_text", required=True, help="Thread names, one per step: A,B,A,...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def replay_command(file: str, schedule_text: str, as_json: bool) -> None:
    """Run FILE with the given schedule and show it step by step."""
    program = _program(file)
    try:
        run = replay(program, parse_schedule(schedule_text))
    except ScheduleError as exc:
        _fail(f"{file}: {exc}")
    if as_json:
        _echo_json(_run_json(run))
    else:
        click.echo(render.run_text(run), nl=False)
    sys.exit(1 if run.status not in (None, "finished") else 0)


def _run_json(run: Any) -> dict[str, Any]:
    program = run.program
    final = run.final
    return {
        "scenario": program.name,
        "schedule": list(run.schedule),
        "status": run.status,
        "final": {name: _plain(value) for name, value in zip(program.shared_names, final.shared)},
        "output": list(final.output),
        "message": final.fault[1] if final.fault else None,
        "steps": [
            {"thread": program.threads[s.thread].name, "line": s.instruction.line,
             "text": s.instruction.text, "action": s.instruction.action,
             "shared": {name: _plain(value) for name, value in zip(program.shared_names, s.after.shared)}}
            for s in run.steps
        ],
    }


def _plain(value: Any) -> Any:
    from .values import to_json
    return to_json(value)


@main.command("show")
@click.argument("file", type=click.Path(dir_okay=False))
def show_command(file: str) -> None:
    """Print the compiled steps of FILE, one a line, with their source lines."""
    click.echo(render.program_text(_program(file)), nl=False)


@main.command("graph")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write: .dot/.gv (Graphviz), .graphml, or .json (networkx node-link).")
@_max_states_option
def graph_command(file: str, output: str, max_states: int) -> None:
    """Write the state graph of FILE as DOT, GraphML or JSON, by OUTPUT's suffix."""
    program = _program(file)
    exploration = explore(program, max_states=max_states)
    try:
        kind = write_graph(exploration, output)
    except ValueError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    graph = exploration.graph
    click.echo(f"wrote {graph.number_of_nodes():,} states and {graph.number_of_edges():,} steps to {output} ({kind})")


def _program(file: str) -> Program:
    try:
        return load_program(file)
    except ScenarioError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")
