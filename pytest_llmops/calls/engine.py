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
import datetime as _dt
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LlmopsError, RecordingMissing
from ..record.recorder import TestRecorder, current_sample_index
from . import keys as _keys
from .cassette import Cassette, cassette_path_for, find_unused_cassettes
from .client import EmbedReply, Reply

if TYPE_CHECKING:
    from .ledger import RunLedger
    from .retry import RetryPolicy

RECORD_MODES = ("none", "once", "new_episodes", "all", "off")
_litellm: Any = None
_litellm_lock = threading.Lock()

_COMPLETION_ONLY = _keys.COMPLETION_ONLY_PARAMS


def load_litellm() -> Any:
    """Import litellm quietly: local cost map (no download), no banners, loggers at WARNING."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _litellm_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import litellm  # noqa: PLC0415 - heavy, only for live calls

            from .capture import quiet_litellm

            quiet_litellm(litellm)
            _litellm = litellm
    return _litellm


#: Warnings litellm triggers lazily inside its first calls (third-party import noise, not the user's concern).
_LITELLM_NOISE: tuple[tuple[str, type[Warning], str], ...] = (
    (r".*using the `ReadOnly` qualifier", UserWarning, ""),
    (r"Pydantic serializer warnings", UserWarning, ""),
    (r"", DeprecationWarning, r"litellm(\..*)?$"),
    (r"", PendingDeprecationWarning, r"litellm(\..*)?$"),
)


def quiet_litellm_warnings() -> None:
    """Ignore litellm's lazy-import noise (idempotent; re-applied per live call because pytest resets filters per test)."""
    import warnings

    for message, category, module in _LITELLM_NOISE:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


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
    occurrences: dict[tuple[str, int], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Pending:
    kind: str
    model: str
    payload: Any
    params: dict[str, Any]
    key: str
    sample: int
    occurrence: int
    entry: dict[str, Any] | None
    source: str


def _usage(response: dict[str, Any]) -> dict[str, int]:
    usage = response.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or (prompt + completion))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _to_dict(response: Any) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    dump = getattr(response, "model_dump", None)
    if dump is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic serializer chatter about litellm's loose field types
            return dump(mode="json")
    return dict(response)


def _error_info(error: BaseException) -> dict[str, Any]:
    """``{kind, type, message}``; ``kind`` is the provider fault kind (rate_limit, server, ...) when known."""
    kind = getattr(error, "kind", None)
    return {"kind": kind if isinstance(kind, str) else type(error).__name__, "type": type(error).__name__, "message": str(error)}


def _preview(payload: Any, limit: int = 60) -> str:
    if isinstance(payload, list) and payload and isinstance(payload[-1], dict):
        text = payload[-1].get("content")
        text = text if isinstance(text, str) else str(text)
    elif isinstance(payload, list):
        text = " | ".join(str(p) for p in payload[:3])
    else:
        text = str(payload)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalize_messages(messages: Any) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, (list, tuple)) and all(isinstance(m, dict) and "role" in m for m in messages) and messages:
        return [dict(m) for m in messages]
    raise ConfigError(
        "llm.complete(messages): pass a string or a non-empty list of {'role': ..., 'content': ...} dicts, "
        f"got {type(messages).__name__} {str(messages)[:80]!r}"
    )


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

    def begin_test(self, nodeid: str, recorder: TestRecorder, cassette_path: Path | None = None) -> None:
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
        self._state = _TestState(nodeid, recorder, cassette, replay_only)
        self._seen_nodeids.append(nodeid)

    def end_test(self) -> dict[str, Any]:
        """Write the cassette if it changed; report what was used, recorded and left unused."""
        state, self._state = self._state, None
        if state is None:
            return {"cassette": None, "used": 0, "recorded": 0, "unused_keys": []}
        cassette = state.cassette
        if cassette is None:
            report: dict[str, Any] = {"cassette": None, "mode": self.settings.record_mode, "used": 0, "recorded": 0, "unused_keys": []}
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
            files = [self._relative(p) for p in find_unused_cassettes(self.settings.recordings_dir, self._seen_nodeids)]
        except LlmopsError:
            files = []
        return {"unused_entries": dict(self._unused), "unused_cassettes": files, "tests_seen": len(self._seen_nodeids)}

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

    def _prepare(self, kind: str, model: str, payload: Any, params: dict[str, Any], source: str) -> _Pending:
        state = self._state
        assert state is not None
        identity = _keys.request_identity(kind, model, payload, params)
        sample = current_sample_index()
        counter = (_keys.identity_digest(identity), sample)
        with state.lock:
            occurrence = state.occurrences.get(counter, 0)
            state.occurrences[counter] = occurrence + 1
        key = _keys.replay_key(identity, sample, occurrence)
        entry = None
        if state.cassette is not None and self.settings.record_mode != "all":
            entry = state.cassette.get(key)
        pending = _Pending(kind, model, payload, params, key, sample, occurrence, entry, source)
        if entry is None and state.replay_only:
            error = self._missing(pending, state)
            self._meter(pending, error=error)
            raise error
        return pending

    def _missing(self, pending: _Pending, state: _TestState) -> RecordingMissing:
        mode = self.settings.record_mode
        where = self._relative(state.cassette.path) if state.cassette else "?"
        how = (
            "--llmops-record-mode=new_episodes (adds the missing calls to the existing cassette)"
            if state.cassette is not None and state.cassette.existed
            else "--llmops-record-mode=once (records a new cassette)"
        )
        return RecordingMissing(
            f"no recording for a {pending.kind} call to {pending.model!r} (prompt {_preview(pending.payload)!r}, "
            f"sample {pending.sample}, occurrence {pending.occurrence}, key {pending.key[:12]}) in {where} for test "
            f"{state.nodeid} (record mode {mode}). Record it with: pytest {state.nodeid!r} {how}"
        )

    # -- metering ---------------------------------------------------------------------------------
    def _meter(
        self,
        pending: _Pending,
        *,
        usage: dict[str, int] | None = None,
        cost: float | None = 0.0,
        latency: float = 0.0,
        retries: int = 0,
        provider: str | None = None,
        error: BaseException | None = None,
    ) -> dict[str, Any]:
        entry = pending.entry
        cached = entry is not None and error is None
        usage = usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        call = {
            "kind": pending.kind,
            "model": pending.model,
            "provider": provider,
            **usage,
            "cost_usd": 0.0 if cached else cost,
            "replayed_cost_usd": self._recorded_cost(entry, pending.model, usage) if cached else None,
            "latency_s": latency,
            "recorded_latency_s": entry.get("latency_s") if cached else None,
            "cached": cached,
            "retries": retries,
            "error": None if error is None else _error_info(error),
            "key": pending.key[:12],
            "sample": pending.sample,
            "source": pending.source,
        }
        state = self._state
        if state is not None:
            state.recorder.add_call(call)
        return call

    def _recorded_cost(self, entry: dict[str, Any], model: str, usage: dict[str, int]) -> float | None:
        """The cost stored with the recording; when it was unpriced then, today's price for its tokens."""
        if entry.get("cost_usd") is not None:
            return entry["cost_usd"]
        from .pricing import call_cost

        return call_cost(model, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), self.settings.prices)

    def _replayed(self, pending: _Pending, started: float) -> dict[str, Any]:
        entry = pending.entry
        assert entry is not None
        response = entry["response"]
        return self._meter(
            pending,
            usage=entry.get("usage") or _usage(response),
            latency=time.perf_counter() - started,
            provider=entry.get("provider"),
        )

    # -- live calls -------------------------------------------------------------------------------
    def _live_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(params)
        kwargs["num_retries"] = 0
        timeout = getattr(self.settings.retry, "timeout_s", None)
        if timeout:  # --llmops-timeout bounds every call, also when the app passes a longer one
            given = kwargs.get("timeout")
            kwargs["timeout"] = timeout if not isinstance(given, (int, float)) else min(float(given), timeout)
        return kwargs

    def _ledger_slot(self) -> contextlib.AbstractContextManager[Any]:
        ledger = self.settings.ledger
        return ledger.slot() if ledger is not None else contextlib.nullcontext()

    def _ledger_aslot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        ledger = self.settings.ledger
        return ledger.aslot() if ledger is not None else contextlib.nullcontext()

    def _provider(self, model: str) -> str | None:
        try:
            return load_litellm().get_llm_provider(model)[1]
        except Exception:  # unknown provider prefix: not our error to raise here
            return model.split("/", 1)[0] if "/" in model else None

    def _finish_live(self, pending: _Pending, response: Any, latency: float, retries: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Price, ledger, record and meter a successful live call; returns the response as a dict."""
        from .pricing import call_cost, warn_unknown_price

        data = _to_dict(response)
        usage = _usage(data)
        cost = call_cost(pending.model, usage["prompt_tokens"], usage["completion_tokens"], self.settings.prices,
                         warn=False)
        ledger = self.settings.ledger
        if ledger is not None:
            ledger.add_spend(cost, usage["total_tokens"])
        provider = self._provider(pending.model)
        state = self._state
        if state is not None and state.cassette is not None:
            state.cassette.put(self._entry(pending, data, usage, cost, latency, provider))
        call = self._meter(pending, usage=usage, cost=cost, latency=latency, retries=retries, provider=provider)
        if cost is None:  # after recording and metering: under -W error the warning raises
            warn_unknown_price(pending.model)
        return data, call

    def _entry(self, pending: _Pending, data: dict[str, Any], usage: dict[str, int], cost: float | None, latency: float, provider: str | None) -> dict[str, Any]:
        from .scrub import redact_pii_text, scrub_secrets

        request = {
            "model": pending.model,
            _keys.PAYLOAD_FIELD[pending.kind]: _keys.canonicalize(pending.payload),
            "params": _keys.key_params(pending.params),
        }
        response = data
        if self.settings.redact_pii:
            request = redact_pii_text(request)
            response = redact_pii_text(response)
        return {
            "key": pending.key,
            "kind": pending.kind,
            "sample": pending.sample,
            "occurrence": pending.occurrence,
            "request": scrub_secrets(request),
            "response": scrub_secrets(response),
            "usage": usage,
            "cost_usd": cost,
            "latency_s": round(latency, 4),
            "provider": provider,
            "recorded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        }

    def _live(self, pending: _Pending, invoke: Callable[[], Any]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        from .retry import call_with_retries

        quiet_litellm_warnings()
        retries = [0]

        def on_retry(*_: Any, **__: Any) -> None:
            retries[0] += 1

        def attempt() -> Any:
            with self._ledger_slot():
                return invoke()

        started = time.perf_counter()
        try:
            if self.settings.ledger is not None:
                self.settings.ledger.check_can_spend()
            response, retries[0] = call_with_retries(attempt, self.settings.retry, model=pending.model, on_retry=on_retry)
        except Exception as exc:
            attempts = getattr(exc, "attempts", None)
            retries[0] = attempts - 1 if isinstance(attempts, int) and attempts > 0 else retries[0]
            self._meter(pending, latency=time.perf_counter() - started, retries=retries[0], cost=0.0, error=exc)
            raise
        latency = time.perf_counter() - started
        return (response, *self._finish_live(pending, response, latency, retries[0]))

    async def _alive(self, pending: _Pending, invoke: Callable[[], Awaitable[Any]]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        from .retry import acall_with_retries

        quiet_litellm_warnings()
        retries = [0]

        def on_retry(*_: Any, **__: Any) -> None:
            retries[0] += 1

        async def attempt() -> Any:
            async with self._ledger_aslot():
                return await invoke()

        started = time.perf_counter()
        try:
            if self.settings.ledger is not None:
                self.settings.ledger.check_can_spend()
            response, retries[0] = await acall_with_retries(attempt, self.settings.retry, model=pending.model, on_retry=on_retry)
        except Exception as exc:
            attempts = getattr(exc, "attempts", None)
            retries[0] = attempts - 1 if isinstance(attempts, int) and attempts > 0 else retries[0]
            self._meter(pending, latency=time.perf_counter() - started, retries=retries[0], cost=0.0, error=exc)
            raise
        latency = time.perf_counter() - started
        return (response, *self._finish_live(pending, response, latency, retries[0]))

    # -- fixture calls (llm.complete / llm.embed) -------------------------------------------------
    def _fixture_request(self, kind: str, payload: Any, model: str | None, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self._state is None:
            raise ConfigError(
                "llm call outside a test: CallEngine.begin_test() was not called (use the `llm` fixture inside a test)"
            )
        defaults = self.settings.default_params
        if kind == "embedding":
            defaults = {k: v for k, v in defaults.items() if k not in _COMPLETION_ONLY}
        merged = {**defaults, **params}
        for reserved in ("model", "messages", "input", "stream"):
            if reserved in merged:
                raise ConfigError(f"llm call: pass {reserved!r} as the proper argument, not as an extra param")
        return self._resolve_model(model, embedding=kind == "embedding"), merged

    def _reply(self, pending: _Pending, data: dict[str, Any], call: dict[str, Any]) -> Reply:
        choices = data.get("choices") or [{}]
        first = choices[0] if isinstance(choices[0], dict) else {}
        message = first.get("message") or {}
        return Reply(
            text=message.get("content") or "",
            model=pending.model,
            usage=_usage(data),
            cost_usd=call["cost_usd"],
            replayed_cost_usd=call["replayed_cost_usd"],
            latency_s=call["latency_s"],
            cached=call["cached"],
            retries=call["retries"],
            raw=data,
            logprobs=first.get("logprobs"),
        )

    @staticmethod
    def _embed_reply(pending: _Pending, data: dict[str, Any], call: dict[str, Any]) -> EmbedReply:
        items = sorted(data.get("data") or [], key=lambda d: d.get("index", 0))
        return EmbedReply(
            vectors=[list(item.get("embedding") or []) for item in items],
            model=pending.model,
            usage=_usage(data),
            cost_usd=call["cost_usd"],
            replayed_cost_usd=call["replayed_cost_usd"],
            latency_s=call["latency_s"],
            cached=call["cached"],
            retries=call["retries"],
            raw=data,
        )

    def _fixture_call(self, kind: str, payload: Any, model: str | None, params: dict[str, Any]) -> tuple[
            str, _Pending, dict[str, Any], tuple[dict[str, Any], dict[str, Any]] | None]:
        """Key the request; when a recording matches, also return (its response, the metered call)."""
        started = time.perf_counter()
        model, params = self._fixture_request(kind, None, model, params)
        pending = self._prepare(kind, model, payload, params, "fixture")
        if pending.entry is None:
            return model, pending, self._live_kwargs(params), None
        call = self._replayed(pending, started)
        return model, pending, {}, (copy.deepcopy(pending.entry["response"]), call)

    def complete(self, messages: Any, *, model: str | None = None, **params: Any) -> Reply:
        model, pending, kwargs, replayed = self._fixture_call("completion", normalize_messages(messages), model, params)
        if replayed is not None:
            return self._reply(pending, *replayed)
        func = self._original("completion")
        _, data, call = self._live(pending, lambda: func(model=model, messages=pending.payload, **kwargs))
        return self._reply(pending, data, call)

    async def acomplete(self, messages: Any, *, model: str | None = None, **params: Any) -> Reply:
        model, pending, kwargs, replayed = self._fixture_call("completion", normalize_messages(messages), model, params)
        if replayed is not None:
            return self._reply(pending, *replayed)
        func = self._original("acompletion")
        _, data, call = await self._alive(pending, lambda: func(model=model, messages=pending.payload, **kwargs))
        return self._reply(pending, data, call)

    @staticmethod
    def _texts(texts: Any) -> list[str]:
        if isinstance(texts, str):
            return [texts]
        if isinstance(texts, (list, tuple)) and texts and all(isinstance(t, str) for t in texts):
            return list(texts)
        raise ConfigError(f"llm.embed(texts): pass a string or a non-empty list of strings, got {str(texts)[:80]!r}")

    def embed(self, texts: Any, *, model: str | None = None, **params: Any) -> EmbedReply:
        model, pending, kwargs, replayed = self._fixture_call("embedding", self._texts(texts), model, params)
        if replayed is not None:
            return self._embed_reply(pending, *replayed)
        func = self._original("embedding")
        _, data, call = self._live(pending, lambda: func(model=model, input=pending.payload, **kwargs))
        return self._embed_reply(pending, data, call)

    async def aembed(self, texts: Any, *, model: str | None = None, **params: Any) -> EmbedReply:
        model, pending, kwargs, replayed = self._fixture_call("embedding", self._texts(texts), model, params)
        if replayed is not None:
            return self._embed_reply(pending, *replayed)
        func = self._original("aembedding")
        _, data, call = await self._alive(pending, lambda: func(model=model, input=pending.payload, **kwargs))
        return self._embed_reply(pending, data, call)

    @staticmethod
    def _original(name: str) -> Callable[..., Any]:
        from .capture import original

        return original(name)

    # -- captured app calls (litellm.completion & co.) --------------------------------------------
    _RESPONSE_TYPES = {"completion": "ModelResponse", "embedding": "EmbeddingResponse", "text_completion": "TextCompletionResponse"}

    def _captured_request(self, kind: str, kwargs: dict[str, Any]) -> tuple[str | None, Any, dict[str, Any]]:
        field_name = _keys.PAYLOAD_FIELD[kind]
        params = {k: v for k, v in kwargs.items() if k not in ("model", field_name)}
        return kwargs.get("model"), kwargs.get(field_name), params

    def _rebuild(self, kind: str, data: dict[str, Any]) -> Any:
        litellm = load_litellm()
        quiet_litellm_warnings()
        return getattr(litellm, self._RESPONSE_TYPES[kind])(**copy.deepcopy(data))

    def _streaming(self, kind: str, model: Any, payload: Any) -> None:
        state = self._state
        if state is not None and state.replay_only:
            raise RecordingMissing(
                f"test {state.nodeid}: a streaming {kind} call to {model!r} (prompt {_preview(payload)!r}) cannot be "
                "replayed — streaming calls are passed through live, never recorded. Use a non-streaming call in "
                "tests, or run with --llmops-record-mode=off to allow live calls."
            )

    def litellm_call(self, kind: str, original: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        """Serve a captured litellm call: a rebuilt litellm response when replayed, else the live response."""
        model, payload, params = self._captured_request(kind, kwargs)
        if self._state is None or not isinstance(model, str) or payload is None:
            return original(**kwargs)  # outside a test, or malformed: litellm raises its own error
        if params.get("stream"):
            self._streaming(kind, model, payload)
            return original(**kwargs)
        started = time.perf_counter()
        pending = self._prepare(kind, model, payload, params, "captured")
        if pending.entry is not None:
            self._replayed(pending, started)
            return self._rebuild(kind, pending.entry["response"])
        live_kwargs = self._live_kwargs(kwargs)
        response, _, _ = self._live(pending, lambda: original(**live_kwargs))
        return response

    async def alitellm_call(self, kind: str, original: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> Any:
        model, payload, params = self._captured_request(kind, kwargs)
        if self._state is None or not isinstance(model, str) or payload is None:
            return await original(**kwargs)
        if params.get("stream"):
            self._streaming(kind, model, payload)
            return await original(**kwargs)
        started = time.perf_counter()
        pending = self._prepare(kind, model, payload, params, "captured")
        if pending.entry is not None:
            self._replayed(pending, started)
            return self._rebuild(kind, pending.entry["response"])
        live_kwargs = self._live_kwargs(kwargs)
        response, _, _ = await self._alive(pending, lambda: original(**live_kwargs))
        return response

