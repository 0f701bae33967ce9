"""Shared helpers of the benchmark scripts: timing subprocesses, alternating runs, the one-line result
protocol that ``bench/run_all.py`` reads, machine info, peak memory of a process tree, and a throw-away
virtualenv for comparisons with other tools.

Every benchmark prints, next to its human-readable output, one or more lines

    BENCH_RESULT {"benchmark": "...", "figure": "...", "value": 1.02, "unit": "x", "goal": "<= 1.05", "met": true}

``met`` is ``true``/``false`` when the benchmark has a goal and ``null`` when the figure is informational.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH_RESULT "
DEFAULT_PYTHON = sys.executable


# --------------------------------------------------------------------------- result protocol
def emit_result(benchmark: str, figure: str, value: float | str | None, *, unit: str = "", goal: str = "",
                met: bool | None = None, **extra: Any) -> dict[str, Any]:
    """Print one machine-readable result line (and return it as a dict)."""
    result = {"benchmark": benchmark, "figure": figure, "value": value, "unit": unit, "goal": goal, "met": met,
              **extra}
    print(RESULT_PREFIX + json.dumps(result, sort_keys=False), flush=True)
    return result


def parse_results(text: str) -> list[dict[str, Any]]:
    """Every ``BENCH_RESULT {...}`` line of a benchmark's stdout, in order; malformed lines are skipped."""
    results = []
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            try:
                payload = json.loads(line[len(RESULT_PREFIX):])
            except json.JSONDecodeError:
                continue
            if isinstance(payload, dict):
                results.append(payload)
    return results


# --------------------------------------------------------------------------- environment
def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without variables that would change what pytest loads or prints.

    ``PYTHONDONTWRITEBYTECODE`` goes too: with it every run would compile the plugin's modules from source
    (pytest's own come precompiled from site-packages), a cost no user's second run pays."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH",
                        "PYTEST_XDIST_AUTO_NUM_WORKERS", "COV_CORE_SOURCE", "PYTHONDONTWRITEBYTECODE"}}
    env.update({"PYTHONHASHSEED": "0", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU, cores, load, OS and the versions of the libraries the figures depend on (no heavy imports)."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_avg_1m": load_average(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pytest": _version("pytest"),
        "pytest-xdist": _version("pytest-xdist"),
        "pytest-llmops": _version("pytest-llmops"),
        "litellm": _version("litellm"),
        "torch": _version("torch"),
        "sentence-transformers": _version("sentence-transformers"),
    }


# --------------------------------------------------------------------------- timing
class BenchError(RuntimeError):
    """A benchmark subprocess failed; the message carries the command and the tail of its output."""


def run_checked(cmd: Sequence[str], *, cwd: Path | str | None = None, env: Mapping[str, str] | None = None,
                timeout: float | None = None, ok_codes: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), cwd=cwd, env=dict(env) if env is not None else None, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode not in ok_codes:
        tail = (proc.stdout[-1500:] + "\n" + proc.stderr[-1500:]).strip()
        raise BenchError(f"command failed with exit code {proc.returncode}: {' '.join(cmd)}\n{tail}")
    return proc


@dataclass(frozen=True)
class Timing:
    """One subprocess run: wall seconds, and CPU seconds (user + sys) of it and the descendants it waited for.
    CPU time moves much less than wall time when other work shares the machine."""

    wall: float
    cpu: float


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_run(cmd: Sequence[str], *, cwd: Path | str | None = None, env: Mapping[str, str] | None = None,
             timeout: float | None = None, ok_codes: Sequence[int] = (0,)) -> Timing:
    """Wall and CPU seconds of one subprocess run (raises BenchError on an unexpected exit code).  Not
    thread-safe: the CPU figure is the change of this process's RUSAGE_CHILDREN."""
    c0, t0 = children_cpu(), time.perf_counter()
    run_checked(cmd, cwd=cwd, env=env, timeout=timeout, ok_codes=ok_codes)
    return Timing(time.perf_counter() - t0, children_cpu() - c0)


def alternate(commands: Mapping[str, Sequence[str]], rounds: int, *, cwd: Path | str | None = None,
              env: Mapping[str, str] | Mapping[str, Mapping[str, str]] | None = None, warmup: int = 1,
              timeout: float | None = None, ok_codes: Sequence[int] = (0,),
              progress: bool = True) -> dict[str, list[Timing]]:
    """Run every configuration once per round, rotating the order each round (A B C, B C A, C A B, ...), so a
    drift of the machine's load hits every configuration alike.  ``warmup`` untimed rounds go first (byte-code
    and file caches).  ``env`` is one environment for all, or a mapping name -> environment."""
    names = list(commands)
    per_env: dict[str, Mapping[str, str] | None]
    if env is not None and all(isinstance(v, Mapping) for v in env.values()):
        per_env = {n: env.get(n) for n in names}  # type: ignore[misc]
    else:
        per_env = {n: env for n in names}  # type: ignore[misc]
    for _ in range(warmup):
        for name in names:
            time_run(commands[name], cwd=cwd, env=per_env[name], timeout=timeout, ok_codes=ok_codes)
    times: dict[str, list[Timing]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            times[name].append(time_run(commands[name], cwd=cwd, env=per_env[name], timeout=timeout,
                                        ok_codes=ok_codes))
        if progress:
            print(f"  round {r + 1}/{rounds}: " + ", ".join(f"{n} {times[n][-1].wall:.2f}s" for n in names),
                  file=sys.stderr, flush=True)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def median_wall(timings: Sequence[Timing]) -> float:
    return statistics.median(t.wall for t in timings)


def median_cpu(timings: Sequence[Timing]) -> float:
    return statistics.median(t.cpu for t in timings)


# --------------------------------------------------------------------------- memory
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(root: int) -> list[int]:
    children, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class TreeMemory:
    """Peak RSS of a process tree: ``sum_peak_kb`` = sum over every process seen of its own peak RSS (VmHWM);
    ``max_peak_kb`` = the largest single process.  ``processes`` counts the processes seen."""

    sum_peak_kb: int = 0
    max_peak_kb: int = 0
    processes: int = 0
    per_pid: dict[int, int] = field(default_factory=dict)


def run_with_tree_memory(cmd: Sequence[str], *, cwd: Path | str | None = None,
                         env: Mapping[str, str] | None = None, timeout: float | None = None,
                         interval: float = 0.05) -> tuple[Timing, int, TreeMemory, str]:
    """Run ``cmd``; every ``interval`` s read ``/proc/<pid>/status`` VmHWM of it and all its descendants
    (xdist workers included) and keep the last value per pid.  Linux only.  Returns (timing, exit code,
    memory, combined output tail)."""
    memory = TreeMemory()
    c0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env) if env is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read() if proc.stdout else ""), daemon=True)
    reader.start()
    deadline = None if timeout is None else t0 + timeout
    while proc.poll() is None:
        for pid in _descendants(proc.pid):
            hwm = _vm_hwm_kb(pid)
            if hwm is not None:  # a zombie has no VmHWM line: keep its last reading
                memory.per_pid[pid] = hwm
        if deadline is not None and time.perf_counter() > deadline:
            proc.kill()
            proc.wait()
            raise BenchError(f"timed out after {timeout} s: {' '.join(cmd)}")
        time.sleep(interval)
    timing = Timing(time.perf_counter() - t0, children_cpu() - c0)
    reader.join()
    memory.sum_peak_kb = sum(memory.per_pid.values())
    memory.max_peak_kb = max(memory.per_pid.values(), default=0)
    memory.processes = len(memory.per_pid)
    return timing, proc.returncode, memory, "".join(output)[-3000:]


# --------------------------------------------------------------------------- comparison virtualenvs
BENCH_VENVS = Path(os.environ.get("LLMOPS_BENCH_VENVS", "/work/bench-venvs"))
# Never let a comparison venv pull a compromised litellm release (see pyproject.toml).
CONSTRAINTS = "litellm!=1.82.7,!=1.82.8,!=1.107.*\n"


def ensure_venv(name: str, requirements: Sequence[str], *, marker_import: str, timeout: float = 1800,
                log: Path | None = None) -> Path:
    """A separate virtualenv ``BENCH_VENVS/name`` with ``requirements`` installed (once; later calls reuse it
    when ``marker_import`` imports).  Returns its python.  Raises BenchError with pip's tail on failure."""
    venv = BENCH_VENVS / name
    python = venv / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", f"import {marker_import}"], capture_output=True, text=True,
                               env=clean_env())
        if check.returncode == 0:
            return python
    BENCH_VENVS.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    run_checked([base, "-m", "venv", str(venv)], timeout=300)
    constraints = venv / "constraints.txt"
    constraints.write_text(CONSTRAINTS, encoding="utf-8")
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-c", str(constraints),
           *requirements]
    print(f"installing {' '.join(requirements)} into {venv} (once; this takes a few minutes) ...",
          file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=clean_env())
    if log is not None:
        log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise BenchError(f"pip install {' '.join(requirements)} failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-1200:]}")
    return python
