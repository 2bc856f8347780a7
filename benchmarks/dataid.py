"""Parsing and selecting an ``--id`` of 100,000 alternatives on one key.

Builds a registry of ``--visits`` x 4 CCDs of ``synth`` raws (rows only), then times,
through the code ``pipetask run --id`` uses (``parseId``, then ``Butler.queryDataIds``):

- ``visit=1^2^...^N``: N single values;
- ``visit=1..2^5..6^...``: N ranges;

for N = 10,000 and 100,000, against baselines measured in the same run: turning the same
N number strings into Python ints (``int`` of each piece of ``str.split``), the least any
parser must do, and selecting the same data IDs with one range. Prints times, the ratios
to the baselines and the time per alternative at both sizes (flat when parsing and
selection are linear).

Usage: ``python benchmarks/dataid.py [--visits 50000] [--repeat 3]``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def best(function: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``function()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def build(root: Path, visits: int) -> None:
    """A repository whose registry holds ``visits`` x 4 raw rows."""
    from pipetask import Butler
    from pipetask.butler.repository import Repository

    Repository.create(root, "synth")
    with Butler(root) as butler:
        template = butler.getDatasetType("raw").template
        rows = ((v, c) for v in range(1, visits + 1) for c in range(4))
        butler.output.registry.insertMany(
            "raw", rows, lambda r: template.format(visit=r[0], ccd=r[1])
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from pipetask import Butler
    from pipetask.dataid import parseId

    keys = {"visit": int, "ccd": int}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        build(root, args.visits)
        print(f"registry: {args.visits * 4:,} raw rows (visits 1..{args.visits}, 4 CCDs)")
        with Butler(root) as butler:
            perAlternative = {}
            for count in (10_000, 100_000):
                numbers = [str(2 * i + 1) for i in range(count)]
                text = "^".join(numbers)
                baseline = best(lambda t=text: [int(x) for x in t.split("^")], args.repeat)
                print(f"\nN = {count:,}: baseline int() of N numbers {baseline * 1e3:8.1f} ms")
                for form, value, same in (
                    ("values", text, f"visit=1..{2 * count}:2"),  # every other visit
                    (
                        "ranges",
                        "^".join(f"{n}..{int(n) + 1}" for n in numbers),
                        f"visit=1..{2 * count}",
                    ),
                ):
                    token = [f"visit={value}"]
                    parse = best(lambda t=token: parseId(t, keys), args.repeat)
                    query, oneRange = parseId(token, keys), parseId([same], keys)
                    rows: list = []

                    def select(q=query, out=rows) -> None:
                        out[:] = butler.queryDataIds("raw", q)

                    selected = best(select, args.repeat)
                    baseSelect = best(lambda q=oneRange: butler.queryDataIds("raw", q), args.repeat)
                    assert rows == butler.queryDataIds("raw", oneRange)
                    total = parse + selected
                    perAlternative[(form, count)] = total / count
                    print(
                        f"  {form}: parse {parse * 1e3:7.1f} ms ({parse / baseline:4.1f}x the "
                        f"baseline), select {selected * 1e3:7.1f} ms of {len(rows):,} data IDs "
                        f"({selected / baseSelect:4.1f}x selecting them by --id {same}: "
                        f"{baseSelect * 1e3:.1f} ms); parse+select {total:.3f} s"
                    )
            for form in ("values", "ranges"):
                ratio = perAlternative[(form, 100_000)] / perAlternative[(form, 10_000)]
                print(
                    f"{form}: time per alternative at 100k / at 10k = {ratio:.2f} "
                    "(1.0 is linear; 10 would be quadratic)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
