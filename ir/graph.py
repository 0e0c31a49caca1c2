"""The step graph: which step must run before which.

Edges come from three sources: the order of steps in a sequential block, explicit
``depends_on`` (Dag), and data references (a step reading ``outputs.<id>`` of another).
Problems — duplicate ids, unknown references, cycles — are returned as diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import codes
from .base import Node
from .diagnostics import Diagnostic
from .expressions import EXPR_TYPES, task_references
from .flow import Flow
from .steps import Dag, Parallel, Step, child_blocks

if TYPE_CHECKING:
    import networkx as nx

TextReferences = Callable[[str], Iterable[str]]


@dataclass
class StepGraph:
    """The steps of a flow and the edges between them (``a → b``: ``a`` runs before ``b``),
    with the problems found while collecting them. The networkx graph is built when first
    asked for: reading a flow needs only the diagnostics."""

    steps: dict[str, Step]
    # (before, after, reason) in the order found; a "data" edge is kept only when it does not
    # close a cycle (a read of a later step, legal inside loops)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """A DiGraph whose nodes are step ids and whose edges carry their ``reason``."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self.steps)
        for before, after, reason in self.edges:
            if reason == "data" and (
                graph.has_edge(before, after) or nx.has_path(graph, after, before)
            ):
                continue
            graph.add_edge(before, after, reason=reason)
        return graph

    def order(self) -> list[str]:
        """A topological order (source order breaks ties); empty when there is a cycle."""
        import networkx as nx

        position = {sid: i for i, sid in enumerate(self.steps)}
        try:
            return list(nx.lexicographical_topological_sort(self.graph, key=position.get))
        except nx.NetworkXUnfeasible:
            return []

    def stages(self) -> list[list[str]]:
        """Groups of steps that can run at the same time, in order."""
        import networkx as nx

        try:
            return [
                sorted(g, key=list(self.steps).index)
                for g in nx.topological_generations(self.graph)
            ]
        except nx.NetworkXUnfeasible:
            return []


def _references(value: Any, text_refs: TextReferences | None) -> set[str]:
    """Task ids read by a field value: IR expressions, or raw data via ``text_refs``."""
    if isinstance(value, Node):
        if isinstance(value, EXPR_TYPES):
            return task_references(value)
        found: set[str] = set()
        for sub in value.__dict__.values():
            if isinstance(sub, tuple) and sub and _is_steps(sub):
                continue
            found |= _references(sub, text_refs)
        return found
    if isinstance(value, dict):
        return set().union(*(_references(v, text_refs) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_references(v, text_refs) for v in value)) if value else set()
    if isinstance(value, str) and text_refs is not None and "{{" in value:
        return set(text_refs(value))
    return set()


def _is_steps(values: tuple[Any, ...]) -> bool:
    from .steps import STEP_TYPES, Case

    return isinstance(values[0], (*STEP_TYPES, Case))


def step_references(step: Step, text_refs: TextReferences | None = None) -> set[str]:
    """Ids of the steps whose outputs ``step`` itself reads (not its children)."""
    return _references(step, text_refs)


def build_graph(flow: Flow, text_refs: TextReferences | None = None) -> StepGraph:
    """Build the step graph of ``flow``. ``text_refs`` finds references inside verbatim strings
    (plugin properties, extras) — the Kestra side passes its Pebble scanner."""
    result = StepGraph(steps={})
    steps, edges, diagnostics = result.steps, result.edges, result.diagnostics

    def add(block: tuple[Step, ...], sequential: bool) -> None:
        previous: str | None = None
        for step in block:
            if step.id in steps:
                diagnostics.append(codes.G101.at(step.span, id=step.id))
            else:
                steps[step.id] = step
            if sequential and previous is not None:
                edges.append((previous, step.id, "order"))
            previous = step.id
            for _block, children in child_blocks(step):
                add(children, sequential=not isinstance(step, (Parallel, Dag)))

    add(flow.steps, True)
    add(flow.on_failure, True)
    add(flow.finally_steps, True)

    explicit: list[tuple[str, str]] = []
    for sid, step in list(steps.items()):
        for ref in step.depends_on:
            if ref not in steps:
                diagnostics.append(codes.G102.at(step.span, step=sid, ref=ref))
            elif ref != sid:
                edges.append((ref, sid, "depends_on"))
                explicit.append((ref, sid))
            else:
                diagnostics.append(codes.G104.at(step.span, cycle=f"{sid} -> {sid}"))
        for ref in sorted(step_references(step, text_refs)):
            if ref not in steps:
                diagnostics.append(codes.G103.at(step.span, step=sid, ref=ref))
            elif ref != sid:
                edges.append((ref, sid, "data"))

    # by source step, as the graph lists them, so that a cycle is named from the same step
    position = {sid: i for i, sid in enumerate(steps)}
    explicit.sort(key=lambda edge: position[edge[0]])
    for cycle in _cycles(explicit) if explicit else ():
        first = steps[cycle[0]]
        diagnostics.append(codes.G104.at(first.span, cycle=" -> ".join([*cycle, cycle[0]])))
    return result


def _cycles(edges: list[tuple[str, str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (bounded on hostile input)."""
    import networkx as nx

    graph = nx.DiGraph(edges)
    found = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            sub = graph.subgraph(component)
            found.append([a for a, _ in nx.find_cycle(sub)])
    return found
