"""Text for people: the explore report, a replayed run, the compiled steps.

Renderers take the report dict (or a `Run`, or a `Program`) and return a
string; they never print. The CLI decides where text goes.
"""
from __future__ import annotations

import textwrap
from fractions import Fraction
from typing import Any

from .findings_text import findings_lines
from .program import Program
from .replay import Run, replay_command
from .values import show
from .wording import chance, exact_sum, percent, plural, schedule_text

STATUS_WORDS = {
    "finished": "finished", "runs_forever": "runs forever", "violation": "VIOLATION", "deadlock": "DEADLOCK",
    "error": "ERROR",
}
GOOD = ("finished", "runs_forever")  # statuses that are not failures


DEFAULT_TOP = 3  # outcomes described per status unless --top or --all says otherwise: one screen

MEASURES = ("An interleaving is one order in which the threads' steps can run to the end; an outcome's count "
            "is how many of them end that way. Its probability is the chance of it when the scheduler, at "
            "every step, picks one of the threads that can run, each as likely as the others.")


def explore_text(report: dict[str, Any], file: str, top: int | None = DEFAULT_TOP) -> str:
    """The explore report: a summary by status, then the outcomes, `top` per status (None: all)."""
    lines = [f"scenario {report['scenario']}"]
    if report["description"]:
        lines.append(f"  {report['description']}")
    lines.append("")
    lines.extend(_summary_lines(report))
    if not report["complete"]:
        why = "the state limit was reached" if report["stopped"] == "limit" else "it was interrupted"
        share = report["unexplored_probability"]
        share_text = "" if share is None else f" (unexplored share {percent(share)})"
        lines.append(f"PARTIAL: exploration stopped because {why}; counts below are lower bounds "
                     f"and some outcomes may be missing{share_text}.")
        if report["stopped"] == "limit":
            lines.append(f"  `schedsim sample {file}` runs it many times instead, with no state limit.")
    lines.extend(_outcome_sections(report, file, top))
    if report["loops"]:
        lines.append("")
        lines.append("Loops that can spin (so some counts are infinite):")
        for loop in report["loops"]:
            lines.append(f"  thread {loop['thread']}, line {loop['line']}: {loop['text']}")
    if report["never_ends_probability"]:
        lines.append(f"A run spins forever with probability {percent(report['never_ends_probability'])}.")
    if not report["analysis_complete"]:
        lines.append("PARTIAL: the analysis was interrupted; the outcomes reached are listed without counts "
                     "or probabilities.")
    elif report["unsolved_component"]:
        lines.append(f"Some probabilities are not computed: they lie past a cycle of "
                     f"{plural(report['unsolved_component'], 'state')}, more than the solver takes on.")
    elif not report["probabilities_exact"]:
        lines.append(f"Some probabilities are floating point (a cycle too large to solve in fractions; "
                     f"largest relative residual {report['probability_residual']:.1e}).")
    lines.extend(findings_lines(report, file))
    lines.append("")
    lines.append(_verdict(report))
    return "\n".join(lines) + "\n"


def _summary_lines(report: dict[str, Any]) -> list[str]:
    """States, interleavings, outcomes, then one line per status with its total chance."""
    total = report["interleavings"]
    total_text = "infinitely many interleavings" if total is None else plural(total, "interleaving")
    lines = [f"Summary: {plural(report['states'], 'state')}, {plural(report['transitions'], 'transition')}, "
             f"{total_text}, {plural(len(report['outcomes']), 'distinct outcome')}"]
    rows = [(STATUS_WORDS[entry["status"]], plural(entry["outcomes"], "outcome"), _count_text(entry),
             chance(entry["probability"], entry["probability_exact"])) for entry in report["status_totals"]]
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(3)]
    for row in rows:
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")
    if report["never_ends_probability"]:
        lines.append(f"  a run spins forever where it could end: {percent(report['never_ends_probability'])}")
    lines.extend(textwrap.wrap(MEASURES, width=100, initial_indent="  ", subsequent_indent="  "))
    return lines


def _count_text(entry: dict) -> str:
    """'18 interleavings', 'infinitely many interleavings', or 'not counted'."""
    count = entry["interleavings"]
    if count is not None:
        return plural(count, "interleaving")
    return "not counted" if entry["probability"] is None else "infinitely many interleavings"


def _outcome_sections(report: dict[str, Any], file: str, top: int | None) -> list[str]:
    """The outcomes by status, numbered as in the JSON list, the first `top` of each status described."""
    lines: list[str] = []
    total = report["interleavings"]
    numbered = list(enumerate(report["outcomes"], start=1))
    for entry in report["status_totals"]:
        group = [(number, outcome) for number, outcome in numbered if outcome["status"] == entry["status"]]
        lines.append("")
        lines.append(f"{STATUS_WORDS[entry['status']]}: {plural(len(group), 'outcome')}")
        shown = group if top is None else group[:top]
        for number, outcome in shown:
            lines.extend(_outcome_lines(number, outcome, total, file))
        rest = [outcome for _, outcome in group[len(shown):]]
        if rest:
            lines.append("")
            lines.append(f"  ... and {len(rest):,} more{_together(rest)}; --all lists every outcome, "
                         "--json gives them all with their schedules")
    return lines


def _together(outcomes: list[dict]) -> str:
    """' (47% together)' for the outcomes left out, or '' where some probability is unknown."""
    if any(outcome["probability"] is None for outcome in outcomes):
        return ""
    exact = exact_sum(outcome["probability_exact"] for outcome in outcomes)
    share = float(Fraction(exact)) if exact is not None else sum(outcome["probability"] for outcome in outcomes)
    return f" ({percent(share)} together)"


def _outcome_lines(number: int, outcome: dict, total: int | None, file: str) -> list[str]:
    count_text = _count_text(outcome)
    if outcome["interleavings"] is not None and total is not None:
        count_text = f"{outcome['interleavings']:,} of {plural(total, 'interleaving')}"
    final = " ".join(f"{name}={repr(value)}" for name, value in outcome["final"].items())
    lines = [
        "",
        f"  {number}. {STATUS_WORDS[outcome['status']]:<9}  {final or '(no shared variables)'}",
        f"     {count_text}, probability {chance(outcome['probability'], outcome['probability_exact'])}",
    ]
    if outcome.get("message"):
        lines.append(f"     {outcome['message']}")
    if outcome["output"]:
        lines.append("     output: " + " | ".join(outcome["output"]))
    schedule = outcome["schedule"]
    lines.append(f"     shortest schedule ({plural(len(schedule), 'step')}): {schedule_text(schedule)}")
    if outcome["status"] not in GOOD and schedule:
        lines.append(f"     replay: {replay_command(file, schedule)}")
    return lines


def _verdict(report: dict[str, Any]) -> str:
    bad = [o for o in report["outcomes"] if o["status"] not in GOOD]
    forever = (report["never_ends_probability"] or 0) > 0
    if bad:
        kinds = sorted({o["status"] for o in bad})
        also = " Some runs never end." if forever else ""
        return f"RESULT: {plural(len(bad), 'outcome')} can go wrong ({', '.join(kinds)}).{also}"
    if forever:
        return "RESULT: some runs never end: a loop can spin forever (see the loops above)."
    if not report["complete"]:
        return "RESULT: nothing went wrong in the part explored, but the exploration is incomplete."
    if not report["analysis_complete"]:
        return "RESULT: nothing went wrong in the runs reached, but the analysis was interrupted."
    if any(o["status"] == "runs_forever" for o in report["outcomes"]):
        return "RESULT: every run finishes or runs forever by design, and every check holds."
    return "RESULT: every run finishes and every check holds."


def run_text(run: Run, predict: bool = False) -> str:
    """A replayed run: one row per step, one column per thread, the shared variables after it.

    With `predict`, every value and printed line is `?` and the outcome is
    withheld, for a class to work out before the reveal.
    """
    program = run.program
    names = program.thread_names
    cells = []
    for number, item in enumerate(run.steps, start=1):
        instr = item.instruction
        cell = f"L{instr.line} {instr.text}  [{instr.action}]"
        shared = "  ".join(f"{name}={'?' if predict else show(value)}"
                           for name, value in zip(program.shared_names, item.after.shared))
        printed = ""
        before = run.steps[number - 2].after if number > 1 else run.initial
        if len(item.after.output) > len(before.output):
            printed = "  prints ?" if predict else f"  prints {item.after.output[-1]!r}"
        cells.append((number, item.thread, cell, shared + printed))
    widths = [len(name) for name in names]
    for _, tid, cell, _ in cells:
        widths[tid] = max(widths[tid], len(cell))
    header = "step  " + "  ".join(name.ljust(width) for name, width in zip(names, widths)) + "  | shared after"
    lines = [header, "-" * len(header)]
    for number, tid, cell, shared in cells:
        columns = [cell.ljust(width) if t == tid else " " * width for t, width in enumerate(widths)]
        lines.append(f"{number:>4}  " + "  ".join(columns) + "  | " + shared)
    lines.append("")
    lines.append("outcome: withheld" if predict else _run_end(run))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _run_end(run: Run) -> str:
    state = run.final
    ended = run.status
    final = " ".join(f"{name}={show(value)}" for name, value in zip(run.program.shared_names, state.shared))
    if ended is None:
        return f"the schedule ends before the run does; shared: {final}"
    text = f"outcome: {ended}, {final}".rstrip(", ")
    if state.fault is not None:
        text += f"\n  {state.fault[1]}"
    if state.output:
        text += "\noutput:\n" + "\n".join(f"  {line}" for line in state.output)
    return text


def program_text(program: Program) -> str:
    """Every compiled step, one a line, with its source line and what it does."""
    lines = [f"scenario {program.name}: {len(program.threads)} threads"]
    for thread in program.threads:
        how = "runs at the start" if thread.starts_running else "waits to be started"
        lines.append("")
        lines.append(f"thread {thread.name} ({how}{', daemon' if thread.daemon else ''}):")
        steps = [instr for instr in thread.code if not instr.silent]
        width = max((len(instr.text) for instr in steps), default=0)
        number = 0
        for instr in thread.code:
            if instr.silent:
                continue
            lines.append(f"  {number:>3}  line {instr.line:<4} {instr.text.ljust(width)}   {instr.action}")
            number += 1
    return "\n".join(lines) + "\n"
