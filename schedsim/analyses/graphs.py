"""Whole-graph algorithms over an exploration's flat arrays, close to linear in its size.

Every analysis needs the same few facts about the state graph: its strongly
connected components, an order in which every component comes before the
ones it steps into, and which components are cycles. They are computed here
once, with scipy's compiled graph routines where Python loops would dominate
(a million states is the size that must stay affordable), and shared.
numpy and scipy are imported only when a graph may have a cycle: they take
a tenth and a fifth of a second to load, and most graphs have none (for a
small scenario that was most of its run).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ..engine.explorer import Exploration

if TYPE_CHECKING:
    import numpy as np


def sources(exploration: Exploration) -> np.ndarray:
    """The node each edge leaves, as the `targets` array gives the node it reaches."""
    import numpy as np

    offsets = np.frombuffer(exploration.offsets, dtype=np.int64)
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


def strong_labels(size: int, heads: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """The strongly connected component of each of `size` nodes, over the edges heads[i] -> tails[i]."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    matrix = csr_matrix((np.ones(len(heads)), (heads, tails)), shape=(size, size))
    return connected_components(matrix, directed=True, connection="strong")[1].astype(np.int64)


@dataclass
class Components:
    """The strongly connected components, in an order that follows the steps.

    `order` lists components so that every step leads to the same component
    or a later one; `members(c)` are the nodes of component c, smallest
    first; `cyclic[c]` says whether a run can stay in c (more than one node,
    or a step from a node to itself).
    """

    labels: np.ndarray      # component of each node
    order: list[int]        # components, each before those it steps into
    cyclic: np.ndarray      # bool per component
    _start: np.ndarray
    _nodes: np.ndarray

    def members(self, component: int) -> list[int]:
        return self._nodes[self._start[component]:self._start[component + 1]].tolist()

    def first(self, component: int) -> int:
        """The smallest node of a component (its only one, where the component is not cyclic)."""
        return int(self._nodes[self._start[component]])

    @property
    def acyclic(self) -> bool:
        return not self.cyclic.any()

    def node_order(self) -> list[int]:
        """Every node, each before those it steps into; only for a graph without cycles."""
        import numpy as np

        return self._nodes[self._start[np.array(self.order, dtype=np.int64)]].tolist()


class _Forward(Components):
    """The components of a graph whose every step leads to a later node: each node is one, in
    node order, and none is cyclic. Answers without numpy; its arrays are built if asked for."""

    acyclic = True

    def __init__(self, size: int) -> None:
        self.size = size

    def members(self, component: int) -> list[int]:
        return [component]

    def first(self, component: int) -> int:
        return component

    def node_order(self) -> list[int]:
        return list(range(self.size))

    @property
    def order(self) -> list[int]:
        return self.node_order()

    @property
    def labels(self) -> np.ndarray:
        import numpy as np

        return np.arange(self.size, dtype=np.int64)

    _nodes = labels

    @property
    def cyclic(self) -> np.ndarray:
        import numpy as np

        return np.zeros(self.size, dtype=bool)

    @property
    def _start(self) -> np.ndarray:
        import numpy as np

        return np.arange(self.size + 1, dtype=np.int64)


def steps_forward(exploration: Exploration) -> bool:
    """Whether every step leads to a later node, so that BFS numbering is already an order
    without cycles (the common case). One pass in Python: numpy would take longer to load
    than this takes on a graph below a million steps."""
    offsets, targets = exploration.offsets, exploration.targets
    for node, begin, end in zip(range(len(offsets)), offsets, offsets[1:]):
        if begin != end and min(targets[begin:end]) <= node:
            return False
    return True


def height(exploration: Exploration, order: Iterable[int] | None = None) -> int | None:
    """The number of steps of the longest path from the initial state.

    `order` lists the nodes so that each comes before those it steps into;
    without it, node order is tried, and the answer is None if some step
    leads back to an earlier node (the graph may have a cycle: see
    `components`). Either way one pass in Python, as in `steps_forward`.
    """
    offsets, targets = exploration.offsets, exploration.targets
    depth = [0] * len(exploration.states)
    forward = order is None
    for node in range(len(depth)) if forward else order:
        below = depth[node] + 1
        for successor in targets[offsets[node]:offsets[node + 1]]:
            if forward and successor <= node:
                return None
            if depth[successor] < below:
                depth[successor] = below
    return max(depth)


def components(exploration: Exploration) -> Components:
    """Strongly connected components of the whole graph, topologically ordered."""
    size = len(exploration.states)
    if steps_forward(exploration):
        return _Forward(size)
    import numpy as np

    edge_sources, targets = sources(exploration), np.frombuffer(exploration.targets, dtype=f"i{exploration.targets.itemsize}").astype(np.int64)
    labels = strong_labels(size, edge_sources, targets)
    count = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=count)
    cyclic = sizes > 1
    loops = edge_sources == targets
    cyclic[labels[edge_sources[loops]]] = True
    nodes = np.argsort(labels, kind="stable")
    start = np.concatenate(([0], np.cumsum(sizes)))
    between = labels[edge_sources] != labels[targets]
    order = _topological(count, labels[edge_sources[between]], labels[targets[between]])
    return Components(labels, order, cyclic, start, nodes)


def _topological(count: int, heads: np.ndarray, tails: np.ndarray) -> list[int]:
    """Kahn's algorithm on the component graph (heads -> tails), deterministic as scipy's labels are."""
    import numpy as np

    indegree = np.bincount(tails, minlength=count)
    by_head = np.argsort(heads, kind="stable")
    heads_sorted, tails_sorted = heads[by_head], tails[by_head]
    begin = np.searchsorted(heads_sorted, np.arange(count), side="left").tolist()
    end = np.searchsorted(heads_sorted, np.arange(count), side="right").tolist()
    tails_list, indegree_list = tails_sorted.tolist(), indegree.tolist()
    ready = deque(int(c) for c in np.flatnonzero(indegree == 0))
    order = []
    while ready:
        component = ready.popleft()
        order.append(component)
        for position in range(begin[component], end[component]):
            tail = tails_list[position]
            indegree_list[tail] -= 1
            if indegree_list[tail] == 0:
                ready.append(tail)
    return order
