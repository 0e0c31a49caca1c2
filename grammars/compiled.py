"""The grammars' YAML files, read through a JSON copy of their data.

Parsing the YAML (pure-Python ruamel) takes tens of milliseconds, more than the rest of a
one-file ``flowbridge lint``; the JSON copy loads in well under one. Each copy records the
CRC-32 of the YAML it was made from, and is used only while that still matches, so editing a
grammar never needs a build step: a stale copy is ignored (and ``tests/test_grammars.py``
fails until ``python -m grammars.compiled`` rewrites it). A checksum rather than a hash: it
guards against edits, not attacks (both files ship together), and costs no OpenSSL load.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SOURCES = (HERE / "kestra" / "catalogue.yaml", HERE / "prefect" / "surface.yaml")


def compiled_path(source: Path) -> Path:
    """Where the JSON copy of ``source`` lives."""
    return source.with_suffix(".json")


def parse_yaml(text: str) -> Any:
    """The data of a grammar YAML file (the slow path)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def load(source: Path) -> Any:
    """The data of the grammar file ``source``, from its JSON copy when that is current."""
    raw = source.read_bytes()
    try:
        copy = json.loads(compiled_path(source).read_text(encoding="utf-8"))
        if isinstance(copy, dict) and copy.get("source_crc32") == zlib.crc32(raw):
            return copy["data"]
    except (OSError, ValueError):
        pass
    return parse_yaml(raw.decode("utf-8"))


def compiled_text(source: Path) -> str:
    """The JSON copy of ``source`` as it should be stored."""
    raw = source.read_bytes()
    document = {
        "comment": f"Generated from {source.name} by `python -m grammars.compiled`; do not edit.",
        "source_crc32": zlib.crc32(raw),
        "data": parse_yaml(raw.decode("utf-8")),
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    """Rewrite every JSON copy."""
    for source in SOURCES:
        compiled_path(source).write_text(compiled_text(source), encoding="utf-8")
        print(f"wrote {compiled_path(source).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
