"""pytest glue for the model-call layer: settings from options, cassette paths, the llm and judge fixtures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .session import LlmopsSession

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@=,+\-\[\]]+")


def build_engine(state: "LlmopsSession") -> Any:
    from .calls.engine import CallEngine, CallSettings
    from .calls.ledger import RunLedger
    from .calls.retry import RetryPolicy

    params: dict[str, Any] = {}
    if state.option("api_base"):
        params["api_base"] = state.option("api_base")
    settings = CallSettings(
        record_mode=state.option("record_mode"),
        recordings_dir=Path(state.config.rootpath) / (state.option("recordings") or "recordings"),
        default_model=state.option("model"),
        default_params=params,
        retry=RetryPolicy(max_retries=state.option("retries"), timeout_s=state.option("timeout")),
        prices=state.prices,
        redact_pii=bool(state.option("redact_pii")),
        ledger=RunLedger(
            state.run_dir() / "ledger.sqlite3",
            max_cost_usd=state.option("max_cost_usd"),
            concurrency=state.option("concurrency"),
        ),
    )
    return CallEngine(settings)


def cassette_path(state: "LlmopsSession", item: pytest.Item) -> Path:
    """``recordings/<module>/<test name>.json`` next to the test module, or under ``--llmops-recordings-dir``."""
    module = Path(item.path)
    name = _UNSAFE.sub("_", item.name)[:150]
    if item.cls is not None if hasattr(item, "cls") else False:  # type: ignore[attr-defined]
        name = f"{item.cls.__name__}.{name}"  # type: ignore[attr-defined]
    configured = state.option("recordings")
    if configured:
        root = Path(state.config.rootpath) / configured
        try:
            rel = module.resolve().relative_to(Path(state.config.rootpath).resolve()).with_suffix("")
        except ValueError:
            rel = Path(module.stem)
        return root / rel / f"{name}.json"
    return module.parent / "recordings" / module.stem / f"{name}.json"


def llm_client(state: "LlmopsSession", request: pytest.FixtureRequest) -> Any:
    from .calls.client import LLM

    mark = request.node.get_closest_marker("llm")
    defaults = dict(mark.kwargs) if mark else {}
    engine = state.activate_calls()  # loads this test's recording (a corrupt one errors the test here)
    return LLM(engine, **defaults)


def judge_for(state: "LlmopsSession", request: pytest.FixtureRequest) -> Any:
    from .scorers.judge import Judge

    model = state.option("judge_model") or state.option("model")
    mark = request.node.get_closest_marker("llm")
    params = dict(mark.kwargs) if mark else {}
    if model is None:
        model = params.get("model")
    templates = state.option("judge_templates")
    template_dir = Path(state.config.rootpath) / templates if templates else None
    return Judge(llm_client(state, request), model=model, template_dir=template_dir)
