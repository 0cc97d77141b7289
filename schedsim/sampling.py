"""Sampling: many runs, each picked by a strategy and reproducible from a seed.

Where exhaustive exploration stops (the seed notes' 9 threads x 100 prints
has far more states than fit in memory), runs can still be drawn. Run `r`
of `sample(seed=S)` uses its own `random.Random(run_seed(S, r))`, so a run
depends on nothing but the scenario, the options and its number: any
number of worker processes gives the same result, and any run can be redone
alone (`single_run` with that run seed, or `replay` with its schedule).

The random and pct strategies never build the state graph. The graph is
explored only up to `max_states`, for the exact probabilities beside the
frequencies, and for the uniform strategy, which needs exact path counts.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import random
import signal
from dataclasses import dataclass, replace

from .analyses.analysis import STATUS_ORDER, Analysis, Outcome, analyse, outcome_key
from .engine.explorer import INTERRUPTED, Exploration, explore
from .engine.interrupts import Interrupt, deferred
from .limits import DEFAULT_BOUNDS, SAMPLE_DEPTH, SAMPLE_RUNS, SAMPLE_TOP
from .engine.program import Program
from .engine.semantics import State, initial_state, runnable, status, step
from .strategies import NAMES, Strategy
from .strategies.pct import Pct
from .strategies.randomwalk import RandomWalk
from .strategies.uniform import CyclicGraph, Uniform

UNFINISHED = "unfinished"  # not one of SPEC's statuses: the run went over max_steps

DEFAULT_RUNS, DEFAULT_DEPTH, DEFAULT_TOP = SAMPLE_RUNS, SAMPLE_DEPTH, SAMPLE_TOP


class SampleError(ValueError):
    """Options that cannot work for this scenario (one line, for the user)."""


@dataclass(frozen=True)
class SampleOptions:
    """Every choice that a sample's result depends on, in one place.

    `max_steps` bounds each run (a spin loop under `random` may go on long);
    `max_states` bounds the exploration behind exact probabilities and the
    uniform strategy (0: do not explore); `pct_steps` is PCT's k, by default
    the length of one probe run; `top` is how many outcomes of each status
    are described in full (0: all).
    """

    runs: int = DEFAULT_RUNS
    seed: int = 0
    strategy: str = "random"
    depth: int = DEFAULT_DEPTH
    pct_steps: int | None = None
    max_steps: int = DEFAULT_BOUNDS.sample_max_steps
    max_states: int = DEFAULT_BOUNDS.sample_max_states
    top: int = DEFAULT_TOP


@dataclass(frozen=True)
class RunResult:
    """One run: its seed, the schedule it took (thread indexes), where it ended."""

    seed: int
    schedule: tuple[int, ...]
    final: State
    status: str  # a SPEC status, or UNFINISHED
    interrupted: bool = False  # Ctrl-C ended it (status UNFINISHED)


@dataclass(frozen=True)
class Seen:
    """An outcome that some runs reached, told by the first of them."""

    status: str
    runs: int
    first: RunResult
    run: int                # the number of that first run
    message: str | None
    exact: Outcome | None   # the same outcome in the exhaustive analysis


@dataclass(frozen=True)
class Plan:
    """What every run of a sample shares: the strategy, and the exact analysis if the graph fits."""

    program: Program
    options: SampleOptions
    strategy: Strategy
    pct_steps: int | None
    exploration: Exploration | None
    analysis: Analysis | None


@dataclass(frozen=True)
class Sample:
    plan: Plan
    outcomes: list[Seen]            # the described outcomes, in report order
    more: dict[str, tuple[int, int]]  # status -> (outcomes, runs) seen but not described
    unseen: list[Outcome]           # exact outcomes that no run reached (the first `top` of each status)
    more_unseen: int                # how many more of those there are
    unfinished: Seen | None
    steps: int                      # steps taken over all runs
    interrupted: bool = False       # Ctrl-C stopped it: plan.options.runs says how many runs were done


def run_seed(seed: int, run: int) -> int:
    """The seed of run `run` of a sample: a 48-bit number fixed by (seed, run).

    A hash, not `seed + run`, so that samples with nearby seeds share no runs.
    """
    digest = hashlib.sha256(f"schedsim {seed} {run}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def prepare(program: Program, options: SampleOptions) -> Plan:
    """Check the options, explore the graph where it fits, and build the strategy."""
    validate(options)
    exploration = analysis = None
    if options.max_states > 0:
        exploration = explore(program, max_states=options.max_states, symmetry=False)  # looked up by real states
        if exploration.stopped == INTERRUPTED:
            raise KeyboardInterrupt  # explore stops quietly, but no run has been made: nothing to report
        if exploration.complete:
            analysis = analyse(exploration)
        else:
            exploration = None
    pct_steps = None
    if options.strategy == "uniform":
        strategy: Strategy = _uniform(exploration, analysis, options)
    elif options.strategy == "pct":
        pct_steps = options.pct_steps or _probe_length(program, options.max_steps)
        strategy = Pct(len(program.threads), options.depth, pct_steps)
    else:
        strategy = RandomWalk()
    return Plan(program, options, strategy, pct_steps, exploration, analysis)


def validate(options: SampleOptions) -> None:
    """SampleError for options that no scenario can run with."""
    if options.strategy not in NAMES:
        raise SampleError(f"unknown --strategy {options.strategy!r}; choose one of {', '.join(NAMES)}")
    for name in ("runs", "depth", "max_steps"):
        if getattr(options, name) < 1:
            raise SampleError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("seed", "max_states", "top"):
        if getattr(options, name) < 0:
            raise SampleError(f"--{name.replace('_', '-')} must not be negative")
    if options.pct_steps is not None and options.pct_steps < 1:
        raise SampleError("--pct-steps must be at least 1")


def _uniform(exploration: Exploration | None, analysis: Analysis | None, options: SampleOptions) -> Uniform:
    """The uniform strategy, or a SampleError that says why it cannot be had."""
    if exploration is None:
        raise SampleError(f"the uniform strategy needs the whole state graph, which has more than "
                          f"--max-states {options.max_states:,} states; raise the limit or use "
                          f"--strategy random or pct")
    try:
        return Uniform(exploration)
    except CyclicGraph:
        loops = ", ".join(f"thread {loop.thread} line {loop.line} ({loop.text})" for loop in analysis.loops)
        raise SampleError(f"the uniform strategy needs finitely many interleavings, but a loop can spin: "
                          f"{loops or 'the state graph has a cycle'}; use --strategy random or pct") from None


def _probe_length(program: Program, max_steps: int) -> int:
    """PCT's k: the length of one random run, the same for every seed so that
    `single_run` with a sampled run's seed redoes that run."""
    walk = RandomWalk()
    return max(1, len(run_once(program, walk, random.Random(0), max_steps).schedule))


def run_once(program: Program, strategy: Strategy, rng: random.Random, max_steps: int, seed: int = 0,
             interruptible: bool = False) -> RunResult:
    """One run, each step picked by `strategy`, stopped after `max_steps` steps.

    With `interruptible`, Ctrl-C ends the run where it is (marked
    `interrupted`, status unfinished) instead of going on up.
    """
    strategy.begin(rng)
    pick = strategy.pick
    state = initial_state(program)
    schedule: list[int] = []
    take = schedule.append
    try:
        for position in range(max_steps):
            ready = runnable(program, state)
            if not ready:
                break
            tid = pick(state, ready, position)
            state = step(program, state, tid)
            take(tid)
    except KeyboardInterrupt:
        if not interruptible:
            raise
        return RunResult(seed, tuple(schedule), state, UNFINISHED, interrupted=True)
    return RunResult(seed, tuple(schedule), state, status(program, state) or UNFINISHED)


def single_run(program: Program, options: SampleOptions) -> tuple[Plan, RunResult]:
    """The one run that `options.seed` names (as `schedsim run` shows it); Ctrl-C ends it where it is."""
    plan = prepare(program, replace(options, max_states=options.max_states if options.strategy == "uniform" else 0))
    return plan, run_once(plan.program, plan.strategy, random.Random(options.seed), plan.options.max_steps,
                          options.seed, interruptible=True)


def _seeded(plan: Plan, seed: int) -> RunResult:
    return run_once(plan.program, plan.strategy, random.Random(seed), plan.options.max_steps, seed)


# -- many runs, on one or more processes ---------------------------------------

def sample(program: Program, options: SampleOptions, jobs: int = 1) -> Sample:
    """`options.runs` runs; the result is the same for every number of `jobs`.

    Ctrl-C stops the runs between two runs: the result tells the runs done
    so far (a prefix of the run numbers, so each is the run it would have
    been), with `interrupted` set. Before any run, the interrupt goes on up.
    """
    if jobs < 1:
        raise SampleError("--jobs must be at least 1")
    plan = prepare(program, options)
    tallies, steps, done = _tally(plan, jobs)
    if done == 0:
        raise KeyboardInterrupt
    if done < options.runs:
        plan = replace(plan, options=replace(options, runs=done))
        return replace(_summarise(plan, tallies, steps), interrupted=True)
    return _summarise(plan, tallies, steps)


def _tally(plan: Plan, jobs: int) -> tuple[dict[tuple, list[int]], int, int]:
    """{(status, digest of the ending): [runs, first run]}, the total steps and the runs done.

    Fewer runs than asked are done only after Ctrl-C; those done are always
    runs 0 to done - 1.
    """
    runs = plan.options.runs
    size = max(1, min(1_000, runs // (jobs * 4)))
    chunks = [(start, min(start + size, runs)) for start in range(0, runs, size)]
    if jobs == 1 or len(chunks) == 1 or "fork" not in multiprocessing.get_all_start_methods():
        with deferred() as interrupt:
            return _merge(_until_interrupted(_run_chunk(plan, chunk, interrupt) for chunk in chunks))
    # Workers are forked, so they inherit the plan: compiled programs hold
    # closures, which cannot be pickled to a spawned process.
    global _FORKED_PLAN
    _FORKED_PLAN = plan
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_ignore_interrupts) as pool:
            return _merge(_until_interrupted(pool.imap(_run_forked_chunk, chunks)))
    finally:
        _FORKED_PLAN = None


_FORKED_PLAN: Plan | None = None


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which keeps the chunks already done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_forked_chunk(chunk: tuple[int, int]) -> tuple[dict, int, int]:
    return _run_chunk(_FORKED_PLAN, chunk)


def _until_interrupted(parts):
    """The chunks in order, up to and including one that Ctrl-C cut short, or up to Ctrl-C."""
    try:
        for part in parts:
            yield part
            if part[3]:
                return
    except KeyboardInterrupt:
        return


def _run_chunk(plan: Plan, chunk: tuple[int, int], interrupt: Interrupt | None = None) -> tuple[dict, int, int, bool]:
    """The tallies, steps and runs of one chunk of runs, and whether Ctrl-C cut it short."""
    program, seed, max_steps = plan.program, plan.options.seed, plan.options.max_steps
    tallies: dict[tuple, list[int]] = {}
    steps = 0
    done = 0
    try:
        for number in range(*chunk):
            if interrupt is not None and interrupt.pending:
                return tallies, steps, done, True
            result = run_once(program, plan.strategy, random.Random(run_seed(seed, number)), max_steps)
            steps += len(result.schedule)
            key = _end_key(program, result)
            tally = tallies.get(key)
            if tally is None:
                tallies[key] = [1, number]
            else:
                tally[0] += 1
            done += 1
    except KeyboardInterrupt:
        return tallies, steps, done, True
    return tallies, steps, done, False


def _merge(parts) -> tuple[dict[tuple, list[int]], int, int]:
    """Chunks add up in any grouping: counts sum, and the first run is the least."""
    tallies: dict[tuple, list[int]] = {}
    steps = done = 0
    for part, part_steps, part_done, _ in parts:
        steps += part_steps
        done += part_done
        for key, (count, first) in part.items():
            tally = tallies.setdefault(key, [0, first])
            tally[0] += count
            tally[1] = min(tally[1], first)
    return tallies, steps, done


# -- outcomes -------------------------------------------------------------------

def _end_key(program: Program, result: RunResult) -> tuple[str, bytes]:
    """The status and a short digest of how a run ended, grouped as explore groups outcomes.

    A digest rather than the ending itself: runs of a scenario that prints
    900 lines rarely end alike, and each run's full output kept as a key
    would fill memory. A digest of a repr is the same in every process.
    """
    if result.status == UNFINISHED:
        return (UNFINISHED, b"")
    return (result.status, _digest(_ending(program, result.final)))


def _ending(program: Program, state: State) -> tuple:
    """(status, shared values, output, message), exactly as analysis groups ends."""
    return outcome_key(program, state)


def _digest(ending: tuple) -> bytes:
    return hashlib.blake2b(repr(ending).encode(), digest_size=16).digest()


def _summarise(plan: Plan, tallies: dict[tuple, list[int]], steps: int) -> Sample:
    """Redo the first run of each described outcome, and line them up with the exact ones."""
    exact = {}
    if plan.analysis is not None:
        exact = {_digest((o.status, o.final, o.output, o.message)): o for o in plan.analysis.outcomes}
    unfinished = tallies.pop((UNFINISHED, b""), None)
    ordered = sorted(tallies.items(), key=lambda item: (STATUS_ORDER[item[0][0]], -item[1][0], item[1][1]))
    described, dropped = _cap(ordered, lambda item: item[0][0], plan.options.top)
    more: dict[str, tuple[int, int]] = {}
    for (kind, _), (count, _) in dropped:
        outcomes_more, runs_more = more.get(kind, (0, 0))
        more[kind] = (outcomes_more + 1, runs_more + count)
    outcomes = [_tell(plan, first, count, exact.get(digest)) for (_, digest), (count, first) in described]
    seen = {digest for _, digest in tallies}
    unseen, unseen_dropped = _cap([o for d, o in exact.items() if d not in seen], lambda o: o.status, plan.options.top)
    told_unfinished = _tell(plan, unfinished[1], unfinished[0], None) if unfinished else None
    return Sample(plan, outcomes, more, unseen, len(unseen_dropped), told_unfinished, steps)


def _cap(items: list, status_of, top: int) -> tuple[list, list]:
    """The first `top` items of each status (all if top is 0), and the rest."""
    kept, dropped, counts = [], [], {}
    for item in items:
        kind = status_of(item)
        counts[kind] = counts.get(kind, 0) + 1
        (dropped if top and counts[kind] > top else kept).append(item)
    return kept, dropped


def _tell(plan: Plan, run: int, count: int, exact: Outcome | None) -> Seen:
    """An outcome, told by redoing its first run (cheap: one run, not a stored schedule per run)."""
    result = _seeded(plan, run_seed(plan.options.seed, run))
    message = None if result.status == UNFINISHED else _ending(plan.program, result.final)[3]
    return Seen(result.status, count, result, run, message, exact)
