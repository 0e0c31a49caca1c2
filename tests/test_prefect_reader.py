"""The Prefect reader: Python flows → IR, statically (nothing of the user's code runs)."""

from __future__ import annotations

import ast
import sys
from datetime import timedelta
from pathlib import Path

import libcst as cst
import pytest

from ir.expressions import (
    KV,
    BinOp,
    Compare,
    Index,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    Not,
    Param,
    Raw,
    Secret,
    TaskOutput,
    Template,
    Timestamp,
    Var,
)
from ir.parameters import ParamType
from ir.policies import RetryKind
from ir.steps import (
    AllowFailure,
    Branch,
    Dag,
    Fail,
    Log,
    Loop,
    Parallel,
    Pause,
    Script,
    Sleep,
    SubflowCall,
    TaskStep,
)
from transpile.prefect import read_prefect_file, read_prefect_repo, read_prefect_source
from transpile.prefect import scope as scopes
from transpile.prefect.positions import Positions

from .conftest import FIXTURES

PREFECT = FIXTURES / "prefect"


def read(case: str, name: str | None = None):
    """Read one fixture file (the only .py of the case unless ``name`` is given)."""
    folder = PREFECT / case
    path = folder / name if name else next(folder.glob("*.py"))
    return read_prefect_file(path, namespace="company.team")


def flow_named(result, flow_id):
    return next(f for f in result.flows if f.id == flow_id)


def steps_by_id(flow):
    return {step.id: step for step in flow.all_steps()}


def codes_of(result):
    return [d.code for d in result.diagnostics]


# --- basics ---------------------------------------------------------------------------------


def test_basic_etl_flow_parameters_steps_outputs():
    result = read("basic_etl")
    assert codes_of(result) == []
    (flow,) = result.flows
    assert flow.id == "orders_etl"
    assert flow.namespace == "company.team"
    assert flow.description == "Daily order report."
    day, token = flow.parameters
    assert (day.name, day.type, day.required, day.default) == ("day", ParamType.STRING, True, None)
    assert token.default == Literal(value="dev-token") and not token.required
    assert [s.id for s in flow.steps] == ["orders", "summary", "path"]
    orders, summary, path = flow.steps
    assert orders.action.function == "extract_orders"
    assert orders.action.arguments == {"day": Param(name="day"), "token": Param(name="token")}
    assert orders.description == "Fetch the orders of one day."
    assert summary.action.arguments == {"orders": TaskOutput(task="orders")}
    assert path.action.arguments == {
        "summary": TaskOutput(task="summary"),
        "day": Param(name="day"),
    }
    assert [(o.id, o.value) for o in flow.outputs] == [
        ("report", TaskOutput(task="path")),
        ("summary", TaskOutput(task="summary")),
    ]


def test_bundled_source_has_needed_imports_and_helpers_only():
    steps = steps_by_id(read("basic_etl").flows[0])
    extract = steps["orders"].action
    assert "import httpx" in extract.source
    assert 'API_URL = "https://shop.example.com/api/v1"' in extract.source
    assert "def _auth_headers(token: str) -> dict:" in extract.source
    assert extract.source.rstrip().endswith('return response.json()["orders"]')
    for unrelated in ("REPORT_DIR", "import json", "@task", "from prefect", "def summarise"):
        assert unrelated not in extract.source
    assert extract.dependencies == ("httpx",)
    compile(extract.source, "<bundle>", "exec")  # self-contained and valid

    summarise = steps["summary"].action
    assert summarise.source.startswith("import json\n")
    assert summarise.dependencies == ("pandas",)  # imported inside the task body

    report = steps["path"].action
    assert "from pathlib import Path" in report.source
    assert 'REPORT_DIR = Path("/tmp/reports")' in report.source
    assert report.dependencies == ()


def test_spans_point_at_source():
    flow = read("basic_etl").flows[0]
    assert flow.span.file.endswith("etl.py")
    assert flow.span.line == 44  # the `def` line (decorators sit above it)
    assert (flow.steps[0].span.line, flow.steps[0].span.col) == (46, 14)
    assert (flow.parameters[1].span.line, flow.parameters[1].span.col) == (44, 26)


# --- retries, timeouts, caching, options ----------------------------------------------------


def test_retry_policies():
    flow = read("retries").flows[0]
    steps = steps_by_id(flow)
    ping = steps["ping"].retry
    assert (ping.kind, ping.max_attempts, ping.interval) == (
        RetryKind.CONSTANT,
        4,
        timedelta(seconds=10),
    )
    page = steps["rows"].retry
    assert page.kind is RetryKind.EXPLICIT and page.max_attempts == 5
    assert page.delays == tuple(timedelta(seconds=s) for s in (10, 30, 60, 120))
    job = steps["job"].retry
    assert (job.kind, job.max_attempts, job.interval, job.factor, job.jitter) == (
        RetryKind.EXPONENTIAL,
        6,
        timedelta(seconds=2),
        2.0,
        0.3,
    )
    export = steps["slow_export"]
    assert export.retry.interval == timedelta(minutes=1) and export.retry.max_attempts == 3
    assert export.timeout == timedelta(seconds=300)
    assert flow.retry.max_attempts == 2 and flow.retry.interval == timedelta(seconds=30)
    assert flow.parameters[0].default == Literal(value="https://status.example.org/health")
    assert flow.outputs[0].value == TaskOutput(task="slow_export")


def test_caching():
    result = read("caching")
    steps = steps_by_id(result.flows[0])
    geocode = steps["geocode"].cache
    assert (geocode.key, geocode.ttl) == ("inputs", timedelta(hours=1))
    rates = steps["rates"].cache
    assert (rates.key, rates.ttl) == ("inputs", timedelta(days=1))
    assert steps["enrich"].extras == {"prefect": {"cache_policy": "INPUTS + TASK_SOURCE"}}
    assert steps["custom"].cache is None
    assert "cache_key_fn" in steps["custom"].extras["prefect"]
    assert sorted(codes_of(result)) == ["P102", "P103"]


def test_hooks_runners_and_unmapped_options():
    result = read("hooks_and_runners")
    flow = result.flows[0]
    prefect_extras = flow.extras["prefect"]
    assert prefect_extras["task_runner"] == "ThreadPoolTaskRunner(max_workers=4)"
    assert prefect_extras["on_failure"] == "[alert]"
    assert {"on_completion", "persist_result", "result_storage", "version"} <= set(prefect_extras)
    step = flow.steps[0]
    assert step.extras["prefect"]["task_run_name"] == '"work-{item}"'
    found = codes_of(result)
    assert found.count("P104") == 3 and found.count("P103") == 1
    assert "P102" in found
    runner = next(d for d in result.diagnostics if d.code == "P103")
    assert runner.span.line == 21 and "task_runner" in runner.message


# --- control flow ---------------------------------------------------------------------------


def test_submit_wait_for_builds_dag():
    flow = flow_named(read("submit_parallel"), "fanout")
    (dag,) = flow.steps
    assert isinstance(dag, Dag)
    edges = {s.id: s.depends_on for s in dag.steps}
    assert edges == {
        "first": (),
        "second": (),
        "third": (),
        "total": ("first", "second", "third"),
        "done": ("total",),
        "cleanup": ("done",),
    }
    assert edges and flow.outputs[0].value == TaskOutput(task="total")
    first = dag.steps[0].action.arguments["source"]
    assert first == Template(parts=(Interpolation(expr=Param(name="prefix")), "/a.csv"))


def test_independent_submits_become_parallel_until_a_wait():
    flow = flow_named(read("submit_parallel"), "independent")
    parallel, last = flow.steps
    assert isinstance(parallel, Parallel)
    assert [s.id for s in parallel.steps] == ["a", "b", "c"]
    assert isinstance(last, TaskStep) and last.id == "d"


def test_map_with_unmapped():
    flow = read("map_unmapped").flows[0]
    customers, model, loop = flow.steps
    assert isinstance(loop, Loop) and loop.id == "scores_map" and loop.concurrency == 0
    assert loop.items == TaskOutput(task="customers")
    (inner,) = loop.steps
    assert inner.id == "scores"
    assert inner.action.arguments == {
        "customer": LoopItem(),
        "model": TaskOutput(task="model"),
        "threshold": Literal(value=0.7),
    }
    assert flow.outputs[0].value == TaskOutput(task="scores")


def test_if_elif_else():
    flow = read("branching").flows[0]
    size, first, second = flow.steps
    assert size.id == "size"
    assert isinstance(first, Branch)
    assert first.condition == Compare(
        op="<", left=TaskOutput(task="size"), right=Literal(value=1_000_000)
    )
    assert [s.action.function for s in first.then] == ["process_small"]
    (elif_,) = first.otherwise
    assert isinstance(elif_, Branch)
    assert elif_.condition == BinOp(
        op="and",
        left=Compare(op="<", left=TaskOutput(task="size"), right=Literal(value=100_000_000)),
        right=Compare(op="==", left=Param(name="env"), right=Literal(value="prod")),
    )
    assert elif_.then[0].action.arguments["chunks"] == Literal(value=4)
    assert elif_.otherwise[0].action.arguments["chunks"] == Literal(value=16)
    assert elif_.then[0].id != elif_.otherwise[0].id
    assert second.condition == Not(operand=Param(name="dry_run"))


def test_nested_for_loops_and_loop_item_depth():
    flow = read("loops").flows[0]
    assert flow.parameters[0].type is ParamType.ARRAY
    assert flow.parameters[0].item_type is ParamType.STRING
    assert flow.parameters[0].default == ListValue(
        items=(Literal(value="public"), Literal(value="sales"))
    )
    (outer,) = flow.steps
    assert isinstance(outer, Loop) and outer.items == Param(name="schemas")
    assert outer.concurrency == 1
    tables, inner = outer.steps
    assert tables.action.arguments == {"schema": LoopItem()}
    assert isinstance(inner, Loop) and inner.items == TaskOutput(task="tables")
    vacuum, analyze = inner.steps
    assert vacuum.action.arguments == {"table": LoopItem()}
    assert analyze.action.arguments == {"table": LoopItem(), "schema": LoopItem(depth=1)}


def test_subflows_in_same_module():
    result = read("subflows_same_module")
    assert [f.id for f in result.flows] == ["ingest-partition", "daily-ingest"]
    parent = result.flows[1]
    partitions, once, loop = parent.steps
    assert isinstance(once, SubflowCall)
    assert once.flow_id == Literal(value="ingest-partition")
    assert once.namespace == Literal(value="company.team") and once.wait is True
    assert once.inputs.get("partition") == Literal(value="backfill")
    assert once.inputs.get("overwrite") == Literal(value=True)
    (call,) = loop.steps
    assert isinstance(call, SubflowCall) and call.inputs.get("partition") == LoopItem()


# --- logging, secrets, variables ------------------------------------------------------------


def test_logger_and_print_under_log_prints():
    result = read("logging")
    audit = flow_named(result, "audit")
    logs = [s for s in audit.all_steps() if isinstance(s, TaskStep) and isinstance(s.action, Log)]
    assert [s.action.level for s in logs] == ["DEBUG", "INFO", "WARN", "INFO", "ERROR"]
    assert logs[0].action.message == Literal(value="starting audit")
    assert logs[1].action.message == Template(
        parts=(
            "table ",
            Interpolation(expr=Param(name="table")),
            " has ",
            Interpolation(expr=TaskOutput(task="rows")),
            " rows",
        )
    )
    assert logs[3].action.message == Template(
        parts=("audit done for", " ", Interpolation(expr=Param(name="table")))
    )
    assert audit.extras == {"prefect": {"log_prints": "True"}}
    quiet = flow_named(result, "quiet")
    assert isinstance(quiet.steps[0].action, Script)  # print without log_prints is just code
    assert codes_of(result) == ["P101"]


def test_secret_and_variable():
    result = read("secrets_variables")
    sync = flow_named(result, "nightly_sync")
    (connect,) = sync.steps
    assert connect.action.arguments == {
        "host": KV(key="warehouse_host"),
        "password": Secret(name="warehouse-password"),
        "schema": Param(name="schema"),
    }
    assert connect.action.dependencies == ("psycopg2",)
    inline = flow_named(result, "inline_secret")
    assert inline.steps[0].action.arguments["password"] == Secret(name="db-pass")


# --- parameters -----------------------------------------------------------------------------


def test_typed_parameters():
    result = read("typed_params")
    params = {p.name: p for p in result.flows[0].parameters}
    expected = {
        "name": (ParamType.STRING, True),
        "count": (ParamType.INT, False),
        "ratio": (ParamType.FLOAT, False),
        "enabled": (ParamType.BOOL, False),
        "start": (ParamType.DATETIME, False),
        "day": (ParamType.DATE, False),
        "at": (ParamType.TIME, False),
        "every": (ParamType.DURATION, False),
        "config": (ParamType.JSON, False),
        "limits": (ParamType.JSON, False),
        "tags": (ParamType.ARRAY, False),
        "ids": (ParamType.ARRAY, False),
        "mode": (ParamType.SELECT, False),
        "modes": (ParamType.MULTISELECT, False),
        "region": (ParamType.SELECT, False),
        "thing": (ParamType.STRING, False),
        "legacy": (ParamType.INT, False),
    }
    assert {n: (p.type, p.required) for n, p in params.items()} == expected
    assert params["count"].default == Literal(value=3)
    assert params["start"].default.value.isoformat() == "2024-01-01T06:30:00"
    assert isinstance(params["start"].default, Timestamp)
    assert params["every"].default == Literal(value="PT1H")
    assert params["config"].default.get("mode") == Literal(value="fast")
    assert params["ids"].item_type is ParamType.INT
    assert params["mode"].values == ("full", "incremental")
    assert params["modes"].values == ("x", "y")
    assert params["region"].values == ("eu", "us", "apac")
    assert params["region"].default == Literal(value="eu")
    assert params["day"].default is None
    assert codes_of(result) == ["P106"]
    assert "'thing'" in result.diagnostics[0].message


# --- carried constructs, Prefect 1, syntax errors -------------------------------------------


def test_unmappable_statements_are_carried_not_dropped():
    result = read("unmappable")
    flow = result.flows[0]
    kinds = [type(s.action).__name__ for s in flow.steps]
    assert kinds == ["PythonFunction", "Script", "Script", "Script", "Script", "PythonFunction"]
    sources = [s.action.source.value for s in flow.steps if isinstance(s.action, Script)]
    assert sources[0].startswith('while status != "done" and attempts < 10:\n')
    assert "time.sleep(5)" in sources[0]
    assert sources[1].startswith("try:\n") and "except ValueError:" in sources[1]
    assert sources[2] == "upper = [n.upper() for n in names]"
    assert sources[3].startswith("with open(")
    assert flow.steps[3].id == "upper"
    assert codes_of(result) == ["P101"] * 4
    assert result.diagnostics[0].span.line == 22


def test_raise_and_pause():
    source = """
from prefect import flow, pause_flow_run

@flow
def guarded(n: int = 1):
    if n < 0:
        raise ValueError(f"negative: {n}")
    pause_flow_run(timeout=600)
"""
    result = read_prefect_source(source, "guarded.py")
    fail, pause = result.flows[0].steps  # `if cond: raise` is a Fail with a condition
    assert isinstance(fail.action, Fail)
    assert fail.action.condition == Compare(op="<", left=Param(name="n"), right=Literal(value=0))
    assert fail.action.message == Template(
        parts=("negative: ", Interpolation(expr=Param(name="n")))
    )
    assert isinstance(pause, Pause) and pause.duration == timedelta(minutes=10)
    assert codes_of(result) == ["P103"]


def test_unresolved_callee_is_p105_and_builtin_is_p101():
    source = """
from prefect import flow
from prefect_dbt.cli.commands import trigger_dbt_cli_command

@flow
def dbt(project: str = "x"):
    trigger_dbt_cli_command("dbt run", project_dir=project)
    total = len(project)
"""
    result = read_prefect_source(source, "dbt.py")
    assert codes_of(result) == ["P105", "P101"]
    assert "trigger_dbt_cli_command" in result.diagnostics[0].message
    assert [s.id for s in result.flows[0].steps] == ["script", "total"]


def test_prefect1_is_reported():
    result = read("prefect1")
    assert result.flows == []
    assert codes_of(result) == ["P109"]
    assert result.diagnostics[0].span.line == 11


def test_syntax_error_is_one_p100_with_position():
    result = read("broken_syntax", "broken.py")
    assert result.flows == []
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "P100"
    assert (diagnostic.span.line, diagnostic.span.col) == (8, 10)
    assert diagnostic.span.file.endswith("broken.py")


def test_repo_with_a_broken_file_still_reads_the_good_one():
    folder = PREFECT / "broken_syntax"
    files = sorted(folder.glob("*.py"))
    results = read_prefect_repo(folder, files, namespace="ns")
    assert codes_of(results[folder / "broken.py"]) == ["P100"]
    assert [f.id for f in results[folder / "good.py"].flows] == ["greet"]


def test_source_edge_cases():
    assert read_prefect_source(b"\xef\xbb\xbfx = 1\n").diagnostics == []  # BOM, no prefect
    tasks_only = read_prefect_source("from prefect import task\n\n@task\ndef t(): ...\n", "t.py")
    assert codes_of(tasks_only) == ["P108"]
    bad = read_prefect_source(b"x = '\xff'\n", "bad.py")
    assert codes_of(bad) == ["F002"]
    missing = read_prefect_file(Path("/nonexistent/flow.py"))
    assert codes_of(missing) == ["F001"]


def test_side_effects_module_is_never_run(tmp_path, monkeypatch):
    sentinel = tmp_path / "sentinel"
    monkeypatch.setenv("FLOWBRIDGE_SENTINEL", str(sentinel))
    before = set(sys.modules)
    result = read("side_effects")
    assert not sentinel.exists() and not Path(f"{sentinel}.system").exists()
    assert not any("dangerous" in name for name in set(sys.modules) - before)
    flow = result.flows[0]
    assert flow.steps[0].action.function == "touch"
    assert flow.steps[1].action.source == Literal(value="os.remove(path)")


# --- names and spellings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow_id", "step_id", "function", "attempts"),
    [
        ("dotted_flow", "dotted_task", "dotted_task", None),  # @prefect.flow / @prefect.task
        ("aliased_module_flow", "aliased_module_task", "aliased_module_task", 2),  # pf.task(...)
        ("called-flow", "dotted_task", "dotted_task", None),  # pf.flow(fn, name=...)
    ],
)
def test_import_spelling_matrix(flow_id, step_id, function, attempts):
    flow = flow_named(read("import_spellings"), flow_id)
    (step,) = flow.steps
    assert (step.id, step.action.function) == (step_id, function)
    assert (step.retry.max_attempts if step.retry else None) == attempts


def test_task_call_forms_and_with_options():
    result = read("import_spellings")
    flow = flow_named(result, "aliased_flow")  # @prefect_flow(name="aliased flow"), async
    assert codes_of(result) == ["P107"]
    assert flow.extras["prefect"]["async"] == "True"
    got = [(s.id, s.action.function, s.retry.max_attempts if s.retry else None) for s in flow.steps]
    assert got == [
        ("a", "aliased_task", None),  # @t with `from prefect import task as t`
        ("b", "_plain", 3),  # task(_plain, retries=2)
        ("c", "_plain", None),  # task(name=...)(_plain)
        ("d", "aliased_task", 6),  # aliased_task.with_options(retries=5), assigned
        ("e", "dotted_task", None),  # await
        ("aliased_task", "aliased_task", 10),  # inline .with_options(retries=9)(...)
    ]
    assert flow.steps[1].action.source.startswith("def _plain(x: int) -> int:")
    assert "@" not in flow.steps[0].action.source


def test_flow_id_is_slugged():
    result = read_prefect_source(
        "from prefect import flow\n\n@flow(name='Daily ETL / EU')\ndef f():\n    pass\n", "f.py"
    )
    assert result.flows[0].id == "Daily_ETL_EU"
    assert codes_of(result) == ["P107"]


def test_repeated_task_ids_get_suffixes():
    source = """
from prefect import flow, task

@task
def step(x: int) -> int:
    return x

@flow
def repeat():
    step(1)
    step(2)
    step(3)
"""
    flow = read_prefect_source(source, "r.py").flows[0]
    assert [s.id for s in flow.steps] == ["step", "step_2", "step_3"]


# --- repos ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repo_results():
    root = PREFECT / "multi_module_repo"
    return root, read_prefect_repo(root, sorted(root.rglob("*.py")), namespace="acme.etl")


def test_repo_resolves_tasks_across_modules(repo_results):
    root, results = repo_results
    pkg = root / "etl_pkg"
    assert codes_of(results[pkg / "tasks.py"]) == ["P108"]
    assert results[pkg / "helpers.py"].diagnostics == []  # no prefect: nothing to say
    (flow,) = results[pkg / "flows.py"].flows
    assert flow.id == "warehouse-etl" and flow.namespace == "acme.etl"
    assert [s.id for s in flow.steps] == ["rows", "values", "loaded", "publish-report"]
    rows, values, loaded, report = flow.steps
    assert loaded.action.function == "load"  # via `import etl_pkg.tasks as t`
    assert loaded.action.arguments == {
        "values": TaskOutput(task="values"),
        "table": Param(name="table"),
    }
    assert isinstance(report, SubflowCall)
    assert report.flow_id == Literal(value="publish-report")
    assert report.namespace == Literal(value="acme.etl")
    assert report.inputs.get("rows") == TaskOutput(task="loaded")
    assert rows.retry.max_attempts == 3


def test_repo_bundles_helpers_from_other_modules(repo_results):
    root, results = repo_results
    rows, values, *_ = results[root / "etl_pkg" / "flows.py"].flows[0].steps
    source = rows.action.source
    assert "def slugify(text: str) -> str:" in source
    assert 'DEFAULT_BUCKET = "s3://warehouse-raw"' in source
    assert "import re" in source and "import boto3" in source
    for unrelated in ("load_settings", "unused_helper", "yaml", "numpy", "from .helpers"):
        assert unrelated not in source
    compile(source, "<bundle>", "exec")
    assert rows.action.dependencies == ("boto3",)
    assert values.action.dependencies == ("scikit-learn",)


def test_serve_and_deploy_flows_are_read():
    result = read("serve_deploy")
    assert [f.id for f in result.flows] == ["hourly_sync", "weekly_rollup"]
    try:
        import transpile.prefect.deployments  # noqa: F401
    except ImportError:
        pytest.skip("deployments module not available yet")
    assert result.flows[0].triggers and result.flows[1].triggers


def test_raw_python_for_unknown_expressions():
    source = """
from prefect import flow, task

@task
def show(value: object) -> None:
    print(value)

@flow
def exprs(items: list[int], cfg: dict):
    show(len(items))
    show(cfg["key"])
    show(items[0])
"""
    steps = read_prefect_source(source, "e.py").flows[0].steps
    assert steps[0].action.arguments["value"] == Raw(text="len(items)", dialect="python")
    assert steps[1].action.arguments["value"] == Index(
        obj=Param(name="cfg"), index=Literal(value="key")
    )
    assert steps[2].action.arguments["value"] == Index(
        obj=Param(name="items"), index=Literal(value=0)
    )


def test_script_style_sibling_imports_resolve(tmp_path):
    (tmp_path / "flows" / "utils").mkdir(parents=True)
    (tmp_path / "flows" / "utils" / "tasks.py").write_text(
        "import cowsay\nfrom prefect import task\n\n@task\ndef hello(n: str):\n"
        "    cowsay.cow(n)\n"
    )
    main = tmp_path / "flows" / "main.py"
    main.write_text(
        "from prefect import flow\nfrom utils.tasks import hello\n\n@flow\n"
        "def main(n: str = 'x'):\n    hello(n)\n"
    )
    files = sorted(tmp_path.rglob("*.py"))
    results = read_prefect_repo(tmp_path, files, namespace="ns")
    (step,) = results[main].flows[0].steps
    assert step.action.function == "hello"
    assert step.action.source.startswith("import cowsay\n")
    assert step.action.dependencies == ("cowsay",)


def test_only_prefect_yaml_files_above_converted_files_are_read(tmp_path):
    # A one-file conversion reads its folder as the repo: a prefect.yaml elsewhere under that
    # folder (another project) is none of its business, one beside the file is.
    flows = tmp_path / "flows"
    other = tmp_path / "elsewhere" / "deep"
    flows.mkdir()
    other.mkdir(parents=True)
    (other / "prefect.yaml").write_text("deployments: [broken\n")
    etl = flows / "etl.py"
    etl.write_text("from prefect import flow\n\n@flow\ndef etl():\n    pass\n")
    (flows / "prefect.yaml").write_text(
        "deployments:\n  - name: nightly\n    entrypoint: etl.py:etl\n"
        "    schedules:\n      - cron: '0 2 * * *'\n"
    )
    for root in (tmp_path, flows):
        result = read_prefect_repo(root, [etl], namespace="ns")[etl]
        assert [t.cron for t in result.flows[0].triggers] == ["0 2 * * *"]
        assert not [d for d in result.diagnostics if d.code == "D103"], result.diagnostics


def test_with_options_at_each_call_site_keeps_its_own_options():
    calls = "\n".join(f'    step.with_options(name=f"s{i}_{{n}}")(n)' for i in range(30))
    source = (
        "from prefect import flow, task\n\n@task\ndef step(n: int) -> int:\n    return n\n\n"
        f"@flow\ndef many(n: int = 1):\n{calls}\n"
    )
    flow = read_prefect_source(source, "m.py").flows[0]
    names = [s.extras["prefect"]["name"] for s in flow.steps]
    assert names == [f'f"s{i}_{{n}}"' for i in range(30)]


# --- source text and names, without regenerating code ---------------------------------------

TRICKY = '''\
# header comment
import os, sys as system
from . import sibling
X = 1; Y = X + 1
if TYPE_CHECKING:
    from pkg import Thing

    # comment owned by the function
    @decorate(X)
    def typed(a: Thing = X) -> "Thing":
        return (a +
                X)
try:
    import ujson as json
except ImportError:
    import json


@first
@task(retries=2)
# between decorators
@last
async def outer(a, b=Y, /, c: int = X, *, d=Y, **kw):
    """Doc."""
    f(a=1, *args_after)
    d2 = {**base, X: Y, "k": lambda v=X: v + Y}
    v = first_if if cond_if else other_if
    if (walrus := compute()) is not None:
        del deleted_name, walrus
    elif other:
        pass
    else:
        pass
    try:
        text = """
  dedented
"""
    except (ErrA, ErrB) as err:
        raise NewErr from err
    match cmd:
        case Point(x=0, y=Y) as p:
            return p
        case {"k": X, **rest}:
            return rest
        case [first, *others] if others:
            return None
        case _:
            return capture
    def inner(q=Y, *args, k: Thing = X, **kw) -> Thing:
        global GLOBAL_NAME
        return q
    class Inner(BaseInner, metaclass=Meta, extra=Extra):
        attr: Annot = default_attr
    print(f"{fmt_a!r:>{width_b}} {nested_c['k']}", sep=sep_d)
    for i, (j, *k) in enumerate(items_e):
        yield i
    return None, False, ...


class Cls(Base1, Base2, meta=M, **extra_kw):
    z = outer
    def method(self): return self.z, Cls, X
# footer comment'''


def _all_nodes(module):
    class Collect(cst.CSTVisitor):
        def __init__(self) -> None:
            self.nodes: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.nodes.append(node)
            return True

    collect = Collect()
    module.visit(collect)
    return collect.nodes


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("indent", ["    ", "\t"])
def test_positions_give_the_source_code_for_node_would_generate(newline, indent):
    source = TRICKY.replace("    ", indent).replace("\n", newline)
    module = cst.parse_module(source)
    positions = Positions(module)
    assert positions.code == module.code == source
    for node in _all_nodes(module):
        text = positions.code_of(node)
        if text is None:  # the module itself, and an `elif` (an `if` when generated alone)
            assert node is module or isinstance(node, cst.If)
            continue
        if not isinstance(node, cst.Annotation):  # libcst cannot generate one alone
            assert text == module.code_for_node(node), type(node).__name__
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.SimpleStatementLine)):
            dropped = [*node.leading_lines, *getattr(node, "decorators", ())[::2]]
            changes = {"leading_lines": ()}
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                changes["decorators"] = node.decorators[1::2]
            expected = module.code_for_node(node.with_changes(**changes))
            assert positions.code_of(node, dropped) == expected


def test_free_names_are_found_on_the_stdlib_ast_as_on_libcst(monkeypatch):
    module = cst.parse_module(TRICKY)
    on_libcst = scopes.ModuleScope(module, TRICKY, "m", "m.py")  # no ast: libcst's tree
    nodes = {id(b.node): b.node for b in on_libcst.bindings.values() if b.kind != "import"}
    expected = {key: on_libcst.free_names(node) for key, node in nodes.items()}
    assert len(nodes) == 4  # `X = 1; Y = X + 1`, typed (under `if`), outer, Cls

    def not_libcst(node):
        raise AssertionError("walked libcst's tree")

    monkeypatch.setattr(scopes, "free_names", not_libcst)
    scope = scopes.ModuleScope(module, TRICKY, "m", "m.py", tree=ast.parse(TRICKY))
    assert {key: scope.free_names(node) for key, node in nodes.items()} == expected
    names, imports = scope.free_names(scope.bindings["outer"].node)
    assert names[:6] == ["Y", "int", "X", "f", "args_after", "base"]  # first use first
    # libcst's Name nodes: a global, match captures and keys, None and False
    assert {"GLOBAL_NAME", "capture", "p", "x", "rest", "None", "False"} <= set(names)
    assert not {"err", "walrus", "text", "inner", "Inner", "a", "kw"} & set(names)
    assert imports == []


def test_an_early_return_is_carried_and_an_empty_branch_is_not_a_step():
    source = """
from prefect import flow, task

@task
def a():
    return 1

@flow
def f(flag: bool = False):
    x = a()
    if flag:
        return [x]
    if flag:
        pass
    else:
        a()
    return [x, x]
"""
    result = read_prefect_source(source, "early.py")
    (flow,) = result.flows
    first, second = [s for s in flow.steps if isinstance(s, Branch)]
    (carried,) = first.then
    assert isinstance(carried.action, Script)
    assert carried.action.source.value == "return [x]"
    # `if flag: pass / else: a()` runs a() when flag is false: a Kestra If needs a `then`
    assert isinstance(second.condition, Not) and second.otherwise == ()
    assert [o.id for o in flow.outputs] == ["result"]  # the early return is not an output
    assert [d.code for d in result.diagnostics] == ["P101"]


def test_sleep_constants_and_handlers():
    source = """
import time
from prefect import flow, get_run_logger

BUCKET = "s3://lake"
DELAY = 2.5

@flow
def guarded():
    logger = get_run_logger()
    try:
        logger.info(f"reading {BUCKET}")
        time.sleep(DELAY)
        try:
            logger.info("optional")
        except Exception:
            logger.warning("optional part failed", exc_info=True)
    except Exception:
        logger.error("failed")
        raise
    finally:
        logger.info("done")
"""
    result = read_prefect_source(source, "guarded.py")
    assert codes_of(result) == []
    (flow,) = result.flows
    # module constants the flow reads are its variables (a sleep's constant is its duration)
    assert flow.variables == {"bucket": Literal(value="s3://lake")}
    log, sleep, allowed = flow.steps
    assert log.action.message == Template(
        parts=("reading ", Interpolation(expr=Var(name="bucket")))
    )
    assert sleep.action == Sleep(duration=timedelta(seconds=2.5))
    assert isinstance(allowed, AllowFailure) and allowed.steps[0].action.message.value == "optional"
    # the whole body in one try: the flow's `errors` and `finally`
    assert [s.action.level for s in flow.on_failure] == ["ERROR"]
    assert [s.action.message.value for s in flow.finally_steps] == ["done"]


def test_a_handler_that_swallows_the_error_is_carried():
    source = """
from prefect import flow

@flow
def swallow():
    try:
        print("x")
    except Exception:
        pass
"""
    result = read_prefect_source(source, "swallow.py")
    (step,) = result.flows[0].steps
    assert isinstance(step.action, Script)
    assert codes_of(result) == ["P101"]
