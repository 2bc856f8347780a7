"""The whole plugin contract of pipetask, in one file.

A plugin is a module listed under the entry-point group ``pipetask`` of an installed
distribution::

    [project.entry-points.pipetask]
    stats = "pipetask_stats.plugin"

That module implements any of the hooks below with ``@pipetask.hookimpl``. Every hook is
called with no arguments and returns a list of :class:`~pipetask.plugins.Description`
objects: a unique name, an import path ``"module:attribute"`` and a one-line summary.
Hooks describe; they never import the heavy code they point at. The core imports a
target only when it is used (a task run, a camera opened), so ``pipetask --help`` and
``pipetask list`` stay fast and load no numpy or astropy.

The core registers its own built-ins (executors, TOML and JSON storage formats) through
these same hooks. Names are unique per hook across all plugins; a clash is reported as an
error naming both distributions.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("pipetask")


@hookspec
def pipetask_tasks():
    """Tasks this plugin provides.

    Returns a list of ``Description(name, target, summary, kind)``. ``name`` is the task's
    ``_DefaultName``; ``target`` imports the ``Task`` subclass. ``kind`` groups tasks in
    ``pipetask list``: ``"cmdline"`` for command-line tasks that ``pipetask run`` accepts
    (they define ``runDataRef``), ``"stats"`` for statistics implementations, ``""`` for
    other tasks. Called when a task is looked up by name and by ``pipetask list``.
    """


@hookspec
def pipetask_cameras():
    """Cameras (obs packages) this plugin provides.

    Returns a list of ``Description(name, target, summary)``; ``target`` imports a
    :class:`pipetask.butler.camera.Camera` instance or subclass. Called when a repository
    is created or opened (its ``repo.toml`` names the camera) and by ``pipetask list``.
    """


@hookspec
def pipetask_formats():
    """Storage formats for datasets in a repository.

    Returns a list of ``Description(name, target, summary)``; ``target`` imports a
    :class:`pipetask.butler.formats.StorageFormat` subclass. A camera's dataset type names
    its format by this name. Called when the Butler reads or writes a dataset.
    """


@hookspec
def pipetask_executors():
    """Executors that run the work of ``pipetask run`` (data IDs, or a pipeline's quanta).

    Returns a list of ``Description(name, target, summary)``; ``target`` imports an
    :class:`pipetask.execution.Executor` subclass. ``pipetask run --executor NAME``
    selects one; ``serial`` and ``process`` (``-j N``) are built in.

    The executor contract, in short (the whole of it is the docstring of
    :class:`pipetask.execution.base.Executor`): it is built as ``Executor(processes=N,
    timeout=..., scheduler=...)``; ``run(job, work)`` takes ready items from ``work``
    (``take()`` -> ``(number, item)`` or None; ``more``), runs each in any process with
    ``pipetask.execution.job.processOne(job, item)`` and yields each
    :class:`~pipetask.execution.Outcome` as it arrives, taking again after each yield
    (a pipeline's next quanta become ready as outcomes are consumed); a dead or timed-out
    worker fails only its item; workers never write the registry; ``close()`` ends it.
    """


@hookspec
def pipetask_pipelines():
    """Pipeline files this plugin ships, found by name: ``pipetask run -p NAME[#subset]``.

    Returns a list of ``Description(name, target, summary)``. ``target`` is
    ``"package:path/inside/the/package.toml"``: the file is found next to the package's
    ``__init__.py`` without importing the package. A ``-p`` value that is an existing file
    (or a path, or ends in ``.toml``) is read as a file; any other is looked up here. Called
    when ``-p`` names a pipeline and by ``pipetask list``.
    """


@hookspec
def pipetask_display_backends():
    """Display backends that show images for ``--debug`` display variables.

    Returns a list of ``Description(name, target, summary)``; ``target`` imports a callable
    ``show(image, *, title, outputDir) -> str`` that displays or writes the image and
    returns where it went. Called only when a task asks to display something.
    """


@hookspec
def pipetask_thumbnailers():
    """Makers of small pictures of stored datasets, for ``pipetask report --html``.

    Returns a list of ``Description(name, target, summary)``. ``name`` is the dataset type
    whose pictures this maker draws (``calexp``), or ``"*"`` for a fallback tried on any
    dataset type that has no maker of its own. ``target`` imports a callable
    ``thumbnail(butler, datasetType, dataId, *, size) -> bytes | None`` returning a PNG at
    most ``size`` pixels on a side (it may read other datasets of the same data ID, such
    as the source catalog to mark), or None when the dataset is not an image. Called only
    when a report is written.
    """


@hookspec
def pipetask_measurers():
    """Readers of per-detector numbers from stored datasets, for the per-visit plots of
    ``pipetask report --html`` (source counts, PSF width, background per CCD).

    Returns a list of ``Description(name, target, summary)``. ``name`` is the dataset type
    read (``src``, ``calexp``). ``target`` imports a callable
    ``measure(butler, datasetType, dataId) -> dict[str, float]`` naming each number with
    its unit in parentheses (``{"PSF FWHM (px)": 3.1}``); an empty dict when the dataset
    holds none. It may read other datasets of the same data ID. Called only when a report
    is written, on a capped sample of data IDs.
    """


@hookspec
def pipetask_kernels():
    """Compiled implementations of numeric kernels that another plugin has in numpy.

    Returns a list of ``Description(name, target, summary)``; ``target`` imports a callable
    with the contract that the asking plugin documents for ``name`` (for
    ``sigmaClippedScan``: the module :mod:`pipetask_stats.scan`), giving identical
    results. The asking plugin uses an installed kernel instead of its own code and falls
    back to it when none is. Called the first time such a computation runs.
    """
