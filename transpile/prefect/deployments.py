"""Prefect deployments and schedules → IR triggers.

Deployments are read statically from Python (``fn.serve(...)``, ``fn.deploy(...)``,
``fn.to_deployment(...)``, ``flow.from_source(...).deploy(...)``,
``Deployment.build_from_flow(...)``) and from ``prefect.yaml``. Both are first lowered to the same
plain data (a schedule is a mapping like a ``prefect.yaml`` schedule entry, a trigger a mapping like
a ``prefect.yaml`` trigger), so one mapping serves both:

* cron → :class:`Schedule` with that cron (``day_or=False`` is approximated, D101);
* interval → a cron when one matches it: the interval divides a day evenly into whole minutes
  (or hours) or is a week, phased by ``anchor_date`` (midnight when there is none, since Prefect
  then anchors at deploy time); otherwise ``Schedule(interval=…)`` with D101;
* rrule → ``Schedule(rrule=…)`` with D101 (no Kestra counterpart; the Kestra writer reports it);
* ``parameters`` (the deployment's, overridden by the schedule's) → ``inputs``;
  ``active: false``/``paused``/``is_schedule_active=False`` → ``disabled``;
* an event trigger on another flow's run reaching Completed/Failed/Crashed/Cancelled →
  :class:`FlowRun`; any other trigger → D102.

Deployment tags have no Kestra counterpart: they are returned on :class:`DeploymentInfo` and
reported (D104, info) by the ``triggers_from_*`` functions.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import posixpath
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from grammars.kestra.ids import make_id
from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic
from ir.expressions import from_data
from ir.triggers import FlowRun, Schedule, Trigger, UpstreamFlow

from ..kestra.values import parse_duration, plain
from .positions import Positions
from .scope import dotted

if TYPE_CHECKING:
    from ..kestra.loader import Document

__all__ = [
    "PREFECT_YAML_SCHEMA",
    "DeploymentInfo",
    "deployments_from_module",
    "deployments_from_prefect_yaml",
    "interval_cron",
    "triggers_from_module",
    "triggers_from_prefect_yaml",
]

PREFECT_YAML_SCHEMA = (
    Path(__file__).resolve().parents[3] / "shared" / "schemas" / "prefect.yaml.schema.json"
)
"""Prefect's JSON Schema for ``prefect.yaml``; validation is skipped when it is absent."""

# Flow-run events a Kestra Flow trigger can wait for, as Kestra execution states.
_EVENT_STATES = {
    "prefect.flow-run.Completed": "SUCCESS",
    "prefect.flow-run.Failed": "FAILED",
    "prefect.flow-run.Crashed": "FAILED",
    "prefect.flow-run.Cancelled": "KILLED",
}
# Trigger keys that do not change which runs start the deployment.
_NEUTRAL_TRIGGER_KEYS = frozenset(
    {"type", "name", "description", "enabled", "expect", "match", "match_related", "parameters"}
    | {"for_each", "within", "posture", "threshold", "after", "job_variables"}
)
_SCHEDULE_KEYS = frozenset(
    {"cron", "interval", "rrule", "timezone", "anchor_date", "active", "parameters", "slug"}
    | {"day_or", "replaces", "max_scheduled_runs", "schedule"}
)
_SCHEDULE_CALLS = {
    "Cron": "cron",
    "CronSchedule": "cron",
    "Interval": "interval",
    "IntervalSchedule": "interval",
    "RRule": "rrule",
    "RRuleSchedule": "rrule",
    "Schedule": None,
}
_SCHEDULE_WRAPPERS = frozenset({"DeploymentScheduleCreate", "MinimalDeploymentSchedule"})
_TRIGGER_CALLS = {
    "DeploymentEventTrigger": "event",
    "DeploymentTrigger": "event",
    "EventTrigger": "event",
    "DeploymentMetricTrigger": "metric",
    "MetricTrigger": "metric",
    "DeploymentCompoundTrigger": "compound",
    "CompoundTrigger": "compound",
    "DeploymentSequenceTrigger": "sequence",
    "SequenceTrigger": "sequence",
}
_INTERVAL_SCHEDULE_KEYS = frozenset({"interval", "anchor_date", "timezone"})
_UTC_NAMES = frozenset({"timezone.utc", "datetime.timezone.utc", "pytz.utc", "pendulum.UTC"})
_DEPLOY_METHODS = frozenset({"serve", "deploy", "to_deployment"})
_TIMEDELTA_UNITS = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
_CLOCK = re.compile(r"^(?:(?P<d>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)$")


@dataclass
class DeploymentInfo:
    """One deployment found statically: the flow it runs (a function name in Python, a flow id
    in ``prefect.yaml``), its name, the triggers it maps to and its tags."""

    flow: str
    name: str
    triggers: list[Trigger] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    span: Span | None = None


class _Unknown:
    """A value that cannot be computed statically."""

    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN: Any = _Unknown()


# --- public API ------------------------------------------------------------------------------


def triggers_from_module(
    module: cst.Module,
    flow_ids: dict[str, str],
    file: str | None,
    *,
    flow_ids_by_name: dict[str, str] | None = None,
    positions: Positions | None = None,
) -> tuple[dict[str, list[Trigger]], list[Diagnostic]]:
    """The triggers of the deployments a Python module creates, by flow function name.

    ``flow_ids`` maps the module's flow function names to their flow ids; only deployments of
    those functions (or of a ``from_source`` entrypoint) are read. Calls are found anywhere in
    the module, including under ``if __name__ == "__main__":``. A ``from_source`` deployment
    is keyed by its entrypoint's function name, which may be a flow of another file.
    ``flow_ids_by_name`` resolves upstream flows of event triggers (otherwise slugged);
    ``positions`` shares the module's node positions with a caller that already has them."""
    deployments, diagnostics = deployments_from_module(
        module, flow_ids, file, flow_ids_by_name=flow_ids_by_name, positions=positions
    )
    return _by_flow(deployments, diagnostics)


def triggers_from_prefect_yaml(
    path: Path,
    flow_ids_by_entrypoint: dict[str, str],
    *,
    flow_ids_by_name: dict[str, str] | None = None,
    schema: Path | None = PREFECT_YAML_SCHEMA,
) -> tuple[dict[str, list[Trigger]], list[Diagnostic]]:
    """The triggers of the deployments in a ``prefect.yaml``, by flow id.

    ``flow_ids_by_entrypoint`` maps ``relative/path.py:function`` to the id of the converted
    flow; ``flow_ids_by_name`` maps Prefect flow names to ids, for upstream flows of event
    triggers (otherwise the name is slugged). Never raises: unreadable or invalid files are
    reported as D103."""
    deployments, diagnostics = deployments_from_prefect_yaml(
        path, flow_ids_by_entrypoint, flow_ids_by_name=flow_ids_by_name, schema=schema
    )
    return _by_flow(deployments, diagnostics)


def deployments_from_module(
    module: cst.Module,
    flow_ids: dict[str, str],
    file: str | None,
    *,
    flow_ids_by_name: dict[str, str] | None = None,
    positions: Positions | None = None,
) -> tuple[list[DeploymentInfo], list[Diagnostic]]:
    """Like :func:`triggers_from_module`, one record per deployment (with its tags)."""
    positions = positions or Positions(module)
    finder = _CallFinder(module, positions, flow_ids, file, flow_ids_by_name or {})
    for statement in _mentioning_deployments(module, positions):
        statement.visit(finder)
    return finder.deployments, finder.mapper.diagnostics


def deployments_from_prefect_yaml(
    path: Path,
    flow_ids_by_entrypoint: dict[str, str],
    *,
    flow_ids_by_name: dict[str, str] | None = None,
    schema: Path | None = PREFECT_YAML_SCHEMA,
) -> tuple[list[DeploymentInfo], list[Diagnostic]]:
    """Like :func:`triggers_from_prefect_yaml`, one record per deployment (with its tags)."""
    from ..kestra.loader import read_file  # YAML is loaded only when there is a prefect.yaml

    documents, problems = read_file(path)
    if problems:
        return [], [_d103(p.span, p.message) for p in problems]
    if not documents:
        return [], []
    reader = _YamlReader(documents[0], flow_ids_by_entrypoint, flow_ids_by_name or {})
    if len(documents) > 1:
        reader.mapper.diagnostics.append(
            _d103(documents[1].span(), "several YAML documents; only the first is read")
        )
    reader.validate(schema)
    reader.read()
    return reader.deployments, reader.mapper.diagnostics


def _by_flow(
    deployments: list[DeploymentInfo], diagnostics: list[Diagnostic]
) -> tuple[dict[str, list[Trigger]], list[Diagnostic]]:
    result: dict[str, list[Trigger]] = {}
    for deployment in deployments:
        if deployment.triggers:
            result.setdefault(deployment.flow, []).extend(deployment.triggers)
        if deployment.tags:
            diagnostics.append(
                codes.D104.at(deployment.span, tags=list(deployment.tags), name=deployment.name)
            )
    return result, diagnostics


def _d103(span: Span | None, reason: str) -> Diagnostic:
    return codes.D103.at(span, reason=reason)


# --- the shared mapping ----------------------------------------------------------------------


class _Mapper:
    """Turns schedule and trigger data into IR triggers with unique ids per flow."""

    def __init__(self, flow_ids_by_name: dict[str, str] | None = None) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.flow_ids_by_name = flow_ids_by_name or {}
        self.used: dict[str, set[str]] = {}

    def unique(self, flow: str, base: str) -> str:
        used = self.used.setdefault(flow, set())
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        return candidate

    def approx(self, span: Span | None, what: str, reason: str) -> None:
        self.diagnostics.append(codes.D101.at(span, what=what, reason=reason))

    def not_converted(self, span: Span | None, reason: str) -> None:
        self.diagnostics.append(codes.D102.at(span, reason=reason))

    # schedules

    def schedules(
        self,
        flow: str,
        deployment: str,
        entries: list[tuple[Any, Span | None]],
        parameters: Any,
        paused: bool,
    ) -> list[Trigger]:
        triggers: list[Trigger] = []
        base = make_id(deployment, "task", "schedule")
        for n, (entry, span) in enumerate(entries, start=1):
            default = base if len(entries) == 1 else f"{base}_{n}"
            trigger = self.schedule(flow, default, entry, span, parameters, paused)
            if trigger is not None:
                triggers.append(trigger)
        return triggers

    def schedule(
        self,
        flow: str,
        default_id: str,
        entry: Any,
        span: Span | None,
        parameters: Any,
        paused: bool,
    ) -> Schedule | None:
        what = repr(default_id)
        if entry is _UNKNOWN or not isinstance(entry, dict):
            self.approx(span, what, "it cannot be read statically; it is not converted")
            return None
        inner = entry.get("schedule")
        if isinstance(inner, dict):  # DeploymentScheduleCreate: {schedule: {...}, active, ...}
            entry = {**inner, **{k: v for k, v in entry.items() if k != "schedule"}}
        elif inner is not None:
            self.approx(span, what, "its schedule cannot be read statically; not converted")
            return None
        if not any(entry.get(k) is not None for k in ("cron", "interval", "rrule")):
            return None  # NoSchedule / an empty mapping
        slug = entry.get("slug")
        trigger_id = self.unique(
            flow, make_id(slug, "task", default_id) if isinstance(slug, str) else default_id
        )
        what = repr(trigger_id)
        for key in sorted(set(entry) - _SCHEDULE_KEYS):
            self.approx(span, what, f"{key!r} has no Kestra counterpart and is dropped")

        timezone = entry.get("timezone")
        if timezone is not None and not isinstance(timezone, str):
            self.approx(span, what, "its timezone cannot be read statically; UTC is used")
            timezone = None
        fields: dict[str, Any] = {"id": trigger_id, "timezone": timezone, "span": span}

        inputs = self.inputs(parameters, entry.get("parameters"), span, what)
        if inputs:
            fields["inputs"] = from_data(inputs)
        active = entry.get("active", True)
        if isinstance(active, str):
            active = active.strip().lower() not in ("false", "0", "no", "off")
        if paused or active is False:
            fields["disabled"] = True

        if entry.get("cron") is not None:
            cron = entry["cron"]
            if not isinstance(cron, str):
                self.approx(span, what, "its cron cannot be read statically; not converted")
                return None
            if entry.get("day_or") is False and _restricts_both_days(cron):
                self.approx(
                    span,
                    what,
                    "day_or=False (day of month AND day of week) is read by Kestra as OR",
                )
            return Schedule(cron=cron.strip(), **fields)
        if entry.get("interval") is not None:
            return self.interval(entry, fields, span, what)
        rrule = entry["rrule"]
        if not isinstance(rrule, str):
            self.approx(span, what, "its rrule cannot be read statically; not converted")
            return None
        self.approx(span, what, "an RRULE has no Kestra counterpart; no cron is written for it")
        return Schedule(rrule=rrule, **fields)

    def interval(
        self, entry: dict[str, Any], fields: dict[str, Any], span: Span | None, what: str
    ) -> Schedule | None:
        seconds = _seconds(entry["interval"])
        if seconds is None:
            self.approx(span, what, "its interval cannot be read statically; not converted")
            return None
        anchor = _datetime(entry.get("anchor_date"))
        if entry.get("anchor_date") is not None and anchor is None:
            self.approx(span, what, "its anchor_date cannot be read; midnight is assumed")
        anchor, timezone = _localise(anchor, fields["timezone"])
        fields["timezone"] = timezone
        cron, reason = interval_cron(seconds, anchor)
        if cron is None:
            self.approx(span, what, f"{reason}; no Kestra cron matches it")
            return Schedule(interval=dt.timedelta(seconds=seconds), **fields)
        if reason:
            self.approx(span, what, reason)
        return Schedule(cron=cron, **fields)

    def inputs(self, deployment: Any, schedule: Any, span: Span | None, what: str) -> dict:
        merged: dict[str, Any] = {}
        for value in (deployment, schedule):
            if value is None:
                continue
            if isinstance(value, dict) and _UNKNOWN not in _leaves(value):
                merged.update(value)
            else:
                self.approx(span, what, "parameters cannot be read statically; runs get defaults")
        return merged

    # event triggers

    def event(
        self,
        flow: str,
        deployment: str,
        data: Any,
        span: Span | None,
        parameters: Any,
        paused: bool,
    ) -> FlowRun | None:
        if data is _UNKNOWN or not isinstance(data, dict):
            self.not_converted(span, "it cannot be read statically")
            return None
        kind = data.get("type", "event")
        if kind != "event":
            self.not_converted(span, f"{kind!r} triggers have no Kestra counterpart")
            return None
        problem = _event_problem(data)
        if problem is not None:
            self.not_converted(span, problem)
            return None
        upstream_name, states = _upstream(data)
        if upstream_name is None:
            self.not_converted(
                span,
                "only triggers on one named flow's runs (match_related: prefect.resource.name) "
                "become Kestra Flow triggers",
            )
            return None
        if not states:
            self.not_converted(
                span,
                f"expected events {sorted(_strings(data.get('expect')))} are not flow-run "
                f"states ({', '.join(_EVENT_STATES)})",
            )
            return None
        upstream_id = self.flow_ids_by_name.get(
            upstream_name, make_id(upstream_name, "flow", "flow")
        )
        base = make_id(data.get("name") or f"{deployment}_on_{upstream_id}", "task", "flow_trigger")
        fields: dict[str, Any] = {"id": self.unique(flow, base), "span": span}
        inputs = self.inputs(parameters, data.get("parameters"), span, repr(fields["id"]))
        if inputs:
            fields["inputs"] = from_data(inputs)
        if paused or data.get("enabled", True) is False:
            fields["disabled"] = True
        upstream = UpstreamFlow(namespace=None, flow_id=upstream_id, states=states)
        return FlowRun(upstream=(upstream,), **fields)


def _event_problem(data: dict[str, Any]) -> str | None:
    """Why an event trigger is not a plain 'another flow's run finished', if it is not."""
    extra = sorted(set(data) - _NEUTRAL_TRIGGER_KEYS)
    if extra:
        return f"{extra[0]!r} has no Kestra counterpart"
    if data.get("posture", "Reactive") != "Reactive":
        return f"posture {data.get('posture')!r} (only Reactive triggers convert)"
    if data.get("threshold", 1) != 1:
        return f"threshold {data.get('threshold')!r} (Kestra fires on every upstream run)"
    if data.get("after"):
        return "'after' events have no Kestra counterpart"
    match = data.get("match")
    if match not in (None, {}) and match != {"prefect.resource.id": "prefect.flow-run.*"}:
        return "a 'match' on other resources than flow runs"
    return None


def _upstream(data: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    related = data.get("match_related")
    if isinstance(related, list) and len(related) == 1:
        related = related[0]
    name = None
    if isinstance(related, dict) and set(related) <= {
        "prefect.resource.name",
        "prefect.resource.role",
    }:
        value = related.get("prefect.resource.name")
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        role = related.get("prefect.resource.role", "flow")
        if isinstance(value, str) and value and role == "flow":
            name = value
    events = _strings(data.get("expect"))
    if any(e not in _EVENT_STATES for e in events):
        return name, ()
    states = tuple(dict.fromkeys(_EVENT_STATES[e] for e in events))
    return name, states


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(str(v) for v in value) if isinstance(value, (set, frozenset)) else list(value)
    return []


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _restricts_both_days(cron: str) -> bool:
    fields = cron.split()
    return len(fields) >= 5 and fields[2] not in ("*", "?") and fields[4] not in ("*", "?")


# --- intervals -------------------------------------------------------------------------------


def interval_cron(seconds: float, anchor: dt.datetime | None = None) -> tuple[str | None, str]:
    """The cron that fires every ``seconds``, in phase with ``anchor`` (wall-clock time in the
    schedule's timezone; None: midnight), and a reason. Returns ``(None, why)`` when no
    standard five-field cron fires at that period; ``(cron, note)`` with a non-empty note when
    the cron is close but not exact."""
    note = ""
    if seconds <= 0:
        return None, f"an interval of {seconds:g}s is not positive"
    if seconds != int(seconds) or int(seconds) % 60:
        return None, f"an interval of {dt.timedelta(seconds=seconds)} is not whole minutes"
    period = int(seconds)
    anchor = anchor or dt.datetime(2023, 1, 1)  # a Sunday at midnight, as cron's @weekly
    if anchor.second or anchor.microsecond:
        note = "the seconds of anchor_date are dropped (cron has minute precision)"
    minute, hour = anchor.minute, anchor.hour
    if 86400 % period == 0:
        step = period // 60
        if step < 60:
            if 60 % step:
                return None, f"an interval of {step} minutes does not divide an hour evenly"
            first = minute % step
            if step == 1:
                return "* * * * *", note
            minutes = f"*/{step}" if first == 0 else ",".join(map(str, range(first, 60, step)))
            return f"{minutes} * * * *", note
        if period % 3600:
            return None, f"an interval of {dt.timedelta(seconds=period)} is not whole hours"
        hours = period // 3600
        first = hour % hours
        if hours == 1:
            hour_field = "*"
        elif hours == 24:
            hour_field = str(hour)
        elif first == 0:
            hour_field = f"*/{hours}"
        else:
            hour_field = ",".join(map(str, range(first, 24, hours)))
        return f"{minute} {hour_field} * * *", note
    if period == 7 * 86400:
        return f"{minute} {hour} * * {anchor.isoweekday() % 7}", note
    return None, f"an interval of {dt.timedelta(seconds=period)} does not divide a day evenly"


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value is _UNKNOWN:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        duration = parse_duration(text)
        if duration is not None:
            return duration.total_seconds()
        clock = _CLOCK.match(text)
        if clock:
            parts = {k: float(v or 0) for k, v in clock.groupdict().items()}
            return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    return None


def _datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _localise(
    anchor: dt.datetime | None, timezone: str | None
) -> tuple[dt.datetime | None, str | None]:
    """The anchor as wall-clock time in the schedule's timezone, and that timezone. Prefect
    reads a naive anchor in the schedule's timezone and infers a missing timezone from an
    aware anchor."""
    if anchor is None or anchor.tzinfo is None:
        return anchor, timezone
    if timezone is None:
        key = getattr(anchor.tzinfo, "key", None)
        if isinstance(key, str):
            return anchor.replace(tzinfo=None), key
        return anchor.astimezone(dt.timezone.utc).replace(tzinfo=None), None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return anchor.replace(tzinfo=None), timezone
    return anchor.astimezone(zone).replace(tzinfo=None), timezone


# --- Python modules --------------------------------------------------------------------------


class _Static:
    """Evaluates constant Python expressions of a module: literals, module-level constants,
    ``timedelta``/``datetime`` and Prefect schedule and trigger constructors (as plain data)."""

    def __init__(self, module: cst.Module) -> None:
        self.constants: dict[str, cst.BaseExpression | None] = {}
        self.imports: dict[str, str] = {}
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        seen = target.value in self.constants
                        self.constants[target.value] = None if seen else small.value
                elif isinstance(small, cst.ImportFrom) and isinstance(small.names, Iterable):
                    source = dotted(small.module) if small.module else ""
                    for alias in small.names:
                        name = dotted(alias.name)
                        local = alias.asname.name.value if alias.asname else name  # type: ignore
                        self.imports[str(local)] = f"{source}.{name}"
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        name = dotted(alias.name)
                        if alias.asname:
                            self.imports[alias.asname.name.value] = name  # type: ignore
        self.resolving: set[str] = set()

    def callee(self, node: cst.BaseExpression) -> str | None:
        """The last segment of a called name, after import aliases (``CS`` → ``CronSchedule``)."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = self.imports.get(head, head) + (f".{rest}" if rest else "")
        return full.rpartition(".")[2]

    def value(self, node: cst.BaseExpression | None) -> Any:
        if node is None:
            return _UNKNOWN
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = node.evaluated_value
            return text if isinstance(text, str) else _UNKNOWN
        if isinstance(node, (cst.Integer, cst.Float)):
            return node.evaluated_value
        if isinstance(node, cst.Name):
            return self.name(node.value)
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            items = [self.value(e.value) for e in node.elements if isinstance(e, cst.Element)]
            if len(items) != len(node.elements):
                return _UNKNOWN  # a starred element
            return items
        if isinstance(node, cst.Dict):
            return self.mapping(node)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            operand = self.value(node.expression)
            return -operand if _is_number(operand) else _UNKNOWN
        if isinstance(node, cst.BinaryOperation):
            return _arithmetic(node.operator, self.value(node.left), self.value(node.right))
        if isinstance(node, cst.Call):
            return self.call(node)
        if isinstance(node, cst.Attribute) and dotted(node) in _UTC_NAMES:
            return "UTC"
        return _UNKNOWN

    def name(self, name: str) -> Any:
        words = {"True": True, "False": False, "None": None}
        if name in words:
            return words[name]
        expr = self.constants.get(name)
        if expr is None or name in self.resolving:
            return _UNKNOWN
        self.resolving.add(name)
        try:
            return self.value(expr)
        finally:
            self.resolving.discard(name)

    def mapping(self, node: cst.Dict) -> Any:
        result: dict[Any, Any] = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return _UNKNOWN
            key = self.value(element.key)
            if key is _UNKNOWN or isinstance(key, (list, dict)):
                return _UNKNOWN
            result[key] = self.value(element.value)
        return result

    def arguments(self, call: cst.Call, positional: tuple[str, ...]) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for index, arg in enumerate(call.args):
            if arg.star:
                return None
            if arg.keyword is not None:
                values[arg.keyword.value] = self.value(arg.value)
            elif index < len(positional):
                values[positional[index]] = self.value(arg.value)
            else:
                return None
        return values

    def call(self, node: cst.Call) -> Any:
        name = self.callee(node.func)
        if name == "timedelta" or name == "duration":  # datetime.timedelta, pendulum.duration
            args = self.arguments(node, _TIMEDELTA_UNITS)
            if args is None or not all(_is_number(v) for v in args.values()):
                return _UNKNOWN
            try:
                return dt.timedelta(**args)
            except (TypeError, OverflowError):
                return _UNKNOWN
        if name == "datetime":
            return self.datetime(node)
        if name in ("ZoneInfo", "timezone") and len(node.args) == 1:  # zoneinfo, pytz, pendulum
            zone = self.value(node.args[0].value)
            return zone if isinstance(zone, str) else _UNKNOWN
        if name in _SCHEDULE_CALLS:
            key = _SCHEDULE_CALLS[name]
            args = self.arguments(node, (key,) if key else ())
            return _UNKNOWN if args is None else args
        if name in _SCHEDULE_WRAPPERS:
            args = self.arguments(node, ("schedule",))
            return _UNKNOWN if args is None else args
        if name in _TRIGGER_CALLS:
            args = self.arguments(node, ())
            return _UNKNOWN if args is None else {"type": _TRIGGER_CALLS[name], **args}
        return _UNKNOWN

    def datetime(self, node: cst.Call) -> Any:
        fields = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        args = self.arguments(node, fields)
        if args is None:
            return _UNKNOWN
        zone = args.pop("tz", None) or args.pop("tzinfo", None)
        if not all(_is_number(args.get(k, 0)) for k in fields) or set(args) - set(fields):
            return _UNKNOWN
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            value = dt.datetime(**{k: int(v) for k, v in args.items()})
            if zone is not None:
                if not isinstance(zone, str):
                    return _UNKNOWN
                value = value.replace(tzinfo=ZoneInfo(zone))
        except (TypeError, ValueError, ZoneInfoNotFoundError):
            return _UNKNOWN
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _arithmetic(operator: cst.BaseBinaryOp, left: Any, right: Any) -> Any:
    numbers = _is_number(left) and _is_number(right)
    deltas = isinstance(left, dt.timedelta) or isinstance(right, dt.timedelta)
    if not numbers and not deltas:
        return _UNKNOWN
    try:
        if isinstance(operator, cst.Add):
            return left + right
        if isinstance(operator, cst.Subtract):
            return left - right
        if isinstance(operator, cst.Multiply):
            return left * right
        if isinstance(operator, cst.Divide):
            return left / right
        if isinstance(operator, cst.FloorDivide):
            return left // right
    except (TypeError, ZeroDivisionError, OverflowError):
        return _UNKNOWN
    return _UNKNOWN


_DEPLOY_WORDS = re.compile(r"serve|deploy|Deployment|build_from_flow")
_DEPLOY_CALLEES = frozenset({"Deployment", "build_from_flow"})  # called by name
_DEPLOYMENT_ALIAS = re.compile(r"\bDeployment\s+as\s+(\w+)")


def _mentioning_deployments(module: cst.Module, positions: Positions) -> list[cst.CSTNode]:
    """The top-level statements whose lines mention a deployment API. Visiting only those
    skips the bulk of a module (its tasks and helpers) without missing a call."""
    text = positions.code
    words = _DEPLOY_WORDS
    aliases = _DEPLOYMENT_ALIAS.findall(text)
    if aliases:
        words = re.compile("|".join([words.pattern, *(rf"\b{a}\b" for a in aliases)]))
    lines = sorted({positions.line_of(m.start()) for m in words.finditer(text)})
    body = list(module.body)
    starts = [(positions.start(stmt) or (1, 1))[0] for stmt in body]
    chosen: list[cst.CSTNode] = []
    for i, stmt in enumerate(body):
        end = starts[i + 1] if i + 1 < len(body) else math.inf
        at = bisect_left(lines, starts[i])
        if at < len(lines) and lines[at] < end:
            chosen.append(stmt)
    return chosen


class _CallFinder(cst.CSTVisitor):
    """Finds deployment calls in a module and maps them."""

    def __init__(
        self,
        module: cst.Module,
        positions: Positions,
        flow_ids: dict[str, str],
        file: str | None,
        flow_ids_by_name: dict[str, str],
    ) -> None:
        super().__init__()
        self.positions = positions
        self.static = _Static(module)
        self.flow_ids = flow_ids
        self.file = file
        self.mapper = _Mapper(flow_ids_by_name)
        self.deployments: list[DeploymentInfo] = []
        # Where the words a deployment call must contain occur: a method name, a constructor
        # name or a local alias of one. Parts of the tree without any are not walked.
        aliases = [
            re.escape(local)
            for local, imported in self.static.imports.items()
            if imported.rpartition(".")[2] in _DEPLOY_CALLEES
        ]
        words = "|".join([_DEPLOY_WORDS.pattern, *(rf"\b{a}\b" for a in aliases)])
        self.hits = [m.start() for m in re.finditer(words, positions.code)]

    def on_visit(self, node: cst.CSTNode) -> bool:
        extent = self.positions.extent(node)
        if extent is not None:
            at = bisect_left(self.hits, extent[0])
            if at == len(self.hits) or self.hits[at] >= extent[1]:
                return False
        return super().on_visit(node)

    def span(self, node: cst.CSTNode) -> Span:
        position = self.positions.start(node)
        if position is None:
            return Span(file=self.file)
        return Span(file=self.file, line=position[0], col=position[1])

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _DEPLOY_METHODS:
            flow = self.flow_of(func.value)
            if flow is not None:
                self.deployment(node, flow, name_position=0, build=False)
            elif _schedule_arguments(node):
                self.mapper.not_converted(
                    self.span(node), "the deployed flow cannot be determined statically"
                )
            return
        name = self.static.callee(func)
        if name == "build_from_flow" or (name == "Deployment" and _keyword(node, "flow")):
            flow_arg = _keyword(node, "flow") or (node.args[0].value if node.args else None)
            if isinstance(flow_arg, cst.Name) and flow_arg.value in self.flow_ids:
                self.deployment(node, flow_arg.value, name_position=1, build=True)

    def flow_of(self, node: cst.BaseExpression) -> str | None:
        """The flow function a ``.serve``/``.deploy``/``.to_deployment`` receiver stands for."""
        if isinstance(node, cst.Name):
            return node.value if node.value in self.flow_ids else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method == "with_options":
                return self.flow_of(node.func.value)
            if method == "from_source":
                entrypoint = _keyword(node, "entrypoint")
                if entrypoint is None and len(node.args) > 1 and node.args[1].keyword is None:
                    entrypoint = node.args[1].value
                value = self.static.value(entrypoint)
                if isinstance(value, str) and ":" in value:
                    return value.rpartition(":")[2].strip() or None
        return None

    def deployment(self, call: cst.Call, flow: str, name_position: int, build: bool) -> None:
        name_node = _keyword(call, "name")
        if name_node is None:
            positional = [a for a in call.args if a.keyword is None]
            if len(positional) > name_position:
                name_node = positional[name_position].value
        name = self.static.value(name_node) if name_node is not None else _UNKNOWN
        name = name if isinstance(name, str) and name else flow
        span = self.span(call)

        entries: list[tuple[Any, Span | None]] = []
        for key in ("cron", "interval", "rrule"):
            node = _keyword(call, key)
            if node is not None:
                entries.extend(self.entries(node, key, many=not build))
        for key, many in (("schedule", False), ("schedules", True)):
            node = _keyword(call, key)
            if node is not None:
                entries.extend(self.entries(node, None, many=many))

        parameters = self.optional(call, "parameters")
        paused = self.static.value(_keyword(call, "paused")) is True
        paused = paused or self.static.value(_keyword(call, "is_schedule_active")) is False
        triggers: list[Trigger] = self.mapper.schedules(flow, name, entries, parameters, paused)
        trigger_node = _keyword(call, "triggers")
        if trigger_node is not None:
            for data, where in self.entries(trigger_node, None, many=True):
                event = self.mapper.event(flow, name, data, where, parameters, paused)
                if event is not None:
                    triggers.append(event)
        tags = self.static.value(_keyword(call, "tags"))
        tags = tuple(str(t) for t in tags) if isinstance(tags, list) else ()
        self.deployments.append(DeploymentInfo(flow, name, triggers, tags, span))

    def optional(self, call: cst.Call, key: str) -> Any:
        node = _keyword(call, key)
        return None if node is None else self.static.value(node)

    def entries(
        self, node: cst.BaseExpression, key: str | None, many: bool
    ) -> list[tuple[Any, Span]]:
        """Schedule (or trigger) data of one argument: a list of entries when ``many``."""
        elements: list[cst.BaseExpression] = [node]
        if many and isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            elements = [e.value for e in node.elements]
        elif many:
            value = self.static.value(node)
            if isinstance(value, list):  # a module constant holding a list
                return [(self.wrap(v, key), self.span(node)) for v in value]
        found = []
        for element in elements:
            value = self.static.value(element)
            if value is None:
                continue
            found.append((self.wrap(value, key), self.span(element)))
        return found

    @staticmethod
    def wrap(value: Any, key: str | None) -> Any:
        return {key: value} if key is not None and value is not _UNKNOWN else value


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _schedule_arguments(call: cst.Call) -> bool:
    keys = ("cron", "interval", "rrule", "schedule", "schedules", "triggers")
    return any(_keyword(call, key) is not None for key in keys)


# --- prefect.yaml ----------------------------------------------------------------------------


class _YamlReader:
    """Reads the deployments of one ``prefect.yaml`` document."""

    def __init__(
        self,
        document: Document,
        flow_ids_by_entrypoint: dict[str, str],
        flow_ids_by_name: dict[str, str],
    ) -> None:
        self.doc = document
        self.data = plain(document.data)
        self.flows = {_entrypoint(k): v for k, v in flow_ids_by_entrypoint.items()}
        self.flow_ids_by_name = flow_ids_by_name
        self.mapper = _Mapper(flow_ids_by_name)
        self.deployments: list[DeploymentInfo] = []

    def validate(self, schema: Path | None) -> None:
        """Report (D103) where the file does not match Prefect's schema, one finding per
        deployment; skipped when jsonschema or the schema file is unavailable."""
        validator = _validator(str(schema)) if schema is not None else None
        if validator is None:
            return
        try:
            errors = list(validator.iter_errors(_for_schema(self.data)))
        except Exception:  # a schema the installed jsonschema cannot use: skip, never fail
            return
        from jsonschema.exceptions import best_match

        groups: dict[tuple, list] = {}
        for error in errors:
            groups.setdefault(tuple(error.absolute_path)[:2], []).append(error)
        for where in sorted(groups, key=lambda p: tuple(map(str, p))):
            unexpected = [e for e in map(_unexpected_key, groups[where]) if e is not None]
            error = unexpected[0] if unexpected else best_match(groups[where])
            path = tuple(error.absolute_path)
            label = self.label(path)
            reason = f"{label}{'/'.join(map(str, path)) or 'top level'}: {_short(error.message)}"
            self.mapper.diagnostics.append(_d103(self.doc.span(path), reason))

    def label(self, path: tuple) -> str:
        if len(path) >= 2 and path[0] == "deployments" and isinstance(path[1], int):
            deployments = self.data.get("deployments") if isinstance(self.data, dict) else None
            if isinstance(deployments, list) and path[1] < len(deployments):
                item = deployments[path[1]]
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    return f"deployment {item['name']!r} at "
        return ""

    def read(self) -> None:
        if not isinstance(self.data, dict):
            self.mapper.diagnostics.append(_d103(self.doc.span(), "the file is not a mapping"))
            return
        deployments = self.data.get("deployments") or []
        if not isinstance(deployments, list):
            span = self.doc.span(("deployments",))
            self.mapper.diagnostics.append(_d103(span, "'deployments' is not a list"))
            return
        for index, data in enumerate(deployments):
            path: tuple[str | int, ...] = ("deployments", index)
            if not isinstance(data, dict):
                reason = f"deployment {index} is not a mapping"
                self.mapper.diagnostics.append(_d103(self.doc.span(path), reason))
                continue
            self.deployment(data, path)

    def deployment(self, data: dict[str, Any], path: tuple[str | int, ...]) -> None:
        span = self.doc.span(path)
        flow = self.flow_id(data)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        entries: list[tuple[Any, Span | None]] = []
        single = data.get("schedule")
        if single:
            entries.append((single, self.doc.span((*path, "schedule"))))
        schedules = data.get("schedules") or []
        if isinstance(schedules, list):
            for n, entry in enumerate(schedules):
                entries.append((entry, self.doc.span((*path, "schedules", n))))
        triggers = data.get("triggers") or []
        if not isinstance(triggers, list):
            triggers = []
        if flow is None:
            if entries or triggers:
                entrypoint = data.get("entrypoint") or data.get("flow_name")
                self.mapper.not_converted(
                    span,
                    f"deployment {name or path[1]!r}: its flow ({entrypoint!r}) is not one "
                    "flowbridge converted",
                )
            return
        name = name or flow
        parameters = data.get("parameters")
        paused = data.get("paused") is True or data.get("is_schedule_active") is False
        result: list[Trigger] = self.mapper.schedules(flow, name, entries, parameters, paused)
        for n, trigger in enumerate(triggers):
            where = self.doc.span((*path, "triggers", n))
            event = self.mapper.event(flow, name, trigger, where, parameters, paused)
            if event is not None:
                result.append(event)
        tags = data.get("tags")
        tags = (tags,) if isinstance(tags, str) else tuple(map(str, tags or ()))
        self.deployments.append(DeploymentInfo(flow, name, result, tags, span))

    def flow_id(self, data: dict[str, Any]) -> str | None:
        entrypoint = data.get("entrypoint")
        if isinstance(entrypoint, str) and _entrypoint(entrypoint) in self.flows:
            return self.flows[_entrypoint(entrypoint)]
        flow_name = data.get("flow_name")
        if isinstance(flow_name, str):
            return self.flow_ids_by_name.get(flow_name)
        return None


def _unexpected_key(error: Any) -> Any:
    """An unexpected-key error inside ``error``, if any: under an ``anyOf`` of closed mappings
    (every schedule form) it says more than the branch that failed first."""
    stack = [error]
    while stack:
        current = stack.pop(0)
        if current.validator == "additionalProperties" and current.validator_value is False:
            return current
        stack.extend(current.context or ())
    return None


def _entrypoint(text: str) -> str:
    """``./flows\\etl.py:main`` and ``flows/etl.py:main`` are the same entrypoint."""
    path, _, function = text.strip().rpartition(":")
    path = posixpath.normpath(path.replace("\\", "/")) if path else path
    return f"{path}:{function.strip()}"


def _for_schema(value: Any) -> Any:
    """Data as Prefect's own (lax, pydantic) loading sees it, for the strict JSON Schema:
    dates as ISO strings, and an interval in seconds as the duration pydantic accepts."""
    if isinstance(value, dict):
        result = {k: _for_schema(v) for k, v in value.items()}
        # IntervalSchedule wants seconds and takes only these keys; the raw schedule form
        # takes the other keys and a duration string.
        if _is_number(result.get("interval")) and set(result) - _INTERVAL_SCHEDULE_KEYS:
            result["interval"] = f"PT{result['interval']}S"
        return result
    if isinstance(value, list):
        return [_for_schema(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@lru_cache(maxsize=4)
def _validator(schema: str) -> Any:
    try:
        import jsonschema
    except ImportError:
        return None
    try:
        data = json.loads(Path(schema).read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(data)
        return cls(data)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError):
        return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
