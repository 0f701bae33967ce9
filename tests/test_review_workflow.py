"""docs/github-workflow.yml: a valid workflow with the steps the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / "docs" / "github-workflow.yml"


def test_workflow_structure() -> None:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key "on" as True
    triggers = data.get("on", data.get(True))
    assert "pull_request" in triggers
    assert data["permissions"]["pull-requests"] == "write"
    job = data["jobs"]["llmops-diff"]
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = "\n".join(s.get("run", "") for s in steps)
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert {c["with"]["ref"] for c in checkouts} == {"${{ github.event.pull_request.base.sha }}",
                                                     "${{ github.event.pull_request.head.sha }}"}
    assert runs.count("--llmops-report=") == 2
    assert "pytest-llmops diff base.json head.json --format markdown" in runs and "> comment.md" in runs
    sticky = [s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@")]
    assert len(sticky) == 1 and sticky[0]["with"]["path"] == "comment.md" and sticky[0]["with"]["header"]
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(upload) == 1 and "report.html" in upload[0]["with"]["path"]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    # the diff's exit code fails the job only after the comment and the artifact are out
    names = [s.get("name", "") for s in steps]
    diff_at = next(i for i, s in enumerate(steps) if s.get("id") == "diff")
    assert diff_at < steps.index(sticky[0]) < steps.index(upload[0]) < names.index("Fail on regressions")
