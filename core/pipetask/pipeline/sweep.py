"""Config sweeps: ``pipetask run ... --sweep [LABEL:]FIELD=VALUES``.

A sweep runs the same pipeline once per *variant*: one value of each swept field (the
grid of every ``--sweep``, or, zipped, the n-th value of each). Everything is expanded
and checked before anything runs: each variant's pipeline is built (so a bad value, an
unknown field or a contract it breaks fails the sweep naming it), and two variants that
would write to the same output are refused.

Labels that are swept, and every label downstream of one, *vary*; the others are
*shared*: their quanta run once, into the run's output. Each variant's varying labels
write into their own output ``OUT/sweep/<variant>``, chained to ``OUT`` (so they read
the shared outputs), with their own stored config. :func:`combinedGraph` makes one
quantum graph of it all, so one runner and one worker pool run every variant.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ConfigError, PipetaskError
from .graph import QuantumGraph
from .pipeline import Override, Pipeline

SWEEP_DIR = "sweep"
SWEEP_FILE = "sweep.json"
_RANGE = re.compile(r"^([+-]?[0-9.eE+-]+)\.\.([+-]?[0-9.eE+-]+)(?::([+-]?[0-9.eE+-]+))?$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+,-]")
_MAX_VALUES = 10_000


@dataclass(frozen=True)
class SweepAxis:
    """One ``--sweep``: a field of a label and the text of each of its values."""

    text: str
    label: str
    field: str
    values: tuple[str, ...]


@dataclass
class Variant:
    """One point of a sweep: its values, its output folder and its pipeline."""

    name: str
    values: dict[str, str]
    overrides: list[Override]
    pipeline: Pipeline | None = None
    configs: dict[str, str] = field(default_factory=dict)
    #: each swept field's value as the variant's config holds it (TOML text)
    resolved: dict[str, str] = field(default_factory=dict)

    def describe(self, varying: list[str]) -> dict[str, Any]:
        """What ``OUT/sweep/<variant>/sweep.json`` holds: the swept values (as numbers,
        booleans or strings) and the dataset types the variant writes, with their keys."""
        outputs = {
            c.datasetType: list(c.dimensions)
            for label in varying
            for c in self.pipeline.nodes[label].connections.outputs  # type: ignore[union-attr]
        }
        return {"values": {k: plainValue(v) for k, v in self.resolved.items()}, "outputs": outputs}


def plainValue(text: str) -> Any:
    """A TOML value text as a Python value (the text itself when it is not TOML)."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parseValues(text: str, where: str) -> list[str]:
    """The values of ``3^5^10``, ``1..9:2`` or ``2.0..4.0:0.5`` (TOML value texts)."""
    values: list[str] = []
    for alt in text.split("^"):
        alt = alt.strip()
        if not alt:
            raise ConfigError(f"--sweep {where}: empty value in {text!r}")
        found = _RANGE.match(alt)
        values.extend(_range(found, alt, where) if found else [alt])
    return values


def _range(found: re.Match, alt: str, where: str) -> list[str]:
    texts = [found.group(1), found.group(2), found.group(3) or "1"]
    try:
        start, stop, step = (Decimal(t) for t in texts)
    except InvalidOperation:
        raise ConfigError(f"--sweep {where}: bad range {alt!r}: write START..STOP[:STEP]") from None
    if start > stop:
        raise ConfigError(f"--sweep {where}: reversed range {alt!r}: {start} is after {stop}")
    if step <= 0:
        raise ConfigError(f"--sweep {where}: step {step} of {alt!r} must be more than 0")
    count = int((stop - start) / step) + 1
    if count > _MAX_VALUES:
        raise ConfigError(f"--sweep {where}: {alt!r} gives {count} values (at most {_MAX_VALUES})")
    isInt = all(re.fullmatch(r"[+-]?\d+", t) for t in texts)
    return [str(int(v)) if isInt else str(v) for v in (start + k * step for k in range(count))]


def parseAxes(texts: list[str], labels: list[str]) -> list[SweepAxis]:
    """The ``--sweep`` options, each ``[LABEL:]FIELD=VALUES`` (the label may be left out
    when the pipeline has one)."""
    from .pipeline import labelledOverrides

    axes: list[SweepAxis] = []
    seen: set[tuple[str, str]] = set()
    for text in texts:
        name, sep, valueText = text.partition("=")
        if not sep or not name.strip() or not valueText.strip():
            raise ConfigError(f"--sweep {text}: write [LABEL:]FIELD=VALUE^VALUE... ")
        try:
            (where,) = labelledOverrides([("value", text)], labels)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("-c ", "--sweep ", 1)) from None
        fieldName = where.value.partition("=")[0].strip()
        if where.label not in labels:
            raise ConfigError(
                f"--sweep {text}: no label {where.label!r} (labels: {', '.join(labels)})"
            )
        if fieldName.split(".")[0] == "connections":
            raise ConfigError(f"--sweep {text}: a sweep cannot rename connections")
        if (where.label, fieldName) in seen:
            raise ConfigError(f"--sweep {text}: {where.label}:{fieldName} is swept twice")
        seen.add((where.label, fieldName))
        values = parseValues(where.value.partition("=")[2], text)
        axes.append(SweepAxis(text, where.label, fieldName, tuple(values)))
    return axes


def expandVariants(axes: list[SweepAxis], zipped: bool, manyLabels: bool) -> list[Variant]:
    """Every variant: the grid of the axes, or (``zipped``) their n-th values together."""
    if zipped:
        lengths = {len(a.values) for a in axes}
        if len(lengths) > 1:
            sizes = ", ".join(f"{a.text} ({len(a.values)})" for a in axes)
            raise ConfigError(f"--sweep-zip needs as many values in each --sweep: {sizes}")
        points = list(zip(*(a.values for a in axes), strict=True))
    else:
        points = list(itertools.product(*(a.values for a in axes)))
    variants = []
    for point in points:
        values, overrides = {}, []
        for axis, value in zip(axes, point, strict=True):
            key = f"{axis.label}.{axis.field}" if manyLabels else axis.field
            values[key] = value
            overrides.append(Override(axis.label, "value", f"{axis.field}={value}"))
        variants.append(Variant("", values, overrides))
    return variants


def buildVariants(
    variants: list[Variant], build: Any, axes: list[SweepAxis], outputRoot: str
) -> None:
    """Build each variant's pipeline with ``build(overrides)`` and name its output from the
    values its config holds; a bad value, or two variants with one output, is an error."""
    owners: dict[str, str] = {}
    for variant in variants:
        given = ", ".join(f"{k}={v}" for k, v in variant.values.items())
        try:
            variant.pipeline = build(variant.overrides)
        except PipetaskError as exc:
            message = re.sub(r"^(-c \S+: )+", "", str(exc))
            raise ConfigError(f"--sweep: variant {given}: {message}") from None
        parts = []
        for key, axis in zip(variant.values, axes, strict=True):
            node = variant.pipeline.nodes[axis.label]
            variant.resolved[key] = _valueText(node.config, axis.field)
            parts.append(f"{key}={variant.resolved[key]}")
        variant.name = _UNSAFE.sub("_", ",".join(parts).replace('"', ""))
        if variant.name in owners:
            raise ConfigError(
                f"--sweep: variants {owners[variant.name]} and {given} would both write to "
                f"{outputRoot}/{SWEEP_DIR}/{variant.name}"
            )
        owners[variant.name] = given
        variant.configs = {
            label: node.config.toToml() for label, node in variant.pipeline.nodes.items()
        }


def _valueText(config: Any, name: str) -> str:
    from ..config.toml_io import tomlValue

    value: Any = config
    for part in name.split("."):
        value = getattr(value, part)
    return tomlValue(value)


def varyingLabels(pipeline: Pipeline, swept: set[str]) -> list[str]:
    """Swept labels and every label downstream of one, in dependency order."""
    varying: list[str] = []
    written: set[str] = set()
    for label, node in pipeline.nodes.items():
        reads = {c.datasetType for c in node.connections.inputs}
        if label in swept or reads & written:
            varying.append(label)
            written.update(c.datasetType for c in node.connections.outputs)
    return varying


def variantLabel(label: str, variant: str) -> str:
    """The label of ``label``'s copy for one variant in the combined graph."""
    return f"{label}[{variant}]"


def combinedGraph(graph: QuantumGraph, varying: list[str], variants: list[Variant]) -> QuantumGraph:
    """One graph for every variant: shared labels once, then a copy of the varying labels
    per variant (same tables, the variant's config, reading its own upstream copies).
    ``meta["outputs"]`` maps each copy to its output folder (relative to the run's)."""
    tasks = {label: task for label, task in graph.tasks.items() if label not in varying}
    outputs: dict[str, str] = {}
    labels: dict[str, list[str]] = {}
    for variant in variants:
        folder = f"{SWEEP_DIR}/{variant.name}"
        for label in varying:
            task = graph.tasks[label]
            name = variantLabel(label, variant.name)
            edges = {
                key: replace(edge, producer=variantLabel(edge.producer, variant.name))
                if edge.producer in varying
                else edge
                for key, edge in task.edges.items()
            }
            tasks[name] = replace(task, label=name, configText=variant.configs[label], edges=edges)
            outputs[name] = folder
            labels[name] = [label, variant.name]
    meta = dict(graph.meta, outputs=outputs, variants=labels)
    return QuantumGraph(graph.codec, graph.tables, tasks, meta)
