"""Every command-line flag and ini key of the plugin, in one table.

The plugin registers them from :data:`OPTIONS`; the README's configuration reference is checked against the
same table by a test, so documentation cannot drift.  Precedence everywhere: command line > ini > default.
This module imports nothing from pytest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

RECORD_MODES = ("none", "once", "new_episodes", "all", "off")
INCONCLUSIVE_POLICIES = ("fail", "pass", "xfail")


def _path(value: str) -> str:
    if not str(value).strip():
        raise ValueError("empty path")
    return str(value)


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return parse


def _positive_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{value!r} must be a finite number >= 0")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"{value!r} must be an integer >= 1")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"{value!r} must be an integer >= 0")
    return number


def _rate(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{value!r} must be between 0 and 1")
    return number


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{value!r} is not a boolean (true/false)")


def _tags(value: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in str(value).split(",") if t.strip())


@dataclass(frozen=True)
class Option:
    dest: str
    flag: str | None
    ini: str | None
    help: str
    parse: Callable[[Any], Any] = str
    default: Any = None
    metavar: str | None = None
    is_flag: bool = False
    ini_type: str = "string"


OPTIONS: tuple[Option, ...] = (
    Option("report", "--llmops-report", "llmops_report", "write the JSON run record to PATH", _path, None, "PATH"),
    Option("baseline", "--llmops-baseline", "llmops_baseline",
           "compare this run with a base run record at the end of the session: a file, or the name of a "
           "baseline stored with 'pytest-llmops baseline bless'", _path, None, "PATH|NAME"),
    Option("baselines_dir", None, "llmops_baselines_dir",
           "directory of named baselines (relative to rootdir)", _path, ".llmops/baselines"),
    Option("fail_on", "--llmops-fail-on", "llmops_fail_on",
           "with --llmops-baseline: what makes the session fail, e.g. 'regression' or 'metric:recall@5:0.02' "
           "(comma-separated)", str, None, "RULES"),
    Option("correction", "--llmops-correction", "llmops_correction",
           "with --llmops-baseline: multiplicity correction over the diff's statistical comparisons: fdr "
           "(Benjamini-Hochberg, default), by (Benjamini-Yekutieli), holm (family-wise), none",
           _choice("fdr", "by", "holm", "none"), "fdr", "METHOD"),
    Option("history", "--llmops-history", "llmops_history",
           "with --llmops-baseline: nightly run records (a directory or a file) whose run-to-run variation is the "
           "diff's noise model: a drop is a regression only when it also exceeds what the series shows", _path,
           None, "DIR"),
    Option("record_mode", "--llmops-record-mode", "llmops_record_mode",
           "model-call recordings: none (replay only, default), once, new_episodes, all, off (live, no recordings)",
           _choice(*RECORD_MODES), "none", "MODE"),
    Option("recordings", "--llmops-recordings-dir", "llmops_recordings",
           "directory of recordings (default: 'recordings' next to each test module)", _path, None, "DIR"),
    Option("prune_recordings", "--llmops-prune-recordings", None,
           "delete recordings that this (complete) run did not use", _bool, False, is_flag=True),
    Option("redact_pii", "--llmops-redact-pii", "llmops_redact_pii",
           "redact PII from stored prompt and response text (recordings and run record)", _bool, False,
           is_flag=True, ini_type="bool"),
    Option("model", "--llmops-model", "llmops_model", "default litellm model string for the llm fixture", str, None,
           "MODEL"),
    Option("api_base", "--llmops-api-base", "llmops_api_base", "default api_base for model calls", str, None, "URL"),
    Option("judge_model", "--llmops-judge-model", "llmops_judge_model",
           "model used by the judge fixture (default: the llm default model)", str, None, "MODEL"),
    Option("rejudge", "--llmops-rejudge", None,
           "re-judge recorded outputs: replay the app's recorded calls, send judge calls live (to "
           "--llmops-judge-model when given) without recording them", _bool, False, is_flag=True),
    Option("judge_templates", None, "llmops_judge_templates",
           "directory of judge templates overriding the packaged ones (relative to rootdir)", _path, None),
    Option("max_cost_usd", "--llmops-max-cost-usd", "llmops_max_cost_usd",
           "hard cap on money spent on live calls in this run, across xdist workers", _positive_float, None, "USD"),
    Option("concurrency", "--llmops-concurrency", "llmops_concurrency",
           "maximum concurrent live model calls across all workers", _positive_int, 8, "N"),
    Option("retries", "--llmops-retries", "llmops_retries", "retries for 429/5xx/connection errors/timeouts",
           _non_negative_int, 3, "N"),
    Option("timeout", "--llmops-timeout", "llmops_timeout", "timeout in seconds of one model call",
           _positive_float, 60.0, "SECONDS"),
    Option("samples", "--llmops-samples", "llmops_samples", "override n of every @sampling test", _positive_int,
           None, "N"),
    Option("min_pass_rate", "--llmops-min-pass-rate", "llmops_min_pass_rate",
           "override min_pass_rate of every @sampling test", _rate, None, "RATE"),
    Option("inconclusive", "--llmops-inconclusive", "llmops_inconclusive",
           "outcome of an inconclusive 'confident' sampling verdict: fail (default), pass, xfail",
           _choice(*INCONCLUSIVE_POLICIES), "fail", "POLICY"),
    Option("prompts", None, "llmops_prompts", "directory of prompt YAML files (relative to rootdir)", _path,
           "prompts"),
    Option("golden_tags", "--llmops-golden-tags", "llmops_golden_tags",
           "run only golden cases having one of these tags (comma-separated)", _tags, (), "TAGS"),
    Option("update_goldens", "--llmops-update-goldens", None,
           "write current outputs into the golden files' approved field", _bool, False, is_flag=True),
    Option("embedder", "--llmops-embedder", "llmops_embedder",
           "similarity backend: sentence-transformers[:PATH], lexical, or litellm:MODEL", str,
           "sentence-transformers", "SPEC"),
    Option("plan", "--llmops-plan", None,
           "run nothing: print per test and in total the calls that would be replayed or go live and their "
           "estimated cost (± range)", _bool, False, is_flag=True),
    Option("affected", "--llmops-affected", None,
           "run only the tests whose prompts, golden cases, recordings or judge templates differ from this base "
           "run record (and tests new to it); skip the rest, carried over from the base", _path, None,
           "BASE_RECORD"),
    Option("prices", None, "llmops_prices",
           "custom prices, one per line: MODEL = USD_PER_1M_INPUT USD_PER_1M_OUTPUT", str, None,
           ini_type="linelist"),
    Option("allow_hosts", "--llmops-allow-hosts", "llmops_allow_hosts",
           "record mode none: hosts besides loopback a test may connect to (comma-separated names, IPs or "
           "CIDR ranges; '*' turns the network guard off)", _tags, (), "HOSTS"),
    Option("normalize", None, "llmops_normalize",
           "replay-key normalizers, one per line: REGEX => PLACEHOLDER, or hook: module:function", str, None,
           ini_type="linelist"),
)

BY_DEST = {opt.dest: opt for opt in OPTIONS}


def resolve(dest: str, cli_value: Any, ini_value: Any) -> Any:
    """CLI > ini > default, parsed and validated; raises ConfigError naming the flag or ini key."""
    opt = BY_DEST[dest]
    if cli_value is not None and cli_value is not False and opt.flag is not None:
        source, raw = opt.flag, cli_value
    elif ini_value not in (None, "", []) and opt.ini is not None:
        source, raw = opt.ini, ini_value
    else:
        return opt.default
    if opt.ini_type == "linelist" and source == opt.ini:
        return raw
    try:
        return opt.parse(raw)
    except (TypeError, ValueError) as exc:
        where = f"option {source}" if source.startswith("--") else f"ini key {source}"
        raise ConfigError(f"{where}: {exc}") from None


def parse_prices(lines: list[str] | None) -> dict[str, tuple[float, float]]:
    """``MODEL = IN OUT`` lines (USD per 1M tokens) → ``{model: (in, out)}``."""
    prices: dict[str, tuple[float, float]] = {}
    if isinstance(lines, str):  # one ini value given as a plain string rather than a linelist
        lines = lines.splitlines()
    for number, line in enumerate(lines or [], start=1):
        line = str(line).strip()
        if not line or line.startswith("#"):
            continue
        model, sep, rest = line.rpartition("=")
        parts = rest.replace(",", " ").split()
        try:
            if not sep or not model.strip() or len(parts) != 2:
                raise ValueError
            prices[model.strip()] = (_positive_float(parts[0]), _positive_float(parts[1]))
        except ValueError:
            raise ConfigError(
                f"ini key llmops_prices, line {number}: {line!r}; expected 'MODEL = USD_PER_1M_INPUT USD_PER_1M_OUTPUT'"
            ) from None
    return prices
