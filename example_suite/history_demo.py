"""A history made from real runs of this suite: fifteen "nights" of the answer tests, then the history report.

    python example_suite/history_demo.py [--runs-dir example_suite/history] [-o history.html] [--rerun]

The committed records in ``history/`` are fifteen runs of ``test_answers.py`` (replayed from the committed
recordings, so they reproduce exactly): nights 1-5 on prompt v1, nights 6-10 after prompt v2 was "merged",
nights 11-15 after it was rolled back.  Without ``--rerun`` the report is made from those records; with it the
runs are made again first (offline, about 10 s each).  The report finds the v2 nights as changes (the golden
set's metrics, tokens and latency step at night 6 and back at night 11; a change point needs at least three runs
on each side and a step well above the series' run-to-run noise) and no flaky test: replayed answers do not flip by chance.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from review_demo import HERE, run_suite

NIGHTS = ("v1",) * 5 + ("v2",) * 5 + ("v1",) * 5


def record_nights(runs_dir: Path) -> None:
    runs_dir.mkdir(parents=True, exist_ok=True)
    for night, version in enumerate(NIGHTS, start=1):
        run_suite(version, runs_dir / f"night-{night}.json", record=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default=str(HERE / "history"), help="where the nightly records are")
    parser.add_argument("-o", "--output", default="history.html", help="the HTML report")
    parser.add_argument("--rerun", action="store_true", help="make the fifteen runs again first")
    args = parser.parse_args()
    runs_dir = Path(args.runs_dir)
    if args.rerun:
        record_nights(runs_dir)
    cli = [sys.executable, "-m", "pytest_llmops.cli", "history", str(runs_dir)]
    done = subprocess.run([*cli, "-o", args.output], capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
