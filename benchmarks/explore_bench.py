"""How fast schedsim explores, and how much memory a state costs.

The family: N threads each add 1 to a shared counter K times, either bare
(`x = x + 1`: a read step and a write step) or under a lock (`with L:`
around it: acquire, read, write, release). The scenario is built in code and
run through the library stages directly: scenario.parse ->
compiler.compile_scenario -> explorer.explore -> analysis.analyse.

Every size runs in a fresh subprocess, so that its memory figure is its own:
memory is the growth of the process's peak resident set size (ru_maxrss from
resource.getrusage) from just before exploring, once after `explore` (the
state graph, the states and their index) and once after `analyse` too.
Time is wall clock (time.perf_counter) in the same run; no tracing is on.
The copies are alike, so `explore` would reduce them by symmetry; this
measures the full graph (`symmetry=False`), the cost of a state itself.

    python3 benchmarks/explore_bench.py                  # the default family, about a minute
    python3 benchmarks/explore_bench.py --sizes 2x2,3x3 --lock both
    python3 benchmarks/explore_bench.py --profile 4x4 --lock no   # cProfile + where the memory goes
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import subprocess
import sys
import time
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows; the memory column is then empty
    resource = None

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schedsim.analyses.analysis import INFINITE, analyse  # noqa: E402
from schedsim.engine.compiler import compile_scenario  # noqa: E402
from schedsim.engine.explorer import explore  # noqa: E402
from schedsim.frontends.scenario import parse  # noqa: E402

# (size, lock): the locked counter has far fewer states per size, so it goes further.
DEFAULT_RUNS = [
    ("2x2", False), ("3x2", False), ("3x3", False), ("4x2", False), ("4x3", False), ("5x2", False),
    ("2x2", True), ("3x3", True), ("4x4", True), ("5x4", True), ("6x4", True), ("6x5", True),
]
MAX_STATES = 50_000_000


def scenario_yaml(threads: int, increments: int, lock: bool) -> str:
    """N copies of a thread that adds 1 to x K times, with or without a lock."""
    if lock:
        body = f"for _ in range({increments}):\n    with L:\n        x = x + 1\n"
    else:
        body = f"for _ in range({increments}):\n    x = x + 1\n"
    indented = "".join(f"      {line}\n" for line in body.splitlines())
    return (
        f"name: counter_{threads}x{increments}{'_locked' if lock else ''}\n"
        "shared: {x: 0}\n"
        + ("locks: [L]\n" if lock else "")
        + "threads:\n  T:\n    count: " + str(threads) + "\n    code: |\n" + indented
    )


def program_for(threads: int, increments: int, lock: bool):
    text = scenario_yaml(threads, increments, lock)
    return compile_scenario(parse(text, f"counter_{threads}x{increments}.yaml"))


def peak_rss_bytes() -> int | None:
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def measure(threads: int, increments: int, lock: bool) -> dict:
    """Explore and analyse one size in this process; the figures as a dict."""
    program = program_for(threads, increments, lock)
    before = peak_rss_bytes()
    started = time.perf_counter()
    exploration = explore(program, max_states=MAX_STATES, symmetry=False)  # the full graph: see module docstring
    explored = time.perf_counter()
    after_explore = peak_rss_bytes()
    analysis = analyse(exploration)
    analysed = time.perf_counter()
    after_analyse = peak_rss_bytes()
    states = exploration.graph.number_of_nodes()
    interleavings = analysis.interleavings
    return {
        "threads": threads, "increments": increments, "lock": lock,
        "complete": exploration.complete,
        "states": states,
        "transitions": exploration.graph.number_of_edges(),
        "interleavings": None if interleavings is INFINITE else str(interleavings),
        "outcomes": len(analysis.outcomes),
        "explore_s": explored - started,
        "analyse_s": analysed - explored,
        "explore_rss": None if before is None else after_explore - before,
        "total_rss": None if before is None else after_analyse - before,
    }


def measure_in_subprocess(threads: int, increments: int, lock: bool) -> dict:
    command = [sys.executable, __file__, "--one", f"{threads}x{increments}", "--lock", "yes" if lock else "no"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


# -- the table -------------------------------------------------------------------

COLUMNS = ("threads", "incr", "lock", "states", "transitions", "interleavings",
           "explore s", "analyse s", "states/s", "B/state explore", "B/state total")


def interleavings_text(count: str | None) -> str:
    if count is None:
        return "infinite"
    if len(count) <= 12:
        return f"{int(count):,}"
    return f"{count[0]}.{count[1:3]}e{len(count) - 1} ({len(count)} digits)"


MEMORY_MIN_STATES = 5_000  # below this, RSS moves in page and arena steps, not per state


def row(result: dict) -> list[str]:
    states = result["states"]

    def per_state(grown: int | None) -> str:
        return "-" if grown is None or states < MEMORY_MIN_STATES else f"{grown / states:,.0f}"
    return [
        str(result["threads"]), str(result["increments"]), "yes" if result["lock"] else "no",
        f"{states:,}", f"{result['transitions']:,}", interleavings_text(result["interleavings"]),
        f"{result['explore_s']:.2f}", f"{result['analyse_s']:.2f}",
        f"{states / result['explore_s']:,.0f}" if result["explore_s"] > 0 else "-",
        per_state(result["explore_rss"]), per_state(result["total_rss"]),
    ]


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def machine_line() -> str:
    return (f"Python {platform.python_version()} ({platform.python_implementation()}), "
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
            f"schedsim {source_version()}")


def source_version() -> str:
    """The commit of the schedsim measured, and whether schedsim/ had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "schedsim"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(commit unknown)"
    return f"at {commit}" + (" with uncommitted changes in schedsim/" if dirty else "")


def best_of(results: list[dict]) -> dict:
    """The fastest explore and analyse times of repeated runs; the counts are the same in each."""
    best = dict(results[0])
    best["explore_s"] = min(result["explore_s"] for result in results)
    best["analyse_s"] = min(result["analyse_s"] for result in results)
    return best


def load_line(when: str) -> str:
    """The machine's load average: other processes on the 2 cores slow the timings down."""
    try:
        one, five, _ = os.getloadavg()
    except (AttributeError, OSError):
        return f"load average {when}: unknown"
    return f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min)"


# -- profile ---------------------------------------------------------------------

def deep_size(obj, seen: set) -> int:
    """Bytes of obj and everything it holds that `seen` does not hold already."""
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, (bool, type)) or callable(item):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (tuple, list, set, frozenset)):
            stack.extend(item)
    return total


def memory_breakdown(exploration) -> list[tuple[str, int]]:
    """Where the bytes of an exploration live, each part counted once, in this order."""
    graph = exploration.graph
    seen: set = set()
    parts = [
        ("state tuples (threads, locals, shared, output)", exploration.states),
        ("states list (pointers)", None),
        ("index dict State -> node", exploration.index),
        ("graph successors (graph._succ / _adj)", graph._succ),
        ("graph predecessors (graph._pred)", graph._pred),
        ("graph node attributes (graph._node)", graph._node),
        ("parents array", exploration.parents),
    ]
    seen.add(id(exploration.states))
    result = []
    for name, obj in parts:
        if obj is None:
            result.append((name, sys.getsizeof(exploration.states)))
        elif name.startswith("state tuples"):
            result.append((name, sum(deep_size(state, seen) for state in obj)))
        else:
            result.append((name, deep_size(obj, seen)))
    return result


def profile(threads: int, increments: int, lock: bool, top: int) -> None:
    program = program_for(threads, increments, lock)
    profiler = cProfile.Profile()
    profiler.enable()
    exploration = explore(program, max_states=MAX_STATES, symmetry=False)
    analyse(exploration)
    profiler.disable()
    states = exploration.graph.number_of_nodes()
    print(f"cProfile of explore + analyse, {threads} threads x {increments} increments, "
          f"lock {'yes' if lock else 'no'}: {states:,} states, "
          f"{exploration.graph.number_of_edges():,} transitions (times include cProfile's overhead)\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    print(f"Where the memory goes (sys.getsizeof, each object counted once), per state of {states:,}:\n")
    total = 0
    for name, size in memory_breakdown(exploration):
        total += size
        print(f"  {size / states:8,.0f} B/state  {size / 2**20:9,.1f} MiB  {name}")
    print(f"  {total / states:8,.0f} B/state  {total / 2**20:9,.1f} MiB  total")


# -- command line ------------------------------------------------------------------

def parse_size(text: str) -> tuple[int, int]:
    threads, _, increments = text.lower().partition("x")
    return int(threads), int(increments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated NxK: N threads, K increments each; default: "
                        + ", ".join(f"{size}{' locked' if lock else ''}" for size, lock in DEFAULT_RUNS))
    parser.add_argument("--lock", choices=("yes", "no", "both"), default="both",
                        help="with --sizes, which variants to run; without, which default runs to keep")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each size this many times and keep the fastest (the others' noise is other load)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--profile", metavar="NxK", help="profile one size (cProfile, top by tottime) and break down its memory")
    parser.add_argument("--top", type=int, default=25, help="how many functions the profile lists")
    parser.add_argument("--one", metavar="NxK", help=argparse.SUPPRESS)  # a single measurement, as JSON
    args = parser.parse_args(argv)
    locks = {"yes": [True], "no": [False], "both": [False, True]}[args.lock]
    if args.one:
        print(json.dumps(measure(*parse_size(args.one), locks[0])))
        return 0
    if args.profile:
        for lock in locks:
            profile(*parse_size(args.profile), lock, args.top)
        return 0
    print(machine_line())
    print(load_line("before") + (f"; times are the fastest of {args.repeat} runs" if args.repeat > 1 else ""))
    print("memory: growth of peak RSS (getrusage ru_maxrss) per state, in a fresh process per size;"
          " 'explore' after building the graph, 'total' after the analysis too"
          f" ('-' under {MEMORY_MIN_STATES:,} states, too few to measure)")
    if args.sizes:
        runs = [(size, lock) for size in args.sizes.split(",") for lock in locks]
    else:
        runs = [(size, lock) for size, lock in DEFAULT_RUNS if lock in locks]
    rows = []
    for size, lock in runs:
        result = best_of([measure_in_subprocess(*parse_size(size), lock) for _ in range(max(1, args.repeat))])
        rows.append(row(result))
        if not args.markdown:
            print("  ".join(f"{name}={cell}" for name, cell in zip(COLUMNS, rows[-1])), flush=True)
    print(f"\n{load_line('after')}\n")
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
