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
    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: f != int(f)),
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
    linked = [
        c.model_copy(update={"depends_on": tuple(ids[:i][-1:])}) for i, c in enumerate(children)
    ]
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
