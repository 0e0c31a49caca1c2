# P150 is a typo: no such code exists, so the suppression is reported and P105 still shows.
from prefect import flow


def upload(path: str) -> None:
    print(f"uploading {path}")


@flow
def publish(path: str = "report.csv"):
    upload(path)  # flowbridge: ignore[P150]
