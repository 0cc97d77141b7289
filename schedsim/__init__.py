"""schedsim: a deterministic thread scheduler simulator for Python.

The pipeline, one module a stage: `scenario` (load a YAML file) ->
`compiler` (thread bodies to steps) -> `semantics` (the one step function) ->
`explorer` (every interleaving into a networkx state graph) -> `analysis`
(exact counts, probabilities, outcomes) -> `report` / `render` (JSON, text).

The names below are the stable Python API (`api.py`); `schedsim.testing`
holds the assertions for tests and the pytest plugin.
"""

__version__ = "0.1.0"

from .api import Outcome, Replay, Result, crosscheck, explore, load, replay, sample
from .errors import ScenarioError
from .scenario import Scenario

__all__ = ["Outcome", "Replay", "Result", "Scenario", "ScenarioError", "__version__",
           "crosscheck", "explore", "load", "replay", "sample"]
