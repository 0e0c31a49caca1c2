# A Prefect 1 flow (with Flow(...)) uses an API flowbridge does not read.
from prefect import Flow, task


@task
def say_hello():
    print("Hello")


with Flow("hello") as flow:
    say_hello()
