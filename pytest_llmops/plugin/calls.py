"""pytest glue for the model-call layer: the engine from options, cassette paths, the llm and judge fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ..calls import capture
from ..record import recorder as _recorder
from .state import RunState


def install_capture(state: RunState) -> None:
    """Patch litellm when the app imports it; the first captured call of a test starts the call layer."""
    capture.install()
    state.outer_activator = capture.current_activator()  # a nested (pytester) run restores the outer one
    capture.set_activator(lambda: activate_calls(state))


def shutdown(state: RunState) -> None:
    capture.set_active(None)
    capture.set_activator(state.outer_activator)
    capture.uninstall()
    if state.engine is not None:
        state.engine.close()
    run_dir = state.existing_run_dir()
    if state.owns_run_dir and run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)


def engine(state: RunState) -> Any:
    if state.engine is None:
        state.engine = build_engine(state)
    return state.engine


def build_engine(state: RunState) -> Any:
    from ..calls.engine import CallEngine, CallSettings
    from ..calls.ledger import RunLedger
    from ..calls.retry import RetryPolicy

    params: dict[str, Any] = {}
    if state.option("api_base"):
        params["api_base"] = state.option("api_base")
    settings = CallSettings(
        record_mode=state.option("record_mode"),
        recordings_dir=state.rootpath / (state.option("recordings") or "recordings"),
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


def activate_calls(state: RunState) -> Any:
    """Start the model-call layer for the running test: when the ``llm``/``judge`` fixture is set up, or on
    the test's first captured litellm call.  Tests that make no model call never load a recording."""
    item = state.current_item
    if item is None:
        return None
    eng = engine(state)
    if not eng.in_test():
        from .normalizers import normalizer_for

        normalizer = normalizer_for(state, item)
        eng.begin_test(item.nodeid, _recorder.current_test(), cassette_path(state, item), normalizer=normalizer)
        capture.set_active(eng)
    return eng


def end_calls(state: RunState) -> None:
    if state.engine is not None and state.engine.in_test():
        capture.set_active(None)
        state.engine.end_test()


def cassette_path(state: RunState, item: pytest.Item) -> Path:
    """``recordings/<module>/<test name>.json`` next to the test module, or under ``--llmops-recordings-dir``."""
    from ..calls.cassette import recording_path_for_test

    cls = getattr(item, "cls", None)
    return recording_path_for_test(Path(item.path), item.name, cls.__name__ if cls is not None else None,
                               state.rootpath, state.option("recordings"))


def llm_client(state: RunState, request: pytest.FixtureRequest) -> Any:
    from ..calls.client import LLM

    mark = request.node.get_closest_marker("llm")
    defaults = dict(mark.kwargs) if mark else {}
    eng = activate_calls(state)  # loads this test's recording (a corrupt one errors the test here)
    return LLM(eng, **defaults)


def judge_for(state: RunState, request: pytest.FixtureRequest) -> Any:
    from ..scorers.judge import Judge

    model = state.option("judge_model") or state.option("model")
    mark = request.node.get_closest_marker("llm")
    params = dict(mark.kwargs) if mark else {}
    if model is None:
        model = params.get("model")
    templates = state.option("judge_templates")
    template_dir = state.rootpath / templates if templates else None
    return Judge(llm_client(state, request), model=model, template_dir=template_dir)


def ledger_totals(state: RunState) -> dict[str, Any]:
    """Spend and cap of the whole run: this process's ledger, or on an xdist controller the workers' file."""
    ledger = state.engine.settings.ledger if state.engine is not None else None
    opened = None
    run_dir = state.existing_run_dir()
    shared = run_dir / "ledger.sqlite3" if run_dir is not None else None
    try:
        if ledger is None and shared is not None and shared.is_file():
            from ..calls.ledger import RunLedger

            ledger = opened = RunLedger(shared, max_cost_usd=state.option("max_cost_usd"))
        if ledger is None:
            return {}
        return dict(ledger.totals())
    except Exception:  # noqa: BLE001 - a broken ledger must not lose the report
        return {}
    finally:
        if opened is not None:
            opened.close()


def llmops_cause(exc: BaseException) -> BaseException | None:
    """Our error, or the infrastructure error an SDK wrapped: the ``openai``/``anthropic`` SDKs turn an exception
    raised in their HTTP transport (a missing recording, a blocked connection) into ``APIConnectionError``."""
    from ..errors import InfrastructureError, LlmopsError

    if isinstance(exc, LlmopsError):
        return exc
    if isinstance(exc, AssertionError):  # a failing assert stays a failure, whatever it was handling
        return None
    cause = exc.__cause__ or exc.__context__
    for _ in range(8):
        if cause is None:
            return None
        if isinstance(cause, InfrastructureError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None

