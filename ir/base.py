"""Base classes of the IR: frozen records; :class:`Node` adds structural equality that ignores
source positions. Other plain, immutable data of flowbridge (catalogue entries, settings) are
records too.

Records are plain Python classes. Declaring one costs no more than a class statement, which
matters because every command loads the IR: ``flowbridge lint`` of one file must start about as
fast as parsing it does. Construction normalises values the way a validating model would for
the shapes the IR uses (a list for a tuple field, a ``str`` subclass from a YAML loader for a
``str`` field, a plain string for an enum field). Full validation, JSON serialisation and the
JSON Schema come from pydantic at the IR's edges (:mod:`ir.serde`): every record describes
itself to pydantic through ``__get_pydantic_core_schema__`` (:mod:`ir.pydantic_schema`),
which is imported only then.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar

_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class FieldError(TypeError):
    """A record was given a field it does not have, lacks a required one, or was given a
    value its field cannot take (a string that names no member of the field's enum)."""


class FieldSpec:
    """One declared field: its annotation (as written), its default and how it prints and
    serialises. Made by :func:`field` or from a plain class-level default."""

    __slots__ = ("annotation", "default", "default_factory", "exclude", "name", "repr", "coerce")

    def __init__(
        self,
        default: Any = _MISSING,
        *,
        default_factory: Callable[[], Any] | None = None,
        exclude: bool = False,
        repr: bool = True,  # noqa: A002 - the dataclasses/pydantic spelling
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.exclude = exclude
        self.repr = repr
        self.name = ""
        self.annotation = ""
        self.coerce: Callable[[Any], Any] | None = None

    @property
    def required(self) -> bool:
        """True when the field has neither a default nor a default factory."""
        return self.default is _MISSING and self.default_factory is None

    def default_value(self) -> Any:
        """The value the field takes when it is not given (a sentinel equal to nothing else
        when it is required)."""
        if self.default_factory is not None:
            return self.default_factory()
        return self.default

    def __repr__(self) -> str:
        return f"FieldSpec({self.name}: {self.annotation})"


def field(
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    exclude: bool = False,
    repr: bool = True,  # noqa: A002
) -> Any:
    """Declare a field with a default factory, or one left out of serialisation (``exclude``)
    or of ``repr``."""
    return FieldSpec(default, default_factory=default_factory, exclude=exclude, repr=repr)


class Tagged:
    """``Annotated`` metadata: the union's members are told apart by the field ``name``
    (``kind``). pydantic sees it as a discriminated union; the IR itself needs nothing."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from .pydantic_schema import tagged_union_schema

        return tagged_union_schema(source, handler, self.name)


# --- normalisation at construction ---------------------------------------------------------

_EXACT = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """A scalar of a subclass (ruamel's ``ScalarFloat``, ``LiteralScalarString``) as the
    plain type; anything else, enum members included, unchanged."""
    cls = type(value)
    if cls in _EXACT or isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _as_tuple(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    return value


def _as_frozenset(value: Any) -> Any:
    return frozenset(value) if isinstance(value, (set, list, tuple)) else value


def _as_dict_any(value: Any) -> Any:
    if isinstance(value, dict):
        return {_plain(k): v for k, v in value.items()}
    return value


def _as_dict(value: Any) -> Any:
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _as_spec(declared: Any) -> Any:
    """A ``dataclasses.field(...)`` declaration as a :class:`FieldSpec` (records accept both,
    so that a dataclass becomes a record by changing its base); anything else unchanged."""
    dataclasses = sys.modules.get("dataclasses")  # none can exist before it is imported
    if dataclasses is None or not isinstance(declared, dataclasses.Field):
        return declared
    missing = dataclasses.MISSING
    return FieldSpec(
        _MISSING if declared.default is missing else declared.default,
        default_factory=None if declared.default_factory is missing else declared.default_factory,
        repr=declared.repr,
    )


def _optional(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else coerce(value)


def _coercer(annotation: str, module: str, spec: FieldSpec) -> Callable[[Any], Any] | None:
    """How a value given for a field annotated ``annotation`` is normalised, or None when it
    is taken as given (nodes, expressions, dates, durations)."""
    optional = annotation.endswith(" | None")
    core = annotation.removesuffix(" | None")
    coerce: Callable[[Any], Any] | None
    if core.startswith("tuple["):
        coerce = _as_tuple
    elif core.startswith("frozenset["):
        coerce = _as_frozenset
    elif core == "dict[str, Any]":
        coerce = _as_dict_any
    elif core.startswith("dict["):
        coerce = _as_dict
    elif core in ("str", "int", "float", "Scalar") or set(core.split(" | ")) <= {
        "str",
        "int",
        "float",
        "bool",
    }:
        coerce = _plain
    elif core.isidentifier():
        coerce = _EnumCoercer(core, module, spec)
    else:
        coerce = None
    if coerce is None or not optional or coerce is _plain:
        return coerce
    return _optional(coerce)


class _EnumCoercer:
    """Turns a plain value into the enum named ``name`` in ``module``. Whether the name is an
    enum is looked up on first use (the module is still being executed when the class is
    made); when it is not, the field stops being coerced."""

    __slots__ = ("module", "name", "enum", "spec")

    def __init__(self, name: str, module: str, spec: FieldSpec) -> None:
        self.name, self.module, self.spec, self.enum = name, module, spec, _MISSING

    def __call__(self, value: Any) -> Any:
        if self.enum is _MISSING:
            found = getattr(sys.modules.get(self.module), self.name, None)
            self.enum = found if isinstance(found, type) and issubclass(found, Enum) else None
            if self.enum is None:
                self.spec.coerce = None
        if self.enum is None or isinstance(value, self.enum):
            return value
        return self.enum(value)


# --- records --------------------------------------------------------------------------------


class Record:
    """A frozen record whose fields are declared by class annotations (inherited fields first,
    as dataclasses do) and given by keyword or, in that order, by position. Equality and
    hashing compare every field; ``__post_init__`` runs after construction when defined.
    Declaring one costs about a twentieth of a frozen dataclass, which execs the source of
    six methods per class."""

    _fields: ClassVar[dict[str, FieldSpec]] = {}
    _post_init: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = {name: spec for name, spec in cls._fields.items()}
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            annotation = str(annotation)
            if annotation.startswith(("ClassVar", "typing.ClassVar")):
                continue
            declared = _as_spec(cls.__dict__.get(name, _MISSING))
            spec = declared if isinstance(declared, FieldSpec) else FieldSpec(declared)
            spec.name, spec.annotation = name, annotation
            spec.coerce = _coercer(annotation, cls.__module__, spec)
            if spec.default_factory is not None or spec.default is _MISSING:
                if name in cls.__dict__:
                    delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
            fields.pop(name, None)
            fields[name] = spec
        # inherited fields keep their place; a redeclared one moves to the end, like pydantic
        cls._fields = fields
        cls._post_init = hasattr(cls, "__post_init__")

    def __init__(self, *positional: Any, **values: Any) -> None:
        if positional:  # in declaration order, as a dataclass takes them
            if len(positional) > len(self._fields):
                raise FieldError(f"{type(self).__name__}: too many positional values")
            for name, value in zip(self._fields, positional, strict=False):
                if name in values:
                    raise FieldError(f"{type(self).__name__}: {name!r} given twice")
                values[name] = value
        state = self.__dict__
        for name, spec in self._fields.items():
            if name in values:
                value = values.pop(name)
                if spec.coerce is not None:
                    try:
                        value = spec.coerce(value)
                    except (TypeError, ValueError) as error:
                        raise FieldError(f"{type(self).__name__}.{name}: {error}") from None
            elif spec.default_factory is not None:
                value = spec.default_factory()
            elif spec.default is not _MISSING:
                value = spec.default
            else:
                raise FieldError(f"{type(self).__name__}: missing field {name!r}")
            state[name] = value
        if values:
            unknown = ", ".join(sorted(values))
            raise FieldError(f"{type(self).__name__}: unknown field(s) {unknown}")
        if self._post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), dict(self.__dict__)))

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (records are never edited in place)."""
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise FieldError(
                f"{type(self).__name__}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        return _rebuild(type(self), {**self.__dict__, **changes})

    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__, *self.__dict__.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={self.__dict__[name]!r}" for name, spec in self._fields.items() if spec.repr
        )
        return f"{type(self).__name__}({shown})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from .pydantic_schema import record_schema

        return record_schema(cls, handler)


def _rebuild(cls: type[Record], state: dict[str, Any]) -> Any:
    record = object.__new__(cls)
    record.__dict__.update(state)
    return record


def fields_of(record: Record | type[Record]) -> dict[str, FieldSpec]:
    """The fields of a record (class or instance), in declaration order."""
    return record._fields


class Span(Record):
    """Where a node or diagnostic comes from. Never part of structural equality."""

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


class Node(Record):
    """An immutable IR node. Equality and hashing ignore source positions (``span``) and
    other non-structural provenance fields listed in ``_provenance``."""

    _provenance: ClassVar[frozenset[str]] = frozenset({"span", "explicit", "spelled"})

    span: Span | None = field(default=None, exclude=True, repr=False)
    # Fields the source spelled out even at their default value (``disabled: false``), so that
    # a writer can keep them; provenance like ``span``.
    explicit: frozenset[str] = field(default=frozenset(), exclude=True, repr=False)
    # How the source wrote some values (a duration as "PT90S" rather than "PT1M30S"), so that
    # a writer leaves an unchanged value as the user wrote it.
    spelled: dict[str, str] = field(default_factory=dict, exclude=True, repr=False)

    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__,) + tuple(
            (name, _structural(value))
            for name, value in self.__dict__.items()
            if name not in self._provenance
        )

    def __hash__(self) -> int:
        try:
            return hash(self._key())
        except TypeError:  # unhashable payload (e.g. a date in extras): still consistent
            return hash(type(self).__name__)
