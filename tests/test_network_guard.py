"""The network guard of replay-only runs, proven inside a fresh network namespace (nothing can leave the machine).

Every inner run here happens under ``unshare -n`` with only loopback up, and the off-machine address is from
TEST-NET-1 (192.0.2.0/24, reserved for documentation).  A working guard reports its own error naming the test and
the host; a broken one would show the kernel's "Network is unreachable" instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import load_report

TEST_NET = "192.0.2.1"  # only ever used inside the namespace

GUARDED = f"""
import socket, urllib.request
import pytest
from pytest_llmops.testing.loopback import LoopbackServer

def test_socket():
    socket.create_connection(("{TEST_NET}", 80), timeout=2)

def test_swallowed():
    try:
        urllib.request.urlopen("http://{TEST_NET}:8080/", timeout=2)
    except Exception:
        pass  # the app hides the failure: the guard still reports it

def test_name_lookup():
    socket.getaddrinfo("api.provider.example", 443)

def test_loopback_is_fine():
    with LoopbackServer() as server:
        assert urllib.request.urlopen(server.base_url + "/models", timeout=5).status == 200

@pytest.mark.llmops_allow_hosts("{TEST_NET}")
def test_allowed_by_marker():
    with pytest.raises(OSError, match="unreachable"):  # allowed: the kernel refuses, the guard did not
        socket.create_connection(("{TEST_NET}", 80), timeout=2)
"""


def _namespace_command() -> list[str] | None:
    if sys.platform != "linux" or not shutil.which("unshare") or not shutil.which("ip"):
        return None
    for flags in (["-n"], ["-rn"]):  # root, or an unprivileged user namespace
        probe = subprocess.run(["unshare", *flags, "sh", "-c", "ip link set lo up"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", *flags]
    return None


NAMESPACE = _namespace_command()
pytestmark = pytest.mark.skipif(NAMESPACE is None, reason="network namespaces (unshare -n, ip) are unavailable here")


def run_isolated(pytester: pytest.Pytester, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = pytester.path / "r.json"
    report.unlink(missing_ok=True)
    inner = " ".join([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
                      "--llmops-report=r.json", *args])
    done = subprocess.run([*NAMESPACE, "sh", "-c", f"ip link set lo up && exec {inner}"], cwd=pytester.path,
                          capture_output=True, text=True, timeout=300)
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, {t["nodeid"].split("::")[1]: t for t in load_report(report)["tests"]}


def test_replay_only_runs_block_every_connection_off_the_machine(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_guard=GUARDED)
    done, tests = run_isolated(pytester)
    out = done.stdout
    for name in ("test_socket", "test_swallowed", "test_name_lookup"):
        assert tests[name]["outcome"] == "error" and tests[name]["error_kind"] == "network", tests[name]
    assert tests["test_loopback_is_fine"]["outcome"] == "passed"
    assert tests["test_allowed_by_marker"]["outcome"] == "passed"
    assert f"NetworkBlocked: test test_guard.py::test_socket tried to connect to {TEST_NET}:80" in out
    assert f"test test_guard.py::test_swallowed tried to connect to {TEST_NET}:8080" in out
    assert "test test_guard.py::test_name_lookup tried to connect to api.provider.example:443" in out
    assert "--llmops-record-mode=once" in out and f"--llmops-allow-hosts={TEST_NET}" in out
    assert "unreachable" not in out.lower()


def test_allowed_hosts_and_record_modes_turn_the_guard_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_guard=GUARDED)
    done, tests = run_isolated(pytester, f"--llmops-allow-hosts={TEST_NET}", "-k", "socket")
    assert tests["test_socket"]["outcome"] == "failed" and "unreachable" in done.stdout.lower()
    assert "NetworkBlocked" not in done.stdout
    done, tests = run_isolated(pytester, "--llmops-record-mode=once", "-k", "socket")
    assert tests["test_socket"]["outcome"] == "failed" and "NetworkBlocked" not in done.stdout
