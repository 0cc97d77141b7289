"""Writing the state graph for other tools and for pictures: DOT, GraphML or node-link JSON.

The exploration graph keeps nodes and edges bare; exported graphs keep its
node numbers (BFS order, 0 is the initial state), label each node with its
positions and values, and each edge with its thread and statement,
recovered from the step function. Two states whose positions and shared
values are equal differ in some thread's locals: their labels then show
those locals, so no two boxes of a picture read alike. A picture (DOT) of
more than `PICTURE_LIMIT` states would be unreadable, so by default it
draws only the shortest path to each end of a kind (status and values); `full` draws every
state. GraphML and JSON, read by programs, always hold the whole graph.
"""
from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from ..engine.explorer import Exploration, moves, path_to
from ..limits import PICTURE_LIMIT
from ..engine.program import DONE, NEW, UNSET
from ..engine.semantics import State, current_instruction, status
from ..engine.values import show
from .wording import code_text, plural

FORMATS = {".dot": "dot", ".gv": "dot", ".graphml": "graphml", ".json": "json"}
COLOURS = {"finished": "palegreen", "violation": "salmon", "deadlock": "orange", "error": "red"}
LEGEND = {"running": "running: a state with steps left", "finished": "finished: every thread is done",
          "violation": "violation: a check failed", "deadlock": "deadlock: threads left, none can move",
          "error": "error: a thread raised an exception"}


def labelled_graph(exploration: Exploration, nodes: list[int] | None = None) -> nx.DiGraph:
    """A copy of the state graph (or of its `nodes` and the steps between them) with text labels."""
    program = exploration.program
    states = exploration.states
    chosen = list(range(len(states))) if nodes is None else sorted(nodes)
    keep = set(chosen)
    graph = nx.DiGraph(name=program.name)
    labels = state_labels(exploration, chosen)
    for number in chosen:
        graph.add_node(number, label=labels[number], status=status(program, states[number]) or "running")
    for source in chosen:
        if source >= exploration.expanded:  # past it nodes were never expanded: no edges
            continue
        for tid, target in moves(exploration, source):
            if target not in keep:
                continue
            instr = current_instruction(program, states[source], tid)
            graph.add_edge(source, target, thread=program.threads[tid].name,
                           line=instr.line, step=f"{code_text(instr.text)} [{instr.action}]")
    return graph


def state_labels(exploration: Exploration, nodes: list[int]) -> dict[int, str]:
    """Each node's label; where positions and values alike, the locals that tell the states apart."""
    base = {node: state_label(exploration, exploration.states[node]) for node in nodes}
    alike: dict[str, list[int]] = {}
    for node in nodes:
        alike.setdefault(base[node], []).append(node)
    labels = dict(base)
    for group in alike.values():
        if len(group) < 2:
            continue
        differing = [tid for tid in range(len(exploration.program.threads))
                     if len({exploration.states[node].threads[tid][1] for node in group}) > 1]
        for node in group:
            extra = "; ".join(_locals_label(exploration, exploration.states[node], tid) for tid in differing)
            labels[node] = f"{base[node]} | {extra}"
    return labels


def _locals_label(exploration: Exploration, state: State, tid: int) -> str:
    """'A: a=1 b=2': a thread's locals by name, hidden ones (temps of a split statement) as tmpN."""
    thread = exploration.program.threads[tid]
    names = thread.local_names
    values = []
    for slot, value in enumerate(state.threads[tid][1]):
        if value is UNSET:
            continue
        name = names[slot] if slot < len(names) else f"tmp{slot - len(names)}"
        values.append(f"{name}={show(value)}")
    return f"{thread.name}: {' '.join(values) or '(none set)'}"


def state_label(exploration: Exploration, state: State) -> str:
    program = exploration.program
    places = []
    for thread, (pc, _) in zip(program.threads, state.threads):
        where = "done" if pc == DONE else "new" if pc == NEW else f"L{thread.code[pc].line}"
        places.append(f"{thread.name}:{where}")
    values = " ".join(f"{name}={show(value)}" for name, value in zip(program.shared_names, state.shared))
    label = " ".join(places) + (f" | {values}" if values else "")
    if state.output:
        label += f" | {plural(len(state.output), 'line')} printed"
    return label


def outcome_paths(exploration: Exploration) -> list[int]:
    """The nodes on the shortest path to the nearest end of each status and final values.

    Printed output is left out of the key: ends that differ only in the order
    of printed lines can number in the hundreds, and their paths would cover
    most of the graph again.
    """
    program, states = exploration.program, exploration.states
    nearest: dict[tuple, int] = {}
    for node in range(exploration.expanded):  # BFS order: the first end of a kind is the nearest
        state = states[node]
        ended = status(program, state)
        if ended is not None:
            nearest.setdefault((ended, state.shared, state.fault), node)
    on_paths = {0}
    for node in nearest.values():
        on_paths.update(path_to(exploration, node))
    return sorted(on_paths)


def write_graph(exploration: Exploration, path: str | Path, full: bool = False) -> tuple[str, int]:
    """Write the graph in the format its suffix names; returns the format and how many states it holds.

    A DOT picture of more than PICTURE_LIMIT states holds the outcome paths
    only unless `full`; the other formats always hold every state.
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"unknown graph format {path.suffix!r}: use one of {', '.join(FORMATS)}")
    trimmed = kind == "dot" and not full and len(exploration.states) > PICTURE_LIMIT
    graph = labelled_graph(exploration, outcome_paths(exploration) if trimmed else None)
    if trimmed:
        graph.graph["note"] = (f"the shortest path to each end (status and final values): {graph.number_of_nodes():,} "
                               f"of {plural(len(exploration.states), 'state')}; `schedsim graph --full` draws them all")
    if kind == "graphml":
        nx.write_graphml(graph, path)
    elif kind == "json":
        data = nx.node_link_data(graph, edges="edges")
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    else:
        path.write_text(to_dot(graph), encoding="utf-8")
    return kind, graph.number_of_nodes()


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT text, written by hand so that no extra package is needed; a legend for the colours."""
    lines = [f"digraph {json.dumps(graph.graph.get('name', 'states'), ensure_ascii=False)} {{",
             "  node [shape=box, fontsize=10];", "  edge [fontsize=9];"]
    if "note" in graph.graph:
        lines.append(f"  label={json.dumps(graph.graph['note'], ensure_ascii=False)}; labelloc=t;")
    for node, data in graph.nodes(data=True):
        fill = COLOURS.get(data["status"])
        style = f", style=filled, fillcolor={fill}" if fill else ""
        lines.append(f"  {node} [label={json.dumps(f'#{node} ' + data['label'], ensure_ascii=False)}{style}];")
    for source, target, data in graph.edges(data=True):
        lines.append(f"  {source} -> {target} [label={json.dumps(data['thread'] + ': ' + data['step'], ensure_ascii=False)}];")
    lines.extend(_legend(graph))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _legend(graph: nx.DiGraph) -> list[str]:
    """A boxed key: what a node label and an edge label say, and each colour in use."""
    present = {data["status"] for _, data in graph.nodes(data=True)}
    lines = ['  subgraph cluster_legend {', '    label="legend"; fontsize=10; style=dashed;',
             '    legend_node [label="#node  thread:line of each thread (new: not started, done: ended)\\l'
             '| shared values | lines printed | locals, where two states would read alike\\l"];',
             '    legend_edge [label="an arrow: the thread that steps, its statement [what the step does]\\l"];']
    for kind, words in LEGEND.items():
        if kind in present:
            fill = COLOURS.get(kind)
            style = f", style=filled, fillcolor={fill}" if fill else ""
            lines.append(f"    legend_{kind} [label={json.dumps(words)}{style}];")
    lines.append("  }")
    return lines
