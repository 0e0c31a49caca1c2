"""Pebble → Python expressions: real Pebble text is parsed, translated, rendered and evaluated
against fake parameters, outputs, secrets, variables and run context; the values must be those
Kestra would produce. Properties cover literals of any data and templates of any text."""

from __future__ import annotations

import ast
import importlib
import json
import math
import re
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ir.diagnostics import Severity
from ir.expressions import (
    Attr,
    Interpolation,
    ListValue,
    MapEntry,
    MapValue,
    Param,
    Raw,
    Template,
)
from tests.strategies import values as ir_values
from transpile.kestra.pebble import parse_text
from transpile.prefect import runtime
from transpile.prefect.pyexpr import (
    PyContext,
    docstring,
    literal,
    literal_with_imports,
    secret_block_name,
    to_python,
    variable_name,
)

UTC = timezone.utc
START = datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)
SCHEDULED = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)


# --- fakes the generated code runs against -------------------------------------------------


class FakeSecret:
    """Stands in for prefect.blocks.system.Secret: a block's value names the block."""

    @staticmethod
    def load(name: str) -> SimpleNamespace:
        return SimpleNamespace(get=lambda: f"secret:{name}")


class FakeVariable:
    """Stands in for prefect.variables.Variable."""

    store: dict[str, Any] = {"my_key": "kv-value", "simple": 7}

    @classmethod
    def get(cls, name: str) -> Any:
        return cls.store[name]


FAKE_RUNTIME = SimpleNamespace(
    flow_run=SimpleNamespace(id="run-1", start_time=START, scheduled_start_time=SCHEDULED)
)
FROM_IMPORTS = {
    ("prefect.blocks.system", "Secret"): FakeSecret,
    ("prefect.variables", "Variable"): FakeVariable,
    ("prefect", "runtime"): FAKE_RUNTIME,
}
TASKS = {"t1": "t1_result"}


def output(task: str, path: tuple[str, ...]) -> cst.BaseExpression | None:
    """Like the writer: a step's outputs are a variable, a path reads into it."""
    if task not in TASKS:
        return None
    node: cst.BaseExpression = cst.Name(TASKS[task])
    for segment in path:
        key = literal(int(segment)) if segment.isdigit() else literal(segment)
        node = cst.Subscript(node, [cst.SubscriptElement(cst.Index(key))])
    return node


CTX = PyContext(
    params={n: n for n in ("name", "count", "cfg", "when", "items", "raw", "body")},
    constants={"env": "ENV"},
    output=output,
    loop_vars=["outer", "inner"],
    flow_id="hello",
    namespace="company.team",
)


# --- helpers -------------------------------------------------------------------------------


def render(node: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(node)


def namespace(imports: set[tuple[str, str]], values: dict[str, Any]) -> dict[str, Any]:
    """The names the code may use: exactly the reported imports (fakes for Prefect), plus the
    test's variables. A missing import fails the evaluation."""
    ns: dict[str, Any] = dict(values)
    for module, name in imports:
        if name:
            ns[name] = FROM_IMPORTS[(module, name)]
        else:
            top = module.split(".")[0]
            ns[top] = importlib.import_module(top)
    return ns


class _FStrings(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[cst.FormattedString] = []

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.found.append(node)


def assert_python310_fstrings(node: cst.BaseExpression) -> None:
    """Python 3.10 refuses backslashes, '#' and the enclosing quote inside f-string braces
    (3.12 accepts them, so this is checked on the text rather than left to the compiler)."""
    visitor = _FStrings()
    node.visit(visitor)
    for fstring in visitor.found:
        quote = fstring.start[-1]
        for part in fstring.parts:
            if isinstance(part, cst.FormattedStringExpression):
                code = render(part.expression)
                assert not {"\\", "#", quote, "\n"} & set(code), code
                # `{{` would be an escaped brace, not a dict in braces
                assert not code.startswith("{") or render(part).startswith("{ "), code


def evaluate(translation: Any, **values: Any) -> Any:
    node = translation.expr
    module = cst.Module([cst.SimpleStatementLine([cst.Expr(node)])]).code
    compile(module, "<module>", "exec")
    assert_python310_fstrings(node)
    return eval(compile(render(node), "<expr>", "eval"), namespace(translation.imports, values))


def run(text: str, **values: Any) -> tuple[Any, Any]:
    """Parse Pebble text, translate it and evaluate the result: (value, translation)."""
    expr, problems = parse_text(text)
    translation = to_python(expr, CTX)
    return evaluate(translation, **values), translation


def codes_of(translation: Any) -> list[str]:
    return [d.code for d in translation.diagnostics]


def tree(translation: Any) -> ast.expr:
    return ast.parse(render(translation.expr), mode="eval").body


def calls(node: ast.AST) -> list[str]:
    return [ast.unparse(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)]


# --- references ----------------------------------------------------------------------------


def test_single_interpolation_is_the_value_itself() -> None:
    value, t = run("{{ inputs.count }}", count=5)
    assert value == 5 and isinstance(tree(t), ast.Name)
    assert t.exact and t.diagnostics == [] and t.imports == set()


def test_text_and_interpolation_make_an_fstring() -> None:
    value, t = run("Hello {{ inputs.name }}!", name="world")
    assert value == "Hello world!"
    assert isinstance(tree(t), ast.JoinedStr)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("{{ vars.env }}", {"ENV": "prod"}, "prod"),
        ("{{ outputs.t1.value }}", {"t1_result": {"value": 42}}, 42),
        ("{{ outputs.t1.rows[1] }}", {"t1_result": {"rows": ["a", "b"]}}, "b"),
        ("{{ outputs.t1.vars.k }}", {"t1_result": {"vars": {"k": "v"}}}, "v"),
        ("{{ taskrun.value }}", {"inner": "i", "outer": "o"}, "i"),
        ("{{ parent.taskrun.value }}", {"inner": "i", "outer": "o"}, "o"),
        ("{{ taskrun.value.id }}", {"inner": {"id": 3}}, 3),
        ("{{ inputs.cfg.host }}", {"cfg": {"host": "h"}}, "h"),
        ("{{ inputs.cfg['my key'] }}", {"cfg": {"my key": 1}}, 1),
        ("{{ inputs.items[1] }}", {"items": ["a", "b"]}, "b"),
        ("{{ inputs.items[inputs.count] }}", {"items": ["a", "b"], "count": 0}, "a"),
        ("{{ flow.id }}", {}, "hello"),
        ("{{ flow.namespace }}", {}, "company.team"),
        ("{{ execution.flowId }}", {}, "hello"),
        ("{{ execution.namespace }}", {}, "company.team"),
        ("{{ execution.id }}", {}, "run-1"),
        ("{{ trigger.date }}", {}, SCHEDULED),
        ("{{ execution.startDate }}", {}, START),
        (
            "run {{ execution.id }} of {{ flow.namespace }}.{{ flow.id }}",
            {},
            "run run-1 of company.team.hello",
        ),
    ],
)
def test_references(text: str, values: dict[str, Any], expected: Any) -> None:
    value, t = run(text, **values)
    assert value == expected
    assert "P201" not in codes_of(t)


def test_runtime_import_is_reported() -> None:
    _, t = run("{{ execution.id }}")
    assert ("prefect", "runtime") in t.imports


def test_bare_dates_are_approximate() -> None:
    # Kestra renders an ISO string where Python holds a datetime.
    assert not run("{{ trigger.date }}")[1].exact


@pytest.mark.parametrize(
    "text",
    [
        "{{ inputs.nope }}",
        "{{ vars.nope }}",
        "{{ outputs.unknown.value }}",
        "{{ parents[1].taskrun.value }}",
        "{{ taskrun.iteration }}",
        "{{ labels.team }}",
        "{{ flow.revision }}",
        "{{ foo }}",
        "{{ foo(1) }}",
        "{{ outputs.t1.value | foo }}",
        "{{ inputs.name is iterable }}",
        "{{ inputs.name | dateAdd(1, 'DAYS') }}",
        "{{ inputs.name | number }}",
        "{{ inputs.name | date }}",
        "{{ outputs.t1.body | jq('.items[] | .name') }}",
        "{{ outputs.t1.body | jq('.items | length') | first }}",
        "{{ outputs.t1.body | jq(inputs.name) }}",
        "{{ now() | date('ww') }}",
        "{{ now() | date('iso') }}",
        "{{ now() | date('yyyy[-MM]') }}",
        "{{ inputs.name | replace({'a': 'b'}, regexp=true) }}",
        "{{ inputs.name | upper(1) }}",
        "{{ inputs.name ??? 'x' }}",
        "{{ inputs.name | upper ~ foo }}",
    ],
)
def test_untranslatable_is_a_marked_string(text: str) -> None:
    value, t = run(text, name="n", t1_result={})
    assert value == text
    assert not t.exact
    assert codes_of(t) == ["P201"]
    assert t.diagnostics[0].severity is Severity.WARNING
    assert repr(text) in t.diagnostics[0].message


def test_marked_interpolation_keeps_the_rest_of_the_template() -> None:
    value, t = run("Hi {{ inputs.name }}, {{ inputs.name | foo }}!", name="Ann")
    assert value == "Hi Ann, {{ inputs.name | foo }}!"
    assert codes_of(t) == ["P201"] and not t.exact


def test_a_marked_part_drops_its_imports() -> None:
    _, t = run("{{ secret('TOKEN') | foo }}")
    assert t.imports == set()
    assert codes_of(t) == ["P201"]


# --- secrets, variables, environment, time -------------------------------------------------


def test_secret_is_loaded_from_a_slugged_block() -> None:
    value, t = run("{{ secret('SLACK_URL') }}")
    assert value == "secret:slack-url"
    assert ("prefect.blocks.system", "Secret") in t.imports
    (diagnostic,) = t.diagnostics
    assert diagnostic.code == "P205" and diagnostic.severity is Severity.INFO
    assert "'SLACK_URL'" in diagnostic.message and "'slack-url'" in diagnostic.message
    assert t.exact


def test_secret_with_a_valid_name_is_not_reported() -> None:
    value, t = run("Bearer {{ secret('token') }}")
    assert value == "Bearer secret:token"
    assert t.diagnostics == []


def test_secret_used_twice_is_reported_once() -> None:
    value, t = run("{{ secret('A_B') }}:{{ secret('A_B') }}")
    assert value == "secret:a-b:secret:a-b"
    assert codes_of(t) == ["P205"]


def test_kv_reads_a_prefect_variable() -> None:
    value, t = run("{{ kv('My.Key') }}")
    assert value == "kv-value"
    assert ("prefect.variables", "Variable") in t.imports
    assert codes_of(t) == ["P205"] and "'my_key'" in t.diagnostics[0].message
    assert t.exact


def test_kv_of_another_namespace_is_approximate() -> None:
    value, t = run("{{ kv('simple', 'other.namespace') }}")
    assert value == 7
    assert not t.exact and t.diagnostics == []


def test_env_reads_the_env_prefixed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_REGION", "eu-west")
    value, t = run("{{ envs.region }}")
    assert value == "eu-west"
    assert ("os", "") in t.imports and not t.exact


def test_now_is_an_aware_utc_datetime() -> None:
    before = datetime.now(UTC)
    value, t = run("{{ now() }}")
    assert before <= value <= datetime.now(UTC)
    assert value.utcoffset() == timedelta(0)
    assert ("datetime", "") in t.imports


def test_date_of_now() -> None:
    before = datetime.now(UTC).strftime("%Y-%m-%d")
    value, t = run("{{ now() | date('yyyy-MM-dd') }}")
    assert value in {before, datetime.now(UTC).strftime("%Y-%m-%d")}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", value)
    assert t.exact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ execution.startDate | date(\"yyyy-MM-dd'T'HH:mm:ss\") }}", "2024-03-05T07:08:09"),
        ("{{ trigger.date | date('yyyyMMdd HH:mm') }}", "20240305 07:00"),
        ("{{ execution.startDate | date('EEE, dd MMM yyyy') }}", "Tue, 05 Mar 2024"),
        ("{{ execution.startDate | date('EEEE MMMM yy') }}", "Tuesday March 24"),
        ("{{ execution.startDate | date('hh:mm a') }}", "07:08 AM"),
        ("{{ execution.startDate | date(\"HH 'o''clock' Z\") }}", "07 o'clock +0000"),
        ("{{ execution.startDate | date(\"yyyy '%' MM, DDD\") }}", "2024 % 03, 065"),
        ("{{ execution.startDate | date('HH:mm', timeZone='Europe/Paris') }}", "08:08"),
    ],
)
def test_date_of_run_dates_is_exact(text: str, expected: str) -> None:
    value, t = run(text)
    assert value == expected
    assert t.exact and t.diagnostics == []


@pytest.mark.parametrize(
    ("text", "when", "expected"),
    [
        (
            "{{ inputs.when | date('dd/MM/yyyy HH:mm') }}",
            "2024-03-05T07:08:09Z",
            "05/03/2024 07:08",
        ),
        ("{{ inputs.when | date('dd/MM/yyyy') }}", "2024-03-05", "05/03/2024"),
        (
            "{{ inputs.when | date('dd/MM/yyyy HH:mm') }}",
            datetime(2024, 3, 5, 7, 8),
            "05/03/2024 07:08",
        ),
        ("{{ inputs.when | date('yyyy') }}", date(2024, 3, 5), "2024"),
        (
            "{{ inputs.when | date('yyyy-MM-dd HH:mm:ss.SSSSSS Z') }}",
            "2024-03-05T07:08:09.123456+02:00",
            "2024-03-05 07:08:09.123456 +0200",
        ),
        ("{{ inputs.when | date('HH:mm', timeZone='UTC') }}", "2024-03-05T07:08:09+02:00", "05:08"),
        ("{{ inputs.when | date('d/M/yyyy') }}", "2024-03-05", "05/03/2024"),
        (
            "{{ inputs.when | date('yyyy-MM-dd', existingFormat='dd/MM/yyyy') }}",
            "05/03/2024",
            "2024-03-05",
        ),
        ("{{ inputs.when | date('yyyy-MM-dd', 'dd/MM/yyyy') }}", "05/03/2024", "2024-03-05"),
    ],
)
def test_date_of_other_values(text: str, when: Any, expected: str) -> None:
    value, t = run(text, when=when)
    assert value == expected
    # Text is parsed the ISO way and unpadded fields are padded: reported as approximate.
    assert not t.exact and "P201" not in codes_of(t)


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("{{ inputs.name | upper }}", {"name": "abc"}, "ABC"),
        ("{{ inputs.count | upper }}", {"count": 5}, "5"),
        ("{{ inputs.name | lower }}", {"name": "AbC"}, "abc"),
        ("{{ inputs.name | trim }}", {"name": "  a b \n"}, "a b"),
        ("{{ inputs.name | capitalize }}", {"name": "hELLO wORLD"}, "HELLO wORLD"),
        ("{{ inputs.name | title }}", {"name": "hello world"}, "Hello World"),
        ("{{ inputs.name | replace({'a': 'b', 'b': 'c'}) }}", {"name": "ab"}, "cc"),
        ("{{ inputs.name | replace({'.': inputs.count}) }}", {"name": "1.2", "count": 0}, "102"),
        ("{{ inputs.name | replace('a', 'b') }}", {"name": "aa"}, "bb"),
        ("{{ inputs.items | length }}", {"items": [1, 2, 3]}, 3),
        ("{{ inputs.name | length }}", {"name": "abcd"}, 4),
        ("{{ inputs.items | first }}", {"items": [1, 2, 3]}, 1),
        ("{{ inputs.items | last }}", {"items": [1, 2, 3]}, 3),
        ("{{ inputs.name | first }}", {"name": "xyz"}, "x"),
        ("{{ inputs.items | join(', ') }}", {"items": [1, "a"]}, "1, a"),
        ("{{ inputs.items | join }}", {"items": [1, "a"]}, "1a"),
        ("{{ inputs.name | split(',') }}", {"name": "a,b,c"}, ["a", "b", "c"]),
        ("{{ inputs.name | split('\\\\|') }}", {"name": "a|b"}, ["a", "b"]),
        ("{{ inputs.count | abs }}", {"count": -3}, 3),
        ("{{ inputs.raw | fromJson }}", {"raw": '{"a": [1]}'}, {"a": [1]}),
        ("{{ inputs.cfg | keys }}", {"cfg": {"a": 1, "b": 2}}, ["a", "b"]),
        ("{{ inputs.cfg | values }}", {"cfg": {"a": 1, "b": 2}}, [1, 2]),
        ("{{ inputs.name | upper | replace({'B': '-'}) }}", {"name": "abc"}, "A-C"),
    ],
)
def test_filters(text: str, values: dict[str, Any], expected: Any) -> None:
    value, t = run(text, **values)
    assert value == expected
    assert "P201" not in codes_of(t)


@pytest.mark.parametrize("name", ["toJson", "json"])
def test_to_json_writes_the_same_json_value(name: str) -> None:
    data = {"a": [1, "x", None, True], "é": {"n": 1.5}}
    value, t = run("{{ inputs.cfg | " + name + " }}", cfg=data)
    assert isinstance(value, str) and json.loads(value) == data
    assert ("json", "") in t.imports


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, "anon"),
        ("", "anon"),
        ("  \t", "anon"),
        ([], "anon"),
        ({}, "anon"),
        (0, 0),
        (False, False),
        ("x", "x"),
        ([0], [0]),
    ],
)
def test_default_applies_to_null_and_empty_values(name: Any, expected: Any) -> None:
    value, t = run("{{ inputs.name | default('anon') }}", name=name)
    assert value == expected and type(value) is type(expected)
    assert t.exact


def test_default_on_text() -> None:
    assert run("{{ inputs.name ~ '' | default('anon') }}", name="  ")[0] == "anon"
    assert run("{{ inputs.name ~ '' | default('anon') }}", name="x")[0] == "x"


JSON_BODY = {"data": {"items": [{"name": "n1"}, {"name": "n2"}]}, "ok": True}


@pytest.mark.parametrize("body", [json.dumps(JSON_BODY), JSON_BODY], ids=["text", "data"])
@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (".data.items[0].name", "n1"),
        (".data.items[-1].name", "n2"),
        (".ok", True),
        ('.["data"].items[1]', {"name": "n2"}),
        (".", JSON_BODY),
    ],
)
def test_jq_paths(body: Any, program: str, expected: Any) -> None:
    listed, t = run("{{ outputs.t1.body | jq('" + program + "') }}", t1_result={"body": body})
    assert listed == [expected] and t.exact
    first, t = run(
        "{{ outputs.t1.body | jq('" + program + "') | first }}", t1_result={"body": body}
    )
    assert first == expected and t.exact
    assert not isinstance(tree(t), ast.List)


def test_jq_on_a_literal_map_needs_no_json() -> None:
    value, t = run("{{ {'a': {'b': 2}} | jq('.a.b') | first }}")
    assert value == 2 and ("json", "") not in t.imports


# --- operators, tests, functions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("{{ inputs.name ?? 'anon' }}", {"name": None}, "anon"),
        ("{{ inputs.name ?? 'anon' }}", {"name": ""}, ""),
        ("{{ inputs.count > 2 ? 'big' : 'small' }}", {"count": 3}, "big"),
        ("{{ inputs.count > 2 ? 'big' : 'small' }}", {"count": 1}, "small"),
        ("{{ inputs.count > 2 ? inputs.count ?? 0 : -1 }}", {"count": 4}, 4),
        ("{{ (inputs.count + 2) * 3 }}", {"count": 3}, 15),
        ("{{ inputs.count * 2 + 1 }}", {"count": 3}, 7),
        ("{{ inputs.count - (1 - 2) }}", {"count": 3}, 4),
        ("{{ inputs.count - 1 - 2 }}", {"count": 3}, 0),
        ("{{ -inputs.count }}", {"count": 3}, -3),
        ("{{ -(inputs.count + 1) }}", {"count": 3}, -4),
        ("{{ 7 % 4 }}", {}, 3),
        ("{{ 7.0 / 2 }}", {}, 3.5),
        ("{{ inputs.count > 2 and inputs.name == 'a' }}", {"count": 3, "name": "a"}, True),
        ("{{ inputs.count > 5 or inputs.name != 'a' }}", {"count": 3, "name": "a"}, False),
        ("{{ not (inputs.count > 5) }}", {"count": 3}, True),
        ("{{ not inputs.count == false }}", {"count": 3}, True),
        ("{{ (inputs.count > 1) == true }}", {"count": 3}, True),
        ("{{ inputs.items contains 'a' }}", {"items": ["a"]}, True),
        ("{{ inputs.name contains 'ell' }}", {"name": "hello"}, True),
        ("{{ inputs.count <= 3 }}", {"count": 3}, True),
        ("{{ range(1, 3) }}", {}, [1, 2, 3]),
        ("{{ 1..inputs.count }}", {"count": 3}, [1, 2, 3]),
        ("{{ range(0, 10, 3) }}", {}, [0, 3, 6, 9]),
        ("{{ json(inputs.raw) }}", {"raw": '{"a": 1}'}, {"a": 1}),
        ("{{ fromJson(inputs.raw).a }}", {"raw": '{"a": 1}'}, 1),
        ("{{ max(1, inputs.count) }}", {"count": 3}, 3),
        ("{{ [inputs.count, 'x'] }}", {"count": 3}, [3, "x"]),
        ("{{ {'k': inputs.count} }}", {"count": 3}, {"k": 3}),
        ("{{ 'x' }}", {}, "x"),
        ("{{ null }}", {}, None),
    ],
)
def test_operators_and_functions(text: str, values: dict[str, Any], expected: Any) -> None:
    value, t = run(text, **values)
    assert value == expected and type(value) is type(expected)
    assert t.diagnostics == []


def test_integer_division_is_approximate() -> None:
    value, t = run("{{ inputs.count / 2 }}", count=3)
    assert value == 1.5 and not t.exact


def test_concatenation_converts_only_what_is_not_text() -> None:
    value, t = run("{{ inputs.name ~ '-' ~ inputs.count }}", name="a", count=3)
    assert value == "a-3"
    assert calls(tree(t)) == ["str", "str"]
    assert run("{{ 'n=' ~ (inputs.count + 1) }}", count=1)[0] == "n=2"


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("is defined", None, False),
        ("is defined", 0, True),
        ("is not defined", None, True),
        ("is null", None, True),
        ("is null", "", False),
        ("is not null", "", True),
        ("is empty", None, True),
        ("is empty", " ", True),
        ("is empty", [], True),
        ("is empty", {}, True),
        ("is empty", 0, False),
        ("is empty", False, False),
        ("is empty", "a", False),
        ("is not empty", " ", False),
        ("is not empty", [1], True),
        ("is not empty", 0, True),
        ("is even", 4, True),
        ("is even", 3, False),
        ("is odd", 3, True),
        ("is odd", -3, True),
        ("is not odd", 2, True),
        ("is not even", 2, False),
    ],
)
def test_tests(test: str, value: Any, expected: bool) -> None:
    result, t = run("{{ inputs.name " + test + " }}", name=value)
    assert result is expected
    assert t.exact and t.diagnostics == []


# --- templates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cfg", "expected", "shape"),
    [
        # the inner key is requoted so that the f-string can keep double quotes
        ('x {{ inputs.cfg["my key"] }} "q"', {"my key": 1}, 'x 1 "q"', ast.JoinedStr),
        # a quote in a key that cannot be requoted without an escape, '#', a backslash or a
        # newline inside the braces: Python 3.10 needs a concatenation
        ("{{ inputs.cfg['say \"hi\"'] }} 'q'", {'say "hi"': 1}, "1 'q'", ast.BinOp),
        ('{{ inputs.cfg["it\'s"] }} "x"', {"it's": 1}, '1 "x"', ast.BinOp),
        ("{{ inputs.cfg['#tag'] }}!", {"#tag": 2}, "2!", ast.BinOp),
        ("{{ inputs.cfg['a\\\\b'] }}!", {"a\\b": 3}, "3!", ast.BinOp),
        ("{{ inputs.cfg['a\nb'] }}!", {"a\nb": 4}, "4!", ast.BinOp),
        ("{{ {'a': inputs.cfg.a} }} x", {"a": 1}, "{'a': 1} x", ast.JoinedStr),
        ("{ {{ inputs.cfg.a }} }} {", {"a": 1}, "{ 1 }} {", ast.JoinedStr),
    ],
)
def test_template_quoting(text: str, cfg: dict[str, Any], expected: str, shape: type) -> None:
    value, t = run(text, cfg=cfg)
    assert value == expected
    assert isinstance(tree(t), shape)
    if shape is ast.JoinedStr:  # double quotes outside, as black prefers
        assert render(t.expr).startswith('f"')
    assert t.exact


def test_comments_and_raw_blocks_render_as_pebble_does() -> None:
    value, t = run("a {# note #}b{% raw %}{{ x }}{% endraw %} {{ inputs.name }}", name="n")
    assert value == "a b{{ x }} n"
    assert t.exact and t.diagnostics == []


def test_template_tags_are_kept_as_marked_text() -> None:
    text = "{% if inputs.name %}y{% endif %} {{ inputs.name }}"
    value, t = run(text, name="n")
    assert value == "{% if inputs.name %}y{% endif %} n"
    assert codes_of(t) == ["P201", "P201"] and not t.exact


@pytest.mark.parametrize(
    ("parts", "expected"),
    [((), ""), (("a", "b"), "ab"), (("",), ""), ((Raw(text="{# c #}"),), "")],
)
def test_templates_without_interpolations_are_strings(parts: tuple, expected: str) -> None:
    t = to_python(Template(parts=parts), CTX)
    assert evaluate(t) == expected
    assert isinstance(t.expr, cst.SimpleString)


def test_containers_carry_item_by_item() -> None:
    good = parse_text("{{ inputs.name }}!")[0]
    bad = parse_text("{{ inputs.name | foo }}")[0]
    expr = MapValue(
        entries=(
            MapEntry(key="a", value=ListValue(items=(good, bad))),
            MapEntry(key=1, value=bad),
        )
    )
    t = to_python(expr, CTX)
    assert evaluate(t, name="n") == {
        "a": ["n!", "{{ inputs.name | foo }}"],
        1: "{{ inputs.name | foo }}",
    }
    assert codes_of(t) == ["P201"] and not t.exact


def test_plain_data_is_a_literal() -> None:
    data = {"a": [1, 2.5, None], "when": datetime(2024, 1, 2, tzinfo=UTC)}
    t = to_python(data, CTX)
    assert evaluate(t) == data
    assert t.imports == {("datetime", "")} and t.exact


# --- literals ------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equality that also tells NaN, -0.0, True/1 and list/tuple apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return same(list(a), list(b)) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (datetime, time)):
        return a == b and a.utcoffset() == b.utcoffset() and a.fold == b.fold
    return a == b


def round_trip(value: Any) -> Any:
    node, imports = literal_with_imports(value)
    code = cst.Module([cst.SimpleStatementLine([cst.Expr(node)])]).code
    assert render(literal(value)) == render(node)
    return eval(compile(code, "<literal>", "eval"), namespace(imports, {}))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "it's",
        'say "hi"',
        "both ' and \"",
        "'''triple''' \"\"\"doc\"\"\"",
        "back\\slash \\n \\N{DASH}",
        "{{ x }} {% y %} { }",
        "new\nline\r\n\ttab",
        "\x00\x07\x1b\x7f\x85",
        "\u2028\u2029\ufeff\u200b",
        "ünïcödé ✓ 🎉",
        "\ud800 lone \udfff",
        0,
        -7,
        10**30,
        pytest.param(-(10**5000), id="huge-int"),
        0.1,
        -0.0,
        1e16,
        5e-324,
        -1.5e300,
        float("inf"),
        float("-inf"),
        float("nan"),
        True,
        False,
        None,
        [],
        {},
        [1, [2, {"k": [None]}]],
        {"a": 1, 2: "b", None: [], True: {}},
    ],
)
def test_literal_round_trips(value: Any) -> None:
    assert same(round_trip(value), value)


def test_literal_tuples() -> None:
    assert round_trip((1, (2, 3))) == [1, [2, 3]]
    assert round_trip({(1, "a"): 2}) == {(1, "a"): 2}


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 1, 2),
        datetime(2024, 1, 2, 3, 4, 5, 6),
        datetime(2024, 1, 2, 3, tzinfo=UTC),
        datetime(2024, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(2024, 11, 3, 1, 30, fold=1),
        date(2024, 2, 29),
        time(),
        time(23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2))),
        timedelta(),
        timedelta(days=-1, seconds=5),
        timedelta(days=3, microseconds=7),
    ],
)
def test_literal_dates(value: Any) -> None:
    node, imports = literal_with_imports(value)
    assert ("datetime", "") in imports
    assert same(round_trip(value), value)


def test_literal_zoneinfo() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        paris = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    value = datetime(2024, 7, 1, 12, tzinfo=paris)
    assert literal_with_imports(value)[1] == {("datetime", ""), ("zoneinfo", "")}
    result = round_trip(value)
    assert result == value and result.tzinfo == paris


def test_literal_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        literal(object())


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text())
KEYS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(timezone)
DATES = st.one_of(
    st.datetimes(timezones=st.none() | st.just(UTC) | OFFSETS),
    st.dates(),
    st.times(timezones=st.none() | OFFSETS),
    st.timedeltas(),
)


@settings(max_examples=300)
@given(DATA)
def test_literal_round_trips_any_data(value: Any) -> None:
    assert same(round_trip(value), value)


@settings(max_examples=100)
@given(DATES)
def test_literal_round_trips_any_date(value: Any) -> None:
    assert same(round_trip(value), value)


# --- templates of any text -----------------------------------------------------------------

NASTY_TEXT = st.one_of(
    st.text(st.sampled_from(list("ab '\"\\{}#\n\r\t\x00é✓\u2028%:!=")), max_size=8),
    st.sampled_from(["'''", '"""', "{{", "}}", "{", "}", "\\N{DASH}", "\\", "f'", "{x}"]),
)
KEY_TEXT = st.text(st.sampled_from(list("ab '\"\\#{}\n")), max_size=4)


@st.composite
def templates(draw: st.DrawFn) -> tuple[Template, dict[str, Any], Any]:
    """A template of random text and parameter reads, with the values of the parameters and
    the text Kestra would render."""
    names = {"name": draw(st.text(max_size=5)), "count": draw(st.integers())}
    cfg: dict[str, Any] = {}
    parts: list[Any] = []
    rendered: list[Any] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["text", "param", "key"]))
        if kind == "text":
            text = draw(NASTY_TEXT)
            parts.append(text)
            rendered.append(text)
        elif kind == "param":
            name = draw(st.sampled_from(sorted(names)))
            parts.append(Interpolation(expr=Param(name=name)))
            rendered.append(names[name])
        else:
            key = draw(KEY_TEXT)
            cfg.setdefault(key, draw(st.text(max_size=3) | st.integers()))
            parts.append(Interpolation(expr=Attr(obj=Param(name="cfg"), name=key)))
            rendered.append(cfg[key])
    interpolated = [r for p, r in zip(parts, rendered, strict=True) if not isinstance(p, str)]
    if len(interpolated) == 1 and all(p == "" for p in parts if isinstance(p, str)):
        expected = interpolated[0]  # a lone interpolation keeps its value's type
    else:
        expected = "".join(str(r) for r in rendered)
    return Template(parts=tuple(parts)), {**names, "cfg": cfg}, expected


@settings(max_examples=250)
@given(templates())
def test_templates_of_any_text(case: tuple[Template, dict[str, Any], Any]) -> None:
    template, values, expected = case
    t = to_python(template, CTX)
    assert t.exact and t.diagnostics == [] and t.imports == set()
    body = tree(t)
    assert isinstance(body, (ast.JoinedStr, ast.BinOp, ast.Constant, ast.Name, ast.Subscript))
    assert set(calls(body)) <= {"str"}
    value = evaluate(t, **values)
    assert value == expected and type(value) is type(expected)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # `5[0]` from `5 | first` is odd, not wrong
@settings(max_examples=150)
@given(ir_values())
def test_any_value_translates_to_valid_python(expr: Any) -> None:
    t = to_python(expr, CTX)
    code = cst.Module([cst.SimpleStatementLine([cst.Expr(t.expr)])]).code
    compile(code, "<value>", "exec")
    assert_python310_fstrings(t.expr)
    if "P201" in codes_of(t):
        assert not t.exact


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [("SLACK_URL", "slack-url"), ("token", "token"), ("a__b..c", "a-b-c"), ("__", "secret")],
)
def test_secret_block_name(name: str, slug: str) -> None:
    assert secret_block_name(name) == slug


@given(st.text())
def test_secret_block_names_are_valid_block_names(name: str) -> None:
    slug = secret_block_name(name)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*|secret", slug)
    assert secret_block_name(slug) == slug


@pytest.mark.parametrize(
    ("key", "name"), [("My.Key", "my_key"), ("simple", "simple"), ("a b/c", "a_b_c")]
)
def test_variable_name(key: str, name: str) -> None:
    assert variable_name(key) == name


@given(st.text())
def test_variable_names_match_the_runtime_helper(key: str) -> None:
    # KV set/get steps name variables at run time with this helper (our own fixed code);
    # an expression reading the same key must name the same variable.
    source, _ = runtime.HELPERS["_variable_name"]
    helper_ns: dict[str, Any] = {"re": re}
    exec(source, helper_ns)
    name = variable_name(key)
    assert name == helper_ns["_variable_name"](key)
    assert re.fullmatch(r"[a-z0-9_-]*", name)


@settings(max_examples=300)
@given(st.text())
def test_docstring_holds_any_text(text):
    code = cst.Module([cst.SimpleStatementLine([cst.Expr(docstring(text))])]).code
    (statement,) = ast.parse(code).body
    assert isinstance(statement, ast.Expr)
    assert statement.value.value == text
