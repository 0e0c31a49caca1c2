# A while loop in the flow body has no Kestra counterpart; it runs as a python script step.
from prefect import flow, task


@task
def fetch_page(page: int) -> list[dict]:
    return []


@flow
def sync_all():
    page = 0
    while fetch_page(page):
        page += 1
