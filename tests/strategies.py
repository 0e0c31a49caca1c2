"""Hypothesis strategies for IR flows: the one place tests get random IR from.

``kestra_flows()`` builds flows inside the subset Kestra YAML can express exactly (no Prefect
functions, no step tags, dependencies only inside a Dag, schedules with a cron), so that
IR → YAML → IR must give the same IR back."""

from __future__ import annotations

import string
from datetime import timedelta

from hypothesis import strategies as st

from ir.expressions import (
    KV,
    BinOp,
    Compare,
    Filter,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Not,
    Param,
    Secret,
    TaskOutput,
    Template,
    Var,
)
from ir.flow import Flow, FlowOutput
from ir.parameters import Parameter, ParamType
from ir.policies import ConcurrencyBehavior, ConcurrencyPolicy, RetryKind, RetryPolicy
from ir.steps import (
    AllowFailure,
    Branch,
    Case,
    Commands,
    Dag,
    Fail,
    HttpRequest,
    Log,
    Loop,
    Parallel,
    PluginCall,
    Return,
    Script,
    Sequence,
    Sleep,
    Switch,
    TaskStep,
)
from ir.triggers import Schedule, Webhook

IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
TASK_ID = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,15}", fullmatch=True)
# Any text YAML can carry: no surrogates, no template delimiters inside plain literals.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"), max_size=40)
NASTY = st.sampled_from(
    [
        "it's",
        'say "hi"',
        "back\\slash",
        "'''triple'''",
        '"""doc"""',
        "new\nline",
        "trailing \n",
        "tab\there",
        "ünïcödé ✓",
        "#not a comment",
        ": colon",
        "- dash",
        "@at",
        "null",
        "true",
        "1.5",
        "2024-01-01",
        "",
        " leading",
        "{{ not a template }}",
        "{% if x %}raw{% endif %}",
        "nel\x85line",
        "line\u2028separator",
        "{%endraw%} {{ x }}",
        "multi\nline\nscript\n",
    ]
)
STRINGS = st.one_of(TEXT, NASTY)
SCALARS = st.one_of(
    STRINGS,
    st.integers(-(10**9), 10**9),
    st.booleans(),
    st.none(),
    # Bounded, so that few are whole numbers: those are filtered out (YAML reads them as ints),
    # and hypothesis gives up when it filters too many.
    st.floats(-1e6, 1e6, allow_nan=False, width=32).filter(lambda f: f != int(f)),
)
DURATIONS = st.integers(1, 10**6).map(lambda s: timedelta(seconds=s))


def literals() -> st.SearchStrategy:
    return SCALARS.map(lambda v: Literal(value=v))


def references() -> st.SearchStrategy:
    return st.one_of(
        IDENT.map(lambda n: Param(name=n)),
        IDENT.map(lambda n: Var(name=n)),
        st.builds(
            TaskOutput,
            task=TASK_ID,
            path=st.tuples(st.sampled_from(["value", "vars", "uri", "body"])),
        ),
        st.just(LoopItem()),
        st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True).map(lambda n: Secret(name=n)),
        IDENT.map(lambda k: KV(key=k)),
    )


def expressions() -> st.SearchStrategy:
    leaf = st.one_of(references(), st.integers(0, 99).map(lambda v: Literal(value=v)))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(
                BinOp, op=st.sampled_from(["and", "or", "+", "~", "??"]), left=inner, right=inner
            ),
            st.builds(
                Compare, op=st.sampled_from(["==", "!=", "<", ">="]), left=inner, right=inner
            ),
            st.builds(Not, operand=inner),
            st.builds(Filter, value=inner, name=st.sampled_from(["upper", "lower", "first"])),
        ),
        max_leaves=6,
    )


def templates() -> st.SearchStrategy:
    text = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"),
        min_size=1,
        max_size=12,
    )
    part = st.one_of(text, expressions().map(lambda e: Interpolation(expr=e)))
    return (
        st.lists(part, min_size=1, max_size=4)
        .map(_merge_text)
        .map(lambda parts: Template(parts=tuple(parts)))
    )


def _merge_text(parts: list) -> list:
    merged: list = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if all(isinstance(p, str) for p in merged):  # a template needs an interpolation
        merged.append(Interpolation(expr=Param(name="x")))
    return merged


def values() -> st.SearchStrategy:
    """Property values: literals, templates, and lists/maps of them."""
    scalar = st.one_of(literals(), templates())
    return st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(lambda xs: ListValue(items=tuple(xs))),
            st.dictionaries(IDENT, inner, max_size=3).map(
                lambda d: MapValue(entries=tuple(MapEntry(key=k, value=v) for k, v in d.items()))
            ),
        ),
        max_leaves=5,
    )


def retries() -> st.SearchStrategy:
    return st.one_of(
        st.builds(
            RetryPolicy,
            kind=st.just(RetryKind.CONSTANT),
            max_attempts=st.integers(1, 9),
            interval=DURATIONS,
        ),
        st.builds(
            RetryPolicy,
            kind=st.just(RetryKind.EXPONENTIAL),
            max_attempts=st.integers(1, 9),
            interval=DURATIONS,
            max_interval=DURATIONS,
            factor=st.sampled_from([1.5, 2.0, 3.0]),
        ),
    )


def actions() -> st.SearchStrategy:
    return st.one_of(
        st.builds(Log, message=values(), level=st.sampled_from([None, "INFO", "WARN"])),
        st.builds(Return, value=values()),
        st.builds(Sleep, duration=DURATIONS),
        st.builds(Fail, message=st.one_of(st.none(), templates(), literals())),
        st.builds(
            HttpRequest,
            uri=templates(),
            method=st.sampled_from([None, Literal(value="POST")]),
            body=st.one_of(st.none(), values()),
        ),
        st.builds(
            Script,
            language=st.sampled_from(["python", "shell", "node"]),
            source=st.one_of(literals(), templates()),
            dependencies=st.one_of(
                st.none(),
                st.lists(IDENT.map(lambda s: Literal(value=s)), max_size=2).map(
                    lambda xs: ListValue(items=tuple(xs))
                ),
            ),
        ),
        st.builds(
            Commands,
            language=st.sampled_from(["python", "shell"]),
            commands=st.lists(literals(), min_size=1, max_size=3).map(
                lambda xs: ListValue(items=tuple(xs))
            ),
        ),
        st.builds(
            PluginCall,
            type=st.sampled_from(["io.kestra.plugin.jdbc.postgresql.Query", "com.example.Custom"]),
            properties=st.dictionaries(
                IDENT.filter(lambda k: k not in _COMMON_KEYS), SCALARS, max_size=3
            ),
        ),
    )


_COMMON_KEYS = {
    "id",
    "type",
    "description",
    "retry",
    "timeout",
    "disabled",
    "allowFailure",
    "runIf",
    "taskCache",
}


def _options() -> dict:
    return dict(
        id=TASK_ID,
        description=st.one_of(st.none(), STRINGS),
        retry=st.one_of(st.none(), retries()),
        timeout=st.one_of(st.none(), DURATIONS),
        allow_failure=st.booleans(),
        run_if=st.one_of(st.none(), templates()),
    )


def steps(depth: int = 2) -> st.SearchStrategy:
    task = st.builds(TaskStep, action=actions(), **_options())
    if depth == 0:
        return task
    child = st.lists(steps(depth - 1), min_size=1, max_size=3).map(tuple)
    return st.one_of(
        task,
        task,
        st.builds(Sequence, steps=child, **_options()),
        st.builds(
            Parallel, steps=child, concurrency=st.one_of(st.none(), st.integers(0, 8)), **_options()
        ),
        st.builds(
            Branch,
            condition=templates(),
            then=child,
            otherwise=st.one_of(st.just(()), child),
            **_options(),
        ),
        st.builds(
            Switch,
            value=templates(),
            cases=st.lists(
                st.builds(Case, value=IDENT, steps=child),
                min_size=1,
                max_size=2,
                unique_by=lambda c: c.value,
            ).map(tuple),
            **_options(),
        ),
        st.builds(
            Loop,
            items=st.one_of(templates(), values()),
            steps=child,
            concurrency=st.one_of(st.none(), st.integers(0, 8)),
            **_options(),
        ),
        st.builds(AllowFailure, steps=child, **_options()),
        st.lists(
            st.builds(TaskStep, action=actions(), **_options()),
            min_size=1,
            max_size=3,
            unique_by=lambda s: s.id,
        ).flatmap(_dag),
    )


def _dag(children: list) -> st.SearchStrategy:
    ids = [c.id for c in children]
    linked = [c.replace(depends_on=tuple(ids[:i][-1:])) for i, c in enumerate(children)]
    return st.builds(Dag, steps=st.just(tuple(linked)), **_options())


def parameters() -> st.SearchStrategy:
    return st.builds(
        Parameter,
        name=IDENT,
        type=st.sampled_from([t for t in ParamType if t not in (ParamType.OTHER,)]),
        description=st.one_of(st.none(), STRINGS),
        required=st.booleans(),
        default=st.one_of(st.none(), literals()),
    )


def triggers() -> st.SearchStrategy:
    return st.one_of(
        st.builds(
            Schedule,
            id=TASK_ID,
            cron=st.sampled_from(["0 6 * * *", "@daily", "*/5 * * * *"]),
            timezone=st.sampled_from([None, "Europe/Paris"]),
            disabled=st.booleans(),
        ),
        st.builds(Webhook, id=TASK_ID, key=STRINGS.map(lambda s: Literal(value=s))),
    )


def kestra_flows() -> st.SearchStrategy:
    """Flows Kestra YAML expresses exactly."""
    return st.builds(
        Flow,
        id=st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True),
        namespace=st.from_regex(r"[a-z][a-z0-9.]{0,20}", fullmatch=True),
        description=st.one_of(st.none(), STRINGS),
        labels=st.dictionaries(IDENT, st.text(string.ascii_letters, max_size=8), max_size=2),
        parameters=st.lists(parameters(), max_size=3, unique_by=lambda p: p.name).map(tuple),
        variables=st.dictionaries(IDENT, values(), max_size=2),
        steps=st.lists(steps(), min_size=1, max_size=4).map(tuple),
        on_failure=st.lists(steps(0), max_size=2).map(tuple),
        triggers=st.lists(triggers(), max_size=2, unique_by=lambda t: t.id).map(tuple),
        concurrency=st.one_of(
            st.none(),
            st.builds(
                ConcurrencyPolicy,
                limit=st.integers(1, 10),
                behavior=st.one_of(st.none(), st.sampled_from(list(ConcurrencyBehavior))),
            ),
        ),
        outputs=st.lists(
            st.builds(FlowOutput, id=IDENT, value=templates(), type=st.just("STRING")),
            max_size=2,
            unique_by=lambda o: o.id,
        ).map(tuple),
    )


# --- hostile text: flows whose every text field tries to leave the data it is -----------------
#
# Used by the Prefect writer properties (tests/test_prefect_writer_property.py): the writer must
# turn all of it into string literals or comments, never into code.

PAYLOADS = (
    '"); import os; ("',
    "'); __import__('os').system('pwned'); ('",
    '"""; os.system("pwned"); """',
    "'''; os.system('pwned'); '''",
    'os.system("x")',
    "__import__",
    "exec(input())",
    "lambda: 0",
    "def f(): pass",
    "if __name__ == '__main__':",
    "\nimport os\nos.system('pwned')\n",
    "# comment",
    "\\",
    '\\"',
    "\\'",
    "\\n",
    "\\N{BULLET}",
    "\\u0041",
    "{{ x }}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{% if x %}",
    "{#",
    "{x}",
    "f'{x}'",
    "%s",
    "$(id)",
    "'",
    '"',
    "'''",
    '"""',
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x00",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u202e",
    "\xa0",
    "ünïcödé",
    "日本語",
    "🐍",
    "None",
    "class",
    "import",
    "match",
    "_",
    "print",
    " ",
    "",
)
# Identifiers that mean something to Python, for the places that only take names.
NAMES = ("__import__", "os", "exec", "eval", "print", "class", "None", "_", "self", "flow")


def hostile_text(surrogates: bool = False, max_pieces: int = 4) -> st.SearchStrategy:
    """Text made of injection payloads, quotes, escapes, template delimiters, line breaks of
    every kind and random unicode; with ``surrogates``, lone surrogates too."""
    chars = st.characters(exclude_categories=["Cs"])
    piece = st.one_of(st.sampled_from(PAYLOADS), st.text(chars, max_size=5))
    if surrogates:
        piece = st.one_of(piece, st.characters(categories=["Cs"]))
    return st.one_of(st.sampled_from(PAYLOADS), st.lists(piece, max_size=max_pieces).map("".join))


_FILTER_NAMES = (
    "upper",
    "lower",
    "trim",
    "capitalize",
    "title",
    "replace",
    "default",
    "length",
    "first",
    "last",
    "join",
    "split",
    "abs",
    "json",
    "toJson",
    "fromJson",
    "keys",
    "values",
    "date",
    "jq",
)


def _pebble_name(name: str) -> bool:
    from ir.expressions import Name
    from transpile.kestra.pebble import print_expression

    try:
        print_expression(Name(name=name))
    except ValueError:
        return False
    return True


def hostile_expressions(
    text: st.SearchStrategy, ids: st.SearchStrategy, printable: bool = True
) -> st.SearchStrategy:
    """Expressions of every kind whose keys, attributes and constants are hostile text; task
    outputs read step ids (``ids``, as steps draw theirs) as well as unknown ones. With
    ``printable`` (the default), names, operators and filters are ones Pebble can spell, as in
    any expression read from YAML; without, they are hostile text too."""
    from ir.expressions import (
        Attr,
        Call,
        Conditional,
        Env,
        ExecutionInfo,
        Index,
        Keyword,
        Name,
        Negate,
        Now,
        Raw,
    )
    from ir.expressions import Test as IRTest

    identifiers = st.one_of(st.sampled_from(NAMES), IDENT).filter(_pebble_name)
    names = identifiers if printable else st.one_of(text, identifiers)
    segment = st.one_of(text, st.sampled_from(["value", "vars", "body", "0", "²"]))
    roots = st.sampled_from(["flow", "execution", "task", "trigger", "taskrun"])
    leaf = st.one_of(
        text.map(lambda t: Literal(value=t)),
        names.map(lambda t: Name(name=t)),
        text.map(lambda t: Raw(text=t)),
        text.map(lambda t: Secret(name=t)),
        st.builds(KV, key=text, namespace=st.none() | text),
        text.map(lambda t: Env(name=t)),
        st.builds(
            ExecutionInfo,
            root=roots if printable else roots | text,
            path=st.lists(st.sampled_from(["id", "namespace", "startDate"]) | text, max_size=2).map(
                tuple
            ),
        ),
        st.builds(
            TaskOutput,
            task=ids | text,
            path=st.lists(segment, max_size=2).map(tuple),
        ),
        text.map(lambda t: Var(name=t)),
        text.map(lambda t: Param(name=t)),
        st.just(Now()),
        st.builds(LoopItem, depth=st.integers(0, 2)),
    )
    ops = st.sampled_from(["+", "-", "*", "/", "%", "~", "and", "or", "??", "???"])
    comparisons = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"])
    filter_names = st.sampled_from(_FILTER_NAMES) | identifiers
    if not printable:
        ops, comparisons = ops | st.just("//") | text, comparisons | text
        filter_names = filter_names | text

    def compound(inner: st.SearchStrategy) -> st.SearchStrategy:
        args = st.lists(inner, max_size=2).map(tuple)
        kwargs = st.lists(
            st.builds(
                Keyword,
                name=st.sampled_from(["format", "timeZone", "default"]) | names,
                value=inner,
            ),
            max_size=1,
        ).map(tuple)
        return st.one_of(
            st.builds(Attr, obj=inner, name=text),
            st.builds(Index, obj=inner, index=inner),
            st.builds(
                Call, name=st.sampled_from(["range", "json", "max", "render"]) | names, args=args
            ),
            st.builds(Filter, value=inner, name=filter_names, args=args, kwargs=kwargs),
            st.builds(BinOp, op=ops, left=inner, right=inner),
            st.builds(Compare, op=comparisons, left=inner, right=inner),
            st.builds(Not, operand=inner),
            st.builds(Negate, operand=inner),
            st.builds(
                IRTest,
                value=inner,
                name=st.sampled_from(["empty", "null", "defined"]) | identifiers,
                negated=st.booleans(),
            ),
            st.builds(Conditional, condition=inner, then=inner, otherwise=inner),
        )

    return st.recursive(leaf, compound, max_leaves=3)


def raw_blocks(text: st.SearchStrategy) -> st.SearchStrategy:
    """``{% raw %}…{% endraw %}`` (or verbatim, spaced in several ways) around text that does
    not close the block."""
    import re

    closes = re.compile(r"\{%-?\s*end(raw|verbatim)")
    tags = st.sampled_from(
        [
            ("{% raw %}", "{% endraw %}"),
            ("{%raw%}", "{%endraw%}"),
            ("{%  raw\t%}", "{% endraw  %}"),
            ("{% verbatim %}", "{% endverbatim %}"),
        ]
    )
    body = text.filter(lambda t: closes.search(t) is None)
    return st.builds(lambda tag, t: tag[0] + t + tag[1], tags, body)


def hostile_templates(
    text: st.SearchStrategy, ids: st.SearchStrategy, printable: bool = True
) -> st.SearchStrategy:
    from ir.expressions import Raw

    part = st.one_of(
        text.filter(bool),
        hostile_expressions(text, ids, printable).map(lambda e: Interpolation(expr=e)),
        text.map(lambda t: Raw(text=t)),
        raw_blocks(text).map(lambda t: Raw(text=t)),
    )
    return st.lists(part, min_size=1, max_size=3).map(lambda ps: Template(parts=tuple(ps)))


def hostile_values(
    text: st.SearchStrategy, ids: st.SearchStrategy, printable: bool = True
) -> st.SearchStrategy:
    """Property values: hostile literals, templates and expressions, and lists and maps of them
    (with hostile keys)."""
    scalar = st.one_of(
        text.map(lambda t: Literal(value=t)),
        hostile_templates(text, ids, printable),
        hostile_expressions(text, ids, printable),
    )
    return st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=2).map(lambda xs: ListValue(items=tuple(xs))),
            st.lists(st.tuples(text, inner), max_size=2).map(
                lambda kv: MapValue(entries=tuple(MapEntry(key=k, value=v) for k, v in kv))
            ),
        ),
        max_leaves=3,
    )


# The user's own Python around ``{{ }}`` (one interpolation between consecutive pieces): only
# the interpolated values are hostile.
PYTHON_SKELETONS = (
    ("x = ", '\ny = "', "\"\nz = '''", "'''\nprint(x, y, z)\n"),
    ("values = [", ", '", "']\nprint(values)\n"),
    ('"""Docstring."""\nfor item in [', "]:\n    print(item, r'", "')\n"),
)


def hostile_python_scripts(text: st.SearchStrategy, ids: st.SearchStrategy) -> st.SearchStrategy:
    """A python Script: a fixed, valid program whose ``{{ }}`` interpolate hostile values (and
    sometimes a ``{% raw %}`` block inside a string literal)."""
    from ir.expressions import Raw
    from ir.steps import Script

    def build(skeleton: tuple[str, ...], expressions: list, raw: bool) -> Script:
        parts: list = []
        for before, expr in zip(skeleton[:-1], expressions, strict=False):
            parts += [before, Interpolation(expr=expr)]
        parts.append(skeleton[-1])
        if raw:
            parts += ["raw = '", Raw(text="{% raw %}{{ x }} {%- if -%}{% endraw %}"), "'\n"]
        return Script(language="python", source=Template(parts=tuple(parts)))

    expressions = hostile_expressions(text, ids)
    return st.builds(
        build,
        st.sampled_from(PYTHON_SKELETONS),
        st.lists(expressions, min_size=3, max_size=3),
        st.booleans(),
    )


def _plugin_data(text: st.SearchStrategy) -> st.SearchStrategy:
    scalar = st.one_of(text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
    return st.recursive(
        scalar,
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(text, inner, max_size=2),
        max_leaves=3,
    )


def hostile_actions(text: st.SearchStrategy, ids: st.SearchStrategy) -> st.SearchStrategy:
    from ir.steps import Download, KVGet, KVSet, Outputs

    value = hostile_values(text, ids)
    maybe = st.none() | value
    literal_text = text.map(lambda t: Literal(value=t))
    commands = st.lists(literal_text, min_size=1, max_size=2).map(
        lambda xs: ListValue(items=tuple(xs))
    )
    return st.one_of(
        st.builds(
            Log,
            message=value,
            level=st.none() | st.sampled_from(["INFO", "debug", "WARN", "ERROR", "TRACE"]) | text,
        ),
        st.builds(Log, message=literal_text),
        st.builds(Return, value=maybe),
        st.builds(Outputs, values=maybe),
        st.builds(Fail, message=maybe, condition=maybe),
        st.builds(
            Commands,
            language=st.sampled_from(["shell", "python", "bash"]) | text,
            commands=commands | value,
            env=maybe,
            container_image=maybe,
        ),
        st.builds(
            Script,
            language=(st.sampled_from(["shell", "node", "r"]) | text).filter(
                lambda s: s != "python"
            ),
            source=value,
        ),
        hostile_python_scripts(text, ids),
        st.builds(HttpRequest, uri=value, method=maybe, headers=maybe, body=maybe),
        st.builds(Download, uri=value, headers=maybe),
        st.builds(KVSet, key=value, value=value, namespace=maybe),
        st.builds(KVGet, key=value, namespace=maybe),
        st.builds(
            PluginCall,
            type=text | st.just("io.kestra.plugin.scripts.python.Commands"),
            properties=st.dictionaries(text, _plugin_data(text), max_size=2),
        ),
        st.builds(Sleep, duration=DURATIONS),
    )


def hostile_steps(
    text: st.SearchStrategy, ids: st.SearchStrategy, depth: int = 1
) -> st.SearchStrategy:
    from ir.steps import LoopUntil, Pause, SubflowCall, WorkingDirectory

    value = hostile_values(text, ids)
    step_id = ids
    options = dict(
        id=step_id,
        description=st.none() | text,
        retry=st.none() | retries(),
        timeout=st.none() | DURATIONS,
        allow_failure=st.booleans(),
        disabled=st.sampled_from([False, False, False, True]),
        run_if=st.none() | value,
        tags=st.lists(text, max_size=2).map(tuple),
        depends_on=st.lists(step_id, max_size=2).map(tuple),
    )
    task = st.builds(TaskStep, action=hostile_actions(text, ids), **options)
    if depth == 0:
        return task
    subflow = st.builds(
        SubflowCall,
        namespace=value,
        flow_id=value,
        inputs=st.none() | value,
        wait=st.none() | st.booleans(),
        **options,
    )
    child = st.lists(hostile_steps(text, ids, depth - 1), min_size=1, max_size=2).map(tuple)
    handler = st.just(()) | st.lists(hostile_steps(text, ids, 0), min_size=1, max_size=1).map(tuple)
    handlers = dict(on_failure=handler, finally_steps=handler, **options)
    case_value = st.one_of(text, st.integers(), st.booleans())
    return st.one_of(
        task,
        task,
        subflow,
        st.builds(Sequence, steps=child, **handlers),
        st.builds(Parallel, steps=child, concurrency=st.none() | st.integers(0, 4), **handlers),
        st.builds(Branch, condition=value, then=child, otherwise=st.just(()) | child, **handlers),
        st.builds(
            Switch,
            value=value,
            cases=st.lists(st.builds(Case, value=case_value, steps=child), max_size=2).map(tuple),
            default=st.just(()) | child,
            **handlers,
        ),
        st.builds(
            Loop, items=value, steps=child, concurrency=st.none() | st.integers(0, 4), **handlers
        ),
        st.builds(LoopUntil, condition=value, steps=child, **handlers),
        st.builds(AllowFailure, steps=child, **handlers),
        st.builds(Dag, steps=child, **handlers),
        st.builds(WorkingDirectory, steps=child, **handlers),
        st.builds(Pause, duration=st.none() | DURATIONS, steps=st.just(()) | child, **handlers),
    )


def constant_values(text: st.SearchStrategy) -> st.SearchStrategy:
    """Plain data of hostile text: literals, and lists and maps of them."""
    return st.recursive(
        text.map(lambda t: Literal(value=t)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=2).map(lambda xs: ListValue(items=tuple(xs))),
            st.lists(st.tuples(text, inner), max_size=2).map(
                lambda kv: MapValue(entries=tuple(MapEntry(key=k, value=v) for k, v in kv))
            ),
        ),
        max_leaves=3,
    )


def hostile_parameters(text: st.SearchStrategy, ids: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(
        Parameter,
        name=text,
        type=st.sampled_from(list(ParamType)),
        type_name=st.none() | text,
        description=st.none() | text,
        required=st.booleans(),
        default=st.none() | constant_values(text) | hostile_expressions(text, ids),
        values=st.none() | st.lists(text, min_size=1, max_size=2).map(tuple),
        item_type=st.none() | st.sampled_from(list(ParamType)),
    )


def hostile_flows(
    text: st.SearchStrategy | None = None, ids: st.SearchStrategy | None = None
) -> st.SearchStrategy:
    """Flows whose every text field (ids, descriptions, labels, parameters and their defaults,
    variables, messages, commands, the values of python scripts, plugin properties, outputs,
    triggers) is hostile. ``ids`` draws the flow and step ids (they also end up in comments;
    payloads repeat, so that steps share ids and read each other's outputs), ``text`` every
    other text."""
    text = text if text is not None else hostile_text()
    ids = ids if ids is not None else hostile_text()
    value = hostile_values(text, ids)
    schedule = st.builds(
        Schedule,
        id=text,
        cron=st.sampled_from(["@daily", "0 6 * * *"]) | text,
        timezone=st.none() | text,
        inputs=st.none() | value,
    )
    output = st.builds(
        FlowOutput,
        id=text,
        value=value,
        type=st.none() | st.sampled_from(["STRING", "INT", "FLOAT", "BOOLEAN", "JSON"]) | text,
        description=st.none() | text,
    )
    return st.builds(
        Flow,
        id=ids,
        namespace=st.none() | ids,
        description=st.none() | text,
        labels=st.dictionaries(text, text | text.map(lambda t: Literal(value=t)), max_size=2),
        parameters=st.lists(hostile_parameters(text, ids), max_size=2).map(tuple),
        variables=st.dictionaries(text, value, max_size=2),
        steps=st.lists(hostile_steps(text, ids), min_size=1, max_size=3).map(tuple),
        on_failure=st.lists(hostile_steps(text, ids, 0), max_size=1).map(tuple),
        finally_steps=st.lists(hostile_steps(text, ids, 0), max_size=1).map(tuple),
        triggers=st.lists(schedule | st.builds(Webhook, id=text, key=value), max_size=2).map(tuple),
        retry=st.none() | retries(),
        outputs=st.lists(output, max_size=2).map(tuple),
    )
