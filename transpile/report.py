"""The conversion report (``--report report.md``): per flow, what converted exactly, what was
approximated, carried verbatim or left unsupported, and a Mermaid graph of its steps."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ir.diagnostics import Diagnostic, Fidelity
from ir.flow import Flow
from ir.graph import build_graph
from ir.steps import PluginCall, Step, TaskStep

_ORDER = (Fidelity.EXACT, Fidelity.APPROX, Fidelity.CARRIED, Fidelity.NONE)
_TITLES = {
    Fidelity.EXACT: "exact",
    Fidelity.APPROX: "approximated",
    Fidelity.CARRIED: "carried verbatim",
    Fidelity.NONE: "unsupported",
}


@dataclass
class FlowReport:
    """One converted flow: where it came from, where it went, what was said about it."""

    flow: Flow
    source: Path
    output: Path | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _label(step: Step) -> str:
    if isinstance(step, TaskStep):
        action = step.action
        return action.type.rsplit(".", 1)[-1] if isinstance(action, PluginCall) else action.kind
    return step.kind


def _node_id(step_id: str) -> str:
    return "s_" + re.sub(r"[^A-Za-z0-9_]", "_", step_id)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(flow: Flow) -> str:
    """A Mermaid flowchart of the flow's steps and their ordering edges."""
    graph = build_graph(flow)
    lines = ["flowchart TD"]
    for sid, step in graph.steps.items():
        lines.append(f'    {_node_id(sid)}["{_mermaid_text(sid)}<br/>{_label(step)}"]')
    for a, b, why in sorted(graph.graph.edges(data="reason")):
        arrow = "-.->" if why == "data" else "-->"
        lines.append(f"    {_node_id(a)} {arrow} {_node_id(b)}")
    return "\n".join(lines)


def _fidelity_of(step: Step, diagnostics: list[Diagnostic]) -> Fidelity:
    """The worst fidelity a diagnostic gives the step (matched by position), else exact."""
    if step.span is None or step.span.line is None:
        return Fidelity.EXACT
    worst = Fidelity.EXACT
    for d in diagnostics:
        if d.fidelity and d.span and d.span.line == step.span.line:
            if _ORDER.index(d.fidelity) > _ORDER.index(worst):
                worst = d.fidelity
    if isinstance(step, TaskStep) and isinstance(step.action, PluginCall):
        worst = max(worst, Fidelity.CARRIED, key=_ORDER.index)
    return worst


def render_report(entries: list[FlowReport]) -> str:
    """The whole report as Markdown (deterministic: no timestamps)."""
    out = ["# flowbridge conversion report", ""]
    totals: Counter[Fidelity] = Counter()
    sections: list[str] = []
    for entry in entries:
        flow = entry.flow
        buckets: dict[Fidelity, list[str]] = {f: [] for f in _ORDER}
        for step in flow.all_steps():
            fidelity = _fidelity_of(step, entry.diagnostics)
            buckets[fidelity].append(f"`{step.id}` ({_label(step)})")
            totals[fidelity] += 1
        title = f"{flow.namespace}.{flow.id}" if flow.namespace else flow.id
        sections += [f"## {title}", "", f"- source: `{entry.source.as_posix()}`"]
        if entry.output is not None:
            sections.append(f"- output: `{entry.output.as_posix()}`")
        sections.append("")
        for fidelity in _ORDER:
            if buckets[fidelity]:
                sections.append(f"**{_TITLES[fidelity]}**: " + ", ".join(buckets[fidelity]))
                sections.append("")
        if entry.diagnostics:
            sections.append("| where | code | message |")
            sections.append("|---|---|---|")
            for d in entry.diagnostics:
                where = f"{d.span.line}:{d.span.col}" if d.span and d.span.line else ""
                message = d.message.replace("|", "\\|")
                sections.append(f"| {where} | {d.code} | {message} |")
            sections.append("")
        sections += ["```mermaid", mermaid(flow), "```", ""]
    summary = ", ".join(f"{totals[f]} {_TITLES[f]}" for f in _ORDER)
    out += [f"{len(entries)} flow(s); steps: {summary}.", "", *sections]
    return "\n".join(out).rstrip() + "\n"
