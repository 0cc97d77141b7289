"""schedsim: a deterministic thread scheduler simulator for Python.

The pipeline, a folder a stage: `frontends` (a YAML scenario or a Python
file -> Scenario), `engine` (the compiler, `semantics.step` the one step
function, the explorer and its reductions, replay), `analyses` (exact
counts, probabilities, outcomes; races, lock order, starvation), `reports`
(JSON, text, HTML), `real` (real threading programs and the cross-check);
`cli` and `api` wire them together.

The names below are the stable Python API (`api.py`); `schedsim.testing`
holds the assertions for tests and the pytest plugin. The API loads on the
first use of one of its names: the command line never needs it, and
loading it with the package (every stage, the cross-check, the sampler)
was most of the start-up of a small `schedsim explore`.
"""
__version__ = "0.1.0"

from .errors import ScenarioError  # noqa: E402 - after __version__, which submodules import
from .frontends.scenario import Scenario  # noqa: E402

_API = ("Outcome", "Replay", "Result", "crosscheck", "explore", "load", "replay", "sample")

__all__ = ["Outcome", "Replay", "Result", "Scenario", "ScenarioError", "__version__",
           "crosscheck", "explore", "load", "replay", "sample"]


def __getattr__(name: str):
    """The API's names, loaded on first use."""
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'schedsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
