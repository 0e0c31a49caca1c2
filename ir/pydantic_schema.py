"""How IR records describe themselves to pydantic: validation from plain data, JSON
serialisation (fields at their default and provenance left out) and the JSON Schema.

Imported only when pydantic meets a record (:mod:`ir.serde`), so that commands which never
serialise the IR do not load pydantic.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

from pydantic import GetCoreSchemaHandler, SerializerFunctionWrapHandler
from pydantic_core import core_schema as cs

if TYPE_CHECKING:
    from .base import Record


def _reference(cls: type) -> str:
    # The reference pydantic itself computes for a class (``_type_refs.any_type_ref``), so
    # that a recursive use of the class (a step inside a step) points at this definition.
    return f"{cls.__module__}.{cls.__qualname__}:{id(cls)}"


# Records whose schema is being generated: pydantic guards recursion only for the types it
# knows, so a record met again inside itself (a step inside a step) is referred to by name.
_IN_PROGRESS: set[str] = set()


def record_schema(cls: type[Record], handler: GetCoreSchemaHandler) -> cs.CoreSchema:
    """The core schema of a record class: a typed dict of its fields, turned into the record
    after validation; an instance of the class is accepted as it is."""
    reference = _reference(cls)
    if reference in _IN_PROGRESS:
        return cs.definition_reference_schema(reference)
    _IN_PROGRESS.add(reference)
    try:
        return _record_schema(cls, handler, reference)
    finally:
        _IN_PROGRESS.discard(reference)


def _record_schema(
    cls: type[Record], handler: GetCoreSchemaHandler, reference: str
) -> cs.CoreSchema:
    hints = get_type_hints(cls, include_extras=True)
    fields: dict[str, cs.TypedDictField] = {}
    for name, spec in cls._fields.items():
        schema = handler.generate_schema(hints[name])
        if spec.default_factory is not None:
            schema = cs.with_default_schema(schema, default_factory=spec.default_factory)
        elif not spec.required:
            schema = cs.with_default_schema(schema, default=spec.default)
        fields[name] = cs.typed_dict_field(
            schema, required=spec.required, serialization_exclude=spec.exclude or None
        )
    doc = inspect.cleandoc(cls.__doc__) if cls.__doc__ else None
    data = cs.typed_dict_schema(
        fields,
        extra_behavior="forbid",
        metadata={
            "pydantic_js_updates": {"title": cls.__name__, **({"description": doc} if doc else {})}
        },
    )
    from_data = cs.no_info_after_validator_function(lambda values: cls(**values), data)

    def serialize(record: Record, handler: SerializerFunctionWrapHandler) -> Any:
        # Short, stable JSON: fields at their default are left out, except the `kind`
        # discriminator that loading needs.
        shown = {}
        for name, spec in cls._fields.items():
            value = record.__dict__[name]
            if spec.exclude:
                continue
            if name != "kind" and not spec.required and value == spec.default_value():
                continue
            shown[name] = value
        return handler(shown)

    return cs.json_or_python_schema(
        json_schema=from_data,
        python_schema=cs.union_schema([cs.is_instance_schema(cls), from_data]),
        ref=reference,
        serialization=cs.wrap_serializer_function_ser_schema(serialize, schema=data),
    )


def tagged_union_schema(source: Any, handler: GetCoreSchemaHandler, name: str) -> cs.CoreSchema:
    """A union of records told apart by the value of their field ``name`` (``kind``)."""
    members = get_args(source)
    return cs.tagged_union_schema(
        {member._fields[name].default: handler.generate_schema(member) for member in members},
        discriminator=name,
    )
