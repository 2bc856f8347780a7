"""Suite-wide settings: how the suite spreads over processes (pytest-xdist).

The suite runs on every core (``-n auto`` in the top ``pyproject.toml``), one test module
per process at a time (``--dist loadfile``), so a module's fixtures are built once. The
longest modules are collected first, so the processes finish together rather than one
waiting for a long module started last.
"""

from __future__ import annotations

import os

import pytest

# Modules whose tests take the longest in all (concurrent ingests, runs of the real obs_test
# processing, the compiled kernel's builds, Dask clusters), longest first, as measured in a
# full run with --durations=0. Others keep their order.
LONGEST_FIRST = (
    "test_ingest_concurrent.py",
    "test_processing_pipeline.py",
    "test_stats_numba.py",
    "test_run_cli.py",
    "test_run_faults.py",
    "test_processing_obs_test.py",
    "test_executors.py",
    "test_lsst_habits.py",
    "test_pipeline_run.py",
    "test_cli_bad_inputs.py",
    "test_processing_cli.py",
    "test_registry_readers.py",
    "test_dask_executor.py",
    "test_file_run.py",
)

# Each worker starts Dask clusters and pipetask processes of its own: more than four
# workers would only crowd a large machine's scheduler with clusters.
MOST_WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core, at most MOST_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MOST_WORKERS))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Collect the modules of LONGEST_FIRST first, in that order (a stable sort)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
