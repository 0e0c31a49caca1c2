"""``python -m ir``: print the IR's JSON Schema (stored as docs/ir.schema.json)."""

from .serde import json_schema_text

print(json_schema_text(), end="")
