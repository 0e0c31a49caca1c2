# A flow name made of letters, digits, '_' and '-' is its Kestra id unchanged.
from prefect import flow


@flow(name="daily-sales-report", log_prints=True)
def daily_sales_report():
    print("building the report")
