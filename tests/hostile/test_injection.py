"""Injection: text that crosses from one side to the other stays text, and the same text.

Every string field (ids, descriptions, log messages, defaults, labels, script bodies,
commands) is filled with hostile text (tests/strategies.py: quotes, escapes, template
delimiters, line breaks of every kind, code) and sent round both ways:

* YAML → IR → Python → IR → YAML: the generated module is the writer's own code (the AST
  checker of tests/test_prefect_writer_property.py), and each field of the last YAML holds the
  text of the first, as the table below says;
* Python → YAML → Python, from modules built with libcst nodes: the same, and every literal
  ``{{``, ``{%`` or ``{#`` of a Python string is escaped in the YAML, so that Kestra renders it
  as text (it reads back as the same literal, never as an expression).

What survives YAML → Python → YAML, field by field (``EXPECTED_LOSSES`` lists the rest):

==========================  =====================================================================
flow id                     exact (``@flow(name=...)`` unless the id is the function's name)
namespace                   exact when given to the reader, as ``convert --namespace`` does
flow description            exact (a docstring, or ``description=`` when a docstring would not
                            read back: edge whitespace, tabs, indentation)
input ids                   exact when a snake_case identifier; else renamed by
                            ``names.parameter_names`` and reported (P205)
input descriptions          exact (``Annotated[T, Field(description=...)]``)
input defaults              exact
task ids (commands, script) exact: the ``@task`` name, or its function's name
task descriptions           exact (``@task(description=...)``)
Log and Fail messages,      the same text; a literal delimiter is escaped the same way or in a
flow output values          spelling Kestra renders the same (``a{% raw %}{{b}}{% endraw %}`` or
                            ``{% raw %}a{{b}}{% endraw %}``)
commands, shell scripts     exact, as data: a Prefect task runs them; back in Kestra that task is
                            a python Script that gets them as its JSON argument
python script bodies        the same statements (AST): the body of the task function
==========================  =====================================================================

Python → YAML → Python: the flow's name becomes a Kestra id (slugged by the reader), then stays;
the flow's and the parameter's descriptions, defaults, log and failure messages (f-string text
included), output keys and values, the task's description and its function (signature,
annotations, body, ``async``) are exact. A task's ``name=`` is lost when its result is assigned
(the variable is the step id); its ``tags`` are lost (K201: Kestra tasks have none).
"""

from __future__ import annotations

import ast
import re
import warnings

import libcst as cst
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ir.expressions import (
    Interpolation,
    ListValue,
    Literal,
    Param,
    Raw,
    Template,
    to_data,
)
from ir.flow import Flow, FlowOutput
from ir.parameters import Parameter, ParamType
from ir.steps import Commands, Fail, Log, PythonFunction, Script, TaskStep
from transpile.kestra.pebble import parse_text, print_expression
from transpile.kestra.reader import read_kestra
from transpile.kestra.writer import write_kestra
from transpile.passes.python_tasks import lift_python_tasks
from transpile.prefect.names import parameter_names
from transpile.prefect.pyexpr import literal
from transpile.prefect.reader import read_prefect_source
from transpile.prefect.writer import PrefectModule, write_prefect

from ..strategies import PAYLOADS, hostile_text, raw_blocks
from ..test_prefect_writer_property import check_module, function, string_constants

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# Fields that do not survive YAML → Python → YAML, and why (asserted where they are lost).
EXPECTED_LOSSES = {
    "labels": "Prefect flows have no labels: they become the deployment's tags (P203)",
    "inline step ids": "a Log or Fail is a statement in Prefect, with no id: the reader numbers "
    "them (log, log_2, …)",
    "inline step descriptions": "only a Prefect task has a description: kept in a comment (P204)",
}

TEXT = hostile_text()
# Kestra ids; the reader numbers inline steps log, fail, … so task ids keep clear of those.
FLOW_ID = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,15}", fullmatch=True)
NAMESPACE = st.from_regex(r"[a-z][a-z0-9_-]{0,8}(\.[a-z][a-z0-9_-]{0,8}){0,2}", fullmatch=True)
TASK_ID = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,15}", fullmatch=True).filter(
    lambda s: re.fullmatch(r"(log|fail)(_\d+)?", s) is None
)
INPUT_ID = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9_.-]{0,10}", fullmatch=True),
)
YAML_LOADER = YAML(typ="safe", pure=True)


# --- what Kestra renders ---------------------------------------------------------------------


def meaning(value) -> tuple:
    """What Kestra renders ``value`` to: text (raw blocks and Pebble string literals as their
    text, comments as nothing, adjacent text joined) and the expressions it evaluates."""
    if value is None:
        return ()
    if isinstance(value, Literal) and not isinstance(value.value, str):
        return (("data", value.value),)
    parts = value.parts if isinstance(value, Template) else (value,)
    pieces: list[tuple[str, object]] = []

    def text(t: str) -> None:
        if pieces and pieces[-1][0] == "text":
            pieces[-1] = ("text", pieces[-1][1] + t)
        elif t:
            pieces.append(("text", t))

    for part in parts:
        if isinstance(part, str):
            text(part)
        elif isinstance(part, Literal) and isinstance(part.value, str):
            text(part.value)
        elif isinstance(part, Raw):
            text(_raw_content(part.text))
        elif isinstance(part, Interpolation):
            expr = part.expr
            if isinstance(expr, Literal) and isinstance(expr.value, str):
                text(expr.value)
            else:
                pieces.append(("expr", print_expression(expr)))
        else:
            pieces.append(("expr", print_expression(part)))
    return tuple(pieces)


_RAW_BLOCK = re.compile(r"\{%-?\s*(raw|verbatim)\s*-?%\}(.*)\{%-?\s*end\1\s*-?%\}\Z", re.S)


def _raw_content(text: str) -> str:
    if text.startswith("{#"):
        return ""
    block = _RAW_BLOCK.match(text)
    if block is None:
        raise AssertionError(f"a part Kestra would evaluate: {text!r}")
    return block.group(2)


def evaluated(value) -> list[str]:
    """The expressions Kestra evaluates in ``value``."""
    return [str(piece[1]) for piece in meaning(value) if piece[0] == "expr"]


# --- the sides ----------------------------------------------------------------------------------


def read_yaml(text: str) -> Flow:
    result = read_kestra(text)
    assert [d.render() for d in result.diagnostics if d.is_error] == [], text
    (flow,) = result.flows
    return flow


def read_python(code: str, namespace: str | None) -> Flow:
    result = read_prefect_source(code, "flows.py", namespace=namespace)
    assert [d.render() for d in result.diagnostics if d.is_error] == [], code
    (flow,) = result.flows
    return flow


def user_code(flows: list[Flow]) -> frozenset[str]:
    """Steps whose task body is the user's own code (python scripts and Prefect tasks)."""
    return frozenset(
        step.id
        for flow in flows
        for step in lift_python_tasks(flow).all_steps()
        if isinstance(step, TaskStep)
        and (
            isinstance(step.action, PythonFunction)
            or (isinstance(step.action, Script) and step.action.language == "python")
        )
    )


def to_python(flow: Flow) -> tuple[PrefectModule, ast.Module]:
    """The Prefect module of ``flow``, checked to be the writer's own code."""
    module = write_prefect(flow)
    return module, check_module(module, user_code([flow]))


# --- flows whose every string field is hostile ----------------------------------------------


def python_program(texts: list[str]) -> str:
    """A valid program holding ``texts`` as string constants (built as a tree, never pasted)."""
    names = [f"v{i}" for i in range(len(texts))]
    body: list[ast.stmt] = [
        ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=ast.Constant(value=t))
        for n, t in zip(names, texts, strict=True)
    ]
    call = ast.Call(
        func=ast.Name(id="print", ctx=ast.Load()),
        args=[ast.Name(id=n, ctx=ast.Load()) for n in names],
        keywords=[],
    )
    body.append(ast.Expr(value=call))
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))) + "\n"


def messages(parameter: str) -> st.SearchStrategy:
    """A Log message: hostile literal text, or a template of hostile text, a parameter and raw
    blocks."""
    part = st.one_of(
        TEXT.filter(bool),
        st.just(Interpolation(expr=Param(name=parameter))),
        raw_blocks(TEXT).map(lambda t: Raw(text=t)),
    )
    return st.one_of(
        TEXT.map(lambda t: Literal(value=t)),
        st.lists(part, min_size=1, max_size=4).map(lambda ps: Template(parts=tuple(ps))),
    )


def tasks(parameter: str) -> st.SearchStrategy:
    text_list = st.lists(TEXT.map(lambda t: Literal(value=t)), min_size=1, max_size=2)
    action = st.one_of(
        st.builds(
            Log,
            message=messages(parameter),
            level=st.sampled_from([None, "INFO", "WARN", "ERROR"]),
        ),
        st.builds(
            Commands,
            language=st.just("shell"),
            commands=text_list.map(lambda xs: ListValue(items=tuple(xs))),
        ),
        st.builds(Script, language=st.just("shell"), source=TEXT.map(lambda t: Literal(value=t))),
        st.builds(
            Script,
            language=st.just("python"),
            source=st.lists(TEXT, min_size=1, max_size=2).map(
                lambda ts: Literal(value=python_program(ts))
            ),
        ),
    )
    return st.builds(TaskStep, id=TASK_ID, description=st.none() | TEXT, action=action)


@st.composite
def string_flows(draw) -> Flow:
    """A Kestra flow whose every string field is hostile text."""
    inputs = draw(st.lists(INPUT_ID, max_size=2, unique=True))
    parameters = [
        Parameter(
            name=name,
            type=ParamType.STRING,
            description=draw(st.none() | TEXT),
            default=draw(st.none() | TEXT.map(lambda t: Literal(value=t))),
            required=draw(st.booleans()),
        )
        for name in ["who", *inputs]
    ]
    parameters = list({p.name: p for p in parameters}.values())
    steps = draw(st.lists(tasks("who"), min_size=1, max_size=4, unique_by=lambda s: s.id))
    if draw(st.booleans()):
        fail_id = draw(TASK_ID.filter(lambda i: i not in {s.id for s in steps}))
        steps.append(
            TaskStep(
                id=fail_id,
                description=draw(st.none() | TEXT),
                action=Fail(message=draw(messages("who"))),
            )
        )
    outputs = draw(
        st.lists(
            st.builds(
                FlowOutput,
                id=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                value=messages("who"),
            ),
            max_size=2,
            unique_by=lambda o: o.id,
        )
    )
    return Flow(
        id=draw(FLOW_ID),
        namespace=draw(NAMESPACE),
        description=draw(st.none() | TEXT),
        labels=draw(
            st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), TEXT, max_size=2)
        ),
        parameters=tuple(parameters),
        steps=tuple(steps),
        outputs=tuple(outputs),
    )


# --- 1. YAML → IR → Python → IR → YAML ----------------------------------------------------------


def _log(message: str, id: str = "a", **options) -> TaskStep:
    return TaskStep(id=id, action=Log(message=Literal(value=message)), **options)


def _flow(*steps: TaskStep, **fields) -> Flow:
    fields.setdefault("id", "f")
    fields.setdefault("namespace", "n")
    fields.setdefault("parameters", (Parameter(name="who"),))
    return Flow(steps=steps, **fields)


@settings(max_examples=60)
@example(  # f-string text holding a delimiter came back unescaped: Kestra evaluated it
    _flow(
        TaskStep(
            id="a",
            action=Log(
                message=Template(parts=("x ", Interpolation(expr=Param(name="who")), " {{ lit }}"))
            ),
        )
    )
)
@example(  # the flow id came back as the function's name; the input description was lost
    _flow(
        _log("x"),
        id="my-flow",
        parameters=(Parameter(name="who", description="d"),),
    )
)
@example(_flow(_log("x"), description=" leading space\n\tand a tab "))  # docstring cleaning
@example(_flow(_log("x"), description='"); import os; ("'))  # black pads a closing quote
@example(_flow(_log("x"), parameters=(Parameter(name="who"), Parameter(name="maxRows"))))  # P205
@example(  # the task id came back as its result variable (hello_task_result)
    _flow(
        TaskStep(
            id="hello-task",
            description="",
            action=Commands(language="shell", commands=ListValue(items=(Literal(value="x"),))),
        ),
        outputs=(
            FlowOutput(id="o", value=Template(parts=(Interpolation(expr=Param(name="who")),))),
        ),
    )
)
@given(string_flows())
def test_yaml_python_yaml_keeps_every_string(flow):
    original_text, _ = write_kestra(flow)
    first = read_yaml(original_text)
    module, tree = to_python(first)
    codes = {d.code for d in module.diagnostics}
    again = read_python(module.code, first.namespace)
    last_text, _ = write_kestra(again)
    last = read_yaml(last_text)
    before, after = YAML_LOADER.load(original_text), YAML_LOADER.load(last_text)

    for key in ("id", "namespace", "description"):
        assert after.get(key) == before.get(key), key
    if first.labels:  # EXPECTED_LOSSES["labels"]
        assert "labels" not in after and "P203" in codes

    # Inputs: renamed by the documented rule (P205); required ones first, as Python orders
    # parameters without a default before those with one.
    names = parameter_names(i["id"] for i in _inputs(before))
    if names != [i["id"] for i in _inputs(before)]:
        assert "P205" in codes
    inputs = {i["id"]: i for i in _inputs(after)}
    assert sorted(inputs) == sorted(names)
    for old, name in zip(_inputs(before), names, strict=True):
        for key in ("description", "defaults"):
            assert inputs[name].get(key) == old.get(key), (key, old, inputs[name])

    assert len(last.steps) == len(first.steps)
    for old, new, old_yaml, new_yaml in zip(
        first.steps, last.steps, before["tasks"], after["tasks"], strict=True
    ):
        action = old.action
        if isinstance(action, (Log, Fail)):  # inline: EXPECTED_LOSSES
            assert type(new.action) is type(action)
            assert meaning(new.action.message) == meaning(action.message)
            if isinstance(action.message, Literal):
                key = "message" if isinstance(action, Log) else "errorMessage"
                assert new_yaml[key] == old_yaml[key]
            if old.description is not None:
                assert "P204" in codes and "description" not in new_yaml
            continue
        assert new_yaml["id"] == old_yaml["id"]
        assert new_yaml.get("description") == old_yaml.get("description")
        (lifted,) = lift_python_tasks(last.replace(steps=(new,))).steps
        assert isinstance(lifted.action, PythonFunction), new_yaml
        if isinstance(action, Script) and action.language == "python":
            source = ast.parse(lifted.action.source)
            (task,) = [f for f in source.body if isinstance(f, ast.FunctionDef)]
            assert ast.dump(ast.Module(body=task.body, type_ignores=[])) == ast.dump(
                ast.parse(action.source.value)
            )
        else:
            commands = action.commands if isinstance(action, Commands) else action.source
            expected = to_data(commands)
            assert to_data(lifted.action.arguments["commands"]) == (
                expected if isinstance(expected, list) else [expected]
            )

    for old, new in zip(first.outputs, last.outputs, strict=True):
        assert (new.id, meaning(new.value)) == (old.id, meaning(old.value))
    # Python text is data: every message is a string constant of the module.
    constants = string_constants(tree)
    for step in first.steps:
        if isinstance(step.action, Log) and isinstance(step.action.message, Literal):
            assert step.action.message.value in constants


def _inputs(document: dict) -> list[dict]:
    return document.get("inputs") or []


# --- 2. Python → YAML → Python, from modules built with libcst ----------------------------------

SKELETON = """
from typing import Annotated

from prefect import flow, get_run_logger, task
from pydantic import Field


@task(name=TASK_NAME, description=TASK_DESCRIPTION)
def work(x: str) -> str:
    suffix = TASK_TEXT
    return x + suffix


@flow(name=FLOW_NAME, description=FLOW_DESCRIPTION)
def pipeline(p: Annotated[str, Field(description=PARAM_DESCRIPTION)] = DEFAULT):
    logger = get_run_logger()
    logger.info(MESSAGE)
    logger.warning(FORMATTED)
    result = work(p)
    if p == COMPARED:
        raise RuntimeError(FAILURE)
    return {OUTPUT: result, "constant": CONSTANT}
"""
# The same with an async task that awaits (a regression, see the last test).
ASYNC_SKELETON = (
    SKELETON.lstrip("\n")
    .replace("def work(x: str) -> str:", "async def work(x: str) -> str:")
    .replace("    return x + suffix", "    return await x + suffix")
)
PLACEHOLDERS = (
    "TASK_NAME",
    "TASK_DESCRIPTION",
    "TASK_TEXT",
    "FLOW_NAME",
    "FLOW_DESCRIPTION",
    "PARAM_DESCRIPTION",
    "DEFAULT",
    "MESSAGE",
    "COMPARED",
    "FAILURE",
    "OUTPUT",
    "CONSTANT",
)


class _Fill(cst.CSTTransformer):
    """Put string nodes in place of the skeleton's placeholder names."""

    def __init__(self, values: dict[str, str], formatted: tuple[str, str]) -> None:
        self.values = values
        self.formatted = formatted

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        if updated.value == "FORMATTED":
            before, after = self.formatted
            return cst.FormattedString(
                parts=[
                    *_fstring_text(before),
                    cst.FormattedStringExpression(expression=cst.Name("p")),
                    *_fstring_text(after),
                ]
            )
        if updated.value in self.values:
            return literal(self.values[updated.value])
        return updated


def _fstring_text(text: str) -> list[cst.FormattedStringText]:
    """f-string text for ``text``: the escapes of :func:`literal`, braces doubled."""
    if not text:
        return []
    inner = literal(text).value[1:-1]  # a "…" literal's body: quotes and controls escaped
    if literal(text).value[0] == "'":  # repr chose single quotes: requote for "…"
        inner = inner.replace("\\'", "'").replace('"', '\\"')
    return [cst.FormattedStringText(value=inner.replace("{", "{{").replace("}", "}}"))]


def python_module(values: dict[str, str], formatted: tuple[str, str]) -> str:
    module = cst.parse_module(SKELETON.lstrip("\n")).visit(_Fill(values, formatted))
    return module.code


PYTHON_VALUES = st.fixed_dictionaries({name: TEXT for name in PLACEHOLDERS})
FORMATTED = st.tuples(TEXT, TEXT)
DELIMITED = st.sampled_from(["{{ x }}", "{% if x %}", "{# c #}", "{{", "{%", "{#", "a{", "}}"])


def _python_example(**values: str) -> dict[str, str]:
    return {name: values.get(name, "x") for name in PLACEHOLDERS}


@settings(max_examples=40)
@example(_python_example(MESSAGE="{{ x }}", FLOW_NAME="my-flow"), ("p={", "} {{ lit }}"))
@example(_python_example(FLOW_DESCRIPTION="  indented\n\tdocstring\n"), ("", ""))
@example(_python_example(CONSTANT="{% endraw %}{{ x }}"), ("{%", "{#"))
@given(PYTHON_VALUES, FORMATTED)
def test_python_yaml_python_keeps_every_string(values, formatted):
    code = python_module(values, formatted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        compile(code, "<module>", "exec")
    first = read_python(code, "n")
    text, written = write_kestra(first)
    middle = read_yaml(text)
    module, tree = to_python(middle)
    last = read_python(module.code, "n")

    # Flow: its name is a Kestra id (the reader slugs it) that then stays as it is.
    assert last.id == middle.id == first.id
    assert first.description == last.description == values["FLOW_DESCRIPTION"]
    (param,) = last.parameters
    assert (param.name, param.description) == ("p", values["PARAM_DESCRIPTION"])
    assert param.default == Literal(value=values["DEFAULT"])

    # Messages: the literal text, with no expression but the f-string's parameter, on both
    # sides; in the YAML every delimiter of the Python text is escaped.
    expected = [
        (("text", values["MESSAGE"]),) if values["MESSAGE"] else (),
        tuple(
            p
            for p in (("text", formatted[0]), ("expr", "inputs.p"), ("text", formatted[1]))
            if p[1]
        ),
    ]
    for flow in (first, middle, last):
        logs = [
            s.action for s in flow.steps if isinstance(s, TaskStep) and isinstance(s.action, Log)
        ]
        assert [meaning(log.message) for log in logs] == expected
        fails = [
            s for s in flow.all_steps() if isinstance(s, TaskStep) and isinstance(s.action, Fail)
        ]
        assert [meaning(f.action.message) for f in fails] == [_text(values["FAILURE"])]
        outputs = {o.id: o.value for o in flow.outputs}
        assert meaning(outputs["constant"]) == _text(values["CONSTANT"])
        (output_id,) = set(outputs) - {"constant"}
        # a dict key is any text; Kestra takes letters, digits, '.', '_', '-': renamed, told
        if flow is first or re.fullmatch(r"[a-zA-Z0-9][.a-zA-Z0-9_-]*", values["OUTPUT"]):
            assert output_id == values["OUTPUT"]
        else:
            assert re.fullmatch(r"[a-zA-Z0-9][.a-zA-Z0-9_-]*", output_id), output_id
            assert any(d.code == "T101" and "flow output" in d.message for d in written)
    # The task: its description, and its function as it was (body, annotations).
    (task,) = [s for s in last.all_steps() if isinstance(s.action, PythonFunction)]
    assert task.description == values["TASK_DESCRIPTION"]
    assert task.id == "result"  # the variable (the task's name= is lost: see the docstring)
    assert _function_dump(task.action.source) == _function_dump(code, "work")
    assert values["TASK_TEXT"] in string_constants(function(tree, "work"))


def _text(text: str) -> tuple:
    return (("text", text),) if text else ()


def _function_dump(source: str, name: str = "work", kind: type = ast.FunctionDef) -> str:
    """The function ``name`` of ``source`` without its decorators: signature and body."""
    tree = ast.parse(source)
    (fn,) = [f for f in ast.walk(tree) if isinstance(f, kind) and f.name == name]
    return ast.dump(fn.args) + ast.dump(fn.returns) + ast.dump(ast.Module(fn.body, []))


# --- 3. a literal delimiter in a Python string is never evaluated by Kestra ------------------


@settings(max_examples=60)
@example(text="{{ x }}", where="plain")
@example(text="{{ x }}", where="fstring")
@example(text="a{", where="fstring")  # "a{" + "{{ inputs.p }}" would make "{{{"
@example(text="{% endraw %}{{ x }}", where="fstring")
@example(text="{#", where="plain")
@given(
    st.one_of(DELIMITED, TEXT, st.lists(DELIMITED | TEXT, max_size=4).map("".join)),
    st.sampled_from(["plain", "fstring"]),
)
def test_literal_delimiters_are_escaped_for_pebble(text, where):
    formatted = (text, "") if where == "fstring" else ("", "")
    values = _python_example(MESSAGE=text if where == "plain" else "m")
    code = python_module(values, formatted)
    first = read_python(code, "n")
    yaml_text, _ = write_kestra(first)
    document = YAML_LOADER.load(yaml_text)
    message = document["tasks"][0 if where == "plain" else 1]["message"]
    parsed, problems = parse_text(message)
    assert problems == []
    wanted = ["inputs.p"] if where == "fstring" else []
    assert evaluated(parsed) == wanted, message
    pieces = meaning(parsed)
    if where == "plain":
        assert pieces == _text(text)
    else:
        assert pieces == tuple(p for p in (("text", text), ("expr", "inputs.p")) if p[1])


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"payload{i}" for i in range(len(PAYLOADS))])
def test_every_payload_both_ways(payload):
    """Each injection payload in every Python field, round both ways (fast, exhaustive)."""
    values = {name: payload for name in PLACEHOLDERS}
    test_python_yaml_python_keeps_every_string.hypothesis.inner_test(values, (payload, payload))
    flow = _flow(
        _log(payload, description=payload),
        TaskStep(
            id="cmd",
            description=payload,
            action=Commands(language="shell", commands=ListValue(items=(Literal(value=payload),))),
        ),
        description=payload,
        parameters=(Parameter(name="who", description=payload, default=Literal(value=payload)),),
        outputs=(FlowOutput(id="o", value=Literal(value=payload)),),
    )
    test_yaml_python_yaml_keeps_every_string.hypothesis.inner_test(flow)


def test_a_flowbridge_script_goes_back_as_its_task():
    """Python → YAML → Python: the Kestra script of a Prefect task becomes that task again
    (it used to become a task wrapping the script, whose arguments were lost)."""
    code = python_module(_python_example(), ("", ""))
    middle = read_yaml(write_kestra(read_python(code, "n"))[0])
    assert any(
        isinstance(s.action, Script)
        and [e.key for e in s.action.env.entries] == ["FLOWBRIDGE_ARG_X"]
        for s in middle.all_steps()
        if isinstance(s, TaskStep)
    )
    module, tree = to_python(middle)
    (call,) = [
        n
        for n in ast.walk(function(tree, module.flow_functions[0]))
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "work"
    ]
    assert [(k.arg, ast.unparse(k.value)) for k in call.keywords] == [("x", "p")]
    assert "P203" not in {d.code for d in module.diagnostics}


def test_an_async_task_stays_async():
    """Python → Python: an async task kept its body but lost ``async`` (a crash: ``await``
    outside an async function)."""
    values = _python_example()
    module = cst.parse_module(ASYNC_SKELETON).visit(_Fill(values, ("", "")))
    first = read_python(module.code, "n")
    written = write_prefect(first)  # compiles (the writer checks), else raises
    assert _function_dump(written.code, "work", ast.AsyncFunctionDef) == _function_dump(
        module.code, "work", ast.AsyncFunctionDef
    )
