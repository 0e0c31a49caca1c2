"""Fuzzing both readers and both writers (the targets: tests/hostile/fuzz_targets.py):
readers never raise on any input (they return diagnostics), writers produce text that parses
(YAML) or compiles (Python) and reads back to as many flows as were written.

``TARGETS`` pairs each target with the strategy of its inputs. Under
``make test`` every target runs as a property with the derandomised CI profile
(tests/conftest.py); ``make fuzz`` runs the same targets for a bounded time with the ``fuzz``
profile (tests/hostile/fuzz.py), and the atheris harness (tests/hostile/fuzz_atheris.py) feeds
the readers and the pipelines coverage-guided bytes.

Inputs: arbitrary text and bytes; Kestra-shaped documents of random structure (keys, types and
values from Kestra's vocabulary, YAML anchors, tags and merge keys); the repository's own YAML
and Python fixtures with random edits; modules the Prefect writer wrote, edited; and hostile IR
flows (tests/strategies.py) for the writers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ir.expressions import Literal
from ir.flow import Flow
from ir.steps import Log, TaskStep
from transpile.prefect.writer import write_prefect

from ..strategies import PAYLOADS, hostile_flows, hostile_text
from .fuzz_targets import (
    MAX_INPUT,
    seeds,
    target_kestra_reader,
    target_kestra_writer,
    target_prefect_reader,
    target_prefect_writer,
)

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# --- inputs ----------------------------------------------------------------------------------


YAML_PIECES = (
    "\n",
    ": ",
    "- ",
    "  ",
    "\t",
    "'",
    '"',
    "|",
    ">-",
    "#",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!python/object:os.system ",
    "!custom ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "~",
    "null",
    "yes",
    "0x1F",
    "1e400",
    ".nan",
    "2024-13-45",
    "PT-5S",
    "{{ inputs.x }}",
    "{{ outputs['a'].value | upper }}",
    "{% raw %}",
    "{% endraw %}",
    "{% if x %}",
    "{#",
    "type: io.kestra.plugin.core.flow.If",
    "type: io.kestra.plugin.core.flow.ForEach",
    "type: io.kestra.plugin.scripts.python.Script",
    "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n",
    "\x00",
    "\ufeff",
    "\u2028",
    "\x85",
)
PYTHON_PIECES = (
    "\n",
    "\n    ",
    "    ",
    "\t",
    ":",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "*",
    "**",
    ".",
    "'",
    '"',
    '"""',
    "f'{",
    "}'",
    "\\",
    "#",
    ";",
    "@flow",
    "@task",
    "@flow(name='x', retries=2)\n",
    "@task(retries=-1, retry_delay_seconds=[1, 'x'])\n",
    "def f(x=1, *a, **k):\n    ",
    "async def ",
    "await ",
    "lambda: ",
    "yield ",
    "return ",
    "global x\n",
    "nonlocal x\n",
    "class C:\n    ",
    "with x as y:\n    ",
    "try:\n    pass\nexcept Exception:\n    ",
    "if x:\n    ",
    "for i in range(3):\n    ",
    "while True:\n    ",
    "match x:\n    case 1:\n        ",
    ".submit(",
    ".map(",
    ".result()",
    "wait_for=[",
    "get_run_logger().info(",
    "print(",
    "import prefect\n",
    "from prefect import flow as f, task as t\n",
    "from . import x\n",
    "f.serve(name='d', cron='* * * * *')\n",
    "\x00",
    "\ufeff",
    "\u2028",
    "\x0c",
)
EDIT_KINDS = ("insert", "delete", "duplicate", "replace", "truncate")


def apply_edits(seed: str, edits: list[tuple[str, float, object]]) -> str:
    """``seed`` with each edit applied at a relative position: insert or replace a piece,
    delete or duplicate a slice, truncate."""
    text = seed
    for kind, where, what in edits:
        at = int(where * len(text))
        if kind == "insert":
            text = text[:at] + str(what) + text[at:]
        elif kind == "replace":
            text = text[:at] + str(what) + text[at + len(str(what)) :]
        elif kind == "delete":
            text = text[:at] + text[at + int(what) :]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + int(what)] * 2 + text[at + int(what) :]
        else:
            text = text[:at]
        text = text[:MAX_INPUT]
    return text


def edited(seed_texts: st.SearchStrategy[str], pieces: tuple[str, ...]) -> st.SearchStrategy:
    piece = st.one_of(st.sampled_from(pieces), hostile_text(max_pieces=2))
    edit = st.tuples(
        st.sampled_from(EDIT_KINDS),
        st.floats(0, 1),
        st.one_of(piece, st.integers(1, 200)),
    ).map(lambda e: e if e[0] in ("insert", "replace") or isinstance(e[2], int) else e[:2] + (7,))
    return st.builds(apply_edits, seed_texts, st.lists(edit, min_size=1, max_size=5))


def _kestra_vocabulary() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Flow keys, task and trigger keys, and type-like values, from where flowbridge defines
    them: the writer's flow key order, the catalogue and the schema of Kestra's model."""
    from typing import get_args

    from grammars.kestra import catalogue
    from transpile.kestra import schema
    from transpile.kestra.writer import FLOW_KEY_ORDER

    cat = catalogue()
    flow = tuple(k for k in FLOW_KEY_ORDER if k not in ("id", "namespace"))
    entries = [*cat.tasks.values(), *cat.triggers.values()]
    task = {key for entry in entries for key in entry.properties}
    task |= {*cat.common, *cat.flowable, *cat.trigger_common, "dependsOn"}  # dependsOn: Dag items
    for model in (schema.KInput, schema.KRetry, schema.KConcurrency, schema.KOutput):
        task |= {field.alias or name for name, field in model.model_fields.items()}
    retry_types = get_args(schema.KRetry.model_fields["type"].annotation)
    types = (*sorted(cat.tasks), *sorted(cat.triggers), *sorted(cat.input_types), *retry_types)
    return flow, tuple(sorted(task - set(flow) - {"id", "type"})), (*types, "com.example.Unknown")


FLOW_KEYS, TASK_KEYS, KESTRA_TYPES = _kestra_vocabulary()
KESTRA_KEYS = ("id", "type", *FLOW_KEYS, *TASK_KEYS)


def kestra_documents() -> st.SearchStrategy[str]:
    """YAML text of random Kestra-shaped documents: Kestra's keys, types and values (Pebble
    included), nested at random; sometimes with anchors, tags or several documents."""
    scalar = st.one_of(
        st.sampled_from(KESTRA_TYPES),
        st.sampled_from(PAYLOADS),
        hostile_text(max_pieces=2),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.booleans(),
        st.none(),
    )
    data = st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(KESTRA_KEYS) | hostile_text(max_pieces=1), inner, max_size=4
            ),
        ),
        max_leaves=12,
    )
    task = st.fixed_dictionaries(
        {"id": st.sampled_from(["a", "b", "c"]), "type": st.sampled_from(KESTRA_TYPES)},
        optional={key: data for key in TASK_KEYS},
    )
    flow = st.fixed_dictionaries(
        {"id": st.sampled_from(["f", "g"]), "namespace": st.just("n")},
        optional={
            "tasks": st.lists(task, max_size=3),
            **{key: data for key in FLOW_KEYS if key != "tasks"},
        },
    )
    return st.builds(
        _dump,
        st.lists(flow | data, min_size=1, max_size=2),
        st.lists(st.tuples(st.floats(0, 1), st.sampled_from(YAML_PIECES)), max_size=2),
    )


def _dump(documents: list, inserts: list[tuple[float, str]]) -> str:
    from io import StringIO

    stream = StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.dump_all(documents, stream)
    return apply_edits(stream.getvalue(), [("insert", at, piece) for at, piece in inserts])


@st.composite
def written_modules(draw) -> str:
    """Modules the Prefect writer wrote for hostile flows, sometimes edited."""
    code = write_prefect(draw(hostile_flows())).code
    edits = draw(
        st.lists(
            st.tuples(st.sampled_from(EDIT_KINDS), st.floats(0, 1), st.sampled_from(PYTHON_PIECES)),
            max_size=3,
        )
    )
    return apply_edits(
        code, [(k, at, p if k in ("insert", "replace") else 9) for k, at, p in edits]
    )


KESTRA_SEEDS = st.deferred(lambda: st.sampled_from(seeds()["kestra"]))
PYTHON_SEEDS = st.deferred(lambda: st.sampled_from(seeds()["prefect"]))

KESTRA_INPUTS = st.one_of(
    st.text(),
    st.binary(),
    kestra_documents(),
    edited(KESTRA_SEEDS, YAML_PIECES),
    KESTRA_SEEDS.map(lambda t: t.encode("utf-16")),
    edited(KESTRA_SEEDS, YAML_PIECES).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
PREFECT_INPUTS = st.one_of(
    st.text(),
    st.binary(),
    st.lists(st.sampled_from(PYTHON_PIECES) | st.from_regex(r"[a-z_]{1,6}", fullmatch=True)).map(
        "".join
    ),
    edited(PYTHON_SEEDS, PYTHON_PIECES),
    written_modules(),
)
HOSTILE_FLOWS = hostile_flows(text=hostile_text(surrogates=True))

TARGETS: dict[str, tuple[st.SearchStrategy, Callable[[object], None]]] = {
    "kestra_reader": (KESTRA_INPUTS, target_kestra_reader),
    "prefect_reader": (PREFECT_INPUTS, target_prefect_reader),
    "kestra_writer": (HOSTILE_FLOWS, target_kestra_writer),
    "prefect_writer": (HOSTILE_FLOWS, target_prefect_writer),
}


# --- the CI profile: each target as a property ---------------------------------------------------

CI_EXAMPLES = 40  # per target under the ci profile; `make fuzz` runs them for minutes


@settings(max_examples=CI_EXAMPLES)
@given(KESTRA_INPUTS)
@example(b"\xff\xfe")
@example("a: &a [*a]")
@example("id: f\nnamespace: n\ntasks: []\n---\n")
def test_kestra_reader_never_raises(source):
    target_kestra_reader(source)


@settings(max_examples=CI_EXAMPLES)
@given(PREFECT_INPUTS)
@example("(" * 5000)
@example("\U00013d71")  # a name libcst refuses: CSTValidationError escaped the reader
@example('""t"tw"')  # libcst reads a t-string: CSTLogicError escaped the reader
@example(  # a repeated dict key crashed the Kestra writer (KeyError)
    "from prefect import flow, get_run_logger\n\n\n@flow\ndef f():\n"
    '    get_run_logger().info({"a": {"b": 1}, "a": {}})\n'
)
@example(b"\xef\xbb\xbf\xff")
def test_prefect_reader_never_raises(source):
    target_prefect_reader(source)


@settings(max_examples=CI_EXAMPLES)
@given(HOSTILE_FLOWS)
@example(  # a label whose value is an expression crashed the Kestra writer (TypeError)
    Flow(
        id="f",
        labels={"k": Literal(value="v")},
        steps=(TaskStep(id="a", action=Log(message=Literal(value="m"))),),
    )
)
def test_kestra_writer_output_reads_back(flow):
    target_kestra_writer(flow)


@settings(max_examples=CI_EXAMPLES)
@given(HOSTILE_FLOWS)
def test_prefect_writer_output_reads_back(flow):
    target_prefect_writer(flow)


def test_seeds_are_found():
    assert len(seeds()["kestra"]) >= 20 and len(seeds()["prefect"]) >= 20
