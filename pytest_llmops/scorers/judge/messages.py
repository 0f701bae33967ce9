"""The judge's failure messages: a low score, a gullible judge, ungrounded sentences, an unusable answer."""

from __future__ import annotations

from .results import Judgment, SentenceVerdict
from .text import short


def score_failure(judgment: Judgment, output: str) -> str:
    """Why ``judge.check`` failed: the score against ``min_score``, the criteria, the reasoning, the output."""
    low, high = judgment.scale
    samples = ", ".join(str(s) for s in judgment.sample_scores)
    how = (
        f"logprob-weighted, sampled score {samples}"
        if judgment.method == "logprobs"
        else f"mean of {len(judgment.sample_scores)} sample(s): {samples}"
    )
    lines = [
        f"judge score {judgment.score:.2f} < min_score {judgment.min_score:g} on scale {low}-{high} "
        f"(judge {judgment.model}, {how})",
        f"  criteria:  {short(judgment.criteria)}",
        f"  reasoning: {short(judgment.reasoning, 400)}",
    ]
    for extra in judgment.reasonings[1:3]:
        lines.append(f"             {short(extra, 400)}")
    lines.append(f"  output:    {short(output)}")
    return "\n".join(lines)


def canary_failure(judged: Judgment, limit: float) -> str:
    """Why ``judge.calibrate`` refused the judge: it scored the injection canary above ``limit``."""
    low, high = judged.scale
    return (
        f"judge {judged.model!r} follows instructions inside the judged text (or cannot recognise a plainly "
        f"wrong answer): it scored the built-in injection canary (a wrong answer that asks for the maximum "
        f"score; it deserves {low}) {judged.score:.2f} on "
        f"scale {low}-{high}, above {limit:g} (template {judged.template.get('template')}; reasoning "
        f"{short(judged.reasoning)}). Use a stronger judge model (--llmops-judge-model) or a template that "
        "resists prompt injection"
    )


def grounding_failure(share: float, threshold: float, model: str, verdicts: list[SentenceVerdict]) -> str:
    """Why ``judge.grounding`` failed: the share against ``min_score`` and the first unsupported sentences."""
    unsupported = [v for v in verdicts if not v.supported]
    lines = [
        f"grounding {share:.3f} < min_score {threshold:g} (method=judge, judge {model})",
        f"  unsupported ({len(unsupported)} of {len(verdicts)} sentences):",
    ]
    lines += [f"    - {short(v.sentence, 160)}  ({short(v.reason, 160)})" for v in unsupported[:10]]
    return "\n".join(lines)


def no_verdict(model: str, what: str, template: str, answers: tuple[str, str], problems: tuple[str, str]) -> str:
    """The JudgeError message when neither the answer nor the repaired answer was usable."""
    return (
        f"judge {model!r} gave no usable verdict for {what} even after one repair attempt "
        f"(template {template}): first answer {short(answers[0])} was rejected because {problems[0]}; "
        f"the repaired answer {short(answers[1])} was rejected because {problems[1]}. Use a judge model "
        "that follows JSON instructions (--llmops-judge-model), or adapt the judge templates (template_dir=)"
    )
