"""The IR itself: structural equality, serialisation, schema, graph."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings

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
    with pytest.raises(AttributeError):
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


# --- records: construction normalises like a validating model, and stays cheap ---------------


def test_construction_normalises_the_shapes_readers_hand_in():
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarfloat import ScalarFloat
    from ruamel.yaml.scalarstring import LiteralScalarString

    from ir.parameters import Parameter, ParamType
    from ir.policies import RetryKind, RetryPolicy

    step = log("t", depends_on=CommentedSeq(["a", LiteralScalarString("b")]))
    assert step.depends_on == ("a", "b") and type(step.depends_on) is tuple
    assert type(step.depends_on[1]) is str
    flow = Flow(id=LiteralScalarString("f"), labels=CommentedMap(team="data"))
    assert type(flow.id) is str and type(flow.labels) is dict
    assert type(Literal(value=ScalarFloat(1.5)).value) is float
    assert Parameter(name="p", type="int").type is ParamType.INT
    assert RetryPolicy(kind="exponential").kind is RetryKind.EXPONENTIAL
    assert Parameter(name="p", item_type=None).item_type is None


def test_wrong_fields_are_refused_with_the_field_named():
    from ir.base import FieldError
    from ir.parameters import Parameter

    with pytest.raises(FieldError, match="missing field 'id'"):
        TaskStep(action=Log(message=Literal(value="x")))  # type: ignore[call-arg]
    with pytest.raises(FieldError, match="unknown field.*colour"):
        log("t", colour="red")
    with pytest.raises(FieldError, match="Parameter.type"):
        Parameter(name="p", type="no-such-type")
    with pytest.raises(FieldError, match="unknown field"):
        log("t").replace(colour="red")


def test_records_copy_and_pickle_as_values():
    import copy
    import pickle

    step = log("t", span=Span(file="a.yaml", line=1, col=1), tags=("x",))
    for clone in (copy.copy(step), copy.deepcopy(step), pickle.loads(pickle.dumps(step))):
        assert clone == step and clone.span == step.span and clone is not step
    assert repr(log("t")).startswith("TaskStep(id='t'") and "span" not in repr(step)


def test_loading_validates_what_construction_trusts():
    """JSON is checked by pydantic against the same fields: a wrong type is refused."""
    text = dump_flow(Flow(id="f", steps=(log("t"),)))
    with pytest.raises(ValueError):
        load_flow(text.replace('"id": "t"', '"id": 5'))
    with pytest.raises(ValueError):
        load_flow(text.replace('"kind": "log"', '"kind": "nope"'))


def test_reading_the_ir_does_not_load_pydantic():
    """Every command builds IR nodes; only serialising them needs pydantic."""
    import subprocess
    import sys

    code = (
        "import sys, ir.flow, ir.steps, ir.diagnostics;"
        "ir.flow.Flow(id='f');"
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_records_take_dataclass_style_declarations_and_positions():
    """Plain data (catalogue entries, settings) are records too: positional values in field
    order, ``dataclasses.field`` defaults and ``__post_init__``, as a dataclass has them."""
    import dataclasses

    from ir.base import FieldError, Record

    seen = []

    class Entry(Record):
        key: str
        size: int = 1
        tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)
        notes: dict[str, str] = dataclasses.field(default_factory=dict)

        def __post_init__(self) -> None:
            seen.append(self.key)

    entry = Entry("a", 2, ["x"])
    assert (entry.key, entry.size, entry.tags, entry.notes) == ("a", 2, ("x",), {})
    assert Entry("a") == Entry(key="a", size=1) != Entry("a", 3) and seen == ["a", "a", "a", "a"]
    assert Entry("a").notes is not Entry("a").notes  # a fresh default each time
    with pytest.raises(FieldError, match="given twice"):
        Entry("a", key="b")
    with pytest.raises(FieldError, match="too many"):
        Entry("a", 1, (), {}, "extra")


def test_reading_a_flow_builds_no_networkx_graph_until_asked():
    """Duplicate ids and unknown references need no graph library; explicit dependencies
    (a cycle check) and the graph itself load networkx when they are needed."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ir.expressions import Literal\n"
        "from ir.flow import Flow\n"
        "from ir.graph import build_graph\n"
        "from ir.steps import Dag, Log, TaskStep\n"
        "def log(i, **o): return TaskStep(id=i, action=Log(message=Literal(value='x')), **o)\n"
        "plain = build_graph(Flow(id='f', steps=(log('a'), log('a'))))\n"
        "print([d.code for d in plain.diagnostics], 'networkx' in sys.modules)\n"
        "print(build_graph(Flow(id='f', steps=(log('a'), log('b')))).order(),"
        " 'networkx' in sys.modules)\n"
        "inner = (log('x', depends_on=('y',)), log('y', depends_on=('x',)))\n"
        "dag = build_graph(Flow(id='g', steps=(Dag(id='d', steps=inner),)))\n"
        "print([d.code for d in dag.diagnostics])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.splitlines()
    assert out == ["['G101'] False", "['a', 'b'] True", "['G104']"]
