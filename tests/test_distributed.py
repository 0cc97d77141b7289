"""Sampling on a Dask cluster: the same bytes as `--jobs 1`, whatever the workers do.

The cluster is real: a `dask scheduler` and two `dask worker` processes on
127.0.0.1, started once for the module and always torn down. The client
(schedsim) runs in the test process, through the CLI or the library.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedsim.cli import load_program, main
from schedsim.reports.sample_report import build_sample_report
from schedsim.sampling import SampleOptions, sample
from schedsim.frontends.scenario import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
PRINTS = ROOT / "benchmarks" / "print_9x100.yaml"  # 900 steps a run, every run its own output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(*args: str, hash_seed: str = "0") -> subprocess.Popen:
    # The workers import schedsim from this tree, each with its own string hashing.
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=hash_seed)
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(process: subprocess.Popen) -> None:
    """SIGKILL: no nanny, so nothing is left behind, and a worker whose scheduler is gone would linger on SIGTERM."""
    if process.poll() is None:
        process.kill()
    process.wait()


def _worker(address: str, name: str, hash_seed: str) -> subprocess.Popen:
    return _start("worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                  "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--no-nanny", "--name", name,
                  hash_seed=hash_seed)


def _wait_for(address: str, workers: int) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(workers, timeout=30)


@dataclass
class Cluster:
    address: str
    workers: dict[str, subprocess.Popen]


@pytest.fixture(scope="module")
def cluster():
    """A scheduler with two one-thread workers, w1 and w2, as processes; all of them end with the module.

    The workers hash strings with PYTHONHASHSEED 1 and 2, the tests with
    their own: the tallies must not depend on it."""
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = _start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                       "--no-dashboard", "--dashboard-address", "127.0.0.1:0")
    workers = {}
    try:
        workers = {name: _worker(address, name, hash_seed=name[1]) for name in ("w1", "w2")}
        _wait_for(address, 2)
        yield Cluster(address, workers)
    finally:
        for process in [*workers.values(), scheduler]:
            _stop(process)


@pytest.fixture
def scheduler(cluster):
    return cluster.address


def _cli(*args: str):
    result = CliRunner().invoke(main, ["sample", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize("file, options, batch", [
    (SCENARIOS / "counter.yaml", ["--runs", "200"], ["--batch", "7"]),
    (SCENARIOS / "dining_philosophers_3.yaml", ["--runs", "300", "--strategy", "pct", "--seed", "5"], []),
    (SCENARIOS / "bank_transfer.yaml", ["--runs", "60", "--strategy", "uniform"], ["--batch", "1"]),
    (SCENARIOS / "python" / "print_unlocked_small.py", ["--runs", "200", "--json"], []),
])
def test_cluster_output_is_the_bytes_of_one_job(scheduler, file, options, batch):
    """Text or JSON, any strategy, any batch size, YAML or Python: byte for byte what --jobs 1 prints."""
    alone = _cli(file, *options, "--jobs", "1")
    spread = _cli(file, *options, "--cluster", scheduler, *batch)
    assert spread.stdout == alone.stdout
    assert spread.exit_code == alone.exit_code
    assert "runs" in alone.stdout


def _report_bytes(result) -> str:
    return json.dumps(build_sample_report(result), sort_keys=True)


def _library_sample(address: str, runs: int, **keywords):
    from schedsim.distributed import Recipe, sample_on_cluster

    options = SampleOptions(runs=runs, seed=3, max_states=0)
    scenario = load(PRINTS)
    program = load_program(str(PRINTS))
    return options, sample_on_cluster(program, Recipe(scenario, options), address, **keywords)


def test_ctrl_c_gives_the_runs_finished_without_a_gap(scheduler):
    """Ctrl-C once a quarter of the runs are in: the result is the first `done` runs,
    exactly as a sample of `done` runs tells them, and says it was interrupted."""
    def interrupt_at_a_quarter(done: int, total: int, outcomes: int) -> None:
        if done >= total // 4:
            raise KeyboardInterrupt

    try:
        options, result = _library_sample(scheduler, 160, batch=8, progress=interrupt_at_a_quarter)
    except KeyboardInterrupt:
        raise AssertionError("batch 0 was not among the first 5 batches finished") from None
    done = result.plan.options.runs
    assert result.interrupted
    assert 8 <= done < 160 and done % 8 == 0
    expected = sample(load_program(str(PRINTS)), SampleOptions(runs=done, seed=3, max_states=0))
    assert _report_bytes(result) == _report_bytes(expected)


def test_a_worker_with_another_schedsim_refuses_in_one_line(scheduler):
    from schedsim.distributed import ClusterError, Recipe, sample_on_cluster

    options = SampleOptions(runs=20, max_states=0)
    recipe = Recipe(load(SCENARIOS / "counter.yaml"), options, version="0.0.1")
    with pytest.raises(ClusterError, match=r"^a worker has schedsim \S+, this machine 0\.0\.1; install the same"):
        sample_on_cluster(load_program(str(SCENARIOS / "counter.yaml")), recipe, scheduler)


def test_an_existing_cluster_keeps_its_own_workers(scheduler):
    """--jobs sizes a local cluster only; with an address it is a one-line error."""
    result = _cli(SCENARIOS / "counter.yaml", "--cluster", scheduler, "--jobs", "2")
    assert result.exit_code == 2
    assert result.stderr == "schedsim: --jobs goes with --cluster local only: an existing cluster runs on the workers it has\n"


def test_a_local_cluster_gives_the_bytes_of_one_job():
    """--cluster local starts two worker processes on 127.0.0.1 and stops them."""
    pytest.importorskip("distributed")
    file = SCENARIOS / "counter_locked.yaml"
    alone = _cli(file, "--runs", "300")
    spread = _cli(file, "--runs", "300", "--cluster", "local", "--jobs", "2")
    assert (spread.exit_code, spread.stdout) == (alone.exit_code, alone.stdout)


def test_no_scheduler_at_the_address_is_one_line():
    pytest.importorskip("distributed")
    from schedsim.distributed import ClusterError

    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"^cannot reach a Dask scheduler at tcp://127\.0\.0\.1:\d+: "):
        _library_sample(f"tcp://127.0.0.1:{_free_port()}", 10, timeout=1)
    assert time.monotonic() - started < 10


def test_without_dask_cluster_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    result = _cli(SCENARIOS / "counter.yaml", "--cluster", "local")
    assert result.exit_code == 2
    assert result.stderr == 'schedsim: --cluster needs Dask, which is not installed: pip install "schedsim[dask]"\n'


def test_progress_tells_runs_done_their_rate_and_the_outcomes_so_far(capsys):
    """Off a terminal, a progress line every 10 s on stderr (here, 20 s into the runs)."""
    from schedsim.cli import _ProgressLine

    progress = _ProgressLine()
    progress.tty = False
    progress.runs(0, 1_000, 0)
    progress.stage_started -= 20
    progress.runs(100, 1_000, 7)
    assert capsys.readouterr().err == "sampling: 100 of 1,000 runs, 5 runs/s, 7 outcomes so far\n"


@pytest.mark.parametrize("args, message", [
    (["--batch", "5"], "--batch goes with --cluster"),
    (["--cluster", "local", "--batch", "0"], "--batch must be at least 1"),
    (["--cluster", "local", "--batch", "x"], "--batch must be a whole number, not 'x'"),
])
def test_batch_is_checked(args, message):
    result = _cli(SCENARIOS / "counter.yaml", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def _cli_process(cluster: Cluster, args: list, batch: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "schedsim", "sample", *map(str, args), "--cluster", cluster.address, "--batch", batch]
    return subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_ctrl_c_at_the_command_line_prints_the_partial_table_and_exits_3(cluster):
    """SIGINT while batches run: the table of the runs finished without a gap, a line
    on stderr saying how many, exit 3; the table is that of a sample of that many runs."""
    from distributed import Client

    args = [PRINTS, "--runs", "2000", "--seed", "4", "--max-states", "0", "--json"]
    with Client(cluster.address, timeout=30) as observer:
        spread = _cli_process(cluster, args, "4")
        try:
            _wait_until(lambda: _running_from(observer) >= 40 or spread.poll() is not None)  # 10 batches are in
            spread.send_signal(signal.SIGINT)
            stdout, stderr = spread.communicate(timeout=60)
        finally:
            _stop(spread)
    assert spread.returncode == 3 and stdout, stderr.decode()
    done = json.loads(stdout)["runs"]
    assert stderr.decode().endswith(f"schedsim: interrupted after {done:,} of 2,000 runs; the report is partial.\n")
    assert 4 <= done < 2000 and done % 4 == 0
    alone = _cli(*[str(a) for a in args[:2]], str(done), *args[3:])
    assert stdout.decode() == alone.stdout


def _running_from(observer) -> int:
    """The first run of the latest batch running on any worker (keys are schedsim-DIGEST-START-ATTEMPT)."""
    starts = [int(str(key).split("-")[2]) for keys in observer.processing().values() for key in keys
              if str(key).startswith("schedsim-")]
    return max(starts, default=-1)


def _wait_until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# Last in the module: it kills one of the module's two workers; the tests above need both.
def test_a_worker_killed_mid_run_loses_no_runs(cluster):
    """`schedsim sample --cluster` runs as its own process; worker w2 is killed (SIGKILL)
    while it runs a batch and the sample is not done. Its batches are redone on w1,
    and the output is still byte for byte that of --jobs 1."""
    from distributed import Client

    args = [PRINTS, "--runs", "80", "--seed", "3", "--max-states", "0"]
    victim = cluster.workers["w2"]
    with Client(cluster.address, timeout=30) as observer:
        address = next(a for a, w in observer.scheduler_info()["workers"].items() if w["name"] == "w2")
        spread = _cli_process(cluster, args, "4")
        try:
            in_hand = _first_batch_on(observer, address, spread)
            victim.send_signal(signal.SIGKILL)
            mid_run = spread.poll() is None
            stdout, stderr = spread.communicate(timeout=120)
        finally:
            _stop(spread)
    assert in_hand.startswith("schedsim-") and mid_run, "the kill must land on a batch, mid-run"
    assert victim.wait(timeout=10) == -signal.SIGKILL
    alone = _cli(*args, "--jobs", "1")
    assert (spread.returncode, stdout.decode()) == (alone.exit_code, alone.stdout), stderr.decode()


def _first_batch_on(observer, worker: str, client_process: subprocess.Popen) -> str:
    """The key of the first batch seen running on `worker` (polled every 10 ms)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client_process.poll() is None:
        keys = [key for key in observer.processing(workers=[worker]).get(worker, ()) if str(key).startswith("schedsim-")]
        if keys:
            return str(keys[0])
        time.sleep(0.01)
    raise AssertionError("no batch ran on the worker")
