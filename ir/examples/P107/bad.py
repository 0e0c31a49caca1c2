# "Daily Sales Report" is not a valid Kestra id; it is written as Daily_Sales_Report.
from prefect import flow


@flow(name="Daily Sales Report", log_prints=True)
def daily_sales_report():
    print("building the report")
