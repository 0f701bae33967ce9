"""The "PR review" experience in one command: run the answer tests on prompt v1 (base) and v2 (head),
print the markdown diff a reviewer would read, and write the HTML report.

    python example_suite/review_demo.py [--out review-demo] [--record]

Offline by default: both runs replay committed recordings (v2's live in ``recordings-v2/``).  ``--record``
re-records both against the local SmolLM2 server (started by the suite's fixtures if nothing serves :8765).
The head run is expected to fail some tests: that is the regression the diff shows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_suite(version: str, report: Path, record: bool) -> int:
    args = [sys.executable, "-m", "pytest", str(HERE / "test_answers.py"), "-q", "-p", "no:cacheprovider",
            f"--support-prompt-version={version}", f"--llmops-report={report}",
            f"--llmops-record-mode={'all' if record else 'none'}"]
    if version != "v1":
        args.append(f"--llmops-recordings-dir={(HERE / f'recordings-{version}').relative_to(ROOT)}")
    print(f"$ pytest example_suite/test_answers.py --support-prompt-version={version} ...", flush=True)
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    tail = [line for line in done.stdout.splitlines() if line.strip()][-1:]
    print(f"  exit {done.returncode}: {tail[0] if tail else ''}", flush=True)
    return done.returncode


def review_pair(run: Callable[[str, Path, bool], int], out_dir: str, record: bool) -> int:
    """Run base (v1) and head (v2) with ``run``, print the markdown diff and write it and the HTML report."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    base, head = out / "base.json", out / "head.json"
    run("v1", base, record)
    run("v2", head, record)
    cli = [sys.executable, "-m", "pytest_llmops.cli"]
    markdown = subprocess.run([*cli, "diff", str(base), str(head), "--format", "markdown"],
                              capture_output=True, text=True)
    (out / "comment.md").write_text(markdown.stdout, encoding="utf-8")
    print("\n" + markdown.stdout)
    if markdown.returncode not in (0, 1):
        print(markdown.stderr, file=sys.stderr)
        return markdown.returncode
    html = subprocess.run([*cli, "html", str(head), "--baseline", str(base), "-o", str(out / "report.html")],
                          capture_output=True, text=True)
    if html.returncode != 0:
        print(html.stderr, file=sys.stderr)
        return html.returncode
    print(f"markdown: {out / 'comment.md'}\nHTML report: {out / 'report.html'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="review-demo", help="output directory (default: ./review-demo)")
    parser.add_argument("--record", action="store_true", help="re-record both versions live first")
    args = parser.parse_args()
    return review_pair(run_suite, args.out, args.record)


if __name__ == "__main__":
    raise SystemExit(main())
