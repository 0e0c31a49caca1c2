# Deployment tags have no Kestra counterpart: they are reported and left out.
from prefect import flow


@flow(log_prints=True)
def nightly_report():
    print("building the report")


if __name__ == "__main__":
    nightly_report.serve(name="nightly", cron="0 2 * * *", tags=["reporting", "nightly"])
