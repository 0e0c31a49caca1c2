"""Files a directory conversion to Prefect writes beside the modules: ``prefect.yaml``, with one
deployment per flow carrying its schedules and triggers, and ``requirements.txt``, with what the
flows' scripts need.

The deployment of a flow is named after the flow (``<flow name>/<flow id>`` is what
``run_deployment`` calls, and what a Subflow of a flow not converted in the same run becomes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ir import codes
from ir.diagnostics import Diagnostic
from ir.expressions import ListValue, Literal, is_constant, to_data
from ir.flow import Flow
from ir.policies import ConcurrencyBehavior
from ir.steps import Commands, PythonFunction, Script, TaskStep
from ir.triggers import FlowRun, PluginTrigger, Schedule, Webhook

from .names import flow_name, function_name, identifier, parameter_map

__all__ = [
    "DeployedFlow",
    "deployment",
    "prefect_yaml",
    "project_files",
    "requirements_of",
    "requirements_txt",
]

PREFECT_REQUIREMENT = "prefect>=3"

# Kestra execution states → the Prefect flow-run event that says the same.
_STATE_EVENTS = {
    "SUCCESS": "prefect.flow-run.Completed",
    "WARNING": "prefect.flow-run.Completed",
    "FAILED": "prefect.flow-run.Failed",
    "KILLED": "prefect.flow-run.Cancelled",
    "CANCELLED": "prefect.flow-run.Cancelled",
    "PAUSED": "prefect.flow-run.Paused",
    "RUNNING": "prefect.flow-run.Running",
}
_COLLISION = {ConcurrencyBehavior.QUEUE: "ENQUEUE", ConcurrencyBehavior.CANCEL: "CANCEL_NEW"}


@dataclass(frozen=True)
class DeployedFlow:
    """A flow written to a module: ``entrypoint`` is ``path/to/module.py:function``,
    relative to the output root; ``name`` its Prefect name (its deployment's too)."""

    flow: Flow
    entrypoint: str
    name: str


def requirements_of(flow: Flow) -> set[str]:
    """The Python packages the flow's scripts and tasks declare (Kestra ``dependencies``)."""
    found: set[str] = set()
    for step in flow.all_steps():
        action = step.action if isinstance(step, TaskStep) else None
        if isinstance(action, PythonFunction):
            found.update(action.dependencies)
        elif isinstance(action, (Script, Commands)) and isinstance(action.dependencies, ListValue):
            found.update(
                item.value
                for item in action.dependencies.items
                if isinstance(item, Literal) and isinstance(item.value, str) and item.value.strip()
            )
    return found


def requirements_txt(flows: Iterable[Flow], header: str) -> str:
    """``requirements.txt`` for the converted flows: Prefect and every declared package."""
    packages = {PREFECT_REQUIREMENT}
    for flow in flows:
        packages |= requirements_of(flow)
    lines = [f"# {header}", *sorted(p.replace("\n", " ").strip() for p in packages)]
    return "\n".join(lines) + "\n"


def prefect_yaml(
    deployed: list[DeployedFlow], project: str, header: str
) -> tuple[str, list[Diagnostic]]:
    """``prefect.yaml`` with one deployment per flow, and what could not be expressed."""
    from transpile.kestra.writer import dump_yaml

    diagnostics: list[Diagnostic] = []
    deployments = []
    for item in deployed:
        found, problems = deployment(item.flow, item.name)
        deployments.append({"name": found.pop("name"), "entrypoint": item.entrypoint, **found})
        diagnostics += problems
    document = {"name": project, "prefect-version": "3", "deployments": deployments}
    return f"# {header}\n" + dump_yaml([document]), diagnostics


def deployment(flow: Flow, name: str) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The deployment of ``flow`` (named ``name``), as ``prefect.yaml`` spells it: description,
    tags from labels, schedules, event triggers and concurrency; and what has no counterpart."""
    diagnostics: list[Diagnostic] = []
    params = parameter_map(p.name for p in flow.parameters)
    deployment: dict[str, Any] = {"name": name}
    if flow.description:
        deployment["description"] = flow.description
    if flow.labels:
        deployment["tags"] = [f"{k}:{_plain(v)}" for k, v in flow.labels.items()]
    schedules, triggers = [], []
    for trigger in flow.triggers:
        if isinstance(trigger, Schedule):
            schedule = _schedule(trigger, params, diagnostics)
            if schedule is not None:
                schedules.append(schedule)
        elif isinstance(trigger, FlowRun):
            triggers += _flow_run_triggers(trigger, params, diagnostics)
        elif isinstance(trigger, Webhook):
            diagnostics.append(
                codes.P204.at(
                    trigger.span,
                    what=f"webhook trigger {trigger.id!r}",
                    reason="Prefect OSS has no webhooks; the closest equivalents are a Prefect "
                    "Cloud webhook emitting an event and a deployment trigger on that event",
                )
            )
        elif isinstance(trigger, PluginTrigger):
            diagnostics.append(
                codes.P204.at(
                    trigger.span,
                    what=f"trigger {trigger.id!r} of type {trigger.type}",
                    reason="no Prefect counterpart; start the deployment from an automation",
                )
            )
    if schedules:
        deployment["schedules"] = schedules
    if triggers:
        deployment["triggers"] = triggers
    if flow.concurrency is not None:
        limit: dict[str, Any] = {"limit": flow.concurrency.limit}
        behavior = flow.concurrency.behavior
        if behavior in _COLLISION:
            limit["collision_strategy"] = _COLLISION[behavior]
        elif behavior is not None:
            diagnostics.append(
                codes.P204.at(
                    flow.span,
                    what=f"concurrency behavior {behavior.value}",
                    reason="Prefect queues or cancels new runs; it cannot fail them",
                )
            )
        deployment["concurrency_limit"] = limit
    return deployment, diagnostics


def _parameters(
    inputs: Any, params: dict[str, str], what: str, span: Any, diagnostics: list[Diagnostic]
) -> dict[str, Any] | None:
    """Constant trigger inputs as the flow's parameters, else None and a diagnostic."""
    data = to_data(inputs) if is_constant(inputs) else None
    if isinstance(data, dict):
        return {params.get(str(k), identifier(str(k), "param")): v for k, v in data.items()}
    diagnostics.append(
        codes.P204.at(
            span,
            what=f"inputs of {what}",
            reason="they are expressions; Prefect deployment parameters are constants",
        )
    )
    return None


def _schedule(
    trigger: Schedule, params: dict[str, str], diagnostics: list[Diagnostic]
) -> dict[str, Any] | None:
    schedule: dict[str, Any] = {}
    if trigger.cron:
        schedule["cron"] = trigger.cron
    elif trigger.interval is not None:
        schedule["interval"] = int(trigger.interval.total_seconds())
    elif trigger.rrule:
        schedule["rrule"] = trigger.rrule
    else:
        return None
    if trigger.timezone:
        schedule["timezone"] = trigger.timezone
    schedule["active"] = not trigger.disabled
    if trigger.inputs is not None:
        what = f"schedule {trigger.id!r}"
        parameters = _parameters(trigger.inputs, params, what, trigger.span, diagnostics)
        if parameters is not None:
            schedule["parameters"] = parameters
    for key in sorted(trigger.extras):
        diagnostics.append(
            codes.P203.at(
                trigger.span,
                what=f"schedule {trigger.id!r} option {key!r}",
                reason="Prefect schedules have no such option; it is left out",
            )
        )
    return schedule


def _flow_run_triggers(
    trigger: FlowRun, params: dict[str, str], diagnostics: list[Diagnostic]
) -> list[dict[str, Any]]:
    upstreams = [u for u in trigger.upstream if u.flow_id]
    if not upstreams:
        diagnostics.append(
            codes.P204.at(
                trigger.span,
                what=f"flow trigger {trigger.id!r}",
                reason="it names no upstream flow",
            )
        )
        return []
    if len(upstreams) > 1:
        diagnostics.append(
            codes.P203.at(
                trigger.span,
                what=f"flow trigger {trigger.id!r}",
                reason="one deployment trigger per upstream flow: any of them starts the run, "
                "where Kestra may wait for all",
            )
        )
    parameters = None
    if trigger.inputs is not None:
        what = f"flow trigger {trigger.id!r}"
        parameters = _parameters(trigger.inputs, params, what, trigger.span, diagnostics)
    found = []
    for upstream in upstreams:
        states = upstream.states or trigger.states or ("SUCCESS",)
        events = sorted(
            {_STATE_EVENTS.get(s.upper(), "prefect.flow-run.Completed") for s in states}
        )
        found.append(
            {
                "type": "event",
                "enabled": not trigger.disabled,
                "match": {"prefect.resource.id": "prefect.flow-run.*"},
                "match_related": {
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": upstream.flow_id,
                },
                "expect": events,
                **({"parameters": parameters} if parameters else {}),
            }
        )
    return found


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Literal) else value


def project_files(
    modules: list[tuple[str, list[Flow]]], project: str
) -> list[tuple[str, str, list[Diagnostic]]]:
    """The files written beside the modules of a directory conversion, as ``(path relative to
    the output root, text, diagnostics)``; ``modules`` are ``(module path, its flows)``."""
    header = "Generated by flowbridge; edit the Kestra flows, not this file."
    flows = [flow for _, items in modules for flow in items]
    everyone = {(flow.namespace, flow.id): flow for flow in flows}
    deployed = [
        DeployedFlow(
            flow,
            f"{path}:{function_name(flow.id)}",
            flow_name(flow.id, flow.namespace, everyone),
        )
        for path, items in modules
        for flow in items
    ]
    text, diagnostics = prefect_yaml(deployed, project, header)
    requirements = requirements_txt(flows, header)
    return [("prefect.yaml", text, diagnostics), ("requirements.txt", requirements, [])]
