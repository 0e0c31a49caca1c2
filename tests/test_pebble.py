"""Pebble templates ↔ IR: concrete lowering cases, byte-exact text round trips (tricky strings
and the real-flow corpus) and a property over random IR expressions."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ir.expressions import (
    KV,
    Attr,
    BinOp,
    Call,
    Compare,
    Conditional,
    Env,
    ExecutionInfo,
    Filter,
    Index,
    Interpolation,
    Keyword,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Name,
    Negate,
    Not,
    Now,
    Param,
    Raw,
    Secret,
    TaskOutput,
    Template,
    Var,
)
from ir.expressions import (
    Test as IRTest,
)
from transpile.kestra.pebble import (
    PebbleSyntaxError,
    parse_expression,
    parse_text,
    print_expression,
    print_text,
    task_references_in_text,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "kestra"


def lit(value):
    return Literal(value=value)


def name(n):
    return Name(name=n)


A, B, C, D = name("a"), name("b"), name("c"), name("d")

CASES = [
    # references
    ("inputs.x", Param(name="x")),
    ("inputs['x']", Param(name="x")),
    ("inputs.x.y", Attr(obj=Param(name="x"), name="y")),
    ("vars.region", Var(name="region")),
    ("envs.HOME", Env(name="HOME")),
    ("outputs.t.value.k", TaskOutput(task="t", path=("value", "k"))),
    ("outputs['t-1'].value", TaskOutput(task="t-1", path=("value",))),
    ("outputs.t.outputFiles['a.csv']", TaskOutput(task="t", path=("outputFiles", "a.csv"))),
    ("outputs.t", TaskOutput(task="t")),
    ("outputs.t.rows[0]", Index(obj=TaskOutput(task="t", path=("rows",)), index=lit(0))),
    (
        "outputs.t[taskrun.value].value",
        Attr(obj=Index(obj=TaskOutput(task="t"), index=LoopItem()), name="value"),
    ),
    ("taskrun.value", LoopItem(field="value", depth=0)),
    ("taskrun.iteration", LoopItem(field="iteration")),
    ("parent.taskrun.value", LoopItem(depth=1)),
    ("parents[0].taskrun.value", LoopItem(depth=1)),
    ("parents[1].taskrun.iteration", LoopItem(field="iteration", depth=2)),
    ("taskrun.startDate", ExecutionInfo(root="taskrun", path=("startDate",))),
    ("taskrun.attemptsCount", ExecutionInfo(root="taskrun", path=("attemptsCount",))),
    ("parent.outputs", ExecutionInfo(root="parent", path=("outputs",))),
    ("execution.id", ExecutionInfo(root="execution", path=("id",))),
    ("flow.namespace", ExecutionInfo(root="flow", path=("namespace",))),
    ("trigger", ExecutionInfo(root="trigger")),
    ("labels['team-a']", ExecutionInfo(root="labels", path=("team-a",))),
    ("workerGroup", ExecutionInfo(root="workerGroup")),
    ("item.value", Attr(obj=name("item"), name="value")),
    # functions
    ("secret('X')", Secret(name="X")),
    ("secret(inputs.name)", Call(name="secret", args=(Param(name="name"),))),
    ("kv('k')", KV(key="k")),
    ("kv('k', 'ns')", KV(key="k", namespace="ns")),
    ("kv('k', namespace='ns')", KV(key="k", namespace="ns")),
    ("kv(key='k')", KV(key="k")),
    (
        "kv('k', errorOnMissing=false)",
        Call(
            name="kv", args=(lit("k"),), kwargs=(Keyword(name="errorOnMissing", value=lit(False)),)
        ),
    ),
    ("now()", Now()),
    ("now(timeZone='UTC')", Call(name="now", kwargs=(Keyword(name="timeZone", value=lit("UTC")),))),
    ("fromJson(x).a", Attr(obj=Call(name="fromJson", args=(name("x"),)), name="a")),
    ("1..3", Call(name="range", args=(lit(1), lit(3)))),
    # filters and tests
    ("x | upper", Filter(value=name("x"), name="upper")),
    (
        "x | date('yyyy', timeZone='UTC')",
        Filter(
            value=name("x"),
            name="date",
            args=(lit("yyyy"),),
            kwargs=(Keyword(name="timeZone", value=lit("UTC")),),
        ),
    ),
    ("x is defined", IRTest(value=name("x"), name="defined")),
    ("x is not null", IRTest(value=name("x"), name="null", negated=True)),
    ("x is empty", IRTest(value=name("x"), name="empty")),
    # precedence, as Pebble's precedence-climbing parser groups it
    ("a or b and c", BinOp(op="or", left=A, right=BinOp(op="and", left=B, right=C))),
    ("a and b or c", BinOp(op="or", left=BinOp(op="and", left=A, right=B), right=C)),
    ("not a == b", Compare(op="==", left=Not(operand=A), right=B)),
    ("not (a == b)", Not(operand=Compare(op="==", left=A, right=B))),
    ("x ~ y | upper", Filter(value=BinOp(op="~", left=name("x"), right=name("y")), name="upper")),
    ("a + b | abs", BinOp(op="+", left=A, right=Filter(value=B, name="abs"))),
    ("a | f ~ b", BinOp(op="~", left=Filter(value=A, name="f"), right=B)),
    (
        "a ?? b ? c : d",
        Conditional(condition=BinOp(op="??", left=A, right=B), then=C, otherwise=D),
    ),
    ("a ?? b | f", Filter(value=BinOp(op="??", left=A, right=B), name="f")),
    (
        "a ? b : c ? d : a",
        Conditional(condition=A, then=B, otherwise=Conditional(condition=C, then=D, otherwise=A)),
    ),
    ("a - b - c", BinOp(op="-", left=BinOp(op="-", left=A, right=B), right=C)),
    ("a + b * c", BinOp(op="+", left=A, right=BinOp(op="*", left=B, right=C))),
    ("(a + b) * c", BinOp(op="*", left=BinOp(op="+", left=A, right=B), right=C)),
    ("a == b is null", IRTest(value=Compare(op="==", left=A, right=B), name="null")),
    ("a is null == b", Compare(op="==", left=IRTest(value=A, name="null"), right=B)),
    ("a equals 'x'", Compare(op="==", left=A, right=lit("x"))),
    ("a != b", Compare(op="!=", left=A, right=B)),
    (
        "a >= 1 and a < 2",
        BinOp(
            op="and",
            left=Compare(op=">=", left=A, right=lit(1)),
            right=Compare(op="<", left=A, right=lit(2)),
        ),
    ),
    ("a contains 'x'", Compare(op="in", left=lit("x"), right=A)),
    ("a isIn ['x']", Compare(op="in", left=A, right=ListValue(items=(lit("x"),)))),
    ("a not in b", Compare(op="not in", left=A, right=B)),
    ("-x", Negate(operand=name("x"))),
    ("-1", lit(-1)),
    ("+a", A),
    ("a % 2 == 0", Compare(op="==", left=BinOp(op="%", left=A, right=lit(2)), right=lit(0))),
    # literals and quoting
    ("'it\\'s'", lit("it's")),
    ('"say \\"hi\\""', lit('say "hi"')),
    ("'back\\\\slash'", lit("back\\slash")),
    ("'\\n'", lit("\\n")),  # Pebble keeps any other backslash pair as written
    ('"#hash \\" kept"', lit('#hash \\" kept')),  # with a '#' Pebble does not unescape
    ("'}}'", lit("}}")),
    ("12", lit(12)),
    ("12L", lit(12)),
    ("1.5", lit(1.5)),
    ("true", lit(True)),
    ("FALSE", lit(False)),
    ("null", lit(None)),
    ("none", lit(None)),
    ("[a, 'b']", ListValue(items=(A, lit("b")))),
    ("[]", ListValue()),
    (
        "{'k': 1, 2: a}",
        MapValue(entries=(MapEntry(key="k", value=lit(1)), MapEntry(key=2, value=A))),
    ),
    ("x['a b']", Attr(obj=name("x"), name="a b")),
    ("x[0][i]", Index(obj=Index(obj=name("x"), index=lit(0)), index=name("i"))),
]


@pytest.mark.parametrize(("src", "expected"), CASES, ids=[c[0] for c in CASES])
def test_lowering(src, expected):
    expr = parse_expression(src)
    assert expr == expected
    assert parse_expression(print_expression(expr)) == expr


@pytest.mark.parametrize(
    "src",
    ["", "a +", "x.y()", "'open", "{a: 1}", "f(a=1, 2)", '"#{x}"', "a b", "x is not", "1 ? 2"],
)
def test_syntax_errors(src):
    with pytest.raises(PebbleSyntaxError) as info:
        parse_expression(src)
    assert 0 <= info.value.offset <= len(src)


def test_canonical_printing():
    assert print_expression(parse_expression("inputs['x']")) == "inputs.x"
    source = "outputs['a-b']['c.d'].e"
    assert print_expression(parse_expression(source)) == source
    assert print_expression(parse_expression("kv('k','ns')")) == "kv('k', namespace='ns')"
    assert print_expression(parse_expression("parents[2].taskrun.value")) == (
        "parents[2].taskrun.value"
    )
    assert print_expression(parse_expression("(a or b) and not c")) == "(a or b) and not c"
    assert print_expression(lit("it's a \\ \n ünïcode")) == "'it\\'s a \\\\ \n ünïcode'"
    assert print_expression(lit(1e20)) == "100000000000000000000.0"
    assert print_expression(Attr(obj=ListValue(items=(lit(1),)), name="x")) == "([1]).x"
    with pytest.raises(ValueError):
        print_expression(BinOp(op="//", left=A, right=B))


def test_text_parts():
    text = "a {{ inputs.x }} b {% if y %}{{ y | upper }}{% endif %}{# note #}"
    expr, problems = parse_text(text)
    assert problems == []
    assert expr == Template(
        parts=(
            "a ",
            Interpolation(expr=Param(name="x")),
            " b ",
            Raw(text="{% if y %}"),
            Interpolation(expr=Filter(value=name("y"), name="upper")),
            Raw(text="{% endif %}"),
            Raw(text="{# note #}"),
        )
    )
    assert expr.parts[1].source == "{{ inputs.x }}"
    assert parse_text("plain { text }") == (Literal(value="plain { text }"), [])
    assert parse_text("{%raw%}{{ x }}{% endraw %}!")[0] == Template(
        parts=(Raw(text="{%raw%}{{ x }}{% endraw %}"), "!")
    )
    assert parse_text("{{- x -}}")[0] == Template(parts=(Raw(text="{{- x -}}"),))
    assert parse_text('{{ "}}" }}')[0] == Template(parts=(Interpolation(expr=lit("}}")),))
    assert parse_text("{{ {'a': {'b': 1}} }}")[0].parts[0].expr == MapValue(
        entries=(MapEntry(key="a", value=MapValue(entries=(MapEntry(key="b", value=lit(1)),))),)
    )


def test_problems():
    expr, problems = parse_text("x {{ a +  }} y {{ b }}")
    assert expr.parts[1] == Raw(text="{{ a +  }}")
    assert expr.parts[3] == Interpolation(expr=B)
    assert [(p.offset, p.text) for p in problems] == [(2, "{{ a +  }}")]
    expr, problems = parse_text("ok {{ never closed")
    assert expr == Template(parts=("ok ", Raw(text="{{ never closed")))
    assert problems[0].offset == 3 and "unterminated" in problems[0].reason
    assert parse_text("{{}}")[1][0].text == "{{}}"


def test_print_text_without_source():
    assert print_text(Template(parts=("a ", Interpolation(expr=Param(name="x"))))) == (
        "a {{ inputs.x }}"
    )
    assert print_text(Secret(name="S")) == "{{ secret('S') }}"
    assert print_text(Literal(value="as is")) == "as is"


TRICKY = [
    "",
    "{{",
    "}}",
    "{{}}",
    "{{ }}",
    "{",
    "{{ x",
    "x }}",
    '{{ "}}" }}',
    "{{ '}}' }} {{ x }}",
    "{%raw%}{{ x }}{%endraw%}",
    "{% raw %}never ends",
    "{% verbatim %}{{a}}{% endverbatim %}",
    "a\r\nb {{ inputs.x }}\r\n",
    "ünï {{ 'çödé ☃' }} 🎉",
    "{# c",
    "{# {{ x }} #}",
    "{%",
    "{% x",
    "{{- inputs.x -}}",
    "{{ it's }} {{ x }}",
    "{{ foo( }} {{ x }}",
    "{{{ x }}}",
    "{{ a }}}}",
    "${{ github.sha }}",
    "{{ x }}{{ y }}",
    "{{\n  inputs.x\n}}",
    "{%- if a -%}b{%- endif -%}",
    "{{ outputs.t.value | replace({'\\n': ' '}) }}",
    '{{ "#{x}" }}',
    "{{ [1, 2 }}",
]


@pytest.mark.parametrize("text", TRICKY)
def test_text_round_trip_tricky(text):
    expr, _ = parse_text(text)
    assert print_text(expr) == text


@given(st.text(alphabet=st.sampled_from(list("{}%#-'\"\\ ax.()[]|\n\r\u00e9")), max_size=40))
def test_text_round_trip_any(text):
    expr, _ = parse_text(text)
    assert print_text(expr) == text


def test_task_references():
    assert task_references_in_text("{{ outputs.a.value }} {{ outputs['b-1'].uri }}") == {"a", "b-1"}
    assert task_references_in_text("{% if outputs.c.value == 1 %}x{% endif %}") == {"c"}
    assert task_references_in_text("{% for r in outputs.d.rows %}{{ r }}{% endfor %}") == {"d"}
    assert task_references_in_text("{{- outputs.e.value -}}") == {"e"}
    assert task_references_in_text("{{ outputs.f.value ) }}") == {"f"}  # unparseable
    assert task_references_in_text("{% raw %}{{ outputs.g.value }}{% endraw %}") == set()
    assert task_references_in_text("{# outputs.h.value #} outputs.i.value") == set()


def _corpus_strings():
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    strings: list[str] = []

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                collect(key)
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
        elif isinstance(node, str):
            strings.append(node)

    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".yml", ".yaml") or not path.is_file():
            continue
        try:
            for document in yaml.load_all(path.read_text(encoding="utf-8")):
                collect(document)
        except Exception:  # a corpus file that does not load is not ours to judge
            continue
    return strings


def test_corpus_round_trip_and_parse_rate(capsys):
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    strings = _corpus_strings()
    parsed = failed = 0
    for text in strings:
        expr, problems = parse_text(text)
        assert print_text(expr) == text
        if isinstance(expr, Template):
            parsed += sum(isinstance(p, Interpolation) for p in expr.parts)
            failed += sum(p.text.startswith("{{") for p in problems)
    rate = parsed / max(parsed + failed, 1)
    with capsys.disabled():
        print(
            f"\npebble corpus: {len(strings)} strings, {parsed} interpolations parsed, "
            f"{failed} kept raw ({rate:.2%} parsed)"
        )
    assert rate > 0.97


# --- random IR expressions -----------------------------------------------------------------

_RESERVED = {
    "or",
    "and",
    "not",
    "is",
    "contains",
    "equals",
    "in",
    "isIn",
    "isNotIn",
    "true",
    "false",
    "null",
    "none",
    "TRUE",
    "FALSE",
    "NULL",
    "NONE",
}
_ROOTS = {
    "inputs",
    "vars",
    "envs",
    "outputs",
    "execution",
    "flow",
    "trigger",
    "task",
    "taskrun",
    "labels",
    "kestra",
    "parent",
    "parents",
    "workerGroup",
    "workingDir",
    "outputDir",
    "globals",
}
_IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in _RESERVED
)
_KEYS = st.one_of(
    _IDENTIFIERS,
    st.text(alphabet=st.sampled_from(list("ab-. '\"\\}{\n\u00fc\u2603")), max_size=6),
    st.text(max_size=5),
)
_STRINGS = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=st.sampled_from(list("'\"\\}{%#\n\r é☃")), max_size=8),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    _STRINGS,
)
_CONTEXT = st.sampled_from(["execution", "flow", "trigger", "task", "labels", "kestra"])


def _leaves():
    return st.one_of(
        st.builds(Literal, value=_SCALARS),
        st.builds(Param, name=_KEYS),
        st.builds(Var, name=_KEYS),
        st.builds(Env, name=_KEYS),
        st.builds(TaskOutput, task=_KEYS, path=st.lists(_KEYS, max_size=3).map(tuple)),
        st.builds(LoopItem, field=st.sampled_from(["value", "iteration"]), depth=st.integers(0, 3)),
        st.builds(Secret, name=_STRINGS),
        st.builds(KV, key=_STRINGS, namespace=st.none() | _STRINGS),
        st.just(Now()),
        st.builds(ExecutionInfo, root=_CONTEXT, path=st.lists(_KEYS, max_size=2).map(tuple)),
        st.builds(Name, name=_IDENTIFIERS.filter(lambda s: s not in _ROOTS)),
    )


def _not_folded(obj):
    """Static paths fold into these nodes, so accessors on them are not canonical."""
    return not isinstance(obj, (TaskOutput, ExecutionInfo))


def _index(e):
    return not (isinstance(e, Literal) and isinstance(e.value, str))


def _negatable(e):
    return not (
        isinstance(e, Literal)
        and isinstance(e.value, (int, float))
        and not isinstance(e.value, bool)
    )


def _extend(children):
    args = st.lists(children, max_size=2).map(tuple)
    kwargs = st.lists(st.builds(Keyword, name=_IDENTIFIERS, value=children), max_size=2).map(tuple)
    functions = _IDENTIFIERS.filter(lambda s: s not in {"secret", "kv", "now"})
    return st.one_of(
        st.builds(ListValue, items=args),
        st.builds(
            MapValue,
            entries=st.lists(st.builds(MapEntry, key=_SCALARS, value=children), max_size=2).map(
                tuple
            ),
        ),
        st.builds(Attr, obj=children.filter(_not_folded), name=_KEYS),
        st.builds(
            Index,
            obj=children.filter(_not_folded).filter(
                lambda e: not isinstance(e, Name) or e.name != "parents"
            ),
            index=children.filter(_index),
        ),
        st.builds(Call, name=functions, args=args, kwargs=kwargs),
        st.builds(Filter, value=children, name=_IDENTIFIERS, args=args, kwargs=kwargs),
        st.builds(IRTest, value=children, name=_IDENTIFIERS, negated=st.booleans(), args=args),
        st.builds(
            BinOp,
            op=st.sampled_from(["+", "-", "*", "/", "%", "~", "and", "or", "??", "???"]),
            left=children,
            right=children,
        ),
        st.builds(
            Compare,
            op=st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]),
            left=children,
            right=children,
        ),
        st.builds(Not, operand=children),
        st.builds(Negate, operand=children.filter(_negatable)),
        st.builds(Conditional, condition=children, then=children, otherwise=children),
    )


def pebble_expressions():
    """Random IR expressions in canonical form (what :func:`parse_expression` produces)."""
    return st.recursive(_leaves(), _extend, max_leaves=12)


@given(pebble_expressions())
def test_print_parse_round_trip(expr):
    text = print_expression(expr)
    assert parse_expression(text) == expr, text
    interpolation = print_text(Template(parts=("x ", Interpolation(expr=expr), " y")))
    assert parse_text(interpolation)[0] == Template(
        parts=("x ", Interpolation(expr=expr), " y")
    ), interpolation


@functools.cache
def _parsers():
    """The parser loaded from the stored tables, and one analysed from the grammar."""
    from lark import Lark

    from grammars import compiled
    from transpile.kestra import pebble_parser

    if compiled.stored_stamp(compiled.PEBBLE) != compiled.source_stamp(compiled.PEBBLE):
        pytest.skip("the stored tables are for another lark (or stale: see test_grammars)")
    stored = pebble_parser._from_tables()
    assert stored is not None, "grammars/pebble.json does not load: python -m grammars.compiled"
    built = Lark(
        compiled.PEBBLE.read_text(encoding="utf-8"),
        **compiled.LARK_OPTIONS,
        transformer=pebble_parser._Lower(),
    )
    return stored, built


def _outcome(parser, src: str):
    try:
        return parser.parse(src)
    except Exception as error:  # both must fail alike, where they fail
        return type(error).__name__, getattr(error, "pos_in_stream", None)


def test_stored_tables_parse_the_cases_as_the_grammar_does():
    stored, built = _parsers()
    sources = [src for src, _ in CASES] + ["", "a +", "x.y()", "'open", "a b", "1 ? 2", "{a: 1}"]
    for src in sources:
        assert _outcome(stored, src) == _outcome(built, src), src


@settings(max_examples=200)
@given(pebble_expressions())
def test_stored_tables_parse_as_the_grammar_does(expr):
    stored, built = _parsers()
    text = print_expression(expr)
    assert _outcome(stored, text) == _outcome(built, text) == expr, text
