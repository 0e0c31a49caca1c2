# Without a task runner option the mapped task converts to a Kestra ForEach.
from prefect import flow, task


@task
def resize(size: int) -> int:
    return size


@flow
def thumbnails():
    resize.map([64, 128, 256])
