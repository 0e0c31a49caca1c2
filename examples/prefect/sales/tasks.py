"""Tasks shared by the sales flows."""

from datetime import date, timedelta

import httpx
from prefect import task

API = "https://sales.example.com/api"


def _day_or_yesterday(day: date | None) -> date:
    return day or date.today() - timedelta(days=1)


@task(retries=3, retry_delay_seconds=30, timeout_seconds=300)
def fetch_sales(region: str, day: date | None = None) -> list[dict]:
    """Download one day of sales for a region."""
    response = httpx.get(f"{API}/sales", params={"region": region, "day": str(_day_or_yesterday(day))})
    response.raise_for_status()
    return response.json()


@task
def summarise(rows: list[dict]) -> dict:
    """Total amount and row count."""
    return {"total": sum(row["amount"] for row in rows), "rows": len(rows)}
