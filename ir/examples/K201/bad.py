# Kestra tasks have no tags, so the task's tags are dropped.
from prefect import flow, task


@task(tags=["warehouse"], retries=2)
def load_orders() -> int:
    return 42


@flow(log_prints=True)
def nightly_load():
    print(load_orders())
