# The same flow written with the Prefect 2/3 decorators.
from prefect import flow, task


@task
def say_hello():
    print("Hello")


@flow
def hello():
    say_hello()
