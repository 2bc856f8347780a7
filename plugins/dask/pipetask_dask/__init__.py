"""pipetask on Dask: ``pipetask run ... --executor dask [--scheduler ADDRESS]``.

The executor lives in :mod:`pipetask_dask.executor` (imported only when a run uses it);
the code that runs inside the Dask workers lives in :mod:`pipetask_dask.worker`.
"""
