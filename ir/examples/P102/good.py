# Kestra stores task outputs itself; no option is needed.
from prefect import flow, task


@task
def extract() -> list[int]:
    return [1, 2, 3]


@flow
def etl():
    extract()
