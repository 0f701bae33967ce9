"""The HTML report: self-contained, and rendered by a real headless Chromium without console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_llmops.review.diff import diff_records
from pytest_llmops.review.html import render_html
from pytest_llmops.review.load import load_review_record

DATA = Path(__file__).parent / "data" / "review"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base, head = load_review_record(DATA / "base.json"), load_review_record(DATA / "head.json")
    result = diff_records(base, head, base_label="base.json", head_label="head.json")
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(base, head, result), encoding="utf-8")
    return path


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html), "no external scripts"
    assert "<link" not in html and not re.search(r"<(img|iframe)[^>]+src=.https?:", html)
    assert html.count("plotly.js v") >= 1  # the library itself is inlined once
    for div in ("fig-pass-rates", "fig-cost", "fig-latency", "fig-metrics"):
        assert f'id="{div}"' in html
    # escaped: the output text with markup from the record is shown, not interpreted
    assert "Hello | how can I &lt;help&gt;?" in html
    assert render_html(load_review_record(DATA / "base.json"), load_review_record(DATA / "head.json"),
                       diff_records(load_review_record(DATA / "base.json"), load_review_record(DATA / "head.json"),
                                    base_label="base.json", head_label="head.json")) == html


def _chromium(url: str, user_data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={user_data}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *extra, url],
        capture_output=True, text=True, timeout=120, check=False,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line]


@needs_chromium
def test_console_error_detection_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>throw new Error('boom')</script></body></html>")
    run = _chromium(page.as_uri(), tmp_path / "profile", "--dump-dom")
    assert _console_errors(run.stderr), run.stderr[-2000:]


@needs_chromium
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    run = _chromium(report.as_uri(), tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console_errors(run.stderr) == [], run.stderr[-2000:]
    dom = run.stdout
    # plotly drew its charts (the SVG exists only after the inlined JS ran)
    assert dom.count('class="main-svg"') >= 4
    # the numbers a reviewer reads
    assert "93.3% [70.2%, 98.8%] (14/15)" in dom and "50.0% [26.8%, 73.2%] (7/14)" in dom
    assert "❌ 8 regressions" in dom  # issue 13: golden cases are evidence of their group
    assert "exact McNemar p = 0.0312" in dom
    # the drill-down of a golden case: judge reasoning, retrieved ids, prompt messages, output
    assert "invents a policy" in dom and "kb-99" in dom and "question 0" in dom and "answer 0" in dom
    shot = tmp_path / "report.png"
    run = _chromium(report.as_uri(), tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1280,2400")
    assert run.returncode == 0 and shot.stat().st_size > 10_000
