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
    dense_max_component: int = 300  # up to here a dense LU beats setting up anything sparse
    max_lu_component: int = 40_000
    max_solve_iterations: int = 3_000
    # Steps the starvation search may look at, summed over the threads it checks (each
    # check walks the steps that lie on cycles). Hit by many threads on a large cyclic
    # graph; the report says the search is incomplete.
    max_liveness_edges: int = 50_000_000

    # -- what a scenario file may ask for: more is refused, one error line, exit 2 --
    # Bytes of a scenario file; a device, a pipe or anything not a regular file is refused.
    max_file_bytes: int = 1_000_000
    # Nesting of YAML collections (a list in a list ...), refused before it is built.
    max_yaml_depth: int = 100
    # YAML values with every alias expanded: a few lines of aliases can stand for
    # gigabytes ("billion laughs"). Counted on the parser's events, before building.
    max_yaml_nodes: int = 100_000
    # Threads of a scenario, counting each copy a `count:` makes.
    max_threads: int = 1_000
    # Nesting of a body's or a check's syntax (an expression inside an expression,
    # a block inside a block); deeper code would exhaust Python's own stack.
    max_syntax_depth: int = 100
    # Shared reads of one statement, each a step of its own that keeps its value in a
    # temp until the statement ends (print(x, x, ..., x)).
    max_statement_reads: int = 1_000

    # -- what one step may create: more ends the run with status "error" ----------
    # Bits of an int (2 ** 10**9 would take minutes; 10,000 bits print in about
    # 3,000 digits, under Python's own 4,300-digit limit for str(int)).
    max_int_bits: int = 10_000
    # Size of any value: a str counts its characters, an int its bytes, a list
    # 1 + the size of each item (a list held twice counts twice), anything else 1.
    # It bounds memory and the length of what printing the value writes.
    max_value_size: int = 1_000_000
    # Lists inside lists; deeper would exhaust Python's stack when printed or compared.
    max_list_depth: int = 100
    # Rounds of `for` loops one step may run through without a step of their own
    # (for i in range(10**18): for j in range(0): ...).
    max_silent_rounds: int = 10_000

    # -- command-line numbers: a larger one is refused, one error line, exit 2 ---------
    # --runs, --max-steps, --max-states, --pct-steps, --top, --max-race-states: no run
    # gets this far, and some of them size a list or a power (--runs 10**20 did).
    max_option_value: int = 1_000_000_000
    # --depth of PCT: its bound on a run's chance is 1 / (n k^(d-1)).
    max_pct_depth: int = 100
    # --jobs: worker processes.
    max_jobs: int = 256
    # --seed: a seed of random.Random, shown in replay commands.
    max_seed: int = 2**64 - 1


DEFAULT_BOUNDS = Bounds()

# How much a command does unless told otherwise: not bounds, but kept here with them so that the
# command line can show every default without loading the stages that use them.
EXPLORE_TOP = 3       # explore: outcomes described per status unless --top or --all; one screen
SAMPLE_RUNS = 100     # sample --runs
SAMPLE_DEPTH = 3      # sample, run --depth (pct)
SAMPLE_TOP = 10       # sample --top
CROSSCHECK_RUNS = 50  # crosscheck --runs: sampled schedules, and free runs

# A state-graph picture (DOT) of more states than this draws the shortest path to each end unless
# `schedsim graph --full`: a few hundred boxes are no longer readable.
PICTURE_LIMIT = 100
