"""How fast schedsim samples runs: the seed notes' 9 threads x 100 prints.

Each run of `print_9x100.yaml` is 900 steps. The benchmark times
`sampling.sample` (exploration off: `max_states=0`, so only runs are timed)
for the random and pct strategies with 1 and 2 worker processes, and, as a
ceiling, the bare loop of `semantics.runnable` + `semantics.step` with no
strategy and no bookkeeping. Time is wall clock (time.perf_counter), the
best of --repeat tries: other load on the machine only ever slows a try.

    python3 benchmarks/sample_bench.py                 # 400 runs a row, 3 tries, about 40 s
    python3 benchmarks/sample_bench.py --runs 1000 --jobs 1,2,4
    python3 benchmarks/sample_bench.py --profile       # cProfile of one job, random
"""
from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schedsim.cli import load_program  # noqa: E402
from schedsim.sampling import SampleOptions, sample  # noqa: E402
from schedsim.engine.semantics import initial_state, runnable, step  # noqa: E402

SCENARIO = Path(__file__).resolve().parent / "print_9x100.yaml"


def bare_loop(program, runs: int) -> int:
    """The step function alone, picking uniformly: the most sampling could reach."""
    pick = random.Random(0).random
    steps = 0
    for _ in range(runs):
        state = initial_state(program)
        ready = runnable(program, state)
        while ready:
            state = step(program, state, ready[int(pick() * len(ready))])
            steps += 1
            ready = runnable(program, state)
    return steps


def timed(function, repeat: int) -> tuple[float, int]:
    """The fastest of `repeat` tries, and the steps it took."""
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        steps = function()
        seconds = time.perf_counter() - started
        best = min(best or (seconds, steps), (seconds, steps))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--jobs", default="1,2", help="comma-separated numbers of worker processes")
    parser.add_argument("--repeat", type=int, default=3, help="tries per row; the fastest counts")
    parser.add_argument("--profile", action="store_true", help="profile one job of the random strategy")
    args = parser.parse_args()
    program = load_program(str(SCENARIO))
    if args.profile:
        options = SampleOptions(runs=args.runs, seed=1, max_states=0)
        cProfile.runctx("sample(program, options)", globals(), locals(), "/tmp/sample_bench.prof")
        pstats.Stats("/tmp/sample_bench.prof").sort_stats("tottime").print_stats(12)
        return
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.runs} runs of {SCENARIO.name} (900 steps each)")
    print(f"{'what':<22}{'jobs':>5}{'seconds':>9}{'runs/s':>9}{'steps/s':>11}{'steps/s/job':>13}")
    seconds, steps = timed(lambda: bare_loop(program, args.runs), args.repeat)
    print(f"{'bare step loop':<22}{1:>5}{seconds:>9.2f}{args.runs / seconds:>9.0f}{steps / seconds:>11,.0f}"
          f"{steps / seconds:>13,.0f}")
    for strategy in ("random", "pct"):
        for jobs in (int(text) for text in args.jobs.split(",")):
            options = SampleOptions(runs=args.runs, seed=1, strategy=strategy, max_states=0)
            seconds, steps = timed(lambda: sample(program, options, jobs=jobs).steps, args.repeat)
            print(f"{'sample ' + strategy:<22}{jobs:>5}{seconds:>9.2f}{args.runs / seconds:>9.0f}"
                  f"{steps / seconds:>11,.0f}{steps / seconds / jobs:>13,.0f}")


if __name__ == "__main__":
    main()
