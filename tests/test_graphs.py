"""graphs: the longest path and the components, computed without numpy where every step leads forward."""
from __future__ import annotations

import functools

import pytest

from schedsim.engine.compiler import compile_scenario
from schedsim.engine.explorer import explore
from schedsim.analyses.graphs import components, height, steps_forward
from schedsim.frontends.scenario import load


def exploration_of(path: str):
    return explore(compile_scenario(load(path)))


def longest_by_search(exploration) -> int:
    """The longest path, by memoised search over every node's successors (small graphs only)."""
    @functools.cache
    def below(node: int) -> int:
        return max((1 + below(successor) for successor in exploration.successors(node)), default=0)
    return below(0)


def some_step_goes_back(exploration) -> bool:
    return any(successor <= node for node in range(len(exploration.states)) for successor in exploration.successors(node))


@pytest.mark.parametrize("path", ["scenarios/counter.yaml", "scenarios/deadlock.yaml", "scenarios/dining_philosophers_3.yaml",
                                  "scenarios/double_checked_init.yaml", "scenarios/producer_consumer.yaml"])
def test_the_height_is_the_longest_path_and_node_order_is_tried_first(path):
    exploration = exploration_of(path)
    parts = components(exploration)
    assert parts.acyclic
    assert steps_forward(exploration) is not some_step_goes_back(exploration)
    if steps_forward(exploration):
        assert height(exploration) == longest_by_search(exploration)
    else:
        assert height(exploration) is None  # node order is no order here: ask components for one
    assert height(exploration, parts.node_order()) == longest_by_search(exploration)


def test_a_two_step_counter_has_paths_of_six_steps():
    """Two threads of three statements (read x, add, write x), one step each: every run is 2 x 3 steps."""
    exploration = exploration_of("scenarios/counter.yaml")
    assert height(exploration) == 6


def test_components_of_a_forward_graph_are_its_nodes_in_order():
    exploration = exploration_of("scenarios/counter.yaml")
    parts = components(exploration)
    size = len(exploration.states)
    assert parts.node_order() == list(range(size)) == parts.order
    assert [parts.members(node) for node in range(size)] == [[node] for node in range(size)]
    assert parts.first(size - 1) == size - 1
    assert parts.labels.tolist() == list(range(size)) and not parts.cyclic.any()


def test_a_graph_with_a_cycle_has_no_height_in_node_order():
    exploration = exploration_of("scenarios/peterson.yaml")
    assert height(exploration) is None and not steps_forward(exploration)
    assert not components(exploration).acyclic
