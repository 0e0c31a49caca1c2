"""Typed flow parameters (Kestra ``inputs``, Prefect flow function arguments)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from .base import Node, field
from .expressions import Expr


class ParamType(str, Enum):
    """The type of a parameter, named side-neutrally."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    DURATION = "duration"
    JSON = "json"
    YAML = "yaml"
    ARRAY = "array"
    SELECT = "select"
    MULTISELECT = "multiselect"
    FILE = "file"
    SECRET = "secret"
    URI = "uri"
    EMAIL = "email"
    OTHER = "other"  # a type the IR does not know; its spelling is kept in `type_name`


class Parameter(Node):
    """One flow parameter. ``values`` are the choices of a select; ``item_type`` the type of
    an array's items. ``type_name`` is set only when the source spelled the type other than
    its side's canonical spelling (Kestra ``BOOLEAN`` for BOOL, a plugin input type), so that
    writers can keep the user's spelling."""

    name: str
    type: ParamType = ParamType.STRING
    type_name: str | None = None
    description: str | None = None
    default: Expr | None = None
    required: bool = True
    values: tuple[str, ...] | None = None
    item_type: ParamType | None = None
    extras: dict[str, Any] = field(default_factory=dict)
