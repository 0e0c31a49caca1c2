"""JSON serialisation of the IR, stamped with ``IR_VERSION``, and its JSON Schema."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from .base import Record
from .flow import Flow

IR_VERSION = "1.0"


class IRDocument(Record):
    """The serialised form: the IR version and one flow."""

    ir_version: str  # required, so that it is always written
    flow: Flow


@cache
def _adapter() -> TypeAdapter[IRDocument]:
    return TypeAdapter(IRDocument)


class IRVersionError(ValueError):
    """The JSON was written by an incompatible IR version."""


def dump_flow(flow: Flow, *, indent: int | None = 2) -> str:
    """The flow as JSON text (deterministic: fields in model order)."""
    return (
        _adapter().dump_json(IRDocument(ir_version=IR_VERSION, flow=flow), indent=indent).decode()
    )


def load_flow(text: str | bytes) -> Flow:
    """The flow from :func:`dump_flow` output; rejects another major IR version."""
    data: Any = json.loads(text)
    version = str(data.get("ir_version", "")) if isinstance(data, dict) else ""
    if version.split(".")[0] != IR_VERSION.split(".")[0]:
        raise IRVersionError(f"IR version {version or '?'} is not supported (need {IR_VERSION})")
    return _adapter().validate_python(data).flow


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`IRDocument`."""
    schema = _adapter().json_schema()
    schema["$id"] = f"https://flowbridge.dev/ir/{IR_VERSION}/schema.json"
    return schema


def json_schema_text() -> str:
    """The schema as the text stored in ``docs/ir.schema.json``."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
