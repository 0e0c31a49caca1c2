"""flowbridge's intermediate representation: flows, steps, expressions, policies, triggers,
diagnostics and the step graph. It imports nothing of the readers and writers."""

from importlib import import_module

# Names resolved on first use (PEP 562), so that a command needing only the diagnostic
# catalogue does not pay for building every IR model.
_EXPORTS = {
    "Node": "base",
    "Span": "base",
    "Diagnostic": "diagnostics",
    "Fidelity": "diagnostics",
    "Severity": "diagnostics",
    "has_errors": "diagnostics",
    "Flow": "flow",
    "FlowOutput": "flow",
    "Parameter": "parameters",
    "ParamType": "parameters",
    "CachePolicy": "policies",
    "ConcurrencyBehavior": "policies",
    "ConcurrencyPolicy": "policies",
    "RetryKind": "policies",
    "RetryPolicy": "policies",
    "IR_VERSION": "serde",
    "dump_flow": "serde",
    "load_flow": "serde",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ir' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
