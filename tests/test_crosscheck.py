"""The model against real threads: `export --python` and `crosscheck`.

Real runs are slow and nondeterministic, so these tests use few runs and
check only what cannot depend on luck: an exported program ends in some
predicted outcome, the controlled replay agrees step by step, and a model
with a planted fault is caught.
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import COUNTER_YAML, invoke, write_scenario
from schedsim.analyses import analysis
from schedsim.engine import explorer, semantics
from schedsim import sampling
from schedsim.engine import program as p
from schedsim.engine.compiler import compile_scenario
from schedsim.real.crosscheck import AGREE, MISMATCH, Options, crosscheck
from schedsim.real.pyexport import ExportError, Limits, export_python
from schedsim.real.realrun import Timeouts, free
from schedsim.frontends.scenario import load, parse

replay = importlib.import_module("schedsim.engine.replay")  # the module: schedsim.replay is the API's function
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BUNDLED = sorted(SCENARIOS.glob("*.yaml"))
QUICK = Options(runs=3, timeouts=Timeouts(step=1.0))

LOCKED_YAML = """
    shared: {x: 0}
    locks: [L]
    threads:
      A: |
        with L:
            x = x + 1
      B: |
        with L:
            x = x + 1
"""


def compiled(yaml_text: str):
    scenario = parse(textwrap.dedent(yaml_text), "test.yaml")
    return scenario, compile_scenario(scenario)


def plant(monkeypatch, name: str, replacement) -> None:
    """Replace a semantics function wherever the pipeline imported it, so every stage sees the fault."""
    for module in (semantics, explorer, analysis, replay, sampling):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, replacement)


def test_exported_program_runs_under_python3_and_ends_in_a_predicted_outcome(tmp_path):
    """`python3 out.py` runs the real threads and prints one of the outcomes explore predicts."""
    path = tmp_path / "counter.py"
    path.write_text(export_python(*compiled(COUNTER_YAML)).source)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] in ("--- finished: x=2", "--- finished: x=1")


def test_export_mirrors_split_reads_one_turnstile_per_step():
    """x = x + 1 is two steps in the model, so the steps program waits twice: before the read, before the write."""
    source = export_python(*compiled("""
        shared: {x: 0}
        threads:
          A: x = x + 1
    """), steps=True).source
    assert "    turn(0)\n    _t0 = own(x)\n    turn(1)\n    x = own(_t0 + 1)\n" in source


def test_export_emits_names_and_values_safely(tmp_path):
    """Strings with quotes and newlines stay values; scenario names the runtime wants too get other spellings."""
    scenario, program = compiled(r"""
        description: "ends \"\"\" here\nimport os"
        shared: {output: "it's \"quoted\"\n", done: [1, "a\\b"], time: 0}
        threads:
          run: |
            time = time + 1
            print(output, done)
    """)
    path = tmp_path / "names.py"
    path.write_text(export_python(scenario, program).source)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("it's \"quoted\"\n [1, 'a\\\\b']\n")
    assert "--- finished: output='it\\'s \"quoted\"\\n' done=[1, 'a\\\\b'] time=1" in result.stdout


def test_export_refuses_a_name_that_hides_a_called_builtin(tmp_path):
    """The model calls the builtin len(); Python would call the local: a clear exit-2 error, no traceback."""
    path = write_scenario(tmp_path, """
        shared: {xs: [1]}
        threads:
          A: |
            len = 3
            print(len(xs))
    """)
    result = invoke("export", path, "--python")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "hide Python's builtin len()" in result.stderr


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.stem)
def test_crosscheck_agrees_on_every_bundled_scenario(path):
    """Step by step and in free runs, real threads do only what the model says they can."""
    scenario = load(path)
    report = crosscheck(scenario, compile_scenario(scenario), QUICK)
    assert report["verdict"] == AGREE, report["controlled"]["mismatches"] or report["free"]["unpredicted"]
    assert sum(outcome["hits"] for outcome in report["outcomes"]) + report["free"]["spinning"] == QUICK.runs


def test_crosscheck_agrees_on_one_step_primitives_timeouts_and_queries():
    """Semaphore, Event, Queue, timed acquires and queries run one real call per model step."""
    report = crosscheck(*compiled("""
        shared: {got: [], n: 1}
        locks: [L]
        semaphores: {S: 1}
        events: [E]
        queues: {Q: 1}
        threads:
          A: |
            ok = L.acquire(timeout=0.5)
            got.append(ok)
            if ok:
                L.release()
            with S:
                Q.put(n)
            E.set()
          B: |
            with L:
                held = L.locked()
            seen = E.wait(timeout=0.1)
            got.append(seen and held)
            v = Q.get()
            print(v, E.is_set(), Q.empty(), sep="|")
    """), QUICK)
    assert report["verdict"] == AGREE, report["controlled"]["mismatches"] or report["free"]["unpredicted"]
    assert report["controlled"]["schedules"] > len(report["outcomes"]) > 1


def test_crosscheck_command_prints_json_with_explores_keys(tmp_path):
    """crosscheck --json names outcomes as explore does, with how often real runs hit each."""
    import json
    result = invoke("crosscheck", write_scenario(tmp_path, COUNTER_YAML), "--runs", "2", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert {"status", "final", "output", "schedule", "probability", "hits"} <= set(report["outcomes"][0])
    assert report["controlled"]["mismatches"] == [] and report["free"]["timed_out"] == 0


def test_controlled_replay_is_the_same_for_the_same_seed():
    """The sampled schedules and their verdicts depend on the seed only."""
    scenario, program = compiled(COUNTER_YAML)
    first, second = (crosscheck(scenario, program, QUICK)["controlled"] for _ in range(2))
    assert first == second


def test_a_model_that_drops_writes_is_caught_by_replay_and_by_free_runs(monkeypatch):
    """B's writes vanish in the model, so it predicts x == 1 only; real threads write x = 2."""
    step = semantics.step

    def dropping(program, state, tid):
        after = step(program, state, tid)
        if tid == 1 and isinstance(semantics.current_instruction(program, state, tid), p.SetShared):
            return after._replace(shared=state.shared)
        return after

    plant(monkeypatch, "step", dropping)
    report = crosscheck(*compiled(COUNTER_YAML), Options(runs=5))
    assert report["verdict"] == MISMATCH
    assert "x is 2 in the real run, 1 in the model" in report["controlled"]["mismatches"][0]["problem"]
    assert [entry["final"] for entry in report["free"]["unpredicted"]] == [{"x": 2}]


def test_a_model_that_lets_a_thread_take_a_held_lock_is_caught_by_replay(monkeypatch):
    """The real Lock blocks the thread that the faulty model lets in: a turnstile timeout."""
    waits = semantics._waits
    plant(monkeypatch, "_waits", lambda program, state, tid, instr:
          not isinstance(instr, p.Acquire) and waits(program, state, tid, instr))
    options = Options(runs=2, timeouts=Timeouts(step=0.3, max_blocked=1))
    report = crosscheck(*compiled(LOCKED_YAML), options)
    problems = [mismatch["problem"] for mismatch in report["controlled"]["mismatches"]]
    assert report["verdict"] == MISMATCH
    assert any("blocked in the real run where the model lets it run" in problem for problem in problems)


def test_a_model_that_blocks_a_runnable_thread_is_caught_by_the_deadlock_probe(monkeypatch):
    """The faulty model says a join never returns; the real join does, so its 'deadlock' is no deadlock."""
    waits = semantics._waits
    plant(monkeypatch, "_waits", lambda program, state, tid, instr:
          isinstance(instr, p.Join) or waits(program, state, tid, instr))
    report = crosscheck(*compiled("""
        threads:
          main: |
            W.start()
            W.join()
          W: pass
    """), Options(runs=1))
    problems = [mismatch["problem"] for mismatch in report["controlled"]["mismatches"]]
    assert "thread main took a step in the real run where the model says every thread is blocked" in problems


def test_a_real_program_that_never_answers_is_killed():
    """A spinning program outlives its child's time, and the child is killed instead of hanging schedsim."""
    scenario, program = compiled("""
        threads:
          A: |
            while True:
                pass
    """)
    export = export_python(scenario, program, limits=Limits(deadline_seconds=60))
    batch = free(export, runs=1, seed=0, run_seconds=0.2, timeouts=Timeouts(margin=0.3))
    assert (batch.records, batch.killed) == ([], 1)


def test_condition_wait_is_replayed_step_by_step_through_a_gated_lock():
    """C.wait() is one real call but two model steps: the gated lock takes the lock back only at the wake step."""
    report = crosscheck(*compiled("""
        shared: {ready: 0, log: []}
        rlocks: [R]
        conditions: {C: R, D: null}
        threads:
          waiter:
            count: 2
            code: |
              with C:
                  with C:
                      ok = C.wait_for(lambda: ready > index)
                      log.append(ok)
              with D:
                  while ready < 3:
                      D.wait()
          setter: |
            for i in range(2):
                with C:
                    ready += 1
                    C.notify_all()
            with D:
                ready += 1
                D.notify(2)
    """), QUICK)
    assert report["controlled"]["skipped"] is None and report["controlled"]["schedules"] > 1
    assert report["verdict"] == AGREE, report["controlled"]["mismatches"] or report["free"]["unpredicted"]


def test_a_timed_condition_wait_gets_free_runs_only_and_the_report_says_why():
    """A timed wait's expiry is a step of the model's own, which no real call can be stopped at."""
    scenario, program = compiled("""
        locks: [L]
        conditions: {C: L}
        threads:
          A: |
            with C:
                ok = C.wait(timeout=0.01)
    """)
    with pytest.raises(ExportError, match=r"cannot mirror C.wait\(\) with a timeout"):
        export_python(scenario, program, steps=True)
    assert "cannot mirror C.wait() with a timeout" in crosscheck(scenario, program, QUICK)["controlled"]["skipped"]
