"""Free runs of a `.py` file itself on real threads, for `crosscheck`: one child process a run.

The file is the program: it runs unchanged (`pychild.py` only keeps what it
prints and watches how it ends), in a child process that is killed if it
stays silent past its deadline, so a hung program never hangs schedsim.
A fresh process a run: daemon threads cut off, or threads left blocked by a
deadlock, cannot leak into the next run.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..real.pyexport import Limits
from ..real.realrun import Batch, RealRunError

CHILD = Path(__file__).with_name("pychild.py")
MARGIN = 10.0  # seconds past a run's own deadline before its child is killed


@dataclass(frozen=True)
class FileRuns:
    """What the free runs of a file are: which file, its shared names, how many runs and how."""

    path: str
    source: str
    shared: tuple[str, ...]
    runs: int
    seed: int
    jitter: bool
    limits: Limits


def free(job: FileRuns) -> Batch:
    """Run the file `job.runs` times; a run whose child had to be killed is counted, not recorded."""
    records: list[dict] = []
    killed = 0
    for number in range(job.runs):
        record = _one_run(job, number)
        if record is None:
            killed += 1
        else:
            records.append(dict(record, run=number))
    return Batch(records, killed)


def _one_run(job: FileRuns, number: int) -> dict | None:
    limits = job.limits
    task = {"path": str(Path(job.path).resolve()), "source": job.source, "shared": list(job.shared),
            "seed": f"{job.seed}:{number}", "jitter": job.jitter, "switch_interval": limits.switch_interval,
            "still_seconds": limits.still_seconds, "deadline_seconds": limits.deadline_seconds}
    try:
        done = subprocess.run([sys.executable, "-I", str(CHILD)], input=json.dumps(task), capture_output=True,
                              text=True, encoding="utf-8", timeout=limits.deadline_seconds + MARGIN)
    except subprocess.TimeoutExpired:
        return None  # subprocess.run has killed our own child
    except OSError as exc:
        raise RealRunError(f"cannot start {sys.executable}: {exc.strerror}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RealRunError(f"the real-thread runner failed: exit status {done.returncode}")
    return json.loads(lines[-1])
