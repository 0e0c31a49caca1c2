"""Durations and literal escaping on the Kestra side."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ir.expressions import Literal, Template
from transpile.kestra.reader import read_kestra
from transpile.kestra.values import (
    escape_literal,
    format_duration,
    from_yaml_value,
    parse_duration,
    to_yaml_value,
)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("PT10M", 600),
        ("P1D", 86400),
        ("P1DT2H", 93600),
        ("PT0.25s", 0.25),
        ("pt1h30m", 5400),
        ("PT90S", 90),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "10m", "PT-1S", "P1W", "", "{{ x }}", 5])
def test_parse_duration_rejects(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("seconds", [0.25, 1, 59, 60, 3600, 5400, 86400, 93784.5])
def test_format_duration_round_trips(seconds):
    text = format_duration(timedelta(seconds=seconds))
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert text == format_duration(parse_duration(text))


def test_literal_with_template_marks_is_escaped_and_read_back_as_literal():
    text = "use {{ inputs.x }} literally"
    escaped = to_yaml_value(Literal(value=text))
    assert escaped == escape_literal(text) != text
    assert from_yaml_value(escaped, []) == Literal(value=text)
    assert isinstance(from_yaml_value(text, []), Template)


def _timeout_diagnostics(value: str) -> list[str]:
    flow = (
        "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
        f"    message: hi\n    timeout: {value}\n"
    )
    result = read_kestra(flow)
    assert result.flows[0].steps[0].extras.get("timeout", "x") in (value.strip('"'), "x")
    return [d.code for d in result.diagnostics]


def test_dynamic_duration_is_carried_and_bad_duration_is_flagged():
    assert _timeout_diagnostics('"{{ inputs.timeout }}"') == ["K121"]
    assert _timeout_diagnostics("soon") == ["K116"]
    assert _timeout_diagnostics("PT5M") == []
