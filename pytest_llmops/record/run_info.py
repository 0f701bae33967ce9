"""Run metadata: versions, git state, CI provider, and command-line args with secrets removed."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..common.secrets import REDACTED, SECRET_ARG, scrub_text, secret_env_values


def scrub_args(args: list[str]) -> list[str]:
    """Drop the values of secret-looking options and any known secret value."""
    secrets = secret_env_values()
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-") and SECRET_ARG.search(arg.split("=", 1)[0]):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=" + REDACTED)
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(scrub_text(arg, secrets))
    return out


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(cwd: Path) -> dict[str, Any] | None:
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": commit, "branch": branch, "dirty": None if status is None else bool(status)}


_CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github-actions", "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_REF"),
    ("GITLAB_CI", "gitlab", "CI_JOB_NAME", "CI_PIPELINE_ID", "CI_COMMIT_REF_NAME"),
    ("CIRCLECI", "circleci", "CIRCLE_JOB", "CIRCLE_BUILD_NUM", "CIRCLE_BRANCH"),
    ("BUILDKITE", "buildkite", "BUILDKITE_PIPELINE_SLUG", "BUILDKITE_BUILD_NUMBER", "BUILDKITE_BRANCH"),
    ("TF_BUILD", "azure-pipelines", "BUILD_DEFINITIONNAME", "BUILD_BUILDID", "BUILD_SOURCEBRANCH"),
    ("JENKINS_URL", "jenkins", "JOB_NAME", "BUILD_NUMBER", "GIT_BRANCH"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket", "BITBUCKET_REPO_SLUG", "BITBUCKET_BUILD_NUMBER", "BITBUCKET_BRANCH"),
    ("TRAVIS", "travis", "TRAVIS_JOB_NAME", "TRAVIS_BUILD_ID", "TRAVIS_BRANCH"),
)


def ci_info(environ: dict[str, str] | None = None) -> dict[str, Any] | None:
    env = os.environ if environ is None else environ
    for marker, provider, name, run_id, ref in _CI_PROVIDERS:
        if env.get(marker):
            return {"provider": provider, "name": env.get(name), "run_id": env.get(run_id), "ref": env.get(ref)}
    if env.get("CI", "").lower() in ("1", "true", "yes"):
        return {"provider": "generic", "name": None, "run_id": None, "ref": None}
    return None


def run_info(
    *, plugin_version: str, pytest_version: str, started_at: str, rootdir: Path, args: list[str]
) -> dict[str, Any]:
    return {
        "plugin_version": plugin_version,
        "pytest_version": pytest_version,
        "python_version": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "started_at": started_at,
        "rootdir": str(rootdir),
        "args": scrub_args(list(args)),
        "git": git_info(rootdir),
        "ci": ci_info(),
    }
