"""Sampling on a Dask LocalCluster against `--jobs`, and what one batch costs.

Two measurements, both wall clock (time.perf_counter), best of --repeat tries:

1. runs/s of the seed notes' 9 threads x 100 prints (`print_9x100.yaml`,
   900 steps a run, exploration off) with `sampling.sample(jobs=J)` and with
   `distributed.sample_on_cluster` on a LocalCluster of J one-thread worker
   processes. The cluster is started once, outside the timing; its start-up
   time is given apart.
2. The overhead of one batch: `counter.yaml` (6 steps a run, so a run costs
   next to nothing) sampled with --batch 1 and with --batch 500 on the same
   cluster; (time at batch 1 - time at batch 500) / (batches at 1 - batches
   at 500) is what a batch costs beyond its runs, with J workers taking
   batches at once.

Every cluster result is checked against `--jobs 1`'s, byte for byte.

    python3 benchmarks/cluster_bench.py                 # J = 2, about a minute on an idle machine
    python3 benchmarks/cluster_bench.py --runs 1000 --jobs 2 --repeat 3
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schedsim.cli import load_program  # noqa: E402
from schedsim.distributed import Recipe, sample_on_cluster  # noqa: E402
from schedsim.reports.sample_report import build_sample_report  # noqa: E402
from schedsim.sampling import SampleOptions, sample  # noqa: E402
from schedsim.frontends.scenario import load  # noqa: E402

HERE = Path(__file__).resolve().parent
PRINTS = HERE / "print_9x100.yaml"
COUNTER = HERE.parent / "scenarios" / "counter.yaml"


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def best(repeat: int, function):
    """The fastest of `repeat` tries, and its result: other load only ever slows a try."""
    return min((timed(function) for _ in range(repeat)), key=lambda pair: pair[0])


def report_bytes(result) -> str:
    return json.dumps(build_sample_report(result), sort_keys=True)


def on_cluster(address: str, path: Path, options: SampleOptions, batch: int | None = None):
    return sample_on_cluster(load_program(str(path)), Recipe(load(path), options), address, batch=batch)


def throughput(address: str, runs: int, jobs: int, repeat: int) -> list[tuple[str, float, int]]:
    """(what, seconds, runs) for --jobs J and --cluster with J workers, checked against --jobs 1."""
    program = load_program(str(PRINTS))
    options = SampleOptions(runs=runs, seed=1, max_states=0)
    reference = report_bytes(sample(program, options))
    rows = []
    seconds, result = best(repeat, lambda: sample(program, options, jobs=jobs))
    assert report_bytes(result) == reference
    rows.append((f"sample --jobs {jobs}", seconds, runs))
    seconds, result = best(repeat, lambda: on_cluster(address, PRINTS, options))
    assert report_bytes(result) == reference, "the cluster's result differs from --jobs 1"
    rows.append((f"sample --cluster (LocalCluster, {jobs} workers)", seconds, runs))
    return rows


def batch_overhead(address: str, runs: int, repeat: int) -> tuple[float, float, int, int]:
    """Seconds at batch 1 and at batch 500, and the number of batches of each, for `runs` runs of counter.yaml."""
    options = SampleOptions(runs=runs, seed=1, max_states=0)
    reference = report_bytes(sample(load_program(str(COUNTER)), options))
    small, result = best(repeat, lambda: on_cluster(address, COUNTER, options, batch=1))
    assert report_bytes(result) == reference
    large, result = best(repeat, lambda: on_cluster(address, COUNTER, options, batch=500))
    assert report_bytes(result) == reference
    return small, large, runs, -(-runs // 500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=400, help="runs of print_9x100 a try")
    parser.add_argument("--batch-runs", type=int, default=1000, help="runs of counter.yaml for the overhead")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from distributed import LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    start_up = time.perf_counter() - started
    try:
        address = cluster.scheduler_address
        on_cluster(address, COUNTER, SampleOptions(runs=10, max_states=0))  # workers import schedsim once
        rows = throughput(address, args.runs, args.jobs, args.repeat)
        small, large, batches_small, batches_large = batch_overhead(address, args.batch_runs, args.repeat)
    finally:
        cluster.close()

    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d', time.gmtime())}, schedsim at {commit}, "
          f"load average {os.getloadavg()[0]:.1f}, best of {args.repeat}")
    print(f"LocalCluster of {args.jobs} workers started in {start_up:.2f} s (not in the times below)\n")
    print("| what | runs | seconds | runs/s | steps/s |")
    print("|---|---|---|---|---|")
    for what, seconds, runs in rows:
        print(f"| {what} | {runs:,} | {seconds:.2f} | {runs / seconds:,.0f} | {runs * 900 / seconds:,.0f} |")
    per_batch = (small - large) / (batches_small - batches_large)
    print(f"\ncounter.yaml, {args.batch_runs:,} runs: batch 1 ({batches_small:,} batches) {small:.2f} s, "
          f"batch 500 ({batches_large} batches) {large:.2f} s: {per_batch * 1000:.2f} ms a batch beyond its runs "
          f"({args.jobs} workers at once)")


if __name__ == "__main__":  # the LocalCluster's workers are spawned: they import this file
    main()
