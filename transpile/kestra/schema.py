"""The core structure of a Kestra flow as pydantic models (camelCase keys via aliases),
written from Kestra's Java model (``io.kestra.core.models.flows.Flow``, ``Input``, ``Task``,
``AbstractRetry``, ``Concurrency``). The reader validates each part of a document against
these models before lowering it, and turns every validation error into a positioned
diagnostic. Models allow extra keys: plugin properties are the catalogue's business."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from grammars.kestra.ids import PATTERNS
from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic

FlowId = Annotated[str, StringConstraints(pattern=PATTERNS["flow"], max_length=100)]
Namespace = Annotated[str, StringConstraints(pattern=PATTERNS["namespace"], max_length=150)]
TaskId = Annotated[str, StringConstraints(pattern=PATTERNS["task"])]
InputId = Annotated[str, StringConstraints(pattern=PATTERNS["input"])]
Duration = str  # ISO-8601 or an expression; parsed by the reader, which reports bad ones


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="allow", alias_generator=to_camel, populate_by_name=True, strict=True
    )


class KTask(_Model):
    """What every task has; the rest belongs to its type."""

    id: TaskId
    type: str

    @field_validator("id", mode="before")
    @classmethod
    def _numeric_id(cls, value: Any) -> Any:
        # Kestra (Jackson) coerces a numeric id to a string.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class KTrigger(KTask):
    """What every trigger has."""


class KInput(_Model):
    """A flow input; ``name`` is the deprecated spelling of ``id``."""

    id: InputId
    type: str
    description: str | None = None
    required: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_is_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" in data and "id" not in data:
            return {("id" if k == "name" else k): v for k, v in data.items()}
        return data


class KRetry(_Model):
    """A retry policy."""

    type: Literal["constant", "exponential", "random"]
    max_attempts: int | None = None
    max_attempt: int | None = None
    interval: Duration | None = None
    max_interval: Duration | None = None
    min_interval: Duration | None = None
    max_duration: Duration | None = None
    delay_factor: float | None = Field(default=None, strict=False)
    warning_on_retry: bool | None = None


class KConcurrency(_Model):
    """The flow's concurrency limit."""

    limit: int = Field(ge=0)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] | None = None


class KOutput(_Model):
    """A flow output."""

    id: str
    type: str | None = None
    value: Any


class KLabel(_Model):
    """A label in list form."""

    key: str
    value: Any


class KFlow(_Model):
    """The top level of a flow document."""

    id: FlowId
    namespace: Namespace
    description: str | None = None
    labels: dict[str, Any] | list[KLabel] | None = None
    inputs: list[dict[str, Any]] | None = None
    variables: dict[str, Any] | None = None
    tasks: list[Any] = Field(min_length=1)
    errors: list[Any] | None = None
    finally_: list[Any] | None = Field(default=None, alias="finally")
    triggers: list[Any] | None = None
    concurrency: KConcurrency | None = None
    retry: KRetry | None = None
    outputs: list[KOutput] | None = None
    disabled: bool | None = None

    @field_validator("labels", mode="wrap")
    @classmethod
    def _labels(cls, value: Any, handler: Callable[[Any], Any]) -> Any:
        # One clear message instead of one per member of the union.
        try:
            return handler(value)
        except ValidationError:
            raise ValueError("a mapping or a list of {key, value}") from None


_WHAT = {KFlow: "flow", KTask: "task", KTrigger: "trigger", KInput: "input", KRetry: "retry"}


def check(
    model: type[BaseModel],
    data: Any,
    path: tuple[str | int, ...],
    span: Callable[[tuple[str | int, ...], bool], Span],
) -> list[Diagnostic]:
    """Validate ``data`` (found at ``path``) against ``model``; one diagnostic per error."""
    try:
        model.model_validate(data)
    except ValidationError as error:
        return [_diagnostic(model, e, path, span) for e in error.errors()]
    return []


def _diagnostic(model, error, path, span) -> Diagnostic:
    loc = tuple(error["loc"])
    where = (*path, *loc)
    kind = error["type"]
    what = ".".join(str(p) for p in (_WHAT.get(model, model.__name__), *loc))
    value = error.get("input")
    if kind == "missing":
        return codes.K103.at(span(path + loc[:-1], False), name=str(loc[-1]))
    if kind in ("string_pattern_mismatch", "string_too_long"):
        pattern = (error.get("ctx") or {}).get("pattern") or "the length limit"
        return codes.K104.at(span(where, False), what=what, value=value, pattern=pattern)
    if kind == "too_short":
        return codes.K109.at(span(where, False), what=what)
    if kind == "value_error":
        return codes.K105.at(
            span(where, False),
            what=what,
            expected=str(error["msg"]).split(", ", 1)[-1],
            found=type_name(value),
        )
    return codes.K105.at(
        span(where, False), what=what, expected=_expected(error), found=type_name(value)
    )


def _expected(error: dict[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in ("Input should be ", "Input should have "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def type_name(value: Any) -> str:
    """How a diagnostic names the kind of value it found."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"[:60]
