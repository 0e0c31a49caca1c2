"""The console script's direct route for ``flowbridge lint``: it takes exactly the options the
typer command declares, passes the same arguments for the same command line, leaves anything
unusual to typer, and does not load typer or pydantic."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import transpile.cli
from transpile.cli import app
from transpile.entry import LINT_OPTIONS, main, parse_lint_arguments
from transpile.lint.command import run_lint

from .conftest import ROOT
from .test_lint import FLOW, TASKS


def _lint_command() -> Any:
    return typer.main.get_command(app).commands["lint"]  # type: ignore[attr-defined]


def test_the_table_is_the_typer_commands_options():
    declared = {}
    for param in _lint_command().params:
        if param.param_type_name == "argument":
            assert param.name == "paths" and param.multiple or param.nargs == -1
            continue
        kind = "flag" if param.is_flag else "many" if param.multiple else "one"
        for option in param.opts:
            declared[option] = (param.name, kind)
    table = {
        o: (name, "one" if kind == "path" else kind) for o, (name, kind) in LINT_OPTIONS.items()
    }
    assert table == declared
    # and every one of them is a parameter of the function both routes call
    names = set(inspect.signature(run_lint).parameters)
    assert {name for name, _ in LINT_OPTIONS.values()} | {"paths"} == names


def _normalised(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments as run_lint reads them (an absent list and an empty one are the same)."""
    out: dict[str, Any] = {"paths": [Path(p) for p in arguments.get("paths") or []]}
    for parameter, kind in LINT_OPTIONS.values():
        value = arguments.get(parameter)
        if kind == "many":
            out[parameter] = list(value or [])
        elif kind == "flag":
            out[parameter] = bool(value)
        else:
            out[parameter] = value
    out["output_format"] = out["output_format"] or "text"
    return out


def _through_typer(argv: list[str], monkeypatch) -> dict[str, Any] | None:
    seen: dict[str, Any] = {}

    def record(paths=None, **options):
        seen.update(options, paths=paths)
        return 0

    monkeypatch.setattr(transpile.cli, "run_lint", record)
    result = CliRunner().invoke(app, ["lint", *argv])
    return seen if result.exit_code == 0 and seen else None


_VALUES = st.sampled_from(["text", "json", "K1", "P101,P102", "a=b", "x.py", "ALL", ""])
_OPTION = st.sampled_from(sorted(LINT_OPTIONS))


@st.composite
def _argv(draw) -> list[str]:
    words: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        choice = draw(st.integers(0, 3))
        option = draw(_OPTION)
        if choice == 0:
            words.append(draw(st.sampled_from(["flows.py", "src", "a b.yaml", "ü.py"])))
        elif LINT_OPTIONS[option][1] == "flag":
            words.append(option)
        elif choice == 1:
            words += [option, draw(_VALUES)]
        else:
            words.append(f"{option}={draw(_VALUES)}")
    if draw(st.booleans()):
        words += ["--", draw(st.sampled_from(["-odd.py", "--select", "plain.py"]))]
    return words


@settings(max_examples=150, deadline=None)
@given(argv=_argv())
def test_both_routes_pass_the_same_arguments(argv):
    with pytest.MonkeyPatch.context() as monkeypatch:
        typer_arguments = _through_typer(argv, monkeypatch)
    direct = parse_lint_arguments(argv)
    if direct is not None:  # whatever the direct route takes, typer takes the same way
        assert typer_arguments is not None, argv
        assert _normalised(direct) == _normalised(typer_arguments), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--bogus", "x.py"],
        ["--select"],
        ["--select", "--strict"],
        ["--strict=yes"],
        ["--output-format"],
        ["--config"],
    ],
)
def test_anything_unusual_is_left_to_typer(argv):
    assert parse_lint_arguments(argv) is None


def test_the_direct_route_prints_and_exits_as_typer_does(tmp_path, capsys, monkeypatch):
    (tmp_path / "flows.py").write_text(FLOW, encoding="utf-8")
    (tmp_path / "tasks.py").write_text(TASKS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["lint", "--no-cache", "flows.py"],
        ["lint", "--no-cache", "--output-format=json", "--ignore", "P102", "flows.py"],
        ["lint", "--no-cache", "--output-format", "nope", "flows.py"],
        ["lint", "--no-cache", "--select", "NOT-A-CODE", "flows.py"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        direct = capsys.readouterr()
        typer_result = CliRunner().invoke(app, argv)
        assert exited.value.code == typer_result.exit_code, argv
        assert direct.out == typer_result.stdout, argv
        assert direct.err == typer_result.stderr, argv
    assert exited.value.code == 2  # the last one: a bad code is a usage error


def test_help_and_usage_errors_still_come_from_typer(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["lint", "--bogus"])
    assert exited.value.code == 2 and "No such option" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["lint", "--help"])
    assert exited.value.code == 0 and "--extend-select" in capsys.readouterr().out


def test_a_plain_lint_loads_neither_typer_nor_pydantic(tmp_path):
    """Nor anything else a Python file's lint does not use: the formatter, the Pebble parser,
    the graph library, the YAML loader, or OpenSSL's hashes when there is no cache to key."""
    (tmp_path / "flows.py").write_text(FLOW, encoding="utf-8")
    (tmp_path / "tasks.py").write_text(TASKS, encoding="utf-8")
    code = (
        "import sys\n"
        "from transpile.entry import main\n"
        "try:\n"
        "    main(['lint', '--no-cache', 'flows.py'])\n"
        "except SystemExit as exit:\n"
        "    heavy = ('typer', 'pydantic', 'black', 'lark', 'networkx', 'ruamel', 'hashlib')\n"
        "    loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "    print('EXIT', exit.code, 'LOADED', loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.splitlines()[-1] == "EXIT 0 LOADED []", result.stdout + result.stderr
    assert "P101" in result.stdout  # and it did lint
