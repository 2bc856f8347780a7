"""What this distribution provides, described for pipetask's plugin manager.

Only descriptions live here: the task module is imported when the task is used.
"""

from pipetask import Description, hookimpl


@hookimpl
def pipetask_tasks():
    """Tasks of this plugin."""
    return [
        Description("helloTask", "pipetask_hello.task:HelloTask", "greets someone, repeatedly"),
    ]
