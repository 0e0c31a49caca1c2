"""Bad Kestra YAML, case by case: each ends in one diagnostic at a position and a documented
exit code, within a time and memory bound, without a traceback.

``CASES`` is the matrix: name, content, code, line, column, exit code. ``WRONG_TYPES`` is
derived from what the reader models (``grammars/kestra/catalogue.yaml`` and the pydantic
models of :mod:`transpile.kestra.schema`): every modelled property gets a value of the wrong
kind (a mapping where a string is expected, a list where a mapping is...) and must end in an
error at that value. Exit codes: 2 for input that cannot be read at all (F00x, K100, K101),
1 for an invalid flow, 0 for what converts with a warning.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from types import UnionType
from typing import Any

import pytest
from pydantic import BaseModel

from grammars.kestra import PropSpec, catalogue
from transpile.kestra import schema
from transpile.kestra.loader import MAX_DEPTH, MAX_INPUT_BYTES
from transpile.kestra.reader import read_kestra_file

from .matrix import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    Case,
    assert_ends_in,
    bounded,
    cli,
    params,
    read_case,
)

LOG = "  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
HEAD = "id: f\nnamespace: n\ntasks:\n"
FLOW = HEAD + LOG  # six lines; the task's properties start in column 5


def _laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + FLOW


def _merges() -> str:
    base = "{" + ", ".join(f"k{i}: v" for i in range(1000)) + "}"
    return f"base: &b {base}\nitems:\n" + "  - <<: *b\n" * 60 + FLOW


def _dag(*tasks: tuple[str, str]) -> str:
    items = "".join(
        f"      - task: {{id: {task}, type: io.kestra.plugin.core.log.Log, message: x}}\n"
        f"        dependsOn: [{depends}]\n"
        for task, depends in tasks
    )
    return HEAD + "  - id: d\n    type: io.kestra.plugin.core.flow.Dag\n    tasks:\n" + items


_TRIGGER = "  - id: t\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n"
_INPUT = "  - id: x\n    type: STRING\n"

CASES = [
    # malformed YAML: K100 at the problem
    Case("unclosed-bracket", "id: f\nnamespace: [n\ntasks:\n", "K100", 3, 6, EXIT_INPUT),
    Case("bad-indentation", FLOW + " - id: b\n", "K100", 7, 2, EXIT_INPUT),
    Case("unclosed-quote", "id: 'f\nnamespace: n\n", "K100", 3, 1, EXIT_INPUT),
    Case("undefined-alias", "id: *nope\nnamespace: n\n", "K100", 1, 5, EXIT_INPUT),
    Case("colon-in-plain-value", "id: f\ntasks: : [\n", "K100", 2, 8, EXIT_INPUT),
    Case("control-character", "id: f\x07\nnamespace: n\n", "K100", 1, 6, EXIT_INPUT),
    Case("huge-integer", FLOW + f"    timeout: {'9' * 5000}\n", "K100", 7, 14, EXIT_INPUT),
    Case("bad-timestamp", FLOW.replace("hi", "2024-13-45"), "K100", 6, 14, EXIT_INPUT),
    # alias bombs: F005 where the limit is crossed
    Case("billion-laughs", _laughs(), "F005", 5, 10, EXIT_INPUT),
    Case("recursive-alias", "id: &a [*a]\nnamespace: n\n", "F005", 1, 9, EXIT_INPUT),
    Case("merge-bomb", _merges(), "F005", 11, 9, EXIT_INPUT),
    Case("collection-key-bomb", "? " * 40 + "x\n", "F005", 1, 75, EXIT_INPUT),
    # nesting 5,000 deep: F005 at the level past the limit, or at the size limit
    Case(
        "flow-sequences-5000",
        "id: f\nnamespace: n\ntasks: " + "[" * 5000 + "]" * 5000 + "\n",
        "F005",
        3,
        8 + MAX_DEPTH,
        EXIT_INPUT,
    ),
    Case(
        "flow-mappings-5000",
        "id: f\nnamespace: n\nvariables: " + "{a: " * 5000 + "x" + "}" * 5000 + "\n",
        "F005",
        3,
        12 + 4 * MAX_DEPTH,
        EXIT_INPUT,
    ),
    Case(
        "block-sequences-5000", HEAD + "- " * 5000 + "x\n", "F005", 4, 2 * MAX_DEPTH - 1, EXIT_INPUT
    ),
    Case(
        "block-mappings-1000",
        "id: f\nnamespace: n\nvariables:\n" + "".join(" " * i + " a:\n" for i in range(1000)),
        "F005",
        3 + MAX_DEPTH,
        MAX_DEPTH + 1,
        EXIT_INPUT,
    ),
    Case(  # 5,000 levels of indentation take 12.5 MB: refused for its size before parsing
        "block-mappings-5000",
        "id: f\nnamespace: n\nvariables:\n" + "".join(" " * i + " a:\n" for i in range(5000)),
        "F005",
        exit=EXIT_INPUT,
    ),
    # binary files
    Case("png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "F002", 1, 1, EXIT_INPUT),
    Case("gzip", b"\x1f\x8b\x08\x00" + bytes(range(128, 256)), "F002", 1, 2, EXIT_INPUT),
    Case("elf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, "K100", 1, 1, EXIT_INPUT),
    # encodings, byte order marks, line ends, tabs
    Case("latin-1", b"id: f\nnamespace: caf\xe9\n", "F002", 2, 15, EXIT_INPUT),
    Case("utf-16", "id: f\n".encode("utf-16"), "F002", 1, 1, EXIT_INPUT),
    Case("bom", b"\xef\xbb\xbf" + FLOW.encode(), None, exit=EXIT_OK),
    Case("bom-then-error", "\ufeffid: f\nid: g\nnamespace: n\n", "K101", 2, 1, EXIT_INPUT),
    Case("crlf", FLOW.replace("\n", "\r\n"), None, exit=EXIT_OK),
    Case("cr", FLOW.replace("\n", "\r"), None, exit=EXIT_OK),
    Case(
        "crlf-then-error",
        (FLOW + "  - id: b\n    type: io.kestra.plugin.core.log.Log\n").replace("\n", "\r\n"),
        "K103",
        7,
        5,
    ),
    Case("tab-indentation", HEAD + "\t- id: a\n", "K100", 4, 1, EXIT_INPUT),
    Case("tab-in-plain-value", FLOW.replace("hi", "a\tb"), "K100", 6, 15, EXIT_INPUT),
    Case("tab-in-quoted-value", FLOW.replace("hi", '"a\tb"'), None, exit=EXIT_OK),
    # duplicate keys: K101 at the second one
    Case(
        "duplicate-flow-key", "id: f\nnamespace: n\nid: g\ntasks:\n" + LOG, "K101", 3, 1, EXIT_INPUT
    ),
    Case("duplicate-task-key", FLOW + "    message: again\n", "K101", 7, 5, EXIT_INPUT),
    Case("duplicate-once-read", FLOW + "    1: a\n    '1': b\n", "K101", 8, 5, EXIT_INPUT),
    # unknown types
    Case(
        "unknown-core-task",
        HEAD + "  - id: a\n    type: io.kestra.plugin.core.log.Lgo\n",
        "K107",
        5,
        11,
    ),
    Case(
        "unknown-core-trigger",
        FLOW + "triggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Shcedule\n",
        "K107",
        9,
        11,
    ),
    Case(
        "unknown-input-type",
        "id: f\nnamespace: n\ninputs:\n  - id: x\n    type: NUMBER\ntasks:\n" + LOG,
        "K110",
        5,
        11,
    ),
    Case(
        "unknown-plugin",
        HEAD + "  - id: a\n    type: com.acme.Thing\n    x: [1]\n",
        None,
        exit=EXIT_OK,
    ),
    Case("unknown-yaml-tag", FLOW.replace("hi", "!secret hi"), "K123", 6, 14, EXIT_OK),
    Case("binary-tag", FLOW.replace("hi", "!!binary aGk="), "K123", 6, 14, EXIT_OK),
    Case("set-tag", FLOW.replace("hi", "!!set {a, b}"), "K123", 6, 14, EXIT_OK),
    # the step graph
    Case("dag-cycle", _dag(("a", "b"), ("b", "a")), "G104", 7, 15),
    Case("dag-self-dependency", _dag(("a", "a")), "G104", 7, 15),
    Case("dag-unknown-dependency", _dag(("a", "zz")), "G102", 7, 15),
    # duplicate ids
    Case("duplicate-task-id", FLOW + LOG, "G101", 7, 5),
    Case(
        "duplicate-nested-task-id",
        FLOW
        + "  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
        + LOG.replace("  ", "      ", 1).replace("\n    ", "\n        "),
        "G101",
        10,
        9,
    ),
    Case(
        "duplicate-input-id",
        "id: f\nnamespace: n\ninputs:\n" + _INPUT * 2 + "tasks:\n" + LOG,
        "K108",
        6,
        5,
    ),
    Case("duplicate-trigger-id", FLOW + "triggers:\n" + _TRIGGER * 2, "K108", 11, 5),
    # missing id, namespace, tasks
    Case("missing-id", "namespace: n\ntasks:\n" + LOG, "K103", 1, 1),
    Case("missing-namespace", "id: f\ntasks:\n" + LOG, "K103", 1, 1),
    Case("missing-tasks", "id: f\nnamespace: n\n", "K103", 1, 1),
    Case(
        "missing-task-id",
        HEAD + "  - type: io.kestra.plugin.core.log.Log\n    message: hi\n",
        "K103",
        4,
        5,
    ),
    Case("missing-task-type", HEAD + "  - id: a\n    message: hi\n", "K103", 4, 5),
    # empty, comment-only, not a flow
    Case("empty", b"", "K122", exit=EXIT_OK),
    Case("comment-only", "# a flow will be here\n# one day\n", "K122", exit=EXIT_OK),
    Case("blank-lines", "\n\n   \n", "K122", exit=EXIT_OK),
    Case("document-markers-only", "---\n...\n---\n", "K122", exit=EXIT_OK),
    Case("null-document", "~\n", "K122", exit=EXIT_OK),
    Case("scalar-document", "just text\n", "K102", 1, 1),
    Case("list-document", "- id: f\n- namespace: n\n", "K102", 1, 1),
    Case("second-document-a-list", FLOW + "---\n- 1\n", "K102", 8, 1),
    # keys and values Kestra reads otherwise
    Case("collection-key", FLOW.replace("hi", "{[a, b]: c}"), "K105", 6, 15),
    Case("date-key", FLOW.replace("hi", "{2024-01-31: c}"), None, exit=EXIT_OK),
    Case("number-property-name", FLOW + "    1: x\n", "K106", 7, 5),
    Case("huge-duration", FLOW + "    timeout: P99999999999999999999D\n", "K116", 7, 14, EXIT_OK),
    # a scalar of another type than the property's is carried verbatim with a warning (a
    # value of another kind altogether is an error: see WRONG_TYPES)
    Case("scalar-of-another-type", FLOW + "    disabled: sometimes\n", "K118", 7, 15, EXIT_OK),
]


def _convert(capsys, path: Path, tmp_path: Path):
    return cli(capsys, "convert", path, "--to", "kestra", "-o", tmp_path / "out.yaml", "-v")


@pytest.mark.parametrize("case", params(CASES))
def test_bad_yaml(case: Case, tmp_path: Path, capsys):
    path, result = read_case(case, tmp_path, ".yaml", read_kestra_file)
    ran = _convert(capsys, path, tmp_path)
    assert ran.code == case.exit, ran.stderr
    if case.code is not None:
        assert f"{path}:{case.line}:{case.col}: {case.code} " in ran.stderr
    assert (tmp_path / "out.yaml").exists() == (case.exit == EXIT_OK and bool(result.flows))


def test_50_mb_file_is_refused_before_it_is_read(tmp_path: Path, capsys):
    path = tmp_path / "huge.yaml"
    line = b"  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hello\n"
    with open(path, "wb") as handle:
        handle.write(HEAD.encode())
        handle.write(line * (50 * 2**20 // len(line)))
    result = bounded(read_kestra_file, path, seconds=1, megabytes=1)
    case = Case("huge", b"", "F005", exit=EXIT_INPUT)
    assert_ends_in(result.diagnostics, case, path)
    assert f"the limit is {MAX_INPUT_BYTES:,}" in result.diagnostics[0].message
    ran = _convert(capsys, path, tmp_path)
    assert ran.code == EXIT_INPUT and f"{path}:1:1: F005 " in ran.stderr


# --- wrong types for every modelled property ---------------------------------------------

# A value of the wrong kind for each kind of value the reader takes.
WRONG = {"scalar": {"wrong": 1}, "list": {"wrong": 1}, "map": ["wrong"], "list|map": "wrong"}
_CONV_KIND = {
    "str": "scalar",
    "int": "scalar",
    "bool": "scalar",
    "duration": "scalar",
    "strings": "list",
    "steps": "list",
    "dag": "list",
    "cases": "map",
    "retry": "map",
    "cache": "map",
    "preconditions": "map",
    "expr": None,  # any YAML value is an expression: no kind is wrong
}
_CHILD = {"id": "c", "type": "io.kestra.plugin.core.log.Log", "message": "x"}
_VALID = {
    "str": "x",
    "expr": "x",
    "strings": ["x"],
    "int": 1,
    "bool": True,
    "duration": "PT1S",
    "steps": [_CHILD],
    "dag": [{"task": _CHILD}],
    "cases": {"a": [_CHILD]},
    "retry": {"type": "constant", "maxAttempts": 2, "interval": "PT1S"},
    "cache": {"enabled": True},
    "preconditions": {"flows": [{"namespace": "n", "flowId": "g"}]},
}


def _kind(annotation: Any) -> str | None:
    """The kind of value a pydantic field annotation takes."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, UnionType):
        kinds = {_kind(a) for a in args if a is not type(None)}
        return "list|map" if kinds == {"list", "map"} else kinds.pop() if len(kinds) == 1 else None
    if origin is typing.Annotated:
        return _kind(args[0])
    if origin is list:
        return "list"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "map"
    if origin is typing.Literal or annotation in (str, int, float, bool):
        return "scalar"
    return None  # Any


def _fields(model: type[BaseModel]) -> dict[str, str]:
    """The YAML keys of a schema model with the kind of value each takes."""
    found = {}
    for name, field in model.model_fields.items():
        kind = _kind(field.annotation)
        if kind is not None:
            found[field.alias or name] = kind
    return found


def _lines(data: dict[str, Any], indent: int, item: bool = False) -> list[str]:
    """``data`` as one ``key: <json>`` line per entry, in order; as a list item when ``item``
    (the first line then starts with ``- ``)."""
    lines = [" " * indent + f"{key}: {json.dumps(value)}\n" for key, value in data.items()]
    if item:
        lines[0] = " " * (indent - 2) + "- " + lines[0].lstrip()
    return lines


def _last(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``data`` with ``key`` set to ``value`` and moved to the end."""
    return {**{k: v for k, v in data.items() if k != key}, key: value}


def _typed(spec: PropSpec) -> bool:
    """Whether some kind of value is wrong for the property (any value is an expression)."""
    return spec.key in ("id", "type") or _CONV_KIND[spec.conv] is not None


def _item_case(name: str, head: str, type_name: str, props: dict[str, PropSpec], key: str):
    """A list item (task or trigger) of ``type_name`` appended to ``head``: every required
    property valid, then ``key`` with a value of the wrong kind, on the last line."""
    data = {"id": "t", "type": type_name}
    data |= {s.key: _VALID[s.conv] for s in props.values() if s.required and s.key not in data}
    kind = "scalar" if key in ("id", "type") else _CONV_KIND[props[key].conv]
    lines = _lines(_last(data, key, WRONG[kind]), 4, item=True)
    line = head.count("\n") + len(lines)
    return Case(name, head + "".join(lines), "K105", line, 4 + len(key) + 3)


def _wrong_task_properties() -> list[Case]:
    cat = catalogue()
    log, sequential = "io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.flow.Sequential"
    # What every task has, on a Log; what every flowable task has, on a Sequential.
    props = {**cat.tasks[log].properties, **cat.common}
    cases = [_item_case(f"tasks.{k}", HEAD, log, props, k) for k in cat.common if _typed(props[k])]
    props = {**cat.tasks[sequential].properties, **cat.flowable}
    cases += [_item_case(f"flowable.{k}", HEAD, sequential, props, k) for k in cat.flowable]
    for type_name, entry in sorted(cat.tasks.items()):
        for key, spec in entry.properties.items():
            if spec.field is not None and _typed(spec):
                name = f"{type_name.rsplit('.', 1)[-1]}.{key}"
                cases.append(_item_case(name, HEAD, type_name, entry.properties, key))
    return cases


def _wrong_trigger_properties() -> list[Case]:
    cat = catalogue()
    head = FLOW + "triggers:\n"
    schedule = "io.kestra.plugin.core.trigger.Schedule"
    props = {**cat.triggers[schedule].properties, **cat.trigger_common}
    cases = [
        _item_case(f"triggers.{k}", head, schedule, props, k)
        for k in cat.trigger_common
        if _typed(props[k])
    ]
    for type_name, entry in sorted(cat.triggers.items()):
        for key, spec in entry.properties.items():
            if _typed(spec):
                name = f"triggers.{type_name.rsplit('.', 1)[-1]}.{key}"
                cases.append(_item_case(name, head, type_name, entry.properties, key))
    return cases


# Sections of a flow validated by a schema model: a valid value, and the properties the
# reader models beyond the model's fields (with the kind of value each takes).
_SECTIONS: dict[str, tuple[type[BaseModel], dict[str, Any], dict[str, str]]] = {
    "inputs": (
        schema.KInput,
        {"id": "x", "type": "STRING"},
        {"values": "list", "itemType": "scalar"},
    ),
    "outputs": (schema.KOutput, {"id": "o", "value": "x"}, {}),
    "retry": (schema.KRetry, {"type": "constant", "maxAttempts": 2, "interval": "PT1S"}, {}),
    "concurrency": (schema.KConcurrency, {"limit": 1}, {}),
}


def _wrong_flow_properties() -> list[Case]:
    cases = []
    for key, kind in _fields(schema.KFlow).items():
        lines = _lines({"id": "f", "namespace": "n"}, 0)
        lines += ["tasks:\n", *LOG.splitlines(keepends=True)]
        lines = [line for line in lines if not line.startswith(f"{key}:")]
        if key == "tasks":
            lines = lines[:2]
        lines += _lines({key: WRONG[kind]}, 0)
        cases.append(Case(f"flow.{key}", "".join(lines), "K105", len(lines), len(key) + 3))
    for section, (model, valid, modelled) in _SECTIONS.items():
        listed = section in ("inputs", "outputs")
        indent = 4 if listed else 2
        for key, kind in {**_fields(model), **modelled}.items():
            lines = _lines(_last(valid, key, WRONG[kind]), indent, item=listed)
            text = FLOW + f"{section}:\n" + "".join(lines)
            line = FLOW.count("\n") + 1 + len(lines)
            cases.append(Case(f"{section}.{key}", text, "K105", line, indent + len(key) + 3))
    return cases


WRONG_TYPES = _wrong_flow_properties() + _wrong_task_properties() + _wrong_trigger_properties()


def test_every_modelled_property_is_in_the_matrix():
    names = {case.name for case in WRONG_TYPES}
    cat = catalogue()
    assert {f"tasks.{key}" for key in cat.common if _typed(cat.common[key])} <= names
    assert {f"triggers.{key}" for key in cat.trigger_common} <= names
    assert {f"flow.{key}" for key in ("id", "namespace", "tasks", "inputs", "triggers")} <= names
    assert len(names) == len(WRONG_TYPES), "two cases share a name"
    assert len(WRONG_TYPES) > 60


@pytest.mark.parametrize("case", params(WRONG_TYPES))
def test_wrong_type(case: Case, tmp_path: Path, capsys):
    path, result = read_case(case, tmp_path, ".yaml", read_kestra_file)
    error = [d for d in result.diagnostics if d.code == case.code][0]
    assert error.is_error
    ran = _convert(capsys, path, tmp_path)
    assert ran.code == EXIT_FINDINGS, ran.stderr
    assert not (tmp_path / "out.yaml").exists()
    # written anyway, the flow keeps the bad value and the run still ends in a diagnostic
    ran = cli(capsys, "convert", path, "--to", "prefect", "-o", tmp_path / "py", "--partial")
    assert ran.code == EXIT_FINDINGS, ran.stderr
