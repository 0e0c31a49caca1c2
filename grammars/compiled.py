"""The grammars, read through JSON copies of what they compile to.

Parsing a grammar's YAML (pure-Python ruamel) takes tens of milliseconds, and so does lark's
analysis of ``pebble.lark`` into LALR tables: together more than the rest of a one-file
``flowbridge lint``. A JSON copy of the result loads in about a millisecond. Each copy records
a stamp of what it was made from (the CRC-32 of the source, and lark's version for parse
tables) and is used only while that still matches, so editing a grammar never needs a build
step: a stale copy is ignored, which is only slower, and ``tests/test_grammars.py`` fails until
``python -m grammars.compiled`` rewrites it. A checksum rather than a hash: it guards against
edits, not attacks (the copies ship with their sources), and costs no OpenSSL load. The copies
are JSON, never pickle, so that loading one runs no code. lark numbers the states of its tables
in an order that changes from run to run, so the tables are checked by how they parse
(``tests/test_pebble.py``), not by their bytes.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PEBBLE = HERE / "pebble.lark"
YAML_SOURCES = (HERE / "kestra" / "catalogue.yaml", HERE / "prefect" / "surface.yaml")
SOURCES = (*YAML_SOURCES, PEBBLE)
# How the Pebble grammar is compiled (transpile/kestra/pebble_parser.py adds its transformer).
LARK_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}

# JSON has neither tuples nor non-string keys, which lark's tables use: they are tagged.
_TUPLE, _ITEMS = "__tuple__", "__items__"


def compiled_path(source: Path) -> Path:
    """Where the JSON copy of ``source`` lives."""
    return source.with_suffix(".json")


def parse_yaml(text: str) -> Any:
    """The data of a grammar YAML file (the slow path)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def stored_stamp(source: Path) -> str | None:
    """The stamp recorded in the copy of ``source`` (None when there is no readable copy)."""
    try:
        return json.loads(compiled_path(source).read_text(encoding="utf-8")).get("stamp")
    except (OSError, ValueError, AttributeError):
        return None


def source_stamp(source: Path) -> str:
    """The stamp a current copy of ``source`` records."""
    return _stamp(source, source.read_bytes())


def _stamp(source: Path, raw: bytes) -> str:
    stamp = f"crc32 {zlib.crc32(raw):08x}"
    if source.suffix == ".lark":
        import lark

        stamp += f"; lark {lark.__version__}"
    return stamp


def _current(source: Path) -> tuple[bytes, Any]:
    """The source's bytes, and its copy's data when the copy is current (else None)."""
    raw = source.read_bytes()
    try:
        copy = json.loads(compiled_path(source).read_text(encoding="utf-8"), object_hook=_untag)
        if isinstance(copy, dict) and copy.get("stamp") == _stamp(source, raw):
            return raw, copy["data"]
    except (OSError, ValueError):
        pass
    return raw, None


def load(source: Path) -> Any:
    """The data of the grammar YAML file ``source``, from its JSON copy when that is current."""
    raw, data = _current(source)
    return parse_yaml(raw.decode("utf-8")) if data is None else data


def lark_tables(source: Path = PEBBLE) -> tuple[dict, dict] | None:
    """The serialised LALR tables of the lark grammar ``source`` (``data, memo`` as
    ``Lark._load_from_dict`` takes them) when its copy is current, else None."""
    _, data = _current(source)
    return None if data is None else (data["data"], data["memo"])


def _compile(source: Path, text: str) -> Any:
    if source.suffix != ".lark":
        return parse_yaml(text)
    from lark import Lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = Lark(text, **LARK_OPTIONS).memo_serialize([TerminalDef, Rule])
    return {"data": data, "memo": memo}


def _tag(value: Any) -> Any:
    if isinstance(value, tuple):
        return {_TUPLE: [_tag(v) for v in value]}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _tag(v) for k, v in value.items()}
        return {_ITEMS: [[_tag(k), _tag(v)] for k, v in value.items()]}
    return value


def _untag(value: dict) -> Any:
    if len(value) == 1 and _TUPLE in value:
        return tuple(value[_TUPLE])
    if len(value) == 1 and _ITEMS in value:
        return {k: v for k, v in value[_ITEMS]}
    return value


def compiled_text(source: Path) -> str:
    """The JSON copy of ``source`` as it should be stored."""
    raw = source.read_bytes()
    document = {
        "comment": f"Generated from {source.name} by `python -m grammars.compiled`; do not edit.",
        "stamp": _stamp(source, raw),
        "data": _tag(_compile(source, raw.decode("utf-8"))),
    }
    indent = None if source.suffix == ".lark" else 1  # tables: one line, nobody reads them
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"


def main() -> int:
    """Rewrite every JSON copy."""
    for source in SOURCES:
        compiled_path(source).write_text(compiled_text(source), encoding="utf-8")
        print(f"wrote {compiled_path(source).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
