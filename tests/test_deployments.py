"""Prefect deployments (Python calls and prefect.yaml) → IR triggers."""

from __future__ import annotations

import importlib.util
import textwrap
from datetime import timedelta
from pathlib import Path

import libcst as cst
import pytest

from ir.diagnostics import Severity
from ir.expressions import Literal, MapEntry, MapValue
from ir.triggers import FlowRun, Schedule, UpstreamFlow
from transpile.prefect.deployments import (
    PREFECT_YAML_SCHEMA,
    deployments_from_module,
    interval_cron,
    triggers_from_module,
    triggers_from_prefect_yaml,
)

FLOWS = {"etl": "etl", "report": "report"}


def _module(source: str, flow_ids=FLOWS):
    module = cst.parse_module(textwrap.dedent(source))
    return triggers_from_module(module, flow_ids, "flows/etl.py")


def _codes(diagnostics) -> list[str]:
    return [d.code for d in diagnostics if d.severity is not Severity.INFO]


def _inputs(**values) -> MapValue:
    return MapValue(
        entries=tuple(MapEntry(key=k, value=Literal(value=v)) for k, v in values.items())
    )


# --- intervals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (60, "* * * * *"),
        (900, "*/15 * * * *"),
        (3600, "0 * * * *"),
        (6 * 3600, "0 */6 * * *"),
        (86400, "0 0 * * *"),
        (7 * 86400, "0 0 * * 0"),
    ],
)
def test_intervals_that_divide_a_day_become_crons(seconds: int, cron: str):
    assert interval_cron(seconds) == (cron, "")


@pytest.mark.parametrize("seconds", [30, 90, 5400, 7 * 60, 2 * 86400, 0])
def test_other_intervals_have_no_cron(seconds: int):
    cron, reason = interval_cron(seconds)
    assert cron is None and reason


def test_interval_cron_is_phased_by_the_anchor():
    from datetime import datetime

    assert interval_cron(900, datetime(2024, 1, 1, 0, 5)) == ("5,20,35,50 * * * *", "")
    assert interval_cron(6 * 3600, datetime(2024, 1, 1, 3, 30)) == ("30 3,9,15,21 * * *", "")
    assert interval_cron(86400, datetime(2024, 1, 1, 9, 15)) == ("15 9 * * *", "")
    assert interval_cron(7 * 86400, datetime(2024, 1, 3, 8)) == ("0 8 * * 3", "")


# --- Python modules --------------------------------------------------------------------------


def test_serve_with_cron_and_parameters_under_main_guard():
    triggers, diagnostics = _module("""
        from prefect import flow

        @flow
        def etl(n: int = 1): ...

        if __name__ == "__main__":
            etl.serve(name="nightly etl", cron="0 2 * * *", parameters={"n": 3})
        """)
    assert diagnostics == []
    (schedule,) = triggers["etl"]
    assert schedule == Schedule(id="nightly_etl", cron="0 2 * * *", inputs=_inputs(n=3))
    assert (schedule.span.file, schedule.span.line) == ("flows/etl.py", 8)


@pytest.mark.parametrize(
    ("argument", "cron"),
    [
        ("3600", "0 * * * *"),
        ("timedelta(minutes=15)", "*/15 * * * *"),
        ("datetime.timedelta(days=1)", "0 0 * * *"),
        ("60 * 60 * 24", "0 0 * * *"),
        ("EVERY", "0 */2 * * *"),
    ],
)
def test_serve_with_an_interval_that_divides_a_day(argument: str, cron: str):
    triggers, diagnostics = _module(f"""
        import datetime
        from datetime import timedelta
        EVERY = timedelta(hours=2)
        etl.serve(name="regular", interval={argument})
        """)
    assert diagnostics == []
    assert triggers["etl"] == [Schedule(id="regular", cron=cron)]


def test_serve_with_an_interval_that_does_not_divide_a_day():
    triggers, diagnostics = _module('etl.serve(name="odd", interval=5400)')
    assert triggers["etl"] == [Schedule(id="odd", interval=timedelta(seconds=5400))]
    assert _codes(diagnostics) == ["D101"]
    assert "1:30:00" in diagnostics[0].message


def test_serve_with_an_rrule():
    triggers, diagnostics = _module('etl.serve(name="r", rrule="FREQ=WEEKLY;BYDAY=MO")')
    assert triggers["etl"] == [Schedule(id="r", rrule="FREQ=WEEKLY;BYDAY=MO")]
    assert _codes(diagnostics) == ["D101"]


def test_schedules_list_with_timezone_active_and_parameters():
    triggers, diagnostics = _module("""
        from prefect.schedules import Cron, Interval
        from datetime import datetime, timedelta

        etl.serve(
            name="multi",
            parameters={"n": 1, "mode": "full"},
            schedules=[
                Cron("0 6 * * 1-5", timezone="Europe/Paris", parameters={"n": 2}),
                Interval(
                    timedelta(hours=6),
                    anchor_date=datetime(2024, 1, 1, 3, 30),
                    timezone="America/New_York",
                    active=False,
                ),
            ],
        )
        """)
    assert diagnostics == []
    assert triggers["etl"] == [
        Schedule(
            id="multi_1",
            cron="0 6 * * 1-5",
            timezone="Europe/Paris",
            inputs=_inputs(n=2, mode="full"),
        ),
        Schedule(
            id="multi_2",
            cron="30 3,9,15,21 * * *",
            timezone="America/New_York",
            inputs=_inputs(n=1, mode="full"),
            disabled=True,
        ),
    ]


def test_several_crons_and_paused():
    triggers, _ = _module('etl.serve(name="p", cron=["0 1 * * *", "0 13 * * *"], paused=True)')
    assert triggers["etl"] == [
        Schedule(id="p_1", cron="0 1 * * *", disabled=True),
        Schedule(id="p_2", cron="0 13 * * *", disabled=True),
    ]


def test_from_source_deploy():
    triggers, diagnostics = _module("""
        from prefect import flow

        flow.from_source(
            source="https://github.com/org/repo.git",
            entrypoint="flows/etl.py:etl",
        ).deploy(name="prod", work_pool_name="k8s", cron="*/5 * * * *")
        """)
    assert diagnostics == []
    assert triggers == {"etl": [Schedule(id="prod", cron="*/5 * * * *")]}


def test_to_deployment_inside_serve_and_deploy_with_options():
    triggers, _ = _module("""
        from prefect import serve

        serve(
            etl.to_deployment("a", cron="0 0 * * *"),
            report.with_options(name="r").to_deployment(name="b", interval=1800),
        )
        etl.deploy("c", work_pool_name="pool", cron="0 12 * * *")
        """)
    assert triggers == {
        "etl": [Schedule(id="a", cron="0 0 * * *"), Schedule(id="c", cron="0 12 * * *")],
        "report": [Schedule(id="b", cron="*/30 * * * *")],
    }


def test_build_from_flow_with_schedule_objects_and_aliases():
    triggers, diagnostics = _module("""
        from prefect.deployments import Deployment
        from prefect.client.schemas.schedules import CronSchedule as CS, IntervalSchedule

        Deployment.build_from_flow(
            flow=etl,
            name="legacy",
            schedule=CS(cron="0 0 * * *", timezone="Europe/Paris"),
            parameters={"n": 5},
            tags=["team-a"],
        )
        Deployment.build_from_flow(report, "every-minute", schedule=IntervalSchedule(interval=60))
        """)
    assert triggers == {
        "etl": [
            Schedule(id="legacy", cron="0 0 * * *", timezone="Europe/Paris", inputs=_inputs(n=5))
        ],
        "report": [Schedule(id="every-minute", cron="* * * * *")],
    }
    (info,) = diagnostics
    assert info.code == "D104" and info.severity is Severity.INFO
    assert "team-a" in info.message


def test_calls_deep_in_a_statement_are_found_under_any_alias():
    # Only parts of a statement holding a deployment word (or an alias of one) are walked.
    triggers, _ = _module("""
        from prefect.deployments import Deployment as Dep

        def register(envs):
            unrelated = [str(e) for e in envs]
            for env in envs:
                if env == "prod":
                    Dep(flow=etl, name="nested", schedule=CronSchedule(cron="0 3 * * *"))
                else:
                    print(env, unrelated)
        """)
    assert triggers == {"etl": [Schedule(id="nested", cron="0 3 * * *")]}


def test_deployment_records_keep_tags():
    module = cst.parse_module('etl.serve(name="t", tags=["x", "y"], cron="0 0 * * *")\n')
    (deployment,), _ = deployments_from_module(module, FLOWS, None)
    assert (deployment.flow, deployment.name, deployment.tags) == ("etl", "t", ("x", "y"))


def test_event_trigger_in_python():
    triggers, diagnostics = _module("""
        from prefect.events import DeploymentEventTrigger

        report.serve(
            name="after-etl",
            triggers=[
                DeploymentEventTrigger(
                    expect={"prefect.flow-run.Completed"},
                    match_related={"prefect.resource.name": "etl flow"},
                    parameters={"source": "etl"},
                ),
                DeploymentCompoundTrigger(require="all", triggers=[]),
            ],
        )
        """)
    assert triggers["report"] == [
        FlowRun(
            id="after-etl_on_etl_flow",
            upstream=(UpstreamFlow(flow_id="etl_flow", states=("SUCCESS",)),),
            inputs=_inputs(source="etl"),
        )
    ]
    assert _codes(diagnostics) == ["D102"]


def test_unrelated_serve_calls_are_ignored_and_ids_are_unique():
    triggers, diagnostics = _module("""
        app.serve()
        etl.serve(name="same", cron="0 1 * * *")
        etl.serve(name="same", cron="0 2 * * *")
        """)
    assert [t.id for t in triggers["etl"]] == ["same", "same_2"]
    assert diagnostics == []


def test_dynamic_values_are_reported_not_guessed():
    triggers, diagnostics = _module("""
        import os
        etl.serve(name="dyn", cron=os.environ["CRON"], parameters=load())
        unknown_flow.serve(cron="0 0 * * *")
        """)
    assert triggers == {}
    assert sorted(_codes(diagnostics)) == ["D101", "D102"]


# --- prefect.yaml ----------------------------------------------------------------------------


def _yaml(tmp_path: Path, text: str, **options):
    path = tmp_path / "prefect.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    options.setdefault("schema", None)
    return triggers_from_prefect_yaml(path, {"flows/etl.py:etl": "etl"}, **options)


def test_yaml_schedules(tmp_path: Path):
    triggers, diagnostics = _yaml(
        tmp_path,
        """
        deployments:
          - name: etl-prod
            entrypoint: ./flows/etl.py:etl
            parameters: {n: 1}
            schedules:
              - cron: "0 6 * * *"
                timezone: Europe/Paris
                active: false
                parameters: {n: 2}
              - interval: 3600
                anchor_date: "2024-01-01T00:10:00"
                slug: hourly
              - interval: 5400
              - rrule: "FREQ=DAILY;BYHOUR=9"
        """,
    )
    assert triggers == {
        "etl": [
            Schedule(
                id="etl-prod_1",
                cron="0 6 * * *",
                timezone="Europe/Paris",
                inputs=_inputs(n=2),
                disabled=True,
            ),
            Schedule(id="hourly", cron="10 * * * *", inputs=_inputs(n=1)),
            Schedule(id="etl-prod_3", interval=timedelta(seconds=5400), inputs=_inputs(n=1)),
            Schedule(id="etl-prod_4", rrule="FREQ=DAILY;BYHOUR=9", inputs=_inputs(n=1)),
        ]
    }
    assert _codes(diagnostics) == ["D101", "D101"]
    assert [t.span.line for t in triggers["etl"]] == [7, 11, 14, 15]


def test_yaml_prefect2_schedule_and_paused(tmp_path: Path):
    triggers, _ = _yaml(
        tmp_path,
        """
        deployments:
          - name: old
            entrypoint: flows/etl.py:etl
            schedule: {cron: "0 0 * * 0", timezone: UTC}
            paused: true
        """,
    )
    assert triggers == {
        "etl": [Schedule(id="old", cron="0 0 * * 0", timezone="UTC", disabled=True)]
    }


def test_yaml_event_trigger_and_unsupported_triggers(tmp_path: Path):
    triggers, diagnostics = _yaml(
        tmp_path,
        """
        deployments:
          - name: downstream
            entrypoint: flows/etl.py:etl
            triggers:
              - type: event
                enabled: true
                match:
                  prefect.resource.id: prefect.flow-run.*
                expect: [prefect.flow-run.Completed]
                match_related:
                  prefect.resource.name: upstream-flow
                  prefect.resource.role: flow
                parameters: {since: yesterday}
              - type: event
                expect: [prefect.flow-run.Failed]
                match_related: {prefect.resource.name: other}
                enabled: false
              - type: event
                posture: Proactive
                expect: [prefect.flow-run.Completed]
                match_related: {prefect.resource.name: upstream-flow}
              - type: compound
                require: all
                triggers: []
              - type: event
                expect: [my.custom.event]
        """,
        flow_ids_by_name={"upstream-flow": "upstream_id"},
    )
    assert triggers["etl"] == [
        FlowRun(
            id="downstream_on_upstream_id",
            upstream=(UpstreamFlow(flow_id="upstream_id", states=("SUCCESS",)),),
            inputs=_inputs(since="yesterday"),
        ),
        FlowRun(
            id="downstream_on_other",
            upstream=(UpstreamFlow(flow_id="other", states=("FAILED",)),),
            disabled=True,
        ),
    ]
    assert _codes(diagnostics) == ["D102", "D102", "D102"]
    assert [d.span.line for d in diagnostics] == [19, 23, 26]


def test_yaml_unknown_entrypoint_and_tags(tmp_path: Path):
    triggers, diagnostics = _yaml(
        tmp_path,
        """
        deployments:
          - name: elsewhere
            entrypoint: other.py:main
            schedules: [{cron: "0 0 * * *"}]
          - name: tagged
            entrypoint: flows/etl.py:etl
            tags: [nightly]
            schedules: [{cron: "0 0 * * *"}]
        """,
    )
    assert triggers == {"etl": [Schedule(id="tagged", cron="0 0 * * *")]}
    assert [(d.code, d.severity) for d in diagnostics] == [
        ("D102", Severity.WARNING),
        ("D104", Severity.INFO),
    ]


@pytest.mark.parametrize(
    "text", ["deployments: [unclosed", "deployments: {a: 1}", "- just a list", "a: 1\na: 2\n"]
)
def test_unreadable_or_malformed_yaml_is_d103(tmp_path: Path, text: str):
    triggers, diagnostics = _yaml(tmp_path, text)
    assert triggers == {}
    assert [d.code for d in diagnostics] == ["D103"]


def test_missing_file_is_d103(tmp_path: Path):
    triggers, diagnostics = triggers_from_prefect_yaml(tmp_path / "nope.yaml", {}, schema=None)
    assert triggers == {} and [d.code for d in diagnostics] == ["D103"]


needs_schema = pytest.mark.skipif(
    importlib.util.find_spec("jsonschema") is None or not PREFECT_YAML_SCHEMA.is_file(),
    reason="needs jsonschema and ../shared/schemas/prefect.yaml.schema.json",
)


@needs_schema
def test_schema_violation_is_d103_at_the_offending_line(tmp_path: Path):
    triggers, diagnostics = _yaml(
        tmp_path,
        """
        deployments:
          - name: fine
            entrypoint: flows/etl.py:etl
            schedules: [{interval: 3600, slug: s, active: true, parameters: {}}]
          - name: broken
            entrypoint: flows/etl.py:etl
            schedules:
              - cron: "0 0 * * *"
                every_other_tuesday: true
        """,
        schema=PREFECT_YAML_SCHEMA,
    )
    d103 = [d for d in diagnostics if d.code == "D103"]
    assert len(d103) == 1
    assert "'broken'" in d103[0].message
    assert d103[0].span.line == 9
    assert [t.id for t in triggers["etl"]] == ["s", "broken"]  # still converted


@needs_schema
def test_valid_file_passes_the_schema(tmp_path: Path):
    _, diagnostics = _yaml(
        tmp_path,
        """
        name: project
        prefect-version: 3.0.0
        deployments:
          - name: a
            entrypoint: flows/etl.py:etl
            work_pool: {name: default}
            schedules:
              - {interval: 3600, anchor_date: 2024-01-01T00:00:00, timezone: UTC}
              - {cron: "0 0 * * *", active: false, parameters: {n: 1}}
        """,
        schema=PREFECT_YAML_SCHEMA,
    )
    assert diagnostics == []
