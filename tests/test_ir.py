"""The IR itself: structural equality, serialisation, schema, graph."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from ir.base import Span
from ir.expressions import Interpolation, Literal, Param, TaskOutput, Template
from ir.flow import Flow
from ir.graph import build_graph
from ir.serde import IR_VERSION, IRVersionError, dump_flow, json_schema_text, load_flow
from ir.steps import Dag, Log, Parallel, Return, Sequence, TaskStep

from .conftest import ROOT, update_goldens
from .strategies import kestra_flows


def log(step_id: str, message="hi", **options) -> TaskStep:
    return TaskStep(id=step_id, action=Log(message=Literal(value=message)), **options)


def test_spans_and_provenance_do_not_take_part_in_equality():
    a = log("t", span=Span(file="a.yaml", line=3, col=5), explicit=frozenset({"disabled"}))
    b = log("t", span=Span(file="b.yaml", line=9, col=1))
    assert a == b and hash(a) == hash(b)
    assert log("t") != log("u")
    with_source = Template(parts=(Interpolation(expr=Param(name="x"), source="{{inputs.x}}"),))
    assert with_source == Template(parts=(Interpolation(expr=Param(name="x")),))


def test_nodes_are_frozen():
    step = log("t")
    with pytest.raises(ValidationError):
        step.id = "u"  # type: ignore[misc]
    assert step.replace(id="u").id == "u" and step.id == "t"


@settings(max_examples=100)
@given(kestra_flows())
def test_json_round_trip(flow):
    assert load_flow(dump_flow(flow)) == flow


def test_json_is_stamped_and_versions_are_checked():
    text = dump_flow(Flow(id="f", steps=(log("t"),)))
    assert json.loads(text)["ir_version"] == IR_VERSION
    with pytest.raises(IRVersionError):
        load_flow(text.replace(f'"{IR_VERSION}"', '"99.0"'))


def test_defaults_are_left_out_of_json():
    data = json.loads(dump_flow(Flow(id="f", steps=(log("t"),))))
    assert data["flow"] == {
        "id": "f",
        "steps": [
            {
                "id": "t",
                "kind": "task",
                "action": {"kind": "log", "message": {"kind": "literal", "value": "hi"}},
            }
        ],
    }


def test_exported_schema_is_current():
    """docs/ir.schema.json must match the models; regenerate with
    `python -m ir > docs/ir.schema.json`."""
    stored = ROOT / "docs" / "ir.schema.json"
    if update_goldens():
        stored.write_text(json_schema_text(), encoding="utf-8")
    assert (
        stored.read_text(encoding="utf-8") == json_schema_text()
    ), "docs/ir.schema.json is stale: run `python -m ir > docs/ir.schema.json`"


def test_graph_orders_by_sequence_data_and_dependencies():
    flow = Flow(
        id="f",
        steps=(
            log("a"),
            Parallel(id="p", steps=(log("b"), log("c"))),
            Dag(
                id="d",
                steps=(
                    log("x", depends_on=("y",)),
                    TaskStep(id="y", action=Return(value=TaskOutput(task="a", path=("value",)))),
                ),
            ),
        ),
    )
    graph = build_graph(flow)
    assert graph.diagnostics == []
    order = graph.order()
    assert order.index("a") < order.index("p") < order.index("d")
    assert order.index("y") < order.index("x")
    assert graph.graph.has_edge("a", "y")  # data reference
    assert not graph.graph.has_edge("b", "c")  # parallel children are independent


def test_graph_reports_duplicates_unknown_references_and_cycles():
    flow = Flow(
        id="f",
        steps=(
            log("a"),
            Sequence(id="s", steps=(log("a"),)),
            Dag(
                id="d",
                steps=(
                    log("x", depends_on=("y",)),
                    log("y", depends_on=("x",)),
                    log("z", depends_on=("nope",)),
                ),
            ),
            TaskStep(id="r", action=Return(value=TaskOutput(task="ghost"))),
        ),
    )
    codes = sorted(d.code for d in build_graph(flow).diagnostics)
    assert codes == ["G101", "G102", "G103", "G104"]
    assert build_graph(flow).order() == []


def test_retry_counts_attempts_not_retries():
    from ir.policies import RetryPolicy

    assert RetryPolicy(max_attempts=4, interval=timedelta(seconds=10)).retries == 3
