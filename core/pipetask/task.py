"""``Task``: the unit of work, composed of subtasks and configured by a ``Config``."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

from .config import Config
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import ConfigurableField


class Task:
    """Base class of every task.

    Subclasses set ``ConfigClass`` and ``_DefaultName`` and write methods (``run`` by
    convention) that return a :class:`~pipetask.Struct`. Construct once, call many times.

    Parameters
    ----------
    config : Config, optional
        The task's config; ``ConfigClass()`` by default (for a subtask, the parent's
        config field of the same name). It is validated and frozen here.
    name : str, optional
        Short name; ``_DefaultName`` by default; required for a subtask.
    parentTask : Task, optional
        The parent, for a subtask (``makeSubtask`` passes it).
    log : logging.Logger, optional
        Parent logger; the task logs to its child named by the task's full name.
    """

    ConfigClass: ClassVar[type[Config]] = Config
    _DefaultName: ClassVar[str]
    #: Set False in a task that cannot run in several processes at once (``-j``).
    canMultiprocess: ClassVar[bool] = True
    # Command-line tasks (those with ``runDataRef(dataRef)``) may also set:
    #: Dataset type whose data IDs ``--id`` selects (default: the camera's raw type).
    inputDatasetType: ClassVar[str | None] = None
    #: Dataset types ``runDataRef`` writes; ``--skip-existing`` skips a data ID when all
    #: of them (and its metadata) exist in the output.
    outputDatasetTypes: ClassVar[tuple[str, ...]] = ()
    #: Whether a run stores the config (and package versions) and compares it next time.
    storeConfig: ClassVar[bool] = True
    #: Whether a run stores this task's metadata for each data ID that succeeds.
    storeMetadata: ClassVar[bool] = True
    # A gathering task (one output from several inputs, like makeBias) also defines the
    # classmethod ``gatherKeys(camera) -> list[str]``: see
    # :func:`pipetask.pipeline.connections.gatherDimensions`.

    def __init__(
        self,
        config: Config | None = None,
        name: str | None = None,
        parentTask: Task | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.metadata: dict[str, Any] = {}
        self._parentTask = parentTask
        if parentTask is not None:
            if name is None:
                raise RuntimeError("name is required for a subtask")
            self._name = name
            self._fullName = f"{parentTask._fullName}.{name}"
            if config is None:
                config = getattr(parentTask.config, name)
            self._taskDict = parentTask._taskDict
            loggerName = log.name + "." + name if log is not None else self._fullName
        else:
            if name is None:
                name = getattr(self, "_DefaultName", None)
                if name is None:
                    raise RuntimeError(
                        "name is required for a task unless it has attribute _DefaultName"
                    )
            self._name = name
            self._fullName = name
            if config is None:
                config = self.ConfigClass()
            self._taskDict = weakref.WeakValueDictionary()
            loggerName = log.name + "." + name if log is not None else name
        if not isinstance(config, self.ConfigClass):
            raise ConfigError(
                f"task {self._fullName!r} needs a config of type "
                f"{self.ConfigClass.__qualname__}, not {type(config).__qualname__}"
            )
        if parentTask is None:
            config.validate()
            config.freeze()
        self.config = config
        self.log = logging.getLogger(loggerName)
        self._taskDict[self._fullName] = self

    def getName(self) -> str:
        """The short name (``stats``)."""
        return self._name

    def getFullName(self) -> str:
        """The dotted name from the top task (``exampleTask.stats``)."""
        return self._fullName

    def getTaskDict(self) -> dict[str, Task]:
        """Every task of the tree, by full name."""
        return dict(self._taskDict)

    def makeSubtask(self, name: str, **kwargs: Any) -> Task:
        """Build the subtask that config field ``name`` describes and set ``self.<name>``."""
        field = getattr(self.config, name, None)
        if field is None or not hasattr(field, "apply"):
            raise KeyError(f"{self._fullName}'s config does not have field {name!r}")
        subtask = field.apply(name=name, parentTask=self, **kwargs)
        setattr(self, name, subtask)
        return subtask

    def getFullMetadata(self) -> dict[str, dict[str, Any]]:
        """Metadata of the whole tree: full task name -> that task's metadata."""
        return {name: dict(task.metadata) for name, task in sorted(self._taskDict.items())}

    def emptyMetadata(self) -> None:
        """Clear the metadata of every task in the tree."""
        for task in self._taskDict.values():
            task.metadata.clear()

    @classmethod
    def makeField(cls, doc: str) -> ConfigurableField:
        """A ``ConfigurableField`` whose target is this task."""
        from .config import ConfigurableField

        return ConfigurableField(doc=doc, target=cls)

    def __reduce__(self):
        if self._parentTask is not None:
            raise TypeError("only a top-level task can be pickled")
        return (_rebuildTask, (type(self), self.config, self._name))


def _rebuildTask(cls: type[Task], config: Config, name: str) -> Task:
    # Keywords, so that subclasses whose __init__ takes only **kwargs can be unpickled.
    return cls(config=config, name=name)
