"""Kestra YAML → IR.

The reader loads YAML safely (:mod:`.loader`), checks the core structure of each flow
document, and lowers it into IR nodes by following the catalogue in ``grammars/kestra``:
modelled properties become IR fields, every other property is kept verbatim in ``extras`` (or
in a :class:`~ir.steps.PluginCall`), so that writing the flow back loses nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import (
    CommentedMap,
    CommentedOrderedMap,
    CommentedSeq,
    CommentedSet,
    TaggedScalar,
)

from grammars.kestra import Catalogue, PropSpec, TypeEntry, catalogue
from ir import codes
from ir.base import FieldError, Span, fields_of
from ir.diagnostics import Diagnostic
from ir.expressions import Expr, Literal
from ir.flow import Flow, FlowOutput
from ir.graph import build_graph
from ir.parameters import Parameter, ParamType
from ir.policies import CachePolicy, ConcurrencyBehavior, ConcurrencyPolicy, RetryKind, RetryPolicy
from ir.steps import (
    ACTION_TYPES,
    STEP_TYPES,
    Case,
    ControlStep,
    PluginCall,
    Step,
    TaskStep,
)
from ir.triggers import TRIGGER_TYPES, PluginTrigger, UpstreamFlow

from ..result import ReadResult
from . import pebble, schema
from .claims import looks_like_flow
from .loader import Document, load_documents, read_file
from .schema import type_name as _type_name
from .values import from_yaml_value, parse_duration, plain

# System labels a flow may set itself; Kestra rejects any other "system." label.
USER_SYSTEM_LABELS = frozenset({"system.readOnly", "system.correlationId"})

_STEP_KINDS = {fields_of(cls)["kind"].default: cls for cls in STEP_TYPES}
_ACTION_KINDS = {fields_of(cls)["kind"].default: cls for cls in ACTION_TYPES}
_TRIGGER_KINDS = {fields_of(cls)["kind"].default: cls for cls in TRIGGER_TYPES}

Path_ = tuple[str | int, ...]


def read_kestra(source: bytes | str, file: str | None = None) -> ReadResult:
    """Read Kestra YAML text (one or several documents)."""
    documents, diagnostics = load_documents(source, file)
    return _read_documents(documents, diagnostics, file)


def read_kestra_file(path: Path) -> ReadResult:
    """Read a Kestra flow file; I/O problems become diagnostics."""
    documents, diagnostics = read_file(path)
    return _read_documents(documents, diagnostics, str(path))


def _read_documents(
    documents: list[Document], diagnostics: list[Diagnostic], file: str | None
) -> ReadResult:
    result = ReadResult(diagnostics=list(diagnostics))
    if not documents and not diagnostics:
        result.diagnostics.append(codes.K122.at(Span(file=file, line=1, col=1)))
    for document in documents:
        flow, found = _Lowering(document, file).flow()
        result.diagnostics.extend(sorted(found, key=_position))
        if flow is not None:
            result.flows.append(flow)
    return result


class _Invalid(Exception):
    """A value does not fit its property; the caller keeps it verbatim."""


class _Lowering:
    """Lowers one YAML document into a Flow, collecting diagnostics."""

    def __init__(self, document: Document, file: str | None) -> None:
        self.doc = document
        self.file = file
        self.cat: Catalogue = catalogue()
        self.diagnostics: list[Diagnostic] = []

    # --- helpers ---------------------------------------------------------------------------

    def span(self, path: Path_, key: bool = False) -> Span:
        return self.doc.span(path, key=key)

    def report(self, code: codes.Code, path: Path_, at_key: bool = False, **fields: Any) -> None:
        self.diagnostics.append(code.at(self.span(path, at_key), **fields))

    def clean(self, root: Any) -> None:
        """Make the document the plain data Kestra reads, in place: a key that is a date
        becomes its text (Kestra reads keys as text), a key that is a collection is an error
        (K105) and becomes its text, and a YAML tag is dropped with a warning (K123)."""
        stack: list[tuple[Path_, Any]] = [((), root)]
        tag = _tag(root)
        if tag is not None:
            self.report(codes.K123, (), tag=tag, kind=_kind(root))
        while stack:
            path, node = stack.pop()
            if isinstance(node, CommentedMap):
                renames = {}
                for key in list(OrderedDict.keys(node)):
                    if isinstance(key, (str, int, float, bool)) or key is None:
                        continue
                    if not isinstance(key, (dt.date, dt.datetime)):
                        self.report(
                            codes.K105,
                            (*path, key),
                            at_key=True,
                            what="a mapping key",
                            expected="a string",
                            found=_type_name(plain(key)),
                        )
                    renames[key] = _key_text(key)
                if renames:
                    self._rename(node, path, renames)
                children = list(OrderedDict.items(node))
            elif isinstance(node, CommentedSeq):
                children = list(enumerate(node))
            else:
                continue
            for key, child in children:
                here = (*path, key)
                tag = _tag(child)
                if tag is not None or isinstance(child, TaggedScalar):  # even !!str
                    if tag is not None:
                        self.report(codes.K123, here, tag=tag, kind=_kind(child))
                    child = _untagged(child)
                    if isinstance(node, CommentedMap):
                        OrderedDict.__setitem__(node, key, child)
                    else:
                        list.__setitem__(node, key, child)
                stack.append((here, child))

    def named(self, data: Any, path: Path_) -> Any:
        """A mapping of properties with every name a string, as Kestra reads them (``1:``
        names the property "1"), renamed in place so that positions still resolve."""
        if isinstance(data, CommentedMap) and not all(isinstance(k, str) for k in data):
            self._rename(data, path, {k: _key_text(k) for k in data if not isinstance(k, str)})
        return data

    def _rename(self, node: CommentedMap, path: Path_, renames: dict[Any, str]) -> None:
        """Rename keys of ``node`` in place, keeping their order and positions; a key that a
        new name collides with is a duplicate (K101), and the first one is kept."""
        items = list(OrderedDict.items(node))
        positions = getattr(getattr(node, "lc", None), "data", None)
        original = dict(positions) if positions is not None else {}
        kept: dict[str, Any] = {}
        for key, _ in items:
            OrderedDict.__delitem__(node, key)
        for key, value in items:
            new = renames.get(key, key)
            if OrderedDict.__contains__(node, new):
                where = self.span((*path, new), True)
                if key in original:
                    line, col = original[key][0] + 1, original[key][1] + 1
                    where = where.replace(line=line, col=col)
                self.diagnostics.append(codes.K101.at(where, key=new))
                continue
            OrderedDict.__setitem__(node, new, value)
            kept[new] = key
        if positions is not None:
            positions.clear()
            positions.update({new: original[key] for new, key in kept.items() if key in original})

    def bad_duration(self, path: Path_, value: Any) -> None:
        """Report a duration that is not ISO-8601: an expression is legitimate (carried),
        anything else is a mistake."""
        key = str(path[-1])
        if isinstance(value, str) and "{{" in value:
            self.report(codes.K121, path, what=key, reason="a duration computed by an expression")
        else:
            self.report(codes.K116, path, what=key, value=plain(value))

    def reported(self, path: Path_) -> bool:
        """True when a diagnostic already points at ``path`` or inside it."""
        pointer = self.span(path).path or ""
        return any(
            d.span is not None
            and d.span.path is not None
            and (d.span.path == pointer or d.span.path.startswith(pointer + "/"))
            for d in self.diagnostics
        )

    def validate(self, model: type, data: Any, path: Path_) -> None:
        """Check ``data`` against a model of Kestra's core structure (see :mod:`.schema`)."""
        self.diagnostics.extend(schema.check(model, data, path, self.span))

    def header(self, model: type, data: Any, path: Path_) -> str | None:
        """Validate a task or trigger header; its type name ("" when missing), or None when
        the item is not a mapping at all."""
        if not isinstance(data, dict):
            what = "task" if model is schema.KTask else "trigger"
            self.report(codes.K105, path, what=what, expected="a mapping", found=_type_name(data))
            return None
        self.validate(model, data, path)
        raw_type = data.get("type")
        return raw_type if isinstance(raw_type, str) else ""

    def expr(self, value: Any, path: Path_) -> Expr:
        problems: list[tuple[tuple, pebble.TemplateProblem]] = []
        result = from_yaml_value(plain(value), problems)
        for where, problem in problems:
            self.report(codes.X101, (*path, *where), text=problem.text[:80], reason=problem.reason)
        return result

    def convert(self, spec: PropSpec, value: Any, path: Path_) -> Any:
        """Convert one property value by its converter name; raise _Invalid on a bad shape."""
        conv = spec.conv
        if conv == "expr":
            return self.expr(value, path)
        if conv == "str":
            if isinstance(value, int) and not isinstance(value, bool) and spec.key == "id":
                return str(value)  # Kestra coerces numeric ids to strings
            if not isinstance(value, str):
                raise _Invalid("a string")
            return str(value)
        if conv == "strings":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _Invalid("a list of strings")
            return tuple(str(v) for v in value)
        if conv == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise _Invalid("an integer")
            return int(value)
        if conv == "bool":
            if not isinstance(value, bool):
                raise _Invalid("a boolean")
            return bool(value)
        if conv == "duration":
            duration = parse_duration(value)
            if duration is None:
                raise _Invalid("an ISO-8601 duration")
            return duration
        if conv == "steps":
            if not isinstance(value, list):
                raise _Invalid("a list of tasks")
            return self.tasks(value, path)
        if conv == "cases":
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                raise _Invalid("a mapping of case values to task lists")
            return tuple(
                Case(value=plain(k), steps=self.tasks(v, (*path, k)), span=self.span((*path, k)))
                for k, v in value.items()
            )
        if conv == "dag":
            return self.dag(value, path)
        if conv == "retry":
            return self.retry(value, path)
        if conv == "cache":
            return self.cache(value, path)
        if conv == "preconditions":
            return self.preconditions(value)
        raise AssertionError(f"unknown converter {conv}")

    def fill(
        self,
        data: dict,
        path: Path_,
        specs: dict[str, PropSpec],
        fields: dict[str, Any],
        extras: dict[str, Any],
        explicit: set[str],
        what: str,
    ) -> None:
        """Convert the keys of ``data`` named in ``specs`` into ``fields``; a value of the
        wrong shape is kept verbatim in ``extras`` with a diagnostic."""
        for key, spec in specs.items():
            if key not in data or spec.field is None:
                continue
            value = data[key]
            try:
                fields[spec.field] = self.convert(spec, value, (*path, key))
                explicit.add(spec.field)
                if spec.conv == "duration":
                    fields.setdefault("spelled", {})[spec.field] = str(value).strip()
            except _Invalid as bad:
                extras[key] = plain(value)
                if value is None and not spec.required:
                    continue  # an explicit null for an optional property: carried, harmless
                if self.reported((*path, key)):
                    continue  # the schema check already said what is wrong with it
                if (
                    spec.required
                    and value is None
                    or spec.conv in ("steps", "dag")
                    or _wrong_kind(spec.conv, value)
                ):
                    self.report(
                        codes.K105,
                        (*path, key),
                        what=f"{what}.{key}",
                        expected=str(bad),
                        found=_type_name(value),
                    )
                elif spec.conv == "duration":
                    self.bad_duration((*path, key), value)
                elif spec.conv == "preconditions" and isinstance(value, dict):
                    self.report(codes.K121, (*path, key), what=key, reason=str(bad))
                elif isinstance(value, str) and "{{" in value and spec.conv in ("int", "bool"):
                    self.report(codes.K121, (*path, key), what=key, reason="a dynamic value")
                else:
                    self.report(codes.K118, (*path, key), what=key, value=_short(value))

    # --- flow ------------------------------------------------------------------------------

    def flow(self) -> tuple[Flow | None, list[Diagnostic]]:
        data = self.doc.data
        if isinstance(data, TaggedScalar):
            data = _untagged(data)
        if not isinstance(data, dict):
            self.report(codes.K102, (), found=_type_name(data))
            return None, self.diagnostics
        self.clean(data)
        data = self.named(data, ())
        fields: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        explicit: set[str] = set()
        self.validate(schema.KFlow, data, ())
        handlers = {
            "id": self._string,
            "namespace": self._string,
            "description": self._flow_description,
            "labels": self._labels,
            "inputs": self._inputs,
            "variables": self._variables,
            "tasks": self._flow_tasks,
            "errors": self._flow_tasks,
            "finally": self._flow_tasks,
            "triggers": self._triggers,
            "concurrency": self._concurrency,
            "retry": self.retry,
            "outputs": self._outputs,
            "disabled": self._disabled,
        }
        target = {
            "id": "id",
            "namespace": "namespace",
            "description": "description",
            "labels": "labels",
            "inputs": "parameters",
            "variables": "variables",
            "tasks": "steps",
            "errors": "on_failure",
            "finally": "finally_steps",
            "triggers": "triggers",
            "concurrency": "concurrency",
            "retry": "retry",
            "outputs": "outputs",
            "disabled": "disabled",
        }
        for key, value in data.items():
            path = (key,)
            handler = handlers.get(key)
            if handler is None:
                self._flow_extra(key, value, extras)
                continue
            try:
                fields[target[key]] = handler(value, path)
                explicit.add(target[key])
            except _Invalid:
                extras[key] = plain(value)  # the schema check above has reported it
        fields.setdefault("id", "")
        flow = Flow(**fields, extras=extras, span=self.span(()), explicit=frozenset(explicit))
        self._check_flow(flow, data)
        return flow, self.diagnostics

    def _flow_extra(self, key: str, value: Any, extras: dict[str, Any]) -> None:
        if key == "taskDefaults":
            self.report(codes.K117, (key,), at_key=True, old="taskDefaults", new="pluginDefaults")
            key = "pluginDefaults"
        if key == "workerGroup":
            self.report(codes.K115, (key,), at_key=True)
        if key == "listeners" and isinstance(value, list):
            for i, listener in enumerate(value):
                tasks = listener.get("tasks") if isinstance(listener, dict) else None
                if not tasks:
                    self.report(codes.K109, ("listeners", i), what="listeners[].tasks")
        extras[key] = plain(value)

    def _string(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str):
            raise _Invalid("a string")
        return str(value)

    def _flow_description(self, value: Any, path: Path_) -> str | None:
        if value is not None and not isinstance(value, str):
            raise _Invalid("a string")
        return None if value is None else str(value)

    def _disabled(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            raise _Invalid("a boolean")
        return value

    def _labels(self, value: Any, path: Path_) -> dict[str, Any]:
        if isinstance(value, list):
            if not all(isinstance(i, dict) and set(i) <= {"key", "value"} for i in value):
                raise _Invalid("a mapping or a list of {key, value}")
            labels = {str(i.get("key")): plain(i.get("value")) for i in value}
        elif isinstance(value, dict):
            labels = {str(k): plain(v) for k, v in value.items()}
        else:
            raise _Invalid("a mapping")
        for key in labels:
            if key.startswith("system.") and key not in USER_SYSTEM_LABELS:
                self.report(codes.K112, (*path, key), at_key=True, key=key)
        return labels

    def _variables(self, value: Any, path: Path_) -> dict[str, Expr]:
        if not isinstance(value, dict):
            raise _Invalid("a mapping")
        return {str(k): self.expr(v, (*path, k)) for k, v in value.items()}

    def _flow_tasks(self, value: Any, path: Path_) -> tuple[Step, ...]:
        if not isinstance(value, list):
            raise _Invalid("a list of tasks")
        return self.tasks(value, path)

    # --- inputs ----------------------------------------------------------------------------

    def _inputs(self, value: Any, path: Path_) -> tuple[Parameter, ...]:
        if not isinstance(value, list):
            raise _Invalid("a list of inputs")
        params = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            param = self.parameter(item, (*path, i))
            if param is None:
                continue
            if param.name in seen:
                self.report(codes.K108, (*path, i), what="input", id=param.name)
            seen.add(param.name)
            params.append(param)
        return tuple(params)

    def parameter(self, data: Any, path: Path_) -> Parameter | None:
        data = self.named(data, path)
        if not isinstance(data, dict):
            self.report(
                codes.K105, path, what="input", expected="a mapping", found=_type_name(data)
            )
            return None
        self.validate(schema.KInput, data, path)
        data = dict(data)
        if "name" in data and "id" not in data:
            self.report(codes.K117, (*path, "name"), at_key=True, old="name", new="id")
            data = {("id" if k == "name" else k): v for k, v in data.items()}
        fields: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        explicit: set[str] = set()
        name = data.get("id")
        fields["name"] = "" if name is None else str(name)
        kestra_type = data.get("type")
        ir_type = self.cat.input_types.get(str(kestra_type).upper()) if kestra_type else None
        if kestra_type is not None:
            explicit.add("type")
            if ir_type is None:
                if "." not in str(kestra_type):
                    self.report(codes.K110, (*path, "type"), type=kestra_type)
                fields["type"] = ParamType.OTHER
                fields["type_name"] = str(kestra_type)
            else:
                fields["type"] = ParamType(ir_type)
                if self.cat.canonical_input_type[ir_type] != kestra_type:
                    fields["type_name"] = str(kestra_type)
        for key, value in data.items():
            here = (*path, key)
            if key in ("id", "type"):
                continue
            if key == "description" and (value is None or isinstance(value, str)):
                fields["description"] = value
            elif key == "required" and isinstance(value, bool):
                fields["required"] = value
            elif key == "defaults":
                fields["default"] = self.expr(value, here)
            elif (
                key == "values"
                and isinstance(value, list)
                and all(isinstance(v, str) for v in value)
            ):
                fields["values"] = tuple(value)
            elif (
                key == "itemType"
                and isinstance(value, str)
                and (value.upper() in self.cat.input_types)
            ):
                fields["item_type"] = ParamType(self.cat.input_types[value.upper()])
                if value.upper() in ("ARRAY", "FILE") or value != value.upper():
                    self.report(codes.K111, here, reason=f"itemType {value} is not allowed")
                    extras[key] = plain(value)
                    fields.pop("item_type")
                    continue
            else:
                self._odd_input_value(key, value, here)
                extras[key] = plain(value)
                continue
            explicit.add({"defaults": "default", "itemType": "item_type"}.get(key, key))
        self._check_input(data, path, fields)
        return Parameter(
            **fields, extras=extras, span=self.span(path), explicit=frozenset(explicit)
        )

    def _odd_input_value(self, key: str, value: Any, path: Path_) -> None:
        """Report a modelled input property whose value the reader could not take (the
        schema check has already reported ``description`` and ``required``)."""
        if value is None or key not in ("values", "itemType"):
            return
        if key == "values" and not isinstance(value, list):
            self.report(
                codes.K105, path, what="input.values", expected="a list", found=_type_name(value)
            )
        elif key == "values":
            self.report(codes.K118, path, what=key, value=_short(value))
        elif not isinstance(value, str):
            expected = "an input type name"
            self.report(
                codes.K105, path, what="input.itemType", expected=expected, found=_type_name(value)
            )
        else:
            self.report(codes.K110, path, type=value)

    def _check_input(self, data: dict, path: Path_, fields: dict[str, Any]) -> None:
        validator = data.get("validator")
        if isinstance(validator, str):
            try:
                re.compile(validator)
            except re.error as err:
                self.report(codes.K111, (*path, "validator"), reason=f"bad validator regex: {err}")
        default = data.get("defaults")
        if (
            fields.get("type") is ParamType.FILE
            and isinstance(default, str)
            and "://" not in default
            and "{{" not in default
        ):
            self.report(
                codes.K111,
                (*path, "defaults"),
                reason="a FILE default must be a URI (kestra://, nsfile://, file://)",
            )

    # --- tasks -----------------------------------------------------------------------------

    def tasks(self, items: list, path: Path_) -> tuple[Step, ...]:
        steps = []
        for i, item in enumerate(items):
            step = self.task(item, (*path, i))
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def task(self, data: Any, path: Path_) -> Step | None:
        data = self.named(data, path)
        raw_type = self.header(schema.KTask, data, path)
        if raw_type is None:
            return None
        type_name = self.cat.canonical_type(raw_type)
        entry = self.cat.tasks.get(type_name)
        if entry is None and self.cat.is_unknown_core(type_name):
            self.report(codes.K107, (*path, "type"), type=raw_type)
        if "workerGroup" in data:
            self.report(codes.K115, (*path, "workerGroup"), at_key=True)
        fields: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        explicit: set[str] = set()
        self.fill(data, path, self.cat.common, fields, extras, explicit, "task")
        fields.setdefault("id", str(data.get("id", "")))
        if entry is not None:
            step = self._modelled(entry, data, path, fields, extras, explicit)
            if step is not None:
                return step
        props = {k: plain(v) for k, v in data.items() if k not in self.cat.common or k in extras}
        for key in extras:
            props.setdefault(key, extras[key])
        return TaskStep(
            **fields,
            action=PluginCall(type=type_name, properties=props),
            span=self.span(path),
            explicit=frozenset(explicit),
        )

    def _modelled(
        self,
        entry: TypeEntry,
        data: dict,
        path: Path_,
        fields: dict[str, Any],
        extras: dict[str, Any],
        explicit: set[str],
    ) -> Step | None:
        """Build the IR node for a catalogued type, or None to carry it as a PluginCall."""
        node_fields: dict[str, Any] = dict(entry.fixed)
        node_extras: dict[str, Any] = {}
        node_explicit: set[str] = set()
        specs = dict(entry.properties)
        if entry.flowable:
            specs.update(self.cat.flowable)
        self.fill(data, path, specs, node_fields, node_extras, node_explicit, entry.type_name)
        for key, value in data.items():
            if key in specs or key in self.cat.common:
                continue
            if entry.closed and key not in self.cat.common_extras:
                self.report(codes.K106, (*path, key), at_key=True, name=key, type=entry.type_name)
            node_extras[key] = plain(value)
        missing = [
            s.key for s in entry.properties.values() if s.required and (s.field not in node_fields)
        ]
        for key in missing:
            if key not in data:
                self.report(codes.K103, path, name=key)
            elif data[key] is None or data[key] == []:
                self.report(
                    codes.K109, (*path, key), what=f"{entry.type_name.rsplit('.', 1)[-1]}" f".{key}"
                )
        if entry.node == "switch" and not data.get("cases") and not data.get("defaults"):
            self.report(codes.K109, path, what="Switch cases and defaults")
        for spec in entry.properties.values():
            value = node_fields.get(spec.field) if spec.field else None
            if spec.conv in ("steps", "dag") and spec.required and value == ():
                self.report(codes.K109, (*path, spec.key), what=spec.key)
        if missing:
            return None
        all_extras = {**extras, **node_extras}
        span = self.span(path)
        try:
            if entry.node in _ACTION_KINDS:
                action = _ACTION_KINDS[entry.node](**node_fields, explicit=frozenset(node_explicit))
                return TaskStep(
                    **fields,
                    action=action,
                    extras=all_extras,
                    span=span,
                    explicit=frozenset(explicit),
                )
            spelled = {**fields.pop("spelled", {}), **node_fields.pop("spelled", {})}
            return _STEP_KINDS[entry.node](
                **fields,
                **node_fields,
                spelled=spelled,
                extras=all_extras,
                span=span,
                explicit=frozenset(explicit | node_explicit),
            )
        except FieldError as error:  # a shape the catalogue did not foresee: carry it
            self.report(
                codes.K118,
                path,
                what=entry.type_name,
                value=_short(str(error)),
            )
            return None

    def dag(self, value: Any, path: Path_) -> tuple[Step, ...]:
        if not isinstance(value, list):
            raise _Invalid("a list of {task, dependsOn}")
        steps = []
        for i, item in enumerate(value):
            here = (*path, i)
            if (
                not isinstance(item, dict)
                or "task" not in item
                or set(item) - {"task", "dependsOn"}
            ):
                raise _Invalid("a list of {task, dependsOn}")
            step = self.task(item["task"], (*here, "task"))
            depends = item.get("dependsOn")
            if depends is not None:
                if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
                    raise _Invalid("dependsOn as a list of task ids")
            if step is not None:
                explicit = set(step.explicit) | ({"depends_on"} if depends is not None else set())
                steps.append(
                    step.replace(depends_on=tuple(depends or ()), explicit=frozenset(explicit))
                )
        return tuple(steps)

    def retry(self, value: Any, path: Path_) -> RetryPolicy:
        value = self.named(value, path)
        if path != ("retry",):  # the flow's own retry was checked with the flow
            self.validate(schema.KRetry, value, path)
        if not isinstance(value, dict):
            raise _Invalid("a mapping")
        kinds = {
            "constant": RetryKind.CONSTANT,
            "exponential": RetryKind.EXPONENTIAL,
            "random": RetryKind.RANDOM,
        }
        kind = kinds.get(str(value.get("type", "")).lower())
        if kind is None:
            raise _Invalid("a retry of type constant, exponential or random")
        fields: dict[str, Any] = {"kind": kind}
        extras: dict[str, Any] = {}
        durations = {
            "interval": "interval",
            "maxInterval": "max_interval",
            "minInterval": "min_interval",
            "maxDuration": "max_duration",
        }
        for key, item in value.items():
            here = (*path, key)
            if key == "type":
                continue
            if (
                key in ("maxAttempts", "maxAttempt")
                and isinstance(item, int)
                and not isinstance(item, bool)
            ):
                if key == "maxAttempt":
                    self.report(codes.K117, here, at_key=True, old="maxAttempt", new="maxAttempts")
                fields["max_attempts"] = int(item)
            elif key in durations and parse_duration(item) is not None:
                fields[durations[key]] = parse_duration(item)
                fields.setdefault("spelled", {})[durations[key]] = str(item).strip()
            elif (
                key == "delayFactor"
                and isinstance(item, (int, float))
                and not isinstance(item, bool)
            ):
                fields["factor"] = float(item)
            else:
                if key in durations:
                    self.bad_duration(here, item)
                extras[key] = plain(item)
        return RetryPolicy(
            **fields, extras=extras, span=self.span(path), explicit=frozenset({"kind"})
        )

    def cache(self, value: Any, path: Path_) -> CachePolicy:
        value = self.named(value, path)
        if not isinstance(value, dict):
            raise _Invalid("a mapping")
        fields: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        explicit: set[str] = set()
        for key, item in value.items():
            if key == "enabled" and isinstance(item, bool):
                fields["enabled"] = item
                explicit.add("enabled")
            elif key == "ttl" and parse_duration(item) is not None:
                fields["ttl"] = parse_duration(item)
                fields["spelled"] = {"ttl": str(item).strip()}
            else:
                extras[key] = plain(item)
        return CachePolicy(**fields, extras=extras, explicit=frozenset(explicit))

    # --- flow-level policies, outputs, triggers ---------------------------------------------

    def _concurrency(self, value: Any, path: Path_) -> ConcurrencyPolicy:
        value = self.named(value, path)
        if not isinstance(value, dict) or not isinstance(value.get("limit"), int):
            raise _Invalid("a mapping with an integer limit")
        extras = {k: plain(v) for k, v in value.items() if k not in ("limit", "behavior")}
        behavior = value.get("behavior")
        if behavior is not None and (
            not isinstance(behavior, str) or behavior not in ConcurrencyBehavior.__members__
        ):
            extras["behavior"] = plain(behavior)
            behavior = None
        return ConcurrencyPolicy(
            limit=int(value["limit"]),
            behavior=behavior,
            extras=extras,
            explicit=frozenset({"behavior"} if "behavior" in value else ()),
        )

    def _outputs(self, value: Any, path: Path_) -> tuple[FlowOutput, ...]:
        if not isinstance(value, list) or not all(
            isinstance(o, dict) and isinstance(o.get("id"), str) and "value" in o for o in value
        ):
            raise _Invalid("a list of {id, type, value}")
        outputs = []
        for i, item in enumerate(value):
            here = (*path, i)
            item = self.named(item, here)
            extras = {
                k: plain(v)
                for k, v in item.items()
                if k not in ("id", "value", "type", "description")
            }
            typ = item.get("type")
            desc = item.get("description")
            outputs.append(
                FlowOutput(
                    id=str(item["id"]),
                    value=self.expr(item["value"], (*here, "value")),
                    type=str(typ) if isinstance(typ, str) else None,
                    description=str(desc) if isinstance(desc, str) else None,
                    extras={
                        **extras,
                        **(
                            {"type": plain(typ)}
                            if typ is not None and not isinstance(typ, str)
                            else {}
                        ),
                    },
                    span=self.span(here),
                )
            )
        return tuple(outputs)

    def _triggers(self, value: Any, path: Path_) -> tuple:
        if not isinstance(value, list):
            raise _Invalid("a list of triggers")
        triggers = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            trigger = self.trigger(item, (*path, i))
            if trigger is None:
                continue
            if trigger.id in seen:
                self.report(codes.K108, (*path, i), what="trigger", id=trigger.id)
            seen.add(trigger.id)
            triggers.append(trigger)
        return tuple(triggers)

    def trigger(self, data: Any, path: Path_):
        data = self.named(data, path)
        raw_type = self.header(schema.KTrigger, data, path)
        if raw_type is None:
            return None
        type_name = self.cat.canonical_type(raw_type)
        fields: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        explicit: set[str] = set()
        self.fill(data, path, self.cat.trigger_common, fields, extras, explicit, "trigger")
        fields.setdefault("id", str(data.get("id", "")))
        entry = self.cat.triggers.get(type_name)
        if entry is not None:
            node_fields: dict[str, Any] = {}
            self.fill(data, path, entry.properties, node_fields, extras, explicit, type_name)
            for key, value in data.items():
                if key not in entry.properties and key not in self.cat.trigger_common:
                    extras[key] = plain(value)
            if all(s.field in node_fields for s in entry.properties.values() if s.required):
                return _TRIGGER_KINDS[entry.node](
                    **fields,
                    **node_fields,
                    extras=extras,
                    span=self.span(path),
                    explicit=frozenset(explicit),
                )
            for spec in entry.properties.values():
                if spec.required and spec.key not in data:
                    self.report(codes.K103, path, name=spec.key)
        elif self.cat.is_unknown_core(type_name):
            self.report(codes.K107, (*path, "type"), type=raw_type)
        props = {k: plain(v) for k, v in data.items() if k not in self.cat.trigger_common}
        props.update({k: v for k, v in extras.items() if k in self.cat.trigger_common})
        return PluginTrigger(
            **fields,
            type=type_name,
            properties=props,
            span=self.span(path),
            explicit=frozenset(explicit),
        )

    def preconditions(self, value: Any) -> tuple[UpstreamFlow, ...]:
        """Only the plain form ``{flows: [{namespace, flowId, states}]}`` is modelled."""
        if not isinstance(value, dict):
            raise _Invalid("a mapping")
        if set(value) != {"flows"}:
            raise _Invalid("only a list of flows is modelled")
        flows = value.get("flows")
        if not isinstance(flows, list):
            raise _Invalid("a list of flows")
        upstream = []
        for item in flows:
            if not isinstance(item, dict) or set(item) - {"namespace", "flowId", "states"}:
                raise _Invalid("flows of {namespace, flowId, states}")
            states = item.get("states", [])
            if not isinstance(states, list):
                raise _Invalid("states as a list")
            upstream.append(
                UpstreamFlow(
                    namespace=item.get("namespace"),
                    flow_id=item.get("flowId"),
                    states=tuple(str(s) for s in states),
                    explicit=frozenset({"states"} if "states" in item else ()),
                )
            )
        return tuple(upstream)

    # --- whole-flow checks -----------------------------------------------------------------

    def _check_flow(self, flow: Flow, data: dict) -> None:
        graph = build_graph(flow, pebble.task_references_in_text)
        self.diagnostics.extend(graph.diagnostics)
        for step in flow.all_steps():
            if step.kind == "subflow" and step.items is None:
                ns, fid = step.namespace, step.flow_id
                if (
                    isinstance(ns, Literal)
                    and isinstance(fid, Literal)
                    and ns.value == flow.namespace
                    and fid.value == flow.id
                ):
                    self.diagnostics.append(codes.K113.at(step.span, flow=flow.id))
            if step.kind == "working_directory":
                for child in step.steps:
                    if isinstance(child, ControlStep) or _is_flowable_plugin(child):
                        self.diagnostics.append(
                            codes.K114.at(child.span, child=child.id, type=_kind_label(child))
                        )


# The kind of value each converter of the catalogue takes: a value of another kind (a mapping
# where a string is expected, a string where a list of tasks is) is one Kestra rejects.
_SCALAR_CONVS = frozenset({"str", "int", "bool", "duration"})
_LIST_CONVS = frozenset({"strings", "steps", "dag"})
_MAP_CONVS = frozenset({"cases", "retry", "cache", "preconditions"})


def _wrong_kind(conv: str, value: Any) -> bool:
    """Whether ``value`` is not even the kind of value (scalar, list, mapping) ``conv`` takes."""
    if value is None:
        return False
    if conv in _SCALAR_CONVS:
        return isinstance(value, (dict, list))
    if conv in _LIST_CONVS:
        return not isinstance(value, list)
    if conv in _MAP_CONVS:
        return not isinstance(value, dict)
    return False


_STR_TAG = "tag:yaml.org,2002:str"


def _tag(value: Any) -> str | None:
    """The YAML tag Kestra would ignore on ``value`` (as written, ``!!`` for the standard
    ones), if any."""
    if isinstance(value, TaggedScalar):
        tag = value.tag.value if value.tag is not None else None
        return None if tag in (None, _STR_TAG) else _short_tag(tag)
    if isinstance(value, CommentedOrderedMap):
        return "!!omap"
    if isinstance(value, (CommentedMap, CommentedSeq)):
        tag = getattr(value.tag, "value", None)
        return None if tag is None else _short_tag(tag)
    if isinstance(value, bytes):
        return "!!binary"
    if isinstance(value, (CommentedSet, set, frozenset)):
        return "!!set"
    return None


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


def _untagged(value: Any) -> Any:
    """``value`` without its tag: plain data as Kestra reads it."""
    if isinstance(value, TaggedScalar):
        return str(value.value) if value.value is not None else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (CommentedMap, CommentedSeq)):
        return value
    return CommentedMap((member, None) for member in value)  # a set: its members, to null


def _kind(value: Any) -> str:
    if isinstance(value, (TaggedScalar, bytes)):
        return "a string"
    if isinstance(value, CommentedSeq):
        return "a list"
    return "a mapping"


def _key_text(key: Any) -> str:
    """A mapping key as the text Kestra reads for it."""
    if isinstance(key, (dt.date, dt.datetime)):
        return key.isoformat()
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (str, int, float)):
        return str(key)
    return repr(plain(key))


def _position(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line or 0, span.col or 0) if span else (0, 0)


def _is_flowable_plugin(step: Step) -> bool:
    return (
        isinstance(step, TaskStep)
        and isinstance(step.action, PluginCall)
        and (
            "tasks" in step.action.properties
            and step.action.type.startswith("io.kestra.plugin.core.flow.")
        )
    )


def _kind_label(step: Step) -> str:
    if isinstance(step, TaskStep) and isinstance(step.action, PluginCall):
        return step.action.type
    return step.kind


def _short(value: Any) -> str:
    text = repr(plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["ReadResult", "looks_like_flow", "read_kestra", "read_kestra_file"]
