"""Every bound schedsim puts on its own work, in one place.

Exhaustive search cannot promise to end on every scenario, so each search
stops at a bound and says so. The defaults live here, beside what hitting
each one usually means; the functions and CLI options that take a bound
default to these and accept any other value.

The real-thread runs of the cross-check are timed, not bounded in steps or
states: their timings stay with the code that applies them
(`pyexport.Limits`, `realrun.Timeouts`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bounds:
    """The default of every bound; override one with `dataclasses.replace` or its own option."""

    # States of one exploration (explore, graph, crosscheck --max-states). Hit by
    # a loop that can spin without bound, or by too many threads or steps.
    max_states: int = 1_000_000
    # (state, who knows an access) pairs of the data-race search (--max-race-states).
    # Hit when many unsynchronised accesses meet a large graph; the races found stand.
    max_race_states: int = 2_000_000
    # States of the exploration behind sample's exact probabilities and its uniform
    # strategy (sample, run --max-states; 0 skips it). Hit by a graph too large to
    # explore: use --strategy random or pct, which need none.
    sample_max_states: int = 200_000
    # Steps of one sampled run (sample, run --max-steps). Hit by a loop that spins
    # until another thread runs, which a strategy may keep from running.
    sample_max_steps: int = 10_000
    # Steps of one schedule the cross-check samples to replay on real threads;
    # such schedules must stay short enough to replay. Hit by a spinning loop.
    crosscheck_max_steps: int = 500
    # Probabilities on a graph with cycles are exact fractions only on a graph with at
    # most this many transitions, and only through strongly connected components of
    # at most exact_max_component states; past either, floating point (the report
    # says which numbers are exact). Fractions grow with every step they pass.
    exact_max_transitions: int = 200_000
    exact_max_component: int = 60
    # States of the largest strongly connected component solved by sparse LU, whose cost
    # grows faster than the component (about 3 s at 30,000 states). A larger one is
    # solved by summing the chance of being in each state after 1, 2, 3, ... steps, which
    # converges as fast as runs leave it; past max_solve_iterations steps the probabilities
    # downstream are reported as not computed. Such slow components are mostly those a
    # partial exploration cuts open, where runs leave only through the unexplored edge.
    max_lu_component: int = 40_000
    max_solve_iterations: int = 3_000
    # Steps the starvation search may look at, summed over the threads it checks (each
    # check walks the steps that lie on cycles). Hit by many threads on a large cyclic
    # graph; the report says the search is incomplete.
    max_liveness_edges: int = 50_000_000


DEFAULT_BOUNDS = Bounds()
