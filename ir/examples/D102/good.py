# A trigger on another flow's completed runs becomes a Kestra Flow trigger.
from prefect import flow
from prefect.events import DeploymentEventTrigger


@flow(log_prints=True)
def process_upload():
    print("processing the new file")


if __name__ == "__main__":
    process_upload.serve(
        name="on-upload",
        triggers=[
            DeploymentEventTrigger(
                expect={"prefect.flow-run.Completed"},
                match_related={"prefect.resource.name": "upload-files"},
            )
        ],
    )
