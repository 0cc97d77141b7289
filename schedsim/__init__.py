"""schedsim: a deterministic thread scheduler simulator for Python.

The pipeline, one module a stage: `scenario` (load a YAML file) ->
`compiler` (thread bodies to steps) -> `semantics` (the one step function) ->
`explorer` (every interleaving into a networkx state graph) -> `analysis`
(exact counts, probabilities, outcomes) -> `report` / `render` (JSON, text).
"""

__version__ = "0.1.0"
