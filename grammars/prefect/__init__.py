"""Prefect's API surface as data (``surface.yaml``): decorator names, decorator options and
how each maps, logger/Secret/Variable call shapes, parameter types and import → distribution
names. Loaded once; the Prefect reader is driven by it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ir.base import Record

from .. import compiled

HERE = Path(__file__).parent


class OptionSpec(Record):
    """How one decorator (or call) keyword maps: a handler name (``as``), and for options
    the IR does not model, the diagnostic code, its severity and a reason."""

    key: str
    handler: str
    code: str | None = None
    severity: str | None = None
    reason: str | None = None


class Surface(Record):
    """Everything the Prefect reader knows about Prefect's API."""

    flow_decorators: frozenset[str]
    task_decorators: frozenset[str]
    prefect1_flows: frozenset[str]
    loggers: frozenset[str]
    log_levels: dict[str, str]
    secret_loaders: frozenset[str]
    secret_getters: frozenset[str]
    variable_getters: frozenset[str]
    unmapped: frozenset[str]
    pause: frozenset[str]
    sleep: frozenset[str]
    exponential_backoff: frozenset[str]
    timedelta: frozenset[str]
    cache_policies: dict[str, str]
    submit_methods: frozenset[str]
    map_methods: frozenset[str]
    with_options_methods: frozenset[str]
    result_methods: frozenset[str]
    call_options: dict[str, OptionSpec]
    flow_options: dict[str, OptionSpec]
    task_options: dict[str, OptionSpec]
    param_types: dict[str, str]
    approx_param_types: dict[str, tuple[str, str]]
    array_types: frozenset[str]
    optional_types: frozenset[str]
    union_types: frozenset[str]
    literal_types: frozenset[str]
    annotated_types: frozenset[str]
    field_calls: frozenset[str]
    enum_bases: frozenset[str]
    model_bases: frozenset[str]
    distributions: dict[str, str]
    excluded_modules: frozenset[str]

    def distribution(self, module: str) -> str:
        """The PyPI distribution that provides ``module`` (a dotted import name)."""
        parts = module.split(".")
        for n in range(len(parts), 0, -1):
            found = self.distributions.get(".".join(parts[:n]))
            if found:
                return found
        return parts[0]


def _options(table: dict[str, Any]) -> dict[str, OptionSpec]:
    return {
        key: OptionSpec(key, spec["as"], spec.get("code"), spec.get("severity"), spec.get("reason"))
        for key, spec in table.items()
    }


@lru_cache(maxsize=1)
def surface() -> Surface:
    """The surface, parsed once."""
    raw = compiled.load(HERE / "surface.yaml")
    sets = {
        key: frozenset(raw[key])
        for key in (
            "flow_decorators",
            "task_decorators",
            "prefect1_flows",
            "loggers",
            "secret_loaders",
            "secret_getters",
            "variable_getters",
            "unmapped",
            "pause",
            "sleep",
            "exponential_backoff",
            "timedelta",
            "submit_methods",
            "map_methods",
            "with_options_methods",
            "result_methods",
            "array_types",
            "optional_types",
            "union_types",
            "literal_types",
            "annotated_types",
            "field_calls",
            "enum_bases",
            "model_bases",
            "excluded_modules",
        )
    }
    return Surface(
        **sets,
        log_levels=dict(raw["log_levels"]),
        cache_policies=dict(raw["cache_policies"]),
        call_options=_options(raw["call_options"]),
        flow_options=_options(raw["flow_options"]),
        task_options=_options(raw["task_options"]),
        param_types=dict(raw["param_types"]),
        approx_param_types={
            k: (v["type"], v["reason"]) for k, v in raw["approx_param_types"].items()
        },
        distributions=dict(raw["distributions"]),
    )
