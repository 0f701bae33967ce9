"""Supply chain: litellm 1.82.7, 1.82.8 and every 1.107.x release were compromised on PyPI.

The installed litellm must not be one of them, the project's declared requirement must refuse exactly those
versions (and admit the installed one), and the CI constraints file must pin an allowed version.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
ROOT = Path(__file__).resolve().parent.parent
COMPROMISED = ("1.82.7", "1.82.8", "1.107.0", "1.107.1", "1.107.2", "1.107.5", "1.107.10", "1.107.0.post1")
# neighbours of the compromised releases that are fine: the specifier must not refuse them by accident
NEIGHBOURS = ("1.82.6", "1.82.9", "1.106.9", "1.108.0", "1.110.2")


def is_compromised(version: str) -> bool:
    v = Version(version)
    return v.release[:3] in ((1, 82, 7), (1, 82, 8)) or v.release[:2] == (1, 107)


def declared_litellm_specifier() -> SpecifierSet:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = [Requirement(r) for r in data["project"]["dependencies"] if Requirement(r).name == "litellm"]
    assert len(found) == 1, f"pyproject.toml should declare litellm exactly once, found {found}"
    return found[0].specifier


def test_the_compromised_predicate_itself():
    assert all(is_compromised(v) for v in COMPROMISED)
    assert not any(is_compromised(v) for v in NEIGHBOURS)


def test_installed_litellm_is_not_a_compromised_release():
    installed = importlib.metadata.version("litellm")
    assert not is_compromised(installed), f"litellm {installed} is a compromised release; reinstall another one"


def test_declared_requirement_refuses_the_compromised_releases():
    spec = declared_litellm_specifier()
    admitted = [v for v in COMPROMISED if spec.contains(v, prereleases=True)]
    assert not admitted, f"pyproject.toml's litellm requirement {spec} admits compromised {admitted}"


def test_declared_requirement_admits_the_installed_version_and_fine_neighbours():
    spec = declared_litellm_specifier()
    installed = importlib.metadata.version("litellm")
    assert spec.contains(installed), f"installed litellm {installed} is outside the declared {spec}"
    # only refuse what must be refused: fine neighbours inside the declared range stay admitted
    range_only = SpecifierSet(",".join(str(s) for s in spec if s.operator in (">=", ">", "<", "<=")))
    refused = [v for v in NEIGHBOURS if range_only.contains(v) and not spec.contains(v)]
    assert not refused, f"{spec} refuses the fine release(s) {refused}"


def _constraints_file() -> Path:
    path = ROOT / "requirements" / "ci-constraints.txt"
    if not path.is_file():
        pytest.skip("requirements/ci-constraints.txt is not written yet")
    return path


def test_ci_constraints_pin_an_allowed_litellm():
    path = _constraints_file()
    pins = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        req = Requirement(text)
        if req.name.lower() == "litellm":
            pins.append((number, req))
    assert len(pins) == 1, f"{path}: expected exactly one litellm line, found {[str(r) for _, r in pins]}"
    number, req = pins[0]
    exact = [s for s in req.specifier if s.operator == "=="]
    assert exact and not re.search(r"[*]", exact[0].version), f"{path}:{number}: litellm is not pinned (==X.Y.Z): {req}"
    pinned = exact[0].version
    assert not is_compromised(pinned), f"{path}:{number}: pins compromised litellm {pinned}"
    assert declared_litellm_specifier().contains(pinned), f"{path}:{number}: pin {pinned} is outside pyproject's range"
