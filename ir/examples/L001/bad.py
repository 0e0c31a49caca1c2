# upload is a task now, so the P105 suppression on its call hides nothing and is reported.
from prefect import flow, task


@task
def upload(path: str) -> None:
    print(f"uploading {path}")


@flow
def publish(path: str = "report.csv"):
    upload(path)  # flowbridge: ignore[P105]
