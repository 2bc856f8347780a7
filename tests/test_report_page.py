"""The HTML report page, built through the public renderer and opened in a real browser."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from _browser import consoleErrors, pageRequests, visit
from PIL import Image
from pipetask.report.aggregate import groupFailures, percentile, sample
from pipetask.report.model import Figure, FocalPlane, Plot, QuantumRow, RunReport, TaskConfig
from pipetask.report.page import renderHtml
from pipetask.report.rerun import compressValues, idOptions
from pipetask_image.display import encodePng

LABELS = ["isr", "characterize", "calibrate"]


def makeReport(n: int, figure: bool = True) -> RunReport:
    rng = np.random.default_rng(3)
    quanta = []
    for i in range(n):
        label = LABELS[i % 3]
        status, error, kind, trace = "succeeded", "", "", ""
        if i % 97 == 5:
            status, kind = "failed", "ValueError"
            error, trace = "ValueError: too few stars", "Traceback\n  File t.py\nValueError"
        elif i % 89 == 7:
            status = "blocked"
        quanta.append(
            QuantumRow(
                label,
                {"visit": i // 3, "ccd": i % 3},
                status,
                float(rng.lognormal(0, 0.3)),
                float(rng.normal(4e8, 4e7)),
                error,
                kind,
                trace,
                [("raw", f"raw/v{i}.fits")],
                [("calexp", f"calexp/v{i}.fits")],
                "c0ffee",
            )
        )
    pixels = np.add.outer(np.arange(64), np.arange(96)).astype(np.uint8) * 2
    return RunReport(
        "pipetask report: out",
        "out",
        ["20261202T010000Z-42"],
        False,
        quanta,
        [("isr", "characterize"), ("characterize", "calibrate")],
        LABELS,
        [TaskConfig("isr", "isrTask", "doBias = false\n", ["doBias: true != false"])],
        {"numpy": "2.1", "pipetask": "0.1"},
        [Figure("calexp visit=1", encodePng(pixels))] if figure else [],
        [Plot("clipped mean", "numSigmaClip", "mean", {"visit=1": [(3, 1.0), (5, 1.2)]})],
        [FocalPlane("sources", {"0": (0, 0, 1, 1), "1": (1, 0, 2, 1)}, {"0": 5, "1": 7})],
        ["pipetask", "run", "-p", "proc.toml", "repo", "--output", "out"],
    )


def test_percentiles_and_sample_keep_every_failure():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    report = makeReport(3000)
    rows = sample(report.quanta, 100)
    notOk = [r for r in report.quanta if r.status != "succeeded"]
    assert len(rows) == 100 and rows[: len(notOk)] == notOk
    groups = groupFailures(report.quanta)
    assert sum(len(g.rows) for g in groups) == sum(r.status == "failed" for r in report.quanta)
    assert {g.message for g in groups} == {"too few stars"}


def test_summary_counts_each_outcome_and_says_the_images_are_a_sample():
    report = makeReport(300)
    html = renderHtml(report)
    counts = {s: sum(q.status == s for q in report.quanta) for s in ("succeeded", "failed")}
    blocked = sum(q.status == "blocked" for q in report.quanta)
    assert counts["failed"] and blocked  # the fixture has both
    assert (
        f"300 quanta ({counts['succeeded']} succeeded, {counts['failed']} failed, "
        f"{blocked} blocked); INCOMPLETE" in html
    )
    assert "1 image of data IDs that succeeded, spread over the run." in html
    assert "spread over the run" not in renderHtml(makeReport(300, figure=False))


def test_rerun_ids_select_exactly_the_failed_ones():
    assert compressValues([5, 1, 2, 3, 9, 10]) == "1..3^5^9^10"
    ids = [{"visit": 1, "ccd": 2}, {"visit": 1, "ccd": 3}, {"visit": 4, "ccd": 0}]
    assert idOptions(ids) == ["--id", "visit=1", "ccd=2^3", "--id", "visit=4", "ccd=0"]


def test_page_is_self_contained_and_small_at_scale(tmp_path):
    report = makeReport(100_000, figure=False)
    start = time.perf_counter()
    html = renderHtml(report)
    elapsed = time.perf_counter() - start
    assert len(html.encode()) < 5_000_000
    assert not re.search(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html), "network URL"
    assert elapsed < 30  # a sanity bound only; benchmarks/report.py measures the time
    assert "INCOMPLETE" in html and "100,000 quanta" in html


def test_page_renders_in_a_browser_without_errors_or_requests(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(renderHtml(makeReport(600)), encoding="utf-8")
    seen = visit(page, tmp_path)
    assert pageRequests(seen.requests) == []
    assert consoleErrors(seen.log) == []
    # the script ran: it filled the data-ID table from the embedded JSON
    assert re.search(r'<tbody><tr data-i="\d+"><td>', seen.dom)
    shot = np.asarray(Image.open(seen.screenshot).convert("RGB")).astype(int)

    def count(rgb):
        return int((np.abs(shot - np.array(rgb)).sum(axis=2) < 6).sum())

    assert count((0xC6, 0x28, 0x28)) > 2000  # failed task boxes of the graph and badges
    assert count((0x15, 0x65, 0xC0)) > 100  # histogram bars
    # the thumbnail: a gray gradient, many distinct gray levels with R == G == B
    gray = shot[(shot[..., 0] == shot[..., 1]) & (shot[..., 1] == shot[..., 2])][:, 0]
    assert len(np.unique(gray)) > 60


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_runs_render(n):
    html = renderHtml(makeReport(n, figure=False))
    assert "<svg" in html and "</html>" in html
