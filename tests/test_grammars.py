"""The grammars' JSON copies: current, equal to their YAML, and never trusted when stale."""

from __future__ import annotations

import shutil

import pytest

from grammars import compiled

from .conftest import update_goldens


@pytest.mark.parametrize("source", compiled.SOURCES, ids=lambda p: p.name)
def test_json_copies_are_current(source):
    """Regenerate with `python -m grammars.compiled` after editing a grammar."""
    copy = compiled.compiled_path(source)
    if update_goldens():
        copy.write_text(compiled.compiled_text(source), encoding="utf-8")
    assert copy.read_text(encoding="utf-8") == compiled.compiled_text(
        source
    ), f"{copy.name} is stale: run `python -m grammars.compiled`"


@pytest.mark.parametrize("source", compiled.SOURCES, ids=lambda p: p.name)
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
    shutil.copy(compiled.SOURCES[0], source)
    compiled.compiled_path(source).write_text(
        compiled.compiled_text(source).replace('"node": "log"', '"node": "marker"', 1),
        encoding="utf-8",
    )
    assert "marker" in str(compiled.load(source))
