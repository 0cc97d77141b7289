"""schedsim side by side with Harmony and SPIN on the same models (issues 8 and 9).

Three modes, each printing Markdown tables:

    python3 benchmarks/peers.py                        # every model through all three tools
    python3 benchmarks/peers.py --only counter_4,dining --timeout 60
    python3 benchmarks/peers.py --stages               # schedsim's stages timed separately, in-process
    python3 benchmarks/peers.py --cyclic               # analysis time against the largest SCC
    python3 benchmarks/peers.py --reduce --repeat 1    # explore --reduce por against the full graph and Harmony
    python3 benchmarks/peers.py --symmetry --only 'counter_3x2$,counter_4x2$,counter_5x2$,dining'   # symmetry on and off, Harmony
    python3 benchmarks/peers.py --tree /work/wt-x --append   # measure another tree; add the tables to README.md
    python3 benchmarks/peers.py --steps shared --only differ  # schedsim in both step modes, and Harmony

Every run is a subprocess of its own with a wall-clock timeout; a run past it
is killed (its whole process group) and shown as "> S s". Times are the
best of --repeat runs (other load on the machine only ever slows a run); a
model that timed out once is not tried again. The models come from
models.py and are written to a fresh temporary directory, where the peers
also write their own output files; nothing else is touched (Harmony's
settings directory is pointed there too, and it never opens a browser).

- schedsim: `python -m schedsim explore --json` with PYTHONPATH set to the
  tree under test (--tree, default this checkout): the full answer. With
  `--steps shared` it runs once with one step per statement and once with
  `--steps shared`, beside Harmony (whose steps are the shared ones), and
  SPIN is left out.
- Harmony: `harmony --noweb MODEL.hny`: compile, model check and its
  analyses (races, non-termination), with its default number of workers.
- SPIN: `spin -a`, `gcc -O2 -DSAFETY` (timed once, shown apart), then
  `./pan -c0`: an exhaustive safety search (assertions, invalid end states)
  that does not stop at an error; partial-order reduction as by default.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import models as model_set

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
SCHEDSIM_MAX_STATES = 50_000_000
PAN_DEPTH = 1_000_000  # pan's search stack; the cyclic models go deep
SCHEDSIM_EXITS = (0, 1, 3)  # explore answered: all well, something can fail, or a partial exploration


@dataclass
class Run:
    """One subprocess run: its wall time, or None when it was killed at the timeout."""

    seconds: float | None
    stdout: str
    stderr: str
    returncode: int | None

    @property
    def timed_out(self) -> bool:
        return self.seconds is None


def run_timed(command: list[str], cwd: Path, timeout: float, env: dict | None = None) -> Run:
    """Run `command` in a process group of its own; past `timeout` seconds kill that group."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return Run(None, stdout, stderr, None)
    return Run(time.perf_counter() - started, stdout, stderr, process.returncode)


def best_of(repeat: int, once, succeeded=(0,)) -> Run:
    """The fastest of `repeat` calls of once(); the first timeout or failure ends the tries and is the answer."""
    best = None
    for _ in range(max(1, repeat)):
        run = once()
        if run.timed_out or run.returncode not in succeeded:
            return run
        if best is None or run.seconds < best.seconds:
            best = run
    return best


@dataclass
class Result:
    """What one tool said about one model."""

    seconds: float | None = None   # None: timed out (or did not run; see `note`)
    states: int | None = None
    verdict: str = ""
    note: str = ""                 # why there is no time: not installed, failed, no model
    extra: dict = field(default_factory=dict)


def _failed(run: Run, tool: str) -> Result:
    last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:] or ["no output"]
    return Result(note=f"{tool} failed (exit {run.returncode}): {last[0][:120]}")


# -- the three tools ------------------------------------------------------------------

def schedsim_env(tree: Path) -> dict:
    env = dict(os.environ)
    # As installed, a package has its bytecode compiled; without it every run compiles some 60
    # modules again (0.15 s), which Harmony, installed by pip, does not pay either.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(tree)
    env["PYTHONHASHSEED"] = "0"
    return env


def run_schedsim(path: Path, tree: Path, timeout: float, repeat: int, options: tuple[str, ...] = ()) -> Result:
    command = [sys.executable, "-m", "schedsim", "explore", "--json", "--max-states", str(SCHEDSIM_MAX_STATES),
               *options, str(path)]
    run = best_of(repeat, lambda: run_timed(command, path.parent, timeout, schedsim_env(tree)), SCHEDSIM_EXITS)
    if run.timed_out:
        return Result()
    if run.returncode not in SCHEDSIM_EXITS:
        return _failed(run, "schedsim")
    report = json.loads(run.stdout)
    symmetry = report.get("symmetry") or {}
    explored = symmetry.get("explored_states", report["states"])
    return Result(run.seconds, report["states"], schedsim_verdict(report),
                  extra={"ends": ends_of(report), "explored": explored, "reduced": symmetry.get("reduced", False)})


def ends_of(report: dict) -> set:
    """Every end of a run the report lists (runs that never end left out), to compare two reports by."""
    return {(outcome["status"], json.dumps(outcome["final"], sort_keys=True), tuple(outcome["output"]),
             outcome.get("message")) for outcome in report["outcomes"] if outcome["status"] != "runs_forever"}


def schedsim_verdict(report: dict) -> str:
    """The report in a few words: outcomes by status, races, starvation, and whether it is complete."""
    statuses: dict[str, int] = {}
    for outcome in report["outcomes"]:
        statuses[outcome["status"]] = statuses.get(outcome["status"], 0) + 1
    parts = [f"{count} {status}" for status, count in statuses.items()] or ["no outcome"]
    for key in ("races", "lock_order", "starvation"):
        if report.get(key):
            parts.append(f"{len(report[key])} {key.replace('_', ' ')}")
    if not report["complete"]:
        parts.append(f"incomplete ({report['stopped']})")
    return ", ".join(parts)


def harmony_command() -> list[str] | None:
    found = shutil.which("harmony")
    return [found] if found else None


def run_harmony(path: Path, timeout: float, repeat: int) -> Result:
    command = harmony_command()
    if command is None:
        return Result(note="not installed")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as for schedsim (schedsim_env)
    env["XDG_CONFIG_HOME"] = str(path.parent / "harmony-config")  # its settings file, kept in the run's directory
    run = best_of(repeat, lambda: run_timed(command + ["--noweb", path.name], path.parent, timeout, env))
    if run.timed_out:
        return Result()
    states = re.search(r"^\s*\*\s*(\d+) states", run.stdout, re.MULTILINE)
    if run.returncode != 0 or states is None:
        return _failed(run, "harmony")
    summary = re.search(r"\*\*(No issues found|Summary: [^*]*)\*\*", run.stdout)
    return Result(run.seconds, int(states.group(1)), summary.group(1) if summary else "")


def run_spin(path: Path, timeout: float, repeat: int) -> Result:
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        return Result(note="not installed")
    work = path.parent / f"spin_{path.stem}"  # pan.c and friends, one directory per model
    work.mkdir(exist_ok=True)
    shutil.copy(path, work / path.name)
    started = time.perf_counter()
    for command in (["spin", "-a", path.name], ["gcc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"]):
        built = run_timed(command, work, timeout)
        if built.timed_out or built.returncode != 0:
            return Result(note="spin/gcc timed out" if built.timed_out else _failed(built, command[0]).note)
    compile_seconds = time.perf_counter() - started
    run = best_of(repeat, lambda: run_timed(["./pan", "-c0", f"-m{PAN_DEPTH}"], work, timeout))
    if run.timed_out:
        return Result(extra={"compile": compile_seconds})
    states = re.search(r"(\d+) states, stored", run.stdout)
    if run.returncode != 0 or states is None:
        return _failed(run, "pan")
    return Result(run.seconds, int(states.group(1)), spin_verdict(run.stdout), extra={"compile": compile_seconds})


def spin_verdict(output: str) -> str:
    errors = re.search(r"errors: (\d+)", output)
    kinds = sorted(set(re.findall(r"pan:\d+: ([a-z ]+?) \(", output)))
    verdict = f"{errors.group(1) if errors else '?'} errors" + (f" ({', '.join(kinds)})" if kinds else "")
    if "max search depth too small" in output:
        verdict += ", depth limit hit"
    return verdict


# -- formatting ---------------------------------------------------------------------------

def seconds_text(result: Result, timeout: float) -> str:
    if result.note:
        return result.note
    return f"> {timeout:g} s" if result.seconds is None else f"{result.seconds:.2f} s"


def count_text(number: int | None) -> str:
    return "-" if number is None else f"{number:,}"


def ratio_text(ours: Result, peer: Result, timeout: float) -> str:
    """schedsim's time over the peer's; a timeout makes it a bound."""
    if ours.note or peer.note or (ours.seconds is None and peer.seconds is None):
        return "-"
    if ours.seconds is None:
        return f"> {timeout / peer.seconds:.1f}"
    if peer.seconds is None:
        return f"< {ours.seconds / timeout:.2f}"
    return f"{ours.seconds / peer.seconds:.1f}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def peer_tables(results: dict[str, dict[str, Result]], timeout: float) -> str:
    times, verdicts = [], []
    for name, by_tool in results.items():
        ours, harmony, spin = by_tool["schedsim"], by_tool["harmony"], by_tool["spin"]
        compile_seconds = spin.extra.get("compile")
        times.append([name, count_text(ours.states), seconds_text(ours, timeout),
                      count_text(harmony.states), seconds_text(harmony, timeout), ratio_text(ours, harmony, timeout),
                      count_text(spin.states), seconds_text(spin, timeout), ratio_text(ours, spin, timeout),
                      "-" if compile_seconds is None else f"{compile_seconds:.2f} s"])
        verdicts.append([name, ours.verdict or "-", harmony.verdict or "-", spin.verdict or "-"])
    return (markdown(["model", "schedsim states", "schedsim", "Harmony states", "Harmony", "ratio",
                      "SPIN states", "SPIN (pan)", "ratio", "SPIN compile"], times)
            + "\n\nWhat each tool reported:\n\n"
            + markdown(["model", "schedsim", "Harmony", "SPIN"], verdicts))


def steps_tables(results: dict[str, dict[str, Result]], timeout: float) -> str:
    """schedsim with statement steps and with shared steps, beside Harmony, whose steps are the shared ones."""
    times, verdicts = [], []
    for name, by_tool in results.items():
        statement, shared, harmony = by_tool["statement"], by_tool["shared"], by_tool["harmony"]
        times.append([name, count_text(statement.states), seconds_text(statement, timeout),
                      count_text(shared.states), seconds_text(shared, timeout),
                      count_text(harmony.states), seconds_text(harmony, timeout), ratio_text(shared, harmony, timeout)])
        verdicts.append([name, statement.verdict or "-", shared.verdict or "-", harmony.verdict or "-"])
    return (markdown(["model", "statement states", "statement", "shared states", "shared",
                      "Harmony states", "Harmony", "ratio (shared / Harmony)"], times)
            + "\n\nWhat each reported:\n\n"
            + markdown(["model", "schedsim, statement steps", "schedsim, shared steps", "Harmony"], verdicts))


def symmetry_tables(results: dict[str, dict[str, Result]], timeout: float) -> str:
    """schedsim as it runs by default (alike threads reduced by symmetry) and with --no-symmetry, beside Harmony."""
    rows = []
    for name, by_tool in results.items():
        reduced, full, harmony = by_tool["symmetry"], by_tool["full"], by_tool["harmony"]
        explored = reduced.extra.get("explored") if reduced.extra.get("reduced") else None
        rows.append([name, count_text(reduced.states), count_text(explored), seconds_text(reduced, timeout),
                     seconds_text(full, timeout), count_text(harmony.states), seconds_text(harmony, timeout),
                     ratio_text(reduced, harmony, timeout), ratio_text(full, harmony, timeout),
                     "yes" if reduced.extra.get("ends") == full.extra.get("ends") and full.seconds else "-"])
    return markdown(["model", "states (full graph)", "explored (symmetry)", "schedsim", "--no-symmetry",
                     "Harmony states", "Harmony", "ratio", "ratio --no-symmetry", "same outcomes"], rows)


# -- schedsim's stages, in-process (the worker runs in a subprocess of its own) ---------------

def stage_worker(path: str, with_scc: bool, steps: str = "statement") -> int:
    """Time each stage of schedsim's pipeline on one scenario; one JSON line per stage, as it ends.

    Printed line by line, so that when the parent kills this process at its
    timeout it still knows which stages ended and which one was running.
    """
    from schedsim.analyses.analysis import analyse
    from schedsim.engine.compiler import compile_scenario
    from schedsim.engine.explorer import explore
    from schedsim.analyses.findings import find
    from schedsim.reports.report import build_report
    from schedsim.frontends.scenario import load

    origin = time.perf_counter()

    def timed(stage: str, work):
        started = time.perf_counter()
        print(json.dumps({"stage": stage, "begin": started - origin}), flush=True)
        value = work()
        print(json.dumps({"stage": stage, "seconds": time.perf_counter() - started}), flush=True)
        return value

    program = timed("load", lambda: compile_scenario(load(path), steps))
    exploration = timed("explore", lambda: explore(program, max_states=SCHEDSIM_MAX_STATES))
    graph = exploration.graph
    print(json.dumps({"states": graph.number_of_nodes(), "transitions": graph.number_of_edges(),
                      "complete": exploration.complete}), flush=True)
    if with_scc:
        print(json.dumps(timed("scc", lambda: component_sizes(graph))), flush=True)
    analysis = timed("analyse", lambda: analyse(exploration))
    findings = timed("findings", lambda: find(exploration))
    timed("report", lambda: json.dumps(build_report(exploration, analysis, findings), indent=2))
    return 0


def component_sizes(graph) -> dict:
    """The largest strongly connected component, and how many components have a cycle."""
    import networkx as nx
    sizes = [len(component) for component in nx.strongly_connected_components(graph)]
    cyclic = [size for size in sizes if size > 1]
    return {"largest_scc": max(sizes, default=0), "cyclic_sccs": len(cyclic), "in_cycles": sum(cyclic)}


@dataclass
class StageRun:
    seconds: dict[str, float]      # stage -> seconds, for the stages that ended
    facts: dict                    # states, transitions, complete, largest_scc, ...
    running: str | None = None     # the stage that was running at the timeout
    running_for: float = 0.0       # how long it had run then, at least
    failure: str = ""


def run_stages(path: Path, tree: Path, timeout: float, with_scc: bool, steps: str = "statement") -> StageRun:
    command = [sys.executable, str(Path(__file__).resolve()), "--stage-worker", str(path), "--steps", steps]
    if with_scc:
        command.append("--scc")
    run = run_timed(command, path.parent, timeout, schedsim_env(tree))
    seconds, facts, begun = {}, {}, {}
    for line in run.stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # the last line, cut short by the kill
            continue
        if "seconds" in record:
            seconds[record["stage"]] = record["seconds"]
        elif "begin" in record:
            begun[record["stage"]] = record["begin"]
        else:
            facts.update(record)
    if run.timed_out:
        running = next((stage for stage in begun if stage not in seconds), "load")  # "load": killed before it began
        return StageRun(seconds, facts, running, timeout - begun.get(running, 0.0))
    if run.returncode != 0:
        return StageRun(seconds, facts, failure=_failed(run, "stage worker").note)
    return StageRun(seconds, facts)


def best_stages(path: Path, tree: Path, timeout: float, repeat: int, with_scc: bool,
                steps: str = "statement") -> StageRun:
    """Each stage's fastest time over `repeat` runs; a run that times out or fails is the answer."""
    best = None
    for _ in range(max(1, repeat)):
        run = run_stages(path, tree, timeout, with_scc, steps)
        if run.running or run.failure:
            return run
        if best is None:
            best = run
        else:
            best.seconds = {stage: min(best.seconds[stage], run.seconds[stage]) for stage in best.seconds}
    return best


def stage_cell(run: StageRun, stage: str) -> str:
    if stage in run.seconds:
        return f"{run.seconds[stage]:.2f}"
    if stage == run.running:
        return f"> {run.running_for:.0f} (timeout)"
    return "-"


def stage_table(runs: dict[str, StageRun], stages: tuple[str, ...], facts: tuple[str, ...]) -> str:
    rows = []
    for name, run in runs.items():
        cells = [name] + [count_text(run.facts.get(fact)) if fact != "complete" else
                          {True: "yes", False: "no"}.get(run.facts.get(fact), "-") for fact in facts]
        cells += [stage_cell(run, stage) for stage in stages]
        if run.failure:
            cells[-1] += f" ({run.failure})"
        rows.append(cells)
    return markdown(["model", *facts] + [f"{stage} s" for stage in stages], rows)


# -- the machine, the commit, the load -------------------------------------------------------

def tree_version(tree: Path) -> str:
    """The last commit that changed the tree's schedsim/ (what is measured), its HEAD, and whether
    schedsim/ has uncommitted changes."""
    def git(*words: str) -> str:
        return subprocess.run(["git", "-C", str(tree), *words], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        code = git("log", "-1", "--format=%h", "--", "schedsim")
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "schedsim")
    except (OSError, subprocess.CalledProcessError):
        return "(commit unknown)"
    return (code + ("" if head == code else f" (checkout at {head})")
            + (" with uncommitted changes in schedsim/" if dirty else ""))


def first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return lines[0] if lines else "unknown"


def load_text() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def preamble(tree: Path, args: argparse.Namespace) -> str:
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; schedsim at {tree_version(tree)} ({tree}); "
            f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} cores; {first_line(['harmony', '--version'])}; {first_line(['spin', '-V'])}; "
            f"{first_line(['gcc', '--version'])}. Timeout {args.timeout:g} s a run, best of {args.repeat}. "
            f"Load average before: {load_text()}.")


# -- command line ------------------------------------------------------------------------------

def measure_steps(chosen, directory: Path, args: argparse.Namespace) -> str:
    """--steps shared: each model through schedsim in both step modes and through Harmony."""
    variants = {"statement": (), "shared": ("--steps", "shared")}
    return steps_tables(measure_variants(chosen, directory, args, variants), args.timeout)


def measure_symmetry(chosen, directory: Path, args: argparse.Namespace) -> str:
    """--symmetry: each model through schedsim with and without symmetry reduction, and through Harmony."""
    variants = {"symmetry": (), "full": ("--no-symmetry",)}
    return symmetry_tables(measure_variants(chosen, directory, args, variants), args.timeout)


def measure_variants(chosen, directory: Path, args: argparse.Namespace,
                     variants: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Result]]:
    """Each model through schedsim once per variant (its extra `explore` options) and through Harmony."""
    results = {}
    for model in chosen:
        paths = model_set.write(model, directory)
        results[model.name] = {name: run_schedsim(paths["schedsim"], args.tree, args.timeout, args.repeat, options)
                               for name, options in variants.items()}
        results[model.name]["harmony"] = run_harmony(paths["harmony"], args.timeout, args.repeat) \
            if "harmony" in paths else Result(note="no model")
        print(f"  {model.name}: " + "; ".join(f"{tool} {seconds_text(result, args.timeout)}"
                                              for tool, result in results[model.name].items()),
              file=sys.stderr, flush=True)
    return results


def measure_peers(chosen, directory: Path, args: argparse.Namespace) -> str:
    results = {}
    for model in chosen:
        paths = model_set.write(model, directory)
        results[model.name] = {
            "schedsim": run_schedsim(paths["schedsim"], args.tree, args.timeout, args.repeat),
            "harmony": run_harmony(paths["harmony"], args.timeout, args.repeat) if "harmony" in paths
            else Result(note="no model"),
            "spin": run_spin(paths["spin"], args.timeout, args.repeat) if "spin" in paths else Result(note="no model"),
        }
        print(f"  {model.name}: " + "; ".join(f"{tool} {seconds_text(result, args.timeout)}"
                                              for tool, result in results[model.name].items()),
              file=sys.stderr, flush=True)
    return peer_tables(results, args.timeout)


def measure_reduction(chosen, directory: Path, args: argparse.Namespace) -> str:
    """`explore --reduce por` against the full `explore` and Harmony, with whether the two explores end alike."""
    rows = []
    for model in chosen:
        paths = model_set.write(model, directory)
        full = run_schedsim(paths["schedsim"], args.tree, args.timeout, args.repeat)
        reduced = run_schedsim(paths["schedsim"], args.tree, args.timeout, args.repeat, ("--reduce", "por"))
        harmony = run_harmony(paths["harmony"], args.timeout, args.repeat) if "harmony" in paths \
            else Result(note="no model")
        same = "-" if "ends" not in full.extra or "ends" not in reduced.extra \
            else "yes" if full.extra["ends"] == reduced.extra["ends"] else "NO"
        states = "-" if full.states is None or reduced.states is None else f"{full.states / reduced.states:.1f}"
        rows.append([model.name, count_text(full.states), seconds_text(full, args.timeout),
                     count_text(reduced.states), seconds_text(reduced, args.timeout), states,
                     ratio_text(reduced, full, args.timeout), count_text(harmony.states),
                     seconds_text(harmony, args.timeout), ratio_text(reduced, harmony, args.timeout), same,
                     reduced.verdict or "-"])
        print(f"  {model.name}: full {seconds_text(full, args.timeout)}; por {seconds_text(reduced, args.timeout)}; "
              f"harmony {seconds_text(harmony, args.timeout)}", file=sys.stderr, flush=True)
    return markdown(["model", "full states", "full", "por states", "por", "states full/por", "time por/full",
                     "Harmony states", "Harmony", "time por/Harmony", "same ends", "por found"], rows)


def measure_stages(chosen, directory: Path, args: argparse.Namespace, with_scc: bool) -> str:
    runs = {}
    for model in chosen:
        path = model_set.write(model, directory)["schedsim"]
        runs[model.name] = best_stages(path, args.tree, args.timeout, args.repeat, with_scc, args.steps)
        print(f"  {model.name}: {runs[model.name].seconds}", file=sys.stderr, flush=True)
    if with_scc:
        return stage_table(runs, ("explore", "analyse", "findings", "report"),
                           ("states", "transitions", "largest_scc", "cyclic_sccs"))
    return stage_table(runs, ("load", "explore", "analyse", "findings", "report"),
                       ("states", "transitions", "complete"))


def append_to_readme(title: str, text: str) -> None:
    with README.open("a", encoding="utf-8") as readme:
        readme.write(f"\n### {title}\n\n{text}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stages", action="store_true", help="time schedsim's stages separately, in-process")
    mode.add_argument("--cyclic", action="store_true",
                      help="the cyclic family: analysis time against the largest strongly connected component")
    mode.add_argument("--reduce", action="store_true",
                      help="explore --reduce por against the full exploration and Harmony (models.reduction_models)")
    mode.add_argument("--symmetry", action="store_true",
                      help="schedsim with symmetry reduction (its default) and with --no-symmetry, beside Harmony")
    mode.add_argument("--stage-worker", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--scc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated parts of model names (see models.py --list)")
    parser.add_argument("--sizes", default="2,3,4", help="--cyclic: the numbers of threads of the cyclic models [default: 2,3,4]")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a run may take [default: 120]")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts [default: 3]")
    parser.add_argument("--tree", type=Path, default=HERE.parent,
                        help="the schedsim checkout to measure (its directory goes on PYTHONPATH) [default: this one]")
    parser.add_argument("--append", action="store_true", help="also append the tables to benchmarks/README.md")
    parser.add_argument("--steps", choices=("statement", "shared"), default="statement",
                        help="shared: schedsim in both step modes beside Harmony; with --stages or --cyclic, "
                             "schedsim's stages with shared steps [default: statement]")
    args = parser.parse_args(argv)
    if args.stage_worker:
        return stage_worker(args.stage_worker, args.scc, args.steps)
    args.tree = args.tree.resolve()
    if args.cyclic:
        models = model_set.cyclic_models(tuple(int(size) for size in args.sizes.split(",")))
    else:
        models = model_set.reduction_models() if args.reduce else model_set.default_models()
    chosen = model_set.select(models, args.only)
    if not chosen:
        parser.error(f"no model matches --only {args.only}")
    header = preamble(args.tree, args)
    print(header, file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="schedsim-peers-") as directory:
        if args.reduce:
            tables = measure_reduction(chosen, Path(directory), args)
        elif args.symmetry:
            tables = measure_symmetry(chosen, Path(directory), args)
        elif args.cyclic or args.stages:
            tables = measure_stages(chosen, Path(directory), args, with_scc=args.cyclic)
        elif args.steps == "shared":
            tables = measure_steps(chosen, Path(directory), args)
        else:
            tables = measure_peers(chosen, Path(directory), args)
    text = f"{header} Load average after: {load_text()}.\n\n{tables}"
    print(text)
    if args.append:
        kind = ("cyclic family" if args.cyclic else "schedsim's stages" if args.stages
                else "partial-order reduction" if args.reduce else "symmetry" if args.symmetry else "peers")
        kind += ", --steps shared" if args.steps == "shared" else ""
        append_to_readme(f"peers.py, {kind}: {time.strftime('%Y-%m-%d', time.gmtime())}, "
                         f"schedsim at {tree_version(args.tree)}", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
