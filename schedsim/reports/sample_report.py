"""The sample report: plain data (for `--json`) and the text read from it.

Key names are the explore report's where the meaning is the same
(SPEC section 4): `status`, `final`, `output`, `interleavings`,
`probability` (exact, for a scheduler that picks uniformly among runnable
threads) and `schedule`. What only sampling has gets its own names: `runs`
and `frequency` per outcome, the `seed` and `run` that reproduce it. A run
stopped at `max_steps` has no SPEC status, so such runs are counted apart
under `unfinished`, never among the outcomes.
"""
from __future__ import annotations

import shlex
from typing import Any

from ..analyses.analysis import INFINITE, Outcome
from ..limits import DEFAULT_BOUNDS
from ..engine.program import STATEMENT
from .render import STATUS_WORDS, run_text
from ..engine.replay import Run, replay_command
from .report import count_json, outcome_json, shared_json
from ..sampling import UNFINISHED, Plan, RunResult, Sample, Seen
from .wording import output_text, plural, schedule_text, short_fraction, step_mode_lines


def build_sample_report(result: Sample) -> dict[str, Any]:
    plan = result.plan
    program, options, exploration, analysis = plan.program, plan.options, plan.exploration, plan.analysis
    report: dict[str, Any] = {
        "scenario": program.name,
        "description": program.description,
        "step_mode": program.steps,
        "strategy": options.strategy,
        "seed": options.seed,
        "runs": options.runs,
    }
    if options.strategy == "pct":
        report.update(depth=options.depth, pct_steps=plan.pct_steps)
    report.update({
        "max_steps": options.max_steps,
        "max_states": options.max_states,
        "steps": result.steps,
        "exact": exploration is not None,  # the whole state graph fitted: exact probabilities beside
        "states": len(exploration.states) if exploration else None,
        "transitions": exploration.transitions if exploration else None,
        "interleavings": count_json(analysis.interleavings) if analysis else None,
        "outcomes": [_seen_json(result, seen) for seen in result.outcomes],
        "more_outcomes": [{"status": kind, "outcomes": outcomes, "runs": runs}
                          for kind, (outcomes, runs) in result.more.items()],
        "unseen": [_unseen_json(result, outcome) for outcome in result.unseen],
        "more_unseen": result.more_unseen,
        "unfinished": _unfinished_json(result.unfinished),
        "violations": _violations(result),
    })
    return report


def _seen_json(result: Sample, seen: Seen) -> dict[str, Any]:
    plan = result.plan
    final = seen.first.final
    entry: dict[str, Any] = {
        "status": seen.status,
        "final": shared_json(plan.program, final.shared),
        "output": list(final.output),
        "runs": seen.runs,
        "frequency": seen.runs / plan.options.runs,
    }
    if seen.message is not None:
        entry["message"] = seen.message
    exact = seen.exact
    entry["probability"] = float(exact.probability) if exact else None
    entry["probability_exact"] = str(exact.probability) if exact else None
    entry["interleavings"] = count_json(exact.interleavings) if exact else None
    entry["interleaving_share"] = _share(result, exact)
    entry.update(schedule=_names(result, seen), run=seen.run, seed=seen.first.seed)
    return entry


def _unseen_json(result: Sample, outcome: Outcome) -> dict[str, Any]:
    entry = outcome_json(result.plan.exploration, outcome)
    entry["interleaving_share"] = _share(result, outcome)
    return entry


def _share(result: Sample, exact: Outcome | None) -> float | None:
    """The outcome's share of all interleavings, what the uniform strategy's frequency tends to."""
    total = result.plan.analysis.interleavings if result.plan.analysis else INFINITE
    if exact is None or total is INFINITE or exact.interleavings is INFINITE:
        return None
    return exact.interleavings / total


def _violations(result: Sample) -> list[dict[str, Any]]:
    """One entry per failed check, as explore lists them: its runs, and the first run's schedule."""
    by_check: dict[str, dict[str, Any]] = {}
    for seen in result.outcomes:
        if seen.status != "violation":
            continue
        entry = by_check.get(seen.message)
        if entry is None:
            by_check[seen.message] = {"message": seen.message, "schedule": _names(result, seen), "runs": seen.runs}
        else:
            entry["runs"] += seen.runs
    return list(by_check.values())


def _names(result: Sample, seen: Seen) -> list[str]:
    threads = result.plan.program.threads
    return [threads[tid].name for tid in seen.first.schedule]


def _unfinished_json(seen: Seen | None) -> dict[str, Any] | None:
    if seen is None:
        return None
    return {"runs": seen.runs, "run": seen.run, "seed": seen.first.seed}


def sample_exit_status(report: dict[str, Any]) -> int:
    """1 when some run went wrong, 3 when none did but some never ended, else 0."""
    kinds = [o["status"] for o in report["outcomes"]] + [m["status"] for m in report["more_outcomes"]]
    if any(kind != "finished" for kind in kinds):
        return 1
    return 3 if report["unfinished"] else 0


# -- text -------------------------------------------------------------------------

EXACT_HEADINGS = {"random": "exact", "uniform": "exact share", "pct": "p(random)"}


def sample_text(report: dict[str, Any], file: str) -> str:
    """The outcomes seen, most frequent first within each status, beside the exact odds."""
    lines = [f"scenario {report['scenario']}"]
    if report["description"]:
        lines.append(f"  {report['description']}")
    lines += step_mode_lines(report["step_mode"])
    lines += ["", _header(report), _exact_line(report), ""]
    lines += _table(report)
    for number, outcome in enumerate(report["outcomes"], start=1):
        lines += _outcome_lines(number, outcome, report, file)
    lines += _leftover_lines(report, file)
    lines += ["", _verdict(report)]
    return "\n".join(lines) + "\n"


def _header(report: dict[str, Any]) -> str:
    strategy = report["strategy"]
    if strategy == "pct":
        strategy += f" (depth {report['depth']}, change points among the first {report['pct_steps']:,} steps)"
    return f"{report['runs']:,} runs, strategy {strategy}, seed {report['seed']}: {report['steps']:,} steps"


def _exact_line(report: dict[str, Any]) -> str:
    if not report["exact"]:
        return "exact probabilities: not computed (the state graph is over --max-states)"
    total = report["interleavings"]
    total_text = "infinitely many" if total is None else f"{total:,}"
    text = f"exact probabilities: from the whole state graph ({report['states']:,} states, {total_text} interleavings)"
    if report["strategy"] == "pct":
        text += "\n  p(random) is the chance under the random strategy; PCT's own odds differ"
    return text


def _table(report: dict[str, Any]) -> list[str]:
    """Seen outcomes, then runs that did not end, then what explore says could happen but did not."""
    rows = [("#", "outcome", "runs", "frequency", EXACT_HEADINGS[report["strategy"]] if report["exact"] else "")]
    for number, outcome in enumerate(report["outcomes"], start=1):
        rows.append((str(number), _summary(outcome), f"{outcome['runs']:,}", f"{outcome['frequency']:.4f}",
                     _exact_cell(outcome, report["strategy"])))
    for more in report["more_outcomes"]:
        rows.append(("", f"{more['outcomes']:,} more {STATUS_WORDS[more['status']]} "
                         f"outcome{'s' if more['outcomes'] != 1 else ''}",
                     f"{more['runs']:,}", f"{more['runs'] / report['runs']:.4f}", ""))
    if report["unfinished"]:
        runs = report["unfinished"]["runs"]
        rows.append(("", f"unfinished after {report['max_steps']:,} steps", f"{runs:,}", f"{runs / report['runs']:.4f}", ""))
    for outcome in report["unseen"]:
        rows.append(("-", _summary(outcome), "0", f"{0:.4f}", _exact_cell(outcome, report["strategy"])))
    if report["more_unseen"]:
        rows.append(("-", f"{report['more_unseen']:,} more possible outcome{'s' if report['more_unseen'] != 1 else ''}",
                     "0", f"{0:.4f}", ""))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    aligned = []
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                 row[3].rjust(widths[3]), row[4]]
        aligned.append(("  " + "  ".join(cells)).rstrip())
    return aligned


def _summary(outcome: dict[str, Any]) -> str:
    """Status, final values and the output: outcomes that differ only in what they printed read apart."""
    final = " ".join(f"{name}={repr(value)}" for name, value in outcome["final"].items())
    text = f"{STATUS_WORDS[outcome['status']]:<9}  {final}".rstrip()
    if outcome["output"]:
        text += f"  output: {output_text(_repeats(outcome['output']), SUMMARY_OUTPUT, len(outcome['output']))}"
    return text


SUMMARY_OUTPUT = 48  # characters of output in a table row; the outcome's own lines show more


def _repeats(lines: list[str]) -> list[str]:
    """Printed lines with a run of equal lines as one, `(x3)` after it: more of the output fits a row."""
    runs: list[list] = []
    for line in lines:
        if runs and runs[-1][0] == line:
            runs[-1][1] += 1
        else:
            runs.append([line, 1])
    return [line if count == 1 else f"{line} (x{count})" for line, count in runs]


def _exact_cell(outcome: dict[str, Any], strategy: str) -> str:
    if outcome.get("probability") is None:
        return ""
    if strategy == "uniform":
        count = outcome["interleavings"]
        return f"{outcome['interleaving_share']:.4f} ({plural(count, 'interleaving')})"
    fraction = short_fraction(outcome["probability_exact"])
    return f"{outcome['probability']:.4f}" + (f" ({fraction})" if fraction else "")


def _outcome_lines(number: int, outcome: dict[str, Any], report: dict[str, Any], file: str) -> list[str]:
    lines = ["", f"{number}. {_summary(outcome)}"]
    if outcome.get("message"):
        lines.append(f"   {outcome['message']}")
    if outcome["output"]:
        lines.append(f"   output: {output_text(outcome['output'], DETAIL_OUTPUT)}")
    lines.append(f"   first in run {outcome['run']:,}: {run_command(report, file, outcome['seed'])}")
    schedule = outcome["schedule"]
    lines.append(f"   schedule ({plural(len(schedule), 'step')}): {schedule_text(schedule)}")
    if outcome["status"] != "finished" and schedule:
        lines.append(f"   replay: {replay_command(file, outcome['schedule'], report['step_mode'])}")
    return lines


DETAIL_OUTPUT = 200  # characters of output under an outcome; --json has all of it


def _leftover_lines(report: dict[str, Any], file: str) -> list[str]:
    lines = []
    if report["unseen"]:
        lines += ["", "Possible, but not seen in these runs (shortest schedules from explore):"]
        for outcome in report["unseen"]:
            lines.append(f"   {_summary(outcome)}: {schedule_text(outcome['schedule'])}")
    unfinished = report["unfinished"]
    if unfinished:
        lines += ["", f"{plural(unfinished['runs'], 'run')} {'was' if unfinished['runs'] == 1 else 'were'} still going after --max-steps {report['max_steps']:,} "
                      "('unfinished' is not a way a run ends, only where sampling stopped it).",
                  "   Often a loop that spins until another thread runs; under pct, a spinning thread keeps the "
                  "highest priority after the last change point. Try --strategy random or a larger --max-steps.",
                  f"   first in run {unfinished['run']:,}: {run_command(report, file, unfinished['seed'])}"]
    return lines


def run_command(options: dict[str, Any], file: str, seed: int) -> str:
    """The `schedsim run` command that redoes one run, given the report's options."""
    words = ["schedsim", "run", shlex.quote(file)]
    if options["step_mode"] != STATEMENT:
        words += ["--steps", options["step_mode"]]
    words += ["--seed", str(seed)]
    if options["strategy"] != "random":
        words += ["--strategy", options["strategy"]]
    if options["strategy"] == "pct":
        words += ["--depth", str(options["depth"]), "--pct-steps", str(options["pct_steps"])]
    if options["strategy"] == "uniform" and options["max_states"] != DEFAULT_BOUNDS.sample_max_states:
        words += ["--max-states", str(options["max_states"])]
    if options["max_steps"] != DEFAULT_BOUNDS.sample_max_steps:
        words += ["--max-steps", str(options["max_steps"])]
    return " ".join(words)


def _verdict(report: dict[str, Any]) -> str:
    bad = [o for o in report["outcomes"] if o["status"] != "finished"]
    bad += [m for m in report["more_outcomes"] if m["status"] != "finished"]
    if bad:
        runs = sum(o["runs"] for o in bad)
        kinds = ", ".join(sorted({o["status"] for o in bad}))
        return f"RESULT: {runs:,} of {report['runs']:,} runs went wrong ({kinds})."
    if report["unfinished"]:
        return "RESULT: no run went wrong, but some never ended within --max-steps."
    if report["unseen"] and any(o["status"] != "finished" for o in report["unseen"]):
        return "RESULT: no run went wrong, but explore shows that some run can: see 'not seen' above."
    return f"RESULT: every one of the {report['runs']:,} runs finished and every check held."


# -- one run ----------------------------------------------------------------------

def run_options(plan: Plan) -> dict[str, Any]:
    """The options of a single run, as `run_command` reads them."""
    options = plan.options
    return {"step_mode": plan.program.steps, "strategy": options.strategy, "depth": options.depth,
            "pct_steps": plan.pct_steps,
            "max_steps": options.max_steps, "max_states": options.max_states}


def single_run_text(plan: Plan, result: RunResult, run: Run, file: str, predict: bool,
                    show_locals: bool = False) -> str:
    """`schedsim run`: the trace, then the outcome (or how to reveal it) and the schedule."""
    options = run_options(plan)
    strategy = options["strategy"]
    if strategy == "pct":
        strategy += f" (depth {options['depth']}, change points among the first {options['pct_steps']:,} steps)"
    lines = [f"scenario {plan.program.name}: one run, strategy {strategy}, seed {result.seed}", "",
             run_text(run, predict=predict, show_locals=show_locals).rstrip("\n")]
    if result.status == UNFINISHED:
        lines.append(f"unfinished: still going after --max-steps {options['max_steps']:,} "
                     "('unfinished' is not a way a run ends, only where it was stopped)")
    lines += ["", f"schedule ({plural(len(run.schedule), 'step')}): {schedule_text(run.schedule)}"]
    if predict:
        lines.append(f"reveal: {run_command(options, file, result.seed)}")
    elif result.status not in ("finished", UNFINISHED):
        lines.append(f"replay: {replay_command(file, run.schedule, plan.program.steps)}")
    return "\n".join(lines) + "\n"
