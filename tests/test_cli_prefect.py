"""``flowbridge convert … --to prefect`` as a user meets it: the files written (modules,
``prefect.yaml`` checked against Prefect's own JSON Schema, ``requirements.txt``), the header
hash, overwrite protection, subflows between converted flows, the report, and modules that
import. Generated flows are not run here (``test_kestra_to_prefect.py`` runs them)."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import shutil
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from transpile.provenance import parse_header
from transpile.result import content_digest

from .conftest import CORPUS, ROOT
from .support import convert, write_tree
from .test_kestra_corpus import _files

SCHEMA = ROOT.parent / "shared" / "schemas" / "prefect.yaml.schema.json"
needs_schema = pytest.mark.skipif(
    not SCHEMA.is_file(), reason=f"Prefect's prefect.yaml schema not present at {SCHEMA}"
)

# --- flows -----------------------------------------------------------------------------------

DAILY_SALES = """\
id: daily_sales
namespace: company.team
description: Sales of the day.
labels:
  team: analytics
  tier: gold
concurrency:
  limit: 2
  behavior: QUEUE
inputs:
  - id: region
    type: STRING
    defaults: emea
  - id: max-rows
    type: INT
    defaults: 10
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "region {{ inputs.region }}"
triggers:
  - id: morning
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 6 * * *"
    timezone: Europe/Paris
    inputs:
      region: amer
      max-rows: 5
  - id: evening
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 18 * * 1-5"
  - id: paused
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/30 * * * *"
    disabled: true
"""

REPORT = """\
id: report
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: done
triggers:
  - id: after_sales
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      flows:
        - namespace: company.team
          flowId: daily_sales
          states: [SUCCESS, FAILED]
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cr3t
"""

PLAIN = """\
id: plain
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: plain
"""

CHILD = """\
id: child-flow
namespace: company.team
inputs:
  - id: who
    type: STRING
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "hi {{ inputs.who }}"
"""

PARENT = """\
id: parent
namespace: company.team
tasks:
  - id: call_child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child-flow
    inputs:
      who: world
  - id: call_elsewhere
    type: io.kestra.plugin.core.flow.Subflow
    namespace: other.team
    flowId: not_here
    inputs:
      x: 1
"""

# A task without its required message: an error diagnostic (K103).
BROKEN = """\
id: broken
namespace: company.team
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
"""


def _flow(flow_id: str, *, namespace: str = "t", triggers: str = "", inputs: str = "") -> str:
    text = f"id: {flow_id}\nnamespace: {namespace}\n{inputs}"
    text += "tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    return text + (f"triggers:\n{triggers}" if triggers else "")


# --- helpers ---------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def load_yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def schema_errors(data) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(data)
    ]


def header_digest(code: str) -> str:
    provenance = parse_header(code)
    assert provenance is not None and provenance.digest, code.splitlines()[:2]
    return provenance.digest


def import_module(path: Path):
    name = f"_flowbridge_generated_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def flow_function(tree: ast.Module, name: str) -> ast.FunctionDef:
    (function,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    return function


def calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call)]


def diagnostic_lines(output: str, code: str) -> list[str]:
    return [line for line in output.splitlines() if f": {code} " in line]


# --- a directory of flows: modules, prefect.yaml, requirements.txt ----------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A directory of flows converted once: (source root, output root, CLI result)."""
    base = tmp_path_factory.mktemp("project")
    src = write_tree(
        base / "flows",
        {
            "etl/daily-sales.yaml": DAILY_SALES,
            "report.yaml": REPORT,
            "plain.yaml": PLAIN,
            "child-flow.yaml": CHILD,
            "callers/parent.yaml": PARENT,
        },
    )
    out = base / "out"
    result = convert(src, "--to", "prefect", "-o", out, "--report", base / "report.md")
    assert result.exit_code == 0, result.output
    return src, out, result


def _deployments(out: Path) -> dict[str, dict]:
    data = load_yaml(out / "prefect.yaml")
    return {d["name"]: d for d in data["deployments"]}


def test_directory_keeps_layout_with_module_names(project):
    src, out, result = project
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        "callers/parent.py",
        "child_flow.py",
        "etl/daily_sales.py",
        "plain.py",
        "prefect.yaml",
        "report.py",
        "requirements.txt",
    ]
    assert "7 file(s) written; 0 error(s)" in result.output
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert requirements[0].startswith("# ") and "prefect>=3" in requirements[1:]


@needs_schema
def test_prefect_yaml_validates_against_prefects_schema(project):
    _, out, _ = project
    data = load_yaml(out / "prefect.yaml")
    assert schema_errors(data) == []
    assert data["prefect-version"] == "3" and isinstance(data["name"], str)
    assert (out / "prefect.yaml").read_text().startswith("# Generated by flowbridge")


def test_prefect_yaml_schedules_tags_and_concurrency(project):
    _, out, _ = project
    deployment = _deployments(out)["daily_sales"]
    assert deployment["entrypoint"] == "etl/daily_sales.py:daily_sales"
    assert deployment["description"] == "Sales of the day."
    assert deployment["tags"] == ["team:analytics", "tier:gold"]
    assert deployment["schedules"] == [
        {
            "cron": "0 6 * * *",
            "timezone": "Europe/Paris",
            "active": True,
            "parameters": {"region": "amer", "max_rows": 5},
        },
        {"cron": "0 18 * * 1-5", "active": True},
        {"cron": "*/30 * * * *", "active": False},
    ]
    assert deployment["concurrency_limit"] == {"limit": 2, "collision_strategy": "ENQUEUE"}
    assert "triggers" not in deployment


def test_prefect_yaml_flow_trigger_and_webhook(project):
    _, out, result = project
    deployment = _deployments(out)["report"]
    assert deployment["entrypoint"] == "report.py:report"
    assert deployment["triggers"] == [
        {
            "type": "event",
            "enabled": True,
            "match": {"prefect.resource.id": "prefect.flow-run.*"},
            "match_related": {
                "prefect.resource.role": "flow",
                "prefect.resource.name": "daily_sales",
            },
            "expect": ["prefect.flow-run.Completed", "prefect.flow-run.Failed"],
        }
    ]
    assert "schedules" not in deployment
    (webhook,) = diagnostic_lines(result.output, "P204")
    assert "report.yaml:15:5: P204 webhook trigger 'hook'" in webhook


def test_prefect_yaml_flows_without_triggers(project):
    _, out, _ = project
    deployments = _deployments(out)
    assert sorted(deployments) == ["child-flow", "daily_sales", "parent", "plain", "report"]
    assert deployments["plain"] == {"name": "plain", "entrypoint": "plain.py:plain"}
    assert deployments["child-flow"] == {
        "name": "child-flow",
        "entrypoint": "child_flow.py:child_flow",
    }
    for module in ("plain.py", "etl/daily_sales.py"):
        assert "__main__" not in (out / module).read_text()  # prefect.yaml deploys them


@needs_schema
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"Kestra corpus not present at {CORPUS}")
def test_whole_kestra_corpus_as_one_directory(tmp_path):
    src = tmp_path / "corpus"
    for path in _files(invalid=False):
        target = src / path.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out, "--partial")
    assert result.exit_code in (0, 1), result.output[-3000:]
    data = load_yaml(out / "prefect.yaml")
    errors = schema_errors(data)
    assert errors == [], "\n".join(errors[:20])
    assert len(data["deployments"]) > 500
    for deployment in data["deployments"]:
        module, _, function = deployment["entrypoint"].rpartition(":")
        assert (out / module).is_file() and function.isidentifier(), deployment


# --- a single file ---------------------------------------------------------------------------


def test_single_file_with_a_schedule_is_served(tmp_path):
    src = write_tree(tmp_path, {"daily-sales.yaml": DAILY_SALES}) / "daily-sales.yaml"
    out = tmp_path / "daily_sales.py"
    result = convert(src, "--to", "prefect", "-o", out)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "prefect.yaml").exists() and not (tmp_path / "requirements.txt").exists()
    tree = ast.parse(out.read_text())
    (guard,) = [n for n in tree.body if isinstance(n, ast.If)]
    assert ast.unparse(guard.test) == "__name__ == '__main__'"
    (serve,) = [c for c in calls(guard) if ast.unparse(c.func) == "daily_sales.serve"]
    options = {k.arg: k.value for k in serve.keywords}
    assert ast.literal_eval(options["name"]) == "daily_sales"
    assert ast.literal_eval(options["tags"]) == ["team:analytics", "tier:gold"]
    # Every schedule is served, with its timezone, parameters (named as the function's
    # parameters) and state, as prefect.yaml would hold them.
    schedules = [
        (
            ast.unparse(c.func),
            [ast.literal_eval(a) for a in c.args],
            {k.arg: ast.literal_eval(k.value) for k in c.keywords},
        )
        for c in options["schedules"].elts
    ]
    assert schedules == [
        (
            "Cron",
            ["0 6 * * *"],
            {
                "timezone": "Europe/Paris",
                "active": True,
                "parameters": {"region": "amer", "max_rows": 5},
            },
        ),
        ("Cron", ["0 18 * * 1-5"], {"active": True}),
        ("Cron", ["*/30 * * * *"], {"active": False}),
    ]
    assert ast.unparse(options["global_limit"]) == (
        "ConcurrencyLimitConfig(limit=2, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)"
    )


def test_single_file_without_a_schedule_has_no_main_block(tmp_path):
    src = write_tree(tmp_path, {"plain.yaml": PLAIN}) / "plain.yaml"
    result = convert(src, "--to", "prefect", "-o", tmp_path / "plain.py")
    assert result.exit_code == 0, result.output
    code = (tmp_path / "plain.py").read_text()
    assert "__main__" not in code and ".serve(" not in code
    assert "def plain(" in code


def test_single_file_to_stdout(tmp_path):
    src = write_tree(tmp_path, {"daily-sales.yaml": DAILY_SALES}) / "daily-sales.yaml"
    before = sorted(tmp_path.rglob("*"))
    result = convert(src, "--to", "prefect", "-o", "-")
    assert result.exit_code == 0, result.output
    assert sorted(tmp_path.rglob("*")) == before  # nothing written
    code = result.stdout
    assert code.startswith("# Generated by flowbridge from daily-sales.yaml (sha256 ")
    (serve,) = [c for c in calls(ast.parse(code)) if ast.unparse(c.func) == "daily_sales.serve"]
    assert ast.literal_eval(serve.keywords[0].value) == "daily_sales"
    assert "Cron('0 6 * * *'" in ast.unparse(serve)
    assert "wrote " not in result.stdout and "flowbridge:" not in result.stdout
    assert "1 file(s) written" in result.stderr


# --- overwrites, --force, --partial, nothing outside -o --------------------------------------


def test_directory_is_not_overwritten_without_force(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    src = write_tree(tmp_path / "src", {"etl/daily-sales.yaml": DAILY_SALES, "plain.yaml": PLAIN})
    sources = snapshot(src)
    out = tmp_path / "out"
    first = convert(src, "--to", "prefect", "-o", out)
    assert first.exit_code == 0, first.output
    written = snapshot(out)
    assert sorted(written) == ["etl/daily_sales.py", "plain.py", "prefect.yaml", "requirements.txt"]

    again = convert(src, "--to", "prefect", "-o", out)
    assert again.exit_code == 1
    refused = diagnostic_lines(again.output, "F003")
    assert len(refused) == 4 and all("--force" in line for line in refused)
    assert f"F003 refusing to overwrite existing {out / 'plain.py'}" in again.output
    assert snapshot(out) == written  # same bytes, same mtimes

    (src / "plain.yaml").write_text(PLAIN.replace("message: plain", "message: changed"))
    forced = convert(src, "--to", "prefect", "-o", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert "F003" not in forced.output
    assert 'logger.info("changed")' in (out / "plain.py").read_text()
    assert (out / "etl" / "daily_sales.py").read_bytes() == written["etl/daily_sales.py"][0]

    # nothing beside -o: the sources are untouched, no temporary files, nothing in the cwd
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "out", "src"]
    assert list(cwd.iterdir()) == []
    assert {k: v for k, v in snapshot(src).items() if k != "plain.yaml"} == {
        k: v for k, v in sources.items() if k != "plain.yaml"
    }
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_directory_with_an_error_writes_only_with_partial(tmp_path):
    src = write_tree(tmp_path / "src", {"plain.yaml": PLAIN, "broken.yaml": BROKEN})
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out)
    assert result.exit_code == 1
    assert f"{src / 'broken.yaml'}:4:5: K103" in result.output
    assert not out.exists()

    partial = tmp_path / "partial"
    result = convert(src, "--to", "prefect", "-o", partial, "--partial")
    assert result.exit_code == 1
    assert (partial / "broken.py").is_file()
    names = sorted(d["name"] for d in load_yaml(partial / "prefect.yaml")["deployments"])
    assert names == ["broken", "plain"]


# --- header hash and determinism -------------------------------------------------------------


def test_header_hash_is_the_content_digest_and_output_is_deterministic(tmp_path):
    src = write_tree(tmp_path / "src", {"etl/daily-sales.yaml": DAILY_SALES, "plain.yaml": PLAIN})
    first, second = tmp_path / "first", tmp_path / "second"
    assert convert(src, "--to", "prefect", "-o", first).exit_code == 0
    assert convert(src, "--to", "prefect", "-o", second).exit_code == 0
    assert {k: v[0] for k, v in snapshot(first).items()} == {
        k: v[0] for k, v in snapshot(second).items()
    }

    code = (first / "etl" / "daily_sales.py").read_text()
    source = src / "etl" / "daily-sales.yaml"
    assert code.startswith("# Generated by flowbridge from etl/daily-sales.yaml (sha256 ")
    assert header_digest(code) == content_digest(source.read_bytes())
    assert content_digest(source.read_bytes()) == content_digest(DAILY_SALES)
    assert "# Kestra flow: company.team.daily_sales." in code.splitlines()[1]

    # the same file converted alone carries the same hash
    alone = convert(source, "--to", "prefect", "-o", "-")
    assert header_digest(alone.stdout) == header_digest(code)

    # a one-byte change in the source changes the hash (and only that module's)
    source.write_bytes(source.read_bytes() + b"\n")
    third = tmp_path / "third"
    assert convert(src, "--to", "prefect", "-o", third).exit_code == 0
    changed = (third / "etl" / "daily_sales.py").read_text()
    assert header_digest(changed) == content_digest(source.read_bytes()) != header_digest(code)
    assert (third / "plain.py").read_bytes() == (first / "plain.py").read_bytes()


# --- subflows --------------------------------------------------------------------------------


def test_subflow_of_a_converted_flow_is_a_direct_call(project):
    _, out, result = project
    tree = ast.parse((out / "callers" / "parent.py").read_text())
    parent = flow_function(tree, "parent")
    imports = [n for n in ast.walk(parent) if isinstance(n, ast.ImportFrom)]
    assert [(i.module, [a.name for a in i.names]) for i in imports] == [
        ("child_flow", ["child_flow"])
    ]
    direct = [c for c in calls(parent) if ast.unparse(c.func) == "child_flow"]
    (call,) = direct
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == {"who": "world"}
    # Prefect puts the entrypoint's folder and the project root on sys.path: the imported
    # module is one of the generated files, and defines the function.
    target = out / "child_flow.py"
    assert target.is_file()
    assert flow_function(ast.parse(target.read_text()), "child_flow")
    assert not any("call_child" in line for line in diagnostic_lines(result.output, "P203"))


def test_subflow_of_a_flow_not_converted_uses_run_deployment(project):
    _, out, result = project
    tree = ast.parse((out / "callers" / "parent.py").read_text())
    assert any(
        isinstance(n, ast.ImportFrom)
        and n.module == "prefect.deployments"
        and [a.name for a in n.names] == ["run_deployment"]
        for n in tree.body
    )
    (call,) = [c for c in calls(tree) if ast.unparse(c.func) == "run_deployment"]
    assert ast.literal_eval(call.args[0]) == "not_here/not_here"
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == {"parameters": {"x": 1}}
    (line,) = [line for line in diagnostic_lines(result.output, "P203") if "call_elsewhere" in line]
    assert "callers/parent.yaml:10:5: P203 subflow 'call_elsewhere'" in line
    assert "run_deployment" in line


def test_subflow_in_the_same_folder(tmp_path):
    """The fixture case's shape: caller and callee side by side, same namespace."""
    src = write_tree(
        tmp_path / "src",
        {
            "child-flow.yaml": CHILD,
            "parent.yaml": PARENT.replace("namespace: other.team", "namespace: company.team"),
        },
    )
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out)
    assert result.exit_code == 0, result.output
    code = (out / "parent.py").read_text()
    assert "from child_flow import child_flow" in code
    assert 'child_flow(who="world")' in code
    assert 'run_deployment("not_here/not_here"' in code


# --- report ----------------------------------------------------------------------------------


def test_report_names_every_flow(project):
    src, out, _ = project
    text = (src.parent / "report.md").read_text()
    assert text.startswith("# flowbridge conversion report")
    assert "5 flow(s)" in text
    for name, module in [
        ("company.team.daily_sales", "etl/daily_sales.py"),
        ("company.team.report", "report.py"),
        ("company.team.plain", "plain.py"),
        ("company.team.child-flow", "child_flow.py"),
        ("company.team.parent", "callers/parent.py"),
    ]:
        assert f"## {name}\n" in text
        assert f"- output: `{(out / module).as_posix()}`" in text
    assert text.count("```mermaid") == 5


def test_report_shows_what_the_prefect_writer_approximated(project):
    src, _, _ = project
    text = (src.parent / "report.md").read_text()
    section = text.split("## company.team.parent\n", 1)[1].split("\n## ", 1)[0]
    assert "`call_elsewhere` (subflow)" not in section.split("**approximated**")[0]
    assert "P203" in section


# --- the generated modules import -------------------------------------------------------------


def test_generated_modules_import_and_match_prefect_yaml(project):
    from prefect import Flow

    _, out, _ = project
    module = import_module(out / "etl" / "daily_sales.py")
    flow = module.daily_sales
    assert isinstance(flow, Flow) and callable(flow.fn)
    assert flow.name == "daily_sales"
    assert list(inspect.signature(flow.fn).parameters) == ["region", "max_rows"]

    names = {}
    for deployment in load_yaml(out / "prefect.yaml")["deployments"]:
        path, _, function = deployment["entrypoint"].rpartition(":")
        flow = getattr(import_module(out / path), function)
        assert isinstance(flow, Flow) and callable(flow.fn), deployment
        names[deployment["name"]] = flow.name
        # the deployment starts the flow by the name run_deployment() uses
        assert flow.name == deployment["name"]
        parameters = set(inspect.signature(flow.fn).parameters)
        for schedule in deployment.get("schedules", []):
            assert set(schedule.get("parameters", {})) <= parameters, schedule
    assert names["child-flow"] == "child-flow"
    # event triggers wait for flows by their Prefect name
    (trigger,) = _deployments(out)["report"]["triggers"]
    assert trigger["match_related"]["prefect.resource.name"] in names.values()


# --- regressions: bugs these tests found, fixed since ---------------------------------------


def test_single_file_does_not_serve_a_disabled_schedule(tmp_path):
    triggers = (
        "  - id: paused\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        '    cron: "*/30 * * * *"\n    disabled: true\n'
    )
    src = write_tree(tmp_path, {"off.yaml": _flow("off", triggers=triggers)}) / "off.yaml"
    result = convert(src, "--to", "prefect", "-o", "-")
    assert result.exit_code == 0, result.output
    assert 'Cron("*/30 * * * *", active=False)' in result.stdout


def test_single_file_keeps_or_reports_the_schedule_timezone(tmp_path):
    triggers = (
        "  - id: morning\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        '    cron: "0 6 * * *"\n    timezone: Europe/Paris\n'
    )
    src = write_tree(tmp_path, {"tz.yaml": _flow("tz", triggers=triggers)}) / "tz.yaml"
    result = convert(src, "--to", "prefect", "-o", "-", "-v")
    assert result.exit_code == 0, result.output
    assert 'Cron("0 6 * * *", timezone="Europe/Paris", active=True)' in result.stdout


def test_single_file_reports_triggers_it_cannot_serve(tmp_path):
    src = write_tree(tmp_path, {"report.yaml": REPORT}) / "report.yaml"
    result = convert(src, "--to", "prefect", "-o", "-", "-v")
    assert result.exit_code == 0, result.output
    stderr = result.stderr
    assert "P204 webhook trigger 'hook'" in stderr
    assert "DeploymentEventTrigger(" in result.stdout  # the Flow trigger is served


def test_flow_trigger_inputs_are_kept_or_reported(tmp_path):
    triggers = (
        "  - id: after_up\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    inputs:\n      n: 42\n"
        "    preconditions:\n      flows:\n        - namespace: t\n          flowId: up\n"
    )
    inputs = "inputs:\n  - id: n\n    type: INT\n    defaults: 0\n"
    src = write_tree(
        tmp_path / "src",
        {"up.yaml": _flow("up"), "down.yaml": _flow("down", triggers=triggers, inputs=inputs)},
    )
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out, "-v")
    assert result.exit_code == 0, result.output
    (trigger,) = _deployments(out)["down"]["triggers"]
    assert trigger["parameters"] == {"n": 42}


def test_same_flow_id_in_two_namespaces_gives_distinct_deployments(tmp_path):
    from prefect import Flow

    src = write_tree(
        tmp_path / "src",
        {"a/hello.yaml": _flow("hello", namespace="team.a"), "b/hello.yaml": _flow("hello")},
    )
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out)
    assert result.exit_code == 0, result.output
    identities = []
    for deployment in load_yaml(out / "prefect.yaml")["deployments"]:
        path, _, function = deployment["entrypoint"].rpartition(":")
        flow = getattr(import_module(out / path), function)
        assert isinstance(flow, Flow)
        identities.append(f"{flow.name}/{deployment['name']}")
    assert len(identities) == 2
    assert len(set(identities)) == 2, identities


CLASHING_INPUTS = """\
id: clash
namespace: t
inputs:
  - id: max-rows
    type: INT
    defaults: 1
  - id: max_rows
    type: INT
    defaults: 2
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs['max-rows'] }} {{ inputs.max_rows }}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 1 * * *"
    inputs:
      max-rows: 10
      max_rows: 20
"""


def test_schedule_parameters_follow_the_flow_function_parameters(tmp_path):
    src = write_tree(tmp_path / "src", {"clash.yaml": CLASHING_INPUTS})
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out)
    assert result.exit_code == 0, result.output
    assert "def clash(max_rows: int = 1, max_rows_2: int = 2)" in (out / "clash.py").read_text()
    (schedule,) = _deployments(out)["clash"]["schedules"]
    assert schedule["parameters"] == {"max_rows": 10, "max_rows_2": 20}


def test_subflow_call_with_inputs_that_snake_case_alike(tmp_path):
    caller = (
        "id: caller\nnamespace: t\ntasks:\n  - id: call\n"
        "    type: io.kestra.plugin.core.flow.Subflow\n    namespace: t\n    flowId: clash\n"
        "    inputs:\n      max-rows: 1\n      max_rows: 2\n"
    )
    src = write_tree(tmp_path / "src", {"clash.yaml": CLASHING_INPUTS, "caller.yaml": caller})
    out = tmp_path / "out"
    result = convert(src, "--to", "prefect", "-o", out)
    assert result.exit_code in (0, 1), result.output
    assert "clash(max_rows=1, max_rows_2=2)" in (out / "caller.py").read_text()


def test_a_single_file_names_its_scripts_requirements_in_its_header(tmp_path):
    flow = (
        "id: needs\nnamespace: t\ntasks:\n  - id: s\n"
        "    type: io.kestra.plugin.scripts.python.Script\n"
        "    dependencies: [pandas, requests]\n    script: print(1)\n"
    )
    src = write_tree(tmp_path, {"needs.yaml": flow}) / "needs.yaml"
    result = convert(src, "--to", "prefect", "-o", "-")
    assert result.exit_code == 0, result.output
    assert "# Its scripts need: pandas, requests\n" in result.stdout
