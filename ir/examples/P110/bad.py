# retries takes an integer: the string "3" is not converted (Prefect would misread it).
from prefect import flow, task


@task(retries="3")
def extract() -> list[int]:
    return [1, 2, 3]


@flow
def etl():
    extract()
