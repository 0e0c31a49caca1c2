# A Path parameter becomes a FILE input: in Kestra the user uploads the file.
from pathlib import Path

from prefect import flow, task


@task
def count_lines(path: Path) -> int:
    return len(path.read_text().splitlines())


@flow
def line_count(report: Path):
    count_lines(report)
