"""Sampling on a Dask cluster: batches of runs sent to workers, tallies merged in run order.

`sample --cluster ADDRESS` hands batches of runs to a `dask.distributed`
scheduler (`--cluster local` starts a `LocalCluster` on this machine first).
A run depends only on (seed, run number), so a batch is a pure function of
the scenario, the options and its range of runs: a batch can run on any
worker, twice, or again after its worker died, and its tallies are the same.
Batches are merged in the order of their run numbers, never in the order
they finish, so the result is byte-identical to `--jobs 1`.

The workers get the parsed scenario (plain frozen data), not the compiled
program: compiled programs hold closures, which do not pickle. Each worker
compiles it once and keeps the plan for the batches that follow.

Dask is an optional extra: this module imports it only when a cluster is
asked for, and says how to install it when it is missing.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from . import __version__, sampling
from .engine.compiler import compile_scenario
from .engine.program import STATEMENT, Program
from .sampling import Plan, Sample, SampleError, SampleOptions
from .frontends.scenario import Scenario

INSTALL_HINT = 'pip install "schedsim[dask]"'
MAX_BATCH = 1_000
CONNECT_TIMEOUT = 10.0  # seconds to reach an existing scheduler
RETRIES = 3             # times a batch is sent again after Dask gives up on it (KilledWorker)


class ClusterError(SampleError):
    """The cluster cannot be had or cannot run the batches (one line, for the user)."""


@dataclass(frozen=True)
class Recipe:
    """What a worker needs to redo any run of a sample: plain data that pickles."""

    scenario: Scenario
    options: SampleOptions
    steps: str = STATEMENT  # the step mode of the program the runs step
    version: str = __version__  # the client's schedsim: workers with another one might draw other runs

    @property
    def digest(self) -> str:
        return hashlib.sha256(pickle.dumps((self.scenario, self.options, self.steps, self.version))).hexdigest()[:16]


# -- on the workers ----------------------------------------------------------

_PLANS: dict[str, Plan] = {}  # per worker process: the plan of each recipe seen, built once


def run_batch(recipe: Recipe, start: int, stop: int):
    """Runs `start` to `stop - 1` of the recipe's sample, tallied as `--jobs 1` tallies them."""
    if recipe.version != __version__:
        raise ClusterError(f"a worker has schedsim {__version__}, this machine {recipe.version}; "
                           f"install the same schedsim on every worker")
    plan = _PLANS.get(recipe.digest)
    if plan is None:
        _PLANS.clear()  # one sample at a time is the usual case; do not hoard compiled programs
        plan = _PLANS[recipe.digest] = worker_plan(compile_scenario(recipe.scenario, recipe.steps), recipe.options)
    return sampling._run_chunk(plan, (start, stop))


def worker_plan(program: Program, options: SampleOptions) -> Plan:
    """The plan a worker needs: the strategy. The exact analysis is the client's
    alone, so a worker explores the graph only for the uniform strategy."""
    if options.strategy != "uniform":
        options = replace(options, max_states=0)
    return sampling.prepare(program, options)


# -- on the client -----------------------------------------------------------

Progress = Callable[[int, int, int], None]  # (runs done, runs asked, outcomes so far)


def sample_on_cluster(program: Program, recipe: Recipe, address: str, workers: int | None = None,
                      batch: int | None = None, progress: Progress | None = None,
                      timeout: float = CONNECT_TIMEOUT) -> Sample:
    """`recipe.options.runs` runs on the cluster at `address` ("local": a new LocalCluster of
    `workers` processes). The result is `sampling.sample(program, options)`'s, byte for byte.

    Ctrl-C stops it: the result tells runs 0 to done - 1 (the batches finished
    without a gap), with `interrupted` set; before any batch is done, the
    interrupt goes on up.
    """
    options = recipe.options
    if batch is not None and batch < 1:
        raise SampleError("--batch must be at least 1")
    plan = sampling.prepare(program, options)
    with _client(address, workers, timeout) as client:
        size = batch or default_batch(options.runs, _threads(client))
        tallies, steps, done = _tally(client, recipe, size, progress)
    if done == 0:
        raise KeyboardInterrupt
    if done < options.runs:
        plan = replace(plan, options=replace(options, runs=done))
        return replace(sampling._summarise(plan, tallies, steps), interrupted=True)
    return sampling._summarise(plan, tallies, steps)


def default_batch(runs: int, threads: int) -> int:
    """About eight batches per worker thread, so that a slow or lost worker
    holds back little, and at most MAX_BATCH runs, so progress moves."""
    return max(1, min(MAX_BATCH, runs // (8 * max(1, threads))))


def _tally(client, recipe: Recipe, size: int, progress: Progress | None) -> tuple[dict, int, int]:
    """The merged tallies, steps and runs done (all of them unless Ctrl-C came).

    Parts are merged as soon as they join the run-ordered prefix, so memory
    holds the merged tallies and at most a window of parts out of order.
    """
    batches = _Batches(client, recipe, size, progress)
    tallies, steps, *_ = sampling._merge(batches)
    return tallies, steps, batches.done


class _Batches:
    """The batches of one sample, a few per worker thread in flight, their parts yielded in run order.

    `done` is the run after the last part yielded. Ctrl-C ends the iteration
    (what is in flight is cancelled), so the parts yielded are runs 0 to done - 1.
    """

    def __init__(self, client, recipe: Recipe, size: int, progress: Progress | None) -> None:
        runs = recipe.options.runs
        self.client, self.recipe, self.progress = client, recipe, progress
        self.batches = [(start, min(start + size, runs)) for start in range(0, runs, size)]
        self.attempts = [0] * len(self.batches)
        self.index_of: dict[str, int] = {}
        self.done = 0

    def __iter__(self):
        from distributed import as_completed

        self.futures = as_completed()
        pending = iter(range(len(self.batches)))
        finished: dict[int, tuple] = {}  # batch index -> its part, until the prefix reaches it
        outcomes: set = set()
        runs_finished = next_index = 0
        try:
            for index in _take(pending, max(4, 4 * _threads(self.client))):
                self._send(index)
            for future in self.futures:
                index = self.index_of.pop(future.key)
                part = _result(future, self.recipe, self.attempts, index, self.batches[index])
                if part is None:
                    self._send(index)
                    continue
                finished[index] = part
                outcomes.update(part[0])
                runs_finished += self.batches[index][1] - self.batches[index][0]
                for following in _take(pending, 1):
                    self._send(following)
                if self.progress is not None:
                    self.progress(runs_finished, self.recipe.options.runs, len(outcomes))
                while next_index in finished:
                    # done first: once the merge asks for the next part, it has added this one
                    self.done = self.batches[next_index][1]
                    next_index += 1
                    yield finished.pop(next_index - 1)
        except KeyboardInterrupt:
            self.client.cancel(list(self.futures.futures))

    def _send(self, index: int) -> None:
        start, stop = self.batches[index]
        key = f"schedsim-{self.recipe.digest}-{start}-{self.attempts[index]}"
        future = self.client.submit(run_batch, self.recipe, start, stop, key=key, pure=False)
        self.index_of[future.key] = index
        self.futures.add(future)


def _take(indexes: Iterator[int], count: int) -> list[int]:
    return [index for _, index in zip(range(count), indexes)]


def _result(future, recipe: Recipe, attempts: list[int], index: int, batch: tuple[int, int]):
    """A finished batch's part, or None when it must be sent again (its workers kept dying)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        attempts[index] += 1
        if attempts[index] > RETRIES:
            raise ClusterError(f"the batch of runs {batch[0]} to {batch[1] - 1} was lost with {RETRIES + 1} "
                               f"workers in a row; is a worker running out of memory?") from None
        return None
    except ClusterError:
        raise
    except (ImportError, AttributeError) as exc:
        raise ClusterError(f"the workers cannot run schedsim ({type(exc).__name__}: {_one_line(exc)}); "
                           f"install schedsim {recipe.version} on every worker") from None
    except Exception as exc:  # the scheduler went away, or a worker failed: one line, not a traceback
        raise ClusterError(f"the cluster failed a batch of runs: {type(exc).__name__}: {_one_line(exc)}") from None


def _threads(client) -> int:
    return sum(client.nthreads().values())


class _client:
    """A connected `distributed.Client`, and the LocalCluster behind it if this made one."""

    def __init__(self, address: str, workers: int | None, timeout: float) -> None:
        self.address, self.workers, self.timeout = address, workers, timeout
        self.cluster = self.client = None

    def __enter__(self):
        distributed = _import_distributed()
        try:
            if self.address == "local":
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster, timeout=self.timeout)
            else:
                self.client = distributed.Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError, ValueError, RuntimeError) as exc:
            self.__exit__(None, None, None)
            what = "start a local Dask cluster" if self.address == "local" else f"reach a Dask scheduler at {self.address}"
            raise ClusterError(f"cannot {what}: {_one_line(exc)}") from None
        return self.client

    def __exit__(self, *_) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--cluster needs Dask, which is not installed: {INSTALL_HINT}") from None
    return distributed


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
