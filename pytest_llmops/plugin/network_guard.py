"""The network guard: in replay-only runs (record mode ``none``) a test may connect to loopback and allowed hosts only.

The connection check is pytest-socket's (``socket_allow_hosts``: ``socket.socket.connect`` refuses any address
outside the allow-list, for every library, sync or asyncio); on top of it this module turns a refusal into a
:class:`NetworkBlocked` error naming the test, the host and how to record, keeps it for the test's report (the
app's HTTP library usually wraps the exception), and refuses name lookups of other hosts so no DNS query leaves
the machine either.  ``--llmops-allow-hosts`` / ini ``llmops_allow_hosts`` and ``@pytest.mark.llmops_allow_hosts``
add hosts; ``*`` turns the guard off.  In record modes the guard is off.
"""

from __future__ import annotations

import socket
import warnings
from typing import Any

import pytest

from ..errors import InfrastructureError
from .per_test import has_mark
from .state import RunState

LOOPBACK = ("127.0.0.0/8", "::1/128", "localhost")
_BLOCKED = pytest.StashKey[list[str]]()
_RESOLUTION_CACHE: dict[str, set[str]] = {}
_true_getaddrinfo = socket.getaddrinfo
_TRUE_CONNECT = socket.socket.connect
_armed = False
_GUARDS: dict[tuple[str, ...], tuple[Any, Any]] = {}  # allowed hosts -> (connect, getaddrinfo)
_current: dict[str, Any] = {"item": None}  # the test the guard reports about


class NetworkBlocked(InfrastructureError):
    """A test in a replay-only run tried to reach a host that is not loopback (and not allowed)."""

    error_kind = "network"


def allowed_hosts(state: RunState, item: pytest.Item) -> list[str]:
    hosts = list(state.option("allow_hosts") or ())
    if not has_mark(item, "llmops_allow_hosts"):
        return [h for h in hosts if h]
    for mark in item.iter_markers("llmops_allow_hosts"):
        hosts += [str(h).strip() for arg in mark.args for h in ([arg] if isinstance(arg, str) else arg)]
    return [h for h in hosts if h]


def _message(nodeid: str, host: Any, port: Any) -> str:
    where = f"{host}:{port}" if port is not None else str(host)
    return (
        f"test {nodeid} tried to connect to {where}, which is not loopback, in a replay-only run (record mode "
        f"none); nothing was sent. If this is a model call, record it: pytest {nodeid!r} "
        f"--llmops-record-mode=once (or new_episodes); if the test needs this host (a database, a service), "
        f"allow it: --llmops-allow-hosts={host} or @pytest.mark.llmops_allow_hosts({str(host)!r})"
    )


def _local_name(host: str, allowed: set[str]) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        pass
    lowered = host.lower().rstrip(".")
    return lowered in allowed or lowered == "localhost" or lowered.endswith(".localhost") or lowered in (
        socket.gethostname().lower(), "")


def arm(state: RunState, item: pytest.Item) -> None:
    """Guard this test's connections (record mode ``none`` only).

    pytest-socket lifts its restriction after every test, so the guard is put back for each one; the guarded
    functions are built once per set of allowed hosts (building them was most of the plugin's cost on a suite
    that uses nothing else of it) and report about the running test through ``_current``.
    """
    if state.option("record_mode") != "none":
        return
    hosts = allowed_hosts(state, item)
    if "*" in hosts:
        return
    _current["item"] = item
    key = tuple(hosts)
    guards = _GUARDS.get(key)
    if guards is None:
        guards = _GUARDS[key] = _build(hosts)
    global _armed
    socket.socket.connect, socket.getaddrinfo = guards  # type: ignore[method-assign]
    _armed = True


def _build(hosts: list[str]) -> tuple[Any, Any]:
    import pytest_socket

    pytest_socket.socket_allow_hosts([*LOOPBACK, *hosts], allow_unix_socket=True, resolution_cache=_RESOLUTION_CACHE)
    # pytest-socket warns when it blocks; our error says more, and under -W error its warning would replace it
    warnings.filterwarnings("ignore", message="A test tried to use socket", category=UserWarning)
    guarded = socket.socket.connect
    names = {h.lower() for h in hosts}

    def refuse(host: Any, port: Any) -> NetworkBlocked:
        item = _current["item"]
        error = NetworkBlocked(_message(item.nodeid if item is not None else "(outside a test)", host, port))
        if item is not None:
            item.stash.setdefault(_BLOCKED, []).append(str(error))
        return error

    def connect(sock: socket.socket, *args: Any) -> Any:
        try:
            return guarded(sock, *args)
        except pytest_socket.SocketConnectBlockedError as exc:
            address = args[0] if args else None
            port = address[1] if isinstance(address, tuple) and len(address) > 1 else None
            raise refuse(exc._host, port) from None

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or _local_name(str(name), names):
            return _true_getaddrinfo(host, *args, **kwargs)
        raise refuse(name, args[0] if args else None)

    return connect, getaddrinfo


def disarm() -> None:
    """Lift the guard (pytest-socket's own teardown hook has usually put ``connect`` back already)."""
    global _armed
    if not _armed:
        return
    _armed = False
    _current["item"] = None
    socket.getaddrinfo = _true_getaddrinfo
    if socket.socket.connect is not _TRUE_CONNECT:
        import pytest_socket

        pytest_socket._remove_restrictions()


def on_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """A blocked connection makes this phase's report an ``error`` with the guard's message, whatever the app
    made of the exception (HTTP clients wrap it, some apps swallow it)."""
    blocked = item.stash.get(_BLOCKED, None)
    if not blocked:
        return
    message = blocked[0] + (f" (and {len(blocked) - 1} more blocked connection(s))" if len(blocked) > 1 else "")
    blocked.clear()
    report.outcome = "failed"
    report.longrepr = f"NetworkBlocked: {message}"
    report.llmops_error_kind = "network"  # type: ignore[attr-defined]
