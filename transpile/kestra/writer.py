"""IR → Kestra YAML.

The writer is driven by the same catalogue as the reader: for each IR node it picks the
Kestra type that expresses it, writes modelled fields under their Kestra keys in a canonical
order, then the verbatim ``extras``. Output is deterministic and idempotent: current type
names, ISO-8601 durations, literal blocks for multi-line text.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from grammars.kestra import Catalogue, PropSpec, TypeEntry, catalogue
from ir import codes
from ir.base import Node, fields_of
from ir.diagnostics import Diagnostic
from ir.expressions import Literal
from ir.flow import Flow
from ir.parameters import Parameter
from ir.policies import CachePolicy, RetryPolicy
from ir.steps import PluginCall, Step, TaskStep
from ir.triggers import PluginTrigger, UpstreamFlow
from transpile.provenance import header_text
from transpile.result import WriteContext

from .values import expr_to_text, format_duration, parse_duration, to_yaml_value

FLOW_KEY_ORDER = (
    "id",
    "namespace",
    "revision",
    "description",
    "labels",
    "inputs",
    "variables",
    "tasks",
    "errors",
    "finally",
    "afterExecution",
    "listeners",
    "pluginDefaults",
    "triggers",
    "concurrency",
    "outputs",
    "retry",
    "sla",
    "checks",
    "disabled",
)
_LEADING_TASK_KEYS = ("id", "type", "description")
_TRAILING_TASK_KEYS = ("tasks", "then", "else", "cases", "defaults", "errors", "finally")


def write_kestra(
    flows: Flow | list[Flow], context: WriteContext | None = None
) -> tuple[str, list[Diagnostic]]:
    """Kestra YAML for one flow, or several as a multi-document stream. When ``context`` names
    a source of another format, the text starts with the provenance header (see
    :mod:`transpile.provenance`)."""
    from transpile.passes import for_kestra

    writer = _Writer(catalogue())
    items = [flows] if isinstance(flows, Flow) else list(flows)
    documents = []
    for flow in items:
        flow, found = for_kestra(flow)
        writer.diagnostics.extend(found)
        documents.append(writer.flow(flow))
    if context is not None and context.dry_run:
        return "", writer.diagnostics
    text = dump_yaml(documents)
    if context is not None and context.source_digest:
        header = header_text(context.source_name, context.source_digest, context.source_root)
        text = f"# {header}\n{text}"
    return text, writer.diagnostics


def _label(value: Any) -> Any:
    """A label's value as written: labels are plain data (the reader does not parse them as
    Pebble), so a literal is its value and any other expression its Kestra text."""
    if isinstance(value, Literal):
        return value.value
    return expr_to_text(value) if isinstance(value, Node) else value


def step_yaml(step: Step) -> str:
    """One step as the Kestra YAML of a task (what other writers quote when they carry it)."""
    return dump_yaml([_Writer(catalogue()).task(step)])


def dump_yaml(documents: list[Any]) -> str:
    """Serialise plain documents deterministically (see :mod:`transpile.kestra.emit`)."""
    from .emit import emit_documents  # the emitter's patterns compile on first use

    return emit_documents(documents)


def _duration(node: Node, field: str, value: timedelta) -> str:
    """A duration as the source spelled it when the value is unchanged, else canonical."""
    spelled = node.spelled.get(field)
    if spelled is not None and parse_duration(spelled) == value:
        return spelled
    return format_duration(value)


def _keep(node: Node, field: str) -> bool:
    """Write ``field``: it differs from its default, or the source spelled it out."""
    value = getattr(node, field)
    default = fields_of(node)[field].default_value()
    return value != default or field in node.explicit


class _Writer:
    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.diagnostics: list[Diagnostic] = []

    def warn(self, node: Node, what: str, reason: str) -> None:
        self.diagnostics.append(codes.K201.at(node.span, what=what, reason=reason))

    # --- values ----------------------------------------------------------------------------

    def value(self, spec: PropSpec, value: Any, owner: Node) -> Any:
        conv = spec.conv
        if conv == "expr":
            return to_yaml_value(value)
        if conv == "duration":
            return _duration(owner, spec.field, value)
        if conv == "strings":
            return list(value)
        if conv == "steps":
            return self.tasks(value)
        if conv == "cases":
            return {case.value: self.tasks(case.steps) for case in value}
        if conv == "dag":
            return [self.dag_item(step) for step in value]
        if conv == "retry":
            return self.retry(value)
        if conv == "cache":
            return self.cache(value)
        if conv == "preconditions":
            return {"flows": [self.upstream(u) for u in value]}
        return value

    def props(
        self,
        specs: dict[str, PropSpec],
        node: Node,
        out: dict[str, Any],
        explicit: frozenset[str] | None = None,
    ) -> None:
        """Write the fields of ``node`` named in ``specs`` (defaults only when explicit)."""
        explicit = node.explicit if explicit is None else explicit
        declared = fields_of(node)
        for key, spec in specs.items():
            if spec.field is None or spec.field not in declared:
                continue
            value = getattr(node, spec.field)
            if not _keep(node, spec.field) and spec.field not in explicit:
                continue
            if value is None:
                out[key] = None
                continue
            out[key] = self.value(spec, value, node)

    # --- flow ------------------------------------------------------------------------------

    def flow(self, flow: Flow) -> dict[str, Any]:
        out: dict[str, Any] = {"id": flow.id}
        if _keep(flow, "namespace"):
            out["namespace"] = flow.namespace
        if _keep(flow, "description"):
            out["description"] = flow.description
        if _keep(flow, "labels"):
            out["labels"] = {k: _label(v) for k, v in flow.labels.items()}
        if _keep(flow, "parameters"):
            out["inputs"] = [self.parameter(p) for p in flow.parameters]
        if _keep(flow, "variables"):
            out["variables"] = {k: to_yaml_value(v) for k, v in flow.variables.items()}
        out["tasks"] = self.tasks(flow.steps)
        if _keep(flow, "on_failure"):
            out["errors"] = self.tasks(flow.on_failure)
        if _keep(flow, "finally_steps"):
            out["finally"] = self.tasks(flow.finally_steps)
        if _keep(flow, "triggers"):
            written = (self.trigger(t) for t in flow.triggers)
            out["triggers"] = [t for t in written if t is not None]
        if flow.concurrency is not None:
            c = flow.concurrency
            out["concurrency"] = {
                "limit": c.limit,
                **({"behavior": c.behavior.value} if c.behavior else {}),
                **c.extras,
            }
        if _keep(flow, "outputs"):
            out["outputs"] = [self.output(o) for o in flow.outputs]
        if flow.retry is not None:
            out["retry"] = self.retry(flow.retry)
        if _keep(flow, "disabled"):
            out["disabled"] = flow.disabled
        for key, value in flow.extras.items():
            out.setdefault(key, value)
        rank = {k: i for i, k in enumerate(FLOW_KEY_ORDER)}
        return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))

    def parameter(self, param: Parameter) -> dict[str, Any]:
        out: dict[str, Any] = {"id": param.name}
        out["type"] = param.type_name or self.cat.canonical_input_type.get(
            param.type.value, param.type.value.upper()
        )
        if _keep(param, "description"):
            out["description"] = param.description
        if _keep(param, "required"):
            out["required"] = param.required
        if param.default is not None:
            out["defaults"] = to_yaml_value(param.default)
        if param.values is not None:
            out["values"] = list(param.values)
        if param.item_type is not None:
            out["itemType"] = self.cat.canonical_input_type.get(
                param.item_type.value, param.item_type.value.upper()
            )
        for key, value in param.extras.items():
            out.setdefault(key, value)
        return out

    def output(self, output) -> dict[str, Any]:
        out: dict[str, Any] = {"id": output.id}
        if output.type is not None:
            out["type"] = output.type
        if output.description is not None:
            out["description"] = output.description
        out["value"] = to_yaml_value(output.value)
        for key, value in output.extras.items():
            out.setdefault(key, value)
        return out

    # --- steps -----------------------------------------------------------------------------

    def tasks(self, steps: tuple[Step, ...]) -> list[dict[str, Any]]:
        return [self.task(step) for step in steps]

    def entry_for(self, node: Node, table: str = "tasks") -> TypeEntry | None:
        for entry in self.cat.entries_for_node(node.kind, table):
            if all(getattr(node, k, None) == v for k, v in entry.fixed.items()) and all(
                getattr(node, k, None) is not None for k in entry.requires
            ):
                return entry
        return None

    def task(self, step: Step, in_dag: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": step.id}
        body: dict[str, Any] = {}
        payload: Node = step.action if isinstance(step, TaskStep) else step
        if isinstance(payload, PluginCall):
            out["type"] = payload.type
            body.update(payload.properties)
        else:
            entry = self.entry_for(payload)
            if entry is None:
                self.warn(step, f"{payload.kind} step {step.id!r}", "no Kestra type expresses it")
                out["type"] = "io.kestra.plugin.core.log.Log"
                body["message"] = f"flowbridge: {payload.kind} step {step.id!r} not converted"
            else:
                out["type"] = entry.type_name
                specs = {k: s for k, s in entry.properties.items() if s.field not in entry.fixed}
                if entry.flowable:
                    specs.update(self.cat.flowable)
                explicit = payload.explicit if isinstance(step, TaskStep) else step.explicit
                self.props(specs, payload, body, explicit)
        common: dict[str, Any] = {}
        self.props(self.cat.common, step, common)
        if step.depends_on and not in_dag:
            self.warn(step, f"dependencies of step {step.id!r}", "only Dag children have dependsOn")
        if step.tags:
            self.warn(step, f"tags of step {step.id!r}", "Kestra tasks have no tags")
        for key in _LEADING_TASK_KEYS:
            if key in common:
                out[key] = common.pop(key)
        out.update({k: v for k, v in body.items() if k not in _TRAILING_TASK_KEYS})
        out.update(common)
        for key, value in step.extras.items():
            out.setdefault(key, value)
        out.update({k: body[k] for k in _TRAILING_TASK_KEYS if k in body})
        return out

    def dag_item(self, step: Step) -> dict[str, Any]:
        item: dict[str, Any] = {"task": self.task(step, in_dag=True)}
        if _keep(step, "depends_on"):
            item["dependsOn"] = list(step.depends_on)
        return item

    def retry(self, retry: RetryPolicy) -> dict[str, Any]:
        # transpile.passes.kestra_form has already turned delay lists and jitter into the
        # closest Kestra policy (and reported it).
        kind, interval = retry.kind, retry.interval
        out: dict[str, Any] = {"type": kind.value}
        if retry.max_attempts is not None:
            out["maxAttempts"] = retry.max_attempts
        for key, field, value in (
            ("interval", "interval", interval),
            ("minInterval", "min_interval", retry.min_interval),
            ("maxInterval", "max_interval", retry.max_interval),
            ("maxDuration", "max_duration", retry.max_duration),
        ):
            if value is not None:
                out[key] = _duration(retry, field, value)
        if retry.factor is not None:
            out["delayFactor"] = retry.factor
        for key, value in retry.extras.items():
            out.setdefault(key, value)
        return out

    def cache(self, cache: CachePolicy) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if cache.enabled or "enabled" in cache.explicit:  # Kestra's default is disabled
            out["enabled"] = cache.enabled
        if cache.ttl is not None:
            out["ttl"] = _duration(cache, "ttl", cache.ttl)
        for key, value in cache.extras.items():
            out.setdefault(key, value)
        return out

    # --- triggers --------------------------------------------------------------------------

    def trigger(self, trigger) -> dict[str, Any] | None:
        out: dict[str, Any] = {"id": trigger.id}
        if isinstance(trigger, PluginTrigger):
            out["type"] = trigger.type
            common: dict[str, Any] = {}
            self.props(self.cat.trigger_common, trigger, common)
            out.update({k: v for k, v in common.items() if k != "id"})
            for key, value in trigger.properties.items():
                out.setdefault(key, value)
            return out
        entry = self.entry_for(trigger, "triggers")
        if entry is None:  # every trigger kind has an entry; cron-less schedules were removed
            self.warn(trigger, f"{trigger.kind} trigger {trigger.id!r}", "no Kestra trigger")
            return None
        out["type"] = entry.type_name
        common: dict[str, Any] = {}
        self.props(self.cat.trigger_common, trigger, common)
        disabled = {k: common.pop(k) for k in ("disabled",) if k in common}
        out.update(common)
        self.props(entry.properties, trigger, out)
        out.update(disabled)
        for key, value in trigger.extras.items():
            out.setdefault(key, value)
        return out

    def upstream(self, upstream: UpstreamFlow) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if _keep(upstream, "namespace"):
            out["namespace"] = upstream.namespace
        if _keep(upstream, "flow_id"):
            out["flowId"] = upstream.flow_id
        if _keep(upstream, "states"):
            out["states"] = list(upstream.states)
        return out


__all__ = ["write_kestra", "dump_yaml"]
