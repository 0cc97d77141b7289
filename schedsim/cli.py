"""The command line: parse arguments, call the pipeline, render, map to exit codes.

Exit status, one meaning each:

- 0: every run finishes and every check holds (or: done, for show, export, graph);
- 1: some run can fail (violation, deadlock or error) or spin forever, or
  crosscheck found a MODEL MISMATCH;
- 2: bad input (the scenario, an option, a schedule), told in one line
  `schedsim: FILE:LINE: thread T: message`;
- 3: the report is partial and found nothing wrong in the part it covers
  (--max-states reached, a run stopped at --max-steps, or Ctrl-C: one
  Ctrl-C prints what was done so far);
- 4: a bug in schedsim: one line "schedsim: internal error, please report:
  ...", with the traceback under `schedsim --debug`.
"""
from __future__ import annotations

import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

import click

from .analyses.analysis import analyse
from .engine.compiler import compile_scenario
from .errors import ScenarioError
from .engine.explorer import INTERRUPTED, Exploration, explore
from .limits import CROSSCHECK_RUNS, DEFAULT_BOUNDS, EXPLORE_TOP, PICTURE_LIMIT, SAMPLE_DEPTH, SAMPLE_RUNS, SAMPLE_TOP
from .engine.por import POR, explore_por
from .engine.program import STATEMENT, STEP_MODES, Program
from .engine.replay import ScheduleError, parse_schedule, replay
from .reports.report import build_reduced_report, build_report, exit_status, json_text, run_json
from .frontends.scenario import load

if TYPE_CHECKING:
    from .sampling import SampleOptions

# The findings (numpy, for the liveness search), the text reports, the sampler and the
# cross-check load in the commands that use them: a small scenario's whole run takes less
# time than loading them all did.

OK, FAILS, BAD_INPUT, PARTIAL, INTERNAL = 0, 1, 2, 3, 4


def load_program(path: str, steps: str = STATEMENT) -> Program:
    return compile_scenario(load(path), steps)


def _fail(message: str) -> None:
    click.echo(f"schedsim: {message}", err=True)
    sys.exit(BAD_INPUT)


def _echo_json(data: Any) -> None:
    click.echo(json_text(data), nl=False)


class _ProgressLine:
    """Progress on stderr for long stages: a live line on a terminal, a line every 10 s elsewhere.

    Nothing shows for a stage that ends within its first second.
    """

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False
        self.stage, self.stage_started = "", time.monotonic()

    def __call__(self, states: int, transitions: int, seconds: float) -> None:
        """Exploration's progress."""
        self._show(seconds, f"exploring: {states:,} states, {transitions:,} transitions, "
                            f"{states / max(seconds, 1e-9):,.0f} states/s")

    def runs(self, done: int, total: int, outcomes: int) -> None:
        """Sampling's progress: runs finished (in any order), their rate, the outcomes among them."""
        if self.stage != "runs":
            self.stage, self.stage_started, self.last = "runs", time.monotonic(), 0.0
        seconds = time.monotonic() - self.stage_started
        self._show(seconds, f"sampling: {done:,} of {total:,} runs, {done / max(seconds, 1e-9):,.0f} runs/s, "
                            f"{outcomes:,} outcomes so far")

    def stage_progress(self, stage: str, done: int, total: int) -> None:
        """A later stage's progress: `done` of `total` of its units."""
        if stage != self.stage:
            self.stage, self.stage_started, self.last = stage, time.monotonic(), 0.0
        share = f" {done:,} of {total:,}" if total > 1 else ""
        self._show(time.monotonic() - self.stage_started, f"{STAGE_WORDS.get(stage, stage)}:{share}")

    def _show(self, seconds: float, text: str) -> None:
        if seconds < 1 or seconds - self.last < (1 if self.tty else 10):
            return
        self.last = seconds
        click.echo(("\r\x1b[K" + text) if self.tty else text, err=True, nl=not self.tty)
        self.shown = True

    def done(self) -> None:
        if self.shown and self.tty:
            click.echo("", err=True)
        self.shown = False


STAGE_WORDS = {"probabilities": "analysing: probabilities through the state graph's components",
               "races": "finding data races: access", "starvation": "looking for starvation"}


class _Schedsim(click.Group):
    """The command group, and the one place where what escapes a command
    becomes an exit status: Ctrl-C before a command has anything to show
    is exit 3, any other exception a schedsim bug, exit 4."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("schedsim: interrupted before there was anything to report.", err=True)
            ctx.exit(PARTIAL)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence, by design
            if ctx.params.get("debug"):
                traceback.print_exc()
            message = (str(exc).splitlines() or [""])[0]
            click.echo(f"schedsim: internal error, please report: {type(exc).__name__}: {message}"
                       + ("" if ctx.params.get("debug") else " (schedsim --debug ... shows the traceback)"), err=True)
            ctx.exit(INTERNAL)


@click.group(cls=_Schedsim, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="schedsim")
@click.option("--debug", is_flag=True, help="On an internal error, print the traceback too.")
def main(debug: bool) -> None:
    """Every interleaving of a small threaded program, counted exactly.

    Exit status: 0 all runs end well, 1 some run can fail, 2 bad input,
    3 partial (a limit or Ctrl-C), 4 internal error.
    """


# The bound of each whole-number option (`limits.Bounds`); click checks the typed ones.
_OPTION_MAXIMA = {"--depth": DEFAULT_BOUNDS.max_pct_depth, "--jobs": DEFAULT_BOUNDS.max_jobs,
                  "--seed": DEFAULT_BOUNDS.max_seed}
_OPTION_RANGE = click.IntRange(min=1, max=DEFAULT_BOUNDS.max_option_value)


def _max_states_option(function: Any) -> Any:
    return click.option("--max-states", type=_OPTION_RANGE, default=DEFAULT_BOUNDS.max_states,
                        show_default=True, help="Stop exploring after this many states and report what was found.")(function)


def _max_race_states_option(function: Any) -> Any:
    return click.option("--max-race-states", type=_OPTION_RANGE, default=DEFAULT_BOUNDS.max_race_states,
                        show_default=True, help="Stop the data-race search after this many (state, knowledge) pairs; "
                                                "the report says so.")(function)


def _steps_option(function: Any) -> Any:
    return click.option("--steps", type=click.Choice(STEP_MODES), default=STATEMENT, show_default=True,
                        help="What one step is: statement (each statement, split at its shared accesses) or "
                             "shared (a shared access with the local-only statements after it, as Harmony "
                             "and SPIN step; fewer states, the same outcomes; docs/steps.md).")(function)


@main.command("explore")
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text (a list of them for several files).")
@click.option("--top", type=click.IntRange(min=1), default=EXPLORE_TOP, show_default=True,
              help="Describe at most this many outcomes of each status, the most likely first; the rest are summed up.")
@click.option("--all", "show_all", is_flag=True, help="Describe every outcome.")
@_max_states_option
@_max_race_states_option
@click.option("--html", "html_output", type=click.Path(dir_okay=False), default=None,
              help="Also write the report as an interactive HTML page to this file (one FILE only).")
@click.option("--symmetry/--no-symmetry", default=True, show_default=True,
              help="Explore interchangeable threads (count: copies that never read index) once per set of "
                   "states that differ only by swapping them; counts and probabilities stay the full graph's.")
@click.option("--reduce", "reduce", type=click.Choice([POR]), default=None,
              help="por: a partial-order reduction for programs too big for the full graph: every way a run "
                   "can end, with a schedule, but no counts, probabilities or findings.")
@_steps_option
def explore_command(files: tuple[str, ...], as_json: bool, top: int, show_all: bool, max_states: int,
                    max_race_states: int, html_output: str | None, symmetry: bool, reduce: str | None,
                    steps: str) -> None:
    """Explore every interleaving of each FILE and report each possible outcome.

    Several files give one report each; the exit status is the worst of theirs
    (2 bad input, then 1 something can go wrong, then 3 incomplete, then 0)."""
    if html_output and len(files) > 1:
        _fail("--html writes the page of one FILE; give one, or use `schedsim html` for each")
    from .reports import render

    if html_output and reduce:
        _fail("--html needs the full state graph; leave out --reduce")
    if reduce and steps != STATEMENT:
        _fail("--reduce por takes statement steps only; leave out --steps shared")
    statuses, reports = [], []
    for position, file in enumerate(files):
        if not as_json and position:
            click.echo("\n" + "=" * 100 + "\n")
        try:
            program = load_program(file, steps)
        except ScenarioError as exc:
            click.echo(f"schedsim: {exc.located(file=file)}", err=True)
            statuses.append(BAD_INPUT)
            continue
        if reduce:
            exploration, report = _reduced_report(program, max_states)
        else:
            # the page walks the graph as the student schedules real threads: it needs every state
            exploration, report = _explore_report(program, max_states, max_race_states, symmetry and not html_output)
        if html_output:
            _write_html(html_output, exploration, report)
        reports.append(report)
        if not as_json:
            click.echo(render.explore_text(report, file, top=None if show_all else top), nl=False)
        statuses.append(exit_status(report))
    if as_json and reports:
        _echo_json(reports[0] if len(files) == 1 else reports)
    sys.exit(max(statuses, key=WORST.index))


WORST = (OK, PARTIAL, FAILS, BAD_INPUT, INTERNAL)  # exit statuses from best to worst


def _explore_report(program: Program, max_states: int, max_race_states: int,
                    symmetry: bool = True) -> tuple[Exploration, dict[str, Any]]:
    """Explore, analyse and search one program, with progress and warnings on stderr."""
    from .analyses.findings import Findings, find

    progress = _ProgressLine()
    exploration = explore(program, max_states=max_states, progress=progress, symmetry=symmetry)
    progress.done()
    _warn_stopped(exploration, max_states)
    analysis = analyse(exploration, progress=progress.stage_progress)
    if exploration.stopped == INTERRUPTED:  # one Ctrl-C is enough: report now, without the long searches
        findings = Findings(races_complete=False, interrupted="races")
    else:
        findings = find(exploration, max_race_states, progress=progress.stage_progress)
    progress.done()
    if exploration.stopped != INTERRUPTED and (not analysis.complete or findings.interrupted):
        click.echo("schedsim: interrupted; the report is partial.", err=True)
    return exploration, build_report(exploration, analysis, findings)


def _reduced_report(program: Program, max_states: int) -> tuple[Exploration, dict[str, Any]]:
    """Explore one program under partial-order reduction, with progress and warnings on stderr."""
    progress = _ProgressLine()
    reduction = explore_por(program, max_states=max_states, progress=progress)
    progress.done()
    _warn_stopped(reduction.exploration, max_states)
    return reduction.exploration, build_reduced_report(reduction)


def _warn_stopped(exploration: Exploration, max_states: int) -> None:
    if exploration.stopped == "limit":
        click.echo(f"schedsim: stopped at --max-states {max_states:,}; the report is partial. "
                   "A loop that can spin without bound, or too many threads or steps, often causes this; "
                   "`schedsim sample` runs it many times instead, with no state limit.", err=True)
    elif exploration.stopped == INTERRUPTED:
        click.echo("schedsim: interrupted; the report is partial.", err=True)


def _write_html(output: str, exploration: Exploration, report: dict[str, Any], seed: int = 0) -> None:
    from .reports.html_report import page

    try:
        with open(output, "w", encoding="utf-8") as stream:
            stream.write(page(exploration, report, seed))
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")


@main.command("html")
@click.argument("file", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the page (.html).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the run that the page's predict-then-reveal part hides.")
@_max_states_option
@_max_race_states_option
@_steps_option
def html_command(file: str, output: str, seed: int, max_states: int, max_race_states: int, steps: str) -> None:
    """Write FILE's report as one self-contained interactive HTML page: outcomes, schedules, the
    state graph, be-the-scheduler and predict-then-reveal; it opens from file:// with no network."""
    exploration, report = _explore_report(_program(file, steps), max_states, max_race_states, symmetry=False)
    _write_html(output, exploration, report, seed)
    click.echo(f"wrote {output}: {report['states']:,} states, {len(report['outcomes'])} outcomes")



@main.command("replay")
@click.argument("file", type=click.Path())
@click.option("--schedule", "schedule_text", required=True, help="Thread names, one per step: A,B,A,...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--locals", "show_locals", is_flag=True, help="Add a column with the stepping thread's locals after each step.")
@_steps_option
def replay_command(file: str, schedule_text: str, as_json: bool, show_locals: bool, steps: str) -> None:
    """Run FILE with the given schedule and show it step by step."""
    from .reports import render

    program = _program(file, steps)
    try:
        schedule = parse_schedule(schedule_text)
        run = replay(program, schedule)
    except ScheduleError as exc:
        _fail(f"{file}: {exc}")
    if as_json:
        _echo_json(run_json(run))
    else:
        click.echo(render.run_text(run, show_locals=show_locals), nl=False)
    if run.interrupted:
        click.echo(f"schedsim: interrupted after {len(run.steps):,} of {len(schedule):,} steps; "
                   "the run shown is partial.", err=True)
        sys.exit(PARTIAL)
    sys.exit(FAILS if run.status not in (None, "finished") else OK)


@main.command("show")
@click.argument("file", type=click.Path())
@_steps_option
def show_command(file: str, steps: str) -> None:
    """Print the compiled steps of FILE, one a line, with their source lines."""
    from .reports import render

    click.echo(render.program_text(_program(file, steps)), nl=False)


@main.command("graph")
@click.argument("file", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write: .dot/.gv (Graphviz), .graphml, or .json (networkx node-link).")
@click.option("--full", is_flag=True,
              help=f"Draw every state in a .dot picture; over {PICTURE_LIMIT} states it shows the outcome paths only.")
@_max_states_option
@_steps_option
def graph_command(file: str, output: str, full: bool, max_states: int, steps: str) -> None:
    """Write the state graph of FILE as DOT, GraphML or JSON, by OUTPUT's suffix."""
    program = _program(file, steps)
    exploration = explore(program, max_states=max_states, symmetry=False)  # the picture shows real states
    try:
        from .reports.graph_export import write_graph  # networkx loads only for the command that needs it

        kind, written = write_graph(exploration, output, full=full)
    except ValueError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    if written < len(exploration.states):
        click.echo(f"wrote the shortest path to each end (status and final values), {written:,} of {len(exploration.states):,} states, "
                   f"to {output} ({kind}); --full draws them all")
    else:
        click.echo(f"wrote {len(exploration.states):,} states and {exploration.transitions:,} steps to {output} ({kind})")
    if not exploration.complete:
        click.echo(f"schedsim: the graph is partial: exploration stopped ({exploration.stopped}).", err=True)
        sys.exit(PARTIAL)


def _sampling_options(function: Any) -> Any:
    """The options that `sample` and `run` share. Numbers are parsed here, not
    by click, so that a bad one is one line on stderr, not a usage screen."""
    options = [
        click.option("--seed", default="0", show_default=True, metavar="S", help="Seed of the run(s): a whole number >= 0."),
        click.option("--strategy", default="random", show_default=True, metavar="NAME",
                     help="random (each step uniform among runnable threads), uniform (each interleaving "
                          "equally likely) or pct (Burckhardt et al. 2010)."),
        click.option("--depth", default=str(SAMPLE_DEPTH), show_default=True, metavar="D",
                     help="pct: the bug depth d, which gives d-1 priority change points."),
        click.option("--pct-steps", default=None, metavar="K",
                     help="pct: change points fall among the first K steps [default: the length of one probe run]."),
        click.option("--max-steps", default=str(DEFAULT_BOUNDS.sample_max_steps), show_default=True, metavar="M",
                     help="Stop a run after M steps and count it as unfinished."),
        click.option("--max-states", default=str(DEFAULT_BOUNDS.sample_max_states), show_default=True, metavar="N",
                     help="Explore at most N states for the exact probabilities (and uniform); 0 skips them."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text."),
        _steps_option,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _whole(option: str, text: str | None) -> int | None:
    """An option's value as an int, or exit 2 with one line; at most its bound in `limits.Bounds`."""
    if text is None:
        return None
    try:
        value = int(text, 10) if len(text) <= 1_000 else None  # int() of a longer text grows quadratic
    except ValueError:
        value = None
    if value is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        _fail(f"{option} must be a whole number, not {shown!r}")
    most = _OPTION_MAXIMA.get(option, DEFAULT_BOUNDS.max_option_value)
    if value > most:
        _fail(f"{option} may be at most {most:,}, not {value:,}")
    return value



def _options(**texts: str | None) -> SampleOptions:
    """SampleOptions from the command line's strings; numbers checked by `_whole`."""
    from .sampling import SampleError, SampleOptions, validate

    values: dict[str, Any] = {"strategy": texts.pop("strategy")}
    for name, text in texts.items():
        value = _whole("--" + name.replace("_", "-"), text)
        if value is not None:
            values[name] = value
    options = SampleOptions(**values)
    try:
        validate(options)
    except SampleError as exc:
        _fail(str(exc))
    return options


@main.command("sample")
@click.argument("file", type=click.Path())
@click.option("--runs", default=str(SAMPLE_RUNS), show_default=True, metavar="N", help="How many runs.")
@click.option("--jobs", default="1", show_default=True, metavar="J",
              help="Worker processes; the output is the same for every J.")
@click.option("--top", default=str(SAMPLE_TOP), show_default=True, metavar="T",
              help="Describe at most T outcomes of each status (0: all); the rest are counted.")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler, or 'local' for a LocalCluster "
                   "of --jobs processes (default: one per core). Needs: pip install \"schedsim[dask]\".")
@click.option("--batch", default=None, metavar="B",
              help="With --cluster: runs per task [default: about 8 tasks per worker, at most 1,000 runs].")
@_sampling_options
def sample_command(file: str, runs: str, jobs: str, top: str, cluster: str | None, batch: str | None, seed: str,
                   strategy: str, depth: str, pct_steps: str | None, max_steps: str, max_states: str,
                   as_json: bool, steps: str) -> None:
    """Run FILE many times, each run picked by a strategy from a seed, and tally the outcomes."""
    from .reports.sample_report import build_sample_report, sample_exit_status, sample_text
    from .sampling import SampleError, sample

    options = _options(runs=runs, top=top, seed=seed, strategy=strategy, depth=depth, pct_steps=pct_steps,
                       max_steps=max_steps, max_states=max_states)
    workers = _whole("--jobs", jobs)
    if workers < 1:
        _fail("--jobs must be at least 1")
    if cluster is None:
        if batch is not None:
            _fail("--batch goes with --cluster")
        program = _program(file, steps)
        try:
            result = sample(program, options, jobs=workers)
        except SampleError as exc:
            _fail(f"{file}: {exc}")
    else:
        result = _sample_on_cluster(file, steps, options, cluster, _cluster_workers(cluster), _whole("--batch", batch))
    report = build_sample_report(result)
    if as_json:
        _echo_json(report)
    else:
        click.echo(sample_text(report, file), nl=False)
    if result.interrupted:
        click.echo(f"schedsim: interrupted after {result.plan.options.runs:,} of {options.runs:,} runs; "
                   "the report is partial.", err=True)
        status = sample_exit_status(report)
        sys.exit(FAILS if status == FAILS else PARTIAL)
    sys.exit(sample_exit_status(report))


def _cluster_workers(cluster: str) -> int | None:
    """--jobs is the size of a local cluster; an existing cluster has the workers it has."""
    context = click.get_current_context()
    given = context.get_parameter_source("jobs") is not click.core.ParameterSource.DEFAULT
    if given and cluster != "local":
        _fail("--jobs goes with --cluster local only: an existing cluster runs on the workers it has")
    return _whole("--jobs", context.params["jobs"]) if given else None


def _sample_on_cluster(file: str, steps: str, options: SampleOptions, cluster: str, workers: int | None,
                       batch: int | None):
    """sample --cluster: the scenario goes to the workers as parsed data; progress on stderr."""
    from .distributed import ClusterError, Recipe, sample_on_cluster
    from .sampling import SampleError

    scenario, program = _scenario_program(file, steps)
    progress = _ProgressLine()
    try:
        return sample_on_cluster(program, Recipe(scenario, options, steps), cluster, workers=workers,
                                 batch=batch, progress=progress.runs)
    except ClusterError as exc:
        _fail(str(exc))
    except SampleError as exc:
        _fail(f"{file}: {exc}")
    finally:  # Ctrl-C before any batch is in goes on up, to the group's one line
        progress.done()
    raise AssertionError("unreachable")


@main.command("run")
@click.argument("file", type=click.Path())
@click.option("--predict", is_flag=True,
              help="Hide every value after the initial state as ? and withhold the outcome; the same seed reveals it.")
@click.option("--locals", "show_locals", is_flag=True, help="Add a column with the stepping thread's locals after each step.")
@_sampling_options
def run_command(file: str, predict: bool, show_locals: bool, seed: str, strategy: str, depth: str, pct_steps: str | None,
                max_steps: str, max_states: str, as_json: bool, steps: str) -> None:
    """One run of FILE, picked by a strategy from a seed, as a trace: a column per thread, a row per step."""
    from .reports.sample_report import single_run_text
    from .sampling import UNFINISHED, SampleError, single_run

    if predict and as_json:
        _fail("--predict is for a class to read; it does not go with --json")
    options = _options(seed=seed, strategy=strategy, depth=depth, pct_steps=pct_steps,
                       max_steps=max_steps, max_states=max_states)
    program = _program(file, steps)
    try:
        plan, result = single_run(program, options)
    except SampleError as exc:
        _fail(f"{file}: {exc}")
    run = replay(program, [program.threads[tid].name for tid in result.schedule])
    if as_json:
        data = run_json(run)
        data.update(seed=result.seed, strategy=options.strategy, unfinished=result.status == UNFINISHED)
        _echo_json(data)
    else:
        click.echo(single_run_text(plan, result, run, file, predict, show_locals), nl=False)
    if result.interrupted:
        click.echo(f"schedsim: interrupted after {len(result.schedule):,} steps; the run shown is partial.", err=True)
        sys.exit(PARTIAL)
    if predict:
        sys.exit(0)  # the exit status would give the outcome away
    sys.exit({"finished": 0, UNFINISHED: 3}.get(result.status, 1))


def _program(file: str, steps: str = STATEMENT) -> Program:
    try:
        return load_program(file, steps)
    except ScenarioError as exc:
        _bad_scenario(file, exc)
    raise AssertionError("unreachable")


def _bad_scenario(file: str, error: ScenarioError) -> None:
    """Exit 2 with the one line of a scenario mistake, named by the file
    (stages after loading, such as the export, raise it without)."""
    _fail(str(error.located(file=file)))


@main.command("export")
@click.argument("file", type=click.Path())
@click.option("--python", "as_python", is_flag=True, help="A standalone Python program with real threading.")
def export_command(file: str, as_python: bool) -> None:
    """Print FILE as a real program: with --python, one that python3 runs on real threads."""
    from .real.pyexport import export_python

    if not as_python:
        _fail("say what to export: --python")
    scenario, program = _scenario_program(file)
    try:
        click.echo(export_python(scenario, program).source, nl=False)
    except ScenarioError as exc:
        _bad_scenario(file, exc)


@main.command("crosscheck")
@click.argument("file", type=click.Path())
@click.option("--runs", type=_OPTION_RANGE, default=CROSSCHECK_RUNS, show_default=True,
              help="Sampled schedules to replay on real threads, and free runs of the exported program.")
@click.option("--seed", type=click.IntRange(min=0, max=DEFAULT_BOUNDS.max_seed), default=0, show_default=True,
              help="Seed of the sampled schedules and the jitter.")
@click.option("--jitter", is_flag=True, help="Free runs pause at random (seeded) between statements, so races show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@_max_states_option
@_steps_option
def crosscheck_command(file: str, runs: int, seed: int, jitter: bool, as_json: bool, max_states: int, steps: str) -> None:
    """Check the model of FILE against real threading runs; exit 1 on a MODEL MISMATCH."""
    from .real.crosscheck import Options as CrosscheckOptions, crosscheck, exit_status as crosscheck_exit_status
    from .reports.crosscheck_text import crosscheck_text
    from .real.realrun import RealRunError

    scenario, program = _scenario_program(file, steps)
    options = CrosscheckOptions(runs=runs, seed=seed, jitter=jitter, max_states=max_states)
    try:
        report = crosscheck(scenario, program, options)
    except ScenarioError as exc:
        _bad_scenario(file, exc)
    except RealRunError as exc:
        _fail(f"{file}: {exc}")
    if as_json:
        _echo_json(report)
    else:
        click.echo(crosscheck_text(report), nl=False)
    sys.exit(crosscheck_exit_status(report))


def _scenario_program(file: str, steps: str = STATEMENT) -> tuple[Any, Program]:
    """The scenario as written and as compiled: the export needs both."""
    try:
        scenario = load(file)
        return scenario, compile_scenario(scenario, steps)
    except ScenarioError as exc:
        _bad_scenario(file, exc)
    raise AssertionError("unreachable")


@main.command("convert")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the scenario YAML (a .yaml or .yml file).")
def convert_command(file: str, output: str) -> None:
    """Write FILE (a .py module, or a scenario) as scenario YAML; `export --python` goes back."""
    from .frontends.yamlform import scenario_yaml

    if not output.endswith((".yaml", ".yml")):
        _fail(f"{output}: convert writes scenario YAML; name the output .yaml or .yml")
    scenario, _ = _scenario_program(file)
    try:
        text = scenario_yaml(scenario)
    except ScenarioError as exc:
        _fail(str(exc))
    try:
        with open(output, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    click.echo(f"wrote {output}: {len(scenario.threads)} threads")
