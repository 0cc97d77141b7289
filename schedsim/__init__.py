"""schedsim: a deterministic thread scheduler simulator for Python.

The pipeline, one module a stage: `scenario` (load a YAML file) ->
`compiler` (thread bodies to steps) -> `semantics` (the one step function) ->
`explorer` (every interleaving into a networkx state graph) -> `analysis`
(exact counts, probabilities, outcomes) -> `report` / `render` (JSON, text).

The names below are the stable Python API (`api.py`); `schedsim.testing`
holds the assertions for tests and the pytest plugin. The API loads on the
first use of one of its names: the command line never needs it, and
loading it with the package (every stage, the cross-check, the sampler)
was most of the start-up of a small `schedsim explore`.
"""
import sys
import types

__version__ = "0.1.0"

from .errors import ScenarioError  # noqa: E402 - after __version__, which submodules import
from .scenario import Scenario  # noqa: E402

_API = ("Outcome", "Replay", "Result", "crosscheck", "explore", "load", "replay", "sample")

__all__ = ["Outcome", "Replay", "Result", "Scenario", "ScenarioError", "__version__",
           "crosscheck", "explore", "load", "replay", "sample"]


def _from_api(name: str) -> property:
    """The API's `name`, loaded on first use. A property, not a module `__getattr__`: `replay` and
    `crosscheck` are submodules' names too, and importing one would set the package's attribute
    to the submodule; the setter ignores that, so the name stays the API's function."""
    def get(package: types.ModuleType):
        from . import api

        return getattr(api, name)

    return property(get, lambda package, value: None)


_Package = type("_Package", (types.ModuleType,), {name: _from_api(name) for name in _API})


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


sys.modules[__name__].__class__ = _Package
