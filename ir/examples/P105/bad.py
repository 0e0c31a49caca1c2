# upload is a plain function, not a task, so the call is carried as a python script step.
from prefect import flow


def upload(path: str) -> None:
    print(f"uploading {path}")


@flow
def publish(path: str = "report.csv"):
    upload(path)
