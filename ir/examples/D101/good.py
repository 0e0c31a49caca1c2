# Two cron schedules fire every 90 minutes from midnight: 0:00, 1:30, 3:00, 4:30, ...
from prefect import flow
from prefect.schedules import Cron


@flow(log_prints=True)
def refresh_cache():
    print("refreshing")


if __name__ == "__main__":
    refresh_cache.serve(
        name="refresh",
        schedules=[Cron("0 0-21/3 * * *"), Cron("30 1-22/3 * * *")],
    )
