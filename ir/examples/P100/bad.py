# The call to print is missing its closing parenthesis, so the module does not parse.
from prefect import flow


@flow(log_prints=True)
def hello(name: str = "world"):
    print(f"Hello {name}!"
