"""The model checked against real `threading` runs (`schedsim crosscheck`).

Two checks make one report:

- Controlled replay: each outcome's shortest schedule from `explore`, and
  `runs` schedules of a seeded random walk, run on real threads through the
  steps program (`pyexport`, `realchild.py`). After every step the real
  threads must stand where the model's do, with the same shared values and
  output, and the run must end as `replay` says it does. A real thread that
  blocks where the model lets it run, or runs where the model says it is
  blocked, is a mismatch.
- Free runs: the plain exported program runs `runs` times with a tiny
  switch interval (and, with jitter, random pauses between statements); a
  `.py` file runs itself instead (`frontends/pyrun.py`).
  Every outcome a real run reaches must be one that `explore` predicts.

The model side only ever goes through `semantics.step`: via `replay`, the
sampler's random walk, and the explorer. Real runs happen in child processes.
"""
from __future__ import annotations

import ast
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import realrun
from ..frontends import pyrun
from ..analyses.analysis import Analysis, Outcome, analyse
from ..engine.compiler import with_steps
from ..engine.explorer import INTERRUPTED, Exploration, explore
from ..limits import CROSSCHECK_RUNS, DEFAULT_BOUNDS
from ..engine.program import DONE, NEW, STATEMENT, Program
from .pyexport import ExportError, Limits, export_python
from .realrun import Timeouts
from ..engine.replay import Run, replay
from ..reports.report import outcome_json, shared_json
from ..sampling import run_once, run_seed
from ..frontends.scenario import Scenario
from ..engine.semantics import DEADLOCK, State, initial_state, step
from ..strategies.randomwalk import RandomWalk

AGREE, MISMATCH, INCOMPLETE = "agree", "mismatch", "incomplete"
DEFAULT_RUNS = CROSSCHECK_RUNS
TIMEOUT = "timeout"  # a free run that did not end by its deadline: not one of SPEC's statuses


@dataclass(frozen=True)
class Options:
    """Every bound of a cross-check, in one place."""

    runs: int = DEFAULT_RUNS          # sampled schedules, and free runs
    seed: int = 0
    jitter: bool = False
    max_states: int = DEFAULT_BOUNDS.max_states
    max_steps: int = DEFAULT_BOUNDS.crosscheck_max_steps  # a sampled schedule stops here
    limits: Limits = field(default_factory=lambda: Limits(deadline_seconds=5.0))
    timeouts: Timeouts = field(default_factory=Timeouts)


def crosscheck(scenario: Scenario, program: Program, options: Options = Options()) -> dict[str, Any]:
    """Explore the model, run it on real threads both ways, and report where they differ.

    Raises ExportError when the scenario cannot be a real program at all, and
    realrun.RealRunError when the child processes fail for no real run's reason.
    """
    exploration = explore(program, max_states=options.max_states, symmetry=False)  # real runs reach real states
    if exploration.stopped == INTERRUPTED:
        raise KeyboardInterrupt  # explore stops quietly on Ctrl-C; no real run should start after it
    analysis = analyse(exploration)
    controlled = check_controlled(scenario, program, analysis, options)
    free = check_free(scenario, exploration, analysis, options)
    outcomes = [dict(outcome_json(exploration, outcome), hits=hits)
                for outcome, hits in zip(analysis.outcomes, free.pop("hits"))]
    mismatches = len(controlled["mismatches"]) + len(free["unpredicted"])
    if mismatches:
        verdict = MISMATCH
    else:
        verdict = AGREE if exploration.complete else INCOMPLETE
    return {
        "scenario": program.name, "file": program.file, "step_mode": program.steps, "seed": options.seed,
        "runs": options.runs,
        "jitter": options.jitter, "complete": exploration.complete, "outcomes": outcomes,
        "controlled": controlled, "free": free, "mismatches": mismatches, "verdict": verdict,
    }


def exit_status(report: dict[str, Any]) -> int:
    """0 when the model and real threads agree, 1 on a MODEL MISMATCH, 3 when exploration was incomplete."""
    return {AGREE: 0, MISMATCH: 1, INCOMPLETE: 3}[report["verdict"]]


# -- controlled replay ---------------------------------------------------------------

def schedules_to_check(program: Program, analysis: Analysis, options: Options) -> list[tuple[tuple[str, ...], str]]:
    """Each outcome's shortest schedule, then `runs` seeded random walks: (schedule, where from), no repeats."""
    found = [(outcome.schedule, "outcome") for outcome in analysis.outcomes]
    walk = RandomWalk()
    for number in range(options.runs):
        result = run_once(program, walk, random.Random(run_seed(options.seed, number)), options.max_steps)
        found.append((tuple(program.threads[tid].name for tid in result.schedule), "sample"))
    seen, unique = set(), []
    for schedule, source in found:
        if schedule not in seen:
            seen.add(schedule)
            unique.append((schedule, source))
    return unique


def check_controlled(scenario: Scenario, program: Program, analysis: Analysis, options: Options) -> dict[str, Any]:
    """Replay schedules on real threads, one step at a time, and compare each step with the model."""
    try:
        export = export_python(scenario, program, steps=True)
    except ExportError as exc:
        return {"skipped": f"thread {exc.thread}, line {exc.line}: {exc.message}", "schedules": 0, "from_outcomes": 0, "sampled": 0, "agreed": 0,
                "not_run": 0, "mismatches": []}
    schedules = schedules_to_check(program, analysis, options)
    runs = [replay(program, list(schedule)) for schedule, _ in schedules]
    if program.steps != STATEMENT:  # real threads stop at every instruction: compare them with statement steps
        program = with_steps(program, STATEMENT)
        schedules = [(in_statement_steps(program, run), source) for (_, source), run in zip(schedules, runs)]
        runs = [replay(program, list(schedule)) for schedule, _ in schedules]
    jobs = [([program.thread_index(name) for name in schedule], run.status == DEADLOCK)
            for (schedule, _), run in zip(schedules, runs)]
    batch = realrun.controlled(export, jobs, options.timeouts)
    mismatches = []
    for (schedule, source), run, record in zip(schedules, runs, batch.records):
        difference = compare(program, run, record)
        if difference is not None:
            mismatches.append(_mismatch_json(program, schedule, source, run, record, *difference))
    return {
        "skipped": None, "schedules": len(schedules),
        "from_outcomes": sum(source == "outcome" for _, source in schedules),
        "sampled": sum(source == "sample" for _, source in schedules),
        "agreed": len(batch.records) - len(mismatches), "not_run": len(schedules) - len(batch.records),
        "mismatches": mismatches,
    }


def in_statement_steps(statement: Program, run: Run) -> tuple[str, ...]:
    """The schedule of a run of coarser steps, one step per instruction, in `statement`, the same
    program in statement mode.

    Each shared step is made of statement steps (and so is the initial
    state, where leading local-only instructions ran), so the states of the
    run are states of `statement`; between two of them the stepping thread
    goes first, then a thread that it started runs its first local steps.
    """
    names: list[str] = []
    state = initial_state(statement)
    for tid, target in [(None, run.initial)] + [(item.thread, item.after) for item in run.steps]:
        state = _catch_up(statement, state, target, tid, names)
    return tuple(names)


def _catch_up(statement: Program, state: State, target: State, tid: int | None, names: list[str]) -> State:
    """Statement steps from `state` to `target`: thread `tid` first, then any other thread not there yet."""
    for _ in range(sum(len(thread.code) for thread in statement.threads) + 2):
        if state == target:
            return state
        behind = [other for other, (now, then) in enumerate(zip(state.threads, target.threads)) if now != then]
        mover = tid if tid is not None and (tid in behind or not behind) else behind[0]
        state = step(statement, state, mover)
        names.append(statement.threads[mover].name)
    raise AssertionError("a shared step that is not made of statement steps")


def compare(program: Program, run: Run, record: dict) -> tuple[int, str] | None:
    """The first step at which a real run differs from the model's, and how; None if none does."""
    states = [run.initial] + [step.after for step in run.steps]
    blocked = record["blocked_at"]
    for number, observed in enumerate(record["trace"][:blocked]):  # a blocked step's own entry tells nothing
        problem = _state_difference(program, states[number], observed)
        if problem:
            return number, problem
    steps = len(run.steps)
    if record["not_ready_at"] is not None:
        number = record["not_ready_at"]
        tid = program.thread_index(run.schedule[number - 1])
        return number, f"thread {program.threads[tid].name} was not waiting to take its next step in the real run"
    if blocked is not None:
        number = blocked
        if number == 0:
            return 0, "a real thread did not reach its first step"
        tid = program.thread_index(run.schedule[number - 1])
        instr = run.steps[number - 1].instruction
        return number, (f"thread {program.threads[tid].name} blocked in the real run where the model lets it run: "
                        f"line {instr.line}: {instr.text} ({instr.action})")
    if record["ended_after"] is not None and record["ended_after"] < steps:
        return record["ended_after"], f"the real run ended ({record['status']}) here; the model goes on"
    if record["probe_ran"] is not None:
        name = program.threads[record["probe_ran"]].name
        return steps, f"thread {name} took a step in the real run where the model says every thread is blocked"
    if record["status"] != run.status:
        return steps, f"the real run ended {record['status'] or 'not at all'}; the model says {run.status}"
    if record["output"] != list(run.final.output):
        return steps, "the real run printed other lines than the model"
    return None


def _state_difference(program: Program, state: Any, observed: list) -> str | None:
    positions, shared, lines = observed
    for tid, ((pc, _), real) in enumerate(zip(state.threads, positions)):
        if real != pc and not (real == "fault" and state.fault is not None):
            name = program.threads[tid].name
            return (f"thread {name} is at {_where(program, tid, real)} in the real run, "
                    f"at {_where(program, tid, pc)} in the model")
    for name, value, real in zip(program.shared_names, state.shared, shared):
        if repr(value) != real:
            return f"{name} is {real} in the real run, {value!r} in the model"
    if lines != len(state.output):
        return f"the real run has printed {lines} lines, the model {len(state.output)}"
    return None


def _where(program: Program, tid: int, position: Any) -> str:
    if position == DONE:
        return "its end"
    if position == NEW:
        return "its start (not started)"
    if isinstance(position, int):
        instr = program.threads[tid].code[position]
        return f"line {instr.line} ({instr.action}: {instr.text})"
    return {"running": "a step it never finished (blocked)", "fault": "an exception", "aborted": "an abort"}.get(
        position, str(position))


def _mismatch_json(program: Program, schedule: tuple[str, ...], source: str, run: Run, record: dict,
                   step: int, problem: str) -> dict[str, Any]:
    real_final = record["trace"][-1][1] if record["trace"] else []
    return {
        "schedule": list(schedule), "from": source, "step": step, "problem": problem,
        "model": {"status": run.status, "final": shared_json(program, run.final.shared),
                  "output": list(run.final.output), "message": run.final.fault[1] if run.final.fault else None},
        "real": {"status": record["status"], "final": _real_final(program, real_final),
                 "output": record["output"], "message": record["message"]},
    }


def _real_final(program: Program, reprs: list[str]) -> dict[str, Any]:
    """The real run's shared values, read back from their repr (kept as text where that fails, e.g. nan)."""
    values = {}
    for name, text in zip(program.shared_names, reprs):
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values


# -- free runs -------------------------------------------------------------------------

def check_free(scenario: Scenario, exploration: Exploration, analysis: Analysis, options: Options) -> dict[str, Any]:
    """Run the plain program and count, per predicted outcome, the real runs that reach it."""
    program = exploration.program
    limits = options.limits
    if scenario.file.endswith(".py"):  # a Python file is the program itself: run it as written
        batch = pyrun.free(pyrun.FileRuns(scenario.file, Path(scenario.file).read_text(encoding="utf-8"),
                                          program.shared_names, options.runs, options.seed, options.jitter, limits))
    else:
        export = export_python(scenario, program, jitter=options.jitter, limits=limits)
        batch = realrun.free(export, options.runs, options.seed, limits.deadline_seconds + limits.still_seconds + 1,
                             options.timeouts)
    hits = [0] * len(analysis.outcomes)
    unpredicted: dict[tuple, dict] = {}
    spinning = timed_out = 0
    for record in batch.records:
        timed_out += record["status"] in (DEADLOCK, TIMEOUT)
        if record["status"] == TIMEOUT and analysis.loops:
            spinning += 1
            continue
        index = _predicted(analysis.outcomes, record)
        if index is not None:
            hits[index] += 1
            continue
        key = (record["status"], tuple(record["final"]), tuple(record["output"]))
        entry = unpredicted.setdefault(key, {"status": record["status"], "final": _real_final(program, record["final"]),
                                             "output": record["output"], "message": record["message"], "runs": 0})
        entry["runs"] += 1
    _count_killed(batch.killed, analysis, unpredicted, limits)
    reached = sum(1 for count in hits if count)
    return {
        "program": "the file itself" if scenario.file.endswith(".py") else "the exported program",
        "runs": options.runs, "jitter": options.jitter, "switch_interval": limits.switch_interval,
        "timed_out": timed_out + batch.killed, "killed": batch.killed, "spinning": spinning,
        "reached": reached, "predicted": len(hits), "share": reached / len(hits) if hits else 1.0,
        "unpredicted": list(unpredicted.values()) if exploration.complete else [],
        "unconfirmed": [] if exploration.complete else list(unpredicted.values()),
        "hits": hits,
    }


def _count_killed(killed: int, analysis: Analysis, unpredicted: dict, limits: Limits) -> None:
    """A run whose child had to be killed counts as a deadlock, or a spin, if the model has one."""
    if not killed or analysis.loops or any(outcome.status == DEADLOCK for outcome in analysis.outcomes):
        return
    unpredicted[(TIMEOUT,)] = {"status": TIMEOUT, "final": {}, "output": [], "runs": killed,
                               "message": f"no answer within {limits.deadline_seconds:g} s; the run was killed"}


def _predicted(outcomes: list[Outcome], record: dict) -> int | None:
    """The predicted outcome a real run reached: same status, final values and output (and, among
    several such, the one whose message names the same thread or check)."""
    same = [index for index, outcome in enumerate(outcomes)
            if outcome.status == record["status"] and [repr(v) for v in outcome.final] == record["final"]
            and list(outcome.output) == record["output"]]
    for index in same:
        if _same_message(outcomes[index].message, record["message"]):
            return index
    return same[0] if same else None


def _same_message(model: str | None, real: str | None) -> bool:
    """Whether the model's message ("T, line 3: RuntimeError: ...") tells what the real one ("T: RuntimeError: ...") does."""
    if model is None or real is None:
        return model is real
    thread = real.partition(": ")[0]
    return model.startswith(f"{thread}, line ") or model.startswith(f"{real} (line")
