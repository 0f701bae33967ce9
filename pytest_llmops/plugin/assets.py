"""pytest glue for prompts and golden sets: parametrization, ids and the fixtures' values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..errors import GoldenError, PromptError
from .state import RunState


class _LoadFailure:
    """Stands in for the cases of a golden file that failed to load: the test errors at setup, the rest runs."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def parametrize(state: RunState, metafunc: pytest.Metafunc) -> None:
    """One item per golden case (``@pytest.mark.golden``) and per prompt version (``prompt(versions=...)``)."""
    golden = metafunc.definition.get_closest_marker("golden")
    prompt = metafunc.definition.get_closest_marker("prompt")
    if golden is not None:
        parametrize_golden(state, metafunc, golden)
    if prompt is not None and prompt.kwargs.get("versions"):
        parametrize_prompt_versions(state, metafunc, prompt)


def resolve_golden_path(state: RunState, test_path: Path, value: str) -> Path:
    """Relative paths are tried next to the test file first, then under the rootdir."""
    path = Path(value)
    if path.is_absolute():
        return path
    for base in (Path(test_path).parent, state.rootpath):
        candidate = base / path
        if candidate.exists():
            return candidate.resolve()
    raise GoldenError(
        f"golden set {value!r} not found next to {test_path} or under the rootdir {state.config.rootpath}"
    )


def parametrize_golden(state: RunState, metafunc: pytest.Metafunc, mark: pytest.Mark) -> None:
    if "golden_case" not in metafunc.fixturenames:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: @pytest.mark.golden needs the test to take the 'golden_case' argument"
        )
    from ..assets.goldens import load_golden_set

    tags = tuple(mark.kwargs.get("tags") or ()) + tuple(state.option("golden_tags") or ())
    try:
        path = resolve_golden_path(state, metafunc.definition.path, mark.args[0])
        golden_set = load_golden_set(path)
        cases = golden_set.select(tags=list(tags) or None, limit=mark.kwargs.get("limit"))
        state.golden_sets[_rel(state, path)] = {
            "path": _rel(state, path), "hash": golden_set.hash, "cases": len(golden_set.cases),
            "format": golden_set.format,
        }
    except (GoldenError, OSError) as exc:
        metafunc.parametrize("golden_case", [_LoadFailure(exc)], indirect=True, ids=["golden-load-error"])
        return
    if not cases:
        metafunc.parametrize(
            "golden_case",
            [pytest.param(None, marks=pytest.mark.skip(
                reason=f"no golden case of {path.name} matches tags {list(tags)}"))],
            indirect=True, ids=["no-matching-cases"],
        )
        return
    refs = [(golden_set, case) for case in cases]
    metafunc.parametrize("golden_case", refs, indirect=True, ids=[case.id for case in cases])


def golden_case_for(state: RunState, request: pytest.FixtureRequest) -> Any:
    param = getattr(request, "param", None)
    if param is None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: the golden_case fixture needs @pytest.mark.golden('path/to/cases.jsonl')"
        )
    if isinstance(param, _LoadFailure):
        raise param.error
    golden_set, case = param
    from ..record.recorder import current_test

    rec = current_test()
    if rec is not None:
        rec.golden = {
            "path": _rel(state, Path(golden_set.path)),
            "hash": golden_set.hash,
            "case_id": case.id,
            "set_cases": len(golden_set.cases),
            "format": golden_set.format,
        }
        from ..common.feedback import case_feedback

        feedback = case_feedback(case.metadata)
        if feedback is not None:  # a case imported from production: the user's verdict on its answer
            rec.golden["feedback"] = feedback
    request.node.stash[GOLDEN_KEY] = (golden_set, case)
    return case


GOLDEN_KEY = pytest.StashKey[Any]()


def _rel(state: RunState, path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(state.rootpath.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def registry_for(state: RunState, test_path: Path | str) -> Any:
    from ..assets.prompts import PromptRegistry

    configured = state.config.getini("llmops_prompts")
    if configured:
        root = (state.rootpath / configured).resolve()
    else:
        root = None
        rootdir = state.rootpath.resolve()
        here = Path(test_path).resolve().parent
        for directory in (here, *here.parents):
            if (directory / "prompts").is_dir():
                root = directory / "prompts"
                break
            if directory == rootdir:
                break
        if root is None:
            root = rootdir / "prompts"
    registry = state.registries.get(root)
    if registry is None:
        registry = state.registries[root] = PromptRegistry(root)
    return registry


def parametrize_prompt_versions(state: RunState, metafunc: pytest.Metafunc, mark: pytest.Mark) -> None:
    if "prompt" not in metafunc.fixturenames:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: @pytest.mark.prompt(versions=...) needs the test to take 'prompt'"
        )
    name = mark.args[0]
    versions = mark.kwargs["versions"]
    if isinstance(versions, str):
        versions = [versions]
    metafunc.parametrize("prompt", list(versions), indirect=True, ids=[f"{name}@{v}" for v in versions])


def prompt_for(state: RunState, request: pytest.FixtureRequest) -> Any:
    mark = request.node.get_closest_marker("prompt")
    if mark is None or not mark.args:
        raise pytest.UsageError(f"{request.node.nodeid}: the prompt fixture needs @pytest.mark.prompt('name')")
    version = getattr(request, "param", None) or mark.kwargs.get("version")
    registry = registry_for(state, Path(request.node.path))
    selected = registry.get(mark.args[0], version)
    from ..record.recorder import current_test

    rec = current_test()
    if rec is not None:
        rec.add_prompt(selected.name, selected.version, selected.hash)
    return selected


__all__ = ["PromptError", "parametrize_golden", "parametrize_prompt_versions", "golden_case_for", "prompt_for"]
