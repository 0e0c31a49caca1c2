# Delays that grow by a constant factor convert exactly to an exponential Kestra retry.
from prefect import flow, task


@task(retries=3, retry_delay_seconds=[10, 50, 250])
def call_api() -> dict:
    return {"status": "ok"}


@flow
def sync():
    call_api()
