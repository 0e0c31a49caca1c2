"""Lint and check: what a conversion would report, without writing anything, and whether
committed generated files still match their sources.

``config`` reads ``[tool.flowbridge]``, ``selection`` decides which codes are reported,
``suppression`` reads inline ``# flowbridge: ignore[...]`` comments, ``engine`` runs the
readers and a dry-run of the writers, ``cache`` remembers results by content, ``formats``
prints findings (text, JSON, GitHub annotations, SARIF), ``check`` compares generated files
with their sources and ``rules_doc`` renders the catalogue as ``docs/rules``.
"""
