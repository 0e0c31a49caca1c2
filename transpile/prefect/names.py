"""Python names for Kestra names: flow functions, parameters, modules and Prefect flows.

Every side of the Prefect output (the modules, ``prefect.yaml``, calls of one converted flow from
another) names things through these functions, so that they agree.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "EXTRAS_KEY",
    "RESERVED",
    "flow_name",
    "function_name",
    "identifier",
    "module_name",
    "parameter_map",
    "parameter_names",
]

# The key under which IR nodes read from Python keep Prefect options with no IR field
# (``extras["prefect"]``), so that Python written back has them.
EXTRAS_KEY = "prefect"

# Names a generated module binds itself (its imports and the logger), and the builtins it may
# call (a parameter named `str` would break `str(...)`).
RESERVED = frozenset(dir(builtins)) | frozenset(
    {"flow", "task", "get_run_logger", "logger", "Variable", "Secret", "run_deployment"}
    | {"runtime", "Literal", "INPUTS", "Cron", "Interval", "RRule", "DeploymentEventTrigger"}
    | {"ConcurrencyLimitConfig", "ConcurrencyLimitStrategy", "flow_run", "typing"}
    | {"exponential_backoff", "unmapped", "pause_flow_run", "Annotated", "Field"}
    | {"datetime", "httpx", "json", "os", "re", "subprocess", "sys", "tempfile", "time"}
)

_NOT_IDENTIFIER = re.compile(r"[^0-9a-zA-Z_]+")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def identifier(text: str, fallback: str, taken: Iterable[str] = ()) -> str:
    """A snake_case Python identifier for ``text``: not a keyword, not a reserved name, not in
    ``taken`` (``_2``, ``_3`` … on a clash)."""
    name = _NOT_IDENTIFIER.sub("_", _CAMEL_HUMP.sub("_", text)).strip("_").lower() or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED:
        name += "_"
    taken = set(taken)
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def function_name(flow_id: str) -> str:
    """The Python name of the flow function for a Kestra flow id."""
    return identifier(flow_id, "flow")


def module_name(stem: str) -> str:
    """A file stem as an importable Python module name (``daily-sales`` → ``daily_sales``)."""
    return identifier(stem, "flow")


def parameter_names(input_ids: Iterable[str]) -> list[str]:
    """The Python parameter of each Kestra input of one flow, in input order (``max-rows`` →
    ``max_rows``; inputs that would share a name, or a repeated id, get ``_2``, ``_3`` …)."""
    names: list[str] = []
    for input_id in input_ids:
        names.append(identifier(input_id, "param", names))
    return names


def parameter_map(input_ids: Iterable[str]) -> dict[str, str]:
    """Kestra input id → Python parameter (the first input of a repeated id wins)."""
    ids = list(input_ids)
    found: dict[str, str] = {}
    for input_id, name in zip(ids, parameter_names(ids), strict=True):
        found.setdefault(input_id, name)
    return found


def flow_name(flow_id: str, namespace: str | None, others: Mapping[Any, Any] = {}) -> str:
    """The Prefect name of a converted flow: its Kestra id, or ``namespace.id`` when another flow
    converted with it (``others`` is keyed by ``(namespace, id)``) has the same id, because
    Prefect has no namespaces and both would otherwise be one flow."""
    clash = any(fid == flow_id and ns != namespace for ns, fid in others)
    return f"{namespace}.{flow_id}" if clash and namespace else flow_id
