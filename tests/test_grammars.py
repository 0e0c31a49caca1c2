"""The grammars' JSON copies: current, equal to what they are copies of, and never trusted
when stale. (That the stored Pebble tables parse as the grammar does: tests/test_pebble.py.)"""

from __future__ import annotations

import shutil

import pytest

from grammars import compiled

from .conftest import update_goldens


@pytest.mark.parametrize("source", compiled.YAML_SOURCES, ids=lambda p: p.name)
def test_json_copies_are_current(source):
    """Regenerate with `python -m grammars.compiled` after editing a grammar."""
    copy = compiled.compiled_path(source)
    if update_goldens():
        copy.write_text(compiled.compiled_text(source), encoding="utf-8")
    assert copy.read_text(encoding="utf-8") == compiled.compiled_text(
        source
    ), f"{copy.name} is stale: run `python -m grammars.compiled`"


def test_the_parse_tables_were_made_from_this_grammar():
    """Regenerate with `python -m grammars.compiled` after editing grammars/pebble.lark. Only
    the grammar's checksum must match: tables made by another lark version are not used (the
    parser is then analysed from the grammar, as if there were none), so a newer lark on
    another machine is no failure."""
    if update_goldens():
        compiled.main()
    stored = compiled.stored_stamp(compiled.PEBBLE) or ""
    crc = compiled.source_stamp(compiled.PEBBLE).split(";")[0]
    assert stored.split(";")[0] == crc, "pebble.json is stale: run `python -m grammars.compiled`"


@pytest.mark.parametrize("source", compiled.YAML_SOURCES, ids=lambda p: p.name)
def test_a_copy_gives_the_yaml_data_in_its_order(source):
    data = compiled.load(source)
    parsed = compiled.parse_yaml(source.read_text(encoding="utf-8"))
    assert data == parsed
    assert list(data) == list(parsed)  # key order is meaning (the writers' key order)


def test_a_stale_or_broken_copy_is_ignored(tmp_path):
    source = tmp_path / "grammar.yaml"
    source.write_text("a: 1\nb: [x, y]\n", encoding="utf-8")
    assert compiled.load(source) == {"a": 1, "b": ["x", "y"]}  # no copy at all
    compiled.compiled_path(source).write_text(compiled.compiled_text(source), encoding="utf-8")
    source.write_text("a: 2\n", encoding="utf-8")  # edited after the copy was made
    assert compiled.load(source) == {"a": 2}
    compiled.compiled_path(source).write_text("{not json", encoding="utf-8")
    assert compiled.load(source) == {"a": 2}


def test_the_copy_is_what_is_read(tmp_path):
    """A current copy is used as is (it is what makes loading fast)."""
    source = tmp_path / "grammar.yaml"
    shutil.copy(compiled.YAML_SOURCES[0], source)
    compiled.compiled_path(source).write_text(
        compiled.compiled_text(source).replace('"node": "log"', '"node": "marker"', 1),
        encoding="utf-8",
    )
    assert "marker" in str(compiled.load(source))


@pytest.mark.parametrize(
    ("text", "kind", "made"),
    [
        ("row count", "output", "row_count"),
        ("a.b-c", "output", "a.b-c"),
        ("a.b", "task", "a_b"),
        ("_private", "flow", "private"),
        ("été", "output", "t"),
        ("***", "task", "step"),
        ("sales team", "namespace", "sales_team"),
    ],
)
def test_kestra_ids_are_made_from_any_text(text, kind, made):
    """One definition of Kestra's id spellings (grammars/kestra/ids.py): what the reader
    validates against and what readers, passes and writers make ids with."""
    import re

    from grammars.kestra.ids import PATTERNS, is_valid, make_id

    assert make_id(text, kind, "step") == made
    assert is_valid(kind, made) and re.match(PATTERNS[kind], made)
    assert is_valid(kind, text) == (text == made)
    assert make_id(text, kind, "step", taken={made, f"{made}_2"}) == f"{made}_3"
