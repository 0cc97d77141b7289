"""Replaying a schedule: the run it names, step by step.

A schedule is a list of thread names, one per step. `replay` applies
`semantics.step` for each and records every state, so a reported schedule
reproduces its outcome exactly. A name that cannot run at its point is an
error that says why, not a silent skip.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from .interrupts import deferred
from .program import STATEMENT, Instruction, Program
from .semantics import State, current_instruction, initial_state, runnable, status, step, waiting_for


class ScheduleError(ValueError):
    """A schedule that does not fit the program."""


@dataclass(frozen=True)
class Step:
    thread: int
    instruction: Instruction
    after: State


@dataclass(frozen=True)
class Run:
    program: Program
    initial: State
    steps: tuple[Step, ...]
    interrupted: bool = False  # Ctrl-C stopped the replay after these steps

    @property
    def final(self) -> State:
        return self.steps[-1].after if self.steps else self.initial

    @property
    def status(self) -> str | None:
        """How the run ended, or None if the schedule stopped before its end."""
        return status(self.program, self.final)

    @property
    def schedule(self) -> tuple[str, ...]:
        return tuple(self.program.threads[s.thread].name for s in self.steps)


def parse_schedule(text: str) -> list[str]:
    """'A,B,A' or 'A B A' as a list of names; ScheduleError for an empty
    schedule or an empty name ('A,,B'), which would otherwise replay
    something other than what was asked."""
    names = [name.strip() for name in text.split(",")] if "," in text else text.split()
    if not names:
        raise ScheduleError("the schedule is empty; give thread names, one per step: A,B,A")
    for position, name in enumerate(names, start=1):
        if not name:
            raise ScheduleError(f"step {position} of the schedule {text!r} has no thread name")
        if " " in name:
            raise ScheduleError(f"step {position} of the schedule {text!r} is {name!r}; "
                                "separate the names by commas or by spaces, not both")
    return names


def replay_command(file: str, schedule: "list[str] | tuple[str, ...]", step_mode: str = STATEMENT) -> str:
    """The command that replays `schedule`, as every report prints it: a schedule of shared steps
    replays with `--steps shared`."""
    steps = "" if step_mode == STATEMENT else f" --steps {step_mode}"
    return f"schedsim replay {shlex.quote(file)}{steps} --schedule {','.join(schedule)}"


def replay(program: Program, schedule: list[str]) -> Run:
    """Run `schedule` from the initial state; ScheduleError if a name cannot run.

    Ctrl-C stops it between two steps: the run so far comes back, marked
    `interrupted`.
    """
    names = {thread.name: tid for tid, thread in enumerate(program.threads)}
    state = initial_state(program)
    initial = state
    steps = []
    try:
        with deferred() as interrupt:
            for position, name in enumerate(schedule, start=1):
                if interrupt.pending:
                    return Run(program, initial, tuple(steps), interrupted=True)
                if name not in names:
                    raise ScheduleError(f"step {position}: there is no thread {name!r}; threads: {', '.join(names)}")
                tid = names[name]
                ready = runnable(program, state)
                if tid not in ready:
                    raise ScheduleError(f"step {position}: thread {name} cannot run now: "
                                        f"{_why_not(program, state, tid, ready)}")
                instruction = current_instruction(program, state, tid)
                state = step(program, state, tid)
                steps.append(Step(tid, instruction, state))
    except KeyboardInterrupt:
        return Run(program, initial, tuple(steps), interrupted=True)
    return Run(program, initial, tuple(steps))


def _why_not(program: Program, state: State, tid: int, ready: tuple[int, ...]) -> str:
    ended = status(program, state)
    if ended is not None:
        return f"the run has already ended ({ended})"
    names = ", ".join(program.threads[t].name for t in ready)
    return f"it {waiting_for(program, state, tid)}; runnable: {names}"
