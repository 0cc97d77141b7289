"""Two schedsim checkouts side by side, in CPU time, on a machine that other jobs share.

Wall clock on the 2 shared cores swung by 2x between runs minutes apart, so
this compares two trees under the same load instead:

- stages (`--what steps,explore,analyse`): both trees' `schedsim/` are copied
  under other package names into a temporary directory and imported into
  one process; each round times every tree once, interleaved, in CPU time
  (`time.process_time`, collector paused), and the best round counts.
  "steps" is `runnable` + `step` over every state of the exploration, the
  step function alone; "explore" the whole `explorer.explore`; "analyse"
  `analysis.analyse`.
- start-up (`--what startup`): `python -m schedsim explore --json` of a small
  model and `python -c "import schedsim.cli"` in fresh processes, the trees
  alternating, CPU time (user + sys) of each child from `getrusage`; the
  best of `--rounds` each.

    python3 benchmarks/ab_bench.py --base ../other-checkout              # every part, 5 rounds
    python3 benchmarks/ab_bench.py --base /tmp/main --what startup --rounds 9
    python3 benchmarks/ab_bench.py --base /tmp/main --what analyse --only dining_5
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import models as model_set
from explore_bench import scenario_yaml

HERE = Path(__file__).resolve().parent
STAGES = ("steps", "explore", "analyse")
CASES = {  # name -> scenario YAML
    "counter_4x2": model_set.counter(4, 2).schedsim,
    "counter_4x2_differ": model_set.counter(4, 2, differ=True).schedsim,
    "dining_5": model_set.dining(5).schedsim,
    "bench 4x2": scenario_yaml(4, 2, lock=False),
    "bench 5x4 locked": scenario_yaml(5, 4, lock=True),
}
STARTUP_MODEL = model_set.counter(3, 2).schedsim


def load_trees(trees: dict[str, Path], directory: Path) -> dict[str, dict]:
    """Each tree's stages, imported from a copy of its `schedsim/` under the tree's label."""
    sys.path.insert(0, str(directory))
    loaded = {}
    for label, tree in trees.items():
        shutil.copytree(tree / "schedsim", directory / label, ignore=shutil.ignore_patterns("__pycache__"))
        loaded[label] = {name: _stage(label, name) for name in STAGE_MODULES}
    return loaded


# Where each stage lives in the package; a checkout from before the stage folders has them flat.
STAGE_MODULES = {"scenario": "frontends", "compiler": "engine", "explorer": "engine", "semantics": "engine",
                 "analysis": "analyses"}


def _stage(label: str, name: str):
    try:
        return importlib.import_module(f"{label}.{STAGE_MODULES[name]}.{name}")
    except ModuleNotFoundError:
        return importlib.import_module(f"{label}.{name}")


def timed(work) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        work()
        return time.process_time() - started
    finally:
        gc.enable()


def all_steps(stages: dict, program, exploration) -> None:
    runnable, step = stages["semantics"].runnable, stages["semantics"].step
    for state in exploration.states:
        for tid in runnable(program, state):
            step(program, state, tid)


def stage_rows(loaded: dict[str, dict], what: list[str], only: list[str] | None, rounds: int) -> list[str]:
    rows = []
    for name, text in CASES.items():
        if only and name not in only:
            continue
        prepared = {}
        for label, stages in loaded.items():
            program = stages["compiler"].compile_scenario(stages["scenario"].parse(text, f"{name}.yaml"))
            prepared[label] = (stages, program, stages["explorer"].explore(program, max_states=10**8))
        for stage in what:
            best = dict.fromkeys(loaded, float("inf"))
            for _ in range(rounds):
                for label, (stages, program, exploration) in prepared.items():
                    work = {"steps": lambda: all_steps(stages, program, exploration),
                            "explore": lambda: stages["explorer"].explore(program, max_states=10**8),
                            "analyse": lambda: stages["analysis"].analyse(exploration)}[stage]
                    best[label] = min(best[label], timed(work))
            states = len(exploration.states)
            base, tree = best["base"], best["tree"]
            rows.append(f"| {stage} | {name} | {states:,} | {states / base:,.0f} | {states / tree:,.0f} | {base / tree:.2f} |")
    return rows


def child_cpu(tree: Path, args: list[str], cwd: Path) -> float:
    """CPU seconds (user + sys) of one `python ARGS` with `tree` on PYTHONPATH."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], cwd=cwd, env=dict(os.environ, PYTHONPATH=str(tree)),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def startup_rows(trees: dict[str, Path], directory: Path, rounds: int) -> list[str]:
    model = directory / "counter_3x2.yaml"
    model.write_text(STARTUP_MODEL, encoding="utf-8")
    commands = {"explore --json counter_3x2": ["-m", "schedsim", "explore", "--json", str(model)],
                "import schedsim.cli": ["-c", "import schedsim.cli"], "python -c pass": ["-c", "pass"]}
    rows = []
    for name, args in commands.items():
        best = dict.fromkeys(trees, float("inf"))
        for _ in range(rounds):
            for label, tree in trees.items():
                best[label] = min(best[label], child_cpu(tree, args, directory))
        rows.append(f"| {name} | {best['base'] * 1000:.0f} | {best['tree'] * 1000:.0f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path, help="the checkout to compare against")
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="the checkout measured [default: this one]")
    parser.add_argument("--what", default="startup," + ",".join(STAGES), help="comma-separated: startup, "
                        + ", ".join(STAGES) + " [default: all]")
    parser.add_argument("--only", help="comma-separated case names: " + ", ".join(CASES))
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best counts [default: 5]")
    args = parser.parse_args(argv)
    what = args.what.split(",")
    trees = {"base": args.base.resolve(), "tree": args.tree.resolve()}
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; base {trees['base']}, tree {trees['tree']}; "
          f"load average {os.getloadavg()[0]:.2f}; best of {args.rounds} rounds, CPU time")
    with tempfile.TemporaryDirectory() as directory:
        if "startup" in what:
            print("\n| command | base CPU ms | tree CPU ms |\n|---|---|---|")
            print("\n".join(startup_rows(trees, Path(directory), args.rounds)), flush=True)
        stages = [stage for stage in what if stage in STAGES]
        if stages:
            print("\n| stage | case | states | base states/s | tree states/s | speed-up |\n|---|---|---|---|---|---|")
            only = args.only.split(",") if args.only else None
            print("\n".join(stage_rows(load_trees(trees, Path(directory)), stages, only, args.rounds)))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
