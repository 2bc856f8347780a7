"""Assemble one self-contained HTML page from a :class:`~.model.RunReport`."""

from __future__ import annotations

import base64
import json
from collections import Counter
from html import escape
from pathlib import Path

from .aggregate import Distribution, groupFailures, sample, summarise
from .model import STATUSES, RunReport, dataIdOrder
from .rerun import rerunCommand
from .svg import STATUS_COLOURS, focalPlaneSvg, graphSvg, histogramSvg, plotSvg

#: Data-ID rows embedded for browsing; failures always come first.
SAMPLE_CAP = 2000
#: Data IDs listed per failure group (the rerun command always covers all of them).
IDS_PER_GROUP = 200

_HERE = Path(__file__).parent


def _asset(name: str) -> str:
    """A file shipped beside this module (the page's CSS or JS)."""
    return (_HERE / name).read_text(encoding="utf-8")


def _dataIdText(dataId: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in dataId.items())


def _seconds(value: float) -> str:
    return f"{value:.3g} s" if value < 100 else f"{value:,.0f} s"


def _bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.3g} {unit}"
        value /= 1024
    return ""


def _distributionCells(dist: Distribution | None, fmt, label: str) -> str:
    if dist is None:
        return f'<td class="none" colspan="4">{escape(label)} not recorded</td>'
    return (
        f'<td class="n">{fmt(dist.p50)}</td><td class="n">{fmt(dist.p95)}</td>'
        f'<td class="n">{fmt(dist.max)}</td><td>{histogramSvg(dist.counts, label)}</td>'
    )


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#9e9e9e")
    return f'<span class="badge" style="background:{colour}">{escape(status)}</span>'


def _summarySection(report: RunReport, summaries) -> str:
    head = "".join(f"<th>{escape(s)}</th>" for s in STATUSES)
    lines = []
    for summary in summaries:
        counts = "".join(f'<td class="n">{summary.counts[s]:,}</td>' for s in STATUSES)
        lines.append(
            f"<tr><td><b>{escape(summary.label)}</b> {_badge(summary.status)}</td>{counts}"
            f"{_distributionCells(summary.wallTime, _seconds, 'wall time')}"
            f"{_distributionCells(summary.peakMemory, _bytes, 'peak memory')}</tr>"
        )
    total = sum(sum(s.counts.values()) for s in summaries)
    byStatus = ", ".join(
        f"{n:,} {status}" for status in STATUSES if (n := sum(s.counts[status] for s in summaries))
    )
    state = "every run finished" if report.complete else "INCOMPLETE: the run did not finish"
    notes = "".join(f"<p>{escape(n)}</p>" for n in report.notes)
    return (
        f'<section id="summary"><h2>Summary</h2><p>{total:,} quanta'
        f"{f' ({escape(byStatus)})' if byStatus else ''}; {escape(state)}.</p>"
        f'{notes}<div class="wide"><table><tr><th>task</th>{head}'
        "<th>wall p50</th><th>p95</th><th>max</th>"
        "<th>histogram</th><th>memory p50</th><th>p95</th><th>max</th><th>histogram</th></tr>"
        + "".join(lines)
        + "</table></div></section>"
    )


def _graphSection(report: RunReport, summaries) -> str:
    labels = report.labels or [s.label for s in summaries]
    status = {s.label: s.status for s in summaries}
    detail = {
        s.label: f"{s.counts['succeeded']:,} ok, {s.counts['failed']:,} failed" for s in summaries
    }
    return (
        '<section id="graph"><h2>Task graph</h2>'
        + graphSvg(labels, report.edges, status, detail)
        + "</section>"
    )


def _failuresSection(report: RunReport) -> str:
    groups = groupFailures(report.quanta)
    if not groups:
        return '<section id="failures"><h2>Failures</h2><p>None.</p></section>'
    plural = "s" if len(groups) > 1 else ""
    parts = [f'<section id="failures"><h2>Failures ({len(groups)} group{plural})</h2>']
    for group in groups:
        ids = [_dataIdText(r.dataId) for r in group.rows]
        shown = ", ".join(escape(i) for i in ids[:IDS_PER_GROUP])
        more = f" and {len(ids) - IDS_PER_GROUP:,} more" if len(ids) > IDS_PER_GROUP else ""
        trace = next((r.traceback for r in group.rows if r.traceback), "")
        traceHtml = (
            f"<details><summary>traceback</summary><pre>{escape(trace)}</pre></details>"
            if trace
            else ""
        )
        command = ""
        base = group.rows[0].rerunBase or report.rerunBase  # the command of its own run
        if base:
            text = rerunCommand(base, [r.dataId for r in group.rows])
            command = (
                '<div class="cmd"><pre class="rerun">'
                f'{escape(text)}</pre><button class="copy">copy</button></div>'
            )
        count = f"{len(ids):,} data ID{'s' if len(ids) > 1 else ''}"
        parts.append(
            f"<h3>{escape(group.label)}: {escape(group.errorType or 'failed')} ({count})</h3>"
            f"{_message(group.message)}<p>{shown}{more}</p>{traceHtml}{command}"
        )
    parts.append("</section>")
    return "".join(parts)


#: A failure message longer than this shows its start, the whole of it one click away.
MESSAGE_CHARS = 240


def _message(message: str) -> str:
    if len(message) <= MESSAGE_CHARS:
        return f'<p class="msg">{escape(message)}</p>'
    return (
        f'<details class="msg"><summary>{escape(message[:MESSAGE_CHARS])}…</summary>'
        f"<pre>{escape(message)}</pre></details>"
    )


def _figuresSection(report: RunReport) -> str:
    plots = [plotSvg(p.title, p.xLabel, p.yLabel, p.series) for p in report.plots]
    figures = [
        f'<figure><img alt="{escape(f.caption)}" src="data:image/png;base64,'
        f'{base64.b64encode(f.png).decode("ascii")}"><figcaption>{escape(f.caption)}'
        "</figcaption></figure>"
        for f in report.figures
    ]
    if not (plots or figures):
        return ""
    sample = (
        f"<p>{len(figures)} image{'s' if len(figures) != 1 else ''} of data IDs that "
        "succeeded, spread over the run.</p>"
        if figures
        else ""
    )
    return (
        '<section id="images"><h2>Images and plots</h2>'
        f'{sample}<div class="figs">{"".join(figures)}</div>'
        f'<div class="plots">{"".join(p for p in plots if p)}</div></section>'
    )


def _visitSection(report: RunReport) -> str:
    """Per-visit focal planes (or per-detector charts) of source counts, PSF, background."""
    groups: dict[str, list[str]] = {}
    for plane in report.focalPlanes:
        svg = focalPlaneSvg(plane.title, plane.boxes, plane.values, plane.unit)
        if svg:
            groups.setdefault(plane.group, []).append(svg)
    charts = [plotSvg(p.title, p.xLabel, p.yLabel, p.series) for p in report.charts]
    charts = [svg for svg in charts if svg]
    if not (groups or charts):
        return ""
    what = (
        "each CCD where it sits in the camera's focal plane, shaded from its visit's lowest "
        "value (dark) to its highest (light)"
        if groups
        else "per detector (the camera gives no focal-plane layout)"
    )
    body = "".join(
        f'<h3>{escape(group)}</h3><div class="plots">{"".join(svgs)}</div>'
        for group, svgs in groups.items()
    )
    if charts:
        body += f'<div class="plots">{"".join(charts)}</div>'
    return (
        f'<section id="visits"><h2>Per-visit plots</h2><p>Source counts, PSF width and '
        f"background of the first visits: {what}.</p>{body}</section>"
    )


def _configSection(report: RunReport) -> str:
    parts = ['<section id="config"><h2>Config and packages</h2>']
    for config in report.configs:
        diffs = (
            "<ul>"
            + "".join(f'<li class="diff"><code>{escape(d)}</code></li>' for d in config.differences)
            + "</ul>"
            if config.differences
            else "<p>All defaults.</p>"
        )
        parts.append(
            f"<h3>{escape(config.label)} ({escape(config.taskName)})</h3>"
            "<p>Differences from the defaults (<code>field: default != this run's</code>):</p>"
            f"{diffs}"
            f"<details><summary>full config</summary><pre>{escape(config.toml)}</pre></details>"
        )
    if report.packages:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
            for k, v in sorted(report.packages.items())
        )
        parts.append(
            f"<details><summary>package versions ({len(report.packages)})</summary>"
            f"<table>{rows}</table></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def _browserSection(report: RunReport) -> str:
    labels = {label: i for i, label in enumerate(report.labels)}

    def order(r):  # what did not succeed first, then by task and data ID
        return (r.status == "succeeded", labels.get(r.label, len(labels)), dataIdOrder(r.dataId))

    rows = [
        {
            "label": r.label,
            "id": _dataIdText(r.dataId),
            "status": r.status,
            "wall": None if r.wallTime is None else round(r.wallTime, 4),
            "error": r.error.splitlines()[0] if r.error else "",
            "hash": r.configHash,
            "inputs": r.inputs,
            "outputs": r.outputs,
        }
        for r in sorted(sample(report.quanta, SAMPLE_CAP), key=order)
    ]
    data = json.dumps(rows, separators=(",", ":")).replace("</", "<\\/")
    capped = len(rows) < len(report.quanta)
    note = (
        f" (a sample of {len(rows):,} of {len(report.quanta):,}: every quantum that did not "
        "succeed, and an even sample of the rest)"
        if capped
        else ""
    )
    return (
        f'<section id="dataids"><h2>Data IDs{escape(note)}</h2>'
        '<input type="search" id="filter" placeholder="filter: label, key=value, status">'
        '<table id="ids"><thead><tr><th>task</th><th>data ID</th><th>status</th>'
        '<th>wall (s)</th></tr></thead><tbody></tbody></table><div id="detail"></div>'
        f'<script type="application/json" id="quanta">{data}</script></section>'
    )


def renderHtml(report: RunReport) -> str:
    """The whole page as one string."""
    summaries = summarise(report.quanta, report.labels)
    tasks = Counter(run.split("/")[0] for run in report.runs)
    runs = (
        f"{len(report.runs)} run{'s' if len(report.runs) > 1 else ''}: "
        + ", ".join(f"{t} ({n})" if n > 1 else t for t, n in tasks.items())
        if report.runs
        else "no runs recorded"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{_asset('page.css')}</style></head><body>"
        f"<header><h1>{escape(report.title)}</h1><p>{escape(report.repository)} &middot; "
        f'<span title="{escape(chr(10).join(report.runs))}">{escape(runs)}</span></p>'
        "</header><main>"
        + _summarySection(report, summaries)
        + _graphSection(report, summaries)
        + _failuresSection(report)
        + _figuresSection(report)
        + _visitSection(report)
        + _browserSection(report)
        + _configSection(report)
        + f"</main><script>{_asset('page.js')}</script></body></html>"
    )
