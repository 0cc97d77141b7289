"""Stage 6: the report, as plain data in the shape SPEC.md section 4 fixes.

`build_report` turns an exploration and its analysis into a dict that `json`
can print as it is; the text renderer reads the same dict, so the two never
disagree. Key order is fixed by construction, never by hashing.
"""
from __future__ import annotations

import json
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..analyses.analysis import INFINITE, RUNS_FOREVER, Analysis, Outcome, outcome_key, reached, total_count
from ..engine.explorer import Exploration, full_size
from ..engine.por import COVERS, NOT_COVERED, POR, Reduction
from ..engine.program import Program
from ..engine.replay import Run
from ..engine.semantics import VIOLATION
from ..engine.symmetry import find as find_symmetry
from ..engine.values import strict_json, to_json

if TYPE_CHECKING:
    from ..analyses.findings import Findings  # which loads numpy, for the liveness search: not needed to print a report


def json_text(data: dict[str, Any] | list) -> str:
    """A report as the `--json` commands print it: strict JSON, indented, final newline included."""
    return json.dumps(strict_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def count_json(count: Any) -> int | None:
    """An interleaving count for JSON: None stands for infinitely many."""
    return None if count is INFINITE else count


def probability_json(probability: Fraction | float | None) -> float | None:
    return None if probability is None else float(probability)


def exact_json(probability: Fraction | float | None) -> str | None:
    """The exact fraction as a string ("3/4"), or None where the number is a float (or unknown)."""
    return str(probability) if isinstance(probability, Fraction) else None


def shared_json(program: Program, values: tuple) -> dict[str, Any]:
    """Shared variables by name, as JSON values, in declaration order."""
    return {name: to_json(value) for name, value in zip(program.shared_names, values)}


def outcome_json(exploration: Exploration, outcome: Outcome) -> dict[str, Any]:
    entry = {
        "status": outcome.status,
        "final": shared_json(exploration.program, outcome.final),
        "output": list(outcome.output),
        "interleavings": count_json(outcome.interleavings),
        "probability": probability_json(outcome.probability),
        "probability_exact": exact_json(outcome.probability),
        "schedule": list(outcome.schedule),
    }
    if outcome.message is not None:
        entry["message"] = outcome.message
    return entry


def build_report(exploration: Exploration, analysis: Analysis, findings: Findings) -> dict[str, Any]:
    """The machine-readable report of one exhaustive exploration, its analysis and its findings."""
    program = exploration.program
    states, transitions = full_size(exploration)
    return {
        "scenario": program.name,
        "description": program.description,
        "step_mode": program.steps,
        "complete": exploration.complete,
        "stopped": exploration.stopped,
        "states": states,
        "transitions": transitions,
        "symmetry": symmetry_json(exploration),
        "interleavings": count_json(analysis.interleavings),
        "outcomes": [outcome_json(exploration, outcome) for outcome in analysis.outcomes],
        "status_totals": status_totals(analysis.outcomes),
        "deadlocks": analysis.deadlock_states,
        "violations": _violations(analysis),
        "loops": [{"thread": loop.thread, "line": loop.line, "text": loop.text} for loop in analysis.loops],
        "never_ends_probability": probability_json(analysis.never_ends),
        "unexplored_probability": probability_json(analysis.unexplored),
        "probabilities_exact": analysis.exact,
        "probability_residual": analysis.residual,
        "unsolved_component": analysis.unsolved,
        "analysis_complete": analysis.complete,
        "races": [race.as_json() for race in findings.races],
        "races_complete": findings.races_complete,
        "lock_order": [inversion.as_json() for inversion in findings.lock_order],
        "held_at_exit": [held.as_json() for held in findings.held_at_exit],
        "starvation": [lasso.as_json() for lasso in findings.starvation],
        "starvation_complete": findings.starvation_complete,
        "findings_interrupted": findings.interrupted,
    }


def build_reduced_report(reduction: Reduction) -> dict[str, Any]:
    """The report of a `--reduce por` exploration: explore's keys, every end reached without counts or
    probabilities, no findings, and a "reduction" key that says what the outcomes cover."""
    from ..analyses.findings import Findings

    exploration = reduction.exploration
    report = build_report(exploration, reached(exploration), Findings(races_complete=False, starvation_complete=False))
    report.update(analysis_complete=True, never_ends_probability=None, unexplored_probability=None,
                  probabilities_exact=False)
    report["reduction"] = {
        "kind": POR,
        "covers": list(COVERS),
        "not_covered": list(NOT_COVERED),
        "cyclic": reduction.cyclic,
        "fully_expanded": reduction.fully_expanded,
        "schedules": "shortest among the runs explored",
    }
    return report


def symmetry_json(exploration: Exploration) -> dict[str, Any] | None:
    """Which threads are interchangeable, and whether the exploration used it; None when no two are.

    `states` and `transitions` are always the full graph's; here are those explored."""
    classes = exploration.symmetry or (find_symmetry(exploration.program) if exploration.unreduced_why else None)
    if classes is None:
        return None
    return {
        "threads": classes.names(exploration.program),
        "reduced": exploration.symmetry is not None,
        "explored_states": len(exploration.states),
        "explored_transitions": exploration.transitions,
        "why_not": exploration.unreduced_why,
    }


def status_totals(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Per status reached, in the outcomes' order: how many outcomes, interleavings and how likely in all.

    The summary a reader wants first ("deadlock: 42 outcomes, 29%") without
    adding up the outcomes by hand; exact where every part is exact.
    """
    by_status: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(outcome)
    totals = []
    for kind, group in by_status.items():
        probability = _sum_or_none(outcome.probability for outcome in group)
        totals.append({
            "status": kind,
            "outcomes": len(group),
            "interleavings": count_json(total_count(outcome.interleavings for outcome in group)),
            "probability": probability_json(probability),
            "probability_exact": exact_json(probability),
        })
    return totals


def _violations(analysis: Analysis) -> list[dict[str, Any]]:
    """One entry per failed check: every outcome it ends, with the shortest schedule among them.

    Different final values can fail the same check (x == 3 fails with x
    at 1 and at 2); SPEC lists each failed check once.
    """
    by_check: dict[str, list[Outcome]] = {}
    for outcome in analysis.outcomes:
        if outcome.status == VIOLATION:
            by_check.setdefault(outcome.message, []).append(outcome)
    entries = []
    for message, outcomes in by_check.items():
        shortest = min(outcomes, key=lambda outcome: len(outcome.schedule))
        entries.append({
            "message": message,
            "schedule": list(shortest.schedule),
            "interleavings": count_json(total_count(outcome.interleavings for outcome in outcomes)),
            "probability": probability_json(_sum_or_none(outcome.probability for outcome in outcomes)),
        })
    return entries


def _sum_or_none(probabilities: Any) -> Fraction | float | None:
    """The sum of probabilities (a float if any one is), None if any one is unknown."""
    total: Any = Fraction(0)
    for probability in probabilities:
        if probability is None:
            return None
        total += probability
    return total


def run_json(run: Run) -> dict[str, Any]:
    """One run (replay, run), its outcome and every step with the shared variables after it.

    The message is the one explore gives the same end (`outcome_key`): the
    failed check, the error, or for a deadlock what each thread waits for.
    """
    program, final = run.program, run.final
    return {
        "scenario": program.name,
        "step_mode": program.steps,
        "schedule": list(run.schedule),
        "status": run.status,
        "final": shared_json(program, final.shared),
        "output": list(final.output),
        "message": outcome_key(program, final)[3],
        "steps": [
            {"thread": program.threads[s.thread].name, "line": s.instruction.line,
             "text": s.instruction.text, "action": s.instruction.action,
             "shared": shared_json(program, s.after.shared)}
            for s in run.steps
        ],
    }


def exit_status(report: dict[str, Any]) -> int:
    """0 when every run ends well (or runs forever by design), 1 when some run can fail or spin where
    it could end, 3 when unsure (incomplete, or a reduced graph with cycles: runs that never end are
    not covered)."""
    if any(outcome["status"] not in ("finished", RUNS_FOREVER) for outcome in report["outcomes"]):
        return 1
    if (report["never_ends_probability"] or 0) > 0:
        return 1
    partial = not report["complete"] or not report["analysis_complete"] or report["findings_interrupted"]
    partial = partial or report.get("reduction", {}).get("cyclic", False)
    return 3 if partial else 0
