"""The run record: one JSON document per pytest run, defined by these pydantic models.

The JSON Schema shipped in ``pytest_llmops/schema/run-record.schema.json`` is generated from
:class:`RunRecord` (``pytest-llmops schema > ...``; a test keeps the shipped file in sync).  Readers (diff,
merge, show, html) all go through :func:`pytest_llmops.record.io.load_record`, which validates with these models.

Importing this module imports pydantic; the plugin only imports it when a record is actually written or read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .recorder import Metric

SCHEMA_VERSION = 1

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
OUTCOMES: tuple[str, ...] = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """Records written by later features carry fields this version does not know; keep them."""

    model_config = ConfigDict(extra="allow")


class GitInfo(_Model):
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


class CIInfo(_Model):
    provider: str
    name: str | None = None
    run_id: str | None = None
    ref: str | None = None


class RunInfo(_Model):
    plugin_version: str
    pytest_version: str
    python_version: str
    platform: str
    started_at: str = Field(description="ISO 8601, UTC")
    finished_at: str | None = None
    duration_s: float | None = None
    rootdir: str | None = None
    args: list[str] = Field(default_factory=list, description="command-line args, secrets removed")
    git: GitInfo | None = None
    ci: CIInfo | None = None
    workers: int | None = Field(default=None, description="xdist worker count, None without xdist")
    interrupted: bool = False
    exit_status: int | None = None
    record_mode: str | None = None
    merged_from: list[str] = Field(default_factory=list, description="shard files merged into this record")


class MarkerInfo(_Model):
    name: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class PromptRef(_Model):
    name: str
    version: str
    hash: str


class GoldenRef(_Open):
    path: str
    hash: str
    case_id: str


class TrajectoryStep(_Model):
    """One tool call a model requested (and the result the app sent back), derived from the recorded calls."""

    index: int
    tool: str
    arguments: Any = None
    result: Any = None
    call_id: str | None = None
    call: int | None = Field(default=None, description="position in the test's calls of the call that asked")
    call_key: str | None = None
    sample: int | None = None
    turn: int | None = None


class TestEntry(_Model):
    __test__ = False

    nodeid: str
    file: str
    function: str
    cls: str | None = None
    params: str | None = Field(
        default=None, description="pytest's parameter id, e.g. 'reset-password-support_answer@v2'")
    outcome: Outcome
    duration_s: float = 0.0
    message: str | None = Field(default=None, description="short failure/skip/error message")
    error_kind: str | None = Field(
        default=None, description="for outcome 'error': setup, teardown, provider, budget, recording, crash, ...")
    markers: list[MarkerInfo] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    artifacts: dict[str, Any] = Field(default_factory=dict)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    prompts: list[PromptRef] = Field(default_factory=list)
    golden: GoldenRef | None = None
    sampling: dict[str, Any] | None = None
    budget: dict[str, Any] | None = None
    recordings: dict[str, Any] = Field(default_factory=dict)
    worker: str | None = None
    judge_audit: dict[str, Any] | None = Field(
        default=None, description="a @judge_audit test: the label file and the audit of each criterion")
    trajectory: list[TrajectoryStep] | None = Field(
        default=None, description="tool calls requested by the models and their results, in order (issue 15)")
    conversation: dict[str, Any] | None = Field(
        default=None, description="a multi-turn conversation: per-turn inputs, outputs, metrics and calls")


class JudgeAuditSummary(_Open):
    """The audit of the judge on one criterion against human labels (issue 16)."""

    criterion: str
    slug: str
    kind: str = Field(description="score, pass_fail or preference")
    judge_model: str | None = None
    items: int
    min_kappa: float
    passed: bool
    audit_test: str
    agreement: dict[str, Any] | None = Field(
        default=None, description="kappa, kappa_ci (seeded bootstrap), weights, raw_agreement, labels, confusion")
    humans: dict[str, Any] = Field(default_factory=dict, description="labellers' own agreement: the ceiling")
    bias: dict[str, Any] = Field(default_factory=dict, description="position flips, verbosity, test-retest")


class JudgePassRate(_Open):
    """The judge's pass rate on a criterion and its Rogan-Gladen correction by the audited Se/Sp (issue 16)."""

    criterion: str
    slug: str
    audit_test: str
    verdicts: int
    passed: int
    observed: float
    observed_ci: list[float]
    sensitivity: float | None = None
    specificity: float | None = None
    corrected: float | None = None
    corrected_ci: list[float] | None = None
    reason: str | None = Field(default=None, description="why no correction exists")
    method: str = "rogan-gladen"


class RejudgeInfo(_Open):
    """A run that re-judged recorded outputs: judge calls live, the app's calls replayed (issue 16)."""

    judge_model: str | None = None
    models: list[str] = Field(default_factory=list)
    verdicts: int = 0
    tests: list[str] = Field(default_factory=list)


class TokenTotals(_Model):
    prompt: int = 0
    completion: int = 0
    total: int = 0


class LatencyStats(_Model):
    calls: int
    p50_s: float
    p95_s: float


class Totals(_Model):
    tests: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    calls: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    tokens: TokenTotals = Field(default_factory=TokenTotals)
    cost_usd: float | None = Field(
        default=0.0, description="money actually spent on live calls; None when some price is unknown")
    replayed_cost_usd: float | None = 0.0
    unpriced_models: list[str] = Field(default_factory=list)
    latency: dict[str, LatencyStats] = Field(default_factory=dict, description="per model")
    cost_cap_usd: float | None = None
    cost_cap_hit: bool = False


class GoldenSetInfo(_Model):
    path: str
    hash: str
    cases: int
    format: str | None = None


class CollectionError(_Model):
    nodeid: str
    message: str


class Aggregate(_Model):
    """A run-level check over many tests, e.g. mean recall@5 over a golden set."""

    name: str
    metric: str
    value: float | None
    min: float | None = None
    max: float | None = None
    passed: bool | None = None
    count: int = 0
    values: dict[str, float] = Field(default_factory=dict, description="per test nodeid")
    scope: str | None = None


class RunRecord(_Model):
    schema_version: int = SCHEMA_VERSION
    kind: Literal["pytest-llmops-run"] = "pytest-llmops-run"
    run: RunInfo
    tests: list[TestEntry] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    golden_sets: list[GoldenSetInfo] = Field(default_factory=list)
    prompts: list[PromptRef] = Field(default_factory=list)
    aggregates: list[Aggregate] = Field(default_factory=list)
    collection_errors: list[CollectionError] = Field(default_factory=list)
    unused_recordings: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    judge_audits: list[JudgeAuditSummary] = Field(default_factory=list)
    judge_pass_rates: list[JudgePassRate] = Field(default_factory=list)
    rejudge: RejudgeInfo | None = None


def json_schema() -> dict[str, Any]:
    schema = RunRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://pytest-llmops.invalid/run-record/v{SCHEMA_VERSION}.schema.json"
    return schema
