# Kestra retries at a constant or exponential interval; these delays are not a progression.
from prefect import flow, task


@task(retries=3, retry_delay_seconds=[10, 60, 300])
def call_api() -> dict:
    return {"status": "ok"}


@flow
def sync():
    call_api()
