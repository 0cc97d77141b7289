"""Running exported programs on real threads, always in child processes.

Real threads can hang (a deadlock, a loop that spins, a bug in the model
that lets a thread wait forever), so they never run in schedsim's own
process. `realchild.py` runs them and answers one JSON line per run; a child
that stays silent longer than a run can take is killed, by its own process,
and the runs it owed are reported as timed out. A hung real program never
hangs schedsim.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from .pyexport import Export

CHILD = Path(__file__).with_name("realchild.py")


class RealRunError(RuntimeError):
    """The child process failed in a way no real run explains (it crashed, or could not start)."""


@dataclass(frozen=True)
class Timeouts:
    """How long real threads get, in seconds, before schedsim calls them stuck."""

    step: float = 1.0      # a granted step that has not come back: the thread is blocked
    probe: float = 0.05    # a thread the model says is blocked, tried once at a deadlock
    max_blocked: int = 3   # stop a controlled batch after this many blocked schedules
    margin: float = 20.0   # a child silent this much longer than a run may take is killed


@dataclass(frozen=True)
class Batch:
    records: list[dict]    # one per run, in order
    killed: int            # runs lost to a child that had to be killed


def controlled(export: Export, schedules: list[tuple[list[int], bool]], timeouts: Timeouts = Timeouts()) -> Batch:
    """Replay each schedule (thread indexes, and whether to probe a deadlock at its end) in one child."""
    job = {"mode": "controlled", "source": export.source, "names": export.names, "shared": list(export.shared),
           "schedules": [{"threads": threads, "probe": probe} for threads, probe in schedules],
           "step_timeout": timeouts.step, "probe_timeout": timeouts.probe, "max_blocked": timeouts.max_blocked}
    longest = max((len(threads) for threads, _ in schedules), default=0)
    records, killed = _child(job, timeouts.step * 2 + longest * 0.01 + timeouts.margin)
    return Batch(records, int(killed))


def free(export: Export, runs: int, seed: int, run_seconds: float, timeouts: Timeouts = Timeouts()) -> Batch:
    """Run the plain program `runs` times, in as few children as the runs allow."""
    records: list[dict] = []
    killed = 0
    while len(records) + killed < runs:
        first = len(records) + killed
        job = {"mode": "free", "source": export.source, "names": export.names, "shared": list(export.shared),
               "first": first, "count": runs - first, "seed": seed}
        lines, was_killed = _child(job, run_seconds + timeouts.margin)
        records.extend(lines)
        killed += was_killed
        if not lines and not was_killed:
            raise RealRunError("a child process ended without running the program")
    return Batch(records, killed)


def _child(job: dict, silence: float) -> tuple[list[dict], bool]:
    """Run one child on `job`; its answers, and whether it had to be killed for `silence` seconds of quiet."""
    try:
        process = subprocess.Popen([sys.executable, "-I", str(CHILD)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    except OSError as exc:
        raise RealRunError(f"cannot start {sys.executable}: {exc.strerror}") from None
    lines: queue.Queue = queue.Queue()
    errors: list[str] = []
    readers = [threading.Thread(target=_read_lines, args=(process.stdout, lines.put), daemon=True),
               threading.Thread(target=_read_lines, args=(process.stderr, errors.append), daemon=True)]
    for reader in readers:
        reader.start()
    process.stdin.write(json.dumps(job))
    process.stdin.close()
    records, killed = _collect(lines, silence, process)
    process.wait()
    for reader in readers:
        reader.join()
    if not killed and process.returncode != 0:
        said = [line.strip() for line in errors if line and line.strip()]
        detail = said[-1] if said else f"exit status {process.returncode}"
        raise RealRunError(f"the real-thread runner failed: {detail}")
    return records, killed


def _collect(lines: queue.Queue, silence: float, process: subprocess.Popen) -> tuple[list[dict], bool]:
    records = []
    while True:
        try:
            line = lines.get(timeout=silence)
        except queue.Empty:
            process.kill()  # our own child, by its process: a hung real program
            return records, True
        if line is None:
            return records, False
        records.append(json.loads(line))


def _read_lines(stream, put) -> None:
    for line in stream:
        put(line)
    put(None)
