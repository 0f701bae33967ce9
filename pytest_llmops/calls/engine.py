"""The call engine: replay from cassettes, or call the model live through litellm; meter every call.

One :class:`CallEngine` lives per pytest process.  The plugin calls :meth:`CallEngine.begin_test` /
:meth:`CallEngine.end_test` around each test item; in between, ``llm.complete()`` (fixture calls) and the app's
own ``litellm.completion()`` (captured calls, see :mod:`.capture`) come through :meth:`CallEngine.complete` /
:meth:`CallEngine.litellm_call`.

Record modes (``--llmops-record-mode``):

``none``          replay only; a request without a recording raises :class:`RecordingMissing`
``once``          cassette file exists → replay only; no file → call live and record everything
``new_episodes``  replay what is recorded, call live and record the rest
``all``           call live for everything; the cassette is rewritten with this run's calls only
``off``           call live, never read or write cassettes

Live calls: the ORIGINAL litellm function with ``num_retries=0`` (retries are ours, :mod:`.retry`), behind
``ledger.check_can_spend()`` and a ledger slot per attempt; latency is the wall time of the whole call
including retries.  Replayed calls never import litellm for fixture calls; captured calls rebuild litellm
response objects (litellm is already imported by the app).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LlmopsError
from ..record.recorder import TestRecorder, current_sample_index
from . import keys as _keys
from . import metering
from .active import engine_live
from .cassette import Cassette, cassette_path_for, find_unused_cassettes
from .diagnose import explain
from .litellm_loader import load_litellm, original, quiet_litellm_warnings
from .normalize import NO_NORMALIZER, Normalizer
from .pending import (
    PendingCall,
    fixture_params,
    live_kwargs,
    missing_recording,
    normalize_messages,
    normalize_texts,
)
from .replies import EmbedReply, Reply, completion_reply, embedding_reply
from .streaming import aprime, prime

if TYPE_CHECKING:
    from .ledger import RunLedger
    from .retry import RetryPolicy

__all__ = ["RECORD_MODES", "CallEngine", "CallSettings", "load_litellm", "normalize_messages"]

RECORD_MODES = ("none", "once", "new_episodes", "all", "off")

def _default_retry() -> RetryPolicy:
    from .retry import RetryPolicy

    return RetryPolicy()


@dataclass
class CallSettings:
    record_mode: str = "none"
    recordings_dir: Path = Path("recordings")
    default_model: str | None = None
    default_embedding_model: str | None = None
    default_params: dict[str, Any] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=_default_retry)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    redact_pii: bool = False
    ledger: RunLedger | None = None

    def __post_init__(self) -> None:
        if self.record_mode not in RECORD_MODES:
            raise ConfigError(
                f"record mode {self.record_mode!r} is not one of {', '.join(RECORD_MODES)} "
                "(--llmops-record-mode / ini llmops_record_mode)"
            )
        self.recordings_dir = Path(self.recordings_dir)


@dataclass
class _TestState:
    nodeid: str
    recorder: TestRecorder
    cassette: Cassette | None
    replay_only: bool
    normalizer: Normalizer = NO_NORMALIZER
    occurrences: dict[tuple[str, int], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class CallEngine:
    """Record/replay store + live calls + metering for one pytest process."""

    def __init__(self, settings: CallSettings) -> None:
        self.settings = settings
        self._state: _TestState | None = None
        self._seen_nodeids: list[str] = []
        self._unused: dict[str, list[str]] = {}

    # -- test lifecycle ---------------------------------------------------------------------------
    def cassette_path_for(self, nodeid: str) -> Path:
        return cassette_path_for(self.settings.recordings_dir, nodeid)

    def in_test(self) -> bool:
        return self._state is not None

    def replay_only(self) -> bool:
        """True while a test runs whose calls may only be replayed (record mode ``none``, or ``once`` with a file)."""
        state = self._state
        return state is not None and state.replay_only

    def begin_test(
        self, nodeid: str, recorder: TestRecorder, cassette_path: Path | None = None,
        normalizer: Normalizer = NO_NORMALIZER,
    ) -> None:
        """Start metering into ``recorder`` and load the test's cassette (RecordingError if it is corrupt)."""
        mode = self.settings.record_mode
        path = Path(cassette_path) if cassette_path is not None else self.cassette_path_for(nodeid)
        cassette: Cassette | None = None
        replay_only = False
        if mode == "all":
            cassette = Cassette(path, nodeid, existed=path.exists())
            cassette.dirty = cassette.existed  # rewritten (or removed) even if the test makes no call
        elif mode != "off":
            cassette = Cassette.load(path, nodeid)
            replay_only = mode == "none" or (mode == "once" and cassette.existed)
        self._state = _TestState(nodeid, recorder, cassette, replay_only, normalizer)
        self._seen_nodeids.append(nodeid)

    def end_test(self) -> dict[str, Any]:
        """Write the cassette if it changed; report what was used, recorded and left unused."""
        state, self._state = self._state, None
        if state is None:
            return {"cassette": None, "used": 0, "recorded": 0, "unused_keys": []}
        cassette = state.cassette
        if cassette is None:
            report: dict[str, Any] = {
                "cassette": None, "mode": self.settings.record_mode, "used": 0, "recorded": 0, "unused_keys": [],
            }
        else:
            cassette.save()
            unused = cassette.unused_keys()
            rel = self._relative(cassette.path)
            report = {
                "cassette": rel,
                "mode": self.settings.record_mode,
                "used": len(cassette.used - cassette.recorded),
                "recorded": len(cassette.recorded),
                "unused_keys": unused,
            }
            if unused:
                self._unused[rel] = unused
        state.recorder.recordings.update(report)
        return report

    def close(self) -> None:
        """End a test left open (writing its cassette) and close this process's ledger connection."""
        if self._state is not None:
            self.end_test()
        ledger = self.settings.ledger
        if ledger is not None and hasattr(ledger, "close"):
            ledger.close()

    @staticmethod
    def _relative(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)

    def unused_report(self) -> dict[str, Any]:
        """``{"unused_entries": {cassette: [keys]}, "unused_cassettes": [...], "tests_seen": n}``.

        ``unused_cassettes`` (files of tests that did not run) is only meaningful after a full, unfiltered run.
        """
        try:
            unused = find_unused_cassettes(self.settings.recordings_dir, self._seen_nodeids)
            files = [self._relative(p) for p in unused]
        except LlmopsError:
            files = []
        return {
            "unused_entries": dict(self._unused), "unused_cassettes": files, "tests_seen": len(self._seen_nodeids),
        }

    # -- request preparation ----------------------------------------------------------------------
    def _resolve_model(self, model: str | None, *, embedding: bool = False) -> str:
        model = model or (self.settings.default_embedding_model if embedding else None) or self.settings.default_model
        if not model:
            what = "embedding model" if embedding else "model"
            raise ConfigError(
                f"no {what} set for this call; set one with ini `llmops_model = openai/gpt-4o-mini`, "
                "`--llmops-model=...`, `@pytest.mark.llm(model=...)`, or `llm.complete(..., model=...)`"
            )
        return model

    def prepare(
        self, kind: str, model: str, payload: Any, params: dict[str, Any], source: str, provider: str | None = None
    ) -> PendingCall:
        """Key a request (normalizers applied); RecordingMissing, explained, when replay-only finds none."""
        state = self._state
        assert state is not None
        identity = state.normalizer.apply(_keys.request_identity(kind, model, payload, params))
        sample = current_sample_index()
        counter = (_keys.identity_digest(identity), sample)
        with state.lock:
            occurrence = state.occurrences.get(counter, 0)
            state.occurrences[counter] = occurrence + 1
        key = _keys.replay_key(identity, sample, occurrence)
        entry = None
        if state.cassette is not None and self.settings.record_mode != "all":
            entry = state.cassette.get(key)
        pending = PendingCall(kind, model, payload, params, key, sample, occurrence, entry, source, identity, provider)
        if entry is None and state.replay_only:
            cassette = state.cassette
            where = self._relative(cassette.path) if cassette else "?"
            existed = cassette is not None and cassette.existed
            diagnosis = explain(
                list(cassette.entries.values()) if cassette is not None else [], kind,
                _keys.recorded_request(identity), sample, occurrence, state.normalizer.apply,
                state.normalizer.describe(),
            )
            error = missing_recording(pending, state.nodeid, where, self.settings.record_mode, existed, diagnosis)
            self.meter(pending, error=error)
            raise error
        return pending

    _prepare = prepare

    def _live_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        return live_kwargs(params, getattr(self.settings.retry, "timeout_s", None))

    # -- metering ---------------------------------------------------------------------------------
    def meter(self, pending: PendingCall, **measured: Any) -> dict[str, Any]:
        """Meter the call on the running test (see :func:`.metering.metered_call` for ``measured``)."""
        call = metering.metered_call(pending, self.settings.prices, **measured)
        state = self._state
        if state is not None:
            state.recorder.add_call(call)
        return call

    _meter = meter

    def replayed(self, pending: PendingCall, started: float) -> dict[str, Any]:
        """Meter a call served from its recording."""
        entry = pending.entry
        assert entry is not None
        return self._meter(
            pending,
            usage=entry.get("usage") or metering.usage_of(entry["response"]),
            latency=time.perf_counter() - started,
            provider=entry.get("provider"),
        )

    _replayed = replayed

    def finish_live(
        self, pending: PendingCall, response: Any, latency: float, retries: int,
        stream: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Price, ledger, record and meter a successful live call; returns the response as a dict.

        ``stream`` (``{"chunks", "ttft_s"}``) is kept with the recording of a streamed call.
        """
        from .pricing import warn_unknown_price

        data = metering.as_dict(response)
        usage = metering.usage_of(data)
        cost = metering.live_cost(pending.model, usage, self.settings.prices)
        ledger = self.settings.ledger
        if ledger is not None:
            ledger.add_spend(cost, usage["total_tokens"])
        provider = pending.provider or metering.provider_of(pending.model)
        state = self._state
        if state is not None and state.cassette is not None:
            entry = metering.cassette_entry(
                pending, data, usage, cost, latency, provider, redact_pii=self.settings.redact_pii, stream=stream
            )
            state.cassette.put(entry)
        ttft = stream.get("ttft_s") if stream else None
        call = self._meter(
            pending, usage=usage, cost=cost, latency=latency, retries=retries, provider=provider, ttft=ttft
        )
        if cost is None:  # after recording and metering: under -W error the warning raises
            warn_unknown_price(pending.model)
        return data, call

    _finish_live = finish_live

    # -- live calls -------------------------------------------------------------------------------
    def ledger_slot(self) -> contextlib.AbstractContextManager[Any]:
        """One of the run's concurrent live-call slots (none without a ledger)."""
        ledger = self.settings.ledger
        return ledger.slot() if ledger is not None else contextlib.nullcontext()

    def ledger_aslot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        ledger = self.settings.ledger
        return ledger.aslot() if ledger is not None else contextlib.nullcontext()

    def check_can_spend(self) -> None:
        """BudgetExceeded when the run's cost cap is reached."""
        if self.settings.ledger is not None:
            self.settings.ledger.check_can_spend()

    _ledger_slot, _ledger_aslot, _check_can_spend = ledger_slot, ledger_aslot, check_can_spend

    def forget_occurrence(self, pending: PendingCall) -> None:
        """A failed attempt that the caller (an SDK's own retry) repeats is not a new occurrence."""
        state = self._state
        if state is None or not pending.identity:
            return
        counter = (_keys.identity_digest(pending.identity), pending.sample)
        with state.lock:
            if state.occurrences.get(counter) == pending.occurrence + 1:
                state.occurrences[counter] = pending.occurrence

    def _live_failed(self, pending: PendingCall, error: Exception, started: float, retries: int) -> None:
        """Meter a live call that failed after its retries (the error's ``attempts`` count when it has one)."""
        attempts = getattr(error, "attempts", None)
        retries = attempts - 1 if isinstance(attempts, int) and attempts > 0 else retries
        self._meter(pending, latency=time.perf_counter() - started, retries=retries, cost=0.0, error=error)

    def stream_failed(self, pending: PendingCall, error: Exception, elapsed: float, retries: int) -> BaseException:
        """A live stream broke after its first chunk: meter the call as failed and return the error to raise (a
        :class:`~pytest_llmops.errors.ProviderError` for a provider fault; not retried, the app has read part of
        the answer)."""
        import dataclasses

        from .retry import classify, provider_error

        info = classify(error)
        if not info.provider:
            return error
        info = dataclasses.replace(info, retryable=False, message=f"the stream broke mid-answer: {info.message}")
        wrapped = provider_error(info, retries + 1, model=pending.model)
        self._live_failed(pending, wrapped, time.perf_counter() - elapsed, retries)
        return wrapped

    def _live(self, pending: PendingCall, invoke: Callable[[], Any]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        response, latency, retries = self.live_open(pending, invoke)
        return (response, *self._finish_live(pending, response, latency, retries))

    async def _alive(
        self, pending: PendingCall, invoke: Callable[[], Awaitable[Any]]
    ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        response, latency, retries = await self.alive_open(pending, invoke)
        return (response, *self._finish_live(pending, response, latency, retries))

    def live_open(self, pending: PendingCall, invoke: Callable[[], Any]) -> tuple[Any, float, int]:
        """Call live with our retries, behind the ledger: ``(response, latency so far, retries)``."""
        from .retry import call_with_retries

        quiet_litellm_warnings()
        retries = [0]

        def on_retry(*_: Any, **__: Any) -> None:
            retries[0] += 1

        def attempt() -> Any:
            with self._ledger_slot(), engine_live():
                return prime(invoke()) if pending.stream else invoke()

        started = time.perf_counter()
        try:
            self._check_can_spend()
            policy = self.settings.retry
            response, retries[0] = call_with_retries(attempt, policy, model=pending.model, on_retry=on_retry)
        except Exception as exc:
            self._live_failed(pending, exc, started, retries[0])
            raise
        return response, time.perf_counter() - started, retries[0]

    async def alive_open(self, pending: PendingCall, invoke: Callable[[], Awaitable[Any]]) -> tuple[Any, float, int]:
        from .retry import acall_with_retries

        quiet_litellm_warnings()
        retries = [0]

        def on_retry(*_: Any, **__: Any) -> None:
            retries[0] += 1

        async def attempt() -> Any:
            async with self._ledger_aslot():
                with engine_live():
                    return await aprime(await invoke()) if pending.stream else await invoke()

        started = time.perf_counter()
        try:
            self._check_can_spend()
            policy = self.settings.retry
            response, retries[0] = await acall_with_retries(attempt, policy, model=pending.model, on_retry=on_retry)
        except Exception as exc:
            self._live_failed(pending, exc, started, retries[0])
            raise
        return response, time.perf_counter() - started, retries[0]

    # -- fixture calls (llm.complete / llm.embed) -------------------------------------------------
    def fixture_call(self, kind: str, payload: Any, model: str | None, params: dict[str, Any], *,
                     stream: bool = False) -> tuple[
            str, PendingCall, dict[str, Any], tuple[dict[str, Any], dict[str, Any]] | None]:
        """Key the request; when a recording matches, also return (its response, the metered call)."""
        started = time.perf_counter()
        if self._state is None:
            raise ConfigError(
                "llm call outside a test: CallEngine.begin_test() was not called (use the `llm` fixture inside a test)"
            )
        params = fixture_params(kind, self.settings.default_params, params)
        if stream:
            params["stream"] = True
        model = self._resolve_model(model, embedding=kind == "embedding")
        pending = self._prepare(kind, model, payload, params, "fixture")
        if pending.entry is None:
            return model, pending, self._live_kwargs(params), None
        call = self._replayed(pending, started)
        return model, pending, {}, (copy.deepcopy(pending.entry["response"]), call)

    def complete(self, messages: Any, *, model: str | None = None, **params: Any) -> Reply:
        if params.pop("stream", False):  # streamed under the hood, returned assembled
            from .fixture_stream import open_stream

            return open_stream(self, messages, model, params).read()
        model, pending, kwargs, replayed = self.fixture_call("completion", normalize_messages(messages), model, params)
        if replayed is not None:
            return completion_reply(model, *replayed)
        func = original("completion")
        _, data, call = self._live(pending, lambda: func(model=model, messages=pending.payload, **kwargs))
        return completion_reply(model, data, call)

    async def acomplete(self, messages: Any, *, model: str | None = None, **params: Any) -> Reply:
        if params.pop("stream", False):
            from .fixture_stream import aopen_stream

            return await (await aopen_stream(self, messages, model, params)).aread()
        model, pending, kwargs, replayed = self.fixture_call("completion", normalize_messages(messages), model, params)
        if replayed is not None:
            return completion_reply(model, *replayed)
        func = original("acompletion")
        _, data, call = await self._alive(pending, lambda: func(model=model, messages=pending.payload, **kwargs))
        return completion_reply(model, data, call)

    def embed(self, texts: Any, *, model: str | None = None, **params: Any) -> EmbedReply:
        model, pending, kwargs, replayed = self.fixture_call("embedding", normalize_texts(texts), model, params)
        if replayed is not None:
            return embedding_reply(model, *replayed)
        func = original("embedding")
        _, data, call = self._live(pending, lambda: func(model=model, input=pending.payload, **kwargs))
        return embedding_reply(model, data, call)

    async def aembed(self, texts: Any, *, model: str | None = None, **params: Any) -> EmbedReply:
        model, pending, kwargs, replayed = self.fixture_call("embedding", normalize_texts(texts), model, params)
        if replayed is not None:
            return embedding_reply(model, *replayed)
        func = original("aembedding")
        _, data, call = await self._alive(pending, lambda: func(model=model, input=pending.payload, **kwargs))
        return embedding_reply(model, data, call)
