# The on_failure hook runs a Python callback, which Kestra cannot run.
from prefect import flow


def alert(flow, flow_run, state):
    print(f"{flow_run.name} failed")


@flow(on_failure=[alert], log_prints=True)
def nightly_load():
    print("loading")
