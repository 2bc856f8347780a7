"""The plugin manager: finds installed plugins and the things they describe.

Plugins come from the entry-point group ``pipetask`` (see :mod:`pipetask.hookspecs`).
Nothing here imports a plugin's heavy code: :func:`load` imports a description's target
only when it is needed.

Reading what plugins describe (:func:`catalog`, so ``pipetask list``) does not need
pluggy, whose import (with ``typing`` and ``inspect``) would cost more than the rest of
the command: the hooks are plain functions marked by :data:`hookimpl`, called here in
registration order. Once something asks for the pluggy plugin manager
(:func:`get_plugin_manager`, for instance to register a plugin at run time), the catalog
reads the hooks through it instead.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache

from .errors import PluginError

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any

    import pluggy

#: The attribute pluggy's ``HookimplMarker("pipetask")`` sets on a hook implementation.
_IMPL_ATTRIBUTE = "pipetask_impl"


def hookimpl(function=None, **options):
    """Mark a hook implementation, as ``pluggy.HookimplMarker("pipetask")`` does.

    Sets the same options dictionary pluggy reads, so pluggy's plugin manager accepts the
    function, without importing pluggy. Used bare (``@hookimpl``) or with pluggy's
    options (``@hookimpl(tryfirst=True)``).
    """
    opts = {
        "wrapper": options.pop("wrapper", False),
        "hookwrapper": options.pop("hookwrapper", False),
        "optionalhook": options.pop("optionalhook", False),
        "tryfirst": options.pop("tryfirst", False),
        "trylast": options.pop("trylast", False),
        "specname": options.pop("specname", None),
    }
    if options:
        raise TypeError(f"unknown hookimpl options: {sorted(options)}")

    def mark(f):
        setattr(f, _IMPL_ATTRIBUTE, opts)
        return f

    return mark if function is None else mark(function)


#: Hook name for each kind of thing a plugin can provide.
KINDS = {
    "task": "pipetask_tasks",
    "camera": "pipetask_cameras",
    "format": "pipetask_formats",
    "executor": "pipetask_executors",
    "display": "pipetask_display_backends",
    "thumbnail": "pipetask_thumbnailers",
    "measure": "pipetask_measurers",
    "kernel": "pipetask_kernels",
    "pipeline": "pipetask_pipelines",
}

CORE_DISTRIBUTION = "pipetask"


class Description:
    """What a plugin provides: a name, an import path and a one-line summary.

    Parameters
    ----------
    name : str
        Unique name among things of the same kind (a task's ``_DefaultName``, a camera name).
    target : str
        ``"package.module:attribute"``; imported only when used.
    summary : str
        One line for ``pipetask list``.
    kind : str
        Optional grouping within a hook (tasks: ``"cmdline"``, ``"stats"`` or ``""``).
    distribution : str
        The distribution providing it (set by :func:`catalog`; not compared).

    Immutable; a plain class rather than a dataclass, whose import costs start-up time.
    """

    __slots__ = ("name", "target", "summary", "kind", "distribution")

    def __init__(
        self, name: str, target: str, summary: str = "", kind: str = "", distribution: str = ""
    ) -> None:
        for attribute, value in zip(
            self.__slots__, (name, target, summary, kind, distribution), strict=True
        ):
            object.__setattr__(self, attribute, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Description is immutable")

    def _key(self) -> tuple[str, str, str, str]:
        return (self.name, self.target, self.summary, self.kind)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Description(name={self.name!r}, target={self.target!r}, "
            f"summary={self.summary!r}, kind={self.kind!r}, "
            f"distribution={self.distribution!r})"
        )


#: How an error names the descriptions of a kind (see :meth:`Catalog.get`).
_KIND_LABELS = {"cmdline": "command-line task"}


class Catalog:
    """Everything installed plugins describe, by kind and name, with clashes."""

    def __init__(
        self, items: dict[str, dict[str, Description]], clashes: dict[tuple[str, str], str]
    ) -> None:
        self.items = items
        self.clashes = clashes

    def get(self, kind: str, name: str, among: str | None = None) -> Description:
        """The description of ``name``, or a :class:`PluginError` listing what exists (of
        those of description kind ``among`` only, e.g. ``"cmdline"``, when given)."""
        found = self.items[kind].get(name)
        if found is None:
            listed = {n: d for n, d in self.items[kind].items() if among is None or d.kind == among}
            known = ", ".join(sorted(listed)) or "none installed"
            hint = _suggest(name, listed)
            label = "known" if among is None else f"{_KIND_LABELS.get(among, among)}s"
            raise PluginError(f"unknown {kind} {name!r}{hint}; {label}: {known}")
        clash = self.clashes.get((kind, name))
        if clash:
            raise PluginError(clash)
        return found

    def names(self, kind: str, subkind: str | None = None) -> list[str]:
        """Sorted names of one kind (optionally only one task ``kind``)."""
        return sorted(
            n for n, d in self.items[kind].items() if subkind is None or d.kind == subkind
        )


def _suggest(name: str, choices: dict[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def installedPlugins() -> list[tuple[str, Any, str]]:
    """``(name, module, distribution)`` of the core built-ins and every installed plugin,
    in registration order (the same plugin earlier on ``sys.path`` wins, as in pluggy)."""
    from . import builtins

    plugins = [("pipetask.builtins", builtins, CORE_DISTRIBUTION)]
    seen = {"pipetask.builtins"}
    for name, value, distribution in entryPoints("pipetask"):
        if name not in seen:
            seen.add(name)
            plugins.append((name, load(value), distribution))
    return plugins


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The one pluggy plugin manager, with the core built-ins and every installed plugin."""
    import pluggy

    from . import hookspecs

    pm = pluggy.PluginManager("pipetask")
    pm.add_hookspecs(hookspecs)
    distributions: dict[int, str] = {}
    for name, plugin, distribution in installedPlugins():
        pm.register(plugin, name=name)
        distributions[id(plugin)] = distribution
    pm.pipetask_distributions = distributions  # type: ignore[attr-defined]
    catalog.cache_clear()  # from now on read through the manager
    return pm


def _distribution_names(pm: pluggy.PluginManager) -> dict[int, str]:
    return getattr(pm, "pipetask_distributions", {})


def entryPoints(group: str) -> list[tuple[str, str, str]]:
    """``(name, "module:attribute", distribution)`` of each entry point in ``group``.

    Reads the ``entry_points.txt`` of each distribution on ``sys.path`` and the name of
    those that have one in ``group``, in ``sys.path`` order. ``importlib.metadata`` (which
    pluggy uses) parses every installed distribution's metadata instead, which costs tens
    of milliseconds at each start; a path entry that is not a directory (a zip file) still
    goes through it.
    """
    found: list[tuple[str, str, str]] = []
    for entry in sys.path:
        directory = entry or "."
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            if os.path.isfile(directory):
                found += _zippedEntryPoints(group, entry)
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            info = os.path.join(directory, name)
            try:
                with open(os.path.join(info, "entry_points.txt"), encoding="utf-8") as file:
                    items = _section(file.read(), group)
            except OSError:
                continue
            if items:
                distribution = _distributionName(info)
                found += [(key, value, distribution) for key, value in items]
    return found


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of section ``[group]`` of an ``entry_points.txt``."""
    items, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside:
            key, sep, value = line.partition("=")
            if sep:
                items.append((key.strip(), value.strip()))
    return items


def _distributionName(info: str) -> str:
    """The ``Name:`` of a ``.dist-info`` or ``.egg-info`` directory's metadata."""
    for metadata in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, metadata), encoding="utf-8") as file:
                for line in file:
                    if line.startswith("Name:"):
                        return line[5:].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    stem = os.path.basename(info).removesuffix(".dist-info").removesuffix(".egg-info")
    return stem.partition("-")[0]


def _zippedEntryPoints(group: str, path: str) -> list[tuple[str, str, str]]:
    import importlib.metadata

    return [
        (ep.name, ep.value, dist.metadata["Name"])
        for dist in importlib.metadata.distributions(path=[path])
        for ep in dist.entry_points
        if ep.group == group
    ]


def _hookFunctions(
    hookName: str, plugins: list[tuple[str, Any, str]] | None = None
) -> list[tuple[Any, str]]:
    """``(function, distribution)`` of each implementation of a hook, in the order pluggy
    lists them: through the plugin manager when one was made, else straight from the
    installed plugins' modules (``plugins``, as :func:`installedPlugins` returns them, when
    the caller has read them already)."""
    if get_plugin_manager.cache_info().currsize:
        pm = get_plugin_manager()
        dists = _distribution_names(pm)
        return [
            (impl.function, dists.get(id(impl.plugin), CORE_DISTRIBUTION))
            for impl in getattr(pm.hook, hookName).get_hookimpls()
        ]
    found = []
    for _, plugin, distribution in installedPlugins() if plugins is None else plugins:
        function = getattr(plugin, hookName, None)
        if function is not None and hasattr(function, _IMPL_ATTRIBUTE):
            found.append((function, distribution))
    return found


@cache
def catalog() -> Catalog:
    """Collect the descriptions of every installed plugin (cached per process)."""
    items: dict[str, dict[str, Description]] = {kind: {} for kind in KINDS}
    clashes: dict[tuple[str, str], str] = {}
    # The installed plugins are read once for all the hooks, not once per hook.
    plugins = None if get_plugin_manager.cache_info().currsize else installedPlugins()
    for kind, hook_name in KINDS.items():
        for function, dist in _hookFunctions(hook_name, plugins):
            for desc in function() or []:
                desc = Description(desc.name, desc.target, desc.summary, desc.kind, dist)
                previous = items[kind].get(desc.name)
                if previous is not None and previous.target != desc.target:
                    clashes[kind, desc.name] = (
                        f"{kind} {desc.name!r} is provided by both "
                        f"{previous.distribution} ({previous.target}) and {dist} ({desc.target})"
                    )
                    continue
                items[kind][desc.name] = desc
    return Catalog(items, clashes)


def load(target: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"cannot import {module_name!r} for {target!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split(".") if attr else []:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"{module_name!r} has no attribute {attr!r} ({target})") from None
    return obj


def load_item(kind: str, name: str) -> Any:
    """Look up ``name`` among things of ``kind`` and import its target."""
    return load(catalog().get(kind, name).target)


def loadSubtaskTarget(text: str, default: Any = None) -> Any:
    """The task class a subtask retarget names, in any of the three spellings.

    ``"module:Class"`` (pipetask's), ``"pkg.module.Class"`` (LSST's import path) or a
    registered task name (``"simpleStats"``). Command-line tasks are refused: they process
    data references, not what a parent task hands its subtask (unless ``default``, the
    field's default target, is a command-line task itself).

    Raises
    ------
    PluginError
        The name is unknown, cannot be imported, or is a command-line task.
    """
    text = text.strip()
    tasks = catalog().items["task"]
    cmdline = {d.target: d.name for d in tasks.values() if d.kind == "cmdline"}
    subtasks = ", ".join(n for n, d in sorted(tasks.items()) if d.kind != "cmdline")
    if text in tasks:
        target = tasks[text].target
    elif ":" in text:
        target = text
    elif "." in text:
        module, _, attr = text.rpartition(".")
        target = f"{module}:{attr}"
    else:
        hint = _suggest(text, {n: d for n, d in tasks.items() if d.kind != "cmdline"})
        raise PluginError(
            f"unknown task {text!r}{hint}; subtask targets: {subtasks or 'none installed'} "
            "(or an import path, module:Class or pkg.module.Class)"
        )
    defaultIsCmdline = default is not None and (
        f"{default.__module__}:{default.__qualname__}" in cmdline
    )
    if target in cmdline and not defaultIsCmdline:
        raise PluginError(
            f"{cmdline[target]!r} is a command-line task and cannot be the target of a "
            f"subtask; subtask targets: {subtasks or 'none installed'}"
        )
    return load(target)
