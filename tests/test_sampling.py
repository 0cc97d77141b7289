"""Sampling strategies against the exact numbers of the exhaustive analysis.

With a fixed seed every test here is deterministic; the statistics tests
check that the frequencies of that seed's runs pass a chi-square test (at
the 0.001 level) against exact probabilities, so a strategy that samples
the wrong distribution fails them.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SPIN_YAML, program_of
from schedsim.cli import load_program
from schedsim.engine.replay import replay
from schedsim.sampling import RunResult, SampleOptions, run_once, run_seed, sample, single_run
from schedsim.strategies.pct import Pct, bound
from schedsim.strategies.randomwalk import RandomWalk
from schedsim.strategies.uniform import path_counts

ROOT = Path(__file__).resolve().parent.parent

THREE_COUNTERS = """
    shared: {x: 0}
    threads:
      T:
        count: 3
        code: |
          t = x
          x = t + 1
"""


def counter_of(threads: int) -> str:
    """`threads` threads that each add 1 to x without a lock (read, add, write)."""
    return f"""
        shared: {{x: 0}}
        threads:
          T:
            count: {threads}
            code: |
              a = x
              a = a + 1
              x = a
        checks:
          final: ["x == {threads}"]
    """


def chi_square(observed: dict, expected: dict, runs: int) -> float:
    """Pearson's statistic of observed counts against expected probabilities (same keys)."""
    return sum((observed.get(key, 0) - runs * p) ** 2 / (runs * p) for key, p in expected.items())


def critical_value(df: int, z: float = 3.0902) -> float:
    """Wilson-Hilferty's chi-square quantile; z = 3.0902 is the normal's 0.999 quantile."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def frequencies(program, options: SampleOptions) -> tuple[dict, dict, dict]:
    """{final: runs}, {final: exact probability}, {final: exact interleaving share} of a sample."""
    result = sample(program, options)
    analysis = result.plan.analysis
    observed = {seen.first.final.shared: seen.runs for seen in result.outcomes}
    probability = {o.final: float(o.probability) for o in analysis.outcomes}
    share = {o.final: o.interleavings / analysis.interleavings for o in analysis.outcomes}
    return observed, probability, share


def test_chi_square_critical_values_are_close_to_the_table():
    """The approximation against the table's 0.999 quantiles (10.83, 13.82, 16.27)."""
    for df, table in ((1, 10.828), (2, 13.816), (3, 16.266)):
        assert abs(critical_value(df) - table) / table < 0.04


def test_random_frequencies_on_counter_match_explores_probabilities():
    """counter.yaml: x == 2 with probability 1/4, x == 1 with 3/4."""
    program = load_program(str(ROOT / "scenarios" / "counter.yaml"))
    observed, probability, _ = frequencies(program, SampleOptions(runs=2_000, seed=11))
    assert probability == {(2,): 0.25, (1,): 0.75}
    assert chi_square(observed, probability, 2_000) < critical_value(1)


def test_random_frequencies_on_three_counters_match_explores_probabilities():
    """Three outcomes (x = 1, 2, 3) with unequal odds: two degrees of freedom."""
    observed, probability, _ = frequencies(program_of(THREE_COUNTERS), SampleOptions(runs=3_000, seed=5))
    assert set(observed) == set(probability) == {(1,), (2,), (3,)}
    assert chi_square(observed, probability, 3_000) < critical_value(2)


def test_uniform_frequencies_match_interleaving_shares_not_probabilities():
    """counter.yaml: 2 of 20 interleavings end with x == 2, a share of 1/10, though its probability is 1/4."""
    program = load_program(str(ROOT / "scenarios" / "counter.yaml"))
    observed, probability, share = frequencies(program, SampleOptions(runs=2_000, seed=3, strategy="uniform"))
    assert share == {(2,): 0.1, (1,): 0.9}
    assert chi_square(observed, share, 2_000) < critical_value(1)
    assert chi_square(observed, probability, 2_000) > critical_value(1)


def test_uniform_frequencies_on_three_counters_match_interleaving_shares():
    observed, _, share = frequencies(program_of(THREE_COUNTERS), SampleOptions(runs=3_000, seed=8, strategy="uniform"))
    assert chi_square(observed, share, 3_000) < critical_value(2)


def test_path_counts_from_the_initial_state_are_the_interleavings():
    """The uniform strategy's weights count what analysis counts: C(6, 3) = 20 for counter."""
    result = sample(load_program(str(ROOT / "scenarios" / "counter.yaml")), SampleOptions(runs=1, strategy="uniform"))
    assert path_counts(result.plan.exploration)[0] == result.plan.analysis.interleavings == 20


def test_pct_finds_the_lost_update_of_four_counters_within_the_papers_bound():
    """n = 4 threads, k = 12 steps, depth 2: each run finds it with chance >= 1/48,
    so 329 runs miss it with chance below 1/1000; depth 3 (>= 1/576) needs 3,976."""
    program = program_of(counter_of(4))
    for depth in (2, 3):
        chance = bound(threads=4, steps=12, depth=depth)
        runs = math.ceil(math.log(1e-3) / math.log(1 - chance))
        result = sample(program, SampleOptions(runs=runs, seed=2, strategy="pct", depth=depth, max_states=0))
        assert result.plan.pct_steps == 12
        assert any(seen.status == "violation" for seen in result.outcomes)


def test_pct_of_depth_one_runs_each_thread_to_its_end():
    """No change points: the highest-priority thread runs alone until it ends, so no update is lost."""
    result = sample(program_of(counter_of(4)), SampleOptions(runs=200, seed=1, strategy="pct", depth=1))
    assert [(seen.status, seen.first.final.shared) for seen in result.outcomes] == [("finished", (4,))]


def test_pct_gives_distinct_priorities_and_depth_minus_one_change_points():
    pct = Pct(threads=5, depth=4, steps=30)
    pct.begin(random.Random(9))
    assert sorted(pct._priority) == [4, 5, 6, 7, 8]
    assert sorted(pct._changes.values()) == [1, 2, 3]
    assert all(1 <= point <= 30 for point in pct._changes)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**48))
def test_every_sampled_run_replays_to_the_same_end(seed):
    """A run's schedule, replayed through the one step function, ends in the run's own state."""
    program = program_of(THREE_COUNTERS)
    result: RunResult = run_once(program, RandomWalk(), random.Random(seed), max_steps=100)
    replayed = replay(program, [program.threads[tid].name for tid in result.schedule])
    assert replayed.final == result.final


def test_a_sampled_outcome_is_redone_by_its_run_seed():
    """The seed that the report gives for an outcome is the run that reached it."""
    program = program_of(counter_of(3))
    options = SampleOptions(runs=50, seed=4, strategy="pct")
    for seen in sample(program, options).outcomes:
        assert seen.first.seed == run_seed(4, seen.run)
        _, again = single_run(program, SampleOptions(seed=seen.first.seed, strategy="pct", pct_steps=9))
        assert again == seen.first


def test_jobs_do_not_change_the_result():
    program = program_of(counter_of(3))
    options = SampleOptions(runs=400, seed=6, strategy="pct", depth=2)
    one, two = sample(program, options, jobs=1), sample(program, options, jobs=2)
    assert one.outcomes == two.outcomes and one.steps == two.steps


def test_random_and_pct_sample_the_seed_notes_nine_threads_of_100_prints():
    """900 steps a run, far beyond exploring: runs still finish, without the state graph."""
    program = load_program(str(ROOT / "benchmarks" / "print_9x100.yaml"))
    for strategy in ("random", "pct"):
        result = sample(program, SampleOptions(runs=4, seed=1, strategy=strategy, max_states=0))
        assert result.steps == 4 * 900
        assert result.plan.exploration is None
        assert all(seen.status == "finished" and len(seen.first.final.output) == 900 for seen in result.outcomes)


def test_a_spin_loop_under_random_ends_or_is_counted_unfinished():
    """A run over max_steps is 'unfinished', kept apart from the outcomes."""
    program = program_of(SPIN_YAML)
    result = sample(program, SampleOptions(runs=100, seed=1, strategy="pct", max_steps=50))
    assert result.unfinished is not None and result.unfinished.status == "unfinished"
    assert result.unfinished.runs + sum(seen.runs for seen in result.outcomes) == 100
