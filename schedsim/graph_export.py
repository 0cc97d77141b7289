"""Writing the state graph for other tools: DOT, GraphML or node-link JSON.

The exploration graph keeps nodes and edges bare; exported graphs keep its
node numbers (BFS order, 0 is the initial state), label each node with its
positions and values, and each edge with its thread and statement,
recovered from the step function.
"""
from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from .explorer import Exploration, moves
from .program import DONE, NEW
from .semantics import State, current_instruction, status
from .values import show

FORMATS = {".dot": "dot", ".gv": "dot", ".graphml": "graphml", ".json": "json"}


def labelled_graph(exploration: Exploration) -> nx.DiGraph:
    """A copy of the state graph with text labels on its nodes and edges."""
    program = exploration.program
    states = exploration.states
    graph = nx.DiGraph(name=program.name)
    for number, state in enumerate(states):
        graph.add_node(number, label=state_label(exploration, state), status=status(program, state) or "running")
    for source in range(exploration.expanded):  # nodes past it were never expanded: no edges
        for tid, target in moves(exploration, source):
            instr = current_instruction(program, states[source], tid)
            graph.add_edge(source, target, thread=program.threads[tid].name,
                           line=instr.line, step=f"{instr.text} [{instr.action}]")
    return graph


def state_label(exploration: Exploration, state: State) -> str:
    program = exploration.program
    places = []
    for thread, (pc, _) in zip(program.threads, state.threads):
        where = "done" if pc == DONE else "new" if pc == NEW else f"L{thread.code[pc].line}"
        places.append(f"{thread.name}:{where}")
    values = " ".join(f"{name}={show(value)}" for name, value in zip(program.shared_names, state.shared))
    label = " ".join(places) + (f" | {values}" if values else "")
    if state.output:
        label += f" | {len(state.output)} lines printed"
    return label


def write_graph(exploration: Exploration, path: str | Path) -> str:
    """Write the graph in the format its suffix names; returns the format used."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"unknown graph format {path.suffix!r}: use one of {', '.join(FORMATS)}")
    graph = labelled_graph(exploration)
    if kind == "graphml":
        nx.write_graphml(graph, path)
    elif kind == "json":
        data = nx.node_link_data(graph, edges="edges")
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    else:
        path.write_text(to_dot(graph), encoding="utf-8")
    return kind


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT text, written by hand so that no extra package is needed."""
    colours = {"finished": "palegreen", "violation": "salmon", "deadlock": "orange", "error": "red"}
    lines = [f"digraph {json.dumps(graph.graph.get('name', 'states'), ensure_ascii=False)} {{", "  node [shape=box, fontsize=10];"]
    for node, data in graph.nodes(data=True):
        fill = colours.get(data["status"])
        style = f", style=filled, fillcolor={fill}" if fill else ""
        lines.append(f"  {node} [label={json.dumps(data['label'], ensure_ascii=False)}{style}];")
    for source, target, data in graph.edges(data=True):
        lines.append(f"  {source} -> {target} [label={json.dumps(data['thread'] + ': ' + data['step'], ensure_ascii=False)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
