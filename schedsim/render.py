"""Text for people: the explore report, a replayed run, the compiled steps.

Renderers take the report dict (or a `Run`, or a `Program`) and return a
string; they never print. The CLI decides where text goes.
"""
from __future__ import annotations

from typing import Any

from .analysis import outcome_key
from .findings_text import findings_lines
from .program import Program
from .replay import Run, replay_command
from .values import show

STATUS_WORDS = {
    "finished": "finished", "runs_forever": "runs forever", "violation": "VIOLATION", "deadlock": "DEADLOCK",
    "error": "ERROR",
}
GOOD = ("finished", "runs_forever")  # statuses that are not failures


def explore_text(report: dict[str, Any], file: str) -> str:
    """The explore report, most likely outcome first within each status."""
    lines = [f"scenario {report['scenario']}"]
    if report["description"]:
        lines.append(f"  {report['description']}")
    total = report["interleavings"]
    total_text = "infinitely many" if total is None else f"{total:,}"
    lines.append("")
    lines.append(f"{report['states']:,} states, {report['transitions']:,} transitions, {total_text} interleavings")
    if not report["complete"]:
        why = "the state limit was reached" if report["stopped"] == "limit" else "it was interrupted"
        share = report["unexplored_probability"]
        share_text = "" if share is None else f" (unexplored share {share:.4g})"
        lines.append(f"PARTIAL: exploration stopped because {why}; counts below are lower bounds "
                     f"and some outcomes may be missing{share_text}.")
    lines.append("")
    lines.append(f"{len(report['outcomes'])} possible outcome{'s' if len(report['outcomes']) != 1 else ''}:")
    for number, outcome in enumerate(report["outcomes"], start=1):
        lines.extend(_outcome_lines(number, outcome, total, file))
    if report["loops"]:
        lines.append("")
        lines.append("Loops that can spin (so some counts are infinite):")
        for loop in report["loops"]:
            lines.append(f"  thread {loop['thread']}, line {loop['line']}: {loop['text']}")
    if report["never_ends_probability"]:
        lines.append(f"A run spins forever with probability {report['never_ends_probability']:.4g}.")
    if not report["analysis_complete"]:
        lines.append("PARTIAL: the analysis was interrupted; the outcomes reached are listed without counts "
                     "or probabilities.")
    elif report["unsolved_component"]:
        lines.append(f"Some probabilities are not computed: they lie past a cycle of "
                     f"{report['unsolved_component']:,} states, more than the solver takes on.")
    elif not report["probabilities_exact"]:
        lines.append(f"Some probabilities are floating point (a cycle too large to solve in fractions; "
                     f"largest relative residual {report['probability_residual']:.1e}).")
    lines.extend(findings_lines(report, file))
    lines.append("")
    lines.append(_verdict(report))
    return "\n".join(lines) + "\n"


def _probability_text(outcome: dict) -> str:
    """"3/4 (0.75)" where exact, "0.3333 (floating point)" where not, or "not computed"."""
    if outcome["probability"] is None:
        return "not computed"
    if outcome["probability_exact"] is None:
        return f"{outcome['probability']:.6g} (floating point)"
    return f"{outcome['probability_exact']} ({outcome['probability']:.4g})"


def _outcome_lines(number: int, outcome: dict, total: int | None, file: str) -> list[str]:
    count = outcome["interleavings"]
    count_text = ("not counted" if outcome["probability"] is None and count is None else "infinitely many") if count is None else f"{count:,}"
    if count is not None and total is not None:
        count_text += f" of {total:,}"
    final = " ".join(f"{name}={repr(value)}" for name, value in outcome["final"].items())
    lines = [
        "",
        f"  {number}. {STATUS_WORDS[outcome['status']]:<9}  {final or '(no shared variables)'}",
        f"     {count_text} interleavings, probability {_probability_text(outcome)}",
    ]
    if outcome.get("message"):
        lines.append(f"     {outcome['message']}")
    if outcome["output"]:
        lines.append("     output: " + " | ".join(outcome["output"]))
    schedule = ",".join(outcome["schedule"])
    lines.append(f"     shortest schedule ({len(outcome['schedule'])} steps): {schedule or '(none)'}")
    if outcome["status"] not in GOOD and schedule:
        lines.append(f"     replay: {replay_command(file, outcome['schedule'])}")
    return lines


def _verdict(report: dict[str, Any]) -> str:
    bad = [o for o in report["outcomes"] if o["status"] not in GOOD]
    forever = (report["never_ends_probability"] or 0) > 0
    if bad:
        kinds = sorted({o["status"] for o in bad})
        also = " Some runs never end." if forever else ""
        return f"RESULT: {len(bad)} outcome{'s' if len(bad) != 1 else ''} can go wrong ({', '.join(kinds)}).{also}"
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
    message = outcome_key(run.program, state)[3]  # the words explore gives this end, deadlocks included
    if message is not None:
        text += f"\n  {message}"
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
