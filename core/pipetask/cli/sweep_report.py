"""``pipetask report OUT --sweep [--csv]``: a sweep's variants and their results."""

from __future__ import annotations


def report(repo: str, sweep: bool, asCsv: bool) -> int:
    """Print the sweep table of output ``repo`` (text, or CSV); the exit status."""
    from ..errors import ConfigError
    from ..pipeline.sweep_table import sweepTable, tableCsv, tableText

    if not sweep:
        raise ConfigError("--csv prints the sweep table: pipetask report OUT --sweep --csv")
    table = sweepTable(repo)
    print(tableCsv(table) if asCsv else tableText(table), end="" if asCsv else "\n")
    return 0
