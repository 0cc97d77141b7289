"""The Python API: the pipeline the CLI runs, as functions that return values.

`load` -> `explore` -> `Result` wires the same stages as `schedsim explore`
(scenario, compiler, explorer, analysis, findings, report), and
`Result.to_json()` is built by the same `report.build_report`, so the API and
the CLI's `--json` cannot drift apart. Nothing here prints or exits: every
mistake in the input, the schedule or the options is a `ScenarioError`
whose text is the line the CLI prints after `schedsim: `.
"""
from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any, Sequence, Union

from .analyses import analysis as _analysis
from .reports import render
from .engine.compiler import compile_scenario
from .real.crosscheck import DEFAULT_RUNS as CROSSCHECK_RUNS, Options as CrosscheckOptions
from .real.crosscheck import crosscheck as _crosscheck
from .errors import ScenarioError
from .engine.explorer import INTERRUPTED, Exploration
from .engine.explorer import explore as _explore
from .analyses.findings import Findings, find
from .limits import DEFAULT_BOUNDS
from .engine.program import STATEMENT, Program
from .engine.replay import Run, ScheduleError, parse_schedule, replay_command
from .engine.replay import replay as _replay
from .engine.por import POR, Reduction, explore_por
from .reports.report import build_reduced_report, build_report, exit_status, json_text, run_json, shared_json
from .reports.sample_report import build_sample_report
from .sampling import DEFAULT_DEPTH, DEFAULT_RUNS, DEFAULT_TOP, SampleError, SampleOptions, validate
from .sampling import sample as _sample
from .frontends.scenario import Scenario, parse
from .frontends.scenario import load as _load_file
from .engine.values import strict_json

if TYPE_CHECKING:
    import networkx as nx

Source = Union[str, "os.PathLike[str]", Scenario]
"""A scenario: a path (YAML or .py), YAML text (a string with a newline in it), or a loaded Scenario."""


def load(source: Source) -> Scenario:
    """A validated scenario from a file path, from YAML text, or as it is if already loaded.

    A `str` with a newline in it is YAML text; any other `str` or path
    names a file (`.py` files go through the Python frontend).
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, str) and "\n" in source:
        return parse(source)
    return _load_file(source)


def _program(source: Source, steps: str) -> Program:
    """The compiled program of a scenario, its steps of the mode `steps` ("statement" or "shared")."""
    return compile_scenario(load(source), steps)


def _count(count: Any) -> int | float | None:
    """An interleaving count: an int, math.inf through a cycle, None where not computed."""
    return math.inf if count is _analysis.INFINITE else count


@dataclass(frozen=True)
class Outcome:
    """One way the runs can end, with names instead of the report's positions.

    `interleavings` is math.inf where a cycle lies on the way and None where
    the analysis did not compute it; `probability` is a Fraction when exact,
    a float through large cycles, None where not computed.
    """

    status: str
    final: dict[str, Any]
    output: list[str]
    interleavings: int | float | None
    probability: Fraction | float | None
    schedule: list[str]
    message: str | None
    replay_command: str

    def __str__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.final.items())
        told = f"{self.status}: {values}" if values else self.status
        if self.output:
            told += f"; output {self.output!r}"
        if self.message:
            told += f" ({self.message})"
        return f"{told}\n  replay: {self.replay_command}"


def _outcome(program: Program, outcome: _analysis.Outcome) -> Outcome:
    return Outcome(
        status=outcome.status, final=shared_json(program, outcome.final), output=list(outcome.output),
        interleavings=_count(outcome.interleavings), probability=outcome.probability,
        schedule=list(outcome.schedule), message=outcome.message,
        replay_command=replay_command(program.file, outcome.schedule, program.steps),
    )


class Replay:
    """One run of a schedule, as `schedsim replay` shows it."""

    def __init__(self, run: Run):
        self.run = run
        self.schedule: list[str] = list(run.schedule)
        self.status: str | None = run.status  # None when the schedule stops before the run ends
        self.final: dict[str, Any] = shared_json(run.program, run.final.shared)
        self.output: list[str] = list(run.final.output)
        self.message: str | None = run.final.fault[1] if run.final.fault else None

    def to_dict(self) -> dict[str, Any]:
        """The dict `schedsim replay --json` prints: `json.loads(self.to_json())`."""
        return strict_json(run_json(self.run))

    def to_json(self) -> str:
        """Exactly the text `schedsim replay --json` prints."""
        return json_text(self.to_dict())

    def __str__(self) -> str:
        return render.run_text(self.run)

    def __repr__(self) -> str:
        return f"<Replay {self.run.program.name}: {len(self.schedule)} steps, {self.status or 'not ended'}>"


class Result:
    """Every interleaving of a scenario: its outcomes, findings, state graph and report.

    Under `explore(..., reduce="por")`, `reduction` is set: the outcomes are every end of a run, without
    counts or probabilities, there are no findings, and the graph is the part the reduction visited.
    """

    def __init__(self, exploration: Exploration, analysis: _analysis.Analysis, findings: Findings,
                 reduction: Reduction | None = None):
        self.reduction = reduction
        self.exploration = exploration
        self.analysis = analysis
        self.findings = findings  # .races, .lock_order, .held_at_exit, .starvation
        self.program: Program = exploration.program
        self.outcomes: list[Outcome] = [_outcome(self.program, outcome) for outcome in analysis.outcomes]

    @property
    def complete(self) -> bool:
        """True when exploration, analysis and findings all covered the whole state graph."""
        if self.reduction is not None:
            return self.exploration.complete
        return self.exploration.complete and self.analysis.complete and not self.findings.interrupted

    @property
    def interleavings(self) -> int | float | None:
        return _count(self.analysis.interleavings)

    @property
    def failures(self) -> list[Outcome]:
        """The outcomes that are neither finished nor running forever by design."""
        return [outcome for outcome in self.outcomes if outcome.status not in ("finished", _analysis.RUNS_FOREVER)]

    @cached_property
    def graph(self) -> "nx.DiGraph":
        """The state graph, each node labelled with positions and values, each edge with its step."""
        from .reports.graph_export import labelled_graph  # networkx loads only when the graph is asked for

        return labelled_graph(self.exploration)

    def to_dict(self) -> dict[str, Any]:
        """The dict `schedsim explore --json` prints: `json.loads(self.to_json())`."""
        return strict_json(self._report())

    def _report(self) -> dict[str, Any]:
        """The report as the CLI builds it, before JSON's restrictions; the text is rendered from it."""
        if self.reduction is not None:
            return build_reduced_report(self.reduction)
        return build_report(self.exploration, self.analysis, self.findings)

    def to_json(self) -> str:
        """Exactly the text `schedsim explore --json` prints."""
        return json_text(self.to_dict())

    @property
    def exit_status(self) -> int:
        """The exit status `schedsim explore` would give: 0, 1 or 3."""
        return exit_status(self._report())

    def replay(self, schedule: str | Sequence[str]) -> Replay:
        """The run of `schedule` (thread names, or "A,B,A"), step by step."""
        return _replay_program(self.program, schedule)

    def __str__(self) -> str:
        return render.explore_text(self._report(), self.program.file)

    def __repr__(self) -> str:
        state = "complete" if self.complete else "partial"
        return (f"<Result {self.program.name}: {len(self.outcomes)} outcomes, "
                f"{_number(self.interleavings)} interleavings, {state}>")

    def _repr_html_(self) -> str:
        """The outcomes as an HTML table, for Jupyter."""
        rows = "".join(_outcome_row(outcome) for outcome in self.outcomes)
        head = "".join(f"<th>{name}</th>" for name in ("status", "final", "output", "interleavings",
                                                         "probability", "shortest schedule"))
        caption = (f"{html.escape(self.program.name)}: {len(self.exploration.states):,} states, "
                   f"{_number(self.interleavings)} interleavings"
                   + ("" if self.complete else " (partial)"))
        return f"<table><caption>{caption}</caption><tr>{head}</tr>{rows}</table>{_findings_html(self.findings)}"


FINDING_WORDS = (("races", "data races"), ("lock_order", "lock-order inversions"),
                 ("held_at_exit", "locks held at exit"), ("starvation", "starvation cycles"))


def _findings_html(findings: Findings) -> str:
    """A line under the table that counts each kind of finding; nothing when there is none."""
    counts = [f"{len(getattr(findings, name))} {words}" for name, words in FINDING_WORDS if getattr(findings, name)]
    return f"<p>findings: {', '.join(counts)} (print the result for the details)</p>" if counts else ""


def _number(count: int | float | None) -> str:
    if count is None:
        return "not computed"
    return "infinitely many" if count == math.inf else f"{count:,}"


def _probability_text(probability: Fraction | float | None) -> str:
    if probability is None:
        return "not computed"
    return str(probability) if isinstance(probability, Fraction) else f"{probability:.6g}"


def _outcome_row(outcome: Outcome) -> str:
    final = ", ".join(f"{name} = {value!r}" for name, value in outcome.final.items())
    cells = (outcome.status + (f": {outcome.message}" if outcome.message else ""), final,
             "<br>".join(html.escape(line) for line in outcome.output),
             _number(outcome.interleavings), _probability_text(outcome.probability),
             ",".join(outcome.schedule))
    return "<tr>" + "".join(f"<td>{cell if index == 2 else html.escape(cell)}</td>"
                            for index, cell in enumerate(cells)) + "</tr>"


def explore(source: Source, *, max_states: int = DEFAULT_BOUNDS.max_states,
            max_race_states: int = DEFAULT_BOUNDS.max_race_states, symmetry: bool = True,
            reduce: str | None = None, steps: str = STATEMENT) -> Result:
    """Every interleaving of a scenario, as `schedsim explore` finds them (without its progress lines);
    `steps="shared"` is `--steps shared`.

    With `symmetry` (as the CLI's default), interchangeable threads are
    explored once per orbit: the counts are the full graph's, but
    `Result.exploration` (and its `graph`) holds the representatives only;
    pass `symmetry=False` for every real state. `reduce="por"` is
    `explore --reduce por`: every end of a run, without counts,
    probabilities or findings (`symmetry` does not apply to it, and it
    takes statement steps only).
    """
    if reduce is not None:
        if reduce != POR:
            raise ScenarioError(f"reduce must be None or {POR!r}, not {reduce!r}")
        if steps != STATEMENT:
            raise ScenarioError("reduce='por' takes statement steps only")
        reduction = explore_por(_program(source, steps), max_states=max_states)
        empty = Findings(races_complete=False, starvation_complete=False)
        return Result(reduction.exploration, _analysis.reached(reduction.exploration), empty, reduction)
    exploration = _explore(_program(source, steps), max_states=max_states, symmetry=symmetry)
    analysis = _analysis.analyse(exploration)
    if exploration.stopped == INTERRUPTED:  # as the CLI: after a Ctrl-C, no long searches
        findings = Findings(races_complete=False, interrupted="races")
    else:
        findings = find(exploration, max_race_states)
    return Result(exploration, analysis, findings)


def _replay_program(program: Program, schedule: str | Sequence[str]) -> Replay:
    names = parse_schedule(schedule) if isinstance(schedule, str) else list(schedule)
    try:
        return Replay(_replay(program, names))
    except ScheduleError as exc:
        raise ScenarioError(str(exc), file=program.file) from None


def replay(source: Source, schedule: str | Sequence[str], *, steps: str = STATEMENT) -> Replay:
    """The run of `schedule` (thread names, or "A,B,A"), as `schedsim replay` shows it."""
    return _replay_program(_program(source, steps), schedule)


def sample(source: Source, *, runs: int = DEFAULT_RUNS, seed: int = 0, strategy: str = "random",
           depth: int = DEFAULT_DEPTH, pct_steps: int | None = None,
           max_steps: int = DEFAULT_BOUNDS.sample_max_steps, max_states: int = DEFAULT_BOUNDS.sample_max_states,
           top: int = DEFAULT_TOP, jobs: int = 1, steps: str = STATEMENT) -> dict[str, Any]:
    """Seeded runs tallied by outcome: the dict `schedsim sample --json` prints with the same options."""
    program = _program(source, steps)
    options = SampleOptions(runs=runs, seed=seed, strategy=strategy, depth=depth, pct_steps=pct_steps,
                            max_steps=max_steps, max_states=max_states, top=top)
    try:
        validate(options)
        return strict_json(build_sample_report(_sample(program, options, jobs=jobs)))
    except SampleError as exc:
        raise ScenarioError(str(exc), file=program.file) from None


def crosscheck(source: Source, *, runs: int = CROSSCHECK_RUNS, seed: int = 0, jitter: bool = False,
               max_states: int = DEFAULT_BOUNDS.max_states, steps: str = STATEMENT) -> dict[str, Any]:
    """The model against real threads: the dict `schedsim crosscheck --json` prints with the same options."""
    from .real.realrun import RealRunError

    scenario = load(source)
    options = CrosscheckOptions(runs=runs, seed=seed, jitter=jitter, max_states=max_states)
    try:
        return strict_json(_crosscheck(scenario, compile_scenario(scenario, steps), options))
    except RealRunError as exc:
        raise ScenarioError(str(exc), file=scenario.file) from None

