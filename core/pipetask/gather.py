"""Gathering tasks: one unit of work per group of data IDs (LSST's ``constructBias``).

A command-line task that combines several inputs into one output (a master bias from the
bias frames of each detector) defines ``gatherKeys(camera) -> sequence of str``: the
runner then groups the selected data IDs by those keys, and the task's ``runDataRef``
receives one :class:`~pipetask.butler.DataRef` per group, whose data ID holds the group's
keys and whose ``members`` lists a reference to each selected data ID of the group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class DataIdGroup(dict):
    """A group's data ID (its keys' values) with the full data IDs of its members."""

    def __init__(self, values: Mapping[str, Any], members: Iterable[Mapping[str, Any]]) -> None:
        super().__init__(values)
        self.members = [dict(m) for m in members]

    def __reduce__(self):
        return (DataIdGroup, (dict(self), self.members))


def gatherDataIds(dataIds: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[DataIdGroup]:
    """Group ``dataIds`` by the values of ``keys``, groups and members in selection order."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for dataId in dataIds:
        groups.setdefault(tuple(dataId.get(k) for k in keys), []).append(dataId)
    return [
        DataIdGroup({k: v for k, v in zip(keys, values, strict=True) if v is not None}, members)
        for values, members in groups.items()
    ]


def groupRef(butler: Any, datasetType: str, group: DataIdGroup) -> Any:
    """The data reference a gathering task receives for ``group``."""
    from .butler.butler import DataRef

    ref = DataRef(butler, datasetType, dict(group))
    ref.members = [DataRef(butler, datasetType, m) for m in group.members]
    return ref
