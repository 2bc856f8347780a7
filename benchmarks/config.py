"""Speed of the config tree: construct, copy, freeze and TOML round trip of 200 fields.

The tree: a top config with 10 nested configs (``ConfigField``) and one subtask
(``ConfigurableField``), 200 leaf fields in all (int, float, str, bool, list, dict,
range and choice fields). Each operation is timed (best of ``--repeat``) and printed as a
ratio to a baseline measured in the same run on plain Python data of the same shape
(building the nested dicts, ``copy.deepcopy``, ``tomllib`` reading of the same TOML):
the ratios are what to compare across machines and code versions, since a loaded machine
slows both sides alike.

Usage: ``python benchmarks/config.py [--repeat 20] [--rounds 3]`` and, to measure another
checkout of the core in the same run (for a before/after figure),
``python benchmarks/config.py --other PATH/TO/core`` (runs this script in a subprocess with
that ``core`` first on ``PYTHONPATH``, alternating with this checkout ``--rounds`` times,
and prints both; per operation the least disturbed round counts). Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
import tomllib

GROUPS = 10
PER_GROUP = 19  # 10 x 19 + 10 in the subtask = 200 leaves


def makeClasses():
    """The config classes of the 200-field tree (built at run time, like a plugin's)."""
    from pipetask import (
        ChoiceField,
        Config,
        ConfigField,
        ConfigurableField,
        DictField,
        Field,
        ListField,
        RangeField,
        Task,
    )

    kinds = [
        lambda i: Field(f"integer {i}", int, default=i),
        lambda i: Field(f"float {i}", float, default=i / 3),
        lambda i: Field(f"string {i}", str, default=f"value{i}"),
        lambda i: Field(f"flag {i}", bool, default=i % 2 == 0),
        lambda i: ListField(f"list {i}", str, default=["EDGE", "SAT", f"P{i}"]),
        lambda i: DictField(f"dict {i}", str, float, default={"a": 1.0, f"k{i}": i / 7}),
        lambda i: RangeField(f"range {i}", float, default=1.5, min=0.0, max=10.0),
        lambda i: ChoiceField(f"choice {i}", str, {"x": "first", "y": "second"}, default="x"),
    ]

    def group(name: str, count: int) -> type:
        fields = {f"f{i}": kinds[i % len(kinds)](i) for i in range(count)}
        cls = type(name, (Config,), fields)
        globals()[name] = cls
        return cls

    SubConfig = group("SubConfig", 10)

    SubTask = type("SubTask", (Task,), {"ConfigClass": SubConfig, "_DefaultName": "sub"})
    globals().update(SubConfig=SubConfig, SubTask=SubTask)  # importable by name, as TOML needs

    fields = {
        f"g{g}": ConfigField(f"group {g}", group(f"Group{g}", PER_GROUP)) for g in range(GROUPS)
    }
    fields["sub"] = ConfigurableField("a subtask", target=SubTask)
    TreeConfig = type("TreeConfig", (Config,), fields)
    globals()["TreeConfig"] = TreeConfig
    return TreeConfig


def fastest(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def copyOf(config):
    """``config.copy()`` where it exists; before it did, a copy went through TOML."""
    if hasattr(type(config), "copy"):
        return config.copy()
    return type(config).fromToml(config.toToml())


def measure(repeat: int) -> dict[str, tuple[float, float]]:
    """Seconds of each operation and of its plain-Python baseline."""
    TreeConfig = makeClasses()
    config = TreeConfig()
    text = config.toToml()
    plain = config.toDict()

    def plainBuild():
        return {
            f"g{g}": {f"f{i}": [i, "x", {"a": 1.0}] for i in range(PER_GROUP)}
            for g in range(GROUPS)
        }

    def freeze():
        copyOf(config).freeze()

    def roundTrip():
        type(config).fromToml(config.toToml())

    return {
        "construct": (fastest(TreeConfig, repeat), fastest(plainBuild, repeat)),
        "copy": (
            fastest(lambda: copyOf(config), repeat),
            fastest(lambda: copy.deepcopy(plain), repeat),
        ),
        "copy+freeze": (fastest(freeze, repeat), fastest(lambda: copy.deepcopy(plain), repeat)),
        "TOML round trip": (
            fastest(roundTrip, repeat),
            fastest(lambda: tomllib.loads(text), repeat),
        ),
    }


def report(label: str, figures: dict[str, tuple[float, float]]) -> None:
    print(label)
    for name, (seconds, baseline) in figures.items():
        print(
            f"  {name:<16} {seconds * 1e3:8.2f} ms   baseline {baseline * 1e3:7.3f} ms   "
            f"ratio {seconds / baseline:8.1f}"
        )


def best(runs: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """Per operation, the round with the lowest ratio (the least disturbed by other load)."""
    return {name: min((r[name] for r in runs), key=lambda t: t[0] / t[1]) for name in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the two this often")
    parser.add_argument("--other", metavar="CORE", help="also measure the core at this path")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(measure(args.repeat)))
        return 0
    import pipetask

    mine: list[dict] = []
    others: list[dict] = []
    for _ in range(args.rounds):
        if args.other:
            path = os.pathsep.join(filter(None, [args.other, os.environ.get("PYTHONPATH", "")]))
            command = [sys.executable, __file__, "--repeat", str(args.repeat), "--json"]
            done = subprocess.run(
                command, env=dict(os.environ, PYTHONPATH=path), check=True, capture_output=True
            )
            others.append({k: tuple(v) for k, v in json.loads(done.stdout).items()})
        mine.append(measure(args.repeat))
    if others:
        report(f"other core: {args.other}", best(others))
    report(f"this checkout: {os.path.dirname(pipetask.__file__)}", best(mine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
