# persist_result has no Kestra counterpart; the setting is lost in Kestra.
from prefect import flow, task


@task(persist_result=True)
def extract() -> list[int]:
    return [1, 2, 3]


@flow
def etl():
    extract()
