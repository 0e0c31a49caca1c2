"""Properties of the Prefect writer over random and hostile IR flows (tests/strategies.py).

* Any flow gives a module that compiles and that black (default style, as the README says the
  output is) leaves unchanged; the writer never raises.
* The module is the writer's own code: its top level holds only imports, module constants of
  plain data, the runtime helpers (verbatim), ``@task``/``@flow`` functions and one
  ``__main__`` guard; every statement, call, attribute and name the writer wrote is one it
  emits or a name the module binds. So user text (ids, descriptions, messages, defaults,
  commands, plugin properties, the values interpolated into python scripts) can only have
  become data: string constants or comments. Python script bodies are the user's own code and
  the one exception, but the ``{{ }}`` inside them become parameters, never source.
* Text is data exactly: the module's string constants hold the user's text unchanged (Log
  messages, Return formats, template text, ``{% raw %}`` blocks rendered to their content).

Generated code is parsed and compiled, never run. Properties for the writer bugs they found
(fixed since) are at the end of the file.
"""

from __future__ import annotations

import ast
import builtins
import warnings
from collections.abc import Iterator

import black
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ir.expressions import (
    Compare,
    Filter,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Name,
    Now,
    Param,
    Raw,
    Secret,
    TaskOutput,
    Template,
)
from ir.flow import Flow, FlowOutput
from ir.parameters import Parameter, ParamType
from ir.steps import (
    Case,
    Commands,
    Download,
    Fail,
    HttpRequest,
    KVGet,
    KVSet,
    Log,
    Loop,
    Outputs,
    PluginCall,
    Return,
    Script,
    SubflowCall,
    Switch,
    TaskStep,
)
from ir.triggers import Schedule, Webhook
from transpile.kestra.pebble import parse_text
from transpile.prefect import runtime
from transpile.prefect.pyexpr import variable_name
from transpile.prefect.writer import PrefectModule, write_prefect
from transpile.result import WriteContext

from .strategies import (
    IDENT,
    PAYLOADS,
    PYTHON_SKELETONS,
    hostile_flows,
    hostile_text,
    kestra_flows,
    raw_blocks,
)

# The writer's own compile() warns about odd but valid code (`5["k"]` from `5 | first`).
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# The writer formats with black's default style (README: "formatted with black (default
# style)"); its output must be black's fixed point in that style.
MODE = black.Mode()

# --- what the writer emits ------------------------------------------------------------------

# Functions the writer calls by name (its own and Python's), besides the functions it defines.
WRITER_CALLS = frozenset(
    {"flow", "task", "get_run_logger", "run_deployment", "unmapped", "pause_flow_run"}
    | {"RuntimeError", "NotImplementedError", "isinstance"}
    | {"str", "int", "float", "bool", "len", "list", "range", "map", "max", "min", "abs"}
    | {"print"}  # called by the python-script skeletons of the hostile flows
    | {"Field"}  # Annotated[T, Field(description=...)]: a parameter's description
    | set(runtime.HELPERS)
)
WRITER_DOTTED_CALLS = frozenset(
    {f"logger.{level}" for level in ("debug", "info", "warning", "error")}
    | {"time.sleep", "Variable.get", "Variable.set", "Secret.load", "os.environ.get"}
    | {"json.dumps", "json.loads", "re.split", "zoneinfo.ZoneInfo"}
    | {f"datetime.{name}" for name in ("datetime", "date", "time", "timedelta", "timezone")}
    | {f"datetime.datetime.{name}" for name in ("now", "strptime", "fromisoformat")}
)
# Methods called on computed values (str methods, dict views, datetimes, Secret blocks,
# futures of mapped tasks).
WRITER_METHODS = frozenset(
    {"get", "upper", "lower", "strip", "replace", "join", "split", "title", "keys", "values"}
    | {"strftime", "astimezone", "result"}
)
# Methods called on a function the module defines.
FUNCTION_METHODS = frozenset({"submit", "map", "serve"})
WRITER_ATTRIBUTES = (
    WRITER_METHODS
    | FUNCTION_METHODS
    | {name for dotted in WRITER_DOTTED_CALLS for name in dotted.split(".")[1:]}
    | {"environ", "timezone", "utc", "flow_run", "id", "start_time", "scheduled_start_time"}
)
WRITER_NAMES = WRITER_CALLS | {"dict", "list", "Exception", "__name__"}
IMPORTABLE = frozenset(
    {"datetime", "json", "os", "re", "subprocess", "sys", "tempfile", "time", "typing"}
    | {"zoneinfo", "httpx", "prefect", "pydantic"}
)
# Calls whose result is plain data (dates, time zones, float("nan"), deployment options).
DATA_CALLS = frozenset(
    {f"datetime.{name}" for name in ("datetime", "date", "time", "timedelta", "timezone")}
    | {"zoneinfo.ZoneInfo", "float"}
    | {"Cron", "Interval", "RRule", "DeploymentEventTrigger", "ConcurrencyLimitConfig"}
)
DATA_ATTRIBUTES = ("datetime.timezone.utc", "ConcurrencyLimitStrategy.")
HELPER_TREES = {name: ast.dump(ast.parse(source)) for name, (source, _) in runtime.HELPERS.items()}
# Statements the writer builds flow and task bodies from.
WRITER_STATEMENTS = (
    ast.Expr,
    ast.Assign,
    ast.If,
    ast.For,
    ast.While,
    ast.Try,
    ast.Raise,
    ast.Return,
    ast.Pass,
    ast.Break,
)


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def is_data(node: ast.AST) -> bool:
    """True when ``node`` is a literal of plain data (dates and float("nan") included)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(is_data(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and is_data(k) for k in node.keys) and all(
            is_data(v) for v in node.values
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return is_data(node.operand)
    if isinstance(node, ast.Attribute):
        return (dotted(node) or "").startswith(DATA_ATTRIBUTES)
    if isinstance(node, ast.Call):
        return (
            dotted(node.func) in DATA_CALLS
            and all(is_data(a) for a in node.args)
            and all(k.arg is not None and is_data(k.value) for k in node.keywords)
        )
    return False


def decorator_name(function: ast.FunctionDef) -> str | None:
    if len(function.decorator_list) != 1:
        return None
    decorator = function.decorator_list[0]
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.id if isinstance(target, ast.Name) else None


def task_step_id(function: ast.FunctionDef) -> str:
    """The Kestra step id a ``@task`` function stands for (its ``name=``, else its name)."""
    for keyword in getattr(function.decorator_list[0], "keywords", ()):
        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return function.name


def bound_names(tree: ast.Module) -> set[str]:
    """Every name the module binds anywhere (imports, constants, functions, parameters,
    assignment and loop targets, handler names)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def check_top_level(tree: ast.Module, module: PrefectModule) -> list[ast.FunctionDef]:
    """The module's top level is the writer's; returns its flow and task functions."""
    functions: list[ast.FunctionDef] = []
    flows: list[str] = []
    constants: set[str] = set()
    for number, node in enumerate(tree.body):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in IMPORTABLE for a in node.names), ast.dump(node)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module.split(".")[0] in IMPORTABLE, ast.dump(node)
        elif isinstance(node, ast.Assign):
            assert [type(t) for t in node.targets] == [ast.Name], ast.dump(node)
            assert node.targets[0].id.isupper(), node.targets[0].id  # a module constant
            assert is_data(node.value), ast.unparse(node)
            constants.add(node.targets[0].id)
        elif isinstance(node, ast.FunctionDef) and node.name in HELPER_TREES:
            # Fixed code of ours, copied as it is.
            assert ast.dump(ast.Module(body=[node], type_ignores=[])) == HELPER_TREES[node.name]
        elif isinstance(node, ast.FunctionDef):
            kind = decorator_name(node)
            assert kind in ("flow", "task"), ast.unparse(node)[:300]
            decorator = node.decorator_list[0]
            if isinstance(decorator, ast.Call):
                assert decorator.args == []
                for keyword in decorator.keywords:
                    value = keyword.value
                    assert is_data(value) or dotted(value) == "INPUTS", ast.unparse(value)
            # Defaults are evaluated once, at import: plain data or a module constant.
            for default in node.args.defaults + node.args.kw_defaults:
                assert (
                    default is None
                    or is_data(default)
                    or (isinstance(default, ast.Name) and default.id in constants)
                ), ast.unparse(default)
            if kind == "flow":
                flows.append(node.name)
            functions.append(node)
        elif isinstance(node, ast.If):
            assert number == len(tree.body) - 1, "the __main__ block comes last"
            assert ast.unparse(node.test) == "__name__ == '__main__'", ast.unparse(node.test)
            assert not node.orelse
            for statement in node.body:
                assert isinstance(statement, ast.Expr), ast.unparse(statement)
                call = statement.value
                assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                assert call.func.attr == "serve" and dotted(call.func.value) in flows
                assert not call.args and all(is_data(k.value) for k in call.keywords)
        else:
            raise AssertionError(f"unexpected top-level statement: {ast.unparse(node)[:300]}")
    assert flows == list(module.flow_functions)
    return functions


def check_code(function: ast.FunctionDef, defined: set[str], bound: set[str]) -> None:
    """What the writer wrote in ``function`` is its own code: statements it builds, calls and
    attributes from its allow-lists, names the module binds."""
    for node in ast.walk(function):
        if isinstance(node, ast.stmt) and node is not function:
            assert isinstance(node, WRITER_STATEMENTS), ast.unparse(node)[:300]
        elif isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Starred, ast.Await, ast.Yield)):
            raise AssertionError(ast.unparse(node)[:300])
        elif isinstance(node, ast.Call):
            func = node.func
            name = dotted(func)
            if isinstance(func, ast.Name):
                assert func.id in WRITER_CALLS | defined, func.id
            elif name is not None:
                root, _, method = name.rpartition(".")
                assert (
                    name in WRITER_DOTTED_CALLS
                    or (root in defined and method in FUNCTION_METHODS)
                    or method in WRITER_METHODS  # on a value, a future, a Secret block
                ), name
            else:
                assert isinstance(func, ast.Attribute), ast.unparse(func)
                assert func.attr in WRITER_METHODS, func.attr
        elif isinstance(node, ast.Attribute):
            assert node.attr in WRITER_ATTRIBUTES, node.attr
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            assert node.id in bound | WRITER_NAMES, node.id


def check_module(module: PrefectModule, user_code: frozenset[str] = frozenset()) -> ast.Module:
    """Compiles, is black's fixed point, and is the writer's own code. The bodies of the tasks
    of the steps in ``user_code`` (python scripts: the user's own code) are left out of the
    code checks."""
    code = module.code
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # `"x"["k"]` is odd, not wrong
        compile(code, "<gen>", "exec")
    assert black.format_str(code, mode=MODE) == code
    tree = ast.parse(code)
    functions = check_top_level(tree, module)
    defined = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    bound = bound_names(tree)
    for function in functions:
        if decorator_name(function) == "task" and task_step_id(function) in user_code:
            continue
        check_code(function, defined, bound)
    return tree


def python_script_ids(flows: list[Flow]) -> frozenset[str]:
    return frozenset(
        step.id
        for flow in flows
        for step in flow.all_steps()
        if isinstance(step, TaskStep)
        and isinstance(step.action, Script)
        and step.action.language == "python"
    )


def string_constants(node: ast.AST) -> set[str]:
    """Every string constant below ``node`` (f-string text parts included)."""
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def function(tree: ast.Module, name: str) -> ast.FunctionDef:
    return next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == name)


def codes_of(module: PrefectModule) -> set[str]:
    return {d.code for d in module.diagnostics}


# --- 1, 2. any flow: formatted, compiling, the writer's own code --------------------------


@settings(max_examples=60)
@given(st.lists(kestra_flows(), min_size=1, max_size=2), st.booleans())
def test_random_flows_give_formatted_compiling_writer_code(flows, serve):
    module = write_prefect(flows, serve=serve)  # any exception fails the property
    check_module(module, python_script_ids(flows))
    assert len(module.flow_functions) == len(flows)


# The source name is a path: no NUL (compile() refuses one in a file name).
SOURCE_TEXT = hostile_text().map(lambda s: s.replace("\x00", ""))


@settings(max_examples=150)
@given(hostile_flows(), SOURCE_TEXT, SOURCE_TEXT, st.booleans())
def test_hostile_text_only_ever_becomes_data(flow, source_name, digest, serve):
    context = WriteContext(source_name=source_name, source_digest=digest)
    module = write_prefect(flow, context, serve=serve)
    tree = check_module(module)  # python scripts included: their values are hostile
    present = string_constants(tree) | {
        f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
    }
    if flow.id != module.flow_functions[0].replace("_", "-"):
        assert flow.id in present  # @flow(name=...)
    assert [text for text in expected_constants(flow) if text not in present] == []


def expected_constants(flow: Flow) -> Iterator[str]:
    """User text the writer must carry as a string constant, exactly: messages, commands, URIs,
    KV keys and values, task names, descriptions and tags, case values, choices, defaults, flow
    output keys and variables."""

    def texts(expr) -> Iterator[str]:
        items = expr.items if isinstance(expr, ListValue) else (expr,)
        for item in items:
            if isinstance(item, Literal) and isinstance(item.value, str):
                yield item.value

    def steps(block) -> Iterator[str]:
        for step in block:
            if step.disabled:
                continue  # not written: only its id, in a comment
            if isinstance(step, Switch):
                yield from (str(case.value) for case in step.cases)
            if isinstance(step, TaskStep):
                action = step.action
                if isinstance(action, (Commands, Script, HttpRequest, Download, PluginCall)):
                    yield step.id  # the task's name
                    yield from step.tags
                    if step.description:
                        yield step.description
                if isinstance(action, (Log, Fail)) and action.message is not None:
                    yield from texts(action.message)
                elif isinstance(action, Commands):
                    yield from texts(action.commands)
                elif isinstance(action, Script) and action.language != "python":
                    yield from texts(action.source)
                elif isinstance(action, (HttpRequest, Download)):
                    yield from texts(action.uri)
                elif isinstance(action, KVSet):
                    key = action.key  # a constant key is written under Prefect's name rule
                    if isinstance(key, Literal) and isinstance(key.value, str):
                        yield variable_name(key.value)
                    else:
                        yield from texts(key)
                    yield from texts(action.value)
                # (a KV Get nothing reads is left out: it only reads)
            for name in ("steps", "then", "otherwise", "default", "on_failure", "finally_steps"):
                yield from steps(getattr(step, name, ()))
            for case in getattr(step, "cases", ()):
                yield from steps(case.steps)

    yield from steps(flow.steps)
    yield from steps(flow.on_failure)
    yield from steps(flow.finally_steps)
    for param in flow.parameters:
        yield from param.values or ()
        if param.type == ParamType.STRING and param.default is not None:
            yield from texts(param.default)
    for output in flow.outputs:
        yield output.id
        yield from texts(output.value)
    for value in flow.variables.values():
        yield from texts(value)


def payload_flow(payload: str) -> Flow:
    """A flow whose every text field is ``payload``: ids, namespace, description, labels, the
    parameter (name, description, choices, default), variables, Log messages and levels, Return
    formats, OutputValues, Commands and their env, scripts (a shell one, and a python one whose
    ``{{ }}`` holds it), plugin type and properties, HTTP and KV steps, Fail, Switch cases,
    loops, a disabled step, a subflow, flow outputs and triggers."""
    text = Literal(value=payload)
    mapping = MapValue(entries=(MapEntry(key=payload, value=text),))
    template = Template(parts=(payload or "x", Interpolation(expr=Param(name=payload))))
    script = Template(
        parts=(
            "x = ",
            Interpolation(expr=text),
            '\ny = "',
            Interpolation(expr=text),
            '"\nprint(x, y)\n',
        )
    )

    def task(n: int, action, **options) -> TaskStep:
        return TaskStep(
            id=f"{payload}{n}", description=payload, tags=(payload,), action=action, **options
        )

    steps = (
        task(0, Log(message=text, level=payload)),
        task(1, Return(value=text)),
        task(2, Outputs(values=mapping)),
        task(3, Commands(language=payload, commands=ListValue(items=(text,)), env=mapping)),
        task(4, Script(language="shell", source=text)),
        task(5, Script(language="python", source=script)),
        task(
            6,
            PluginCall(
                type=payload, properties={payload: payload, "k": [payload, {payload: payload}]}
            ),
        ),
        task(7, HttpRequest(uri=text, method=text, headers=mapping, body=text)),
        task(8, KVSet(key=text, value=text, namespace=text)),
        task(9, KVGet(key=text)),
        task(10, Fail(message=text, condition=template), run_if=template),
        task(11, Log(message=text), disabled=True),
        Switch(
            id=payload,
            value=template,
            cases=(Case(value=payload, steps=(task(12, Log(message=template)),)),),
        ),
        Loop(
            id=payload,
            items=ListValue(items=(text,)),
            steps=(
                task(
                    13,
                    Log(message=Template(parts=(payload or "x", Interpolation(expr=LoopItem())))),
                ),
            ),
        ),
        SubflowCall(id=payload, namespace=text, flow_id=text, inputs=mapping),
    )
    return Flow(
        id=payload,
        namespace=payload,
        description=payload,
        labels={payload: payload},
        parameters=(Parameter(name=payload, description=payload, default=text, values=(payload,)),),
        variables={payload: text, f"{payload}2": template},
        steps=steps,
        on_failure=(task(14, Log(message=text)),),
        outputs=(FlowOutput(id=payload, value=text, type="STRING", description=payload),),
        triggers=(
            Schedule(id=payload, cron=payload, timezone=payload, inputs=mapping),
            Webhook(id=payload, key=text),
        ),
    )


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"payload{i}" for i in range(len(PAYLOADS))])
def test_every_field_carrying_one_payload(payload):
    flow = payload_flow(payload)
    module = write_prefect(flow)
    tree = check_module(module)
    present = string_constants(tree) | {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert [text for text in expected_constants(flow) if text not in present] == []
    # The python script's values are passed to its task, as data.
    tasks = [f for f in tree.body if isinstance(f, ast.FunctionDef) and decorator_name(f) == "task"]
    script = next(f for f in tasks if task_step_id(f) == f"{payload}5")
    assert "P206" not in codes_of(module)
    (call,) = [
        n
        for n in ast.walk(function(tree, module.flow_functions[0]))
        if isinstance(n, ast.Call) and dotted(n.func) == script.name
    ]
    assert [ast.literal_eval(k.value) for k in call.keywords] == [payload]


@settings(max_examples=40)
@given(hostile_text(), st.sampled_from(["shell", "python"]))
def test_any_script_source_is_carried_into_a_task(source, language):
    # A python script is the user's own code (it becomes the task's body, or comments when it
    # cannot); any other script is a command string. Either way the module stays the writer's.
    step = TaskStep(id="run", action=Script(language=language, source=Literal(value=source)))
    module = write_prefect(Flow(id="f", steps=(step,)))
    tree = check_module(module, user_code=frozenset({"run"}))
    if language == "shell":
        assert source in string_constants(function(tree, "f"))


# --- the values of a python script are parameters, never source --------------------------


@settings(max_examples=40)
@given(
    st.sampled_from(PYTHON_SKELETONS),
    st.lists(hostile_text().filter(bool), min_size=3, max_size=3),
)
def test_python_script_values_are_passed_not_spliced(skeleton, values):
    parts: list = []
    for before, value in zip(skeleton[:-1], values, strict=False):
        parts += [before, Interpolation(expr=Literal(value=value))]
    parts.append(skeleton[-1])
    script = Script(language="python", source=Template(parts=tuple(parts)))
    module = write_prefect(Flow(id="f", steps=(TaskStep(id="run", action=script),)))
    assert "P206" not in codes_of(module)  # converted, not carried as comments
    tree = check_module(module)
    task = function(tree, "run")
    (call,) = [n for n in ast.walk(function(tree, "f")) if isinstance(n, ast.Call)]
    passed = {k.arg: k.value for k in call.keywords}
    assert sorted(passed) == sorted(a.arg for a in task.args.args)
    used = values[: len(skeleton) - 1]
    assert {v.value for v in passed.values() if isinstance(v, ast.Constant)} == set(used)
    # In the body, each value is its parameter: nowhere as text of the script (whose only
    # constant of its own is a docstring).
    body = ast.Module(body=task.body, type_ignores=[])
    assert not set(used) & (string_constants(body) - {"Docstring."})
    assert {n.id for n in ast.walk(body) if isinstance(n, ast.Name)} >= set(passed)


# --- 3. text round trips exactly ----------------------------------------------------------

ANY_TEXT = st.one_of(hostile_text(), st.text())
TEXT_PART = ANY_TEXT.filter(bool)


@settings(max_examples=100)
@given(
    st.lists(ANY_TEXT, min_size=1, max_size=3),
    st.lists(ANY_TEXT, min_size=1, max_size=3),
    st.lists(st.tuples(TEXT_PART, TEXT_PART), max_size=2),
)
def test_log_and_return_text_is_kept_exactly(messages, formats, templates):
    steps = [
        TaskStep(id=f"log{i}", action=Log(message=Literal(value=m))) for i, m in enumerate(messages)
    ]
    steps += [
        TaskStep(id=f"ret{i}", action=Return(value=Literal(value=f))) for i, f in enumerate(formats)
    ]
    for i, (before, after) in enumerate(templates):
        template = Template(parts=(before, Interpolation(expr=Param(name="who")), after))
        steps.append(TaskStep(id=f"tlog{i}", action=Log(message=template)))
        steps.append(TaskStep(id=f"tret{i}", action=Return(value=template)))
    # Every Return is read (by the flow's outputs), so that none is a bare statement.
    outputs = [
        {"id": s.id, "value": TaskOutput(task=s.id, path=("value",))}
        for s in steps
        if isinstance(s.action, Return)
    ]
    flow = Flow(
        id="f",
        parameters=(Parameter(name="who"),),
        steps=tuple(steps),
        outputs=tuple(FlowOutput(**o) for o in outputs),
    )
    module = write_prefect(flow)
    tree = check_module(module)
    constants = string_constants(function(tree, "f"))
    assert [m for m in messages + formats if m not in constants] == []
    for before, after in templates:
        # f-string text or concatenated literals: the text, unescaped, piece by piece.
        assert before in constants and after in constants, (before, after)


# --- 4. {% raw %} blocks render to their content ------------------------------------------

RAW_TEXT = st.one_of(hostile_text(), st.sampled_from(["{{ x }}", "{{ outputs.t.value }}", "}}"]))


@settings(max_examples=80)
@given(raw_blocks(RAW_TEXT), IDENT.map(lambda s: s + " "), st.text("ab #%-.", max_size=6))
def test_raw_blocks_become_their_literal_content(block, before, after):
    content = _raw_content(block)
    read, problems = parse_text(before + block + after)  # as Kestra's YAML reader gives it
    assert problems == [] and Raw(text=block) in read.parts
    steps = [
        TaskStep(id="a", action=Log(message=Template(parts=(before, Raw(text=block), after)))),
        TaskStep(id="b", action=Return(value=read)),
        TaskStep(
            id="c",
            action=Log(
                message=Template(
                    parts=(before, Raw(text=block), Interpolation(expr=Param(name="p")), after)
                )
            ),
        ),
    ]
    flow = Flow(
        id="f",
        parameters=(Parameter(name="p"),),
        steps=tuple(steps),
        outputs=(FlowOutput(id="b", value=TaskOutput(task="b", path=("value",))),),
    )
    module = write_prefect(flow)
    assert "P201" not in codes_of(module)  # nothing carried as Pebble text
    tree = check_module(module)
    constants = string_constants(function(tree, "f"))
    assert before + content + after in constants  # a and b: one string
    assert before + content in constants  # c: the text before the interpolation
    assert after in constants or after == ""


def _raw_content(block: str) -> str:
    start = block.index("%}") + 2
    end = block.rindex("{%")
    return block[start:end]


@settings(max_examples=40)
@given(st.text("ab {}%#x.", max_size=8).filter(lambda s: "{%" not in s), IDENT)
def test_raw_blocks_in_python_scripts_are_string_text(content, name):
    # {% raw %}{{ x }}{% endraw %} inside a string literal of a script is the text {{ x }}, also
    # next to a value passed as a parameter (an f-string doubles the braces).
    block = Raw(text="{% raw %}" + content + "{% endraw %}")
    source = Template(
        parts=(
            'plain = "',
            block,
            '"\nmixed = "',
            block,
            " ",
            Interpolation(expr=Param(name=name)),
            '"\nprint(plain, mixed)\n',
        )
    )
    flow = Flow(
        id="f",
        parameters=(Parameter(name=name),),
        steps=(TaskStep(id="run", action=Script(language="python", source=source)),),
    )
    module = write_prefect(flow)
    assert "P206" not in codes_of(module)
    tree = check_module(module)
    constants = string_constants(function(tree, "run"))
    assert {content, content + " "} <= constants


# --- surrogates: data fields ----------------------------------------------------------------

SURROGATE_TEXT = hostile_text(surrogates=True)


@settings(max_examples=40)
@given(SURROGATE_TEXT, SURROGATE_TEXT, SURROGATE_TEXT)
def test_lone_surrogates_in_data_are_escaped(message, default, command):
    flow = Flow(
        id="f",
        description=message,
        parameters=(Parameter(name="p", default=Literal(value=default), description=message),),
        variables={"v": Literal(value=command)},
        steps=(
            TaskStep(id="log", description=message, action=Log(message=Literal(value=message))),
            TaskStep(
                id="cmd",
                description=message,
                tags=(message,),
                action=Commands(
                    language="shell", commands=ListValue(items=(Literal(value=command),))
                ),
            ),
            TaskStep(id="plugin", action=PluginCall(type="x.Y", properties={message: command})),
        ),
    )
    module = write_prefect(flow)
    tree = check_module(module)
    assert {message, default, command} <= string_constants(tree)


# --- expressions Pebble cannot spell (IR built otherwise than from YAML) ----------------

UNPRINTABLE = st.sampled_from(PAYLOADS).filter(lambda s: not s.isidentifier())


@settings(max_examples=30)
@given(UNPRINTABLE, st.sampled_from(["filter", "name", "operator"]))
def test_unprintable_expressions_elsewhere_are_carried_as_text(name, kind):
    # Outside python scripts and plugin tasks an expression Pebble cannot spell is carried as a
    # string (P201), like any expression with no Python equivalent.
    expr = {
        "filter": Filter(value=Param(name="p"), name=name),
        "name": Name(name=name),
        "operator": Compare(op=name, left=Param(name="p"), right=Literal(value=1)),
    }[kind]
    value = Template(parts=(Interpolation(expr=expr),))
    flow = Flow(
        id="f",
        parameters=(Parameter(name="p"),),
        steps=(
            TaskStep(id="a", run_if=value, action=Log(message=value)),
            TaskStep(id="b", action=Commands(language="shell", commands=ListValue(items=(value,)))),
        ),
    )
    module = write_prefect(flow)
    assert "P201" in codes_of(module)
    check_module(module)


# --- regressions: writer bugs these properties found, fixed since -------------------------


@settings(max_examples=20)
@example(where="flow id", text="a\ud800")
@given(
    where=st.sampled_from(
        ["flow id", "namespace", "disabled step", "source", "digest", "python script"]
    ),
    text=st.tuples(hostile_text(), st.characters(categories=["Cs"])).map("".join),
)
def test_lone_surrogates_in_commented_text_do_not_crash(where, text):
    context = WriteContext(
        source_name=text if where == "source" else "<input>",
        source_digest=text if where == "digest" else "",
    )
    step = TaskStep(id="a", action=Log(message=Literal(value="x")))
    if where == "disabled step":
        step = TaskStep(id=text, disabled=True, action=Log(message=Literal(value="x")))
    elif where == "python script":
        step = TaskStep(id="a", action=Script(language="python", source=Literal(value=text)))
    flow = Flow(
        id=text if where == "flow id" else "f",
        namespace=text if where == "namespace" else None,
        steps=(step,),
    )
    check_module(write_prefect(flow, context))


@settings(max_examples=10)
@example(key="²")
@given(st.text("²³¹⁰⁴⑤", min_size=1, max_size=3))
def test_output_keys_that_look_like_digits_do_not_crash(key):
    flow = Flow(
        id="f",
        steps=(
            TaskStep(id="t", action=Return(value=Literal(value="x"))),
            TaskStep(id="u", action=Log(message=Template(parts=(_output("t", key),)))),
        ),
    )
    tree = check_module(write_prefect(flow))
    assert key in string_constants(tree)


def _output(task: str, key: str) -> Interpolation:
    return Interpolation(expr=TaskOutput(task=task, path=("value", key)))


@settings(max_examples=10)
@example(escape="q")
@given(st.sampled_from("qxa'"))
def test_jq_paths_with_invalid_escapes_do_not_crash(escape):
    jq = Filter(value=Param(name="x"), name="jq", args=(Literal(value=f'.["\\{escape}"]'),))
    flow = Flow(
        id="f",
        parameters=(Parameter(name="x"),),
        steps=(TaskStep(id="u", action=Log(message=Template(parts=(Interpolation(expr=jq),)))),),
    )
    check_module(write_prefect(flow))


@settings(max_examples=10)
@example(kind="duration", size=10**10)
@given(st.sampled_from(["duration", "json"]), st.integers(10**10, 10**12))
def test_unparseable_defaults_do_not_crash(kind, size):
    if kind == "duration":
        param = Parameter(name="p", type=ParamType.DURATION, default=Literal(value=f"P{size}D"))
    else:
        nested = "[" * (size % 5000 + 100_000) + "]" * (size % 5000 + 100_000)
        param = Parameter(name="p", type=ParamType.JSON, default=Literal(value=nested))
    check_module(write_prefect(Flow(id="f", parameters=(param,))))


@settings(max_examples=10)
@example(kind="param")
@given(st.sampled_from(["param", "secret", "now"]))
def test_expression_defaults_are_not_evaluated_at_import(kind):
    value = {"param": Param(name="a"), "secret": Secret(name="T"), "now": Now()}[kind]
    default = Template(parts=("x-", Interpolation(expr=value)))
    params = (Parameter(name="a"), Parameter(name="b", default=default))
    check_module(write_prefect(Flow(id="f", parameters=params)))


@settings(max_examples=10)
@example(text=" hello ")
@given(st.text(min_size=1))
def test_an_unread_return_is_not_the_flow_docstring(text):
    flow = Flow(id="f", steps=(TaskStep(id="r", action=Return(value=Literal(value=text))),))
    tree = check_module(write_prefect(flow))
    assert ast.get_docstring(function(tree, "f"), clean=False) is None


@settings(max_examples=10)
@example(where="script", name="not a name")
@given(st.sampled_from(["script", "plugin"]), UNPRINTABLE)
def test_unprintable_expressions_do_not_crash(where, name):
    unprintable = Interpolation(expr=Name(name=name))
    if where == "script":
        source = Template(parts=("x = 1  # ", unprintable, "\n"))
        step = TaskStep(id="run", action=Script(language="python", source=source))
    else:
        condition = Template(parts=(unprintable,))
        step = TaskStep(id="run", run_if=condition, action=PluginCall(type="x.Y"))
    check_module(write_prefect(Flow(id="f", steps=(step,))), user_code=frozenset({"run"}))


# Builtins the generated code (its own statements and the runtime helpers) calls or reads.
USED_BUILTINS = sorted(n for n in WRITER_NAMES | {"print", "dict"} if hasattr(builtins, n))


@settings(max_examples=20)
@example(name="str")
@given(st.sampled_from(USED_BUILTINS))
def test_names_from_ids_do_not_shadow_builtins(name):
    flow = Flow(
        id="f",
        parameters=(Parameter(name=name),),
        variables={name: Template(parts=("x", Interpolation(expr=Param(name=name))))},
        steps=(
            TaskStep(id=name, action=Commands(language="shell", commands=ListValue(items=()))),
            TaskStep(id="r", action=Return(value=Param(name=name))),
        ),
    )
    tree = check_module(write_prefect(flow))
    writer_bound = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    for f in tree.body:
        if isinstance(f, ast.FunctionDef) and f.name not in HELPER_TREES:
            writer_bound |= {a.arg for a in f.args.args}
            writer_bound |= {
                n.id
                for n in ast.walk(f)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    assert writer_bound.isdisjoint(USED_BUILTINS), writer_bound & set(USED_BUILTINS)


def test_the_prefect_writer_has_a_handler_for_every_ir_kind():
    from ir.steps import ACTION_TYPES, STEP_TYPES
    from transpile.prefect import writer

    assert set(STEP_TYPES) <= set(writer._STEP_WRITERS)
    assert set(ACTION_TYPES) <= set(writer._ACTION_WRITERS)
