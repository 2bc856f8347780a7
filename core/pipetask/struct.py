"""``Struct``: the simple result container that ``run()`` methods return."""

from __future__ import annotations

from typing import Any


class Struct:
    """Named values with attribute access, as returned by ``Task.run``.

    ``Struct(mean=1.0, stdDev=2.0).mean == 1.0``; the repr reads
    ``Struct(mean=1.0; stdDev=2.0)``. Names may not start with ``__`` nor hide a method.
    """

    def __init__(self, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            self._set(name, value)

    def _set(self, name: str, value: Any) -> None:
        if name.startswith("__"):
            raise RuntimeError(f"Item name {name!r} invalid; must not begin with __")
        if hasattr(self, name):
            raise RuntimeError(f"Item {name} already exists")
        setattr(self, name, value)

    def getDict(self) -> dict[str, Any]:
        """A shallow copy of the items as a dict."""
        return dict(self.__dict__)

    def mergeItems(self, struct: Struct, *names: str) -> None:
        """Copy the named items of ``struct`` into this one."""
        for name in names:
            self._set(name, getattr(struct, name))

    def copy(self) -> Struct:
        """A shallow copy."""
        return Struct(**self.getDict())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Struct) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.__dict__)

    def __iter__(self):
        return iter(self.__dict__.items())

    def __repr__(self) -> str:
        items = "; ".join(f"{k}={_plain(v)!r}" for k, v in self.__dict__.items())
        return f"Struct({items})"


def _plain(value: Any) -> Any:
    """NumPy scalars print as plain Python numbers (``1.5``, not ``np.float64(1.5)``)."""
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return value.item()
    return value
