# This module defines tasks but no flow, so no Kestra flow is written for it.
from prefect import task


@task(retries=2)
def extract() -> list[dict]:
    return [{"id": 1}]


@task
def load(rows: list[dict]) -> int:
    return len(rows)
