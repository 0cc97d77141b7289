"""The pytest plugin: scenario files named `test_*.schedsim.yaml` are collected as tests.

pytest loads it through the `pytest11` entry point once schedsim is
installed. Naming a file so is the opt-in: other scenario files are left
alone. The file is explored once; each of its `checks:` entries is one test
item, which fails with the shortest schedule that breaks the check and the
command that replays it. A file that does not load is one collection error,
the line `schedsim` would print.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

import pytest

from .api import Result, explore, load
from .engine.compiler import compile_scenario
from .errors import ScenarioError
from .engine.replay import replay_command

PATTERNS = ("test_*.schedsim.yaml", "test_*.schedsim.yml")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in PATTERNS):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """A scenario file: one item per check, all sharing one exploration."""

    _result: Result | None = None

    @property
    def file(self) -> str:
        """The path as `schedsim` run from here would take it, in messages and replay commands."""
        return os.path.relpath(self.path)

    def collect(self):
        try:
            scenario = load(self.file)
            compile_scenario(scenario)  # a thread body that does not compile fails here, not in each item
        except ScenarioError as exc:
            raise self.CollectError(f"schedsim: {exc}") from None
        for kind, checks in (("final", scenario.final_checks), ("always", scenario.always_checks)):
            for check in checks:
                yield CheckItem.from_parent(self, name=f"{kind}: {check.text}", kind=kind, text=check.text,
                                            line=check.line)

    @property
    def result(self) -> Result:
        if self._result is None:
            self._result = explore(self.file)
        return self._result


class CheckFailed(AssertionError):
    """A check that some interleaving breaks; the message says how to see it."""


class CheckItem(pytest.Item):
    def __init__(self, *, kind: str, text: str, line: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.kind, self.text, self.line = kind, text, line

    def runtest(self) -> None:
        result = self.parent.result
        message = f"{self.kind} check failed: {self.text} (line {self.line})"
        for violation in result.to_dict()["violations"]:
            if violation["message"] == message:
                raise CheckFailed(self._told(violation))
        if not result.complete:
            raise CheckFailed(f"{self.path.name}:{self.line}: the exploration stopped early, so the check "
                              f"{self.text!r} holds only in the part explored")

    def _told(self, violation: dict) -> str:
        schedule = violation["schedule"]
        share = f"{violation['probability']:.4g}" if violation["probability"] is not None else "unknown"
        return (f"{self.path.name}:{self.line}: {self.kind} check {self.text!r} fails in "
                f"{violation['interleavings'] if violation['interleavings'] is not None else 'infinitely many'} "
                f"interleavings (probability {share})\n"
                f"shortest schedule: {','.join(schedule)}\n"
                f"replay: {replay_command(self.parent.file, schedule)}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (CheckFailed, ScenarioError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line - 1, f"{self.kind} check: {self.text}"
