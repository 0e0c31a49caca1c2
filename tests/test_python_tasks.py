"""The pass that lowers Prefect tasks to Kestra python scripts: structure, references,
escaping, a Kestra write/read round trip, and the generated script run for real."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ir.diagnostics import has_errors
from ir.expressions import (
    BinOp,
    Compare,
    Filter,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Param,
    Raw,
    TaskOutput,
    Template,
    Timestamp,
    walk,
)
from ir.flow import Flow, FlowOutput
from ir.policies import RetryPolicy
from ir.steps import Branch, Log, Loop, Parallel, PythonFunction, Script, TaskStep
from transpile.kestra.reader import read_kestra
from transpile.kestra.writer import write_kestra
from transpile.passes import lower_python_tasks, map_expressions
from transpile.passes.python_tasks import python_script

ADD = (
    "import math\n\n\n"
    'def add(x, y=1):\n    """Add {{ x }} and y."""\n    return math.floor(x) + y\n'
)


def _py(step_id: str, arguments=None, source: str = ADD, function: str = "add", **options):
    action = PythonFunction(function=function, source=source, arguments=arguments or {})
    return TaskStep(id=step_id, action=action, **options)


def _tpl(expr) -> Template:
    return Template(parts=(Interpolation(expr=expr),))


def _flow(*steps, **fields) -> Flow:
    return Flow(id="f", namespace="company.team", steps=steps, **fields)


def _steps(flow: Flow) -> dict[str, TaskStep]:
    return {s.id: s for s in flow.all_steps()}


def _env(step: TaskStep) -> dict:
    assert isinstance(step.action, Script)
    env = step.action.env
    return {} if env is None else {e.key: e.value for e in env.entries}


# --- structure -------------------------------------------------------------------------------


def test_flow_without_python_functions_comes_back_unchanged():
    flow = _flow(TaskStep(id="log", action=Log(message=_tpl(TaskOutput(task="x")))))
    lowered, diagnostics = lower_python_tasks(flow)
    assert lowered is flow
    assert diagnostics == []


def test_step_becomes_python_script_keeping_its_options():
    step = _py(
        "a",
        {"x": Param(name="n")},
        description="adds",
        retry=RetryPolicy(max_attempts=3, interval=timedelta(seconds=10)),
        timeout=timedelta(minutes=5),
        run_if=_tpl(Param(name="go")),
    )
    lowered, diagnostics = lower_python_tasks(_flow(step))
    assert diagnostics == []
    (new,) = lowered.steps
    assert isinstance(new.action, Script)
    assert new.action.language == "python"
    assert (new.id, new.description, new.retry, new.timeout, new.run_if) == (
        step.id,
        step.description,
        step.retry,
        step.timeout,
        step.run_if,
    )
    assert new.action.dependencies == ListValue(items=(Literal(value="kestra"),))
    assert _env(new) == {
        "FLOWBRIDGE_ARG_X": _tpl(Filter(value=Param(name="n"), name="toJson")),
    }
    assert "def add(x, y=1):" in new.action.source.value


def test_every_nested_step_is_lowered():
    flow = _flow(
        Branch(
            id="if",
            condition=_tpl(Param(name="go")),
            then=(_py("t"),),
            otherwise=(Parallel(id="par", steps=(_py("p1"), _py("p2"))),),
            on_failure=(_py("err"),),
            finally_steps=(_py("fin"),),
        ),
        Loop(id="each", items=ListValue(items=(Literal(value=1),)), steps=(_py("body"),)),
        on_failure=(_py("flow_err"),),
        finally_steps=(_py("flow_fin"),),
    )
    lowered, _ = lower_python_tasks(flow)
    actions = [s.action for s in lowered.all_steps() if isinstance(s, TaskStep)]
    assert len(actions) == 8
    assert all(isinstance(a, Script) for a in actions)


def test_references_to_lowered_results_are_retargeted_everywhere():
    result = TaskOutput(task="a")
    flow = _flow(
        _py("a"),
        _py("b", {"x": result, "y": TaskOutput(task="a", path=("k",))}),
        TaskStep(id="log", action=Log(message=_tpl(result))),
        Branch(
            id="if",
            condition=_tpl(Compare(op=">", left=result, right=Literal(value=1))),
            then=(TaskStep(id="say", action=Log(message=_tpl(TaskOutput(task="other")))),),
        ),
        Loop(
            id="each",
            items=_tpl(result),
            steps=(_py("inner", {"item": LoopItem(), "total": result}),),
        ),
        outputs=(FlowOutput(id="out", value=_tpl(result)),),
    )
    lowered, _ = lower_python_tasks(flow)
    found = {n for n in walk(lowered) if isinstance(n, TaskOutput)}
    assert found == {
        TaskOutput(task="a", path=("vars", "result")),
        TaskOutput(task="a", path=("vars", "result", "k")),
        TaskOutput(task="other"),  # not a lowered step: untouched
    }
    env = _env(_steps(lowered)["inner"])
    assert env["FLOWBRIDGE_ARG_ITEM"] == _tpl(Filter(value=LoopItem(), name="toJson"))


def test_lowering_is_idempotent():
    flow = _flow(_py("a", {"x": Param(name="n")}), _py("b", {"x": TaskOutput(task="a")}))
    once, _ = lower_python_tasks(flow)
    twice, diagnostics = lower_python_tasks(once)
    assert twice == once
    assert diagnostics == []


def test_map_expressions_rewrites_innermost_first_and_forgets_interpolation_text():
    interpolation = Interpolation(expr=Param(name="a"), source="{{inputs.a}}")
    template = Template(parts=("x ", interpolation))
    seen: list[str] = []

    def rename(expr):
        seen.append(expr.kind)
        return Param(name="b") if isinstance(expr, Param) else expr

    mapped = map_expressions(template, rename)
    assert seen == ["param", "template"]
    assert mapped.parts[1].expr == Param(name="b")
    assert mapped.parts[1].source is None
    assert map_expressions(template, lambda e: e) is template


# --- arguments -------------------------------------------------------------------------------


def test_constant_arguments_are_json_literals():
    data = MapValue(
        entries=(
            MapEntry(key="k", value=ListValue(items=(Literal(value=1), Literal(value="{{ x }}")))),
        )
    )
    lowered, diagnostics = lower_python_tasks(
        _flow(_py("a", {"x": Literal(value="héllo"), "y": data, "z": Literal(value=None)}))
    )
    assert diagnostics == []
    env = _env(lowered.steps[0])
    assert env["FLOWBRIDGE_ARG_X"] == Literal(value='"héllo"')
    assert json.loads(env["FLOWBRIDGE_ARG_Y"].value) == {"k": [1, "{{ x }}"]}
    assert env["FLOWBRIDGE_ARG_Z"] == Literal(value="null")


def test_dates_are_passed_as_iso_strings_with_a_warning():
    when = Timestamp(value=dt.date(2024, 1, 31))
    lowered, diagnostics = lower_python_tasks(_flow(_py("a", {"x": when})))
    assert _env(lowered.steps[0])["FLOWBRIDGE_ARG_X"] == Literal(value='"2024-01-31"')
    assert [d.code for d in diagnostics] == ["T101"]


def test_python_expressions_kestra_cannot_compute_are_not_passed():
    raw = Raw(text="compute(x)", dialect="python")
    lowered, diagnostics = lower_python_tasks(_flow(_py("a", {"x": raw, "y": Literal(value=1)})))
    assert list(_env(lowered.steps[0])) == ["FLOWBRIDGE_ARG_Y"]
    assert [d.code for d in diagnostics] == ["T101"]
    assert "'x'" in diagnostics[0].message


def test_templates_become_concatenations_under_to_json():
    text = Template(parts=("v", Interpolation(expr=Param(name="n"))))
    lowered, _ = lower_python_tasks(_flow(_py("a", {"x": text})))
    value = _env(lowered.steps[0])["FLOWBRIDGE_ARG_X"].parts[0].expr
    assert value == Filter(
        value=BinOp(op="~", left=Literal(value="v"), right=Param(name="n")), name="toJson"
    )
    yaml, _ = write_kestra(lowered)
    assert "{{ ('v' ~ inputs.n) | toJson }}" in yaml


def test_environment_names_are_sanitised_and_unique():
    arguments = {"x": Literal(value=1), "X": Literal(value=2), "größe": Literal(value=3)}
    lowered, _ = lower_python_tasks(_flow(_py("a", arguments)))
    names = list(_env(lowered.steps[0]))
    assert names == [
        "FLOWBRIDGE_ARG_X",
        "FLOWBRIDGE_ARG_X_2",
        "FLOWBRIDGE_ARG_GR_SSE",
    ]


def test_kestra_dependency_is_added_once():
    action = PythonFunction(function="add", source=ADD, dependencies=("pandas", "Kestra>=0.6"))
    lowered, _ = lower_python_tasks(_flow(TaskStep(id="a", action=action)))
    assert lowered.steps[0].action.dependencies == ListValue(
        items=(Literal(value="pandas"), Literal(value="Kestra>=0.6"))
    )


def test_missing_function_is_reported():
    lowered, diagnostics = lower_python_tasks(_flow(_py("a", function="nope")))
    assert [d.code for d in diagnostics] == ["T101"]
    assert isinstance(lowered.steps[0].action, Script)


# --- the script text -------------------------------------------------------------------------

HOSTILE_NAMES = [
    "plain",
    "größe",
    "it's",
    'say "hi"',
    "{{ inputs.x }}",
    "{% endraw %}",
    "line\nbreak",
    "class",
    "\\",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_script_compiles_for_hostile_names(name: str):
    source = "def f(a='x\\ny', b='''multi\nline {{ x }}'''):\n    return a\n"
    script = python_script(name, source, {name: "FLOWBRIDGE_ARG_A", "b": "FLOWBRIDGE_ARG_B"})
    compile(script, "<script>", "exec")
    assert script == python_script(
        name, source, {name: "FLOWBRIDGE_ARG_A", "b": "FLOWBRIDGE_ARG_B"}
    )


def test_script_names_the_function_in_a_header():
    script = python_script("add", ADD, {})
    assert script.startswith("# flowbridge: the Prefect task 'add', run as a Kestra python Script.")
    assert "arguments = {}" in script


def test_script_holding_endraw_is_stored_without_braces():
    source = 'def f():\n    return "{% endraw %}{{ x }}"\n'
    script = python_script("f", source, {})
    assert "{" not in script
    compile(script, "<script>", "exec")


# --- Kestra round trip -----------------------------------------------------------------------


def test_lowered_flow_round_trips_through_kestra_yaml():
    result = TaskOutput(task="a")
    flow = _flow(
        _py("a", {"x": Param(name="n"), "y": Literal(value=2)}, description="first"),
        _py("b", {"x": result, "y": Template(parts=("v", Interpolation(expr=Param(name="n"))))}),
        Branch(
            id="check",
            condition=_tpl(Compare(op=">", left=result, right=Literal(value=1))),
            then=(
                TaskStep(
                    id="log",
                    action=Log(message=Template(parts=("got ", Interpolation(expr=result)))),
                ),
            ),
        ),
        Loop(id="each", items=_tpl(result), steps=(_py("inner", {"x": LoopItem()}),)),
        outputs=(FlowOutput(id="out", type="STRING", value=_tpl(TaskOutput(task="b"))),),
    )
    lowered, diagnostics = lower_python_tasks(flow)
    assert diagnostics == []
    text, written = write_kestra(lowered)
    assert not has_errors(written)
    assert "{% raw %}" in text  # the function's docstring holds {{ x }}
    read = read_kestra(text)
    assert not has_errors(read.diagnostics), [d.render() for d in read.diagnostics]
    assert read.flows == [lowered]


def test_endraw_script_round_trips_through_kestra_yaml():
    source = 'def f():\n    return "{% endraw %}{{ x }}"\n'
    lowered, _ = lower_python_tasks(_flow(_py("a", source=source, function="f")))
    text, _ = write_kestra(lowered)
    assert read_kestra(text).flows == [lowered]


# --- running the generated script ------------------------------------------------------------

FAKE_KESTRA = """\
import json
import os


class Kestra:
    @staticmethod
    def outputs(values):
        with open(os.environ["FAKE_KESTRA_OUT"], "a", encoding="utf-8") as out:
            out.write(json.dumps(values) + "\\n")
"""


def _run(script: str, tmp_path: Path, env: dict[str, str], fake: bool = True):
    out = tmp_path / "outputs.jsonl"
    if fake:
        (tmp_path / "kestra.py").write_text(FAKE_KESTRA, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base.update(PYTHONPATH=str(tmp_path), FAKE_KESTRA_OUT=str(out), PYTHONIOENCODING="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, **env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return outputs, proc


def _lowered_script(step: TaskStep) -> tuple[str, dict[str, str]]:
    """The script text and the environment Kestra would give it (constants only)."""
    lowered, _ = lower_python_tasks(_flow(step))
    action = lowered.steps[0].action
    entries = action.env.entries if action.env else ()
    env = {e.key: e.value.value for e in entries if isinstance(e.value, Literal)}
    return action.source.value, env


def test_generated_script_runs_the_function_and_publishes_its_result(tmp_path: Path):
    script, env = _lowered_script(_py("a", {"x": Literal(value=2.7), "y": Literal(value=40)}))
    outputs, _ = _run(script, tmp_path, env)
    assert outputs == [{"result": 42}]


def test_generated_script_reads_rendered_json_arguments(tmp_path: Path):
    source = "def shape(rows, label):\n    return {'n': len(rows), 'label': label.upper()}\n"
    step = _py("a", {"rows": TaskOutput(task="up"), "label": Param(name="l")}, source, "shape")
    script, _ = _lowered_script(step)
    env = {"FLOWBRIDGE_ARG_ROWS": json.dumps([{"a": 1}, {"a": 2}]), "FLOWBRIDGE_ARG_LABEL": '"x"'}
    outputs, _ = _run(script, tmp_path, env)
    assert outputs == [{"result": {"n": 2, "label": "X"}}]


def test_generated_script_runs_async_functions(tmp_path: Path):
    source = (
        "import asyncio\n\n\nasync def wait(n):\n    await asyncio.sleep(0)\n    return n * 2\n"
    )
    script, env = _lowered_script(_py("a", {"n": Literal(value=21)}, source, "wait"))
    outputs, _ = _run(script, tmp_path, env)
    assert outputs == [{"result": 42}]


def test_generated_script_publishes_repr_of_other_results(tmp_path: Path):
    source = "def make():\n    return {1, 2}\n"
    script, env = _lowered_script(_py("a", {}, source, "make"))
    outputs, proc = _run(script, tmp_path, env)
    assert outputs == [{"result": "{1, 2}"}]
    assert "not JSON-serialisable" in proc.stderr


def test_generated_script_with_hostile_names_and_text_runs(tmp_path: Path):
    source = (
        'def größe(wert, text="a\\n{{ b }}"):\n'
        '    """{% endraw %} is not a problem."""\n'
        "    return [wert, text]\n"
    )
    step = _py("a", {"wert": Literal(value="{{ not rendered }}")}, source, "größe")
    script, env = _lowered_script(step)
    assert "{" not in script
    outputs, _ = _run(script, tmp_path, env)
    assert outputs == [{"result": ["{{ not rendered }}", "a\n{{ b }}"]}]


@pytest.mark.skipif(importlib.util.find_spec("kestra") is not None, reason="kestra is installed")
def test_generated_script_prints_outputs_line_without_the_kestra_package(tmp_path: Path):
    script, env = _lowered_script(_py("a", {"x": Literal(value=1)}))
    outputs, proc = _run(script, tmp_path, env, fake=False)
    assert outputs == []
    assert proc.stdout.strip() == '::{"outputs": {"result": 2}}::'
