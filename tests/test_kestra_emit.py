"""The YAML emitter: every document reads back as itself, in YAML 1.2 (ruamel) and, for
values, YAML 1.1 (PyYAML, the resolution closest to Kestra's Jackson); the layout is the one
the goldens use."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from transpile.kestra.emit import emit_documents, scalar

yaml11 = pytest.importorskip("yaml")  # PyYAML comes with the test dependencies (prefect)


def load_12(text: str) -> list:
    return list(YAML(typ="safe", pure=True).load_all(io.StringIO(text)))


def load_11(text: str) -> list:
    return list(yaml11.safe_load_all(text))


# Text that stresses quoting: YAML indicators, line breaks of every kind, template markers,
# number and boolean look-alikes, and the whole of Unicode outside surrogates.
tricky = st.sampled_from(
    [
        "yes",
        "No",
        "on",
        "~",
        "null",
        "1:20",
        "0x1F",
        "1e3",
        ".inf",
        "2024-01-02",
        "- a",
        "a: b",
        "a #b",
        "#",
        "{{ x }}",
        "{% raw %}",
        "'",
        '"',
        "---",
        "...",
        "\t",
        "\u2028",
        "\x85",
        "\ufeff",
        "|",
        ">",
        "*a",
        "&a",
        "!t",
        "%",
        "@",
        "`",
        " ",
        "\n",
        "\r\n",
        ": ",
    ]
)
text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.lists(st.one_of(tricky, st.text(max_size=4)), max_size=6).map("".join),
)
keys = text.filter(
    lambda k: k
    not in {
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    }
)
scalars = st.one_of(
    text,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.lists(st.dictionaries(keys, documents, min_size=1, max_size=5), min_size=1, max_size=3))
def test_documents_read_back_as_themselves(docs):
    emitted = emit_documents(docs)
    assert load_12(emitted) == docs
    assert load_11(emitted) == docs


@given(text)
def test_every_string_reads_back_at_any_depth(value):
    doc = {"a": [{"b": value}, value], "c": {"d": [[value]]}}
    assert load_12(emit_documents([doc])) == [doc]


def test_layout_matches_the_goldens():
    doc = {
        "id": "x",
        "tasks": [
            {"id": "a", "script": "print(1)\nprint(2)\n", "args": [["-v", 1]]},
            {"id": "b", "when": "{{ inputs.x }}", "empty": [], "none": None},
        ],
        "labels": {"team": "data", "1": 2},
    }
    assert emit_documents([doc, {"id": "z"}]) == (
        "id: x\n"
        "tasks:\n"
        "  - id: a\n"
        "    script: |\n"
        "      print(1)\n"
        "      print(2)\n"
        "    args:\n"
        "      -   - -v\n"
        "          - 1\n"
        "  - id: b\n"
        '    when: "{{ inputs.x }}"\n'
        "    empty: []\n"
        "    none:\n"
        "labels:\n"
        "  team: data\n"
        "  '1': 2\n"
        "---\n"
        "id: z\n"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain words", "plain words"),
        ("python:3.11-slim", "python:3.11-slim"),
        ("yes", "'yes'"),  # a boolean in YAML 1.1
        ("01:00:00", "'01:00:00'"),  # a sexagesimal integer in YAML 1.1
        ("1.0", "'1.0'"),
        ("1.0.0", "1.0.0"),
        ("it's", "it's"),
        ("a: it's", '"a: it\'s"'),
        ("line\u2028break", '"line\\Lbreak"'),
        ("a\nb  \n", '"a\\nb  \\n"'),  # trailing spaces: a literal block would lose them
        ("a\nb\n\n", "|+\n  a\n  b\n"),
        ("a\nb", "|-\n  a\n  b"),
    ],
)
def test_scalar_styles(value, expected):
    assert scalar(value, 2) == expected


def test_datetimes_are_iso_with_a_t():
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert emit_documents([{"at": when}]) == "at: 2024-01-02T03:04:05Z\n"
