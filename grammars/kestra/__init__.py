"""Kestra's surface language as data: type aliases, the catalogue of modelled types, the core
type names and the input types. Loaded once, read by the Kestra reader, writer and lint."""

from __future__ import annotations

from dataclasses import field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ir.base import Record

from .. import compiled

HERE = Path(__file__).parent


class PropSpec(Record):
    """How one Kestra property maps to an IR field."""

    key: str
    field: str | None
    conv: str
    required: bool = False


class TypeEntry(Record):
    """One modelled Kestra type (task or trigger)."""

    type_name: str
    node: str
    properties: dict[str, PropSpec]
    closed: bool = False
    flowable: bool = False
    fixed: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()

    @property
    def specificity(self) -> int:
        return len(self.fixed) + len(self.requires)


class Catalogue(Record):
    """Everything the Kestra side knows about types."""

    tasks: dict[str, TypeEntry]
    triggers: dict[str, TypeEntry]
    common: dict[str, PropSpec]
    common_extras: frozenset[str]
    flowable: dict[str, PropSpec]
    trigger_common: dict[str, PropSpec]
    aliases: dict[str, str]  # lower-cased old or short name -> current name
    core_types: frozenset[str]
    input_types: dict[str, str]  # Kestra spelling -> IR ParamType value
    canonical_input_type: dict[str, str]  # IR ParamType value -> preferred Kestra spelling
    known_lower: dict[str, str] = field(default_factory=dict)  # lower-cased name -> spelling

    def canonical_type(self, name: str) -> str:
        """The current spelling of a type name (old names and case variants resolved)."""
        lower = name.lower()
        return self.aliases.get(lower) or self.known_lower.get(lower, name)

    def entries_for_node(self, node: str, table: str = "tasks") -> list[TypeEntry]:
        """Entries that produce IR kind ``node``, most specific first."""
        entries = [e for e in getattr(self, table).values() if e.node == node]
        return sorted(entries, key=lambda e: -e.specificity)

    def is_unknown_core(self, name: str) -> bool:
        """A type in Kestra's core plugin package that Kestra does not ship (a typo, or a
        type removed upstream). Old ``io.kestra.core.*`` names are not judged: Kestra's own
        test classes live there."""
        return name.startswith("io.kestra.plugin.core.") and name not in self.core_types


def _props(table: dict[str, Any] | None) -> dict[str, PropSpec]:
    return {
        key: PropSpec(key, spec.get("field"), spec["as"], bool(spec.get("required", False)))
        for key, spec in (table or {}).items()
    }


def _entry(
    name: str,
    spec: dict[str, Any],
    extra_props: dict[str, PropSpec] | None = None,
    fixed: dict[str, Any] | None = None,
) -> TypeEntry:
    props = _props(spec.get("properties"))
    if extra_props:  # shared options first, the script or commands last (Kestra's habit)
        props = {**extra_props, **props}
    return TypeEntry(
        type_name=name,
        node=spec["node"],
        properties=props,
        closed=bool(spec.get("closed", False)),
        flowable=bool(spec.get("flowable", False)),
        fixed=dict(fixed or spec.get("fixed") or {}),
        requires=tuple(spec.get("requires") or ()),
    )


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The catalogue, parsed once."""
    raw = compiled.load(HERE / "catalogue.yaml")
    tasks = {name: _entry(name, spec) for name, spec in raw["tasks"].items()}
    scripts = raw["scripts"]
    shared = _props(scripts["shared"])
    for language, package in scripts["languages"].items():
        for form, cls in (("script", "Script"), ("commands", "Commands")):
            name = f"{package}.{cls}"
            tasks[name] = _entry(name, scripts[form], shared, fixed={"language": language})
    trig = dict(raw["triggers"])
    trigger_common = _props(trig.pop("common"))
    triggers = {name: _entry(name, spec) for name, spec in trig.items()}

    aliases: dict[str, str] = {}
    for line in (HERE / "aliases.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            new, old = line.split("\t")
            aliases[old.strip().lower()] = new.strip()
    core = frozenset(
        line.strip()
        for line in (HERE / "core_types.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    input_types = dict(raw["input_types"])
    canonical: dict[str, str] = {}
    for spelling, ir_type in input_types.items():
        canonical.setdefault(ir_type, spelling)
    return Catalogue(
        tasks=tasks,
        triggers=triggers,
        common=_props(raw["common"]),
        common_extras=frozenset(raw.get("common_extras") or ()),
        flowable=_props(raw["flowable"]),
        trigger_common=trigger_common,
        aliases=aliases,
        core_types=core | frozenset(tasks) | frozenset(triggers),
        input_types=input_types,
        canonical_input_type=canonical,
        known_lower={n.lower(): n for n in (*core, *tasks, *triggers)},
    )
