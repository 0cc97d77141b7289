"""Text for people: the explore report, a replayed run, the compiled steps.

Renderers take the report dict (or a `Run`, or a `Program`) and return a
string; they never print. The CLI decides where text goes.
"""
from __future__ import annotations

import textwrap
from fractions import Fraction
from typing import Any

from ..analyses.analysis import outcome_key
from .findings_text import findings_lines
from ..limits import EXPLORE_TOP
from ..engine.program import Program
from ..engine.program import UNSET
from ..engine.replay import Run, Step, replay_command
from ..engine.semantics import State, lock_owner
from ..engine.values import show
from .wording import chance, code_text, exact_sum, output_text, percent, plural, schedule_text, step_mode_lines

STATUS_WORDS = {
    "finished": "finished", "runs_forever": "runs forever", "violation": "VIOLATION", "deadlock": "DEADLOCK",
    "error": "ERROR",
}
GOOD = ("finished", "runs_forever")  # statuses that are not failures


OUTPUT_SHOWN = 300  # characters of an outcome's output in text; --json has all of it
DEFAULT_TOP = EXPLORE_TOP  # outcomes described per status unless --top or --all says otherwise: one screen

MEASURES = ("An interleaving is one order in which the threads' steps can run to the end; an outcome's count "
            "is how many of them end that way. Its probability is the chance of it when the scheduler, at "
            "every step, picks one of the threads that can run, each as likely as the others.")


def explore_text(report: dict[str, Any], file: str, top: int | None = DEFAULT_TOP) -> str:
    """The explore report: a summary by status, then the outcomes, `top` per status (None: all)."""
    lines = [f"scenario {report['scenario']}"]
    if report["description"]:
        lines.append(f"  {report['description']}")
    lines.extend(step_mode_lines(report["step_mode"]))
    lines.append("")
    reduced = report.get("reduction") is not None
    lines.extend(_reduced_summary_lines(report) if reduced else _summary_lines(report))
    if not report["complete"]:
        why = "the state limit was reached" if report["stopped"] == "limit" else "it was interrupted"
        share = report["unexplored_probability"]
        share_text = "" if share is None else f" (unexplored share {percent(share)})"
        counts = "" if reduced else "counts below are lower bounds and "
        lines.append(f"PARTIAL: exploration stopped because {why}; {counts}some outcomes may be missing{share_text}.")
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
    elif not report["probabilities_exact"] and not reduced:
        lines.append(f"Some probabilities are floating point (a cycle too large to solve in fractions; "
                     f"largest relative residual {report['probability_residual']:.1e}).")
    lines.extend(_reduced_notes(report) if reduced else findings_lines(report, file))
    lines.append("")
    lines.append(_verdict(report))
    return "\n".join(lines) + "\n"


def _summary_lines(report: dict[str, Any]) -> list[str]:
    """States, interleavings, outcomes, then one line per status with its total chance."""
    total = report["interleavings"]
    total_text = "infinitely many interleavings" if total is None else plural(total, "interleaving")
    lines = [f"Summary: {plural(report['states'], 'state')}, {plural(report['transitions'], 'transition')}, "
             f"{total_text}, {plural(len(report['outcomes']), 'distinct outcome')}"]
    if report.get("symmetry"):
        lines.extend(textwrap.wrap(symmetry_text(report["symmetry"]), width=100, initial_indent="  ",
                                   subsequent_indent="  "))
    rows = [(STATUS_WORDS[entry["status"]], plural(entry["outcomes"], "outcome"), _count_text(entry),
             chance(entry["probability"], entry["probability_exact"])) for entry in report["status_totals"]]
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(3)]
    for row in rows:
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")
    if report["never_ends_probability"]:
        lines.append(f"  a run spins forever where it could end: {percent(report['never_ends_probability'])}")
    lines.extend(textwrap.wrap(MEASURES, width=100, initial_indent="  ", subsequent_indent="  "))
    return lines


def _reduced_summary_lines(report: dict[str, Any]) -> list[str]:
    """The summary of a `--reduce por` report: states visited and outcomes per status, nothing counted."""
    lines = [f"Summary: partial-order reduction: outcomes without counts; {plural(report['states'], 'state')} "
             f"and {plural(report['transitions'], 'transition')} explored, "
             f"{plural(len(report['outcomes']), 'distinct outcome')}"]
    lines += [f"  {STATUS_WORDS[entry['status']]}: {plural(entry['outcomes'], 'outcome')}"
              for entry in report["status_totals"]]
    text = ("Every way a run can end (finished, deadlock, violation, error) is listed, each with a schedule that "
            "is shortest among the runs explored; how many interleavings end each way, and how likely, is not "
            "computed.")
    lines.extend(textwrap.wrap(text, width=100, initial_indent="  ", subsequent_indent="  "))
    return lines


def _reduced_notes(report: dict[str, Any]) -> list[str]:
    """What a `--reduce por` report does not cover."""
    lines = ["", "Not computed under partial-order reduction: data races, lock-order inversions, locks held at "
             "exit, starvation (they need every state; run without --reduce for them)."]
    if report["reduction"]["cyclic"]:
        lines.append("NOT COVERED: the program can loop, and runs that never end (a worker that runs forever, or "
                     "a spin where the run could end) are not covered under the reduction; run without --reduce "
                     "for them.")
    return lines


def symmetry_text(symmetry: dict[str, Any]) -> str:
    """One line: which threads are interchangeable, and how many states it took to explore them."""
    alike = "; ".join(_and_names(names) for names in symmetry["threads"])
    if symmetry["reduced"]:
        return (f"symmetry: {alike} are interchangeable, so {plural(symmetry['explored_states'], 'state')} were "
                f"explored, one for each set of states that differ only by swapping them; the counts are the full graph's")
    return f"symmetry: {alike} are interchangeable, but all states were explored: {symmetry['why_not']}"


def _and_names(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]


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
            lines.extend(_outcome_lines(number, outcome, total, file, report["step_mode"], "reduction" in report))
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


def _outcome_lines(number: int, outcome: dict, total: int | None, file: str, step_mode: str,
                   reduced: bool = False) -> list[str]:
    count_text = _count_text(outcome)
    if outcome["interleavings"] is not None and total is not None:
        count_text = f"{outcome['interleavings']:,} of {plural(total, 'interleaving')}"
    final = " ".join(f"{name}={repr(value)}" for name, value in outcome["final"].items())
    lines = ["", f"  {number}. {STATUS_WORDS[outcome['status']]:<9}  {final or '(no shared variables)'}"]
    if not reduced:
        lines.append(f"     {count_text}, probability {chance(outcome['probability'], outcome['probability_exact'])}")
    if outcome.get("message"):
        lines.append(f"     {outcome['message']}")
    if outcome["output"]:
        lines.append("     output: " + output_text(outcome["output"], OUTPUT_SHOWN))
    schedule = outcome["schedule"]
    shortest = "schedule, shortest among those explored" if reduced else "shortest schedule"
    lines.append(f"     {shortest} ({plural(len(schedule), 'step')}): {schedule_text(schedule)}")
    if outcome["status"] not in GOOD and schedule:
        lines.append(f"     replay: {replay_command(file, schedule, step_mode)}")
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
    if report.get("reduction", {}).get("cyclic"):
        return "RESULT: every run that ends finishes and every check holds; runs that never end are not covered."
    if not report["analysis_complete"]:
        return "RESULT: nothing went wrong in the runs reached, but the analysis was interrupted."
    if any(o["status"] == "runs_forever" for o in report["outcomes"]):
        return "RESULT: every run finishes or runs forever by design, and every check holds."
    return "RESULT: every run finishes and every check holds."


def run_text(run: Run, predict: bool = False, show_locals: bool = False) -> str:
    """A run: the initial state, then one row per step, one column per thread, the shared variables after it.

    Each cell is the statement (without its comment) and what it did with
    values: `read x -> 0`, `x = 1`, `prints 'hi'`, `test -> true`. A column
    says who holds which lock after the step, and with `show_locals` another
    gives the stepping thread's locals. With `predict`, every value and
    printed line is `?` and the outcome is withheld, for a class to work out
    before the reveal; the statements, the locks and the initial state stay.
    """
    program = run.program
    hide = (lambda text: "?") if predict else (lambda text: text)
    rows = [("0", {}, _shared_text(program, run.initial, lambda text: text), _locks_text(program, run.initial), "")]
    before = run.initial
    for number, item in enumerate(run.steps, start=1):
        cell = f"L{item.instruction.line} {code_text(item.instruction.text)}  " \
               f"[{step_effect(program, before, item, hide)}]"
        local = _locals_text(program, item.thread, item.after, hide) if show_locals else ""
        rows.append((str(number), {item.thread: cell}, _shared_text(program, item.after, hide),
                     _locks_text(program, item.after), local))
        before = item.after
    lines = step_mode_lines(program.steps) + _table(program, rows, show_locals)
    lines.append("")
    lines.append("outcome: withheld" if predict else _run_end(run))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _table(program: Program, rows: list[tuple], show_locals: bool) -> list[str]:
    """Rows of (step, {thread: cell}, shared, locks, locals) aligned under a header."""
    names = program.thread_names
    widths = [len(name) for name in names]
    for _, cells, *_ in rows:
        for tid, cell in cells.items():
            widths[tid] = max(widths[tid], len(cell))
    extra = [("shared after", 2)]
    if any(row[3] for row in rows):
        extra.append(("locks held", 3))
    if show_locals:
        extra.append(("locals after", 4))
    extra_widths = [max(len(title), *(len(row[index]) for row in rows)) for title, index in extra]
    header = "step  " + "  ".join(name.ljust(width) for name, width in zip(names, widths)) + "  | " + \
        " | ".join(title.ljust(width) for (title, _), width in zip(extra, extra_widths))
    lines = [header.rstrip(), "-" * len(header.rstrip())]
    for row in rows:
        number, cells = row[0], row[1]
        columns = [cells.get(tid, "(start)" if number == "0" and tid == 0 else "").ljust(width)
                   for tid, width in enumerate(widths)]
        tail = " | ".join(row[index].ljust(width) for (_, index), width in zip(extra, extra_widths))
        lines.append(f"{number:>4}  " + "  ".join(columns) + "  | " + tail)
    return lines


def step_effect(program: Program, before: State, item: Step, hide: Any) -> str:
    """What one step did with values, from its action and the states around it."""
    thread = program.threads[item.thread]
    after = item.after
    parts = []
    for part in item.instruction.action.split(", "):
        verb, _, name = part.partition(" ")
        if verb == "read" and name in program.shared_names:
            part = f"read {name} -> {hide(show(before.shared[program.shared_names.index(name)]))}"
        elif verb == "write" and name in program.shared_names:
            part = f"{name} = {hide(show(after.shared[program.shared_names.index(name)]))}"
        elif verb == "set" and name in thread.local_names:
            value = _local_value(thread, after.threads[item.thread], name)
            part = part if value is None else f"{name} = {hide(value)}"
        elif part == "print" and len(after.output) > len(before.output):
            part = f"prints {hide(repr(after.output[-1]))}"
        elif part == "test":
            part += _test_result(item, after, hide)
        parts.append(part)
    return ", ".join(parts)


def _test_result(item: Step, after: State, hide: Any) -> str:
    """' -> true' or ' -> false' where the thread's next position says which way the test went."""
    instruction = item.instruction
    pc = after.threads[item.thread][0]
    if pc == instruction.next and pc != getattr(instruction, "orelse", None):
        return f" -> {hide('true')}"
    if pc == getattr(instruction, "orelse", None):
        return f" -> {hide('false')}"
    return ""


def _local_value(thread: Any, place: tuple, name: str) -> str | None:
    """A local's value after a step as text, None where the thread no longer has it (it ended)."""
    locals_ = place[1]
    index = thread.local_names.index(name)
    if index >= len(locals_) or locals_[index] is UNSET:
        return None
    return show(locals_[index])


def _shared_text(program: Program, state: State, hide: Any) -> str:
    return "  ".join(f"{name}={hide(show(value))}" for name, value in zip(program.shared_names, state.shared))


def _locks_text(program: Program, state: State) -> str:
    """'lock_a: T1  lock_b: T2' for the Locks and RLocks held, '' when none is."""
    held = []
    for slot, primitive in enumerate(program.primitives):
        if primitive.kind in ("Lock", "RLock"):
            owner = lock_owner(program, state, slot)
            if owner is not None:
                held.append(f"{primitive.name}: {program.threads[owner].name}")
    return "  ".join(held)


def _locals_text(program: Program, tid: int, state: State, hide: Any) -> str:
    """The stepping thread's named locals after its step: 'a=1 b=2'."""
    thread = program.threads[tid]
    values = ((name, _local_value(thread, state.threads[tid], name)) for name in thread.local_names)
    return " ".join(f"{name}={hide(value)}" for name, value in values if value is not None)


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


LOCAL_MARK = ("--steps shared: + marks an instruction that touches only locals: it runs within the step "
              "before it, unless a loop comes back to it or it would end the run.")


def program_text(program: Program) -> str:
    """Every compiled step, one a line, with its source line and what it does; with --steps shared,
    a + marks the local-only ones that a step runs on through."""
    lines = [f"scenario {program.name}: {plural(len(program.threads), 'thread')}"]
    if program.steps == "shared":
        lines.append(LOCAL_MARK)
    for thread in program.threads:
        how = "runs at the start" if thread.starts_running else "waits to be started"
        lines.append("")
        lines.append(f"thread {thread.name} ({how}{', daemon' if thread.daemon else ''}):")
        steps = [instr for instr in thread.code if not instr.silent]
        width = max((len(instr.text) for instr in steps), default=0)
        number = 0
        for pc, instr in enumerate(thread.code):
            if instr.silent:
                continue
            mark = "+" if thread.local_only and thread.local_only[pc] else " "
            lines.append(f" {mark}{number:>3}  line {instr.line:<4} {instr.text.ljust(width)}   {instr.action}")
            number += 1
    return "\n".join(lines) + "\n"
