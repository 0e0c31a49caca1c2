# No cron fires every 90 minutes, so the schedule is approximated and then left out of the Kestra flow.
from datetime import timedelta

from prefect import flow


@flow(log_prints=True)
def refresh_cache():
    print("refreshing")


if __name__ == "__main__":
    refresh_cache.serve(name="refresh", interval=timedelta(minutes=90))
