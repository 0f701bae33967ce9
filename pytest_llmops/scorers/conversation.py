"""Multi-turn conversations: drive an application turn by turn, check each turn, record turns and totals.

:class:`Conversation` is what the ``conversation`` fixture returns.  :meth:`Conversation.run` sends the user
messages of a golden case's ``turns`` (or a list of messages) to ``respond(message, history)`` — the
application, as a callable the test provides — one at a time.  Every model call made during turn ``i`` is
tagged ``turn = i``, so the turn's tool-call steps come out of the recorded calls.  Per turn: the output,
the calls, ``must_include`` and ``expected_trajectory`` checks (metrics named ``turn[i].…``) and an optional
``check(turn, output, steps)`` callable; per conversation: turns run, the share of turns that passed, tool
steps and repeated tool calls.  All turns run even after one fails; then the first failing turn is reported
by case and turn index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..record.recorder import TestRecorder, current_sample_index, current_test
from .trajectory import match_trajectory, record_trajectory_metrics, repeated_calls

Respond = Callable[[str, list[dict[str, str]]], Any]


def output_text(reply: Any) -> str:
    """The text of what an application answered: a string, ``.text``, or a dict's ``content``/``text``."""
    if isinstance(reply, str):
        return reply
    text = getattr(reply, "text", None)
    if isinstance(text, str):
        return text
    if isinstance(reply, Mapping):
        for key in ("content", "text", "output", "answer"):
            if isinstance(reply.get(key), str):
                return str(reply[key])
    return "" if reply is None else str(reply)


def normalize_turns(turns: Any) -> list[dict[str, Any]]:
    if isinstance(turns, str) or not isinstance(turns, Sequence) or not turns:
        raise ConfigError("conversation: pass a golden case with 'turns' or a non-empty list of user messages")
    out = []
    for index, turn in enumerate(turns):
        if isinstance(turn, str):
            out.append({"user": turn})
        elif isinstance(turn, Mapping) and isinstance(turn.get("user"), str):
            out.append(dict(turn))
        else:
            raise ConfigError(f"conversation turn [{index}]: expected a message or a mapping with 'user'")
    return out


@dataclass
class TurnResult:
    index: int
    user: str
    output: str
    reply: Any = field(repr=False)
    calls: list[int] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "user": self.user, "output": self.output, "calls": list(self.calls),
                "steps": len(self.steps), "passed": self.passed, "problems": list(self.problems),
                "metrics": dict(self.metrics)}


@dataclass
class ConversationResult:
    """What a conversation did: its turns, totals, and (for simulations) whether the goal was reached."""

    case: str | None
    kind: str
    turns: list[TurnResult] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    goal_reached: bool | None = None
    stopped_by: str | None = None

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)

    @property
    def history(self) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for turn in self.turns:
            messages += [{"role": "user", "content": turn.user}, {"role": "assistant", "content": turn.output}]
        return messages

    def failure_message(self) -> str:
        failed = [t for t in self.turns if not t.passed]
        if not failed:
            return ""
        name = f"conversation {self.case!r}" if self.case else "conversation"
        first = failed[0]
        lines = [f"{name}: turn {first.index} of {len(self.turns)} failed "
                 f"(user: {first.user[:60]!r}): {first.problems[0]}"]
        lines += [f"  turn {t.index}: {p}" for t in failed for p in t.problems][1:6]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "kind": self.kind, "sample": current_sample_index(), "passed": self.passed,
                "goal_reached": self.goal_reached, "stopped_by": self.stopped_by,
                "turns": [t.to_dict() for t in self.turns], "metrics": dict(self.metrics)}


class Conversation:
    """Runs conversations for one test; ``case`` is the test's golden case when it has one."""

    def __init__(self, case: Any = None, *, order: str = "superset", args: str = "superset") -> None:
        self.case = case
        self.order = order
        self.args = args

    @staticmethod
    def recorder() -> TestRecorder:
        return current_test() or TestRecorder("<no test>")

    def run(self, respond: Respond, *, turns: Any = None, case: Any = None,
            check: Callable[[dict[str, Any], str, list[dict[str, Any]]], Any] | None = None,
            history: list[dict[str, str]] | None = None, strict: bool = True) -> ConversationResult:
        """Drive ``respond(message, history)`` through every turn; raise AssertionError naming the first bad turn.

        ``strict=False`` only records (turn metrics and ``conversation_turns_passed``, to gate on an aggregate).
        """
        case = case if case is not None else self.case
        if turns is None:
            turns = getattr(case, "turns", None) if case is not None else None
        case_id = getattr(case, "id", None)
        result = ConversationResult(case_id, "golden" if case_id else "scripted")
        messages = list(history or [])
        for index, turn in enumerate(normalize_turns(turns)):
            done = self.turn(respond, index, turn["user"], messages, turn=turn, check=check)
            result.turns.append(done)
            messages += [{"role": "user", "content": done.user}, {"role": "assistant", "content": done.output}]
        self.finish(result)
        if strict and not result.passed:
            raise AssertionError(result.failure_message())
        return result

    def turn(self, respond: Respond, index: int, message: str, history: list[dict[str, str]], *,
             turn: Mapping[str, Any] | None = None, check: Callable[..., Any] | None = None) -> TurnResult:
        """Send one user message, tag the calls it made with the turn index, check what the turn expects."""
        rec = self.recorder()
        start = len(rec.calls)
        reply = respond(message, list(history))
        sample = current_sample_index()  # concurrent samples interleave their calls
        positions = [p for p in range(start, len(rec.calls)) if rec.calls[p].get("sample") in (sample, None)]
        for position in positions:
            rec.calls[position]["turn"] = index
        steps = [s for s in rec.trajectory() if s.get("turn") == index]
        done = TurnResult(index, message, output_text(reply), reply, positions, steps)
        self._check(done, dict(turn or {}), check)
        return done

    def _check(self, done: TurnResult, turn: dict[str, Any], check: Callable[..., Any] | None) -> None:
        rec, prefix = self.recorder(), f"turn[{done.index}]."
        must = turn.get("must_include") or []
        if must:
            found = [m for m in must if m.lower() in done.output.lower()]
            share = len(found) / len(must)
            done.metrics["must_include"] = share
            rec.metric(prefix + "must_include", share, min=1.0, scorer="conversation")
            if share < 1.0:
                missing = [m for m in must if m not in found]
                done.problems.append(f"output lacks {missing!r}: {done.output[:80]!r}")
        expected = turn.get("expected_trajectory")
        if expected is not None:
            match = match_trajectory(done.steps, expected, order=self.order, args=self.args)
            values = record_trajectory_metrics(done.steps, expected, args=self.args, prefix=prefix)
            done.metrics.update(values)
            if not match.ok:
                done.problems.append(match.message())
        if check is not None:
            try:
                check(turn, done.output, done.steps)
            except AssertionError as exc:
                done.problems.append(str(exc).splitlines()[0] if str(exc) else "check failed")

    def finish(self, result: ConversationResult) -> None:
        """Conversation-level metrics, and the conversation in the test's record."""
        rec = self.recorder()
        steps = [s for t in result.turns for s in t.steps]
        result.metrics.update({
            "conversation_turns": float(len(result.turns)),
            "conversation_turns_passed": sum(t.passed for t in result.turns) / max(1, len(result.turns)),
            "conversation_tool_steps": float(len(steps)),
            "conversation_repeated_tool_calls": float(repeated_calls(steps)),
        })
        if result.goal_reached is not None:
            result.metrics["simulation_goal_reached"] = 1.0 if result.goal_reached else 0.0
        for name, value in result.metrics.items():
            rec.metric(name, value, scorer="conversation")
        runs = (rec.conversation or {}).get("runs", [])
        rec.conversation = {"runs": [*runs, result.to_dict()]}
