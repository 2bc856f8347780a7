"""Entry point of pipetask-example: describes its tasks (imports nothing heavy)."""

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_tasks():
    """The two command-line tasks of this distribution."""
    return [
        Description(
            "exampleTask",
            "pipetask_example.example_task:ExampleTask",
            "statistics of each raw image, logged (stores no config: for experiments)",
            kind="cmdline",
        ),
        Description(
            "statsWriter",
            "pipetask_example.stats_writer:StatsWriterTask",
            "statistics of each raw image, written as the imageStats dataset",
            kind="cmdline",
        ),
    ]
