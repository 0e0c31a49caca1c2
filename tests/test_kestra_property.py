"""Round-trip properties of the Kestra side over random IR flows (tests/strategies.py):
IR → YAML → IR gives the IR in Kestra's canonical form (what every Kestra write applies,
see transpile/passes), that form is a fixed point, and writing is idempotent."""

from __future__ import annotations

from hypothesis import given, settings

from transpile.kestra.reader import read_kestra
from transpile.kestra.writer import write_kestra
from transpile.passes import for_kestra

from .strategies import kestra_flows


@settings(max_examples=500)
@given(kestra_flows())
def test_ir_yaml_ir_is_identity_and_writing_is_idempotent(flow):
    canonical, _ = for_kestra(flow)
    assert for_kestra(canonical)[0] == canonical
    text, _ = write_kestra(flow)
    result = read_kestra(text)
    assert [d for d in result.diagnostics if d.code.startswith(("K100", "F"))] == []
    assert result.flows == [canonical]
    assert write_kestra(result.flows)[0] == text
