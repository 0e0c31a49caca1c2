# Without deployment tags nothing is lost; label the Kestra flow instead if you filter by them.
from prefect import flow


@flow(log_prints=True)
def nightly_report():
    print("building the report")


if __name__ == "__main__":
    nightly_report.serve(name="nightly", cron="0 2 * * *")
