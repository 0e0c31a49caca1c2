"""The flow: the root of the IR."""

from __future__ import annotations

from typing import Any

from .base import Node, field
from .expressions import Expr
from .parameters import Parameter
from .policies import ConcurrencyPolicy, RetryPolicy
from .steps import Step, iter_steps
from .triggers import Trigger


class FlowOutput(Node):
    """A named value the flow returns (Kestra flow ``outputs``, a Prefect flow's return)."""

    id: str
    value: Expr
    type: str | None = None
    description: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Flow(Node):
    """A whole flow. ``variables`` are constants the steps read; ``on_failure`` and
    ``finally_steps`` run after the main steps (Kestra ``errors``/``finally``)."""

    id: str
    namespace: str | None = None
    description: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    variables: dict[str, Expr] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    on_failure: tuple[Step, ...] = ()
    finally_steps: tuple[Step, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    concurrency: ConcurrencyPolicy | None = None
    retry: RetryPolicy | None = None
    outputs: tuple[FlowOutput, ...] = ()
    disabled: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def all_steps(self):
        """Every step of the flow (main, error and finally handlers), parents first."""
        yield from iter_steps(self.steps)
        yield from iter_steps(self.on_failure)
        yield from iter_steps(self.finally_steps)
