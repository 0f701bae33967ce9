"""The example's one-command PR review: v1 vs v2 shows a real regression and a real improvement."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_review_demo(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "example_suite" / "review_demo.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**__import__("os").environ, "SUPPORT_BOT_API_BASE": "http://127.0.0.1:9/v1"})
    assert done.returncode == 0, done.stderr[-2000:]
    comment = (tmp_path / "comment.md").read_text(encoding="utf-8")
    assert "### ❌ Regressions" in comment and "cites_article" in comment.replace("\\_", "_")
    assert "### ✅ Improvements" in comment and "tokens down" in comment
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", html)  # self-contained: nothing fetched


def test_html_cli_forms(tmp_path: Path) -> None:
    data = ROOT / "tests" / "data" / "review"
    base, head = str(data / "base.json"), str(data / "head.json")
    cli = [sys.executable, "-m", "pytest_llmops.cli", "html"]
    for args in ([head, "--baseline", base], [base, head], [head]):
        out = tmp_path / "r.html"
        done = subprocess.run([*cli, *args, "-o", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 10_000
    bad = subprocess.run([*cli, base, head, "--baseline", base, "-o", str(tmp_path / "x.html")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "HEAD --baseline BASE" in bad.stderr
