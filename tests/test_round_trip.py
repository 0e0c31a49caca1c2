"""YAML → IR → Prefect Python → IR gives the first IR back, for flows whose constructs are all
exact in both directions (``fixtures/round_trip/``).

Equality is the IR's structural equality after :func:`canonical`, which forgets only what one
side cannot spell and that changes no run:
- step ids: Prefect has no id for an inline log call, so ids are renumbered in order (and every
  reference to them follows);
- a Log without a level logs at INFO, which the Python side spells out;
- ``required`` of a parameter with a default: Kestra pre-fills the default and requires a
  value, Prefect lets the caller leave it out; both run with the default;
- the declared type of a flow output, which Prefect does not declare (it returns the value);
- how Kestra spelled an input type (``BOOLEAN`` for ``BOOL``);
- a value that is one ``{{ expr }}`` is that expression: Kestra writes every expression as a
  template, Python writes the expression;
- a ForEach without ``concurrencyLimit`` runs one iteration at a time (1), which the Python
  side spells out;
- whitespace around a description (Python cleans docstrings).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ir.expressions import Interpolation, TaskOutput, Template
from ir.flow import Flow
from ir.steps import Log, Loop, TaskStep
from transpile.kestra.reader import read_kestra_file
from transpile.passes.python_tasks import rewrite_nodes
from transpile.prefect.reader import read_prefect_repo
from transpile.prefect.writer import write_prefect
from transpile.result import Sibling, WriteContext

from .conftest import FIXTURES

CASES = sorted((FIXTURES / "round_trip").glob("*.yaml"))


def canonical(flow: Flow) -> Flow:
    """``flow`` without what Prefect cannot spell (see the module docstring)."""
    ids = {step.id: f"step{n}" for n, step in enumerate(flow.all_steps())}

    def visit(node):
        if (
            isinstance(node, Template)
            and len(node.parts) == 1
            and isinstance(node.parts[0], Interpolation)
        ):
            return node.parts[0].expr
        if isinstance(node, TaskOutput) and node.task in ids:
            return node.replace(task=ids[node.task])
        if isinstance(node, Log) and node.level is None:
            return node.replace(level="INFO")
        if isinstance(node, Loop) and node.concurrency is None:
            node = node.replace(concurrency=1)
        if hasattr(node, "depends_on") and hasattr(node, "id") and node.id in ids:
            return node.replace(
                id=ids[node.id], depends_on=tuple(ids.get(d, d) for d in node.depends_on)
            )
        return node

    flow = rewrite_nodes(flow, visit)
    parameters = tuple(
        p.replace(required=p.required and p.default is None, type_name=None)
        for p in flow.parameters
    )
    outputs = tuple(o.replace(type=None) for o in flow.outputs)
    description = flow.description.strip() if flow.description else flow.description
    return flow.replace(parameters=parameters, outputs=outputs, description=description)


def _round_trip(path: Path, tmp_path: Path) -> tuple[list[Flow], list[Flow], str]:
    read = read_kestra_file(path)
    assert read.flows and not read.diagnostics, [d.render() for d in read.diagnostics]
    siblings = {(f.namespace, f.id): Sibling("flows.py") for f in read.flows}
    context = WriteContext(source_name=path.name, output="flows.py", siblings=siblings)
    module = write_prefect(read.flows, context)
    assert not module.diagnostics, [d.render() for d in module.diagnostics]
    target = tmp_path / "flows.py"
    target.write_text(module.code, encoding="utf-8")
    back = read_prefect_repo(tmp_path, [target], namespace=read.flows[0].namespace)[target]
    assert not back.diagnostics, [d.render() for d in back.diagnostics]
    return read.flows, back.flows, module.code


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_exact_constructs_survive_yaml_to_python_to_ir(case: Path, tmp_path: Path):
    first, again, code = _round_trip(case, tmp_path)
    by_id = {flow.id: flow for flow in again}
    assert sorted(by_id) == sorted(f.id for f in first), code
    for flow in first:
        assert canonical(by_id[flow.id]) == canonical(flow), code


def test_canonical_still_tells_flows_apart(tmp_path: Path):
    """The comparison is not vacuous: a changed message, level or input is a difference."""
    (flow, *_), _, _ = _round_trip(FIXTURES / "round_trip" / "logs_and_branches.yaml", tmp_path)
    hello = flow.steps[0]
    assert isinstance(hello, TaskStep)
    changed = [
        flow.replace(steps=(hello.replace(action=hello.action.replace(level="ERROR")),)),
        flow.replace(parameters=flow.parameters[1:]),
        flow.replace(steps=flow.steps[1:]),
    ]
    for other in changed:
        assert canonical(other) != canonical(flow)


def test_there_are_round_trip_cases():
    assert len(CASES) >= 4
