# Kestra runs parallel branches on its own workers, so task_runner is only approximated.
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner


@task
def resize(size: int) -> int:
    return size


@flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
def thumbnails():
    resize.map([64, 128, 256])
