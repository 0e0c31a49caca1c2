# The loop runs inside a task; the flow body only calls tasks.
from prefect import flow, task


@task
def fetch_page(page: int) -> list[dict]:
    return []


@task
def fetch_all_pages() -> int:
    page = 0
    while fetch_page.fn(page):
        page += 1
    return page


@flow
def sync_all():
    fetch_all_pages()
