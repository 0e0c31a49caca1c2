"""flowbridge's intermediate representation: flows, steps, expressions, policies, triggers,
diagnostics and the step graph. It imports nothing of the readers and writers."""

from .base import Node, Span
from .diagnostics import Diagnostic, Fidelity, Severity, has_errors
from .flow import Flow, FlowOutput
from .parameters import Parameter, ParamType
from .policies import CachePolicy, ConcurrencyBehavior, ConcurrencyPolicy, RetryKind, RetryPolicy
from .serde import IR_VERSION, dump_flow, load_flow

__all__ = [
    "IR_VERSION",
    "CachePolicy",
    "ConcurrencyBehavior",
    "ConcurrencyPolicy",
    "Diagnostic",
    "Fidelity",
    "Flow",
    "FlowOutput",
    "Node",
    "Parameter",
    "ParamType",
    "RetryKind",
    "RetryPolicy",
    "Severity",
    "Span",
    "dump_flow",
    "has_errors",
    "load_flow",
]
