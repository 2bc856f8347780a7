"""The ``fitsTable`` storage format: an astropy Table as a FITS binary table."""

from __future__ import annotations

from typing import Any


class FitsTableFormat:
    """Writes an astropy ``Table`` (its ``meta`` in the header); reads one back.

    The Butler hands ``write`` a temporary name and renames it afterwards, so a reader
    never sees a partial table.
    """

    extension = ".fits"

    def read(self, path: str) -> Any:
        """The table in HDU 1 of ``path``."""
        from astropy.table import Table
        from pipetask import ButlerError

        try:
            return Table.read(path, format="fits", hdu=1)
        except (OSError, ValueError, IndexError) as exc:
            raise ButlerError(f"cannot read a FITS table from {path}: {exc}") from None

    def write(self, obj: Any, path: str) -> None:
        """Write ``obj`` (an astropy Table) to ``path``."""
        from astropy.table import Table
        from pipetask import ButlerError

        if not isinstance(obj, Table):
            raise ButlerError(
                f"the fitsTable format writes an astropy Table, not {type(obj).__name__}"
            )
        obj.write(path, format="fits", overwrite=True)
