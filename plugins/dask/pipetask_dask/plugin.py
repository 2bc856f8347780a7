"""Entry point of pipetask-dask: describes its executor (imports nothing heavy)."""

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_executors():
    """The ``dask`` executor."""
    return [
        Description(
            "dask",
            "pipetask_dask.executor:DaskExecutor",
            "a Dask cluster: local, sized by -j, or the one at --scheduler ADDRESS",
        )
    ]
