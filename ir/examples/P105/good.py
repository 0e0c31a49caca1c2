# Decorated with @task, upload becomes a Kestra task.
from prefect import flow, task


@task
def upload(path: str) -> None:
    print(f"uploading {path}")


@flow
def publish(path: str = "report.csv"):
    upload(path)
