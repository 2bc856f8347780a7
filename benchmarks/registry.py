"""Data-ID selection on a registry of 1,000,000 data IDs of the ``synth`` camera.

Builds a repository whose registry holds 125,000 visits x 8 CCDs of ``raw`` (rows only,
no files; bulk insert), then times, through the same code ``pipetask run --id`` uses
(``pipetask.dataid.selectDataIds``: one SQL query per ``--id``, rows turned into data-ID
dicts):

- ``--id visit=1..1000000:7 ccd=3^5`` (target: under 0.5 s);
- ``--id`` with no tokens (everything);
- ``--id visit=1..N`` for N giving about 1k, 10k, 100k and 1M matches, to show that the
  time grows linearly with the number of matches (the time per data ID stays flat).

Usage: ``python benchmarks/registry.py [--visits 125000] [--ccds 8] [--repeat 3]``.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path, visits: int, ccds: int) -> float:
    """Create the repository and bulk-insert ``visits * ccds`` raw rows; return seconds."""
    from pipetask import Butler
    from pipetask.butler.repository import Repository

    Repository.create(root, "synth")
    butler = Butler(root)
    raw = butler.getDatasetType("raw")
    template = raw.template
    rows = ((v, c) for v in range(1, visits + 1) for c in range(ccds))
    start = time.perf_counter()
    butler.output.registry.insertMany("raw", rows, lambda r: template.format(visit=r[0], ccd=r[1]))
    elapsed = time.perf_counter() - start
    butler.close()
    return elapsed


def timeSelection(root: Path, tokens: list[str], repeat: int) -> tuple[float, int]:
    """Best wall time of selecting ``--id tokens`` (fresh Butler each time) and its count."""
    from pipetask import Butler
    from pipetask.dataid import selectDataIds

    best = float("inf")
    count = 0
    for _ in range(repeat):
        butler = Butler(root)
        start = time.perf_counter()
        dataIds = selectDataIds(butler, [tokens])
        best = min(best, time.perf_counter() - start)
        count = len(dataIds)
        butler.close()
    return best, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=125_000)
    parser.add_argument("--ccds", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    total = args.visits * args.ccds
    with tempfile.TemporaryDirectory(prefix="pipetask-registry-") as tmp:
        root = Path(tmp) / "repo"
        seconds = build(root, args.visits, args.ccds)
        size = (root / "registry.sqlite3").stat().st_size / 2**20
        print(f"registry: {total:,} data IDs ({args.visits:,} visits x {args.ccds} CCDs)")
        print(f"  bulk insert: {seconds:.2f} s ({total / seconds:,.0f} rows/s), {size:.0f} MiB")
        print()
        print(f"{'--id':<40} {'matches':>9} {'seconds':>9} {'IDs/s':>12} {'us/ID':>7}")

        def report(tokens: list[str]) -> tuple[float, int]:
            seconds, count = timeSelection(root, tokens, args.repeat)
            label = " ".join(tokens) if tokens else "(no tokens: all)"
            rate = count / seconds if seconds else float("inf")
            perId = 1e6 * seconds / count if count else float("nan")
            print(f"{label:<40} {count:>9,} {seconds:>9.3f} {rate:>12,.0f} {perId:>7.2f}")
            return seconds, count

        target, _ = report(["visit=1..1000000:7", "ccd=3^5"])
        report([])
        print()
        print("linearity: --id visit=1..N")
        perId = []
        for matches in (1_000, 10_000, 100_000, 1_000_000):
            if matches > total:
                break
            lastVisit = max(1, matches // args.ccds)
            seconds, count = report([f"visit=1..{lastVisit}"])
            perId.append(seconds / max(count, 1))
        if len(perId) >= 2:
            ratio = perId[-1] / perId[0]
            print(
                f"time per data ID, largest / smallest selection: {ratio:.2f} "
                "(1.0 = linear; below 1: fixed costs amortised)"
            )
        verdict = "meets" if target < 0.5 else "MISSES"
        print(f"\n--id visit=1..1000000:7 ccd=3^5: {target:.3f} s, {verdict} the 0.5 s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
