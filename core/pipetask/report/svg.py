"""Small inline SVG drawings: histograms, the task graph, x-y plots, focal planes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

#: Fill colours by status, shared with the page's CSS.
STATUS_COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "incomplete": "#ef6c00",
    "blocked": "#ef6c00",
    "skipped": "#757575",
    "not run": "#9e9e9e",
}
SERIES_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(label)}">'
        f"{body}</svg>"
    )


def histogramSvg(counts: Sequence[int], label: str, width: int = 120, height: int = 28) -> str:
    """A bar sparkline of histogram counts."""
    if not counts:
        return ""
    top = max(counts) or 1
    barWidth = width / len(counts)
    bars = "".join(
        f'<rect x="{i * barWidth:.1f}" y="{height - height * c / top:.1f}" '
        f'width="{max(barWidth - 1, 1):.1f}" height="{height * c / top:.1f}" fill="#1565c0"/>'
        for i, c in enumerate(counts)
        if c
    )
    return _svg(width, height, f"<title>{escape(label)}</title>{bars}", label)


def _depths(labels: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path depth of each label from the graph's sources."""
    depth = {label: 0 for label in labels}
    for _ in labels:  # at most len(labels) relaxations in a DAG
        changed = False
        for up, down in edges:
            if depth.get(down, 0) < depth.get(up, 0) + 1:
                depth[down] = depth.get(up, 0) + 1
                changed = True
        if not changed:
            break
    return depth


def graphSvg(
    labels: Sequence[str],
    edges: Sequence[tuple[str, str]],
    status: Mapping[str, str],
    detail: Mapping[str, str],
) -> str:
    """The task graph: one box per label, coloured by status, in columns by depth."""
    depth = _depths(labels, edges)
    columns: dict[int, list[str]] = {}
    for label in labels:
        columns.setdefault(depth[label], []).append(label)
    boxW, boxH, gapX, gapY, pad = 170, 46, 60, 18, 10
    rows = max((len(c) for c in columns.values()), default=1)
    width = pad * 2 + len(columns) * boxW + (len(columns) - 1) * gapX
    height = pad * 2 + rows * boxH + (rows - 1) * gapY
    where: dict[str, tuple[float, float]] = {}
    parts = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>'
    ]
    for col, members in sorted(columns.items()):
        offset = (rows - len(members)) * (boxH + gapY) / 2
        for row, label in enumerate(members):
            where[label] = (pad + col * (boxW + gapX), pad + offset + row * (boxH + gapY))
    for up, down in edges:
        if up in where and down in where:
            (x0, y0), (x1, y1) = where[up], where[down]
            parts.append(
                f'<line x1="{x0 + boxW:.0f}" y1="{y0 + boxH / 2:.0f}" x2="{x1:.0f}" '
                f'y2="{y1 + boxH / 2:.0f}" stroke="#555" marker-end="url(#arrow)"/>'
            )
    for label, (x, y) in where.items():
        colour = STATUS_COLOURS.get(status.get(label, ""), "#9e9e9e")
        parts.append(
            f'<g class="node"><title>{escape(label)}: {escape(detail.get(label, ""))}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{boxW}" height="{boxH}" rx="6" '
            f'fill="{colour}"/>'
            f'<text x="{x + boxW / 2:.0f}" y="{y + 19:.0f}" text-anchor="middle" '
            f'fill="#fff" font-weight="bold" font-size="12">{escape(_short(label, 24))}</text>'
            f'<text x="{x + boxW / 2:.0f}" y="{y + 36:.0f}" text-anchor="middle" '
            f'fill="#fff" font-size="11">{escape(detail.get(label, "")[:28])}</text></g>'
        )
    return _svg(width, height, "".join(parts), "task graph")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ticks(low: float, high: float) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / 4))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= 5:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def plotSvg(
    title: str,
    xLabel: str,
    yLabel: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    width: int = 420,
    height: int = 260,
) -> str:
    """Points (joined by lines when a series has several x values) with axes and a legend."""
    points = [p for values in series.values() for p in values if all(map(math.isfinite, p))]
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - abs(y0) * 0.1 - 1, y1 + abs(y1) * 0.1 + 1
    left, right, top, bottom = 58, 12, 26, 40

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    parts = [
        f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" font-weight="bold">'
        f"{escape(title)}</text>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        'stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
        f'<text x="{width / 2:.0f}" y="{height - 6}" text-anchor="middle">{escape(xLabel)}</text>',
        f'<text x="14" y="{height / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {height / 2:.0f})">{escape(yLabel)}</text>',
    ]
    for x in _ticks(x0, x1):
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'font-size="10">{_fmt(x)}</text>'
        )
    for y in _ticks(y0, y1):
        parts.append(
            f'<text x="{left - 4}" y="{py(y) + 3:.1f}" text-anchor="end" font-size="10">'
            f"{_fmt(y)}</text>"
        )
    for index, (name, values) in enumerate(series.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        good = sorted(p for p in values if all(map(math.isfinite, p)))
        if len({p[0] for p in good}) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}"/>')
        parts += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}">'
            f"<title>{escape(name)}: {_fmt(x)}, {_fmt(y)}</title></circle>"
            for x, y in good
        ]
        if len(series) > 1:
            parts.append(
                f'<text x="{width - right - 4}" y="{top + 12 * (index + 1)}" text-anchor="end" '
                f'font-size="10" fill="{colour}">{escape(name)}</text>'
            )
    return _svg(width, height, "".join(parts), title)


#: A perceptually even dark-to-light ramp (viridis' stops) for values in a focal plane.
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def rampColour(t: float) -> tuple[str, str]:
    """``(fill, text colour)`` for ``t`` in [0, 1] on :data:`RAMP`."""
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(RAMP[i], RAMP[i + 1], strict=True))
    light = 0.299 * r + 0.587 * g + 0.114 * b > 140
    return f"rgb({r},{g},{b})", "#111" if light else "#fff"


def distinctDigits(low: float, high: float) -> int:
    """Significant digits (3 to 7) that tell ``low`` and ``high`` apart when printed."""
    for digits in range(3, 8):
        if f"{low:.{digits}g}" != f"{high:.{digits}g}":
            return digits
    return 3 if low == high else 7


def focalPlaneSvg(
    title: str,
    boxes: Mapping[str, tuple[float, float, float, float]],
    values: Mapping[str, float],
    unit: str = "",
    size: int = 300,
) -> str:
    """Detectors drawn where they sit in the focal plane (named, value printed), shaded
    from the lowest value (dark) to the highest (light), with the scale below."""
    if not boxes:
        return ""
    xs = [v for b in boxes.values() for v in (b[0], b[2])]
    ys = [v for b in boxes.values() for v in (b[1], b[3])]
    spanX, spanY = (max(xs) - min(xs)) or 1, (max(ys) - min(ys)) or 1
    scale = (size - 20) / max(spanX, spanY)
    known = [v for v in values.values() if math.isfinite(v)]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    digits = distinctDigits(low, high)
    lowText, highText = f"{low:.{digits}g}", f"{high:.{digits}g}"
    parts = []
    for name, (bx0, by0, bx1, by1) in boxes.items():
        value = values.get(name)
        x = 10 + (bx0 - min(xs)) * scale
        y = 28 + (max(ys) - by1) * scale
        w, h = (bx1 - bx0) * scale, (by1 - by0) * scale
        if value is None or not math.isfinite(value):
            fill, ink, text, exact = "#eeeeee", "#777", "no data", "no data"
        else:
            fill, ink = rampColour(0.5 if high == low else (value - low) / (high - low))
            text, exact = f"{value:.{digits}g}", f"{value:.7g} {unit}"
        parts.append(
            f"<g><title>{escape(name)}: {escape(exact.strip())}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
            f'stroke="#fff" stroke-width="1.5"/>'
            f'<text x="{x + 3:.1f}" y="{y + 11:.1f}" font-size="9" fill="{ink}">'
            f"{escape(name)}</text>"
            f'<text x="{x + w / 2:.1f}" y="{y + h / 2 + 5:.1f}" text-anchor="middle" '
            f'font-size="{11 if len(text) < 8 else 9}" fill="{ink}">{escape(text)}</text></g>'
        )
    top = 28 + spanY * scale + 10
    steps = 40
    barW = (size - 140) / steps
    bar = "".join(
        f'<rect x="{70 + i * barW:.1f}" y="{top:.1f}" width="{barW + 0.5:.1f}" height="10" '
        f'fill="{rampColour(i / (steps - 1))[0]}"/>'
        for i in range(steps)
    )
    legend = (
        (
            f'{bar}<text x="64" y="{top + 9:.1f}" text-anchor="end" font-size="10">'
            f'{escape(lowText)}</text><text x="{size - 64}" y="{top + 9:.1f}" font-size="10">'
            f"{escape(highText)}</text>"
        )
        if known and high > low
        else ""
    )
    header = (
        f'<text x="{size / 2:.0f}" y="16" text-anchor="middle" font-weight="bold">'
        f"{escape(title)}{' (' + escape(unit) + ')' if unit else ''}</text>"
    )
    return _svg(size, top + 16, header + "".join(parts) + legend, title)
