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
sys.path.insert(0, str(HERE))  # the review demo's runner: python example_suite/agent_review_demo.py
from review_demo import review_pair  # noqa: E402


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
    return review_pair(run_suite, args.out, args.record)


if __name__ == "__main__":
    raise SystemExit(main())
