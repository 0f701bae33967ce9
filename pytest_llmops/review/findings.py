"""What a diff reports: findings and their kinds, outcome changes, errors, run sides, golden groups, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

KIND_LABELS: dict[str, str] = {
    "outcome": "passed → failed",
    "golden-passfail": "golden set: more cases fail",
    "golden-metric": "golden set: metric worse",
    "sampled": "sampled pass rate dropped",
    "run-passrate": "live tests: pass rate dropped",
    "aggregate": "aggregate check fails",
    "metric-threshold": "metric below threshold",
    "metric-drop": "metric mean dropped",
    "prompt-edit": "prompt edited without version bump",
    "cost": "cost up",
    "tokens": "tokens up",
    "latency": "p95 latency up",
    "flip": "unconfirmed (one sample)",
    "fixed": "failed → passed",
    "golden-passfail-better": "golden set: more cases pass",
    "golden-metric-better": "golden set: metric better",
    "sampled-better": "sampled pass rate rose",
    "run-passrate-better": "live tests: pass rate rose",
    "cost-down": "cost down",
    "tokens-down": "tokens down",
    "latency-down": "p95 latency down",
    "rate-noise": "pass rate lower, not significant",
    "golden-noise": "golden set: more cases fail, not significant",
    "run-noise": "live tests: pass rate lower, not significant",
    "metric-noise": "metric lower, not significant",
    "growth-noise": "up, not significant",
    "nightly-noise": "within nightly noise (history)",
    "inconclusive": "inconclusive (too few samples)",
}
KIND_ORDER = {kind: rank for rank, kind in enumerate(KIND_LABELS)}


@dataclass
class Finding:
    kind: str
    subject: str
    base: str
    head: str
    detail: str
    magnitude: float = 0.0
    metric: str | None = None
    items: list[str] = field(default_factory=list)  # every test behind a summarized finding

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def sort_key(self) -> tuple[int, float, str, str]:
        return (KIND_ORDER.get(self.kind, 99), -round(self.magnitude, 12), self.subject, self.metric or "")


@dataclass
class Verdicts:
    """The findings of one comparison, by verdict (unsorted: the diff sorts them all at the end)."""

    regressions: list[Finding] = field(default_factory=list)
    improvements: list[Finding] = field(default_factory=list)
    noise: list[Finding] = field(default_factory=list)


@dataclass
class Change:
    nodeid: str
    base: str | None
    head: str | None
    note: str = ""


@dataclass
class ErrorEntry:
    nodeid: str
    error_kind: str
    message: str
    base_outcome: str | None


@dataclass
class RunSide:
    label: str
    commit: str | None
    branch: str | None
    started_at: str
    interrupted: bool
    record_mode: str | None
    tests: int
    outcomes: dict[str, int]
    passes: int
    judged: int
    pass_rate: float | None
    interval: tuple[float, float] | None
    cost_usd: float | None
    tokens: int
    p95_latency_s: float | None
    latency_calls: int


@dataclass
class TotalRow:
    name: str
    base: str
    head: str
    delta: str


@dataclass
class GroupMetric:
    name: str
    pairs: int
    base_mean: float
    head_mean: float
    higher_is_better: bool
    p_worse: float
    p_worse_holm: float  # adjusted for the whole diff's family (name kept for readers of the JSON output)
    p_better: float
    p_better_holm: float
    mde: float | None = None


@dataclass
class GoldenCaseRow:
    case_id: str
    nodeid: str
    base_nodeid: str
    base_outcome: str | None
    head_outcome: str | None
    base_metrics: dict[str, float]
    head_metrics: dict[str, float]


@dataclass
class GoldenGroup:
    key: str
    path: str
    function: str
    variant: str
    pairs: int
    base_passes: int
    head_passes: int
    judged_pairs: int
    worse: int
    better: int
    p_worse: float
    p_better: float
    only_base: int
    only_head: int
    metrics: list[GroupMetric]
    cases: list[GoldenCaseRow]
    p_worse_adj: float = 1.0
    mde: float | None = None
    evidence: list[str] = field(default_factory=list)  # per-case flips and threshold crossings


@dataclass
class MetricChange:
    name: str
    tests: int
    base_mean: float
    head_mean: float
    higher_is_better: bool
    tolerance: str | None
    breached: bool
