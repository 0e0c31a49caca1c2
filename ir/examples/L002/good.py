# The suppression names the code that the line gets, P105.
from prefect import flow


def upload(path: str) -> None:
    print(f"uploading {path}")


@flow
def publish(path: str = "report.csv"):
    upload(path)  # flowbridge: ignore[P105]
