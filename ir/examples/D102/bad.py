# A trigger on a custom event has no Kestra counterpart; it is not converted.
from prefect import flow
from prefect.events import DeploymentEventTrigger


@flow(log_prints=True)
def process_upload():
    print("processing the new file")


if __name__ == "__main__":
    process_upload.serve(
        name="on-upload",
        triggers=[DeploymentEventTrigger(expect={"s3.object.created"})],
    )
