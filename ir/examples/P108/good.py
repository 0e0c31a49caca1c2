# The module defines the flow that uses its tasks.
from prefect import flow, task


@task(retries=2)
def extract() -> list[dict]:
    return [{"id": 1}]


@task
def load(rows: list[dict]) -> int:
    return len(rows)


@flow
def etl():
    load(extract())
