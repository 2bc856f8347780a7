"""The results of a sweep side by side: ``pipetask report OUT --sweep [--csv]``.

:func:`sweepTable` reads every variant of ``OUT/sweep/`` (its ``sweep.json``: the swept
values and the dataset types it wrote) and the numbers of each JSON dataset the variant
wrote, and returns plain data (for text, CSV, or a plot of a metric against a swept
value)::

    {
      "fields": ["stats.numSigmaClip"],                  # swept fields, in order
      "metrics": {"imageStats": ["mean", "stdDev"]},     # numeric keys per dataset type
      "rows": [                                          # one per variant and dataset
        {"variant": "stats.numSigmaClip=3.0",            # its folder under OUT/sweep/
         "values": {"stats.numSigmaClip": 3.0},          # swept value per field
         "datasetType": "imageStats",
         "dataId": {"visit": 1, "ccd": 0},
         "metrics": {"mean": 1380.29, "stdDev": 417.25}},
      ],
    }

Rows come sorted by dataset type, data ID, then the swept values.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..errors import ButlerError
from .sweep import SWEEP_DIR, SWEEP_FILE


def sweepTable(outputRoot: str | Path) -> dict[str, Any]:
    """Every variant's numeric results in the output ``outputRoot`` (see the module)."""
    from ..butler import Butler

    root = Path(outputRoot)
    fields: list[str] = []
    metrics: dict[str, list[str]] = {}
    rows: list[dict[str, Any]] = []
    for info in sorted((root / SWEEP_DIR).glob(f"*/{SWEEP_FILE}")):
        try:
            variant = json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ButlerError(f"cannot read sweep variant {str(info)!r}: {exc}") from None
        values = variant.get("values", {})
        fields.extend(f for f in values if f not in fields)
        with Butler(root, output=info.parent) as butler:
            for datasetType, dims in variant.get("outputs", {}).items():
                try:
                    if butler.getDatasetType(datasetType).format != "json":
                        continue
                except ButlerError:
                    continue
                for key in butler.iterKeys(datasetType, dims, outputOnly=True):
                    dataId = dict(zip(dims, key, strict=True))
                    numbers = _numbers(butler.get(datasetType, dataId))
                    if not numbers:
                        continue
                    known = metrics.setdefault(datasetType, [])
                    known.extend(k for k in numbers if k not in known)
                    rows.append(
                        {
                            "variant": info.parent.name,
                            "values": values,
                            "datasetType": datasetType,
                            "dataId": dataId,
                            "metrics": numbers,
                        }
                    )
    rows.sort(
        key=lambda r: (
            r["datasetType"],
            [_sortable(v) for v in r["dataId"].values()],
            [_sortable(r["values"].get(f)) for f in fields],
        )
    )
    return {"fields": fields, "metrics": metrics, "rows": rows}


def _numbers(obj: Any) -> dict[str, float]:
    """The numeric top-level values of a JSON dataset."""
    if not isinstance(obj, dict):
        return {}
    return {k: v for k, v in obj.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _sortable(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, int | float) else (1, 0, str(value))


def _columns(table: dict[str, Any], datasetType: str) -> tuple[list[str], list[str]]:
    rows = [r for r in table["rows"] if r["datasetType"] == datasetType]
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row["dataId"] if k not in keys)
    return keys, table["metrics"][datasetType]


def tableText(table: dict[str, Any]) -> str:
    """The table as aligned text, one block per dataset type."""
    from ..dataid import formatDataId

    if not table["rows"]:
        return "no sweep results (no JSON dataset with numbers in OUT/sweep/*)"
    blocks = []
    for datasetType, names in table["metrics"].items():
        header = [*table["fields"], "data ID", *names]
        lines = [header]
        for row in table["rows"]:
            if row["datasetType"] != datasetType:
                continue
            lines.append(
                [str(row["values"].get(f, "")) for f in table["fields"]]
                + [formatDataId(row["dataId"])]
                + [_number(row["metrics"].get(n)) for n in names]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
        blocks.append(f"{datasetType}\n{text}")
    return "\n\n".join(blocks)


def tableCsv(table: dict[str, Any]) -> str:
    """The table as CSV: swept fields, dataset type, data-ID keys, then every metric."""
    keys: list[str] = []
    names: list[str] = []
    for datasetType in table["metrics"]:
        k, n = _columns(table, datasetType)
        keys.extend(x for x in k if x not in keys)
        names.extend(x for x in n if x not in names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*table["fields"], "datasetType", *keys, *names])
    for row in table["rows"]:
        writer.writerow(
            [row["values"].get(f, "") for f in table["fields"]]
            + [row["datasetType"]]
            + [row["dataId"].get(k, "") for k in keys]
            + [row["metrics"].get(n, "") for n in names]
        )
    return out.getvalue()


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)
