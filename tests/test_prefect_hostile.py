"""Python nested past what a parser or the converter can take ends in a P100 diagnostic and
exit 1 — never a crash. libcst's native parser overflows the C stack on a few thousand nested
brackets (the process dies), so each case runs the CLI in its own process."""

from __future__ import annotations

import pytest

from .test_cli import assert_no_traceback, run

HEADER = "from prefect import flow\n\n\n@flow\ndef deep():\n"
CASES = {
    "parentheses": "    x = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
    "lists": "    x = " + "[" * 300 + "]" * 300 + "\n",
    "unary": "    x = " + "-" * 20000 + "1\n",
    "chain": "    x = " + "+".join(["1"] * 100000) + "\n",
    "blocks": "".join("    " * (i + 1) + "if x:\n" for i in range(120)) + "    " * 121 + "pass\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_deep_python_is_a_diagnostic(tmp_path, name):
    source = tmp_path / f"{name}.py"
    source.write_text(HEADER + CASES[name])
    proc = run("convert", str(source), "--to", "kestra", "-o", str(tmp_path / "out.yaml"))
    assert_no_traceback(proc)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert f"{source}:" in proc.stderr and "P100" in proc.stderr
    assert not (tmp_path / "out.yaml").exists()
