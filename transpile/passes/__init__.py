"""IR → IR rewrites shared by the writers. Each pass takes a flow and returns a new flow and
the diagnostics it produced; passes are idempotent."""

from ir.steps import PythonFunction, TaskStep

from .kestra_form import kestra_form
from .python_tasks import lower_python_tasks, map_expressions

__all__ = ["kestra_form", "lower_python_tasks", "map_expressions", "for_kestra"]


def for_kestra(flow):
    """Every rewrite the Kestra writer needs, in order: Prefect tasks become python scripts,
    then the flow takes Kestra's canonical form."""
    converted = frozenset(
        step.id
        for step in flow.all_steps()
        if isinstance(step, TaskStep) and isinstance(step.action, PythonFunction)
    )
    flow, found = lower_python_tasks(flow)
    flow, more = kestra_form(flow, converted)
    return flow, [*found, *more]
