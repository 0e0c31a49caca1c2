"""What starts a flow: schedules, webhooks, other flows' runs, or plugin triggers."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from typing import Literal as _L

from .base import Node, Tagged, field
from .expressions import Expr


class TriggerBase(Node):
    """Options every trigger has."""

    id: str
    description: str | None = None
    disabled: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


class Schedule(TriggerBase):
    """A time schedule: exactly one of ``cron``, ``interval`` or ``rrule``. ``inputs`` are the
    parameters the scheduled runs receive."""

    kind: _L["schedule"] = "schedule"
    cron: str | None = None
    interval: timedelta | None = None
    rrule: str | None = None
    timezone: str | None = None
    inputs: Expr | None = None


class Webhook(TriggerBase):
    """An HTTP endpoint that starts the flow; ``key`` is the secret part of its URL."""

    kind: _L["webhook"] = "webhook"
    key: Expr


class UpstreamFlow(Node):
    """A flow whose runs reaching one of ``states`` start this one."""

    namespace: str | None = None
    flow_id: str | None = None
    states: tuple[str, ...] = ()


class FlowRun(TriggerBase):
    """Start when upstream flows finish (Kestra Flow trigger, a Prefect deployment trigger on
    another flow's completion)."""

    kind: _L["flow_run"] = "flow_run"
    upstream: tuple[UpstreamFlow, ...] = ()
    states: tuple[str, ...] = ()
    inputs: Expr | None = None


class PluginTrigger(TriggerBase):
    """Any other trigger: its type and every property, verbatim."""

    kind: _L["plugin_trigger"] = "plugin_trigger"
    type: str
    properties: dict[str, Any] = field(default_factory=dict)


Trigger = Annotated[Schedule | Webhook | FlowRun | PluginTrigger, Tagged("kind")]
TRIGGER_TYPES = (Schedule, Webhook, FlowRun, PluginTrigger)
