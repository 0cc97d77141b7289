"""The cross-check report as text for people; it reads the same dict as `--json` prints."""
from __future__ import annotations

import textwrap
from typing import Any

from ..real.crosscheck import AGREE, INCOMPLETE
from ..engine.replay import replay_command
from .wording import chance, plural, schedule_text, step_mode_lines

SHOWN_UNSEEN = 10  # predicted outcomes that no run reached, listed before "... and N more"

GIL_NOTE = ("An outcome that needs a thread switch inside a statement (or where CPython never switches) "
            "may never show in real runs: a GIL detail, not a failure.")
JITTER_HINT = ("Try --jitter: real runs then reach more of the predicted outcomes. Without it, a short thread "
               "often runs all its statements before the next one has even started, and CPython's GIL hands "
               "over only between bytecodes, once per switch interval, so some interleavings almost never "
               "happen; --jitter pauses each thread at random (seeded) points between statements, as a busy "
               "machine would.")


def crosscheck_text(report: dict[str, Any]) -> str:
    runs = plural(report["runs"], "run")
    lines = [f"crosscheck {report['scenario']}: the model against real threads (seed {report['seed']}, {runs})"]
    lines += step_mode_lines(report["step_mode"]) + [""]
    if not report["complete"]:
        lines += ["PARTIAL: the exploration stopped early, so the predicted outcomes below may be missing some.", ""]
    lines += _controlled_lines(report)
    lines.append("")
    lines += _free_lines(report)
    lines += ["", _verdict(report)]
    return "\n".join(lines) + "\n"


def _controlled_lines(report: dict[str, Any]) -> list[str]:
    part = report["controlled"]
    if part["skipped"]:
        return ["Controlled replay: skipped: " + part["skipped"]]
    lines = [f"Controlled replay: {plural(part['schedules'], 'schedule')} on real threads, one model step at a time "
             f"({plural(part['from_outcomes'], 'outcome schedule')}, {part['sampled']} sampled)"]
    if report["step_mode"] != "statement":
        lines.append("  (each written out in statement steps: real threads stop at every statement, "
                     "and so do these schedules and their replay commands)")
    if part["not_run"]:
        lines.append(f"  {part['not_run']} schedules not run: the replay stopped after threads blocked")
    if not part["mismatches"]:
        lines.append(f"  all {part['agreed']} agree with the model, step by step.")
        return lines
    lines.append(f"  MODEL MISMATCH in {len(part['mismatches'])} of them:")
    for mismatch in part["mismatches"]:
        lines += [
            f"  - schedule {schedule_text(mismatch['schedule'])}, step {mismatch['step']}: {mismatch['problem']}",
            f"      model: {_ending(mismatch['model'])}",
            f"      real:  {_ending(mismatch['real'])}",
            f"      replay: {replay_command(report['file'], mismatch['schedule'])}",
        ]
    return lines


def _free_lines(report: dict[str, Any]) -> list[str]:
    part = report["free"]
    jitter = "with jitter" if part["jitter"] else "no jitter"
    lines = [f"Free runs: {part['runs']} runs of {part.get('program', 'the exported program')}, switch interval {part['switch_interval']:g} s, "
             f"{jitter}; {part['timed_out']} timed out" + (f" ({part['killed']} killed)" if part["killed"] else "")]
    if part["timed_out"]:
        lines.append("  (a run times out when no thread moves any more, a deadlock, or when it does not end; "
                     "its threads are cut off)")
    lines.append("   runs  model probability  predicted outcome")
    outcomes = report["outcomes"]
    unseen = [o for o in outcomes if not o["hits"]]
    for number, outcome in enumerate(outcomes, start=1):
        if outcome["hits"] or outcome in unseen[:SHOWN_UNSEEN]:
            lines.append(f"  {outcome['hits']:>5}  {chance(outcome['probability'], outcome['probability_exact']):>17}  {number}. {_ending(outcome)}")
    if len(unseen) > SHOWN_UNSEEN:
        lines.append(f"  ... and {len(unseen) - SHOWN_UNSEEN} more predicted outcomes that no run reached")
    if part["spinning"]:
        lines.append(f"  {part['spinning']:>5}  {'':>17}  did not end: a loop that can spin")
    if part["predicted"]:
        lines.append(f"  Real runs reached {part['reached']} of {part['predicted']} predicted outcomes "
                     f"({part['share']:.0%}).")
    if unseen:
        lines.append("  " + GIL_NOTE)
        if not part["jitter"]:
            lines.extend(textwrap.wrap(JITTER_HINT, width=100, initial_indent="  ", subsequent_indent="  "))
    lines += _unpredicted_lines(part)
    return lines


def _unpredicted_lines(part: dict[str, Any]) -> list[str]:
    lines = []
    if part["unpredicted"]:
        lines.append("  MODEL MISMATCH: real runs ended in outcomes that the model does not predict:")
    elif part["unconfirmed"]:
        lines.append("  Real runs ended in outcomes the partial exploration did not find (not judged):")
    for entry in part["unpredicted"] or part["unconfirmed"]:
        lines.append(f"  {entry['runs']:>5}  {_ending(entry)}")
    return lines


def _ending(outcome: dict[str, Any]) -> str:
    """`finished  x=1`, with the message after it if there is one."""
    values = " ".join(f"{name}={value!r}" for name, value in outcome["final"].items())
    text = f"{outcome['status'] or 'not ended'}  {values or '(no shared variables)'}"
    if outcome.get("message"):
        text += f"  [{outcome['message']}]"
    if outcome["output"]:
        text += "  output: " + " | ".join(outcome["output"])
    return text


def _verdict(report: dict[str, Any]) -> str:
    if report["verdict"] == AGREE:
        return "RESULT: the model and real threads agree."
    if report["verdict"] == INCOMPLETE:
        return "RESULT: no mismatch found, but the exploration was partial, so some real outcomes could not be judged."
    return f"RESULT: MODEL MISMATCH ({report['mismatches']} found): real threads do what the model does not say."
