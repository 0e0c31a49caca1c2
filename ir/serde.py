"""JSON serialisation of the IR, stamped with ``IR_VERSION``, and its JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from .flow import Flow

IR_VERSION = "1.0"


class IRDocument(BaseModel):
    """The serialised form: the IR version and one flow."""

    model_config = ConfigDict(extra="forbid")

    ir_version: str = IR_VERSION
    flow: Flow


class IRVersionError(ValueError):
    """The JSON was written by an incompatible IR version."""


def dump_flow(flow: Flow, *, indent: int | None = 2) -> str:
    """The flow as JSON text (deterministic: fields in model order)."""
    return IRDocument(flow=flow).model_dump_json(indent=indent)


def load_flow(text: str | bytes) -> Flow:
    """The flow from :func:`dump_flow` output; rejects another major IR version."""
    data: Any = json.loads(text)
    version = str(data.get("ir_version", "")) if isinstance(data, dict) else ""
    if version.split(".")[0] != IR_VERSION.split(".")[0]:
        raise IRVersionError(f"IR version {version or '?'} is not supported (need {IR_VERSION})")
    return IRDocument.model_validate(data).flow


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`IRDocument`."""
    schema = IRDocument.model_json_schema()
    schema["$id"] = f"https://flowbridge.dev/ir/{IR_VERSION}/schema.json"
    return schema


def json_schema_text() -> str:
    """The schema as the text stored in ``docs/ir.schema.json``."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
