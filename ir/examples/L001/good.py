# The suppression hides the P105 that its line really gets (upload is a plain function).
from prefect import flow


def upload(path: str) -> None:
    print(f"uploading {path}")


@flow
def publish(path: str = "report.csv"):
    upload(path)  # flowbridge: ignore[P105]
