"""Daily sales flows."""

from typing import Literal

from prefect import flow, get_run_logger

from .tasks import fetch_sales, summarise


@flow(name="daily-sales", log_prints=True)
def daily_sales(region: Literal["emea", "amer", "apac"] = "emea") -> dict:
    """Load yesterday's sales for a region and publish a summary."""
    logger = get_run_logger()
    rows = fetch_sales(region)
    summary = summarise(rows)
    if summary["rows"] == 0:
        logger.warning(f"no sales rows for {region}")
    else:
        print(f"sales for {region}: {summary['total']}")
    return summary


@flow
def all_regions(regions: list[str] = ["emea", "amer", "apac"]) -> None:
    """Refresh every region."""
    for region in regions:
        daily_sales(region)


if __name__ == "__main__":
    daily_sales.serve(name="nightly", cron="0 6 * * *", parameters={"region": "emea"})
