# A str parameter naming the file is a STRING input.
from pathlib import Path

from prefect import flow, task


@task
def count_lines(path: str) -> int:
    return len(Path(path).read_text().splitlines())


@flow
def line_count(report: str):
    count_lines(report)
