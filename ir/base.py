"""Base class of every IR node: frozen, structurally compared, position-carrying."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class Span(BaseModel):
    """Where a node or diagnostic comes from. Never part of structural equality."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    path: str | None = None  # location inside the document, e.g. "/tasks/0/message"

    def render(self) -> str:
        """``file:line:col`` with whatever parts are known."""
        return ":".join(
            str(part) for part in (self.file or "<input>", self.line or 1, self.col or 1)
        )


def _structural(value: Any) -> Any:
    """Reduce a field value to something hashable that ignores spans. Scalars carry their type,
    so that ``True`` differs from ``1`` and ``1`` from ``1.0`` as they do in YAML."""
    if isinstance(value, (bool, int, float)):
        return (type(value).__name__, value)
    if isinstance(value, Node):
        return value._key()
    if isinstance(value, dict):
        return tuple((k, _structural(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_structural(v) for v in value)
    return value


class Node(BaseModel):
    """An immutable IR node. Equality and hashing ignore source positions (``span``) and
    other non-structural provenance fields listed in ``_provenance``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    _provenance: ClassVar[frozenset[str]] = frozenset({"span", "explicit", "spelled"})

    span: Span | None = Field(default=None, exclude=True, repr=False)
    # Fields the source spelled out even at their default value (``disabled: false``), so that
    # a writer can keep them; provenance like ``span``.
    explicit: frozenset[str] = Field(default=frozenset(), exclude=True, repr=False)
    # How the source wrote some values (a duration as "PT90S" rather than "PT1M30S"), so that
    # a writer leaves an unchanged value as the user wrote it.
    spelled: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    @model_serializer(mode="wrap")
    def _drop_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Keep serialised IR short and stable: fields at their default are left out, except
        # the `kind` discriminator that loading needs.
        data = handler(self)
        if not isinstance(data, dict):
            return data
        for name, field in type(self).model_fields.items():
            if name == "kind" or name not in data or field.is_required():
                continue
            default = field.get_default(call_default_factory=True)
            if getattr(self, name) == default:
                del data[name]
        return data

    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__,) + tuple(
            (name, _structural(value))
            for name, value in self.__dict__.items()
            if name not in self._provenance
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        try:
            return hash(self._key())
        except TypeError:  # unhashable payload (e.g. a date in extras): still consistent
            return hash(type(self).__name__)

    def replace(self, **changes: Any) -> Node:
        """A copy with some fields changed (nodes are never edited in place)."""
        return self.model_copy(update=changes)
