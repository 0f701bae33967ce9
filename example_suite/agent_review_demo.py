"""The agent's "PR review" in one command: run the trajectory tests on agent prompt v1 (base) and v2 (head),
print the markdown diff a reviewer would read (tool-call recall and first-tool choice drop), and write the
HTML report.

    python example_suite/agent_review_demo.py [--out agent-review-demo] [--record]

Offline by default: both runs replay committed recordings (v2's live in ``recordings-v2/``).  ``--record``
re-records both against the local SmolLM2 server (started by the suite's fixtures if nothing serves :8765).
The head run is expected to fail the aggregate gates: that is the regression the diff shows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_suite(version: str, report: Path, record: bool) -> int:
    args = [sys.executable, "-m", "pytest", str(HERE / "test_agent.py"), "-k", "test_agent_trajectory", "-q",
            "-p", "no:cacheprovider", f"--llmops-report={report}",
            f"--llmops-record-mode={'all' if record else 'none'}"]
    if version != "v1":
        args.append(f"--llmops-recordings-dir={(HERE / f'recordings-{version}').relative_to(ROOT)}")
    print(f"$ LUMEN_AGENT_PROMPT_VERSION={version} pytest example_suite/test_agent.py -k test_agent_trajectory",
          flush=True)
    env = {**os.environ, "LUMEN_AGENT_PROMPT_VERSION": version}
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    tail = [line for line in done.stdout.splitlines() if line.strip()][-1:]
    print(f"  exit {done.returncode}: {tail[0] if tail else ''}", flush=True)
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="agent-review-demo", help="output directory (default: ./agent-review-demo)")
    parser.add_argument("--record", action="store_true", help="re-record both versions live first")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    base, head = out / "base.json", out / "head.json"
    run_suite("v1", base, args.record)
    run_suite("v2", head, args.record)
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


if __name__ == "__main__":
    raise SystemExit(main())
