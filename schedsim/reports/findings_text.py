"""The findings sections of the explore report, as text for people.

One section per analysis, in the order of SPEC section 5 and the JSON: what
the finding means in one sentence, then each finding with its source lines
(thread, line, statement) and the command that replays it. Reads the same
report dict as `render`, so text and JSON never disagree.
"""
from __future__ import annotations

from typing import Any, Callable

from ..analyses.findings import EXPLANATIONS
from ..engine.replay import replay_command
from .wording import schedule_text

TITLES = {
    "races": "Data races",
    "lock_order": "Lock-order inversions",
    "held_at_exit": "Locks held when a thread ends",
    "starvation": "Starvation and livelock",
}

Replayed = Callable[[list[str]], str]  # a schedule -> the command that replays it


def findings_lines(report: dict[str, Any], file: str) -> list[str]:
    """Every findings section, each starting with a blank line."""
    lines = []
    stopped = report["findings_interrupted"]
    for key, describe in _DESCRIBERS.items():
        found = report[key]
        lines.append("")
        if stopped is not None and list(_DESCRIBERS).index(key) > list(_DESCRIBERS).index(stopped):
            lines.append(f"{TITLES[key]}: not searched (interrupted).")
            continue
        cut = (key == "races" and not report["races_complete"]) or (key == "starvation" and not report["starvation_complete"])
        cut = cut or key == stopped
        if not found:
            lines.append(f"{TITLES[key]}: none{' found before the search stopped' if cut else ''}.")
            continue
        lines.append(f"{TITLES[key]}: {len(found)}{' (the search stopped early; there may be more)' if cut else ''}")
        lines.append(f"  {EXPLANATIONS[key]}")
        for number, finding in enumerate(found, start=1):
            body = describe(finding, lambda schedule: _replay(file, schedule, report["step_mode"]))
            lines.append(f"  {number}. {body[0]}")
            lines.extend(f"     {line}" for line in body[1:])
    return lines


def _replay(file: str, schedule: list[str], step_mode: str) -> str:
    return replay_command(file, schedule, step_mode) if schedule else "(from the start)"


def _race(race: dict, replayed: Replayed) -> list[str]:
    first, second = race["accesses"]
    return [
        f"{race['variable']}: {_access(first)}",
        f"{' ' * len(race['variable'])}  {_access(second)}",
        race["message"],
        f"replay: {replayed(race['schedule'])}",
    ]


def _access(access: dict) -> str:
    element = f"[{access['index']}]" if "index" in access else ""
    return f"{access['thread']} line {access['line']}: {access['text']}   ({access['access']}{element})"


def _lock_order(inversion: dict, replayed: Replayed) -> list[str]:
    lines = [" -> ".join(inversion["locks"] + inversion["locks"][:1])]
    for step in inversion["steps"]:
        since = step["held_since"]
        held = f"{step['held']} (line {since['line']}: {since['text']})" if since else step["held"]
        lines.append(f"{step['thread']} holds {held}, asks for {step['wanted']} at line {step['line']}: {step['text']}")
        lines.append(f"  replay: {replayed(step['schedule'])}")
    lines.append(inversion["message"])
    if inversion["deadlock_schedule"] is not None:
        lines.append(f"deadlock: {replayed(inversion['deadlock_schedule'])}")
    return lines


def _held_at_exit(held: dict, replayed: Replayed) -> list[str]:
    where = f", taken at line {held['line']}: {held['text']}" if held["line"] is not None else ""
    lines = [f"{held['thread']} ends holding {held['lock']}{where}", held["message"],
             f"replay: {replayed(held['schedule'])}"]
    if held["deadlock_schedule"] is not None:
        lines.append(f"deadlock: {replayed(held['deadlock_schedule'])}")
    return lines


def _starvation(lasso: dict, replayed: Replayed) -> list[str]:
    loops = "; ".join(f"{loop['thread']} line {loop['line']}: {loop['text']}" for loop in lasso["loops"])
    lines = [loops]
    lines.extend(f"{stuck['thread']} {stuck['doing']}" for stuck in lasso["stuck"])
    lines.append(lasso["message"])
    lines.append(f"to the cycle and once round it: {replayed(lasso['schedule'] + lasso['cycle'])}")
    lines.append(f"the cycle, repeated forever: {schedule_text(lasso['cycle'])}")
    return lines


_DESCRIBERS: dict[str, Callable[[dict, Replayed], list[str]]] = {
    "races": _race, "lock_order": _lock_order, "held_at_exit": _held_at_exit, "starvation": _starvation,
}
