"""A Scenario written back as scenario YAML: `schedsim convert prog.py -o prog.yaml`.

The YAML says everything the Scenario holds, so loading it gives the same
program (its lines are the YAML file's own). What YAML cannot say is an
error rather than a quietly different scenario: a local that hides a module
global (Python's rule, from a `.py` file) has no YAML form.
"""
from __future__ import annotations

from typing import Any

import yaml

from ..errors import ScenarioError
from .scenario import Scenario, ThreadSpec
from ..engine.values import to_json


class _Dumper(yaml.SafeDumper):
    """Block style throughout, and thread bodies as `|` blocks that read like the code."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text and not text.startswith((" ", "\t")) and "\t" not in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as YAML text that `scenario.parse` reads back into the same program."""
    data: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    if scenario.shared:
        data["shared"] = {name: to_json(value) for name, value in scenario.shared}
    for key in ("locks", "rlocks", "events"):
        if getattr(scenario, key):
            data[key] = list(getattr(scenario, key))
    for key in ("semaphores", "bounded_semaphores", "conditions", "barriers", "queues"):
        if getattr(scenario, key):
            data[key] = dict(getattr(scenario, key))
    data["threads"] = {thread.name: _thread(scenario, thread) for thread in scenario.threads}
    checks = {kind: [check.text for check in found] for kind, found in
              (("final", scenario.final_checks), ("always", scenario.always_checks)) if found}
    if checks:
        data["checks"] = checks
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _thread(scenario: Scenario, thread: ThreadSpec) -> Any:
    if thread.shadowing:
        name = thread.shadowing[0][0]
        raise ScenarioError(f"{name} is a local of this thread that hides the module variable {name} (it is assigned "
                            f"without `global {name}`); YAML has no way to say that: add `global {name}`, or rename "
                            "the local", file=scenario.file, thread=thread.name, line=thread.first_line)
    if not thread.daemon and not thread.preset_locals:
        return thread.code
    options: dict[str, Any] = {"code": thread.code}
    if thread.daemon:
        options["daemon"] = True
    if thread.preset_locals:
        options["locals"] = {name: to_json(value) for name, value in thread.preset_locals}
    return options
