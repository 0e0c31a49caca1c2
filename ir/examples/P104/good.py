# Failure handling written as try/except in the flow converts to Kestra's errors tasks.
from prefect import flow, task


@task
def load():
    print("loading")


@task
def alert():
    print("nightly load failed")


@flow
def nightly_load():
    try:
        load()
    except Exception:
        alert()
        raise
