# retries=3: the task becomes a Kestra task with retry maxAttempts 4.
from prefect import flow, task


@task(retries=3)
def extract() -> list[int]:
    return [1, 2, 3]


@flow
def etl():
    extract()
