# Without tags the task converts exactly (Kestra groups flows by namespace and labels).
from prefect import flow, task


@task(retries=2)
def load_orders() -> int:
    return 42


@flow(log_prints=True)
def nightly_load():
    print(load_orders())
